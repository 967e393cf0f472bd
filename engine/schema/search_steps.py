"""The quick-search indexes (engine/storage/search_index.py) through schema evolution.

Planning (`search_steps`), for each entity table that exists: its index is created when the
entity gains its first searchable characteristic (or the database predates the index), rebuilt
when the set of searchable characteristics changes (one made searchable or not, renamed,
removed, archived, restored), dropped when none is left; each is a plan step in words. A new
table gets its index with it, as it gets its other indexes (no step).

Applying: `before_changes` takes off what a change of the table would break (SQLite: the
triggers, which a table rebuild drops and a dropped column must not be named in; the FTS table
of an entity leaving or changing its searched columns); `after_changes` builds what is missing
and fills it from the records (the FTS5 `rebuild` command; PostgreSQL's CREATE INDEX). A
PostgreSQL database that refuses `pg_trgm` keeps its search without the indexes (logged once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping

import sqlalchemy as sa

from metamodel.model import Model

from .scan import count_records
from .state import entity_tables
from .steps import Step
from engine.storage.search_index import (
    SearchIndex, create_fts, create_fts_triggers, create_trigram_indexes, drop_fts, drop_fts_triggers,
    drop_trigram_index, ensure_trigram, fts_columns, fts_triggers_present, rebuild_fts, search_index,
    trigram_fts_supported, trigram_index_prefix, trigram_installable, trigram_schema, warn_search_unindexed,
)
from engine.storage.tables import TABLE_PREFIX


@dataclass(frozen=True)
class SearchIndexChange:
    """The quick-search index of `table` is created, rebuilt or dropped (`columns` empty)."""

    entity: str
    table: str
    columns: tuple[str, ...]


def supported(conn: sa.Connection) -> bool:
    """Whether this database gets quick-search indexes at all."""
    if conn.dialect.name == "sqlite":
        return trigram_fts_supported()
    return conn.dialect.name == "postgresql"


# -- planning -------------------------------------------------------------------------------------


def search_steps(conn: sa.Connection, model: Model, existing: Collection[str],
                 indexes: Mapping[str, list[Any]]) -> list[Step]:
    """The steps bringing the quick-search indexes of the existing entity tables to `model`.
    `existing`: the database's table names; `indexes`: table -> its reflected indexes."""
    if not supported(conn):
        return []
    present = entity_tables(set(existing))
    steps: list[Step] = []
    if conn.dialect.name == "postgresql":
        wanted = any(search_index(model.entity(e)) for e in present if e in model.entities)
        if wanted and trigram_schema(conn) is None:
            if not trigram_installable(conn):
                warn_search_unindexed("the extension is neither installed nor installable by this user")
                return []
            steps.append(Step("index", "search_extension", {}))
    for entity, table in sorted(present.items()):
        if entity not in model.entities:
            continue  # archived with its table
        index = search_index(model.entity(entity))
        columns = index.columns if index else ()
        if conn.dialect.name == "sqlite":
            step = _sqlite_step(conn, entity, table, columns)
        else:
            step = _postgresql_step(conn, entity, table, columns, indexes.get(table, []))
        if step is not None:
            steps.append(step)
    return steps


def _sqlite_step(conn: sa.Connection, entity: str, table: str, columns: tuple[str, ...]) -> Step | None:
    found = fts_columns(conn, table)
    change = SearchIndexChange(entity, table, columns)
    if not columns:
        if found is None:
            return None
        return Step("index", "search_index_drop", {"entity": entity}, entity=entity, action=change)
    if found == columns and fts_triggers_present(conn, table):
        return None
    count = count_records(conn, table)
    key = "search_index_create" if found is None else "search_index_rebuild"
    return Step("index", key, {"entity": entity, "columns": ", ".join(columns), "count": count},
                entity=entity, count=count, action=change)


def _postgresql_step(conn: sa.Connection, entity: str, table: str, columns: tuple[str, ...],
                     reflected: list[Any]) -> Step | None:
    prefix = trigram_index_prefix(table)
    found = {i["name"]: (i["column_names"] or [None])[0] for i in reflected if (i["name"] or "").startswith(prefix)}
    wanted = SearchIndex(table, columns).trigram_indexes() if columns else {}
    missing = [column for column, name in wanted.items() if name not in found]
    extra = sorted(name for name in found if name not in wanted.values())
    if not missing and not extra:
        return None
    change = SearchIndexChange(entity, table, columns)
    if not missing:
        gone = ", ".join(str(found[name]) for name in extra)
        return Step("index", "search_index_drop_columns", {"entity": entity, "columns": gone}, entity=entity,
                    action=change)
    count = count_records(conn, table)
    return Step("index", "search_index_create", {"entity": entity, "columns": ", ".join(missing), "count": count},
                entity=entity, count=count, action=change)


# -- applying -------------------------------------------------------------------------------------


def before_changes(conn: sa.Connection, altered: Collection[str], leaving: Collection[str],
                   changes: Collection[SearchIndexChange]) -> None:
    """Before the tables change (SQLite): off with the triggers of the tables about to be altered,
    and with the FTS tables of the entities leaving or changing their searched columns."""
    if conn.dialect.name != "sqlite" or not trigram_fts_supported():
        return
    for table in sorted(set(leaving) | {c.table for c in changes}):
        drop_fts(conn, table)
    for table in sorted(altered):
        drop_fts_triggers(conn, table)


def after_changes(conn: sa.Connection, model: Model, touched: Collection[str],
                  rewritten: Collection[tuple[str, str]] = ()) -> None:
    """After the tables changed: every entity table of `touched` gets the index `model` wants
    (built and filled from its records if missing), and its triggers back. `rewritten`: (table, column) pairs whose values were rewritten (a retype): their
    index is filled again."""
    if not supported(conn):
        return
    wanted = {
        TABLE_PREFIX + name: search_index(entity) for name, entity in model.entities.items()
        if TABLE_PREFIX + name in touched
    }
    if conn.dialect.name == "sqlite":
        _sqlite_after(conn, wanted, set(rewritten))
    else:
        _postgresql_after(conn, wanted)


def _sqlite_after(conn: sa.Connection, wanted: Mapping[str, SearchIndex | None], rewritten: set[tuple[str, str]]) -> None:
    for table, index in sorted(wanted.items()):
        found = fts_columns(conn, table)
        if index is None:
            if found is not None:
                drop_fts(conn, table)
            continue
        if found != index.columns:
            if found is not None:
                drop_fts(conn, table)
            create_fts(conn, index, fill=_has_records(conn, table))
            continue
        drop_fts_triggers(conn, table)
        if any((table, column) in rewritten for column in index.columns):
            rebuild_fts(conn, table)
        create_fts_triggers(conn, index)


def _postgresql_after(conn: sa.Connection, wanted: Mapping[str, SearchIndex | None]) -> None:
    schema = None
    if any(wanted.values()):
        schema = ensure_trigram(conn)
    for table, index in sorted(wanted.items()):
        if not sa.inspect(conn).has_table(table):
            continue
        prefix = trigram_index_prefix(table)
        found = {i["name"] for i in sa.inspect(conn).get_indexes(table) if (i["name"] or "").startswith(prefix)}
        names = index.trigram_indexes() if index else {}
        for name in sorted(found - set(names.values())):
            drop_trigram_index(conn, name)
        missing = [column for column, name in names.items() if name not in found]
        if missing and schema is not None:
            create_trigram_indexes(conn, table, missing, schema)


def _has_records(conn: sa.Connection, table: str) -> bool:
    return conn.execute(sa.select(sa.literal_column("1")).select_from(sa.table(table)).limit(1)).first() is not None
