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


def key_items(sort: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """(column name, descending) of each key of a sort (`name`, `-created_at`), ended by the id
    as `queries.order_by` does (in the first key's direction)."""
    items: list[tuple[str, bool]] = []
    for item in sort:
        items.append((item.lstrip("-"), item.startswith("-")))
        if items[-1][0] == "id":
            return tuple(items)  # unique: later keys never decide anything
    items.append(("id", bool(sort) and sort[0].startswith("-")))
    return tuple(items)


def sort_keys(table: sa.Table, sort: Sequence[str]) -> tuple[SortKey, ...]:
    """The keys of a list's sort, as columns of `table` (see `key_items`)."""
    return tuple(SortKey(table.c[name], descending) for name, descending in key_items(sort))


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
    if not alternatives:
        return sa.false()
    start = _start(keys[0], last[0], high) if keys else None
    # The range on the first key repeats what the alternatives say, so that an index on it
    # is entered at the last row read rather than walked from its start.
    return sa.and_(start, sa.or_(*alternatives)) if start is not None else sa.or_(*alternatives)


def _start(key: SortKey, value: Any, high: bool) -> sa.ColumnElement[bool] | None:
    """`column >= value` (`<=` descending) when every row after `value` satisfies it: the value
    is not NULL and no NULL of the column sorts after it."""
    if value is None or (high != key.descending and key.column.nullable):
        return None
    bound = _bound(key, value)
    return key.column <= bound if key.descending else key.column >= bound


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
