"""The migration planner: compare the `Model` with the database and say, in plain words, what
migrating would do, before anything runs.

The database itself says which tables and columns exist; `sys_schema` (engine/schema/state.py)
says which definitions built them. From both:

- an entity or a characteristic that is new is created;
- one that is no longer declared is archived, never dropped (engine/schema/archive.py);
- a characteristic declared with `renamed_from: old` (or a list of former names) takes the old column with its values;
- a type change converts every value (engine/schema/convert.py): if one does not convert,
  the step is refused and lists the records;
- relations: join tables of `links` created, renamed, archived; a `link` made `links`
  converted; other changes of a relation's shape refused (engine/schema/relation_steps.py);
- a stricter rule (mandatory, min, max, lengths, pattern, format, a retired list value) is
  applied to new edits; records that break it are listed and kept for clean-up;
- a list value deleted while records use it is refused: it must be retired instead;
- the quick-search index follows the searchable characteristics (engine/schema/search_steps.py).

`build_plan` only reads. `engine.migrate.apply_plan` applies a plan (engine/schema/migrate.py).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Collection, Mapping

import sqlalchemy as sa

from metamodel.model import FieldDef, Model

from .compare import CharacteristicSteps
from .relation_steps import RelationSteps, describe
from .scan import count_records, count_values, duplicated_values
from .search_steps import search_steps
from .state import (
    SCHEMA_TABLE, STATE_METADATA, entity_tables, field_from_snapshot, field_snapshot, guessed_snapshot, read_snapshot,
    user_columns,
)
from .steps import (
    AddColumn, ArchiveEntity, ArchiveField, CreateIndex, CreateTable, DropIndex, Plan, RenameColumn, Step,
)
from engine.storage.search_index import trigram_index_prefix
from engine.storage.tables import JOIN_TABLE_PREFIX, TABLE_PREFIX, Tables, build_tables

OFFENDERS = 20
"""Records listed per refused or tightened step (the counts are always complete)."""
OWN_INDEX_PREFIXES = ("ix_" + TABLE_PREFIX, "ux_" + TABLE_PREFIX)
"""Indexes of entity tables the engine names itself (and so may drop when no longer declared)."""


def build_plan(
    conn: sa.Connection, model: Model, tables: Tables | None = None, *, formats: Mapping[str, Any] | None = None,
    limit: int = OFFENDERS,
) -> Plan:
    """What migrating the database behind `conn` to `model` would do. Reads only."""
    return _Planner(conn, model, tables or build_tables(model), formats or {}, limit).plan()


class Reflected:
    """What the database holds, read once per plan (one catalog query per kind on PostgreSQL)."""

    def __init__(self, conn: sa.Connection):
        self.inspector = sa.inspect(conn)
        self.names = set(self.inspector.get_table_names())

    @cached_property
    def columns(self) -> dict[str, list[Any]]:
        return _by_table(self.inspector.get_multi_columns())

    @cached_property
    def indexes(self) -> dict[str, list[Any]]:
        return _by_table(self.inspector.get_multi_indexes())

    @cached_property
    def foreign_keys(self) -> dict[str, list[Any]]:
        return _by_table(self.inspector.get_multi_foreign_keys())


def _by_table(found: Mapping[tuple[str | None, str], list[Any]]) -> dict[str, list[Any]]:
    return {table: list(items) for (_schema, table), items in found.items()}


class _Planner:
    def __init__(self, conn: sa.Connection, model: Model, tables: Tables, formats: Mapping[str, Any], limit: int):
        self.conn = conn
        self.model = model
        self.tables = tables
        self.formats = formats
        self.limit = limit
        self.dialect = conn.dialect.name
        self.db = Reflected(conn)
        self.steps: list[Step] = []
        self.characteristics = CharacteristicSteps(conn, model, formats, limit, self.steps)

    def plan(self) -> Plan:
        existing = self.db.names
        present = entity_tables(existing)
        snapshot = read_snapshot(self.conn, present=SCHEMA_TABLE in existing)
        self.snapshot = snapshot or {}
        self.legacy = snapshot is None and bool(present)
        self.relations = RelationSteps(self.conn, self.model, self.tables, self.db, self.snapshot, self.steps,
                                       self.limit)
        for table in _by_name(STATE_METADATA):
            if table.name not in existing:
                self.add(Step("create", "create_table", {"table": table.name, "columns": len(table.columns)},
                              action=CreateTable(table)))
        if self.legacy:
            self.add(Step("record", "record_definitions", {}))
        removed = sorted(name for name in present if name not in self.model.entities)
        dropped_columns: set[tuple[str, str]] = set()
        for entity, table in sorted(present.items()):
            if entity in self.model.entities:
                dropped_columns |= self.entity_steps(entity, table)
        leaving_joins = self.relations.removed_join_tables()
        for entity in removed:
            self.archive_entity(entity, present[entity], {present[e] for e in removed} | leaving_joins,
                                dropped_columns)
        for table in _by_name(self.tables.metadata):
            if table.name not in existing:
                if table.name.startswith(JOIN_TABLE_PREFIX):
                    self.relations.new_join_table(table)
                    continue
                self.add(Step("create", "create_table", {"table": table.name, "columns": len(table.columns)},
                              action=CreateTable(table)))
            elif not table.name.startswith(TABLE_PREFIX):
                self.system_columns(table)
        for table in _by_name(self.tables.metadata):
            if table.name in existing:
                self.index_steps(table)
        self.steps.extend(search_steps(self.conn, self.model, existing, self.db.indexes))
        return Plan(tuple(self.steps))

    def add(self, step: Step) -> None:
        self.steps.append(step)

    # -- entities ------------------------------------------------------------------------------

    def entity_steps(self, entity: str, table: str) -> set[tuple[str, str]]:
        """Steps for the characteristics of an entity whose table exists; returns the columns it drops."""
        definition = self.model.entity(entity)
        columns = {c["name"]: c for c in self.db.columns[table]}
        old_fields = self.old_fields(entity, table, columns)
        declared = definition.fields_by_name
        used: set[str] = set()
        displaced: set[str] = set()  # columns a renamed characteristic takes the name of: archived first
        owned_refused = self.relations.becomes_owned(entity, table, columns)
        for f in definition.fields:
            if f.is_collection:
                used |= self.relations.collection(entity, table, f, columns)
                if self.relations.replaces_column(entity, f, columns):
                    displaced.add(f.name)  # its values archived, then the column dropped
                continue
            source = _former_column(f, columns, declared)
            if source is not None:
                used.add(source)
                if f.name in columns:
                    displaced.add(f.name)
                count = count_values(self.conn, table, source)
                self.add(Step("rename", "rename", {"entity": entity, "old": source, "new": f.name, "count": count},
                              entity=entity, field=f.name, count=count,
                              action=RenameColumn(entity, table, source, f.name)))
                self.characteristics.compare(entity, table, source, old_fields[source], f, columns[source])
            elif f.name in columns:
                used.add(f.name)
                self.characteristics.compare(entity, table, f.name, old_fields[f.name], f, columns[f.name])
            elif not self.relations.column_was_collection(entity, f) and not (owned_refused and f.system):
                self.new_column(entity, table, f)
        dropped = set()
        for column in user_columns(list(columns.values())):
            name = column["name"]
            if name in used or (name in declared and name not in displaced):
                continue
            old = field_from_snapshot(name, old_fields[name])
            count = count_values(self.conn, table, name)
            params: dict[str, Any] = {"entity": entity, "field": name, "count": count}
            replaced = name in declared and declared[name].is_collection
            if replaced:  # a links or lines of the same name takes its place
                params.update(old=describe(old_fields[name]), new=describe(field_snapshot(declared[name], self.model)))
            self.add(Step("archive", "archive_replaced" if replaced else "archive_field", params,
                          entity=entity, field=name, count=count,
                          action=ArchiveField(entity, table, old, old_fields[name])))
            dropped.add((table, name))
        return dropped

    def old_fields(self, entity: str, table: str, columns: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The definition of every characteristic column, as last applied (see schema_state)."""
        known = self.snapshot.get(entity, {})
        declared = self.model.entity(entity).fields_by_name
        foreign = {
            fk["constrained_columns"][0]: fk["referred_table"][len(TABLE_PREFIX):]
            for fk in self.db.foreign_keys[table]
            if len(fk["constrained_columns"]) == 1
        }
        result = {}
        for column in user_columns(list(columns.values())):
            name = column["name"]
            if name in known:
                result[name] = known[name]
            elif name in declared:
                result[name] = field_snapshot(declared[name], self.model)
            else:
                result[name] = guessed_snapshot(column, foreign)
        return result

    def new_column(self, entity: str, table: str, f: FieldDef) -> None:
        column = self.tables.of(entity).c[f.name]
        sql_type = column.type.compile(self.conn.dialect)
        self.add(Step("create", "add_column", {"table": table, "column": f.name, "type": sql_type},
                      entity=entity, field=f.name, action=AddColumn(column)))
        if f.mandatory:
            live = self.conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(table, sa.column("deleted_at")))
                .where(sa.column("deleted_at").is_(None))
            ).scalar_one()
            if live:
                ids = self.conn.scalars(
                    sa.select(sa.column("id")).select_from(sa.table(table, sa.column("id"), sa.column("deleted_at")))
                    .where(sa.column("deleted_at").is_(None)).order_by(sa.column("id")).limit(self.limit)
                ).all()
                self.characteristics.tighten_step(entity, table, f, "mandatory", "true", live, list(ids))

    def archive_entity(self, entity: str, table: str, leaving: set[str], dropped: set[tuple[str, str]]) -> None:
        for other in sorted(self.db.names):
            if other in leaving:
                continue
            for fk in self.db.foreign_keys[other]:
                column = fk["constrained_columns"][0]
                if fk["referred_table"] == table and (other, column) not in dropped:
                    self.add(Step("refuse", "entity_referenced",
                                  {"entity": entity, "table": other, "column": column}, entity=entity))
        columns = {c["name"]: c for c in self.db.columns[table]}
        known = self.snapshot.get(entity, {})
        foreign = {fk["constrained_columns"][0]: fk["referred_table"][len(TABLE_PREFIX):]
                   for fk in self.db.foreign_keys[table]}
        fields = {
            c["name"]: known.get(c["name"]) or guessed_snapshot(c, foreign)
            for c in user_columns(list(columns.values()))
        }
        count = count_records(self.conn, table)
        self.add(Step("archive", "archive_entity",
                      {"entity": entity, "table": table, "count": count},
                      entity=entity, count=count, action=ArchiveEntity(entity, table, fields)))

    def system_columns(self, table: sa.Table) -> None:
        """Columns added to a system table by a newer engine (additive only)."""
        present = {c["name"] for c in self.db.columns[table.name]}
        for column in table.columns:
            if column.name not in present:
                sql_type = column.type.compile(self.conn.dialect)
                self.add(Step("create", "add_column", {"table": table.name, "column": column.name, "type": sql_type},
                              action=AddColumn(column)))

    # -- indexes -------------------------------------------------------------------------------

    def index_steps(self, table: sa.Table) -> None:
        existing = {i["name"] for i in self.db.indexes[table.name]}
        wanted = {index.name for index in table.indexes}
        if table.name.startswith(TABLE_PREFIX):
            for name in sorted(existing - wanted):
                if name and name.startswith(OWN_INDEX_PREFIXES) \
                        and not name.startswith(trigram_index_prefix(table.name)):
                    self.add(Step("index", "drop_index", {"index": name, "table": table.name},
                                  action=DropIndex(table.name, name)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            if index.name in existing:
                continue
            if index.unique and table.name.startswith(TABLE_PREFIX):
                self.unique_check(table, index)
            self.add(Step("index", "create_index", {"index": index.name, "table": table.name},
                          action=CreateIndex(table.name, index.name)))

    def unique_check(self, table: sa.Table, index: sa.Index) -> None:
        (column,) = index.columns
        entity = table.name[len(TABLE_PREFIX):]
        field = self.model.entity(entity).fields_by_name.get(column.name)
        if field is None:
            return
        present = {c["name"] for c in self.db.columns[table.name]}
        source = column.name if column.name in present else _former_column(field, present, {})
        if source is None:
            return  # a new column: empty
        count = duplicated_values(self.conn, table.name, source, field)
        if count:
            self.add(Step("refuse", "unique_refused", {"entity": entity, "field": field.name, "count": count},
                          entity=entity, field=field.name, count=count))


def _former_column(f: FieldDef, columns: Collection[str], declared: Collection[str]) -> str | None:
    """The column a renamed characteristic takes: its most recent former name the table still has
    (and no characteristic declares), if any."""
    return next((name for name in reversed(f.renamed_from) if name in columns and name not in declared), None)


def _by_name(metadata: sa.MetaData) -> list[sa.Table]:
    """Tables in name order (links between entities may form cycles: no dependency order exists)."""
    return sorted(metadata.tables.values(), key=lambda t: t.name)
