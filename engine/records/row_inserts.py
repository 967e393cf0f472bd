"""Inserting rows and getting their new ids back, in order, without a statement per row: what
the writes of records (engine/records/transaction.py) and of lines (engine/records/collections)
share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


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
