"""SQLAlchemy Core tables built from the `Model`: one per entity, plus audit and history."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa

from metamodel.model import EntityDef, Model

from .column_types import column_type
from .job_tables import job_tables

TABLE_PREFIX = "ent_"
MAX_IDENTIFIER = 63
LIST_INDEXED_TYPES = frozenset({"choice", "status", "link", "boolean", "integer", "decimal", "date", "datetime"})
"""Types a list filters by equality or range (text is searched by its parts: no index serves that)."""


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
    sorted_by = list_sort_fields(entity)
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
        elif f.indexed or f.type in ("link", "status") or f.name in entity.natural_key or f.name in sorted_by:
            # natural keys are looked up by every import chunk (upserts, links resolved by name)
            indexes.append(sa.Index(f"ix_{name}_{f.name}", f.name))
    for system in ("updated_at",):
        if system in sorted_by:
            indexes.append(sa.Index(f"ix_{name}_{system}", system))
    indexes.extend(list_indexes(entity, name))
    return sa.Table(name, metadata, *columns, *indexes)


def list_sort_fields(entity: EntityDef) -> set[str]:
    """The characteristics a list view of `entity` is sorted by first: a page of it walks their index."""
    return {v.sort[0].lstrip("-") for v in entity.views if v.kind == "list" and v.sort}


def list_indexes(entity: EntityDef, name: str) -> list[sa.Index]:
    """The indexes of what the list views filter by, so that a list's cost follows its answer.

    One per filter characteristic a comparison can use (and per status, which the open and
    history tabs filter by): its column, then the status when the entity has a workflow, over
    live records whose value is set (`deleted_at IS NULL AND <column> IS NOT NULL`, which every
    list condition on the column implies). The total of a list filtered by one value is then
    counted in the index alone (no row read), and the statistics of the index describe the
    values actually filtered on: on a column that is empty for most records, an index holding
    the empty ones too looks useless to SQLite's planner (one value, a million rows).
    """
    fields = {f.name: f for f in entity.fields}
    filtered = {n for v in entity.views if v.kind == "list" for n in (*v.filters, *v.where)}
    if "status" in fields:
        filtered.add("status")
    indexes = []
    for field_name in sorted(filtered):
        definition = fields.get(field_name)
        if definition is None or definition.type not in LIST_INDEXED_TYPES:
            continue
        columns = [field_name, "status"] if "status" in fields and field_name != "status" else [field_name]
        where = sa.and_(sa.column("deleted_at").is_(None), sa.column(field_name).is_not(None))
        indexes.append(sa.Index(index_name(f"ix_{name}__list_", field_name), *columns,
                                sqlite_where=where, postgresql_where=where))
    return indexes


def index_name(prefix: str, field_name: str) -> str:
    """`prefix` + the field name, or a digest of it when that would pass PostgreSQL's 63
    characters (which it would cut silently, and then never find under the full name)."""
    name = prefix + field_name
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = "_" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return name[: MAX_IDENTIFIER - len(digest)] + digest


_index_name = index_name


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
