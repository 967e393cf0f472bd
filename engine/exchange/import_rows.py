"""The rows of an import file as values by characteristic, from a CSV file or a plugin's format.

A CSV file's header is mapped once, before any row is read: a column mapping nowhere
stops the import there, every such column named at once. A plugin format yields
mappings keyed by characteristic name or header, possibly different from row to row
(one vCard has a phone, the next does not), so its keys are mapped as they first
appear; a key mapping nowhere refuses the rows that give it a value.

A cell holding a character no database stores (NUL) is refused on its row, naming its
column, rather than reaching the database (PostgreSQL refuses NUL in text); a CSV file whose
scan proves it holds none is not looked at (csv_source.FileScan.clean).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Mapping, Sequence

from metamodel.model import FieldDef

from engine.jobs.failures import log_failure
from engine.jobs.stored_text import describe_character, first_unstorable, printable, unstorable_in
from .csv_source import open_csv
from .import_checks import import_format
from .import_mapping import Column, ColumnMapper
from .import_messages import ImportFileError, ImportFileProblems, ImportOptionError, ImportRuleError
from .import_options import ImportOptions, PreparedRow

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

log = logging.getLogger(__name__)

SourceRows = Iterator[tuple[int, Mapping[Any, Any]]]
FORMULA_STARTS = frozenset("=+-@")
QUOTED_TYPES = frozenset({"string", "text", "rich_text", "email", "url", "link"})
"""Text cells an export starting with a formula character writes after a `'` (engine/exchange/exporter.py)."""


class ImportRows:
    def __init__(self, engine: Engine, entity: str, mapper: ColumnMapper, options: ImportOptions,
                 key: tuple[str, ...], lang: str):
        self.engine = engine
        self.entity = entity
        self.mapper = mapper
        self.options = options
        self.key = key
        self.lang = lang
        self.plan: list[tuple[str, str, Any, bool, bool]] = []
        """(header, characteristic, converter, keep spaces, may be quoted) per mapped column."""
        self.plain: list[tuple[str, str, bool]] = []
        """The columns taken as trimmed text: (header, characteristic, may be quoted)."""
        self.special: list[tuple[str, str, Any, bool, bool]] = []
        """The other columns: converted, or keeping their spaces (long texts)."""
        self.headers: dict[str, str] = {}
        """Characteristic -> the column it comes from, to name columns in errors."""
        self.unmapped: dict[str, ImportFileError] = {}
        self.seen_keys: set[str] = set()
        self.clean = False
        """No cell can hold a character a database refuses (a CSV file whose scan proved it)."""

    @property
    def fields(self) -> list[FieldDef]:
        """The characteristics the file's columns map to, so far."""
        return [self.mapper.entity.field(name) for name in self.headers]

    def open(self, path: Path, stack: ExitStack) -> tuple[SourceRows, int | None]:
        """The file's rows, numbered, and how many are expected (None: unknown)."""
        if self.options.format == "csv":
            source = stack.enter_context(open_csv(path, encoding=self.options.encoding, delimiter=self.options.delimiter))
            columns, problems = self.mapper.plan(source.header)
            problems.extend(self._key_problems(columns))
            if problems:
                raise ImportFileProblems(problems)
            self._use(columns)
            self.clean = source.clean
            return iter(source), source.estimated_rows
        fmt = import_format(self.engine, self.entity, self.options.format)
        if not path.is_file():
            raise ImportFileError("file_missing", {"path": str(path)})
        return self._plugin_rows(fmt, stack.enter_context(path.open("rb"))), None

    def convert(self, number: int, raw: Mapping[Any, Any]) -> PreparedRow:
        """One row's cells as values for the characteristics' rules (links still as written)."""
        if self.options.format == "csv":
            row = PreparedRow(number, self._text_values(raw))
        else:
            row = PreparedRow(number, self._any_values(raw))
        if not self.clean:
            self._refuse_unstorable(row, raw)
        return self._finish(row, raw)

    def _refuse_unstorable(self, row: PreparedRow, raw: Mapping[Any, Any]) -> None:
        """Cells holding a character no database stores: refused on the row, naming the column."""
        for header, name, *_ in self.plan:
            char = unstorable_in(raw.get(header))
            if char is not None:
                row.values.pop(name, None)
                row.fail(name, ImportRuleError(name, "cell_characters", {"character": describe_character(char)}))

    def _text_values(self, raw: Mapping[Any, str]) -> dict[str, Any]:
        """The hot path: CSV cells, all strings, most of them plain text."""
        values: dict[str, Any] = {}
        get = raw.get
        for header, name, quoted in self.plain:
            cell = get(header)
            if cell:
                cell = cell.strip()
                if cell:
                    if quoted and cell[0] == "'" and cell[1:2] in FORMULA_STARTS:
                        cell = cell[1:]  # an export wrote it so, lest a spreadsheet run it
                    values[name] = cell
        for header, name, convert, keep_spaces, quoted in self.special:
            cell = get(header)
            if cell:
                stripped = cell.strip()
                if stripped:
                    if quoted and stripped[0] == "'" and stripped[1:2] in FORMULA_STARTS:
                        values[name] = stripped[1:]
                    else:
                        values[name] = convert(stripped) if convert is not None else cell
        return values

    def _any_values(self, raw: Mapping[Any, Any]) -> dict[str, Any]:
        """A plugin format's values: strings as in a CSV file, typed values as they are."""
        values: dict[str, Any] = {}
        for header, name, convert, keep_spaces, quoted in self.plan:
            cell = raw.get(header)
            if cell is None:
                continue
            if cell.__class__ is str:
                stripped = cell.strip()
                if not stripped:
                    continue
                if quoted and stripped[0] == "'" and stripped[1:2] in FORMULA_STARTS:
                    values[name] = stripped[1:]  # an export wrote it so, lest a spreadsheet run it
                    continue
                values[name] = convert(stripped) if convert is not None else (cell if keep_spaces else stripped)
            elif cell != [] and cell != ():
                values[name] = cell
        return values

    def _finish(self, row: PreparedRow, raw: Mapping[Any, Any]) -> PreparedRow:
        extra = raw.get(None)
        if extra:
            row.fail("", ImportRuleError("", "extra_cells", {"count": len(extra)}))
        for key, problem in self.unmapped.items():
            cell = raw.get(key)
            if cell is not None and cell != "" and cell != []:
                row.fail(key, ImportRuleError(key, problem.key, problem.params))
        return row

    def column_of(self, name: str) -> str | None:
        """How errors name where a problem is: the column a characteristic comes from, else its name."""
        return printable(self.headers.get(name, name)) or None

    # -- internals -------------------------------------------------------------------------

    def _use(self, columns: Sequence[Column]) -> None:
        for c in columns:
            quoted = c.field.type in QUOTED_TYPES
            self.plan.append((c.header, c.field.name, c.convert, c.keep_spaces, quoted))
            if c.convert is None and not c.keep_spaces:
                self.plain.append((c.header, c.field.name, quoted))
            else:
                self.special.append((c.header, c.field.name, c.convert, c.keep_spaces, quoted))
        for c in columns:
            self.headers.setdefault(c.field.name, c.header)

    def _key_problems(self, columns: Sequence[Column]) -> list[ImportFileError]:
        mapped = {c.field.name for c in columns} | set(self.headers)
        return [ImportFileError("key_not_mapped", {"field": name}) for name in self.key if name not in mapped]

    def _plugin_rows(self, fmt: Any, stream: BinaryIO) -> SourceRows:
        """A plugin format's rows, numbered from 1."""
        number = 0
        try:
            for number, row in enumerate(fmt.read(stream), start=1):
                new = [k for k in row if k not in self.seen_keys]
                if new:
                    self._map_plugin_keys(new)
                if number == 1:
                    problems = self._key_problems([])
                    if problems:
                        raise ImportFileProblems(problems)
                yield number, row
        except (ImportFileError, ImportFileProblems, ImportOptionError):
            raise
        except Exception as error:  # the plugin's parser refusing the file
            described = getattr(error, "message", None)
            text = None
            if callable(described):  # the plugin's own words for people
                try:
                    text = described(self.lang)
                except Exception:
                    text = None
            if isinstance(text, str) and text:
                raise ImportFileError("format_failed", {"format": fmt.name, "error": printable(text)}) from error
            error_id = log_failure(log, error, "import format %s could not read the file after row %s",
                                   fmt.name, number)
            if number == 0:
                raise ImportFileError("format_unreadable_id", {"format": fmt.name, "error_id": error_id}) from error
            raise ImportFileError("format_failed_id", {"format": fmt.name, "row": number, "error_id": error_id}) \
                from error

    def _map_plugin_keys(self, keys: Sequence[str]) -> None:
        columns = []
        for key in keys:
            self.seen_keys.add(key)
            char = first_unstorable(str(key))
            if char is not None:
                shown = printable(str(key))
                self.unmapped[key] = ImportFileError(
                    "column_characters", {"header": shown, "character": describe_character(char)}, column=shown)
                continue
            try:
                column = self.mapper.resolve(key)
            except ImportFileError as problem:
                self.unmapped[key] = problem
                continue
            if column is not None:
                columns.append(column)
        self._use(columns)
