"""How a list page is read: the total first, then the page by the plan that total makes cheap.

A page of the records matching the conditions F, in the order S, can be read two ways:

- walk S's index in order, checking F row by row, until the page is full: about
  (offset + size) x rows in the table / total rows are read: few when F matches many records,
  the whole table when it matches none;
- read the records matching F (through F's index) and sort them: about `total` rows are read:
  few when F matches few.

A planner given a bound LIMIT/OFFSET and statistics that average over every value cannot tell
a common value from a rare one: on one million leads SQLite walked the creation-date index for
a value matching nothing (2 s) as for a common one (1 ms). The total is read first anyway (the
page shows it), so the plan is chosen on it (`choose_walk`) and, on SQLite, imposed: the walk
by writing the conditions' columns as `+column` (a no-op no index can serve, so only the
ORDER BY can use one), sorting the matches by writing the ORDER BY's columns so. PostgreSQL
plans each statement with the parameters' values and its column statistics (most common
values, histograms), which already tell a rare value from a common one: its statements are
left as they are (the plans are checked with EXPLAIN in tests/engine/test_query_plans.py).

Deep pages: `OFFSET n` reads and drops n rows whatever the plan; the `after=` cursor
(`ListRequest.after`, `ListResult.next_after`) starts the page at the last row read, through
the sort's index when it has one (`engine.storage.keyset.after`).

Totals (`ListRequest.total`): counting every match is most of a page's cost when many match,
so a request may ask for `exact` (every match), `capped` (at most `total_cap` + 1) or `none`.
The matches are counted once, in one statement (`count_matches`); where the plan is imposed,
a count that only chooses it stops at `walk_threshold`, past which the choice no longer
changes, and the page after a cursor takes the plan the cursor carries (the one of the page
before) rather than counting again. Without every match counted, the page reads one row more
than it shows, to say whether another follows.

Paths through links (`room.site.name`) are columns of the `PathJoins` a list is given: the
count joins what its conditions read, the page what it reads, filters and sorts by, the
groups what they count by. No index of the table serves a path's sort: its matches are sorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.expression import BinaryExpression, UnaryExpression

from metamodel.field_paths import is_path

from engine.storage.keyset import SortKey, after, key_items, nulls_high
from .paths import PathJoins
from .queries import Group, ListRequest, ListResult, next_cursor
from .search import use_search_index

WALK_FACTOR = 8
"""How many rows checked in an index walk cost as much as one matching row read and sorted
(on SQLite the matches are often found through an index less selective than all the
conditions together: reading them costs more than `total` rows)."""

PLANNED_DIALECTS = frozenset({"sqlite"})
"""Databases whose plan is imposed from the total (see the module's docstring)."""


@dataclass(frozen=True)
class PagePlan:
    walk: bool
    """Walk the sort's index (True), or read the matches and sort them (False)."""
    reason: str
    """Why, in a few words (for tests and a reader of the logs)."""


def choose_walk(total: int, window: int, population: int, *, sort_indexed: bool) -> PagePlan:
    """Whether walking the sort's index reads fewer rows than sorting the `total` matches.

    `window`: rows the page needs in order (offset + size, or size after a cursor);
    `population`: rows in the table (an upper bound is enough).
    """
    if not sort_indexed:
        return PagePlan(False, "the sort has no index: the matches are sorted")
    if total <= 0:
        return PagePlan(False, "nothing matches: a walk would read the whole table")
    walked = min(population, window * population / total)
    if walked <= WALK_FACTOR * total:
        return PagePlan(True, f"about {walked:.0f} rows walked for {total} matching")
    return PagePlan(False, f"{total} matching, fewer than the {walked:.0f} rows a walk would read")


def sort_is_indexed(table: sa.Table, key: SortKey) -> bool:
    """Whether an index of `table` gives the rows in the order of `key` (the id: the primary key)."""
    column = key.column
    if getattr(column, "table", None) is not table:
        return False  # a path's column, of a joined table
    if column.primary_key:
        return True
    for index in table.indexes:
        first = next(iter(index.columns), None)
        if first is not None and first.name == column.name and not _partial(index):
            return True
    return False


def walk_threshold(window: int, population: int) -> int:
    """The fewest matches for which `choose_walk` walks the sort's index (with an indexed sort): a
    count that only chooses the plan may stop there."""
    def walks(total: int) -> bool:
        return min(population, window * population / total) <= WALK_FACTOR * total

    guess = max(1, min(math.ceil(population / WALK_FACTOR), math.ceil(math.sqrt(window * population / WALK_FACTOR))))
    while guess > 1 and walks(guess - 1):
        guess -= 1
    while not walks(guess):
        guess += 1
    return guess


@dataclass(frozen=True)
class Counted:
    """What the count of a list found: `matching` rows, every match (`exact`) or the first `matching`."""

    matching: int
    exact: bool
    population: int | None
    """About how many rows the table holds, where the plan is imposed (None elsewhere, or not needed)."""


def read_list(
    conn: sa.Connection, table: sa.Table, request: ListRequest, conditions: Sequence[sa.ColumnElement[bool]], *,
    fields: Iterable[str] | None = None, hidden: frozenset[str] = frozenset(), walk: bool | None = None,
    joins: PathJoins | None = None, count_after: bool = False,
) -> ListResult:
    """One page of a list: the total, the page's rows (plain dicts), the counts per group.

    `conditions`: the WHERE of the list (`queries.build_conditions` and the actor's scope);
    `fields`: only these characteristics (and `id`, `version`) in the rows; `hidden`: left out;
    `walk`: impose a plan rather than choose it from the total (tests compare the two);
    `joins`: the paths the conditions read, and those `fields` and the sort name (a row holds
    a path's value under its text). The matches are counted once, as `request.total` asks
    (see `count_matches`). `count_after`: a first page is read before its count, in the
    database's own plan, and counted only when it is full: a related panel's few records are
    all on its page, and their count is the page's length.
    """
    dialect = conn.dialect.name
    fields = None if fields is None else list(fields)
    if request.search:
        conditions = _with_search_index(conn, table, conditions, joins)
    if request.search or request.contains:
        conditions = [_native(condition, dialect) for condition in conditions]
    keys = list_sort_keys(table, request.sort, joins)
    offset = 0 if request.after is not None else (request.page - 1) * request.page_size
    window = offset + request.page_size
    planned = walk is None and dialect in PLANNED_DIALECTS
    # Without a total, the page after a cursor takes the plan of the page before (its window is
    # the same: one page): a walk through a whole list counts once, on its first page.
    hinted = planned and request.total == "none" and request.after is not None and request.after_walk is not None
    early: tuple[list[str], list[sa.Row[Any]]] | None = None
    if (count_after and walk is None and request.total == "exact" and offset == 0 and request.after is None
            and not request.group):
        found = conn.execute(page_statement(dialect, table, request, conditions, walk=False,
                                            read=_page_columns(table, request, fields, joins), peek=1, keys=keys,
                                            joins=joins))
        early = (list(found.keys()), found.all())
    if early is not None and len(early[1]) <= request.page_size:
        counted = Counted(len(early[1]), True, None)
    else:
        counted = count_matches(conn, table, request, conditions, window, planned=planned and not hinted,
                                sort_indexed=sort_is_indexed(table, keys[0]), joins=joins)
    records: list[dict[str, Any]] = []
    last: sa.Row[Any] | None = None
    more = False
    plan: PagePlan | None = None
    if not counted.exact or offset < counted.matching:
        if walk is not None:
            plan = PagePlan(walk, "imposed")
        elif hinted:
            plan = PagePlan(bool(request.after_walk), "the plan of the page before, as its cursor says")
        elif counted.population is not None:
            plan = plan_page(table, keys, counted.matching, window, counted.population)
        elif dialect in PLANNED_DIALECTS:
            plan = PagePlan(False, "the sort has no index: the matches are sorted")
        else:
            plan = PagePlan(False, "the database chooses with the parameters' values")
        wanted = _wanted(table, fields, joins)
        # One row more than the page says whether another follows, where the total cannot say it:
        # it is not counted whole, or the page starts after a cursor rather than at an offset.
        by_offset = counted.exact and request.after is None
        if early is not None:  # read before the count (`count_after`), in the database's plan
            plan = PagePlan(False, "read through the filter before its count")
            columns, rows = early[0], early[1][:request.page_size]  # counted exactly: no peeked row
        else:
            found = conn.execute(page_statement(dialect, table, request, conditions, walk=plan.walk,
                                                read=_page_columns(table, request, fields, joins),
                                                peek=0 if by_offset else 1, keys=keys, joins=joins))
            columns = list(found.keys())
            rows = found.all()  # a page and one at most: fetched at once rather than row by row
        more = offset + len(rows) < counted.matching if by_offset else len(rows) > request.page_size
        del rows[request.page_size:]
        shown = [i for i, name in enumerate(columns[:len(wanted)]) if name not in hidden]
        names = [columns[i] for i in shown]
        if len(shown) == len(columns):
            records = [dict(zip(names, row)) for row in rows]  # the page's hot path: plain dicts from tuples
        else:
            records = [dict(zip(names, [row[i] for i in shown])) for row in rows]
        last = rows[-1] if rows else None
    next_after = None
    if more and last is not None:
        # The plan rides along the cursor when it holds for a window of one page: this page's
        # window was one page, or it walked (a walk chosen for a deeper window holds for a shallower).
        told = planned and plan is not None and (offset == 0 or plan.walk)
        next_after = next_cursor(request, last._mapping, walk=plan.walk if told and plan is not None else None)
    groups = None
    if request.group:
        few = counted.exact and counted.population is not None and counted.matching * 2 < counted.population
        groups = [Group(value, count) for value, count in
                  conn.execute(group_statement(dialect, table, request.group, conditions, few=few, joins=joins))]
    total, capped = _answered_total(request, counted)
    return ListResult(request, records, total, groups, next_after, capped)


def _wanted(table: sa.Table, fields: Iterable[str] | None, joins: PathJoins | None) -> list[Any]:
    """The columns a page's rows hold: `fields` (and `id`, `version`), paths as their joins read them."""
    wanted: list[Any] = list(table.c) if fields is None else [
        table.c[name] for name in dict.fromkeys(("id", "version", *fields)) if name in table.c]
    if fields is not None and joins is not None:
        wanted += [joins.labelled(name) for name in dict.fromkeys(fields) if is_path(name)]
    return wanted


def _page_columns(table: sa.Table, request: ListRequest, fields: Iterable[str] | None,
                  joins: PathJoins | None) -> list[Any]:
    """What a page's statement reads: the rows' columns, then the sort's keys the cursor needs."""
    wanted = _wanted(table, fields, joins)
    names = {c.name for c in wanted}
    keys = list_sort_keys(table, request.sort, joins)
    return [*wanted, *(_labelled(key, name, joins) for key, (name, _) in zip(keys, key_items(request.sort))
                       if name not in names)]


def count_matches(
    conn: sa.Connection, table: sa.Table, request: ListRequest, conditions: Sequence[sa.ColumnElement[bool]],
    window: int, *, planned: bool, sort_indexed: bool, joins: PathJoins | None = None,
) -> Counted:
    """The count a page needs, in one statement: every match (`exact`), at most `total_cap` + 1
    (`capped`), none (`none`); and, where the plan is imposed (`planned`) on an indexed sort,
    enough matches to choose it: counting stops at `walk_threshold`, from which the choice no
    longer changes. The table's size then comes first, one step down the primary key."""
    source = _source(table, joins, *conditions)
    if request.total == "exact":
        matching, population = _count(conn, table, conditions, with_population=planned, source=source)
        return Counted(matching, True, population)
    population = _population(conn, table) if planned and sort_indexed else None
    limit = request.total_cap + 1 if request.total == "capped" else 0
    if population is not None:
        limit = max(limit, walk_threshold(window, population))
    if not limit:
        return Counted(0, False, None)
    matching = conn.execute(_limited_count(source, conditions, limit)).scalar_one()
    return Counted(matching, matching < limit, population)


def _answered_total(request: ListRequest, counted: Counted) -> tuple[int | None, bool]:
    """The total the result gives (None for `none`) and whether more match than it says."""
    if request.total == "none":
        return None, False
    if request.total == "capped" and (not counted.exact or counted.matching > request.total_cap):
        return request.total_cap, True
    return counted.matching, False


def _count(conn: sa.Connection, table: sa.Table, conditions: Sequence[sa.ColumnElement[bool]], *,
           with_population: bool, source: sa.FromClause) -> tuple[int, int | None]:
    """The total matching (in `source`: the table, or it joined with the paths the conditions
    read) and, `with_population`, about how many rows the table holds (its largest id, one step
    down the primary key, read by the same statement)."""
    count = sa.select(sa.func.count()).select_from(source).where(*conditions)
    if not with_population:
        return conn.execute(count).scalar_one(), None
    size = sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)).scalar_subquery()
    total, population = conn.execute(count.add_columns(size)).one()
    return total, population


def _population(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()


def _limited_count(source: sa.FromClause, conditions: Sequence[sa.ColumnElement[bool]], limit: int) -> sa.Select:
    """How many rows match, counting no further than `limit`."""
    first = sa.select(sa.literal_column("1")).select_from(source).where(*conditions).limit(limit).subquery()
    return sa.select(sa.func.count()).select_from(first)


def plan_page(table: sa.Table, keys: Sequence[SortKey], total: int, window: int, population: int) -> PagePlan:
    """The plan of a page needing `window` rows in order, `total` of the table's `population` matching."""
    return choose_walk(total, window, population, sort_indexed=sort_is_indexed(table, keys[0]))


def page_statement(
    dialect: str, table: sa.Table, request: ListRequest, conditions: Sequence[sa.ColumnElement[bool]], *,
    walk: bool, read: Sequence[Any] | None = None, peek: int = 0, keys: Sequence[SortKey] | None = None,
    joins: PathJoins | None = None,
) -> sa.Select:
    """The statement of the page of `request` under the plan `walk` (see `choose_walk`); `peek`:
    rows read past the page (to learn whether another follows); `keys`: the sort's, when known;
    `joins`: the paths the conditions, `read` and the sort name."""
    keys = keys or list_sort_keys(table, request.sort, joins)
    read = list(read or [table])
    high = nulls_high(dialect)
    planned = dialect in PLANNED_DIALECTS
    where = [_unindexed(c, table) for c in conditions] if planned and walk else list(conditions)
    if request.after is not None:
        where.append(after(keys, request.after, high))
    offset = 0 if request.after is not None else (request.page - 1) * request.page_size
    return (
        sa.select(*read).select_from(_source(table, joins, *where, *read, *(k.column for k in keys)))
        .where(*where).order_by(*_order(keys, high, unindexed=planned and not walk))
        .limit(request.page_size + peek).offset(offset)
    )


def group_statement(dialect: str, table: sa.Table, name: str, conditions: Sequence[sa.ColumnElement[bool]], *,
                    few: bool, joins: PathJoins | None = None) -> sa.Select:
    """The counts per value of `name` among the matches, most frequent first.

    Walking the index of the grouped column gives the groups in order but reads every live row
    of the table; reading the matches through the filter's index and grouping them reads only
    those. When `few` match (fewer than half the rows), SQLite is made to do the latter by
    writing the column `+column`."""
    column = joins.column(name) if joins is not None else table.c[name]
    key = _plus(column) if few and dialect in PLANNED_DIALECTS and not is_path(name) else column
    return (sa.select(key, sa.func.count()).select_from(_source(table, joins, *conditions, column))
            .where(*conditions).group_by(key).order_by(sa.func.count().desc(), key))


def list_sort_keys(table: sa.Table, sort: Sequence[str], joins: PathJoins | None = None) -> tuple[SortKey, ...]:
    """The keys of a list's sort (`engine.storage.keyset.key_items`): columns of `table`, or of
    the joins for a path."""
    return tuple(SortKey(joins.column(name) if joins is not None else table.c[name], descending)  # type: ignore[arg-type]
                 for name, descending in key_items(sort))


def _labelled(key: SortKey, name: str, joins: PathJoins | None) -> Any:
    """A sort key's column as a row names it (a path by its text)."""
    return joins.labelled(name) if joins is not None and is_path(name) else key.column


def _with_search_index(conn: sa.Connection, table: sa.Table, conditions: Sequence[sa.ColumnElement[bool]],
                       joins: PathJoins | None) -> list[sa.ColumnElement[bool]]:
    """`search.use_search_index` on the conditions of the table itself (it weighs them against the
    index reading the table alone); those reading paths follow unchanged."""
    if joins is None:
        return use_search_index(conn, table, conditions)
    own = [c for c in conditions if not joins.reads_joins(c)]
    return use_search_index(conn, table, own) + [c for c in conditions if joins.reads_joins(c)]


def _source(table: sa.Table, joins: PathJoins | None, *elements: Any) -> sa.FromClause:
    """The FROM clause of a statement reading `elements`: the table, joined with the paths they read."""
    return joins.select_from(*elements) if joins is not None else table


def _order(keys: Sequence[SortKey], high: bool, *, unindexed: bool) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY of `keys` (NULLs where the database puts them, said explicitly as
    `engine.storage.keyset` does); `unindexed`: written so that no index can serve it."""
    clauses = []
    for key in keys:
        expression = _plus(key.column) if unindexed else key.column
        clause = expression.desc() if key.descending else expression.asc()
        nulls_last = high != key.descending
        clauses.append(clause.nulls_last() if nulls_last else clause.nulls_first())
    return clauses


def _unindexed(condition: sa.ColumnElement[bool], table: sa.Table) -> sa.ColumnElement[bool]:
    """`condition` with every column of `table` written `+column`: the same values (SQLite's
    unary plus is a no-op that keeps the column's collation, and the parameters are already of
    the column's type), but no index can serve it, so the ORDER BY's index is walked."""

    def replace(element: Any) -> Any:
        if isinstance(element, sa.Column) and element.table is table:
            return _plus(element)
        return None

    return visitors.replacement_traverse(condition, {}, replace)


def _native(condition: sa.ColumnElement[bool], dialect: str) -> sa.ColumnElement[bool]:
    """`condition` with every ILIKE written as LIKE on SQLite, where SQLAlchemy writes ILIKE
    `lower(x) LIKE lower(y)`: SQLite's LIKE already ignores the case of ASCII letters and only
    of them, as its `lower()` does, so the rows are the same, and the quick search, which reads
    every row it cannot rule out, reads them twice as fast."""
    if dialect != "sqlite":
        return condition

    def replace(element: Any) -> Any:
        if isinstance(element, BinaryExpression) and element.operator in (operators.ilike_op, operators.not_ilike_op):
            like = element.left.like if element.operator is operators.ilike_op else element.left.not_like
            return like(_native(element.right, dialect), escape=element.modifiers.get("escape"))
        return None

    return visitors.replacement_traverse(condition, {}, replace)


@lru_cache(maxsize=4096)
def _plus(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`+column` (kept per column: expressions are immutable, and a page's ORDER BY and WHERE
    ask for the same ones at every request)."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _partial(index: sa.Index) -> bool:
    return any(index.dialect_options[name].get("where") is not None for name in ("sqlite", "postgresql"))
