"""Apply a migration plan (engine/schema/plan.py) in one transaction.

Order matters and is fixed:

1. the planner's own tables (sys_schema, the archive, sys_cleanup);
2. indexes that go, or that sit on a column about to change;
3. per entity table: archive the values of removed characteristics, fill the new column of
   each retyped one (values converted in chunks), fill the join table of each link made links,
   then one Alembic batch drops, renames and widens columns (plain ALTERs on PostgreSQL, a
   table rebuild on SQLite);
4. renamed links move their rows to their new join table; removed links archive their members
   and drop their join table; removed entities move to archive tables;
5. new tables, then new columns (a new column may link to a new table);
6. every missing index, then the quick-search indexes of every table touched (their SQLite
   triggers are taken off in step 2 and put back here: a table rebuild drops them);
7. records breaking a tightened rule are listed in `sys_cleanup`;
8. `sys_schema` records the definitions the database now has.

On PostgreSQL the whole plan is one transaction; on SQLite too (see schema_transaction).
A value that no longer converts when the plan is applied (it changed since the plan was
made) aborts everything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from metamodel.model import Model

from .archive import archive_entity, archive_members, archive_values
from engine.storage.column_types import column_type
from engine.records.field_rules import FieldRules
from engine.records.statistics import refresh_statistics
from .cleanup import clear_breakers, record_breakers, record_count_breakers, record_rule_breakers
from .fit import fitting_type
from .plan import OWN_INDEX_PREFIXES, Reflected, build_plan
from .relation_steps import ArchiveJoinTable, LinkToLinks, RenameJoinTable, TightenCount
from .scan import ConversionReport, convert_chunk, live_ids, record_table, value_chunks
from .search_steps import SearchIndexChange, after_changes, before_changes
from .state import CLEANUP, STATE_METADATA, SnapshotLists, write_snapshot
from .steps import (
    AddColumn, ArchiveEntity, ArchiveField, CreateIndex, CreateTable, DropIndex, MigrationRefused, Plan, RenameColumn,
    Retype, Step, Tighten, Widen,
)
from .transaction import schema_transaction
from engine.storage.tables import SOURCE_COLUMN, TARGET_COLUMN, Tables

KEPT_ON_RETYPE = ("mandatory", "retired", "status")
"""Clean-up rules a retype does not judge again (the conversion re-lists the value rules)."""
RETYPE_PREFIX = "_new_"
"""The temporary column of a retype (characteristic names cannot start with `_`)."""


def plan_migration(db: sa.Engine, model: Model, tables: Tables, *, formats: Mapping[str, Any] | None = None) -> Plan:
    """What `apply_migration` would do now; reads only."""
    with db.connect() as conn:
        return build_plan(conn, model, tables, formats=formats)


def apply_migration(
    db: sa.Engine, model: Model, tables: Tables, *, formats: Mapping[str, Any] | None = None,
    clock: Callable[[], dt.datetime],
) -> Plan:
    """Plan and apply in one transaction; MigrationRefused (nothing changed) when a step is refused."""
    with schema_transaction(db) as conn:
        plan = build_plan(conn, model, tables, formats=formats)
        if plan.blocked:
            raise MigrationRefused(plan)
        if plan.steps:
            apply_plan(conn, plan, model, tables, formats or {}, clock())
    return plan


def apply_plan(conn: sa.Connection, plan: Plan, model: Model, tables: Tables, formats: Mapping[str, Any],
               now: dt.datetime) -> None:
    by_type: dict[type, list[Any]] = defaultdict(list)
    for step in plan.steps:
        if step.action is not None:
            by_type[type(step.action)].append(step.action)
    operations = Operations(MigrationContext.configure(conn))
    state = [a.table for a in by_type[CreateTable] if a.table.metadata is STATE_METADATA]
    if state:
        STATE_METADATA.create_all(conn, tables=state, checkfirst=False)
    changed_tables = sorted({a.table for kind in (ArchiveField, Retype, RenameColumn, Widen, LinkToLinks)
                             for a in by_type[kind]})
    before_changes(conn, changed_tables, [a.table for a in by_type[ArchiveEntity]], by_type[SearchIndexChange])
    _drop_indexes(conn, operations, by_type)
    for table in changed_tables:
        _alter_table(conn, operations, table, by_type, model, formats, now)
    for action in by_type[RenameJoinTable]:
        _rename_join_table(conn, action)
    for action in by_type[ArchiveJoinTable]:
        archive_members(conn, action.entity, action.field, action.table, action.data, now)
        _drop_table(conn, action.table)
    for action in by_type[ArchiveEntity]:
        archive_entity(conn, action.entity, action.table, action.fields, now)
        _drop_table(conn, action.table)
    new_tables = [a.table for a in by_type[CreateTable] if a.table.metadata is not STATE_METADATA]
    if new_tables:
        # together, so that links between new tables (even cycles) get their foreign keys in order
        tables.metadata.create_all(conn, tables=new_tables, checkfirst=False)
    for action in by_type[AddColumn]:
        _add_column(conn, operations, action.column)
    _create_missing_indexes(conn, tables, _touched_tables(by_type))
    searched = set(changed_tables) | {a.table for a in by_type[SearchIndexChange]} | {t.name for t in new_tables}
    after_changes(conn, model, searched, {(a.table, a.new.name) for a in by_type[Retype] if a.rewrite})
    for action in by_type[Tighten]:
        record_breakers(conn, action.entity, action.table, action.field, action.rule, action.codes,
                        FieldRules(action.field, model, formats), now)
    for action in by_type[TightenCount]:
        record_count_breakers(conn, tables, action.entity, action.field, action.rule, now)
    write_snapshot(conn, model, now)


# -- tables and columns ---------------------------------------------------------------------------


def _alter_table(conn: sa.Connection, operations: Operations, table: str, by_type: Mapping[type, list[Any]],
                 model: Model, formats: Mapping[str, Any], now: dt.datetime) -> None:
    archived = [a for a in by_type[ArchiveField] if a.table == table]
    retyped = [a for a in by_type[Retype] if a.table == table]
    renamed = [a for a in by_type[RenameColumn] if a.table == table]
    widened = [a for a in by_type[Widen] if a.table == table]
    made_links = [a for a in by_type[LinkToLinks] if a.table == table]
    for action in archived:
        archive_values(conn, action.entity, table, action.old, action.data, now)
    for action in retyped:
        _convert_column(conn, operations, action, model, formats, now)
    for action in made_links:
        _fill_join_table(conn, action)
    rewritten = {a.new.name for a in retyped if a.rewrite}
    drops = [a.old.name for a in archived] + [a.source for a in retyped if a.rewrite] + [a.column for a in made_links]
    moves = [(a.old, a.new) for a in renamed if a.new not in rewritten]
    moves += [(RETYPE_PREFIX + a.new.name, a.new.name) for a in retyped if a.rewrite]
    if drops or moves or widened:
        with operations.batch_alter_table(table) as batch:
            for name in drops:
                batch.drop_column(name)
            for old, new in moves:
                batch.alter_column(old, new_column_name=new)
            for action in widened:
                batch.alter_column(action.field.name, type_=column_type(action.field))
    for action in renamed:
        _follow_rename(conn, action)


def _convert_column(conn: sa.Connection, operations: Operations, action: Retype, model: Model,
                    formats: Mapping[str, Any], now: dt.datetime) -> None:
    """Fill the retyped characteristic's new column with every value converted, chunk by chunk;
    converted values that break one of the new rules are listed for clean-up."""
    old_rules = FieldRules(action.old, SnapshotLists(action.old_data), formats)  # type: ignore[arg-type]
    new_rules = FieldRules(action.new, model, formats)
    target = RETYPE_PREFIX + action.new.name
    if action.rewrite:
        operations.add_column(action.table, sa.Column(target, fitting_type(action.new, action.extent)))
    t = record_table(action.table, target, action.new)
    clear_breakers(conn, action.entity, action.new.name, keep=KEPT_ON_RETYPE)
    for rows in value_chunks(conn, action.table, action.source, action.old):
        live = live_ids(conn, action.table, [record_id for record_id, _ in rows])
        report = ConversionReport(limit=len(rows))
        converted = convert_chunk(rows, old_rules, new_rules, report, live)
        if report.failures:
            raise MigrationRefused(Plan((Step(
                "refuse", "retype_refused",
                {"entity": action.entity, "field": action.new.name, "old": action.old.type, "new": action.new.type,
                 "count": report.failures},
                entity=action.entity, field=action.new.name, count=report.failures, offenders=tuple(report.offenders),
            ),)))
        if action.rewrite and converted:
            conn.execute(
                sa.update(t).where(t.c.id == sa.bindparam("b_id")).values({target: sa.bindparam("b_value")}),
                [{"b_id": record_id, "b_value": value} for record_id, value in converted],
            )
        for rule, breakers in report.breakers.items():
            record_rule_breakers(conn, action.entity, action.new.name, rule, breakers.ids, now)


def _follow_rename(conn: sa.Connection, action: RenameColumn) -> None:
    """The history and the clean-up list of a renamed characteristic follow it."""
    history = sa.table("sys_history", sa.column("entity"), sa.column("field"))
    if sa.inspect(conn).has_table("sys_history"):
        conn.execute(history.update().where(history.c.entity == action.entity, history.c.field == action.old)
                     .values(field=action.new))
    conn.execute(CLEANUP.update().where(CLEANUP.c.entity == action.entity, CLEANUP.c.field == action.old)
                 .values(field=action.new))


def _fill_join_table(conn: sa.Connection, action: LinkToLinks) -> None:
    """A link made links: its join table, holding each record's value as its one member (set-based).
    Its clean-up entries go: the rules of a links are counts of members (a mandatory one lists the
    records without members again, TightenCount)."""
    action.join.create(conn)
    t = sa.table(action.table, sa.column("id", sa.Integer), sa.column(action.column, sa.Integer))
    conn.execute(action.join.insert().from_select(
        [SOURCE_COLUMN, TARGET_COLUMN], sa.select(t.c.id, t.c[action.column]).where(t.c[action.column].is_not(None)),
    ))
    clear_breakers(conn, action.entity, action.column)


def _rename_join_table(conn: sa.Connection, action: RenameJoinTable) -> None:
    """A renamed links: its rows copied into its own join table (created under the new name, with
    its keys and index named after it), then the former table dropped; its history and clean-up
    entries follow it."""
    action.join.create(conn)
    old = sa.table(action.old_table, sa.column(SOURCE_COLUMN), sa.column(TARGET_COLUMN))
    conn.execute(action.join.insert().from_select([SOURCE_COLUMN, TARGET_COLUMN], sa.select(*old.c)))
    _drop_table(conn, action.old_table)
    _follow_rename(conn, RenameColumn(action.entity, action.old_table, action.old_field, action.new_field))


def _drop_table(conn: sa.Connection, table: str) -> None:
    if conn.dialect.name == "postgresql":
        # CASCADE only drops foreign keys of tables archived with it: the planner refuses the others
        conn.execute(sa.text(f'DROP TABLE "{table}" CASCADE'))
    else:
        sa.Table(table, sa.MetaData()).drop(conn)


def _add_column(conn: sa.Connection, operations: Operations, column: sa.Column) -> None:
    foreign_keys = [sa.ForeignKey(fk.target_fullname, name=fk.name) for fk in column.foreign_keys]
    copy = sa.Column(column.name, column.type, *foreign_keys, nullable=column.nullable)
    if conn.dialect.name == "sqlite" and not column.nullable:
        # a NOT NULL column (`parent_id`, `position` of an empty entity made owned): SQLite adds one
        # only with a default, so the table is rebuilt with it
        with operations.batch_alter_table(column.table.name, recreate="always") as batch:
            batch.add_column(copy)
        return
    if column.foreign_keys and conn.dialect.name == "sqlite":
        _add_link_column_sqlite(conn, column)
        return
    operations.add_column(column.table.name, copy)


def _add_link_column_sqlite(conn: sa.Connection, column: sa.Column) -> None:
    """SQLite adds a column with its REFERENCES clause in place; Alembic would rebuild the whole
    table (batch mode) only to add the foreign key."""
    quote = conn.dialect.identifier_preparer.quote
    (fk,) = column.foreign_keys
    definition = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
    target = fk.column
    conn.execute(sa.text(
        f"ALTER TABLE {quote(column.table.name)} ADD COLUMN {definition} "
        f"REFERENCES {quote(target.table.name)} ({quote(target.name)})"
    ))


# -- indexes ------------------------------------------------------------------------------------


def _drop_indexes(conn: sa.Connection, operations: Operations, by_type: Mapping[type, list[Any]]) -> None:
    """Indexes no longer declared, and the engine's indexes on columns about to be dropped, renamed
    or rewritten (they are created again, under their new names, at the end)."""
    doomed = {(a.table, a.name) for a in by_type[DropIndex]}
    touched: dict[str, set[str]] = defaultdict(set)
    for a in by_type[ArchiveField]:
        touched[a.table].add(a.old.name)
    for a in by_type[RenameColumn]:
        touched[a.table].add(a.old)
    for a in by_type[Retype]:
        if a.rewrite:
            touched[a.table].add(a.source)
    for a in by_type[LinkToLinks]:
        touched[a.table].add(a.column)
    indexes = Reflected(conn).indexes if touched else {}
    for table, columns in touched.items():
        for index in indexes[table]:
            name = index["name"]
            if name and name.startswith(OWN_INDEX_PREFIXES) and columns & set(index["column_names"]):
                doomed.add((table, name))
    for table, name in sorted(doomed):
        operations.drop_index(name, table_name=table)


def _touched_tables(by_type: Mapping[type, list[Any]]) -> set[str]:
    """Tables whose indexes the plan may have left missing (new tables come with theirs)."""
    names = {a.table for kind in (ArchiveField, Retype, RenameColumn, Widen, DropIndex, CreateIndex, LinkToLinks)
             for a in by_type[kind]}
    return names | {a.column.table.name for a in by_type[AddColumn]}


def _create_missing_indexes(conn: sa.Connection, tables: Tables, touched: set[str]) -> None:
    inspector = sa.inspect(conn)
    for name in sorted(touched & set(tables.metadata.tables)):
        table = tables.metadata.tables[name]
        existing = {index["name"] for index in inspector.get_indexes(name)}
        missing = [index for index in table.indexes if index.name not in existing]
        for index in missing:
            index.create(conn)
        if missing:
            # statistics for the new indexes, or the planner guesses about them (engine/records/statistics.py)
            refresh_statistics(conn, table)
