"""Writes to records, all inside one database transaction.

A `Transaction` is what every change goes through: the record service opens one per
call, and a workflow transition hands the same one to its actions (plugins included),
so that a conversion creating an account, a contact and an opportunity commits with
the lead's new status or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from engine.core.context import Actor
from engine.access.permissions import Access, PermissionDenied
from engine.core.errors import (
    BatchValidationError,
    ConflictError,
    NotFoundError,
    RecordValidationError,
    RuleError,
    StateError,
)
from engine.storage.trail import Change, audit_changes, write_audit, write_creation_audit, write_history, write_status_changes
from .batch_update import BatchResult, BatchUpdate
from .paths import PathReader, path_reader, path_source
from .row_inserts import insert_rows
from .collections import (
    EntityCollections, changed_collections, delete_collections, insert_collections, read_collections,
    replace_member, write_collection_changes,
)
from .validation import ErrorMap, PathSource, expression_paths, with_paths

if TYPE_CHECKING:
    from .service import RecordService

INSERT_CHUNK = 1000
LOOKUP_CHUNK = 500
ROW_ID, ROW_VERSION = "_row_id", "_row_version"
"""Parameters of the UPDATE of many records naming each one and the version it was read at
(a characteristic's name starts with a letter: these never collide with one)."""


class Transaction:
    def __init__(self, service: RecordService, conn: sa.Connection, actor: Actor):
        self.service = service
        self.model = service.model
        self.conn = conn
        self.actor = actor
        self.tables = service.tables
        self.hooks = service.hooks
        self.now: dt.datetime = service.clock()
        self._path_reader: PathReader | None = None

    # -- reading inside the transaction ------------------------------------------

    def get(self, entity: str, record_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        """A record as this actor may see it (NotFoundError outside their scope)."""
        access = self.access(entity, "read")
        shown = self.service.collections(entity).names - access.hidden
        return access.visible(
            self._row(entity, record_id, include_deleted=include_deleted, access=access, collections=shown)
        )

    def find(self, entity: str, **equals: Any) -> list[dict[str, Any]]:
        """Live records whose characteristics equal the given values, as this actor may see them."""
        access = self.access(entity, "read")
        self.service.permissions.check_fields(access, equals, "read")
        table = self.service.table(entity)
        unknown = [name for name in equals if name not in table.c]
        if unknown:
            raise NotFoundError(f"{entity} characteristic", ", ".join(unknown))
        query = sa.select(table).where(table.c.deleted_at.is_(None), *(table.c[k] == v for k, v in equals.items()))
        scope = self.service.permissions.scope_condition(access, self.actor, table)
        if scope is not None:
            query = query.where(scope)
        return [access.visible(r._mapping) for r in self.conn.execute(query.order_by(table.c.id))]

    def savepoint(self) -> sa.NestedTransaction:
        """A SAVEPOINT inside this transaction, rolled back alone if its block fails.

        pysqlite opens its transaction only before a write, so a SAVEPOINT coming first would
        run outside any transaction and what it released would stay even if this transaction
        rolled back: on SQLite the transaction is begun first.
        """
        if self.conn.dialect.name == "sqlite" and not self.conn.connection.dbapi_connection.in_transaction:
            self.conn.exec_driver_sql("BEGIN")
        return self.conn.begin_nested()

    def lock_for_writing(self) -> None:
        """On SQLite, take the database's write lock now (BEGIN IMMEDIATE), so that the records read
        next stay as read until this transaction writes them, as FOR UPDATE keeps them on
        PostgreSQL. pysqlite would begin only at the first write, letting another connection commit
        a change to them in between."""
        if self.conn.dialect.name == "sqlite" and not self.conn.connection.dbapi_connection.in_transaction:
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")

    def access(self, entity: str, operation: str) -> Access:
        """This actor's access to `entity` for `operation`, after checking it allows `operation`.

        The records of an owned entity are lines, written with their owner only: any other
        operation than reading them is refused, even to the system."""
        self.service.table(entity)
        owner = self.model.entity(entity).owned_by
        if owner is not None and operation != "read":
            raise PermissionDenied(entity, operation, f"its records are the lines of {owner}: change them with it")
        access = self.service.permissions.access(self.actor, entity, operation)
        access.require(operation)
        return access

    def in_scope(
        self, entity: str, ids: Iterable[int], operation: str = "read", *, live: bool = True
    ) -> set[int]:
        """Which of `ids` name records of `entity` in this actor's scope for `operation` (live
        ones only, unless told): one SELECT per LOOKUP_CHUNK ids, whatever their number.

        An operation the actor may not do at all gives the empty set, without a query."""
        table = self.service.table(entity)
        access = self.service.permissions.access(self.actor, entity, operation)
        wanted = {i for i in ids if i is not None}
        if not wanted or not access.allows(operation):
            return set()
        scope = self.service.permissions.scope_condition(access, self.actor, table)
        return self._existing(table.c.id, wanted, table, live=live, where=scope)

    def _row(
        self, entity: str, record_id: int, *, include_deleted: bool = False, for_update: bool = False,
        access: Access | None = None, collections: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """The whole stored record, with its `links` members and `lines` (only the `collections`
        named, when given); with `access`, only if it is in that access's scope."""
        table = self.service.table(entity)
        query = self.service.row_statement(entity)
        if access is not None:
            scope = self.service.permissions.scope_condition(access, self.actor, table)
            if scope is not None:
                query = query.where(scope)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query, {"record_id": record_id}).first()
        if row is None and access is not None:
            self._refuse_if_readable(entity, record_id, access, include_deleted)
        if row is None or (row.deleted_at is not None and not include_deleted):
            raise NotFoundError(entity, record_id)
        record = dict(row._mapping)
        owned = self.service.collections(entity)
        if owned.fields and collections != frozenset():
            record.update(read_collections(self, owned, [record_id], collections)[record_id])
        return record

    def _refuse_if_readable(self, entity: str, record_id: int, access: Access, include_deleted: bool) -> None:
        """A record outside the scope of a change but one the actor may read: refused as such
        (PermissionDenied), since its existence is no secret to them. One they may not read
        stays not found, so that no answer tells which ids exist."""
        if access.operation == "read" or access.unrestricted:
            return
        if self.in_scope(entity, [record_id], "read", live=not include_deleted):
            raise PermissionDenied(entity, access.operation, "record outside the scope of the operation")

    def load_input(
        self, entity: str, values: Mapping[str, Any], access: Access, *, partial: bool
    ) -> tuple[dict[str, Any], ErrorMap]:
        """One record's input typed by its characteristics' rules, and the errors found: the
        characteristics with a column through the entity's validator, the `links` and `lines`
        loaded by engine/records/collections (`lines` as LineInput lists, completed against the
        record's current lines by `validate_updates`)."""
        collections = self.service.collections(entity)
        columns, given = collections.split(values)
        loaded, errors = self.service.validator(entity).load_one(
            columns, self.actor, partial=partial, protected=access.protected
        )
        if given:
            loaded.update(collections.load(given, self._collections_protected(collections, access), errors))
        return loaded, errors

    def _check_conditions_on_members(
        self, entity: str, records: Sequence[Mapping[str, Any]], errors: Sequence[ErrorMap]
    ) -> None:
        """The `mandatory_when` rules reading `links` members, once the members are in the records:
        `load_many` checked the rows without them (a record's rules see them on every other path)."""
        validator = self.service.validator(entity)
        names = self.service.collections(entity).names
        conditions = [(name, e) for name, e in validator.mandatory_when if e.names & names]
        if not conditions:
            return
        read = self.path_values(entity, expression_paths(e for _, e in conditions), records)
        for record, found, paths in zip(records, errors, read):
            validator.check_conditions(with_paths(record, paths), found, conditions)

    def _collections_protected(self, collections: EntityCollections, access: Access) -> frozenset[str]:
        """The collections this actor may not set: hidden or read-only for their roles, read-only
        in the definitions (except for the system)."""
        return access.protected | (frozenset() if self.actor.system else collections.readonly)

    def path_reader(self) -> PathReader:
        """What reading paths through links needs for this actor (built once per transaction)."""
        if self._path_reader is None:
            self._path_reader = path_reader(self.model, self.tables, self.service.permissions, self.actor)
        return self._path_reader

    def path_source(self, entity: str, paths: frozenset[str]) -> PathSource | None:
        """Where the rules of `entity` that read `paths` get their values (None: they read none)."""
        return path_source(self.conn, self.path_reader(), entity, paths) if paths else None

    def path_values(self, entity: str, paths: frozenset[str], records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """The values of `paths` for `records` (maybe unsaved), one query per path prefix; None each
        when there are none to read."""
        source = self.path_source(entity, paths)
        return list(source(records)) if source is not None else [None] * len(records)

    # -- creating ----------------------------------------------------------------

    def create(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        access = self.access(entity, "create")
        validator = self.service.validator(entity)
        collections = self.service.collections(entity)
        loaded, errors = self.load_input(entity, values, access, partial=False)
        lines = _take(loaded, collections.line_names)
        self._check_initial_status(entity, loaded, errors)
        paths = self.path_values(entity, validator.paths, [{**validator.literal_defaults, **loaded}])[0]
        record = validator.complete_new(loaded, errors, paths=paths)
        if collections.fields:
            record.update(collections.complete_many(self, [lines], [None], [record], [errors])[0])
            collections.check_counts(record, list(collections.names), errors)
        self._enter_first_status(entity, [record], [loaded])
        _merge(errors, self._check_database_rules(entity, [record]).get(0, {}))
        self.hooks.validate_record(entity, record, record, errors)
        if errors:
            raise RecordValidationError(errors, entity)
        self.hooks.before_save(self, entity, record, record, True)
        (record_id,) = self._insert(entity, [record])
        created = self._row(entity, record_id)
        self.hooks.after_save(self, entity, created, record, True)
        return access.visible(created)

    def create_many(self, entity: str, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Validate every row, then insert them all; returns ids in row order.

        Raises BatchValidationError (errors per row index) and writes nothing if any row is bad.
        The per-row save hooks are not called on this bulk path; `ossature_validate_record` is.
        """
        rows = rows if isinstance(rows, Sequence) else list(rows)
        records, failed = self.validate_new(entity, rows)
        if failed:
            raise BatchValidationError(failed, entity)
        return self.insert_new(entity, records)

    def validate_new(
        self,
        entity: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        operation: str = "create",
        checked_links: frozenset[str] = frozenset(),
    ) -> tuple[list[dict[str, Any]], dict[int, ErrorMap]]:
        """Every check `create_many` makes, without writing or raising: the complete new records,
        and the errors of the bad ones by row index (their records included).

        `operation` is what the actor must be allowed to do (`import` for imports);
        `checked_links` names link fields whose ids the caller has just read from the database.
        """
        access = self.access(entity, operation)
        validator = self.service.validator(entity)
        collections = self.service.collections(entity)
        source = self.path_source(entity, validator.paths)
        if not collections.fields:
            records, failed = validator.load_many(rows, self.actor, protected=access.protected, paths=source)
        else:
            split = [collections.split(row) if isinstance(row, Mapping) else (row, {}) for row in rows]
            records, failed = validator.load_many(
                [columns for columns, _ in split], self.actor, protected=access.protected, paths=source
            )
            protected = self._collections_protected(collections, access)
            found = [failed.get(index, {}) for index in range(len(records))]
            loaded = [collections.load(given, protected, errors) for (_, given), errors in zip(split, found)]
            completed = collections.complete_many(self, loaded, [None] * len(records), records, found)
            for record, values, errors in zip(records, completed, found):
                record.update(values)
                collections.check_counts(record, list(collections.names), errors)
            self._check_conditions_on_members(entity, records, found)
            failed = {index: errors for index, errors in enumerate(found) if errors}
        self._enter_first_status(entity, records, rows)
        if not self.actor.system:
            for index, record in enumerate(records):
                self._check_initial_status(entity, record, failed.setdefault(index, {}), given_only=False)
                if not failed[index]:
                    del failed[index]
        for index, problems in self._check_database_rules(entity, records, skip=checked_links).items():
            _merge(failed.setdefault(index, {}), problems)
        if self.hooks.validates:
            for index, record in enumerate(records):
                errors = failed.get(index, {})
                self.hooks.validate_record(entity, record, record, errors)
                if errors:
                    failed[index] = errors
        return records, failed

    def create_batch(
        self, entity: str, rows: Sequence[Mapping[str, Any]], *, partial: bool = False, check_only: bool = False
    ) -> BatchResult:
        """`create_many` saying what became of each row: all or nothing by default (BatchValidationError,
        nothing written); with `partial`, the good rows are inserted and the others' errors returned;
        with `check_only`, every row is checked and none inserted."""
        records, failed = self.validate_new(entity, rows)
        if failed and not partial and not check_only:
            raise BatchValidationError(failed, entity)
        if check_only:
            return BatchResult({}, dict(sorted(failed.items())))
        passed = [index for index in range(len(records)) if index not in failed]
        ids = self.insert_new(entity, [records[index] for index in passed])
        return BatchResult({index: (record_id, 1) for index, record_id in zip(passed, ids)}, dict(sorted(failed.items())))

    def insert_new(self, entity: str, records: Sequence[dict[str, Any]]) -> list[int]:
        """Insert records `validate_new` accepted, with their creation audit rows, set-based and
        chunked; returns their ids in order. Nothing is checked again here."""
        ids: list[int] = []
        for start in range(0, len(records), INSERT_CHUNK):
            ids.extend(self._insert(entity, records[start : start + INSERT_CHUNK]))
        return ids

    # -- changing ----------------------------------------------------------------

    def update(
        self, entity: str, record_id: int, values: Mapping[str, Any], *, version: int | None = None
    ) -> dict[str, Any]:
        """Change some characteristics. A stale `version` raises ConflictError and writes nothing."""
        access = self.access(entity, "update")
        current = self._current(entity, record_id, version, access)
        loaded, errors = self.load_input(entity, values, access, partial=True)
        if "status" in loaded and loaded["status"] != current.get("status"):
            errors.setdefault("status", []).append(RuleError("status", "transition"))
        return access.visible(self.write_changes(entity, current, loaded, errors, access=access))

    def write_changes(
        self,
        entity: str,
        current: dict[str, Any],
        loaded: Mapping[str, Any],
        errors: ErrorMap | None = None,
        *,
        transition: str | None = None,
        access: Access | None = None,
    ) -> dict[str, Any]:
        """Apply already-typed values to `current`: checks, UPDATE, audit, history, hooks."""
        errors = {} if errors is None else errors
        changes = self.validate_changes(entity, current, loaded, errors)
        if errors:
            raise RecordValidationError(errors, entity)
        if not changes:
            return current
        return self.apply_changes(entity, current, changes, transition=transition, access=access)

    def apply_changes(
        self,
        entity: str,
        current: dict[str, Any],
        changes: dict[str, Any],
        *,
        transition: str | None = None,
        access: Access | None = None,
    ) -> dict[str, Any]:
        """Write changes `validate_changes` accepted: save hooks, UPDATE, audit, history, status change.

        A stale `current` (someone else saved the record since) raises ConflictError."""
        self.apply_updates(entity, [(current, changes)], transition=transition, access=access, after_save=False)
        updated = self._row(entity, current["id"], include_deleted=True)
        self.hooks.after_save(self, entity, updated, changes, False)
        return updated

    def apply_updates(
        self,
        entity: str,
        items: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        *,
        transition: str | None = None,
        access: Access | None = None,
        after_save: bool = True,
    ) -> list[int]:
        """Write the `(current, changes)` pairs `validate_updates` accepted, set-based: the save hooks
        of each record, then one executemany UPDATE per set of changed characteristics (each record
        guarded by the version it was read at), the audit rows in one INSERT, the history and status
        changes in a few statements whatever the number of records. Returns the new versions, in order.

        A stale record (someone else saved it since it was read) raises ConflictError: the caller's
        transaction then rolls every record back."""
        if not items:
            return []
        for current, changes in items:
            self.hooks.before_save(self, entity, {**current, **changes}, changes, False)
        table = self.service.table(entity)
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam(ROW_ID), table.c.version == sa.bindparam(ROW_VERSION))
            .values(version=table.c.version + 1, updated_at=self.now, updated_by=self.actor.user_id)
        )
        collections = self.service.collections(entity)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for current, changes in items:
            columns = {k: v for k, v in changes.items() if k not in collections.names} if collections.names else changes
            groups.setdefault(tuple(sorted(columns)), []).append(
                {**columns, ROW_ID: current["id"], ROW_VERSION: current["version"]}
            )
        written = 0
        for params in groups.values():
            for start in range(0, len(params), INSERT_CHUNK):
                written += self.conn.execute(statement, params[start : start + INSERT_CHUNK]).rowcount
        if written != len(items):
            self._refuse_stale(entity, items, access)
        summaries = write_collection_changes(self, collections, items) if collections.fields else {}
        write_audit(
            self.conn, self.tables, entity, "update",
            [(current["id"], current["version"] + 1,
              {**audit_changes(current, changes, changes), **summaries.get(current["id"], {})})
             for current, changes in items],
            self.now, self.actor.user_id,
        )
        historized = self.service.historized_names(entity)
        write_history(
            self.conn, self.tables, entity,
            [Change(current["id"], name, current.get(name), value)
             for current, changes in items for name, value in changes.items() if name in historized],
            self.now, self.actor.user_id,
        )
        write_status_changes(
            self.conn, self.tables, entity,
            [(current["id"], current.get("status"), changes["status"], transition)
             for current, changes in items if "status" in changes],
            self.now, self.actor.user_id,
        )
        if after_save and self.hooks.hook.ossature_after_save.get_hookimpls():
            stored = self._rows(entity, [current["id"] for current, _ in items])
            for current, changes in items:
                self.hooks.after_save(self, entity, stored[current["id"]], changes, False)
        return [current["version"] + 1 for current, _ in items]

    def _refuse_stale(
        self, entity: str, items: Sequence[tuple[dict[str, Any], dict[str, Any]]], access: Access | None
    ) -> None:
        """ConflictError for the first record of `items` the UPDATE did not change: its version moved."""
        stored = self._rows(entity, [current["id"] for current, _ in items])
        stale = [current for current, _ in items if stored.get(current["id"], {}).get("version") != current["version"] + 1]
        current = (stale or [items[0][0]])[0]
        now_stored = stored.get(current["id"]) or current
        raise ConflictError(entity, current["id"], current["version"], access.visible(now_stored) if access else now_stored)

    def _rows(self, entity: str, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored records of `ids` (trashed ones included) by id, LOOKUP_CHUNK per SELECT."""
        table = self.service.table(entity)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = self.conn.execute(sa.select(table).where(table.c.id.in_(ids[start : start + LOOKUP_CHUNK])))
            found.update((row["id"], dict(row)) for row in rows.mappings())
        collections = self.service.collections(entity)
        if collections.fields:
            for record_id, values in read_collections(self, collections, list(found)).items():
                found[record_id].update(values)
        return found

    def validate_changes(
        self, entity: str, current: dict[str, Any], loaded: Mapping[str, Any], errors: ErrorMap
    ) -> dict[str, Any]:
        """The values of `loaded` that change `current`, with every rule of `write_changes`
        checked (record rules, unique values and links, validation hooks) into `errors`."""
        return self.validate_updates(entity, [current], [loaded], [errors])[0]

    def validate_updates(
        self, entity: str, currents: Sequence[dict[str, Any]], loaded: Sequence[Mapping[str, Any]],
        errors: Sequence[ErrorMap],
    ) -> list[dict[str, Any]]:
        """`validate_changes` for many records at once: the changes of each, its errors added to the
        matching map of `errors`. Record rules are checked per record; unique values and links
        set-based (a value two records of the batch would take is refused on the later one, as is a
        value another record holds, even one of the batch giving it away)."""
        validator = self.service.validator(entity)
        collections = self.service.collections(entity)
        source = self.path_source(entity, validator.paths)
        if not collections.fields:
            changes = validator.changed_many(currents, loaded, errors, paths=source)
        else:
            split = [collections.split(values) for values in loaded]
            # the rules of the other characteristics read the members as they will be
            seen = [{**current, **{k: v for k, v in given.items() if k not in collections.line_names}}
                    for current, (_, given) in zip(currents, split)]
            changes = validator.changed_many(seen, [columns for columns, _ in split], errors, paths=source)
            owners = [{**current, **change} for current, change in zip(currents, changes)]
            completed = collections.complete_many(self, [given for _, given in split], currents, owners, errors)
            for current, change, (_, given), values, found in zip(currents, changes, split, completed, errors):
                change.update(changed_collections(current, values))
                collections.check_counts({**current, **change}, collections.checked_on_update(given), found)
        for index, problems in self._check_database_rules(entity, changes, currents=currents).items():
            _merge(errors[index], problems)
        if self.hooks.validates:
            for current, change, found in zip(currents, changes, errors):
                if change or found:
                    self.hooks.validate_record(entity, {**current, **change}, change, found)
        return changes

    def update_many(
        self, entity: str, rows: Sequence[Mapping[str, Any]], *, partial: bool = False, check_only: bool = False
    ) -> BatchResult:
        """Change many records, each with its own values: rows `{"id", "version", <values>...}`.

        All or nothing by default: BatchValidationError (errors by row index) and nothing written
        if any row is refused; `partial` writes the good rows; `check_only` writes none. See
        engine/records/batch_update.py for what each row goes through."""
        return BatchUpdate(self, entity).run(rows, partial=partial, check_only=check_only)

    def delete(self, entity: str, record_id: int, *, version: int | None = None) -> dict[str, Any]:
        """Move a record to the trash; it keeps every value and can be restored."""
        return self._set_trashed(entity, record_id, version, trashed=True)

    def restore(self, entity: str, record_id: int) -> dict[str, Any]:
        """Bring a record back from the trash (refused if a unique value is now taken)."""
        return self._set_trashed(entity, record_id, None, trashed=False)

    def purge(self, entity: str, record_id: int) -> None:
        """Delete a trashed record for good. Its audit log stays; refused while records still link to it."""
        access = self.access(entity, "delete")
        table = self.service.table(entity)
        current = self._row(entity, record_id, include_deleted=True, for_update=True, access=access)
        if current["deleted_at"] is None:
            raise StateError(f"{entity} {record_id} is not in the trash: delete it before purging it")
        self._refuse_if_linked(entity, record_id)
        for trail in (self.tables.history, self.tables.status_changes):
            self.conn.execute(trail.delete().where(trail.c.entity == entity, trail.c.record_id == record_id))
        delete_collections(self, self.service.collections(entity), record_id)
        self._leave_collections(entity, record_id)
        self.conn.execute(table.delete().where(table.c.id == record_id))
        names = [f.name for f in self.model.entity(entity).fields]
        write_audit(
            self.conn, self.tables, entity, "purge",
            [(record_id, current["version"], audit_changes(current, {}, names))], self.now, self.actor.user_id,
        )

    # -- workflow ------------------------------------------------------------------

    def transition(
        self,
        entity: str,
        record_id: int,
        name: str,
        *,
        values: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Move a record along a declared transition: roles, source status, required fields
        and guard are checked, then the actions run and the status changes, all at once."""
        access = self.access(entity, "update")
        flow = self.service.workflow_of(entity)
        transition = flow.transition(name)
        current = self._current(entity, record_id, version, access)
        flow.check_source(transition, current)
        flow.check_roles([transition], self.actor)
        return access.visible(
            self._enter(entity, current, transition.to, [transition], values, inputs, name, access, check_guard=True)
        )

    def move_to(
        self, entity: str, record_id: int, status: str, *, values: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Free mode: any status may follow any other, honouring the roles and required fields of
        the transitions declared into `status`."""
        access = self.access(entity, "update")
        flow = self.service.workflow_of(entity)
        flow.check_free_move(status)
        current = self._current(entity, record_id, version, access)
        into = flow.transitions_into(status)
        flow.check_roles(into, self.actor)
        return access.visible(self._enter(entity, current, status, into, values, None, None, access, check_guard=False))

    def _enter(
        self,
        entity: str,
        current: dict[str, Any],
        status: str,
        transitions: Sequence[Any],
        values: Mapping[str, Any] | None,
        inputs: Mapping[str, Any] | None,
        name: str | None,
        access: Access,
        *,
        check_guard: bool,
    ) -> dict[str, Any]:
        flow = self.service.workflow_of(entity)
        given = {k: v for k, v in (values or {}).items() if k != "status"}
        loaded, errors = self.load_input(entity, given, access, partial=True)
        if errors:
            raise RecordValidationError(errors, entity)
        record = {**current, **loaded}
        flow.check_required(transitions, record, status)
        paths = self.path_values(entity, flow.paths, [record])[0]
        if check_guard:
            flow.check_guard(transitions[0], record, paths=paths)
        changes = dict(loaded)
        for transition in transitions if check_guard else ():
            for action in transition.actions:
                produced = flow.run_action(self, action, transition, record, inputs or {}, paths=paths)
                changes.update(produced)
                record.update(produced)
        produced = flow.on_enter(status, record, paths=paths)
        changes.update(produced)
        changes["status"] = status
        updated = self.write_changes(entity, current, changes, transition=name or f"move:{status}", access=access)
        self.hooks.after_transition(self, entity, updated, name or "", current.get("status"), status)
        return updated

    # -- internals -----------------------------------------------------------------

    def _current(self, entity: str, record_id: int, version: int | None, access: Access) -> dict[str, Any]:
        current = self._row(entity, record_id, for_update=True, access=access)
        if version is not None and version != current["version"]:
            raise ConflictError(entity, record_id, version, access.visible(current))
        return current

    def _check_initial_status(
        self, entity: str, values: Mapping[str, Any], errors: ErrorMap, *, given_only: bool = True
    ) -> None:
        """New records start in the workflow's initial status; only the system (imports of
        existing data, demo data) may create them further along."""
        status = values.get("status")
        if status is None or self.actor.system:
            return
        flow = self.service.workflow_of(entity, required=False)
        if flow is not None and status != flow.definition.initial.code:
            errors.setdefault("status", []).append(
                RuleError("status", "initial", {"value": flow.definition.initial.code})
            )

    def _enter_first_status(
        self, entity: str, records: Sequence[dict[str, Any]], given: Sequence[Mapping[str, Any]]
    ) -> None:
        """A new record enters its first status: that status's `on_enter` values apply,
        except where the caller gave a value itself."""
        flow = self.service.workflow_of(entity, required=False)
        if flow is None:
            return
        entering = [flow.definition.status(record.get("status") or "") for record in records]
        wanted = [i for i, status in enumerate(entering) if status is not None and status.on_enter]
        read = self.path_values(entity, flow.paths, [records[i] for i in wanted]) if wanted else []
        paths = dict(zip(wanted, read))
        for index, (record, values, status) in enumerate(zip(records, given, entering)):
            if status is None or not status.on_enter:
                continue
            try:
                produced = flow.on_enter(status.code, record, paths=paths[index])
            except RecordValidationError:
                continue  # left to the record's own validation
            for name, value in produced.items():
                if values.get(name) in (None, ""):
                    record[name] = value

    def _insert(self, entity: str, records: Sequence[dict[str, Any]]) -> list[int]:
        table = self.service.table(entity)
        system = {
            "created_at": self.now, "created_by": self.actor.user_id,
            "updated_at": self.now, "updated_by": self.actor.user_id, "version": 1,
        }
        # One executemany needs the same keys in every row: the characteristics any record of
        # the batch has (the others are left to their NULL, fewer parameters per row).
        collections = self.service.collections(entity)
        given: set[str] = set()
        for record in records:
            given.update(record)
        empty = dict.fromkeys(given - collections.names)
        if collections.fields:  # members and lines are no column: written once the records have ids
            rows = [{**empty, **{k: v for k, v in record.items() if k in empty}, **system} for record in records]
        else:
            rows = [{**empty, **record, **system} for record in records]
        ids = insert_rows(self.conn, table, rows)
        if collections.fields:
            insert_collections(self, collections, list(zip(ids, records)))
        write_creation_audit(self.conn, self.tables, entity, table, ids)
        return ids

    def _set_trashed(self, entity: str, record_id: int, version: int | None, *, trashed: bool) -> dict[str, Any]:
        access = self.access(entity, "delete")
        table = self.service.table(entity)
        current = self._row(entity, record_id, include_deleted=True, for_update=True, access=access)
        if version is not None and version != current["version"]:
            raise ConflictError(entity, record_id, version, access.visible(current))
        if (current["deleted_at"] is not None) == trashed:
            state = "already in the trash" if trashed else "not in the trash"
            raise StateError(f"{entity} {record_id} is {state}")
        if not trashed:
            problems = self._check_database_rules(entity, [current], exclude_ids=[record_id], scoped_links=False)
            if problems:
                raise RecordValidationError(problems[0], entity)
        new_version = current["version"] + 1
        self.conn.execute(
            table.update()
            .where(table.c.id == record_id)
            .values(
                deleted_at=self.now if trashed else None, updated_at=self.now,
                updated_by=self.actor.user_id, version=new_version,
            )
        )
        write_audit(
            self.conn, self.tables, entity, "delete" if trashed else "restore",
            [(record_id, new_version, None)], self.now, self.actor.user_id,
        )
        return access.visible(self._row(entity, record_id, include_deleted=True))

    def _check_database_rules(
        self, entity: str, records: Sequence[Mapping[str, Any]], exclude_ids: Sequence[int] = (),
        skip: frozenset[str] = frozenset(), *, scoped_links: bool = True,
        currents: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> dict[int, ErrorMap]:
        """Links that point at live records the actor may read, and unique values, checked
        set-based (one query per link column per LOOKUP_CHUNK values); errors by row index.

        A link to a record outside the actor's read scope gets the very error of a link to
        no record, so that no answer tells which ids exist. `skip` names link fields not to
        check (their ids were just read from the database, in the actor's scope);
        `scoped_links` False checks only that the records exist (a restored record keeps
        the links it had, whoever set them). The members of `links` and the links of `lines` are
        checked too (those added to `currents`, the records as they were, for changes), except
        for a restored record, which keeps them as they were."""
        problems: dict[int, ErrorMap] = {}
        table = self.service.table(entity)
        collections = self.service.collections(entity)
        if collections.fields and scoped_links:
            found: list[ErrorMap] = [{} for _ in records]
            collections.check_targets(self, records, currents or [None] * len(records), found)
            for index, errors in enumerate(found):
                if errors:
                    problems[index] = errors
        for f in self.model.entity(entity).fields:
            if f.type == "link" and f.name in skip:
                continue
            if f.type == "link":
                wanted = {r[f.name] for r in records if r.get(f.name) is not None}
                if not wanted:
                    continue
                if scoped_links:
                    found = self.in_scope(f.entity, wanted, "read")
                else:
                    target = self.service.table(f.entity)
                    found = self._existing(target.c.id, wanted, target)
                for index, r in enumerate(records):
                    if r.get(f.name) is not None and r[f.name] not in found:
                        problems.setdefault(index, {})[f.name] = [
                            RuleError(f.name, "link", {"entity": f.entity, "value": r[f.name]})
                        ]
            elif f.unique:
                seen: set[Any] = set()
                values = {r[f.name] for r in records if r.get(f.name) is not None}
                taken = self._existing(table.c[f.name], values, table, exclude_ids) if values else set()
                for index, r in enumerate(records):
                    value = r.get(f.name)
                    if value is None:
                        continue
                    if value in taken or value in seen:
                        problems.setdefault(index, {})[f.name] = [RuleError(f.name, "unique", {"value": value})]
                    seen.add(value)
        return problems

    def _existing(
        self, column: sa.Column, values: set[Any], table: sa.Table, exclude_ids: Sequence[int] = (), *,
        live: bool = True, where: sa.ColumnElement[bool] | None = None,
    ) -> set[Any]:
        """Which of `values` `column` holds (live records only, unless told), LOOKUP_CHUNK at a time."""
        values_list = list(values)
        found: set[Any] = set()
        for start in range(0, len(values_list), LOOKUP_CHUNK):
            query = sa.select(column).where(column.in_(values_list[start : start + LOOKUP_CHUNK]))
            if live:
                query = query.where(table.c.deleted_at.is_(None))
            if where is not None:
                query = query.where(where)
            if exclude_ids:
                query = query.where(table.c.id.not_in(list(exclude_ids)))
            found.update(self.conn.execute(query).scalars())
        return found

    def _refuse_if_linked(self, entity: str, record_id: int) -> None:
        for other in self.model.entities.values():
            for f in other.fields:
                if f.type == "link" and f.entity == entity and not f.system:
                    table = self.service.table(other.name)
                    n = self.conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(table.c[f.name] == record_id)
                    ).scalar_one()
                    if n:
                        raise StateError(
                            f"{entity} {record_id} cannot be purged: {n} {other.name} record(s) link to it through {f.name}"
                        )

    def _leave_collections(self, entity: str, record_id: int) -> None:
        """A purged record stops being a member of any `links` naming it; the records that held it
        change (version, audit, history), set-based (`collections.replace_member`)."""
        for other in self.model.entities.values():
            for f in other.fields:
                if f.type == "links" and f.entity == entity:
                    replace_member(self, other.name, f, record_id, None)


def _take(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """Remove the entries of `names` from `values` and return them."""
    return {name: values.pop(name) for name in list(values) if name in names}


def _merge(errors: ErrorMap, more: ErrorMap) -> None:
    """Add `more` to `errors`, keeping the first error found for a field."""
    for name, found in more.items():
        errors.setdefault(name, found)
