"""Importing records from a file: CSV (or a plugin's format) into any entity, streamed and chunked.

Per chunk of rows (`ImportOptions.chunk_size`, 2,000 by default):
1. each row's cells are mapped to characteristics and converted (engine/exchange/import_rows.py,
   engine/exchange/import_mapping.py);
2. link cells are resolved to ids, one SELECT per link column (engine/exchange/import_links.py),
   and `links` cells to lists of member ids the same way (the record's new set of members);
3. with an upsert key, one SELECT finds the records the rows name; a key repeated in the
   file is refused on the later row (engine/exchange/import_keys.py);
4. new rows are validated in batch (`Transaction.validate_new`: the record rules, then
   unique values and links set-based), and the good ones inserted set-based with their
   audit rows (`Transaction.insert_new`); rows naming an existing record are checked together
   (`Transaction.validate_updates`) and change their records together (`Transaction.apply_updates`:
   an executemany UPDATE per set of changed characteristics, audit and history rows in bulk,
   the save hooks of each record);
5. the job's progress, checkpoint (the last row done) and per-row errors are recorded in
   the same transaction (`JobContext.chunk_done`), so a worker killed midway leaves each
   chunk either fully written with its audit rows or untouched, and resuming continues
   after the checkpoint row.
Bad rows are reported (row number, column, message in the actor's language) and skipped;
good rows are written. A dry run does all of it except writing; as the rows of earlier
chunks are not in the database then, it remembers a hash per unique value they would have
written, so that a later row repeating one is refused as the real run refuses it. Nothing
else is kept across chunks but counts, the first errors and, with an upsert key, a hash per
key seen.
"""

from __future__ import annotations

import itertools
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from engine.core.context import SYSTEM_ACTOR, Actor
from engine.core.errors import ConflictError, RuleError
from .import_checks import check_options
from .import_keys import UpsertKeys, key_fields
from .import_links import LinkResolver
from .import_mapping import ColumnMapper
from .import_messages import ImportFileError, ImportOptionError, ImportRefused
from .import_options import (ImportContext, ImportOptions, ImportReport, PreparedRow, chunk_counts, file_problems,
                             job_file)
from .import_rows import ImportRows, SourceRows
from engine.jobs.service import JobContext, JobError, job_kind
from engine.records.collections import read_collections
from engine.records.statistics import refresh_statistics
from engine.records.validation import ErrorMap

if TYPE_CHECKING:
    from engine.installation.runtime import Engine
    from engine.records.transaction import Transaction

KIND = "import"

__all__ = ["ImportOptionError", "ImportOptions", "ImportReport", "ImportRefused", "import_file", "run_import",
           "submit_import"]


# -- the entry points ------------------------------------------------------------------------


def import_file(
    engine: Engine,
    entity: str,
    path: str | Path,
    options: ImportOptions | None = None,
    actor: Actor = SYSTEM_ACTOR,
    ctx: ImportContext | None = None,
) -> ImportReport:
    """Import the records of the file at `path` into `entity`, as `actor`.

    Without `ctx`, the report keeps the first errors; with one (a job), every chunk also
    records its progress, checkpoint and errors on the job, and a `ctx.checkpoint` left
    by an earlier run makes this one continue after it. An actor without the `import`
    permission gets PermissionDenied; problems with the file as a whole are in
    `report.file_errors`.
    """
    return Importer(engine, entity, options or ImportOptions(), actor, ctx).run(Path(path))


def submit_import(engine: Engine, entity: str, path: str | Path, options: ImportOptions, actor: Actor) -> int:
    """Check the actor may import into `entity` and the options (ImportOptionError, naming the
    option, in the actor's language: engine/exchange/import_checks.py), then queue the import
    job; returns its id."""
    with engine.records.reading(actor) as tx:
        tx.access(entity, "import")
    options = check_options(engine, entity, options, actor)
    params = {"entity": entity, "path": str(Path(path).resolve()), "options": options.to_dict()}
    return engine.jobs.submit(KIND, params, actor, entity=entity)


@job_kind(KIND)
def run_import(ctx: JobContext) -> dict[str, Any]:
    """The job: params {"entity", "path", "options"}; a relative path is in the job's files folder."""
    params = ctx.params
    options = ImportOptions.from_dict(params.get("options"))
    report = import_file(ctx.engine, params["entity"], job_file(params, ctx.files_dir), options, ctx.actor, ctx)
    if report.file_errors:
        raise ImportRefused([e.message for e in report.file_errors])
    return report.summary()


# -- the work ----------------------------------------------------------------------------------


class Importer:
    def __init__(self, engine: Engine, entity: str, options: ImportOptions, actor: Actor, ctx: ImportContext | None):
        self.service = engine.records
        self.entity = entity
        self.options = options
        self.actor = actor
        self.lang = actor.lang
        self.ctx = ctx
        self.validator = self.service.validator(entity)  # NotFoundError for an unknown entity
        with self.service.reading(actor) as tx:
            self.access = tx.access(entity, "import")
        self.option_problem: ImportOptionError | None = None
        """Options that cannot work (an import started without `submit_import`): `run` reports it on the file."""
        try:
            self.options = options = check_options(engine, entity, options, actor, targets=False)
        except ImportOptionError as problem:
            self.option_problem = problem
        readonly = frozenset() if actor.system else self.validator.readonly
        mapping = options.mapping if self.option_problem is None else {}
        self.mapper = ColumnMapper(self.validator.entity, engine.model, mapping, self.access.protected | readonly)
        self.engine = engine
        self.report = ImportReport(entity, options.dry_run)
        self.rows: ImportRows | None = None
        self.keys: UpsertKeys | None = None
        self._links: tuple[tuple[str, ...], LinkResolver] | None = None
        self.done = 0
        """Data rows processed so far, by this run and those before a resume."""
        self.unique_names = tuple(f.name for f in self.validator.entity.fields if f.unique)
        self.unique_seen: set[int] = set()
        """Dry run: a hash per (characteristic, value) the rows created so far would have written."""

    def run(self, path: Path) -> ImportReport:
        with file_problems(self.report, self.ctx, lambda: self.done, self.lang):
            if self.option_problem is not None:
                raise self.option_problem
            with ExitStack() as stack:
                key = key_fields(self.validator.entity, self.options)
                if key:
                    scope = self.service.permissions.scope_condition(self.access, self.actor, self.service.table(self.entity))
                    self.keys = UpsertKeys(self.service, self.entity, key, scope)
                self.rows = ImportRows(self.engine, self.entity, self.mapper, self.options, key, self.lang)
                source, estimated = self.rows.open(path, stack)
                if self.ctx is not None and self.ctx.checkpoint is None and estimated is not None:
                    self.ctx.set_total(estimated)
                self._import(source)
            self._refresh_statistics()
        if self.ctx is not None and not self.report.file_errors:
            self.ctx.set_total(self.done)
        return self.report

    def _import(self, source: SourceRows) -> None:
        checkpoint = (self.ctx.checkpoint if self.ctx is not None else None) or {}
        after = int(checkpoint.get("row", 0))
        self.done = self.report.rows = int(checkpoint.get("done", 0))
        size = max(1, self.options.chunk_size)
        while chunk := list(itertools.islice(source, size)):
            if after and chunk[0][0] <= after:
                skipped = [item for item in chunk if item[0] <= after]
                self._remember_keys(skipped)
                chunk = chunk[len(skipped):]
            if chunk:
                self._chunk(chunk)

    def _chunk(self, chunk: Sequence[tuple[int, Mapping[Any, Any]]]) -> None:
        prepared = [self.rows.convert(number, raw) for number, raw in chunk]
        dry_run = self.options.dry_run
        with self._transaction() as tx:
            checked = self._resolver().resolve(tx.conn, prepared)
            if self.keys is not None:
                self.keys.match(tx.conn, prepared, lock=not dry_run)
                self._read_collections(tx, prepared)
            created = self._create(tx, [row for row in prepared if row.current is None and not row.unkeyed], checked)
            updated, unchanged = self._update(tx, [row for row in prepared if row.current is not None and not row.unkeyed])
            refused = [row for row in prepared if row.errors]
            errors = self._job_errors(refused)
            self.done += len(prepared)
            counts = chunk_counts(dry_run, created, updated, unchanged, len(refused))
            if self.ctx is not None and not dry_run:
                checkpoint = {"row": chunk[-1][0], "done": self.done}
                self.ctx.chunk_done(tx.conn, done=self.done, checkpoint=checkpoint, counts=counts, errors=errors)
        if self.ctx is not None and dry_run:
            self.ctx.report(done=self.done, counts=counts, errors=errors)
        self.report.add(len(prepared), created, updated, unchanged, len(refused), errors)

    def _refresh_statistics(self) -> None:
        """Once, at the end: the planner statistics of a table this import changed much (engine/records/statistics.py)."""
        changed = self.report.created + self.report.updated
        if not self.options.dry_run and changed:
            with self.service.db.begin() as conn:
                refresh_statistics(conn, self.service.table(self.entity), changed)

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """The chunk's transaction; a dry run reads through a connection that never writes."""
        opened = self.service.reading if self.options.dry_run else self.service.transaction
        with opened(self.actor) as tx:
            yield tx

    def _resolver(self) -> LinkResolver:
        """The link resolver of the columns mapped so far (a plugin format may add some midway)."""
        fields = self.rows.fields
        names = tuple(f.name for f in fields if f.type in ("link", "links"))
        if self._links is None or self._links[0] != names:
            self._links = (names, LinkResolver(self.service, self.actor, fields))
        return self._links[1]

    def _read_collections(self, tx: Transaction, rows: Sequence[PreparedRow]) -> None:
        """The current members of the records the rows change (one query per characteristic for
        the chunk): an update compares, and its audit records, the old set against the new one.
        Those the file gives are read, and those whose `mandatory_when` an update checks."""
        collections = self.service.collections(self.entity)
        if not collections.links:
            return
        given = {f.name for f in self.rows.fields}
        names = [f.name for f in collections.links if f.name in given or f.name in collections.conditions]
        currents = [row.current for row in rows if row.current is not None]
        if names and currents:
            found = read_collections(tx, collections, [current["id"] for current in currents], names)
            for current in currents:
                current.update(found[current["id"]])

    def _remember_keys(self, chunk: Sequence[tuple[int, Mapping[Any, Any]]]) -> None:
        """Rows before a resumed job's checkpoint: only their upsert keys matter (to refuse repeats)."""
        if self.keys is None:
            return
        prepared = [self.rows.convert(number, raw) for number, raw in chunk]
        with self.service.reading(self.actor) as tx:
            self._resolver().resolve(tx.conn, prepared)
        self.keys.remember(prepared)

    # -- writing -------------------------------------------------------------------------------

    def _create(self, tx: Transaction, rows: list[PreparedRow], checked_links: frozenset[str]) -> int:
        if not rows:
            return 0
        records, failed = tx.validate_new(
            self.entity, [row.values for row in rows], operation="import", checked_links=checked_links
        )
        for index, errors in failed.items():
            row = rows[index]
            for name, found in errors.items():
                if row.errors and name in row.errors:
                    continue  # the cell's own problem (an unknown link name, say) says it already
                for error in found:
                    row.fail(name, error)
        passed = [(record, row) for record, row in zip(records, rows) if not row.errors]
        if self.options.dry_run:
            return sum(1 for record, row in passed if self._first_unique(record, row))
        if passed:
            tx.insert_new(self.entity, [record for record, _ in passed])
        return len(passed)

    def _first_unique(self, record: Mapping[str, Any], row: PreparedRow) -> bool:
        """Dry run: whether no row created before (in an earlier chunk: the database would have
        it by now) has one of this row's unique values; if none has, they are remembered."""
        digests = {name: hash((name, record[name])) for name in self.unique_names if record.get(name) is not None}
        taken = [name for name, digest in digests.items() if digest in self.unique_seen]
        for name in taken:
            row.fail(name, RuleError(name, "unique"))
        if not taken:
            self.unique_seen.update(digests.values())
        return not taken

    def _update(self, tx: Transaction, rows: list[PreparedRow]) -> tuple[int, int]:
        """Change the records the rows name, set-based (engine/records/batch_update.py has the same
        steps for a batch PATCH): each row's cells are typed, then every row's changes are checked
        at once and written at once, each record with its own audit and history rows."""
        unchanged = 0
        rules = self.validator.rules
        collections = self.service.collections(self.entity)
        sets = collections.names
        pending: list[tuple[PreparedRow, dict[str, Any]]] = []
        for row in rows:
            current = row.current
            loaded: dict[str, Any] = {}
            given: dict[str, Any] = {}
            for name, value in row.values.items():
                if name in sets:  # a `links` value (a list of ids), loaded below as a write loads it
                    given[name] = value
                    continue
                try:
                    loaded[name] = rules[name].load(value)
                except RuleError as error:
                    row.fail(name, error)
            if given:
                found_errors: ErrorMap = {}
                loaded.update(collections.load(given, frozenset(), found_errors))  # protected ones: refused by the mapping
                for name, problems in found_errors.items():
                    for error in problems:
                        row.fail(name, error)
            if "status" in loaded and loaded["status"] != current.get("status"):
                row.fail("status", RuleError("status", "transition"))
            if row.errors:
                continue
            if _differs(current, loaded, sets):
                pending.append((row, loaded))
            else:
                unchanged += 1
        found: list[ErrorMap] = [{} for _ in pending]
        changes = tx.validate_updates(self.entity, [row.current for row, _ in pending], [v for _, v in pending], found)
        writing: list[tuple[PreparedRow, dict[str, Any]]] = []
        for (row, _), change, errors in zip(pending, changes, found):
            for name, problems in errors.items():
                for error in problems:
                    row.fail(name, error)
            if row.errors:
                continue
            if change:
                writing.append((row, change))
            else:
                unchanged += 1
        if writing and not self.options.dry_run:
            try:
                tx.apply_updates(self.entity, [(row.current, change) for row, change in writing], access=self.access)
            except ConflictError as error:  # cannot happen while the rows are locked; stop the chunk if it does
                number = next((row.number for row, _ in writing if row.current["id"] == error.record_id), None)
                raise ImportFileError("row_conflict", {"row": number, "message": error.message(self.lang)},
                                      row=number) from error
        return len(writing), unchanged

    # -- reporting -----------------------------------------------------------------------

    def _job_errors(self, rows: Iterable[PreparedRow]) -> list[JobError]:
        errors = []
        for row in rows:
            record_id = row.current["id"] if row.current is not None else None
            for name, found in row.errors.items():
                column = self.rows.column_of(name)
                errors.extend(JobError(row.number, record_id, column, error.message(self.lang)) for error in found)
        return errors


def _differs(current: Mapping[str, Any], loaded: Mapping[str, Any], sets: frozenset[str]) -> bool:
    """Whether a row changes its record; a `links` value (in `sets`) as a set: the file's order is no change."""
    for name, value in loaded.items():
        stored = current.get(name)
        if name in sets:
            if set(value or ()) != set(stored or ()):
                return True
        elif stored != value:
            return True
    return False


from . import lines_import  # noqa: E402,F401  (registers the "import_lines" job kind with the import's)
