"""The quick search's index: what finds the records whose searchable characteristics contain a
text without reading every record.

The quick search (`?q=text`) keeps one meaning: a record matches when one of its searchable
characteristics contains the text, whatever the case (`ILIKE '%text%'`). Over a million
records that condition alone reads every one; an index of the three-character sequences
(trigrams) of the searchable values finds the few that can match:

- SQLite: an FTS5 table with the `trigram` tokenizer (SQLite 3.34 and later), external-content
  (it reads the values from the entity table and stores only its index), kept current by
  three triggers on the entity table: insert; update of a searchable column; delete (a purge).
  The list asks it for the candidates of a text of 3 characters or more and checks them with
  the LIKE conditions (engine/records/search.py).
- PostgreSQL: a GIN index per searchable column with `pg_trgm`'s `gin_trgm_ops`, which serves
  `ILIKE '%text%'` itself. Without the extension (not installed and not installable), the
  search still works, by reading every record; migrating says so once in the log.

Every name derives from the entity table's; engine/schema/search_steps.py creates, rebuilds
and drops these when the searchable characteristics change.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from functools import cache
from typing import Callable, Sequence

import sqlalchemy as sa

from metamodel.model import EntityDef

from .tables import index_name, table_name

log = logging.getLogger(__name__)

FTS_PREFIX = "fts_"
"""The FTS5 table of entity table `ent_x` is `fts_ent_x` (its shadow tables `fts_ent_x_data`, ...)."""
TRIGGER_PREFIX = "trg_"
TRIGRAM_INDEX_INFIX = "__search_"
"""PostgreSQL: the trigram index of `ent_x.name` is `ix_ent_x__search_name`."""
TRIGRAM_EXTENSION = "pg_trgm"
MIN_INDEXED_TEXT = 3
"""A trigram index finds texts of 3 characters or more; shorter ones are searched by reading."""
FTS_OPTIONS = "tokenize='trigram', detail=none, columnsize=0"
"""`detail=none`: the index says which records hold a trigram, not where (a fifth of the size
with positions: on a million leads, 60 MB rather than 290); the query asks for every trigram
of the text and the LIKE conditions check the candidates. `columnsize=0` leaves out the
per-record token counts that only ranking reads."""


@dataclass(frozen=True)
class SearchIndex:
    """The quick-search index of one entity table: its searchable columns and the names of its parts."""

    table: str
    columns: tuple[str, ...]
    """The searchable characteristics, in declaration order."""

    @property
    def fts_table(self) -> str:
        return fts_table_name(self.table)

    @property
    def triggers(self) -> dict[str, str]:
        """Event (`insert`, `update`, `delete`) -> trigger name (SQLite)."""
        return trigger_names(self.table)

    def trigram_indexes(self) -> dict[str, str]:
        """Column -> the name of its trigram index (PostgreSQL)."""
        return {column: trigram_index_name(self.table, column) for column in self.columns}


def search_fields(entity: EntityDef) -> tuple[str, ...]:
    """The characteristics of `entity` declared `searchable: true` (what its index holds)."""
    return tuple(f.name for f in entity.fields if f.searchable)


def search_index(entity: EntityDef) -> SearchIndex | None:
    """The index of `entity`'s quick search, None when no characteristic is searchable."""
    columns = search_fields(entity)
    return SearchIndex(table_name(entity.name), columns) if columns else None


def escape_like(text: str) -> str:
    """`text` as a LIKE pattern matching itself (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_table_name(table: str) -> str:
    return index_name(FTS_PREFIX, table)


def trigger_names(table: str) -> dict[str, str]:
    return {event: index_name(TRIGGER_PREFIX, f"{table}__search_{event}") for event in ("insert", "update", "delete")}


def trigram_index_prefix(table: str) -> str:
    return f"ix_{table}{TRIGRAM_INDEX_INFIX}"


def trigram_index_name(table: str, column: str) -> str:
    return index_name(trigram_index_prefix(table), column)


# -- SQLite: FTS5 with the trigram tokenizer -----------------------------------------------------


@cache
def trigram_fts_supported() -> bool:
    """Whether this process's SQLite library has FTS5 and its trigram tokenizer (3.34 and later).
    Asked once, of an in-memory database: the answer is the library's, not a database's."""
    if sqlite3.sqlite_version_info < (3, 34, 0):
        return False
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(value, tokenize='trigram')")
    except sqlite3.Error:
        return False
    finally:
        probe.close()
    return True


def fts_columns(conn: sa.Connection, table: str) -> tuple[str, ...] | None:
    """The columns of `table`'s FTS table as it exists, None when there is none (one query: the
    list's search asks before it uses the table)."""
    columns = conn.exec_driver_sql("SELECT name FROM pragma_table_info(?)", (fts_table_name(table),)).scalars().all()
    return tuple(columns) or None


def fts_triggers_present(conn: sa.Connection, table: str) -> bool:
    found = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
    ).scalars().all()
    return set(trigger_names(table).values()) <= set(found)


def create_fts(conn: sa.Connection, index: SearchIndex, *, fill: bool) -> None:
    """Create the FTS table of `index` and its triggers; `fill`: index the records already there
    (the FTS5 `rebuild` command: the entity table read once)."""
    quote = _quoter(conn)
    columns = ", ".join(quote(c) for c in index.columns)
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE {quote(index.fts_table)} USING fts5({columns}, content={_literal(index.table)}, "
        f"content_rowid='id', {FTS_OPTIONS})"
    )
    if fill:
        rebuild_fts(conn, index.table)
    create_fts_triggers(conn, index)


def create_fts_triggers(conn: sa.Connection, index: SearchIndex) -> None:
    """The triggers keeping the FTS table of `index` current. An update trigger fires only when
    a searchable value changes (`UPDATE OF` names the columns set, changed or not)."""
    quote = _quoter(conn)
    fts, table = quote(index.fts_table), quote(index.table)
    columns = ", ".join(quote(c) for c in index.columns)
    new = ", ".join(f"new.{quote(c)}" for c in index.columns)
    old = ", ".join(f"old.{quote(c)}" for c in index.columns)
    remove = f"INSERT INTO {fts}({fts}, rowid, {columns}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts}(rowid, {columns}) VALUES (new.id, {new});"
    changed = " OR ".join(f"old.{quote(c)} IS NOT new.{quote(c)}" for c in index.columns)
    names = {event: quote(name) for event, name in index.triggers.items()}
    conn.exec_driver_sql(f"CREATE TRIGGER {names['insert']} AFTER INSERT ON {table} BEGIN {add} END")
    conn.exec_driver_sql(
        f"CREATE TRIGGER {names['update']} AFTER UPDATE OF {columns} ON {table} WHEN {changed} "
        f"BEGIN {remove} {add} END"
    )
    conn.exec_driver_sql(f"CREATE TRIGGER {names['delete']} AFTER DELETE ON {table} BEGIN {remove} END")


def rebuild_fts(conn: sa.Connection, table: str) -> None:
    """Index every record of `table` again, from its values."""
    fts = _quote(conn, fts_table_name(table))
    conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def drop_fts_triggers(conn: sa.Connection, table: str) -> None:
    for name in trigger_names(table).values():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_quote(conn, name)}")


def drop_fts(conn: sa.Connection, table: str) -> None:
    """Drop the FTS table of `table` and its triggers (if any)."""
    drop_fts_triggers(conn, table)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_quote(conn, fts_table_name(table))}")


# -- PostgreSQL: pg_trgm GIN indexes -------------------------------------------------------------


def trigram_schema(conn: sa.Connection) -> str | None:
    """The schema `pg_trgm` is installed in, None when it is not installed."""
    return conn.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = :name"
    ), {"name": TRIGRAM_EXTENSION}).scalar_one_or_none()


def trigram_installable(conn: sa.Connection) -> bool:
    """Whether `CREATE EXTENSION pg_trgm` should succeed: the server has it, and the user may
    install it (a superuser; or, the extension being marked trusted since PostgreSQL 13, a
    user who may create in the database)."""
    superuser = bool(conn.execute(sa.text(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )).scalar_one_or_none())
    trusted = "v.trusted" if (conn.dialect.server_version_info or (0,)) >= (13,) else "false"
    return bool(conn.execute(sa.text(
        f"SELECT EXISTS (SELECT 1 FROM pg_available_extension_versions v WHERE v.name = :name "
        f"AND ({trusted} OR :superuser)) AND has_database_privilege(current_database(), 'CREATE')"
    ), {"name": TRIGRAM_EXTENSION, "superuser": superuser}).scalar_one())


_unindexed_logged = False


def warn_search_unindexed(reason: str) -> None:
    """Say once per process that PostgreSQL's quick search goes without its trigram indexes."""
    global _unindexed_logged
    if _unindexed_logged:
        return
    _unindexed_logged = True
    log.warning(
        "no trigram index for the quick search (%s): searching reads every record; install the PostgreSQL "
        "extension %s (as a superuser: CREATE EXTENSION %s) and run `ossature migrate` again to index it",
        reason, TRIGRAM_EXTENSION, TRIGRAM_EXTENSION,
    )


def ensure_trigram(conn: sa.Connection) -> str | None:
    """The schema of `pg_trgm`, installing it if needed; None when the database refuses (no
    privilege, no contrib package): said once per process in the log, the transaction kept
    (the attempt runs in a savepoint)."""
    schema = trigram_schema(conn)
    if schema is not None:
        return schema
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM_EXTENSION}")
    except sa.exc.DBAPIError as error:
        first_line = (str(getattr(error, "orig", error)).strip().splitlines() or [""])[0]
        warn_search_unindexed(f"PostgreSQL refused CREATE EXTENSION: {first_line}")
        return None
    return trigram_schema(conn)


def create_trigram_indexes(conn: sa.Connection, table: str, columns: Sequence[str], schema: str) -> None:
    """A GIN trigram index per column (the operator class named with its schema: the extension
    may live outside the search path)."""
    quote = _quoter(conn)
    opclass = f"{quote(schema)}.gin_trgm_ops"
    for column in columns:
        conn.exec_driver_sql(
            f"CREATE INDEX {quote(trigram_index_name(table, column))} ON {quote(table)} "
            f"USING gin ({quote(column)} {opclass})"
        )


def drop_trigram_index(conn: sa.Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_quote(conn, name)}")


# -- quoting -------------------------------------------------------------------------------------


def _quoter(conn: sa.Connection) -> Callable[[str], str]:
    """The dialect's identifier quoting (identifiers come from validated definitions; quoted all the same)."""
    return conn.dialect.identifier_preparer.quote_identifier


def _quote(conn: sa.Connection, name: str) -> str:
    return _quoter(conn)(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
