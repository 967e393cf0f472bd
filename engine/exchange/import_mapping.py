"""From a file's columns to an entity's characteristics, and from cells to values.

A column maps to a characteristic by, in this order, its name (code), one of its former
names (`renamed_from`: a file exported before the rename still imports), or its label in
any language, compared without case, accents, surrounding spaces, `_` or `-`; the first of
these that matches decides, and a former name or a label matching several characteristics
is refused, naming them. An explicit mapping (`{header: field}`, or `""` to skip the column)
overrides that; its targets are found the same way. Every column must map or
be skipped: a column nobody knows about is refused with the characteristics listed,
rather than silently dropped.

Cells are strings as people type them in spreadsheets; each column gets a converter,
compiled once, that turns a cell into what the characteristic's rules accept:
value-list entries by code or label (either language), booleans such as `oui` or `x`,
dates as `dd/mm/yyyy`, decimals with a comma, multi-choice cells split on `|` or `,`.
A cell a converter does not recognise is passed on unchanged, so that the rules refuse
it with their usual message. Link cells are resolved later, set-based per chunk
(engine/exchange/import_links.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from metamodel.model import LANGUAGES, EntityDef, FieldDef, Model

from .import_messages import ImportFileError

Converter = Callable[[str], Any]

TRUE_WORDS = frozenset({"x", "yes", "y", "oui", "o", "true", "vrai", "1", "on", "t"})
FALSE_WORDS = frozenset({"no", "n", "non", "false", "faux", "0", "off", "f"})
DAY_FIRST = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
ISO_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]00:00(?::00(?:\.0+)?)?")
SPACES = re.compile(r"[\s\u00a0\u202f]+")
MULTI_SEPARATOR = "|"


def normalize(text: str) -> str:
    """A header or a label as compared: no case, no accents, `_` and `-` as spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True)
class Column:
    """One column of the file, mapped to one characteristic."""

    header: str
    field: FieldDef
    convert: Converter | None
    """Cell (stripped, never empty) -> value for the rules; None: the cell as it is."""
    keep_spaces: bool = False
    """Long texts keep their surrounding spaces and line breaks."""


class ColumnMapper:
    """Maps headers to characteristics for one entity, one actor and one explicit mapping."""

    def __init__(
        self,
        entity: EntityDef,
        model: Model,
        explicit: Mapping[str, str] | None = None,
        protected: frozenset[str] = frozenset(),
    ):
        self.entity = entity
        self.model = model
        self.explicit = dict(explicit or {})
        self.protected = protected
        self._by_name = {normalize(f.name): f for f in entity.fields}
        self._by_former = _index(entity.fields, lambda f: f.renamed_from)
        self._by_label = _index(entity.fields, lambda f: [f.label.get(lang) for lang in LANGUAGES])
        self._explicit_by_header = {normalize(header): target for header, target in self.explicit.items()}
        self._converters: dict[str, Converter | None] = {}

    @property
    def field_names(self) -> str:
        return ", ".join(f.name for f in self.entity.fields)

    def plan(self, headers: Iterable[str]) -> tuple[list[Column], list[ImportFileError]]:
        """The columns of a file whose header is known: every problem found, not just the first."""
        headers = [h for h in headers if h]
        columns: list[Column] = []
        problems: list[ImportFileError] = []
        for header in headers:
            try:
                column = self.resolve(header)
            except ImportFileError as problem:
                problems.append(problem)
                continue
            if column is not None:
                columns.append(column)
        known = {normalize(h) for h in headers}
        for header in self.explicit:
            if header not in headers and normalize(header) not in known:
                problems.append(ImportFileError(
                    "mapped_header_missing", {"header": header, "headers": ", ".join(headers)}, row=1, column=header
                ))
        by_field: dict[str, list[str]] = {}
        for column in columns:
            by_field.setdefault(column.field.name, []).append(column.header)
        for name, found in by_field.items():
            if len(found) > 1:
                problems.append(ImportFileError(
                    "field_twice", {"headers": ", ".join(found), "field": name}, row=1, column=found[-1]
                ))
        return columns, problems

    def resolve(self, header: str) -> Column | None:
        """The column `header` maps to; None when skipped explicitly. ImportFileError if it maps nowhere."""
        target = self.explicit.get(header, self._explicit_by_header.get(normalize(header)))
        if target is not None:
            if not target.strip():
                return None
            found = self._find(target)
            if found is None:
                raise ImportFileError(
                    "unknown_field",
                    {"header": header, "field": target, "entity": self.entity.name, "fields": self.field_names},
                    row=1, column=header,
                )
        else:
            found = self._find(header, header=header)
            if found is None:
                raise ImportFileError(
                    "unknown_column", {"header": header, "fields": self.field_names}, row=1, column=header
                )
        if found.name in self.protected:
            raise ImportFileError("protected_column", {"header": header, "field": found.name}, row=1, column=header)
        if found.type == "lines":
            raise ImportFileError("lines_column", {"header": header, "field": found.name, "entity": self.entity.name},
                                  row=1, column=header)
        return Column(header, found, self.converter(found), keep_spaces=found.type in ("text", "rich_text"))

    def _find(self, text: str, *, header: str | None = None) -> FieldDef | None:
        """The characteristic `text` names: its code, else a former name, else a label (see the module)."""
        if text in self.entity.fields_by_name:
            return self.entity.fields_by_name[text]
        key = normalize(text)
        if key in self._by_name:
            return self._by_name[key]
        for index, problem in ((self._by_former, "ambiguous_former_name"), (self._by_label, "ambiguous_column")):
            candidates = index.get(key, [])
            if len(candidates) > 1:
                shown = header or text
                raise ImportFileError(
                    problem, {"header": shown, "fields": ", ".join(f.name for f in candidates)}, row=1, column=shown,
                )
            if candidates:
                return candidates[0]
        return None

    def converter(self, f: FieldDef) -> Converter | None:
        if f.name not in self._converters:
            self._converters[f.name] = cell_converter(f, self.model)
        return self._converters[f.name]


def _index(fields: Iterable[FieldDef], names: Callable[[FieldDef], Iterable[str]]) -> dict[str, list[FieldDef]]:
    """Normalised name -> the characteristics having it, each once, in their order."""
    index: dict[str, list[FieldDef]] = {}
    for f in fields:
        for name in {normalize(n) for n in names(f) if n}:
            if name:
                index.setdefault(name, []).append(f)
    return index


# -- cells ---------------------------------------------------------------------------------


def cell_converter(f: FieldDef, model: Model) -> Converter | None:
    """What turns a non-empty, stripped cell of characteristic `f` into a value for its rules."""
    t = f.type
    if t in ("choice", "status"):
        return _choice_converter(_value_index(f, model))
    if t == "multi_choice":
        return _multi_choice_converter(_value_index(f, model))
    if t == "boolean":
        return to_boolean
    if t == "date":
        return to_date
    if t == "datetime":
        return to_datetime
    if t == "decimal":
        return to_decimal_text
    if t == "integer":
        return to_integer_text
    return None


def _value_index(f: FieldDef, model: Model) -> dict[str, str]:
    """Every way to write a value of `f`'s list (code, English label, French label) -> its code.

    Codes win over labels, and earlier values over later ones, when two spellings collide.
    """
    if f.type == "status":
        values = [(s.code, s.label) for s in model.workflow(f.workflow).statuses]
    else:
        values = [(v.code, v.label) for v in model.value_list(f.list).values]
    index: dict[str, str] = {}
    for code, _ in values:
        index.setdefault(code, code)
    for code, _ in values:
        index.setdefault(normalize(code), code)
    for code, label in values:
        index.setdefault(normalize(label.en), code)
        index.setdefault(normalize(label.fr), code)
    return index


def _choice_converter(index: dict[str, str]) -> Converter:
    def to_code(cell: str) -> str:
        found = index.get(cell)
        return found if found is not None else index.get(normalize(cell), cell)
    return to_code


def _multi_choice_converter(index: dict[str, str]) -> Converter:
    to_code = _choice_converter(index)

    def to_codes(cell: str) -> list[str]:
        parts = cell.split(MULTI_SEPARATOR) if MULTI_SEPARATOR in cell else cell.split(",")
        return [to_code(part.strip()) for part in parts if part.strip()]
    return to_codes


def to_boolean(cell: str) -> Any:
    word = cell.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return cell


def to_date(cell: str) -> Any:
    if len(cell) == 10 and cell[4] == "-":
        return cell  # ISO already: the date rules read it
    match = DAY_FIRST.fullmatch(cell)
    if match and not match.group(4):
        day, month, year = (int(g) for g in match.group(1, 2, 3))
        try:
            return dt.date(year, month, day)
        except ValueError:
            return cell
    midnight = ISO_MIDNIGHT.fullmatch(cell)
    return midnight.group(1) if midnight else cell


def to_datetime(cell: str) -> Any:
    match = DAY_FIRST.fullmatch(cell)
    if not match:
        return cell
    day, month, year = (int(g) for g in match.group(1, 2, 3))
    hour, minute, second = (int(g) if g else 0 for g in match.group(4, 5, 6))
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return cell


def to_decimal_text(cell: str) -> str:
    """`1 234,56`, `1.234,56` and `1,234.56` all become `1234.56`: the last separator is the decimal one."""
    text = SPACES.sub("", cell)
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:
        thousands = "." if comma > dot else ","
        text = text.replace(thousands, "")
    return text.replace(",", ".")


def to_integer_text(cell: str) -> str:
    return SPACES.sub("", cell)
