"""The record service: the engine's front door for reading and changing records.

Reads happen here; every change opens a `Transaction` (engine/records/transaction.py), so that
the record, its audit row, its history periods and the actions of a transition are
written together or not at all. Batches (`create_many`, `create_batch`, `update_many`) are
validated whole before anything is written, then written chunk by chunk with set-based
audit and history inserts (no ORM object, no statement per row).
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef, Model

from engine.core.context import SYSTEM_ACTOR, Actor
from .batch_update import BatchResult
from .collections import EntityCollections
from .copying import copy_record
from .duplicates import DEFAULT_LIMIT as DUPLICATES_LIMIT
from .duplicates import DuplicateGroup, find_duplicates
from engine.core.errors import NotFoundError, NotHistorizedError, TransitionError
from .hooks import Hooks
from .mass_update import MassUpdate, MassUpdateResult
from .merging import merge_records
from engine.access.permissions import PermissionDenied, Permissions
from .listing import list_records, list_request
from .queries import ListRequest, ListResult
from .statistics import refresh_statistics
from engine.storage.tables import Tables
from .titles import TitleTemplate, render_titles
from engine.storage.trail import from_json, status_changes, value_periods
from .transaction import Transaction
from .validation import EntityValidator
from .workflow import WorkflowRuntime

@dataclass
class _SharedReads:
    """One unit of work's reading connection (see `RecordService.shared_reads`)."""

    db: sa.Engine
    conn: sa.Connection | None = None
    depth: int = 0
    """Reading blocks open on `conn`: a block inside another reads through a connection of its own."""
    ended: bool = False


_SHARED_READS: ContextVar[_SharedReads | None] = ContextVar("ossature_shared_reads", default=None)


class RecordService:
    def __init__(
        self,
        model: Model,
        db: sa.Engine,
        tables: Tables,
        validators: Mapping[str, EntityValidator],
        workflows: Mapping[str, WorkflowRuntime],
        hooks: Hooks,
        clock: Callable[[], dt.datetime],
    ):
        self.model = model
        self.db = db
        self.tables = tables
        self.validators = validators
        self.workflows = workflows
        self.hooks = hooks
        self.clock = clock
        self.permissions = Permissions(model, tables.records.get("user"))
        self._row_statements: dict[str, sa.Select] = {}
        self._statuses_statements: dict[str, sa.Select] = {}
        self._title_statements: dict[tuple[str, frozenset[str], str], tuple[TitleTemplate, sa.Select]] = {}
        self._collections: dict[str, EntityCollections] = {}
        self._historized_names = {
            name: frozenset(f.name for f in entity.historized_fields) for name, entity in model.entities.items()
        }

    # -- reading: `actor` None reads as the system (every record, every field) -------

    @contextmanager
    def reading(self, actor: Actor | None) -> Iterator[Transaction]:
        """A read-only view through the same rules as the writes (permissions, scopes).

        Inside `shared_reads`, the blocks read one after another through the unit's connection,
        each ending its read transaction (the next one sees what was written meanwhile); a block
        opened inside another takes a connection of its own, as outside."""
        shared = _SHARED_READS.get()
        if shared is None or shared.db is not self.db or shared.depth or shared.ended:
            with self.db.connect() as conn:
                yield Transaction(self, conn, actor or SYSTEM_ACTOR)
            return
        if shared.conn is None:
            shared.conn = self.db.connect()
        shared.depth += 1
        try:
            yield Transaction(self, shared.conn, actor or SYSTEM_ACTOR)
        finally:
            shared.depth -= 1
            try:
                shared.conn.rollback()
            except sa.exc.DBAPIError:  # a connection lost meanwhile: the next block takes a new one
                shared.conn.invalidate()
                shared.conn.close()
                shared.conn = None

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """The reading blocks of one unit of work (a page: its record, panels, titles, options)
        share one connection rather than taking one from the pool each: a page of three related
        panels opens a dozen of them. Writes keep their own transactions."""
        shared = _SharedReads(self.db)
        token = _SHARED_READS.set(shared)
        try:
            yield
        finally:
            shared.ended = True
            if shared.conn is not None:
                shared.conn.close()
                shared.conn = None
            try:
                _SHARED_READS.reset(token)
            except ValueError:  # ended from another context (a streamed response's): it is ended anyway
                pass

    def get(
        self, entity: str, record_id: int, *, include_deleted: bool = False, actor: Actor | None = None
    ) -> dict[str, Any]:
        with self.reading(actor) as tx:
            return tx.get(entity, record_id, include_deleted=include_deleted)

    def count(self, entity: str, *, include_deleted: bool = False, actor: Actor | None = None) -> int:
        with self.reading(actor) as tx:
            access = tx.access(entity, "read")
            table = self.table(entity)
            query = sa.select(sa.func.count()).select_from(table)
            if not include_deleted:
                query = query.where(table.c.deleted_at.is_(None))
            scope = self.permissions.scope_condition(access, tx.actor, table)
            if scope is not None:
                query = query.where(scope)
            return tx.conn.execute(query).scalar_one()

    def audit_log(self, entity: str, record_id: int, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Every change to the record, oldest first (characteristics the actor may not see left out)."""
        audit = self.tables.audit
        with self.reading(actor) as tx:
            access = tx.access(entity, "read")
            if not access.unrestricted:
                tx.get(entity, record_id, include_deleted=True)  # in scope, or NotFoundError
            rows = tx.conn.execute(
                sa.select(audit)
                .where(audit.c.entity == entity, audit.c.record_id == record_id)
                .order_by(audit.c.id)
            )
            entries = [dict(r._mapping) for r in rows]
        hidden = self._names_ever(entity, access.hidden)
        for entry in entries:
            if entry["changes"] and hidden:
                entry["changes"] = {k: v for k, v in entry["changes"].items() if k not in hidden}
        return entries

    def _names_ever(self, entity: str, names: Iterable[str]) -> frozenset[str]:
        """`names` and every former name of theirs (`renamed_from`): audit entries written before a
        rename name the characteristic as it was then."""
        fields = self.model.entity(entity).fields_by_name
        return frozenset(names).union(*(fields[n].renamed_from for n in names if n in fields))

    def history(self, entity: str, record_id: int, field: str, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """The validity periods of a historized characteristic, oldest first, with typed values.

        Each period has `value`, `valid_from`, `valid_to` (None while current), and the
        `old_value`, `changed_by` of the change that opened it. The first period runs
        from the record's creation to the first change; it is derived, not stored, so
        that creating records (imports) writes no history rows.
        """
        definition = self._historized(entity, field)
        with self.reading(actor) as tx:
            access = tx.access(entity, "read")
            self.permissions.check_fields(access, [field], "read")
            record = tx._row(entity, record_id, include_deleted=True, access=access)
            changes = value_periods(tx.conn, self.tables, entity, record_id, field)
        first_value = from_json(definition, changes[0]["old_value"]) if changes else record[field]
        periods = [{
            "value": first_value, "old_value": None, "valid_from": record["created_at"],
            "valid_to": changes[0]["valid_from"] if changes else None, "changed_by": record["created_by"],
        }]
        for change in changes:
            periods.append({
                "value": from_json(definition, change["new_value"]),
                "old_value": from_json(definition, change["old_value"]),
                "valid_from": change["valid_from"], "valid_to": change["valid_to"], "changed_by": change["actor_id"],
            })
        return periods

    def value_as_of(
        self, entity: str, record_id: int, field: str, when: dt.datetime | dt.date, *, actor: Actor | None = None
    ) -> Any:
        """The value a historized characteristic had at `when` (a date means the end of that day).

        None before the record was created.
        """
        when = _as_naive_utc(when)
        for period in reversed(self.history(entity, record_id, field, actor=actor)):
            if period["valid_from"] <= when:
                return period["value"]
        return None

    def status_history(self, entity: str, record_id: int, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Every status the record was in, oldest first: `status`, `entered_at`, `left_at`
        (None while current), `transition` and `changed_by` of the change that entered it."""
        with self.reading(actor) as tx:
            record = tx._row(entity, record_id, include_deleted=True, access=tx.access(entity, "read"))
            changes = status_changes(tx.conn, self.tables, entity, record_id)
        first = changes[0]["from_status"] if changes else record.get("status")
        periods = [{"status": first, "entered_at": record["created_at"], "transition": None,
                    "changed_by": record["created_by"]}]
        for change in changes:
            periods.append({"status": change["to_status"], "entered_at": change["changed_at"],
                            "transition": change["transition"], "changed_by": change["actor_id"]})
        for period, following in zip(periods, periods[1:] + [None]):
            period["left_at"] = following["entered_at"] if following else None
        return periods

    def statuses_entered(self, entity: str, record_id: int, *, actor: Actor | None = None) -> frozenset[str]:
        """The statuses the record has left or entered (its status changes), in one query: what a
        status bar needs, without the periods of `status_history`. Empty for a record the actor
        may not read, and for one whose status never changed (its current status is then the
        only one it has been in)."""
        with self.reading(actor) as tx:
            access = tx.access(entity, "read")
            if not access.allows("read"):
                return frozenset()
            scope = self.permissions.scope_condition(access, tx.actor, self.table(entity))
            statement = self._statuses_statement(entity, scope)
            rows = tx.conn.execute(statement, {"record_id": record_id})
            return frozenset(status for row in rows for status in row if status)

    def _statuses_statement(self, entity: str, scope: sa.ColumnElement[bool] | None) -> sa.Select:
        """The status changes of `:record_id` if it is in `scope`; built once per entity when the
        scope is everything (a form page asks for it on every request)."""
        found = self._statuses_statements.get(entity) if scope is None else None
        if found is None:
            table, changes = self.table(entity), self.tables.status_changes
            readable = sa.select(table.c.id).where(table.c.id == sa.bindparam("record_id"))
            if scope is not None:
                readable = readable.where(scope)
            found = sa.select(changes.c.from_status, changes.c.to_status).where(
                changes.c.entity == entity, changes.c.record_id == sa.bindparam("record_id"), readable.exists()
            )
            if scope is None:
                self._statuses_statements[entity] = found
        return found

    def time_in_status(
        self, entity: str, record_id: int, *, now: dt.datetime | None = None, actor: Actor | None = None
    ) -> dict[str, dt.timedelta]:
        """Total time the record spent in each status (the current one counted up to `now`)."""
        now = now or self.clock()
        totals: dict[str, dt.timedelta] = {}
        for period in self.status_history(entity, record_id, actor=actor):
            end = period["left_at"] or now
            totals[period["status"]] = totals.get(period["status"], dt.timedelta()) + (end - period["entered_at"])
        return totals

    def available_transitions(self, entity: str, record_id: int, actor: Actor) -> list[tuple[Any, TransitionError | None]]:
        """The transitions out of the record's status, each with the reason it is refused now (or None)."""
        with self.reading(actor) as tx:
            access = tx.access(entity, "read")
            record = tx._row(entity, record_id, access=access)
            updatable = access.allows("update") and bool(tx.in_scope(entity, [record_id], "update"))
            flow = self.workflow_of(entity)
            paths = tx.path_values(entity, flow.paths, [record])[0]
        found = flow.available(record, actor, paths=paths)
        if updatable:
            return found
        refused = PermissionDenied(entity, "update")
        return [(t, error or TransitionError("role", {"transition": t.name, "roles": str(refused)})) for t, error in found]

    def in_scope(
        self, entity: str, ids: Iterable[int | None], operation: str = "read", *, actor: Actor | None = None,
        live: bool = True,
    ) -> set[int]:
        """Which of `ids` name live records (any, with `live` False) the actor may `operation`:
        set-based, one query per 500 ids. A page asks it before offering a change; an import
        asks it of a link column's ids (a link must name a record the actor may read)."""
        with self.reading(actor) as tx:
            return tx.in_scope(entity, (i for i in ids if i is not None), operation, live=live)

    def titles(self, entity: str, ids: Iterable[int | None], *, actor: Actor | None = None) -> dict[int, str]:
        """Titles of the records `ids` in the actor's scope (trashed ones included); others are left out."""
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return {}
        found: dict[int, str] = {}
        with self.reading(actor) as tx:
            template, query = self._title_query(tx, entity, "by_ids")
            for start in range(0, len(wanted), 500):
                rows = tx.conn.execute(query, {"ids": wanted[start : start + 500]}).mappings().all()
                found.update(zip((row["id"] for row in rows), render_titles(tx.conn, tx.path_reader(), template, rows)))
        return found

    def choices(self, entity: str, *, limit: int, actor: Actor | None = None) -> list[tuple[int, str]] | None:
        """(id, title) of every live record in the actor's scope, or None when there are more than `limit`."""
        with self.reading(actor) as tx:
            template, query = self._title_query(tx, entity, "live")
            rows = tx.conn.execute(query, {"limit": limit + 1}).mappings().all()
            if len(rows) > limit:
                return None
            return list(zip((row["id"] for row in rows), render_titles(tx.conn, tx.path_reader(), template, rows)))

    def search_titles(
        self, entity: str, text: str, *, limit: int = 20, actor: Actor | None = None
    ) -> list[tuple[int, str]]:
        """Live records whose title contains every word of `text` (or whose number it is: "#12", "12")."""
        table = self.table(entity)
        with self.reading(actor) as tx:
            template, query = self._title_query(tx, entity)
            text_columns = [table.c[n] for n in template.columns if n != "id" and isinstance(table.c[n].type, sa.String)]
            conditions: list[Any] = [table.c.deleted_at.is_(None)]
            number = re.fullmatch(r"\s*#?(\d{1,18})\s*", text) or re.search(r"#(\d{1,18})\s*$", text)
            if number:
                conditions.append(table.c.id == int(number.group(1)))
            else:
                for word in text.split()[:6]:
                    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                    matches = [c.ilike(pattern, escape="\\") for c in text_columns]
                    conditions.append(sa.or_(*matches) if matches else sa.false())
            rows = tx.conn.execute(query.where(*conditions).order_by(table.c.id).limit(limit)).mappings().all()
            return list(zip((row["id"] for row in rows), render_titles(tx.conn, tx.path_reader(), template, rows)))

    def titles_where(
        self, entity: str, field: str, value: Any, *, limit: int = 200, actor: Actor | None = None
    ) -> list[tuple[int, str]]:
        """(id, title) of the live records whose `field` equals `value` (the contacts of one account)."""
        table = self.table(entity)
        with self.reading(actor) as tx:
            template, query = self._title_query(tx, entity)
            self.permissions.check_fields(tx.access(entity, "read"), [field], "read")
            if field not in self.model.entity(entity).fields_by_name:
                raise NotFoundError(f"{entity} characteristic", field)
            rows = tx.conn.execute(
                query.where(table.c.deleted_at.is_(None), table.c[field] == value).order_by(table.c.id).limit(limit)
            ).mappings().all()
            return list(zip((row["id"] for row in rows), render_titles(tx.conn, tx.path_reader(), template, rows)))

    def trashed(self, entity: str, *, limit: int = 200, actor: Actor | None = None) -> list[dict[str, Any]]:
        """The records in the trash, most recently deleted first: `id`, `title`, `deleted_at`."""
        table = self.table(entity)
        with self.reading(actor) as tx:
            template, query = self._title_query(tx, entity)
            rows = tx.conn.execute(
                query.add_columns(table.c.deleted_at).where(table.c.deleted_at.is_not(None))
                .order_by(table.c.deleted_at.desc(), table.c.id.desc()).limit(limit)
            ).mappings().all()
            titles = render_titles(tx.conn, tx.path_reader(), template, rows)
        return [{"id": row["id"], "title": title, "deleted_at": row["deleted_at"]} for row, title in zip(rows, titles)]

    def row_statement(self, entity: str) -> sa.Select:
        """SELECT one whole record by `:record_id`, built once per entity (every page reads one)."""
        found = self._row_statements.get(entity)
        if found is None:
            table = self.table(entity)
            found = self._row_statements[entity] = sa.select(table).where(table.c.id == sa.bindparam("record_id"))
        return found

    def _title_query(self, tx: Transaction, entity: str, shape: str = "") -> tuple[TitleTemplate, sa.Select]:
        """The id and title columns of `entity` as the actor may see them, in their scope.

        `shape` "by_ids" adds `id IN :ids`, "live" the live records by id up to `:limit`. The
        statement is built once per (entity, hidden characteristics, shape), so that reading
        link options and titles, which every form page does, costs no statement building or
        compiling; only a row scope is added per call.
        """
        access = tx.access(entity, "read")
        table = self.table(entity)
        key = (entity, access.hidden, shape)
        built = self._title_statements.get(key)
        if built is None:
            template = TitleTemplate(self.model.entity(entity), access.hidden, self.model)
            query = sa.select(table.c.id, *(table.c[name] for name in template.columns if name != "id"))
            if shape == "by_ids":
                query = query.where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
            elif shape == "live":
                query = (
                    query.where(table.c.deleted_at.is_(None)).order_by(table.c.id)
                    .limit(sa.bindparam("limit", type_=sa.Integer))
                )
            built = self._title_statements[key] = (template, query)
        template, query = built
        scope = self.permissions.scope_condition(access, tx.actor, table)
        return template, query.where(scope) if scope is not None else query

    def list_request(self, entity: str, args: Mapping[str, Sequence[str]]) -> ListRequest:
        """Parse query-string arguments into a checked ListRequest (QueryError names the bad one);
        paths through links (`f_room.site.name=`, `sort=room.site.name`) included."""
        return list_request(self, entity, args)

    def list(self, entity: str, request: ListRequest | None = None, *, actor: Actor | None = None,
             fields: Iterable[str] | None = None) -> ListResult:
        """One page of a list view: rows, the total matching, and counts per group when grouped.

        For a restricted actor every count (total, groups) covers only the records in their
        scope, and filtering, sorting or grouping by a hidden characteristic is refused.
        `fields`: only these characteristics (and `id`, `version`) are read, for a page that
        shows a few columns of a wide entity; by default every one. See engine/records/listing.py
        (paths through links, `links` filters and columns).
        """
        return list_records(self, entity, request, actor=actor, fields=fields)

    # -- changing: each call is one transaction ----------------------------------

    @contextmanager
    def transaction(self, actor: Actor) -> Iterator[Transaction]:
        with self.db.begin() as conn:
            yield Transaction(self, conn, actor)

    def create(self, entity: str, values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        with self.transaction(actor) as tx:
            return tx.create(entity, values)

    def copy(self, entity: str, record_id: int, actor: Actor, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A new record copied from `record_id` with its lines; see engine/records/copying.py."""
        with self.transaction(actor) as tx:
            return copy_record(tx, entity, record_id, values)

    def create_many(self, entity: str, rows: Iterable[Mapping[str, Any]], actor: Actor) -> list[int]:
        """Validate every row, then insert them all in one transaction; returns ids in row order.

        Raises BatchValidationError (errors per row index) and writes nothing if any row is bad.
        """
        with self.transaction(actor) as tx:
            return tx.create_many(entity, rows)

    def create_batch(
        self, entity: str, rows: Sequence[Mapping[str, Any]], actor: Actor, *, partial: bool = False,
        check_only: bool = False,
    ) -> BatchResult:
        """Create a record per row in one transaction, saying what became of each row (its id, or its
        errors): all or nothing unless `partial`; nothing written with `check_only`. See
        `Transaction.create_batch`."""
        with self._batch_transaction(actor, check_only) as tx:
            result = tx.create_batch(entity, rows, partial=partial, check_only=check_only)
            if result.written:
                refresh_statistics(tx.conn, self.table(entity), len(result.written))
            return result

    def update(
        self, entity: str, record_id: int, values: Mapping[str, Any], actor: Actor, *, version: int | None = None
    ) -> dict[str, Any]:
        """Change some characteristics. A stale `version` raises ConflictError and writes nothing."""
        with self.transaction(actor) as tx:
            return tx.update(entity, record_id, values, version=version)

    def update_many(
        self, entity: str, rows: Sequence[Mapping[str, Any]], actor: Actor, *, partial: bool = False,
        check_only: bool = False,
    ) -> BatchResult:
        """Change many records in one transaction, each row `{"id", "version", <values>...}` with its
        own values: all or nothing unless `partial` (BatchValidationError, errors by row index);
        nothing written with `check_only`. See engine/records/batch_update.py."""
        with self._batch_transaction(actor, check_only) as tx:
            result = tx.update_many(entity, rows, partial=partial, check_only=check_only)
            if result.written:
                refresh_statistics(tx.conn, self.table(entity), len(result.written))
            return result

    def _batch_transaction(self, actor: Actor, check_only: bool) -> AbstractContextManager[Transaction]:
        """A writing transaction, or a connection that never writes for a batch only checked."""
        return self.reading(actor) if check_only else self.transaction(actor)

    def delete(self, entity: str, record_id: int, actor: Actor, *, version: int | None = None) -> dict[str, Any]:
        """Move a record to the trash; it keeps every value and can be restored."""
        with self.transaction(actor) as tx:
            return tx.delete(entity, record_id, version=version)

    def restore(self, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        """Bring a record back from the trash (refused if a unique value is now taken)."""
        with self.transaction(actor) as tx:
            return tx.restore(entity, record_id)

    def purge(self, entity: str, record_id: int, actor: Actor) -> None:
        """Delete a trashed record for good. Its audit log stays; refused while records still link to it."""
        with self.transaction(actor) as tx:
            tx.purge(entity, record_id)

    def transition(
        self, entity: str, record_id: int, name: str, actor: Actor, *,
        values: Mapping[str, Any] | None = None, inputs: Mapping[str, Any] | None = None, version: int | None = None,
    ) -> dict[str, Any]:
        """Apply the workflow transition `name`; see `Transaction.transition`."""
        with self.transaction(actor) as tx:
            return tx.transition(entity, record_id, name, values=values, inputs=inputs, version=version)

    def move_to(
        self, entity: str, record_id: int, status: str, actor: Actor, *,
        values: Mapping[str, Any] | None = None, version: int | None = None,
    ) -> dict[str, Any]:
        """Free-mode status change; see `Transaction.move_to`."""
        with self.transaction(actor) as tx:
            return tx.move_to(entity, record_id, status, values=values, version=version)

    def mass_update(
        self, entity: str, selection: Sequence[int] | ListRequest, values: Mapping[str, Any], actor: Actor, *,
        versions: Mapping[int, int] | None = None,
    ) -> MassUpdateResult:
        """Give `values` to every record of `selection` (ids, or a ListRequest: all records matching).

        Invalid values refuse the whole update (RecordValidationError, nothing written); records a
        rule refuses one by one (a stale version in `versions`, `mandatory_when`, a plugin's
        validation, a refused transition) are listed in the result and left unchanged.
        """
        with self.transaction(actor) as tx:
            return MassUpdate(tx, entity, values).apply(selection, versions)

    def preview_mass_update(
        self, entity: str, selection: Sequence[int] | ListRequest, values: Mapping[str, Any], actor: Actor
    ) -> int:
        """How many records `mass_update` would change."""
        with self.transaction(actor) as tx:
            return MassUpdate(tx, entity, values).preview(selection)

    def duplicates(
        self, entity: str, *, rule: str | None = None, limit: int = DUPLICATES_LIMIT, actor: Actor | None = None
    ) -> list[DuplicateGroup]:
        """Groups of probable duplicates found by the entity's duplicate rules; see engine/records/duplicates.py."""
        return find_duplicates(self, entity, actor, rule=rule, limit=limit)

    def merge(
        self, entity: str, keep_id: int, other_id: int, take: Iterable[str], actor: Actor, *,
        keep_version: int | None = None, other_version: int | None = None,
    ) -> dict[str, Any]:
        """Merge record `other_id` into `keep_id` in one transaction; see engine/records/merging.py."""
        with self.transaction(actor) as tx:
            return merge_records(tx, entity, keep_id, other_id, take, keep_version=keep_version,
                                 other_version=other_version)

    # -- what the transactions need --------------------------------------------------

    def table(self, entity: str) -> sa.Table:
        try:
            return self.tables.of(entity)
        except KeyError:
            raise NotFoundError("entity", entity) from None

    def validator(self, entity: str) -> EntityValidator:
        self.table(entity)
        return self.validators[entity]

    def collections(self, entity: str) -> EntityCollections:
        """The `links` and `lines` characteristics of `entity` and their rules (built once)."""
        found = self._collections.get(entity)
        if found is None:
            self.table(entity)
            found = self._collections[entity] = EntityCollections(self.model, self.model.entity(entity), self.validators)
        return found

    def workflow_of(self, entity: str, *, required: bool = True) -> WorkflowRuntime | None:
        flow = self.workflows.get(entity)
        if flow is None and required:
            self.table(entity)
            raise TransitionError("no_workflow", {"entity": entity})
        return flow

    def historized_names(self, entity: str) -> frozenset[str]:
        return self._historized_names[entity]

    def _historized(self, entity: str, field: str) -> FieldDef:
        definition = self.validator(entity).entity.fields_by_name.get(field)
        if definition is None or not definition.historized:
            raise NotHistorizedError(entity, field)
        return definition


def _as_naive_utc(when: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(when, dt.datetime):
        return dt.datetime.combine(when, dt.time.max)
    if when.tzinfo is not None:
        return when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when
