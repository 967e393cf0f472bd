"""The audit log and the history of historized characteristics, written set-based.

A record's first values live in the record itself (and its creation in the
audit log); history rows are written only when a historized value changes.
Every writer takes many rows at once so that single-record changes and bulk paths
(imports, mass updates) share one code path: one INSERT (executemany) for the audit
rows, one UPDATE closing the open history periods, one INSERT for the new periods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from .tables import Tables

CHUNK = 500


@dataclass(frozen=True)
class Change:
    """One characteristic of one record going from `old` to `new`."""

    record_id: int
    field: str
    old: Any
    new: Any


def to_json(value: Any) -> Any:
    """A value as stored in the audit and history JSON columns (lists and dicts, such as `links`
    members and `lines`, item by item)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def from_json(field: FieldDef, value: Any) -> Any:
    """The typed value back from its JSON form."""
    if value is None:
        return None
    if field.type == "decimal":
        return Decimal(value)
    if field.type == "date":
        return dt.date.fromisoformat(value)
    if field.type == "datetime":
        return dt.datetime.fromisoformat(value)
    return value


def write_audit(
    conn: sa.Connection,
    tables: Tables,
    entity: str,
    action: str,
    entries: Sequence[tuple[int, int, dict[str, Any] | None]],
    at: dt.datetime,
    actor_id: int | None,
) -> None:
    """One audit row per `(record_id, version, changes)`; changes map field -> [old, new]."""
    if not entries:
        return
    rows = [
        {
            "entity": entity,
            "record_id": record_id,
            "action": action,
            "version": version,
            "changed_at": at,
            "actor_id": actor_id,
            "changes": changes,
        }
        for record_id, version, changes in entries
    ]
    conn.execute(tables.audit.insert(), rows)


def write_creation_audit(conn: sa.Connection, tables: Tables, entity: str, table: sa.Table, ids: Sequence[int]) -> None:
    """Audit rows for freshly inserted records, copied by the database in one INSERT ... SELECT.

    A creation entry carries no payload: the record's first values are its current
    values rewound through the later `update` entries, so repeating them here would
    only double the cost of every import.
    """
    audit = tables.audit

    def copy(condition: sa.ColumnElement[bool]) -> None:
        source = sa.select(
            sa.literal(entity, sa.String), table.c.id, sa.literal("create", sa.String),
            table.c.version, table.c.created_at, table.c.created_by,
        ).where(condition)
        conn.execute(
            audit.insert().from_select(["entity", "record_id", "action", "version", "changed_at", "actor_id"], source)
        )

    if ids and ids[-1] - ids[0] == len(ids) - 1 and all(a < b for a, b in zip(ids, ids[1:])):
        copy(table.c.id.between(ids[0], ids[-1]))  # consecutive ids (the usual case): one range scan
        return
    for start in range(0, len(ids), CHUNK):
        copy(table.c.id.in_(ids[start : start + CHUNK]))


def audit_changes(old: dict[str, Any] | None, new: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    """The `changes` JSON of an audit row: field -> [old, new], for the fields that differ."""
    old = old or {}
    return {
        name: [to_json(old.get(name)), to_json(new.get(name))]
        for name in fields
        if old.get(name) != new.get(name)
    }


def write_history(
    conn: sa.Connection,
    tables: Tables,
    entity: str,
    changes: Sequence[Change],
    at: dt.datetime,
    actor_id: int | None,
) -> None:
    """Close the open period of each changed value and open a new one from `at`."""
    if not changes:
        return
    history = tables.history
    by_field: dict[str, list[int]] = {}
    for change in changes:
        by_field.setdefault(change.field, []).append(change.record_id)
    for field, ids in by_field.items():
        for start in range(0, len(ids), CHUNK):
            conn.execute(
                history.update()
                .where(
                    history.c.entity == entity,
                    history.c.field == field,
                    history.c.record_id.in_(ids[start : start + CHUNK]),
                    history.c.valid_to.is_(None),
                )
                .values(valid_to=at)
            )
    conn.execute(
        history.insert(),
        [
            {
                "entity": entity,
                "record_id": c.record_id,
                "field": c.field,
                "old_value": to_json(c.old),
                "new_value": to_json(c.new),
                "valid_from": at,
                "valid_to": None,
                "actor_id": actor_id,
            }
            for c in changes
        ],
    )


def value_periods(conn: sa.Connection, tables: Tables, entity: str, record_id: int, field: str) -> list[dict]:
    history = tables.history
    rows = conn.execute(
        sa.select(history)
        .where(history.c.entity == entity, history.c.record_id == record_id, history.c.field == field)
        .order_by(history.c.valid_from, history.c.id)
    )
    return [dict(r._mapping) for r in rows]


def write_status_changes(
    conn: sa.Connection,
    tables: Tables,
    entity: str,
    changes: Sequence[tuple[int, str | None, str, str | None]],
    at: dt.datetime,
    actor_id: int | None,
) -> None:
    """One row per `(record_id, from_status, to_status, transition)`."""
    if not changes:
        return
    conn.execute(
        tables.status_changes.insert(),
        [
            {"entity": entity, "record_id": record_id, "from_status": old, "to_status": new,
             "transition": transition, "changed_at": at, "actor_id": actor_id}
            for record_id, old, new, transition in changes
        ],
    )


def status_changes(conn: sa.Connection, tables: Tables, entity: str, record_id: int) -> list[dict]:
    table = tables.status_changes
    rows = conn.execute(
        sa.select(table)
        .where(table.c.entity == entity, table.c.record_id == record_id)
        .order_by(table.c.changed_at, table.c.id)
    )
    return [dict(r._mapping) for r in rows]
