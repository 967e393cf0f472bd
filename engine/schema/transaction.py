"""One transaction around a schema change, on PostgreSQL and on SQLite alike.

PostgreSQL runs DDL in transactions: `BEGIN ... COMMIT` is all it takes.

SQLite needs two things more. The pysqlite driver only opens a transaction before
INSERT/UPDATE/DELETE, so DDL issued first would commit on its own: an explicit BEGIN makes
the whole change atomic. And a table rebuild (Alembic's batch mode: create a copy, move
the rows, drop the original, rename the copy) drops a table other tables refer to, which
foreign key enforcement forbids: SQLite's documented procedure is to switch enforcement
off outside the transaction, check every foreign key before committing
(`PRAGMA foreign_key_check`), and switch it back on.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

from engine.core.errors import EngineError


class ForeignKeyError(EngineError):
    """A schema change would leave rows pointing at records that do not exist; nothing was changed."""


@contextmanager
def schema_transaction(db: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in one transaction, committed when the block ends, rolled back on error."""
    if db.dialect.name != "sqlite":
        with db.begin() as conn:
            yield conn
        return
    with db.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        try:
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    table, rowid, parent = broken[0][0], broken[0][1], broken[0][2]
                    raise ForeignKeyError(
                        f"{len(broken)} row(s) would refer to missing records (first: {table} row {rowid} -> {parent})"
                    )
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
