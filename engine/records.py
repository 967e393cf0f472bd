"""The record service: create, read, update, delete to trash, restore, purge.

Every multi-step change runs in one transaction: the record, its audit row and its
history periods are written together or not at all. Batches (`create_many`) are
validated whole before anything is written, then inserted chunk by chunk with
set-based audit and history inserts (no ORM object per row).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import Model

from .context import Actor
from .errors import (
    BatchValidationError,
    ConflictError,
    NotFoundError,
    NotHistorizedError,
    RecordValidationError,
    RuleError,
    StateError,
)
from .tables import Tables
from .trail import (
    Change,
    audit_changes,
    from_json,
    value_periods,
    write_audit,
    write_creation_audit,
    write_history,
)
from .validation import EntityValidator, ErrorMap

INSERT_CHUNK = 1000
LOOKUP_CHUNK = 500


class RecordService:
    def __init__(
        self,
        model: Model,
        db: sa.Engine,
        tables: Tables,
        validators: Mapping[str, EntityValidator],
        clock: Callable[[], dt.datetime],
    ):
        self.model = model
        self.db = db
        self.tables = tables
        self.validators = validators
        self.clock = clock

    # -- reading ---------------------------------------------------------------

    def get(self, entity: str, record_id: int, *, include_deleted: bool = False) -> dict[str, Any]:
        with self.db.connect() as conn:
            return self._fetch(conn, entity, record_id, include_deleted=include_deleted)

    def count(self, entity: str, *, include_deleted: bool = False) -> int:
        table = self._table(entity)
        query = sa.select(sa.func.count()).select_from(table)
        if not include_deleted:
            query = query.where(table.c.deleted_at.is_(None))
        with self.db.connect() as conn:
            return conn.execute(query).scalar_one()

    def audit_log(self, entity: str, record_id: int) -> list[dict[str, Any]]:
        audit = self.tables.audit
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(audit)
                .where(audit.c.entity == entity, audit.c.record_id == record_id)
                .order_by(audit.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def history(self, entity: str, record_id: int, field: str) -> list[dict[str, Any]]:
        """The validity periods of a historized characteristic, oldest first, with typed values.

        Each period has `value`, `valid_from`, `valid_to` (None while current), and the
        `old_value`, `changed_by` of the change that opened it. The first period runs
        from the record's creation to the first change; it is derived, not stored, so
        that creating records (imports) writes no history rows.
        """
        definition = self._historized(entity, field)
        with self.db.connect() as conn:
            record = self._fetch(conn, entity, record_id, include_deleted=True)
            changes = value_periods(conn, self.tables, entity, record_id, field)
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

    def value_as_of(self, entity: str, record_id: int, field: str, when: dt.datetime | dt.date) -> Any:
        """The value a historized characteristic had at `when` (a date means the end of that day).

        None before the record was created.
        """
        when = _as_naive_utc(when)
        for period in reversed(self.history(entity, record_id, field)):
            if period["valid_from"] <= when:
                return period["value"]
        return None

    # -- creating --------------------------------------------------------------

    def create(self, entity: str, values: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        validator = self._validator(entity)
        loaded, errors = validator.load_one(values, actor, partial=False)
        record = validator.complete_new(loaded, errors)
        with self.db.begin() as conn:
            _merge(errors, self._check_database_rules(conn, entity, [record]).get(0, {}))
            if errors:
                raise RecordValidationError(errors, entity)
            (record_id,) = self._insert(conn, entity, [record], actor)
            return self._fetch(conn, entity, record_id)

    def create_many(self, entity: str, rows: Iterable[Mapping[str, Any]], actor: Actor) -> list[int]:
        """Validate every row, then insert them all in one transaction; returns ids in row order.

        Raises BatchValidationError (errors per row index) and writes nothing if any row is bad.
        """
        records, failed = self._validator(entity).load_many(rows, actor)
        with self.db.begin() as conn:
            for index, problems in self._check_database_rules(conn, entity, records).items():
                _merge(failed.setdefault(index, {}), problems)
            if failed:
                raise BatchValidationError(failed, entity)
            ids: list[int] = []
            for start in range(0, len(records), INSERT_CHUNK):
                ids.extend(self._insert(conn, entity, records[start : start + INSERT_CHUNK], actor))
            return ids

    # -- changing --------------------------------------------------------------

    def update(
        self,
        entity: str,
        record_id: int,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Change some characteristics. A stale `version` raises ConflictError and writes nothing."""
        validator = self._validator(entity)
        table = self._table(entity)
        with self.db.begin() as conn:
            current = self._fetch(conn, entity, record_id, for_update=True)
            if version is not None and version != current["version"]:
                raise ConflictError(entity, record_id, version, current)
            loaded, errors = validator.load_one(values, actor, partial=True)
            changes = validator.changed_values(current, loaded, errors)
            _merge(errors, self._check_database_rules(conn, entity, [changes], exclude_ids=[record_id]).get(0, {}))
            if errors:
                raise RecordValidationError(errors, entity)
            if not changes:
                return current
            now = self.clock()
            new_version = current["version"] + 1
            result = conn.execute(
                table.update()
                .where(table.c.id == record_id, table.c.version == current["version"])
                .values(**changes, updated_at=now, updated_by=actor.user_id, version=new_version)
            )
            if result.rowcount != 1:
                raise ConflictError(entity, record_id, version, self._fetch(conn, entity, record_id))
            write_audit(
                conn, self.tables, entity, "update",
                [(record_id, new_version, audit_changes(current, changes, changes))], now, actor.user_id,
            )
            historized = {f.name for f in self.model.entity(entity).historized_fields}
            write_history(
                conn, self.tables, entity,
                [Change(record_id, name, current[name], value) for name, value in changes.items() if name in historized],
                now, actor.user_id,
            )
            return self._fetch(conn, entity, record_id)

    def delete(self, entity: str, record_id: int, actor: Actor, *, version: int | None = None) -> dict[str, Any]:
        """Move a record to the trash; it keeps every value and can be restored."""
        return self._set_trashed(entity, record_id, actor, version, trashed=True)

    def restore(self, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        """Bring a record back from the trash (refused if a unique value is now taken)."""
        return self._set_trashed(entity, record_id, actor, None, trashed=False)

    def purge(self, entity: str, record_id: int, actor: Actor) -> None:
        """Delete a trashed record for good. Its audit log stays; refused while records still link to it."""
        table = self._table(entity)
        with self.db.begin() as conn:
            current = self._fetch(conn, entity, record_id, include_deleted=True, for_update=True)
            if current["deleted_at"] is None:
                raise StateError(f"{entity} {record_id} is not in the trash: delete it before purging it")
            self._refuse_if_linked(conn, entity, record_id)
            history = self.tables.history
            conn.execute(history.delete().where(history.c.entity == entity, history.c.record_id == record_id))
            conn.execute(table.delete().where(table.c.id == record_id))
            names = [f.name for f in self.model.entity(entity).fields]
            write_audit(
                conn, self.tables, entity, "purge",
                [(record_id, current["version"], audit_changes(current, {}, names))], self.clock(), actor.user_id,
            )

    # -- internals ---------------------------------------------------------------

    def _insert(self, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]], actor: Actor) -> list[int]:
        table = self._table(entity)
        now = self.clock()
        system = {"created_at": now, "created_by": actor.user_id, "updated_at": now, "updated_by": actor.user_id, "version": 1}
        names = [f.name for f in self.model.entity(entity).fields]
        rows = [{**dict.fromkeys(names), **record, **system} for record in records]
        ids = insert_rows(conn, table, rows)
        write_creation_audit(conn, self.tables, entity, table, ids)
        return ids

    def _set_trashed(self, entity: str, record_id: int, actor: Actor, version: int | None, *, trashed: bool) -> dict[str, Any]:
        table = self._table(entity)
        with self.db.begin() as conn:
            current = self._fetch(conn, entity, record_id, include_deleted=True, for_update=True)
            if version is not None and version != current["version"]:
                raise ConflictError(entity, record_id, version, current)
            if (current["deleted_at"] is not None) == trashed:
                state = "already in the trash" if trashed else "not in the trash"
                raise StateError(f"{entity} {record_id} is {state}")
            if not trashed:
                problems = self._check_database_rules(conn, entity, [current], exclude_ids=[record_id])
                if problems:
                    raise RecordValidationError(problems[0], entity)
            now = self.clock()
            new_version = current["version"] + 1
            conn.execute(
                table.update()
                .where(table.c.id == record_id)
                .values(deleted_at=now if trashed else None, updated_at=now, updated_by=actor.user_id, version=new_version)
            )
            write_audit(
                conn, self.tables, entity, "delete" if trashed else "restore",
                [(record_id, new_version, None)], now, actor.user_id,
            )
            return self._fetch(conn, entity, record_id, include_deleted=True)

    def _check_database_rules(
        self, conn: sa.Connection, entity: str, records: Sequence[Mapping[str, Any]], exclude_ids: Sequence[int] = ()
    ) -> dict[int, ErrorMap]:
        """Links that point at live records and unique values, checked set-based; errors by row index."""
        problems: dict[int, ErrorMap] = {}
        table = self._table(entity)
        for f in self.model.entity(entity).fields:
            if f.type == "link":
                wanted = {r[f.name] for r in records if r.get(f.name) is not None}
                if wanted:
                    target = self._table(f.entity)
                    found = self._existing(conn, target.c.id, wanted, target)
                    for index, r in enumerate(records):
                        if r.get(f.name) is not None and r[f.name] not in found:
                            problems.setdefault(index, {})[f.name] = [
                                RuleError(f.name, "link", {"entity": f.entity, "value": r[f.name]})
                            ]
            elif f.unique:
                seen: set[Any] = set()
                values = {r[f.name] for r in records if r.get(f.name) is not None}
                taken = self._existing(conn, table.c[f.name], values, table, exclude_ids) if values else set()
                for index, r in enumerate(records):
                    value = r.get(f.name)
                    if value is None:
                        continue
                    if value in taken or value in seen:
                        problems.setdefault(index, {})[f.name] = [RuleError(f.name, "unique", {"value": value})]
                    seen.add(value)
        return problems

    @staticmethod
    def _existing(
        conn: sa.Connection, column: sa.Column, values: set[Any], table: sa.Table, exclude_ids: Sequence[int] = ()
    ) -> set[Any]:
        values_list = list(values)
        found: set[Any] = set()
        for start in range(0, len(values_list), LOOKUP_CHUNK):
            query = sa.select(column).where(
                column.in_(values_list[start : start + LOOKUP_CHUNK]), table.c.deleted_at.is_(None)
            )
            if exclude_ids:
                query = query.where(table.c.id.not_in(list(exclude_ids)))
            found.update(conn.execute(query).scalars())
        return found

    def _refuse_if_linked(self, conn: sa.Connection, entity: str, record_id: int) -> None:
        for other in self.model.entities.values():
            for f in other.fields:
                if f.type == "link" and f.entity == entity:
                    table = self._table(other.name)
                    n = conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(table.c[f.name] == record_id)
                    ).scalar_one()
                    if n:
                        raise StateError(
                            f"{entity} {record_id} cannot be purged: {n} {other.name} record(s) link to it through {f.name}"
                        )

    def _fetch(
        self, conn: sa.Connection, entity: str, record_id: int, *, include_deleted: bool = False, for_update: bool = False
    ) -> dict[str, Any]:
        table = self._table(entity)
        query = sa.select(table).where(table.c.id == record_id)
        if for_update:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None or (row.deleted_at is not None and not include_deleted):
            raise NotFoundError(entity, record_id)
        return dict(row._mapping)

    def _table(self, entity: str) -> sa.Table:
        try:
            return self.tables.of(entity)
        except KeyError:
            raise NotFoundError("entity", entity) from None

    def _validator(self, entity: str) -> EntityValidator:
        self._table(entity)
        return self.validators[entity]

    def _historized(self, entity: str, field: str):
        definition = self._validator(entity).entity.fields_by_name.get(field)
        if definition is None or not definition.historized:
            raise NotHistorizedError(entity, field)
        return definition


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` with one plain executemany and return their new ids, in order.

    Ordered RETURNING would cost a statement per row on SQLite and a huge multi-row
    statement on PostgreSQL, so neither is used:
    - PostgreSQL: the ids are drawn from the table's sequence first, in one query,
      and inserted with the rows (safe with concurrent writers);
    - SQLite: inside the transaction that now holds the database's write lock, the
      rows received consecutive ids ending at the table's maximum.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        ids = list(conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)},
        ).scalars())
        conn.execute(table.insert(), [{**row, "id": record_id} for row, record_id in zip(rows, ids)])
        return ids
    if dialect != "sqlite":
        result = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        return [row[0] for row in result]
    conn.execute(table.insert(), rows)
    last = conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
    return list(range(last - len(rows) + 1, last + 1))


def _merge(errors: ErrorMap, more: ErrorMap) -> None:
    """Add `more` to `errors`, keeping the first error found for a field."""
    for name, found in more.items():
        errors.setdefault(name, found)


def _as_naive_utc(when: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(when, dt.datetime):
        return dt.datetime.combine(when, dt.time.max)
    if when.tzinfo is not None:
        return when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when
