"""Whatever plan a list page is read by, and however it is paged, it is the list a straightforward
query gives: same rows, same order, same total, same groups.

The reference is the query the engine ran before plans were chosen: count, then `ORDER BY
<sort>, id LIMIT size OFFSET (page - 1) x size`, then a plain GROUP BY. The requests are
generated from the test pack's definitions: every filterable characteristic with values that
match many, few and no records, ranges at the stored values' boundaries, pairs of filters,
searches, every sortable characteristic both ways (with NULLs and ties on every key), every tab,
groups, pages from the first to one past the last.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from engine.records.queries import ListRequest, build_conditions, order_by
from engine.records.query_plan import read_list

RECORDS = 240
SEED = 20240607
SORTABLE_TYPES = {"string", "email", "phone", "url", "integer", "decimal", "date", "datetime", "boolean", "choice",
                  "link", "status"}
GROUPABLE_TYPES = {"choice", "status", "link", "boolean"}


@pytest.fixture(scope="module")
def listed(scratch_databases, model, tmp_path_factory):
    """An engine and RECORDS samples written straight into the table: every characteristic
    sometimes empty, few distinct creation times (ties), every status, some in the trash."""
    from engine import Engine

    with scratch_databases(tmp_path_factory.mktemp("equivalence")) as url:
        engine = Engine(model, url)
        engine.migrate()
        user = engine.tables.of("user")
        table = engine.tables.of("sample")
        rnd = random.Random(SEED)
        stamp = dt.datetime(2025, 3, 1, 8, 0)
        with engine.db.begin() as conn:
            conn.execute(user.insert(), [{"username": f"u{i}", "created_at": stamp, "updated_at": stamp, "version": 1}
                                         for i in range(3)])
            owners = list(conn.execute(sa.select(user.c.id)).scalars())
            conn.execute(table.insert(), [_row(i, rnd, owners, stamp) for i in range(RECORDS)])
            conn.exec_driver_sql("ANALYZE")
        yield engine, owners
        engine.dispose()


def _row(i: int, rnd: random.Random, owners: list[int], stamp: dt.datetime) -> dict[str, Any]:
    def maybe(value: Any) -> Any:
        return None if rnd.random() < 0.2 else value

    created = stamp + dt.timedelta(minutes=rnd.randrange(12))  # a dozen instants: many ties
    return {
        "created_at": created, "updated_at": created + dt.timedelta(seconds=rnd.randrange(3)), "version": 1,
        "deleted_at": created if rnd.random() < 0.05 else None,
        "name": rnd.choice(["Alpha", "alpha", "Bravo", "Charlie", "Delta_%", "Écho", "echo"]) + str(i % 7),
        "code": f"ABC-{i:02d}" if i < 100 else None,
        "email": maybe(f"p{i % 11}@example.org"), "phone": maybe(f"+33 1 {i % 13:02d}"),
        "qty": maybe(rnd.randrange(0, 101)), "price": maybe(Decimal(rnd.randrange(0, 10_000)) / 100),
        "due": maybe(dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(60))),
        "meet_at": maybe(stamp + dt.timedelta(hours=rnd.randrange(48))),
        "opened_on": maybe(dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randrange(9))),
        "do_not_call": rnd.random() < 0.7, "level": maybe(rnd.choice(["low", "low", "low", "mid", "high", "legacy"])),
        "tags": rnd.choice([[], ["low"], ["mid", "high"]]), "owner": maybe(rnd.choice(owners)),
        "status": rnd.choice(["draft", "draft", "draft", "review", "done", "cancelled"]),
    }


def reference(engine, request: ListRequest) -> tuple[int, list[int], list[tuple[Any, int]] | None]:
    """The straightforward query: count, ORDER BY ... LIMIT ... OFFSET, GROUP BY."""
    table = engine.tables.of("sample")
    entity = engine.model.entity("sample")
    conditions = build_conditions(table, entity, entity.view(request.view), request, engine.model.workflow("sample"))
    with engine.db.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar_one()
        ids = list(conn.execute(
            sa.select(table.c.id).where(*conditions).order_by(*order_by(table, request))
            .limit(request.page_size).offset((request.page - 1) * request.page_size)
        ).scalars())
        groups = None
        if request.group:
            column = table.c[request.group]
            groups = [tuple(row) for row in conn.execute(
                sa.select(column, sa.func.count()).where(*conditions).group_by(column)
                .order_by(sa.func.count().desc(), column))]
    return total, ids, groups


def planned(engine, request: ListRequest, walk: bool | None) -> tuple[int, list[int], list[tuple[Any, int]] | None]:
    table = engine.tables.of("sample")
    entity = engine.model.entity("sample")
    conditions = build_conditions(table, entity, entity.view(request.view), request, engine.model.workflow("sample"))
    with engine.db.connect() as conn:
        result = read_list(conn, table, request, conditions, walk=walk)
    groups = None if result.groups is None else [(g.value, g.count) for g in result.groups]
    return result.total, [row["id"] for row in result.rows], groups


def requests(engine, owners: list[int]) -> Iterator[ListRequest]:
    """Every single filter with its values (common, rare, none), ranges at stored boundaries,
    every sort both ways, then random mixes of them all."""
    entity = engine.model.entity("sample")
    table = engine.tables.of("sample")
    with engine.db.connect() as conn:
        stored = {f.name: sorted({v for v in conn.execute(sa.select(table.c[f.name])).scalars() if v is not None})
                  for f in entity.fields if f.type in ("integer", "decimal", "date", "datetime")}
    choices = {f.name: [v.code for v in engine.model.lists[f.list].values] + ["nothing"]
               for f in entity.fields if f.type in ("choice", "multi_choice")}
    filters: list[dict[str, Any]] = [{}]
    for f in entity.fields:
        if f.type == "choice":
            filters += [{"equals": {f.name: (code,)}} for code in choices[f.name]]
            filters.append({"equals": {f.name: tuple(choices[f.name][:2])}})
        elif f.type == "multi_choice":
            filters += [{"equals": {f.name: (code,)}} for code in choices[f.name]]
        elif f.type == "link":
            filters += [{"equals": {f.name: (owner,)}} for owner in [*owners, max(owners) + 1000]]
        elif f.type == "boolean":
            filters += [{"equals": {f.name: (value,)}} for value in (True, False)]
        elif f.type == "status":
            filters += [{"equals": {f.name: (s.code,)}} for s in engine.model.workflow("sample").statuses]
        elif f.name in stored:
            values = stored[f.name]
            low, high = values[0], values[-1]
            middle = values[len(values) // 2]
            filters += [{"ranges": {f.name: bounds}} for bounds in
                        ((low, None), (None, low), (high, None), (None, high), (middle, middle), (high, low))]
        elif f.type in ("string", "email", "phone"):
            filters += [{"contains": {f.name: text}} for text in ("a", "_%", "zz")]
    searches = ["", "alpha", "%", "ÉCHO", "nothing at all"]
    sorts = [()] + [(prefix + name,) for name in
                    ["id", "created_at", "updated_at", *(f.name for f in entity.fields if f.type in SORTABLE_TYPES)]
                    for prefix in ("", "-")]
    groups = [None] + [f.name for f in entity.fields if f.type in GROUPABLE_TYPES]
    for item in filters:  # every filter value alone, in every tab, a page that exists and the one after
        for tab in ("open", "all", "history"):
            yield ListRequest(sort=("-created_at",), tab=tab, page_size=7, **item)
            yield ListRequest(sort=("-created_at",), tab=tab, page_size=7, page=3, **item)
    for sort in sorts:  # every sort both ways, first page to past the last
        for page in (1, 2, 9, 40):
            yield ListRequest(sort=sort, tab="all", page=page, page_size=13)
    rnd = random.Random(SEED)
    for _ in range(250):  # mixes: two filters, a search, a sort, a group, any page
        merged: dict[str, dict[str, Any]] = {"equals": {}, "contains": {}, "ranges": {}}
        for item in rnd.sample(filters, 2):
            for kind, values in item.items():
                merged[kind].update(values)
        sort = rnd.choice(sorts) + (rnd.choice(sorts)[:1] if rnd.random() < 0.3 else ())
        yield ListRequest(search=rnd.choice(searches), sort=sort, tab=rnd.choice(["open", "all", "history"]),
                          group=rnd.choice(groups), page=rnd.choice([1, 1, 2, 5]), page_size=rnd.choice([1, 5, 50]),
                          **merged)


def test_every_plan_gives_the_reference_list(listed):
    engine, owners = listed
    checked = 0
    for request in requests(engine, owners):
        expected = reference(engine, request)
        for walk in (None, True, False):
            assert planned(engine, request, walk) == expected, (request, walk)
        checked += 1
    assert checked > 500


def test_the_generated_requests_meet_many_few_and_no_records(listed):
    """The generated requests are worth comparing: totals from none to most of the table."""
    engine, owners = listed
    totals = [reference(engine, request)[0] for request in requests(engine, owners)]
    assert 0 in totals and any(0 < total <= 5 for total in totals) and max(totals) > RECORDS / 2


def _pages_after(engine, request: ListRequest) -> list[int]:
    """Every id of the list, page after page through the `after=` cursor, as a client follows it."""
    table = engine.tables.of("sample")
    entity = engine.model.entity("sample")
    conditions = build_conditions(table, entity, entity.view(request.view), request, engine.model.workflow("sample"))
    ids: list[int] = []
    with engine.db.connect() as conn:
        for _ in range(RECORDS + 2):
            result = read_list(conn, table, request, conditions, fields=["name"])
            assert all(set(row) == {"id", "version", "name"} for row in result.rows)
            ids += [row["id"] for row in result.rows]
            if result.next_after is None:
                return ids
            request = engine.records.list_request("sample", request.to_args() | {"after": [result.next_after]})
    raise AssertionError("the cursor never reached the end")


@pytest.mark.parametrize("size", [1, 7, 50])
def test_keyset_pages_are_the_offset_pages_end_to_end(listed, size):
    engine, _ = listed
    entity = engine.model.entity("sample")
    names = ["id", "created_at", "updated_at", *(f.name for f in entity.fields if f.type in SORTABLE_TYPES)]
    for sort in [(prefix + name,) for name in names for prefix in ("", "-")] + [("level", "-qty"), ("-owner", "due")]:
        request = ListRequest(sort=sort, tab="all", page_size=size)
        everything = reference(engine, request.replace(page=1, page_size=RECORDS))[1]
        assert _pages_after(engine, request) == everything, sort


def test_keyset_pages_follow_filters_and_search(listed):
    engine, owners = listed
    for request in [ListRequest(sort=("-created_at",), equals={"level": ("low",)}, page_size=4),
                    ListRequest(sort=("qty",), search="alpha", tab="all", page_size=3),
                    ListRequest(sort=("price",), equals={"owner": (owners[0],)}, tab="history", page_size=2)]:
        everything = reference(engine, request.replace(page=1, page_size=RECORDS))[1]
        assert everything and _pages_after(engine, request) == everything
