"""Bring a database up to the `Model`: create what is missing, never touch data.

Only additive steps here (tables, columns, indexes); renames, retypes and archiving
of removed characteristics belong to the migration planner. Column additions go
through Alembic's operations, the maintained way to alter tables on both SQLite
and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from .tables import Tables


def plan_additions(conn: sa.Connection, tables: Tables) -> list[tuple[str, object]]:
    """The steps that would bring the database up to `tables`: (description, schema item)."""
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    steps: list[tuple[str, object]] = []
    for table in sorted(tables.metadata.tables.values(), key=lambda t: t.name):
        if table.name not in existing:
            steps.append((f"create table {table.name} ({len(table.columns)} columns)", table))
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                steps.append((f"add column {table.name}.{column.name} ({column.type.compile(conn.dialect)})", column))
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                steps.append((f"create index {index.name} on {table.name}", index))
    return steps


def apply_additions(conn: sa.Connection, steps: list[tuple[str, object]]) -> None:
    operations = Operations(MigrationContext.configure(conn))
    new_tables = [item for _, item in steps if isinstance(item, sa.Table)]
    if new_tables:
        # Together, so that links between new tables (even cycles, such as a lead linking to the
        # opportunity it became, which links back to its lead) get their foreign keys in order.
        new_tables[0].metadata.create_all(conn, tables=new_tables, checkfirst=False)
    for _, item in steps:
        if isinstance(item, sa.Table):
            continue
        elif isinstance(item, sa.Column) and item.foreign_keys and conn.dialect.name == "sqlite":
            _add_link_column_sqlite(conn, item)
        elif isinstance(item, sa.Column):
            operations.add_column(item.table.name, _detached(item))
        elif isinstance(item, sa.Index):
            item.create(conn)


def _detached(column: sa.Column) -> sa.Column:
    """A copy of `column` not bound to its table, as Alembic's add_column wants it."""
    foreign_keys = [sa.ForeignKey(fk.target_fullname, name=fk.name) for fk in column.foreign_keys]
    return sa.Column(column.name, column.type, *foreign_keys, nullable=column.nullable)


def _add_link_column_sqlite(conn: sa.Connection, column: sa.Column) -> None:
    """SQLite adds a column with its REFERENCES clause in place; Alembic would insist on
    rebuilding the whole table (batch mode) only to add the foreign key."""
    quote = conn.dialect.identifier_preparer.quote
    (fk,) = column.foreign_keys
    definition = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
    target = fk.column
    conn.execute(sa.text(
        f"ALTER TABLE {quote(column.table.name)} ADD COLUMN {definition} "
        f"REFERENCES {quote(target.table.name)} ({quote(target.name)})"
    ))
