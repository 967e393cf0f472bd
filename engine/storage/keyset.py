"""Keyset pagination: reading a whole list, in its sort order, one short query per chunk.

Each chunk is `... WHERE <the list's conditions> AND <after the last row read> ORDER BY
<the list's order> LIMIT n`: no connection, transaction or lock is held between chunks
(on SQLite an open read would block every writer for as long as a slow download lasts),
and no row is skipped or read twice, whatever the sort and however many rows share a
value, since the record id always ends the order.

NULLs sort where the database puts them by default (first when ascending on SQLite, last
on PostgreSQL); the ORDER BY says so explicitly, so that "after" means the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import sqlalchemy as sa

NULLS_HIGH_DIALECTS = frozenset({"postgresql", "oracle"})
"""Databases where NULL sorts as the largest value (last when ascending)."""


@dataclass(frozen=True)
class SortKey:
    column: sa.Column
    descending: bool


def sort_keys(table: sa.Table, sort: Sequence[str]) -> tuple[SortKey, ...]:
    """The keys of a list's sort (`name`, `-created_at`), ended by the id as `queries.order_by` does."""
    keys: list[SortKey] = []
    for item in sort:
        keys.append(SortKey(table.c[item.lstrip("-")], item.startswith("-")))
        if keys[-1].column.name == "id":
            return tuple(keys)  # unique: later keys never decide anything
    keys.append(SortKey(table.c.id, bool(sort) and sort[0].startswith("-")))
    return tuple(keys)


def nulls_high(dialect_name: str) -> bool:
    return dialect_name in NULLS_HIGH_DIALECTS


def order_clauses(keys: Sequence[SortKey], high: bool) -> list[sa.ColumnElement[Any]]:
    clauses = []
    for key in keys:
        clause = key.column.desc() if key.descending else key.column.asc()
        nulls_last = high != key.descending  # high and ascending, or low and descending
        clauses.append(clause.nulls_last() if nulls_last else clause.nulls_first())
    return clauses


def after(keys: Sequence[SortKey], last: Sequence[Any], high: bool) -> sa.ColumnElement[bool]:
    """Rows that come after the row whose key values are `last`, in the order of `order_clauses`."""
    alternatives = []
    ties: list[sa.ColumnElement[bool]] = []
    for key, value in zip(keys, last):
        beyond = _beyond(key, value, high)
        if beyond is not None:
            alternatives.append(sa.and_(*ties, beyond))
        ties.append(key.column.is_(None) if value is None else key.column == _bound(key, value))
    return sa.or_(*alternatives) if alternatives else sa.false()


def _beyond(key: SortKey, value: Any, high: bool) -> sa.ColumnElement[bool] | None:
    """Rows strictly after `value` on this key alone (None: no row can be)."""
    column = key.column
    nulls_last = high != key.descending
    if value is None:
        return None if nulls_last else column.is_not(None)
    bound = _bound(key, value)
    strictly = column < bound if key.descending else column > bound
    return sa.or_(strictly, column.is_(None)) if nulls_last else strictly


def _bound(key: SortKey, value: Any) -> sa.BindParameter[Any]:
    """The value as a parameter of the column's type (booleans compare too; decimals are scaled on SQLite)."""
    return sa.literal(value, key.column.type)
