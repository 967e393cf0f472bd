"""Importing the lines of records (a `lines` characteristic) from a CSV file of their own.

The file is what `engine/exchange/lines_export.py` writes: one row per line, the rows of one
record following each other in the order of its lines. The first column names the record
the line belongs to (the *parent*), as a link cell names its record: the parent entity's
one-field natural key, else its number (`12` or `#12`); its header is free (an export writes
the parent entity's label). The other columns are the owned entity's characteristics, mapped
and converted as any import's columns (engine/exchange/import_mapping.py: names or labels,
value lists by code or label, links by natural key or number, `links` cells as lists).

Each record named gets exactly the file's lines, in the file's order: its former lines are
deleted and the file's rows become new lines (the owned entity's defaults fill what a row
leaves empty). A record is all or nothing: one bad row (or a broken `min`/`max`/`mandatory`
of the lines, or any of the record's own rules) leaves it with its former lines, every row
of it that is wrong reported with its file row, column and message. The other records of the
file are written. Records not named keep their lines.

Rows are read as a stream and written in chunks of about `ImportOptions.chunk_size` rows
(whole records: a record's rows are never split between chunks), one transaction each:
the parents are found in one SELECT (live records in the actor's import scope, locked until
the chunk commits), their current lines in one more, the lines' links and members one SELECT
per column, and the records changed with `Transaction.validate_updates` and `apply_updates`
(set-based: an executemany per statement, the audit rows of every record in one INSERT, each
recording the lines removed and added). A record's rows must follow each other (a stream
cannot go back to a record already written): a record named again further down (or under
another spelling, `5` and `#5`) is refused on that row. Memory holds one chunk, a 64-bit hash per
parent cell and the id of each record named so far.
"""

from __future__ import annotations

import itertools
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import PARENT_FIELD, POSITION_FIELD, EntityDef, FieldDef

from engine.core.context import SYSTEM_ACTOR, Actor
from engine.jobs.service import JobContext, JobError, job_kind
from engine.records.collections import read_collections
from engine.records.statistics import refresh_statistics
from engine.records.validation import ErrorMap
from .csv_source import open_csv
from .import_checks import check_options
from .import_links import LinkResolver
from .import_mapping import ColumnMapper
from .import_messages import ImportFileError, ImportOptionError, ImportRefused, ImportRuleError
from .import_options import ImportContext, ImportOptions, ImportReport, PreparedRow, file_problems, job_file
from .import_rows import ImportRows

if TYPE_CHECKING:
    from engine.installation.runtime import Engine
    from engine.records.transaction import Transaction

KIND = "import_lines"
LOOKUP_CHUNK = 1000
REFUSED_OPTIONS = ("key", "upsert", "format")
"""Options of a records import that a lines file has no use for: its rows are matched by their first column."""

__all__ = ["check_lines_options", "import_lines", "lines_field", "submit_import_lines"]


def lines_field(engine: Engine, entity: str, name: str) -> FieldDef:
    """The `lines` characteristic `name` of `entity` (ImportOptionError naming the `lines` option otherwise)."""
    definition = engine.model.entity(entity)  # NotFoundError for an unknown entity
    found = definition.fields_by_name.get(name)
    if found is None or found.type != "lines":
        names = ", ".join(f.name for f in definition.fields if f.type == "lines") or "-"
        raise ImportOptionError("lines", "not_lines", entity=entity, field=name, fields=names)
    return found


def check_lines_options(engine: Engine, entity: str, lines: str, options: ImportOptions, actor: Actor) -> ImportOptions:
    """The options of a lines import, checked as a records import's are (engine/exchange/import_checks.py),
    without those it has no use for; the lines characteristic must be one the actor may fill."""
    lines_field(engine, entity, lines)
    for name in REFUSED_OPTIONS:
        if getattr(options, name) != getattr(ImportOptions(), name):
            raise ImportOptionError(name, "lines_options", option=name)
    options = check_options(engine, entity, options, actor, targets=False)
    access = engine.records.permissions.access(actor, entity, "import")
    readonly = frozenset() if actor.system else engine.records.validator(entity).readonly
    if lines in access.protected | readonly:
        raise ImportOptionError("lines", "protected_column", header=lines, field=lines)
    return options


def import_lines(
    engine: Engine, entity: str, lines: str, path: str | Path, options: ImportOptions | None = None,
    actor: Actor = SYSTEM_ACTOR, ctx: ImportContext | None = None,
) -> ImportReport:
    """Import the file at `path` as the lines `lines` of records of `entity`, as `actor`.

    The report counts records (`updated`, `unchanged`, `refused`: the parents) and `rows`, the
    lines read; its errors name the file's rows and columns. Without the `import` permission on
    `entity`: PermissionDenied. With `ctx` (a job), each chunk records its progress, checkpoint
    and errors, and a checkpoint left by an earlier run makes this one continue after it.
    """
    return LinesImporter(engine, entity, lines, options or ImportOptions(), actor, ctx).run(Path(path))


def submit_import_lines(engine: Engine, entity: str, lines: str, path: str | Path, options: ImportOptions,
                        actor: Actor) -> int:
    """Check the permission and the options now (ImportOptionError, PermissionDenied), then queue the job."""
    with engine.records.reading(actor) as tx:
        tx.access(entity, "import")
    options = check_lines_options(engine, entity, lines, options, actor)
    params = {"entity": entity, "lines": lines, "path": str(Path(path).resolve()), "options": options.to_dict()}
    return engine.jobs.submit(KIND, params, actor, entity=entity)


@job_kind(KIND)
def run_import_lines(ctx: JobContext) -> dict[str, Any]:
    """The job: params {"entity", "lines", "path", "options"}; a relative path is in the job's files folder."""
    params = ctx.params
    options = ImportOptions.from_dict(params.get("options"))
    path = job_file(params, ctx.files_dir)
    report = import_lines(ctx.engine, params["entity"], params["lines"], path, options, ctx.actor, ctx)
    if report.file_errors:
        raise ImportRefused([e.message for e in report.file_errors])
    return {**report.summary(), "lines": params["lines"]}


# -- the work ----------------------------------------------------------------------------------


@dataclass
class Parent:
    """The rows of one record in the file: its first column as written, its rows (up to one past
    the `max` of lines: more are only counted)."""

    cell: str
    rows: list[tuple[int, Mapping[Any, Any]]] = field(default_factory=list)
    count: int = 0
    apart: bool = False
    """Named again after other records' rows: refused."""

    @property
    def first(self) -> int:
        return self.rows[0][0]


class LinesImporter:
    def __init__(self, engine: Engine, entity: str, lines: str, options: ImportOptions, actor: Actor,
                 ctx: ImportContext | None):
        self.engine = engine
        self.service = engine.records
        self.entity = entity
        self.definition: EntityDef = engine.model.entity(entity)
        self.actor = actor
        self.lang = actor.lang
        self.ctx = ctx
        with self.service.reading(actor) as tx:
            self.access = tx.access(entity, "import")
        self.problem: ImportOptionError | None = None
        try:
            self.field = lines_field(engine, entity, lines)
            self.options = check_lines_options(engine, entity, lines, options, actor)
        except ImportOptionError as problem:
            self.problem = problem
            self.options = options
        self.lines = lines
        self.report = ImportReport(entity, options.dry_run)
        self.done = 0
        self.seen: set[int] = set()
        """A hash per parent cell met so far (its rows must follow each other)."""
        self.named: set[int] = set()
        """The ids of the parents given lines so far (two spellings of one record: `5` and `#5`)."""
        self.rows: ImportRows | None = None
        self.parent_header = ""
        self.parents: LinkResolver | None = None
        self.resolver: LinkResolver | None = None
        self.scope: sa.ColumnElement[bool] | None = None

    # -- reading -----------------------------------------------------------------------------

    def run(self, path: Path) -> ImportReport:
        with file_problems(self.report, self.ctx, lambda: self.done, self.lang):
            if self.problem is not None:
                raise self.problem
            with ExitStack() as stack:
                source = self._open(path, stack)
                self._import(source)
            if self.report.updated and not self.options.dry_run:
                with self.service.db.begin() as conn:
                    refresh_statistics(conn, self.service.table(self.field.entity), self.done)
        if self.ctx is not None and not self.report.file_errors:
            self.ctx.set_total(self.done)
        return self.report

    def _open(self, path: Path, stack: ExitStack) -> Iterator[tuple[int, Mapping[Any, Any]]]:
        """The file's rows; its first column is the parent, the others map to the owned entity."""
        owned = self.engine.model.entity(self.field.entity)
        with open_csv(path, encoding=self.options.encoding, delimiter=self.options.delimiter) as peek:
            header, row = list(peek.header), peek.header_row
        if not header or not header[0]:
            raise ImportFileError("parent_header", {"entity": self.entity}, row=row)
        self.parent_header = header[0]
        validator = self.service.validator(owned.name)
        protected = (validator.readonly | {POSITION_FIELD}) - {PARENT_FIELD}
        mapping = {**self.options.mapping, self.parent_header: PARENT_FIELD}
        mapper = ColumnMapper(owned, self.engine.model, mapping, frozenset(protected))
        self.rows = ImportRows(self.engine, owned.name, mapper, replace(self.options, mapping=mapping), (), self.lang)
        source, estimated = self.rows.open(path, stack)
        if self.ctx is not None and self.ctx.checkpoint is None and estimated is not None:
            self.ctx.set_total(estimated)
        fields = self.rows.fields
        self.parents = LinkResolver(self.service, self.actor, [f for f in fields if f.name == PARENT_FIELD])
        self.resolver = LinkResolver(self.service, self.actor, [f for f in fields if f.name != PARENT_FIELD])
        self.scope = self.service.permissions.scope_condition(self.access, self.actor, self.service.table(self.entity))
        return source

    def _import(self, source: Iterator[tuple[int, Mapping[Any, Any]]]) -> None:
        checkpoint = (self.ctx.checkpoint if self.ctx is not None else None) or {}
        after = int(checkpoint.get("row", 0))
        self.done = self.report.rows = int(checkpoint.get("done", 0))
        size = max(1, self.options.chunk_size)
        chunk: list[Parent] = []
        rows = 0
        for parent in self._parents(source):
            if after and parent.first <= after:
                continue  # written (or refused) by the run before this one
            chunk.append(parent)
            rows += parent.count
            if rows >= size:
                self._chunk(chunk)
                chunk, rows = [], 0
        if chunk:
            self._chunk(chunk)

    def _parents(self, source: Iterator[tuple[int, Mapping[Any, Any]]]) -> Iterator[Parent]:
        """The file's rows grouped by parent, in order; each parent's cell remembered (as a hash)."""
        keep = self.field.max + 1
        header = self.parent_header
        for cell, group in itertools.groupby(source, key=lambda item: (item[1].get(header) or "").strip()):
            parent = Parent(cell)
            for item in group:
                parent.count += 1
                if parent.count <= keep:
                    parent.rows.append(item)
            if cell:
                digest = hash(cell)
                parent.apart = digest in self.seen
                self.seen.add(digest)
            yield parent

    # -- one chunk ------------------------------------------------------------------------------

    def _chunk(self, parents: list[Parent]) -> None:
        dry_run = self.options.dry_run
        prepared = [[self._line(number, raw) for number, raw in parent.rows] for parent in parents]
        keys = [PreparedRow(parent.first, {PARENT_FIELD: parent.cell} if parent.cell else {}) for parent in parents]
        opened = self.service.reading if dry_run else self.service.transaction
        with opened(self.actor) as tx:
            self.parents.resolve(tx.conn, keys)
            self.resolver.resolve(tx.conn, [row for rows in prepared for row in rows])
            currents = self._currents(tx, [key.values.get(PARENT_FIELD) for key in keys], lock=not dry_run)
            pending: list[tuple[Parent, list[PreparedRow], dict[str, Any]]] = []
            refused: list[tuple[Parent, list[PreparedRow], PreparedRow]] = []
            for parent, rows, key in zip(parents, prepared, keys):
                current = self._check_parent(parent, key, currents)
                if current is None or any(row.errors for row in rows):
                    refused.append((parent, rows, key))
                    continue
                pending.append((parent, rows, current))
            updated, unchanged = self._write(tx, pending, refused)
            errors = self._errors(refused)
            self.done += sum(parent.count for parent in parents)
            counts = self._counts(updated, unchanged, len(refused))
            if self.ctx is not None and not dry_run:
                checkpoint = {"row": parents[-1].rows[-1][0], "done": self.done}
                self.ctx.chunk_done(tx.conn, done=self.done, checkpoint=checkpoint, counts=counts, errors=errors)
        if self.ctx is not None and dry_run:
            self.ctx.report(done=self.done, counts=counts, errors=errors)
        self.report.add(sum(parent.count for parent in parents), 0, updated, unchanged, len(refused), errors)

    def _line(self, number: int, raw: Mapping[Any, Any]) -> PreparedRow:
        """A row's cells as the values of a new line (its parent cell aside)."""
        row = self.rows.convert(number, raw)
        row.values.pop(PARENT_FIELD, None)
        if row.errors:
            row.errors.pop(PARENT_FIELD, None)  # the parent's cell is checked once per parent
        return row

    def _counts(self, updated: int, unchanged: int, refused: int) -> dict[str, int]:
        if self.options.dry_run:
            return {"would_update": updated, "unchanged": unchanged, "refused": refused}
        return {"updated": updated, "unchanged": unchanged, "refused": refused}

    def _currents(self, tx: Transaction, ids: Sequence[Any], *, lock: bool) -> dict[int, dict[str, Any]]:
        """The parents named, live and in the actor's import scope, with their current collections:
        one SELECT per LOOKUP_CHUNK ids (locked until the chunk commits), one per collection."""
        wanted = sorted({i for i in ids if isinstance(i, int)})
        table = self.service.table(self.entity)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            query = sa.select(table).where(table.c.id.in_(wanted[start : start + LOOKUP_CHUNK]),
                                           table.c.deleted_at.is_(None))
            if self.scope is not None:
                query = query.where(self.scope)
            if lock:
                query = query.with_for_update()
            found.update((row["id"], dict(row)) for row in tx.conn.execute(query).mappings())
        if found:
            for record_id, values in read_collections(tx, self.service.collections(self.entity), list(found)).items():
                found[record_id].update(values)
        return found

    def _check_parent(self, parent: Parent, key: PreparedRow, currents: Mapping[int, dict[str, Any]]) -> dict | None:
        """The parent's current record, or None with the reason on its key row."""
        params = {"entity": self.entity, "value": parent.cell, "header": self.parent_header}
        if not parent.cell:
            key.fail(PARENT_FIELD, ImportRuleError(PARENT_FIELD, "parent_empty", params))
            return None
        if parent.apart:
            key.fail(PARENT_FIELD, ImportRuleError(PARENT_FIELD, "parent_apart", {**params, "row": parent.first}))
            return None
        if key.errors:
            return None  # not found (or several): the resolver said so
        record_id = key.values[PARENT_FIELD]
        if record_id in self.named:  # named before under another spelling (`5` and `#5`)
            key.fail(PARENT_FIELD, ImportRuleError(PARENT_FIELD, "parent_apart", {**params, "row": parent.first}))
            return None
        self.named.add(record_id)
        current = currents.get(record_id)
        if current is None:
            key.fail(PARENT_FIELD, ImportRuleError(PARENT_FIELD, "parent_locked", params))
        return current

    def _write(self, tx: Transaction, pending: list[tuple[Parent, list[PreparedRow], dict[str, Any]]],
               refused: list[tuple[Parent, list[PreparedRow], PreparedRow]]) -> tuple[int, int]:
        """Give each parent its file lines: checked together, written together (refused ones move to `refused`)."""
        if not pending:
            return 0, 0
        name = self.lines
        found: list[ErrorMap] = [{} for _ in pending]
        collections = self.service.collections(self.entity)
        given = [  # typed as a write types them (the characteristic's protection was checked with the options)
            collections.load({name: [row.values for row in rows] if parent.count <= self.field.max
                              else [{}] * parent.count}, frozenset(), errors)
            for (parent, rows, _), errors in zip(pending, found)
        ]
        changes = tx.validate_updates(self.entity, [current for _, _, current in pending], given, found)
        writing: list[tuple[dict[str, Any], dict[str, Any]]] = []
        unchanged = 0
        for (parent, rows, current), change, errors in zip(pending, changes, found):
            if errors:
                key = PreparedRow(parent.first, {})
                self._place(errors, rows, key)
                refused.append((parent, rows, key))
            elif change:
                writing.append((current, change))
            else:
                unchanged += 1
        if writing and not self.options.dry_run:
            tx.apply_updates(self.entity, writing, access=self.access)
        return len(writing), unchanged

    def _place(self, errors: ErrorMap, rows: Sequence[PreparedRow], key: PreparedRow) -> None:
        """The errors of a parent's update, on the rows they are about: `items.2.price` on its
        third row, naming the column; the others (the count of lines, the parent's own rules) on
        the parent's first row."""
        prefix = self.lines + "."
        for where, problems in errors.items():
            if where.startswith(prefix):
                index, _, column = where[len(prefix):].partition(".")
                if index.isdigit() and int(index) < len(rows):
                    row = rows[int(index)]
                    for problem in problems:
                        row.fail(column or PARENT_FIELD, problem)
                    continue
            for problem in problems:
                key.fail(self.lines if where == self.lines else where, problem)

    # -- reporting -----------------------------------------------------------------------------

    def _errors(self, refused: Sequence[tuple[Parent, list[PreparedRow], PreparedRow]]) -> list[JobError]:
        """Per refused parent: the problems of the parent itself, then of each of its rows."""
        errors: list[JobError] = []
        for parent, rows, key in refused:
            record_id = key.values.get(PARENT_FIELD) if isinstance(key.values.get(PARENT_FIELD), int) else None
            for row in [key, *rows]:
                for name, found in (row.errors or {}).items():
                    column = self._column(name)
                    errors.extend(JobError(row.number, record_id, column, error.message(self.lang)) for error in found)
        return errors

    def _column(self, name: str) -> str | None:
        if name == PARENT_FIELD:
            return self.parent_header
        if name == self.lines:
            return self.lines
        return self.rows.column_of(name) if self.rows is not None else name
