"""Planner statistics kept current after bulk writes (import, mass update, migration).

The list queries choose their plan from the total they count (engine/records/query_plan.py),
but the database still picks which index finds the matches from its statistics: on SQLite
from `sqlite_stat1`, which only `ANALYZE` writes (a table imported into an empty database has
none, and every index then looks alike); on PostgreSQL from `pg_statistic`, which autovacuum
refreshes some time after a large change. A bulk write refreshes them once, at its end, when
it changed a sizeable part of the table (`worth_refreshing`), and cheaply: on SQLite with a
bounded `analysis_limit` (a sample of each index, milliseconds on a million rows); on
PostgreSQL `ANALYZE` reads a fixed-size sample whatever the table's size.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

log = logging.getLogger(__name__)

SQLITE_ANALYSIS_LIMIT = 2000
"""Index entries SQLite samples per index (its documented advice is a few hundred to a few thousand)."""
SIZEABLE = 0.1
"""Share of the table a write must change for the statistics to be refreshed."""


def worth_refreshing(changed: int, rows: int) -> bool:
    """Whether `changed` rows out of about `rows` move the statistics enough to refresh them."""
    return changed > 0 and changed >= SIZEABLE * rows


def refresh_statistics(conn: sa.Connection, table: sa.Table, changed: int | None = None) -> bool:
    """Refresh the planner statistics of `table` (all of them when `changed` is None, else only
    if `changed` rows are a sizeable part of it). Returns whether it did. Runs in the caller's
    transaction: the statistics are written with the data, or not at all."""
    if changed is not None:
        rows = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one() \
            if "id" in table.c else changed
        if not worth_refreshing(changed, rows):
            return False
    name = conn.dialect.identifier_preparer.quote(table.name)
    if conn.dialect.name == "sqlite":
        previous = conn.exec_driver_sql("PRAGMA analysis_limit").scalar_one()
        conn.exec_driver_sql(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        try:
            conn.exec_driver_sql(f"ANALYZE {name}")
        finally:
            conn.exec_driver_sql(f"PRAGMA analysis_limit = {int(previous)}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {name}")
    else:
        return False
    log.debug("planner statistics refreshed for %s", table.name)
    return True
