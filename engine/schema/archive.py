"""Removed definitions keep their data: archiving and restoring.

- A characteristic no longer declared: its values are copied, set-based (one
  INSERT ... SELECT building the JSON in SQL), into `sys_archive`, then its column goes.
- A `links` characteristic no longer declared: its members go to `sys_archive`, one row per
  record holding the list of its member ids (one INSERT ... SELECT grouping the join table),
  then its join table goes.
- An entity no longer declared: its records are copied into an archive table without
  constraints (`arc<id>_<entity>`), then its table goes.

They come back once they are declared again: engine/schema/archive_restore.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from metamodel.model import FieldDef, Model

from engine.core.errors import EngineError
from .messages import text
from .scan import record_table
from .state import ARCHIVE, BATCHES, CLEANUP, ENTITY_ROW, archive_table_name
from engine.storage.sqljson import json_of
from engine.storage.tables import SOURCE_COLUMN, TARGET_COLUMN

if TYPE_CHECKING:
    from engine.installation.runtime import Engine


class ArchiveError(EngineError):
    """A restore that cannot be done; nothing was changed. Says why in English and French."""

    def __init__(self, key: str, **params: Any):
        self.key = key
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        return text(self.key, lang, **self.params)


# -- archiving (called while a migration is applied) ------------------------------------------


def _new_batch(conn: sa.Connection, entity: str, field: str, definition: Any, records: int,
               now: dt.datetime, table_name: str | None = None) -> int:
    result = conn.execute(BATCHES.insert().values(
        entity=entity, field=field, definition=definition, table_name=table_name, records=records, archived_at=now,
    ))
    return result.inserted_primary_key[0]


def archive_values(conn: sa.Connection, entity: str, table: str, old: FieldDef, definition: Mapping[str, Any],
                   now: dt.datetime, *, column: str | None = None) -> int:
    """Copy every non-empty value of `column` (default: the field's name) into `sys_archive`, set-based."""
    column = column or old.name
    t = record_table(table, column, old)
    count = conn.execute(sa.select(sa.func.count(t.c[column]))).scalar_one()
    batch = _new_batch(conn, entity, old.name, dict(definition), count, now)
    values = sa.select(
        sa.literal(batch, sa.Integer), sa.literal(entity, sa.String), sa.literal(old.name, sa.String), t.c.id,
        json_of(old, t.c[column], conn.dialect.name), sa.literal(old.type, sa.String),
        sa.literal(now, sa.DateTime),
    ).where(t.c[column].is_not(None))
    conn.execute(ARCHIVE.insert().from_select(
        ["batch_id", "entity", "field", "record_id", "value", "type", "archived_at"], values,
    ))
    conn.execute(CLEANUP.delete().where(CLEANUP.c.entity == entity, CLEANUP.c.field == old.name))
    return count


def archive_members(conn: sa.Connection, entity: str, field: str, table: str, definition: Mapping[str, Any],
                    now: dt.datetime) -> int:
    """Copy the members of join table `table` into `sys_archive`, set-based: per source record, the
    sorted list of its member ids. Returns how many records had members."""
    join = sa.table(table, sa.column(SOURCE_COLUMN, sa.Integer), sa.column(TARGET_COLUMN, sa.Integer))
    count = conn.execute(sa.select(sa.func.count(sa.distinct(join.c[SOURCE_COLUMN])))).scalar_one()
    batch = _new_batch(conn, entity, field, dict(definition), count, now)
    if conn.dialect.name == "postgresql":
        members = sa.func.json_agg(aggregate_order_by(join.c[TARGET_COLUMN], join.c[TARGET_COLUMN]))
        source = join
    else:
        # SQLite aggregates in the order rows come: ordered first, by a subquery
        source = sa.select(join).order_by(join.c[SOURCE_COLUMN], join.c[TARGET_COLUMN]).subquery()
        members = sa.func.json_group_array(source.c[TARGET_COLUMN])
    values = sa.select(
        sa.literal(batch, sa.Integer), sa.literal(entity, sa.String), sa.literal(field, sa.String),
        source.c[SOURCE_COLUMN], members, sa.literal("links", sa.String), sa.literal(now, sa.DateTime),
    ).group_by(source.c[SOURCE_COLUMN])
    conn.execute(ARCHIVE.insert().from_select(
        ["batch_id", "entity", "field", "record_id", "value", "type", "archived_at"], values,
    ))
    return count


def archive_entity(conn: sa.Connection, entity: str, table: str, fields: Mapping[str, Mapping[str, Any]],
                   now: dt.datetime) -> str:
    """Copy every record of `table` into a new archive table without constraints; returns its name.
    The caller drops `table` afterwards."""
    count = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    batch = _new_batch(conn, entity, ENTITY_ROW, {k: dict(v) for k, v in fields.items()}, count, now)
    name = archive_table_name(batch, entity)
    columns = sa.inspect(conn).get_columns(table)
    archive = sa.Table(name, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in columns))
    archive.create(conn)
    names = [c["name"] for c in columns]
    source = sa.table(table, *(sa.column(n) for n in names))
    conn.execute(archive.insert().from_select(names, sa.select(*source.c)))
    conn.execute(BATCHES.update().where(BATCHES.c.id == batch).values(table_name=name))
    conn.execute(CLEANUP.delete().where(CLEANUP.c.entity == entity))
    return name


# -- what the archive holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveEntry:
    """Something archived and not restored: the values of a characteristic, or an entity's records."""

    target: str
    """`entity.field` or `entity`: what `ossature archive restore` takes."""
    entity: str
    field: str | None
    count: int
    archived_at: dt.datetime
    declared: bool
    """Declared again: it can be restored."""
    table_name: str | None = None


def list_archive(conn: sa.Connection, model: Model) -> list[ArchiveEntry]:
    if not sa.inspect(conn).has_table(ARCHIVE.name):
        return []
    entries = []
    values = conn.execute(
        sa.select(ARCHIVE.c.entity, ARCHIVE.c.field, sa.func.count(sa.distinct(ARCHIVE.c.record_id)),
                  sa.func.max(ARCHIVE.c.archived_at))
        .where(ARCHIVE.c.restored_at.is_(None))
        .group_by(ARCHIVE.c.entity, ARCHIVE.c.field)
    )
    for entity, field, count, when in values:
        declared = entity in model.entities and field in model.entity(entity).fields_by_name
        entries.append(ArchiveEntry(f"{entity}.{field}", entity, field, count, when, declared))
    tables = conn.execute(
        sa.select(BATCHES.c.entity, BATCHES.c.records, BATCHES.c.archived_at, BATCHES.c.table_name)
        .where(BATCHES.c.field == ENTITY_ROW, BATCHES.c.restored_at.is_(None))
    )
    for entity, count, when, table_name in tables:
        entries.append(ArchiveEntry(entity, entity, None, count, when, entity in model.entities, table_name))
    return sorted(entries, key=lambda e: (e.entity, e.field or "", e.archived_at))


# -- for callers holding an Engine (CLI, admin pages) ---------------------------------------------


def archive_entries(engine: "Engine") -> list[ArchiveEntry]:
    """What the archive holds and has not given back."""
    with engine.db.connect() as conn:
        return list_archive(conn, engine.model)



