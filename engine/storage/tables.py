"""SQLAlchemy Core tables built from the `Model`: one per entity, one per `links` characteristic
(its join table), plus audit and history.

- An entity table (`ent_<entity>`) holds the system columns and one column per
  `EntityDef.column_fields`: `links` and `lines` have none.
- An owned entity's table (`owned_by`) also holds `parent_id` (NOT NULL, a foreign key to its
  owner's table) and `position` (NOT NULL: the line's place among its owner's lines), indexed
  together: the lines of one record are read in order from that index.
- A `links` characteristic's members are the rows of its join table (`join_table_name`:
  `rel_<entity>__<field>`): `source_id` and `target_id`, both NOT NULL foreign keys, the pair as
  primary key, and an index (target_id, source_id) for the records naming a given one. Their own
  prefix keeps them apart from entity tables (an `ent_` table is always an entity's).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa

from metamodel.identifiers import join_table_name as _join_table_base
from metamodel.model import OWNED_SYSTEM_FIELDS, PARENT_FIELD, POSITION_FIELD, EntityDef, FieldDef, Model

from .column_types import column_type
from .job_tables import job_tables

TABLE_PREFIX = "ent_"
JOIN_TABLE_PREFIX = "rel_"
SOURCE_COLUMN = "source_id"
TARGET_COLUMN = "target_id"
MAX_IDENTIFIER = 63
LIST_INDEXED_TYPES = frozenset({"choice", "status", "link", "boolean", "integer", "decimal", "date", "datetime"})
"""Types a list filters by equality or range (text is searched by its parts: no index serves that)."""


def table_name(entity: str) -> str:
    return TABLE_PREFIX + entity


def join_table_name(entity: str, field_name: str) -> str:
    """The join table of the `links` characteristic `field_name` of `entity`: the metamodel's
    name (`FieldDef.join_table`, `booking__attendees`) with the join tables' prefix."""
    return JOIN_TABLE_PREFIX + _join_table_base(entity, field_name)


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
    join_tables: Mapping[tuple[str, str], sa.Table]
    """(entity, links characteristic) -> its join table."""

    def of(self, entity: str) -> sa.Table:
        return self.records[entity]

    def join_table(self, entity: str, field: str) -> sa.Table:
        """The join table holding the members of `links` characteristic `field` of `entity`."""
        return self.join_tables[(entity, field)]


def build_tables(model: Model) -> Tables:
    metadata = sa.MetaData()
    records = {name: _entity_table(entity, metadata) for name, entity in model.entities.items()}
    join_tables = {
        (name, f.name): build_join_table(name, f, metadata)
        for name, entity in model.entities.items() for f in entity.fields if f.type == "links"
    }
    return Tables(
        metadata, records, _audit_table(metadata), _history_table(metadata), _status_table(metadata),
        *job_tables(metadata), join_tables,
    )


def build_join_table(entity: str, field: FieldDef, metadata: sa.MetaData, name: str | None = None) -> sa.Table:
    """The join table of `links` characteristic `field` of `entity` (under `name`, default its own)."""
    name = name or join_table_name(entity, field.name)
    assert field.entity is not None
    return sa.Table(
        name,
        metadata,
        sa.Column(SOURCE_COLUMN, sa.Integer, sa.ForeignKey(f"{table_name(entity)}.id",
                                                           name=index_name(f"fk_{name}_", "source")),
                  nullable=False),
        sa.Column(TARGET_COLUMN, sa.Integer, sa.ForeignKey(f"{table_name(field.entity)}.id",
                                                           name=index_name(f"fk_{name}_", "target")),
                  nullable=False),
        sa.PrimaryKeyConstraint(SOURCE_COLUMN, TARGET_COLUMN, name=index_name("pk_", name)),
        sa.Index(index_name(f"ix_{name}_", "target"), TARGET_COLUMN, SOURCE_COLUMN),
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
    owned = entity.owned_by is not None
    for f in entity.column_fields:
        args: list = []
        if f.type == "link":
            args.append(sa.ForeignKey(f"{table_name(f.entity)}.id", name=f"fk_{name}_{f.name}"))
        if owned and f.system and f.name in OWNED_SYSTEM_FIELDS:
            columns.append(sa.Column(f.name, sa.Integer(), *args, nullable=False))
            continue
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
    if owned:
        indexes.append(sa.Index(lines_index_name(name), PARENT_FIELD, POSITION_FIELD))
    indexes.extend(list_indexes(entity, name))
    return sa.Table(name, metadata, *columns, *indexes)


def lines_index_name(table: str) -> str:
    """The index of an owned entity's table on (parent_id, position): one owner's lines in order."""
    return index_name(f"ix_{table}__", "lines")


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
    fields = {f.name: f for f in entity.column_fields}
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
