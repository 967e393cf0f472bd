"""The quick search's condition: which records a list's `?q=text` keeps, and how they are found.

The meaning never changes: a record matches when one of the searched characteristics contains
the text, whatever the case of its ASCII letters (`column ILIKE '%text%'`, LIKE on SQLite,
whose LIKE ignores exactly that case). `search_condition` writes it so, annotated with what
the search index needs to know; `use_search_index` then gives it the index, where it has one:

- PostgreSQL: nothing to do: the trigram indexes (engine/storage/search_index.py) serve ILIKE
  and the planner chooses them, or a filter's index, from its statistics.
- SQLite: the FTS5 trigram table finds the candidates of a text of 3 characters or more; the
  LIKE conditions stay as the exact check on them (the index finds a superset: it folds the
  case of every letter, and matches trigrams). SQLite's planner assumes any `IN (SELECT ...)`
  gives 25 rows, so it would drive a list from the index even for a text in every other
  record next to a filter matching ten. So rows are counted first, no further than
  `FEW_CANDIDATES` + 1:
  - the list's other conditions match few records: the plain LIKE conditions, checked on the
    records those conditions' indexes find (the index is not read);
  - else the index finds few candidates: their ids go in the query (`id IN (1, 5, ...)`),
    where the planner sees how many, and the index is read once for the count and the page;
  - else (a common text over a wide list) the index drives (`id IN (SELECT rowid ...)`).

Without `use_search_index` (a caller holding no connection), the condition is the plain LIKE
over every record, as before the index existed: correct, only slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sqlalchemy as sa

from metamodel.model import EntityDef

from engine.storage.search_index import (
    MIN_INDEXED_TEXT, escape_like, fts_columns, fts_table_name, search_fields, trigram_fts_supported,
)

FEW_CANDIDATES = 2000
"""Records the list's other conditions may match for them to lead (LIKE checking each), and
candidates the index may find for their ids to be written into the query."""
FALLBACK_FIELDS = 3
"""Without a searchable characteristic, the search reads the first text and email ones."""
ANNOTATION = "quick_search"
TEXT_ANNOTATION = "quick_search_text"
"""The text travels as a bound parameter, so that statements of different texts share their compiled form."""


@dataclass(frozen=True)
class SearchSpec:
    """What `use_search_index` needs to know about a search condition (the text apart)."""

    table: str
    fts_table: str
    searched: tuple[str, ...]
    """The columns the condition reads (the actor's visible ones)."""
    indexed: tuple[str, ...]
    """The columns the entity's index holds (its searchable characteristics)."""

    @property
    def index_covers(self) -> bool:
        """Whether every searched column is indexed (else the index could miss a match)."""
        return bool(self.searched) and set(self.searched) <= set(self.indexed)


def searched_columns(entity: EntityDef, hidden: frozenset[str] = frozenset()) -> list[str]:
    """The characteristics the quick search reads for an actor who cannot see `hidden`: the
    searchable ones, or else the first text and email ones."""
    return [f.name for f in entity.fields if f.searchable and f.name not in hidden] or [
        f.name for f in entity.fields if f.type in ("string", "email") and f.name not in hidden
    ][:FALLBACK_FIELDS]


def search_condition(table: sa.Table, entity: EntityDef, text: str, *,
                     hidden: frozenset[str] = frozenset()) -> sa.ColumnElement[bool]:
    """The quick search of `text` as a WHERE condition: any searched column contains it, whatever
    the case (annotated for `use_search_index`)."""
    searched = searched_columns(entity, hidden)
    pattern = f"%{escape_like(text)}%"
    exact = sa.or_(*(table.c[name].ilike(pattern, escape="\\") for name in searched))
    spec = SearchSpec(table.name, fts_table_name(table.name), tuple(searched), search_fields(entity))
    return exact._annotate({ANNOTATION: spec, TEXT_ANNOTATION: sa.literal(text, sa.Unicode)})


def use_search_index(conn: sa.Connection, table: sa.Table,
                     conditions: Sequence[sa.ColumnElement[bool]]) -> list[sa.ColumnElement[bool]]:
    """`conditions` (a list's WHERE) with its quick search given the search index, where the
    database has one and it serves the text (see the module's docstring). Reads the index once,
    and the table at most `FEW_CANDIDATES` + 1 rows. Only the first search condition is given
    the index (a list has one)."""
    conditions = list(conditions)
    if conn.dialect.name != "sqlite" or not trigram_fts_supported():
        return conditions
    for position, condition in enumerate(conditions):
        spec = condition._annotations.get(ANNOTATION)
        if spec is None:
            continue
        text = condition._annotations[TEXT_ANNOTATION].value
        if not spec.index_covers or not indexable(text) or fts_columns(conn, table.name) != spec.indexed:
            return conditions  # (an index of other columns: the database is not migrated yet)
        exact = condition._deannotate()
        others = conditions[:position] + conditions[position + 1:]
        conditions[position] = _with_candidates(conn, table, spec, text, exact, others)
        return conditions
    return conditions


def indexable(text: str) -> bool:
    """Whether the trigram index can find `text`: 3 characters or more (a shorter text holds no
    trigram), and no NUL (which ends a text for parts of SQLite)."""
    return len(text) >= MIN_INDEXED_TEXT and "\x00" not in text


def fts_query(text: str) -> str:
    """The FTS5 query of the records holding trigrams that cover `text`: those starting at every
    third character, and the last one (each quoted: a trigram is any three characters, an FTS5
    keyword or operator included). Every record containing `text` holds them; fewer trigrams
    than all of them make a query that reads fewer of the index's lists, for a few more
    candidates the LIKE conditions turn away."""
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in covering_trigrams(text))


def covering_trigrams(text: str) -> list[str]:
    starts = [*range(0, len(text) - 2, 3), len(text) - 3]
    return list(dict.fromkeys(text[i:i + 3] for i in starts))


def fts_candidates(spec: SearchSpec, text: str) -> sa.Select:
    """The ids of the records whose indexed values may contain `text` (a superset of the matches)."""
    fts = sa.table(spec.fts_table, sa.column("rowid", sa.Integer), sa.column(spec.fts_table))
    return sa.select(fts.c.rowid).where(fts.c[spec.fts_table].op("MATCH")(sa.literal(fts_query(text))))


def _with_candidates(conn: sa.Connection, table: sa.Table, spec: SearchSpec, text: str,
                     exact: sa.ColumnElement[bool], others: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    if _at_most(conn, sa.select(sa.literal_column("1")).select_from(table).where(*others), FEW_CANDIDATES):
        return exact  # the other conditions find few records: their indexes lead, LIKE checks them
    candidates = fts_candidates(spec, text)
    ids = conn.execute(candidates.limit(FEW_CANDIDATES + 1)).scalars().all()
    if len(ids) <= FEW_CANDIDATES:
        return sa.and_(table.c.id.in_(sorted(ids)), exact)
    return sa.and_(table.c.id.in_(candidates), exact)


def _at_most(conn: sa.Connection, query: sa.Select, limit: int) -> bool:
    """Whether `query` gives `limit` rows or fewer (reading no more than `limit` + 1)."""
    first = query.limit(limit + 1).subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(first)).scalar_one() <= limit
