"""SQLAlchemy Core tables built from the `Model`: one per entity, plus audit and history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa

from metamodel.model import EntityDef, Model

from .column_types import column_type
from .job_tables import job_tables

TABLE_PREFIX = "ent_"


def table_name(entity: str) -> str:
    return TABLE_PREFIX + entity


@dataclass(frozen=True)
class Tables:
    metadata: sa.MetaData
    records: Mapping[str, sa.Table]
    """Entity name -> its table."""
    audit: sa.Table
    history: sa.Table
    status_changes: sa.Table
    jobs: sa.Table
    job_errors: sa.Table

    def of(self, entity: str) -> sa.Table:
        return self.records[entity]


def build_tables(model: Model) -> Tables:
    metadata = sa.MetaData()
    records = {name: _entity_table(entity, metadata) for name, entity in model.entities.items()}
    return Tables(
        metadata, records, _audit_table(metadata), _history_table(metadata), _status_table(metadata),
        *job_tables(metadata),
    )


def _entity_table(entity: EntityDef, metadata: sa.MetaData) -> sa.Table:
    name = table_name(entity.name)
    columns: list[sa.Column] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.Integer),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False, default=1),
        sa.Column("deleted_at", sa.DateTime),
    ]
    indexes: list[sa.Index] = [
        sa.Index(f"ix_{name}_created_at", "created_at"),
        # Only the trash needs it: a full index on a column that is NULL for every live record
        # makes SQLite's planner take it for `deleted_at IS NULL` and scan every live record.
        sa.Index(f"ix_{name}_trash", "deleted_at", sqlite_where=sa.text("deleted_at IS NOT NULL"),
                 postgresql_where=sa.text("deleted_at IS NOT NULL")),
    ]
    for f in entity.fields:
        args: list = []
        if f.type == "link":
            args.append(sa.ForeignKey(f"{table_name(f.entity)}.id", name=f"fk_{name}_{f.name}"))
        columns.append(sa.Column(f.name, column_type(f), *args))
        if f.unique:
            live = sa.text("deleted_at IS NULL")
            indexes.append(
                sa.Index(f"ux_{name}_{f.name}", f.name, unique=True, sqlite_where=live, postgresql_where=live)
            )
        elif f.indexed or f.type in ("link", "status") or f.name in entity.natural_key:
            # natural keys are looked up by every import chunk (upserts, links resolved by name)
            indexes.append(sa.Index(f"ix_{name}_{f.name}", f.name))
    return sa.Table(name, metadata, *columns, *indexes)


def _audit_table(metadata: sa.MetaData) -> sa.Table:
    """Every change to every record: create, update, delete, restore, purge."""
    return sa.Table(
        "sys_audit",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("changes", sa.JSON(none_as_null=True)),
        sa.Index("ix_sys_audit_record", "entity", "record_id"),
        sa.Index("ix_sys_audit_changed_at", "changed_at"),
    )


def _history_table(metadata: sa.MetaData) -> sa.Table:
    """Values of historized characteristics, each with the period it was valid."""
    return sa.Table(
        "sys_history",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("old_value", sa.JSON(none_as_null=True)),
        sa.Column("new_value", sa.JSON(none_as_null=True)),
        sa.Column("valid_from", sa.DateTime, nullable=False),
        sa.Column("valid_to", sa.DateTime),
        sa.Column("actor_id", sa.Integer),
        sa.Index("ix_sys_history_lookup", "entity", "record_id", "field", "valid_from"),
    )


def _status_table(metadata: sa.MetaData) -> sa.Table:
    """Every status change: who, when, from, to and through which transition."""
    return sa.Table(
        "sys_status_change",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(60)),
        sa.Column("to_status", sa.String(60), nullable=False),
        sa.Column("transition", sa.String(80)),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Index("ix_sys_status_change_record", "entity", "record_id", "changed_at"),
    )
