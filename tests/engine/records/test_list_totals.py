"""How a list counts its matches (`ListRequest.total`: exact, capped, none), once per page, and
what a page then says: its total, whether more match, whether another page follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from engine.records.list_cursor import encode_cursor
from engine.records.queries import TOTAL_CAP, ListRequest, QueryError, build_conditions
from engine.records.query_plan import choose_walk, count_matches, read_list, walk_threshold

RECORDS = 24
DRAFTS = 16
"""Records in the open tab (`draft`): the others are `done`."""


@pytest.fixture(scope="module")
def samples(scratch_databases, model, tmp_path_factory):
    """RECORDS samples written straight into the table: few distinct names (ties), some without a
    quantity (NULLs), DRAFTS of them open."""
    from engine import Engine

    with scratch_databases(tmp_path_factory.mktemp("totals")) as url:
        engine = Engine(model, url)
        engine.migrate()
        stamp = dt.datetime(2025, 3, 1, 8, 0)
        rows = [{"created_at": stamp + dt.timedelta(minutes=i % 5), "updated_at": stamp, "version": 1,
                 "name": f"N{i % 4}", "qty": None if i % 3 == 0 else i % 7, "level": "low",
                 "status": "draft" if i < DRAFTS else "done"} for i in range(RECORDS)]
        with engine.db.begin() as conn:
            conn.execute(engine.tables.of("sample").insert(), rows)
        yield engine
        engine.dispose()


def _read(engine, request: ListRequest, walk: bool | None = None):
    table = engine.tables.of("sample")
    entity = engine.model.entity("sample")
    conditions = build_conditions(table, entity, entity.view(request.view), request, engine.model.workflow("sample"))
    with engine.db.connect() as conn:
        return read_list(conn, table, request, conditions, walk=walk)


def _position(engine, request: ListRequest, cursor: str) -> tuple[Any, ...]:
    """Where a cursor starts the next page (whatever plan it carries)."""
    return engine.records.list_request("sample", request.to_args() | {"after": [cursor]}).after


def _statements(engine, request: ListRequest) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine.db, "before_cursor_execute", record)
    try:
        _read(engine, request)
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", record)
    return seen


# -- the total each way ---------------------------------------------------------------------------


@pytest.mark.parametrize("cap, total, capped", [
    (DRAFTS - 1, DRAFTS - 1, True),  # one more matches than the cap
    (DRAFTS, DRAFTS, False),  # exactly the cap
    (DRAFTS + 1, DRAFTS, False),
    (1, 1, True),
])
def test_a_capped_total_says_when_more_match_than_the_cap(samples, cap, total, capped):
    request = ListRequest(sort=("name",), total="capped", total_cap=cap, page_size=5)
    exact = _read(samples, request.replace(total="exact"))
    for walk in (None, True, False):
        result = _read(samples, request, walk)
        assert (result.total, result.total_capped) == (total, capped), walk
        assert result.pages == -(-total // 5)
        assert result.rows == exact.rows
        assert _position(samples, request, result.next_after) == _position(samples, request, exact.next_after)


def test_no_total_gives_the_same_page_without_a_count(samples):
    request = ListRequest(sort=("-qty",), total="none", page_size=5, page=2)
    result, exact = _read(samples, request), _read(samples, request.replace(total="exact"))
    assert (result.total, result.pages, result.total_capped) == (None, None, False)
    assert exact.total == DRAFTS and not exact.total_capped
    assert result.rows == exact.rows and result.next_after == exact.next_after is not None


@pytest.mark.parametrize("mode", ["capped", "none"])
def test_a_page_past_the_cap_is_still_read(samples, mode):
    request = ListRequest(sort=("name",), tab="all", total=mode, total_cap=3, page_size=5, page=5)
    result = _read(samples, request)
    assert [row["id"] for row in result.rows] == [row["id"] for row in _read(samples, request.replace(
        total="exact")).rows]
    assert len(result.rows) == RECORDS - 20 and result.next_after is None


@pytest.mark.parametrize("mode", ["exact", "capped", "none"])
@pytest.mark.parametrize("size", [4, 5, DRAFTS])
def test_next_after_is_given_exactly_when_another_page_follows(samples, mode, size):
    """A last page that is full has no next page, whether read by number or after a cursor."""
    request = ListRequest(sort=("created_at",), total=mode, page_size=size)
    pages = -(-DRAFTS // size)
    for page in range(1, pages + 2):
        result = _read(samples, request.replace(page=page))
        assert (result.next_after is not None) == (page < pages), (page, pages)
    ids: list[int] = []
    cursor = request
    for _ in range(pages):
        result = _read(samples, cursor)
        ids += [row["id"] for row in result.rows]
        if result.next_after is None:
            break
        cursor = samples.records.list_request("sample", cursor.to_args() | {"after": [result.next_after]})
    assert result.next_after is None and len(ids) == len(set(ids)) == DRAFTS


@pytest.mark.parametrize("mode", ["exact", "capped", "none"])
@pytest.mark.parametrize("sort", [("name",), ("-name",), ("qty",), ("-qty",), ("-created_at", "name")])
def test_the_cursor_walks_every_row_once_whatever_the_total(samples, mode, sort):
    """Ties (a few names, a few instants) and NULLs (quantities) on the sort keys, both ways."""
    request = ListRequest(sort=sort, tab="all", total=mode, total_cap=4, page_size=3)
    everything = [row["id"] for row in _read(samples, request.replace(page_size=RECORDS, total="exact")).rows]
    ids: list[int] = []
    for _ in range(RECORDS):
        result = _read(samples, request)
        ids += [row["id"] for row in result.rows]
        if result.next_after is None:
            break
        request = samples.records.list_request("sample", request.to_args() | {"after": [result.next_after]}).replace(
            total_cap=4)
    assert ids == everything and len(everything) == RECORDS


# -- one count, and only what the plan needs ------------------------------------------------------


@pytest.mark.parametrize("mode", ["exact", "capped"])
@pytest.mark.parametrize("sort", [("created_at",), ("name",)])
def test_the_matches_are_counted_once(samples, mode, sort):
    statements = _statements(samples, ListRequest(sort=sort, total=mode, group="level"))
    counts = [s for s in statements if s.lower().startswith("select count(")]
    assert len(counts) == 1, statements
    assert ("LIMIT" in counts[0]) == (mode == "capped")


def test_without_a_total_only_the_plan_of_sqlite_needs_a_count(samples):
    """SQLite's plan is imposed, chosen on the matches: counted as far as the choice needs, when the
    sort has an index to walk (`created_at`; `name` has none). PostgreSQL chooses its own plan."""
    for sort, needed in ((("created_at",), True), (("name",), False)):
        statements = _statements(samples, ListRequest(sort=sort, total="none", group="level"))
        counts = [s for s in statements if s.lower().startswith("select count(")]
        if samples.db.dialect.name == "sqlite" and needed:
            assert len(counts) == 1 and "LIMIT" in counts[0], statements
        else:
            assert counts == [], statements


@pytest.mark.parametrize("window, population", [(1, 100), (50, 1_000_000), (50, 12_000), (10_050, 1_000_000),
                                                (200, 150), (50, 0), (1, 1)])
def test_the_plan_count_stops_where_the_choice_stops_changing(window, population):
    at = walk_threshold(window, population)
    assert choose_walk(at, window, max(population, 1), sort_indexed=True).walk or population == 0
    assert at == 1 or not choose_walk(at - 1, window, population, sort_indexed=True).walk
    for total in (at, at + 1, 2 * at, 10 * at):
        if total <= population:
            assert choose_walk(total, window, population, sort_indexed=True).walk


@pytest.mark.parametrize("qty", [None, 0, 3, 6])
def test_a_count_stopped_early_chooses_the_plan_the_whole_count_chooses(samples, qty):
    request = ListRequest(sort=("created_at",), tab="all", total="none", page_size=2,
                          equals={} if qty is None else {"qty": (qty,)})
    table = samples.tables.of("sample")
    entity = samples.model.entity("sample")
    conditions = build_conditions(table, entity, entity.view("list"), request, samples.model.workflow("sample"))
    with samples.db.connect() as conn:
        counted = count_matches(conn, table, request, conditions, 2, planned=True, sort_indexed=True)
        total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar_one()
    assert counted.population == RECORDS
    assert counted.matching == min(total, walk_threshold(2, RECORDS))
    assert counted.exact == (total < walk_threshold(2, RECORDS))
    assert (choose_walk(counted.matching, 2, RECORDS, sort_indexed=True).walk
            == choose_walk(total, 2, RECORDS, sort_indexed=True).walk)


# -- the plan a cursor carries --------------------------------------------------------------------


def _next(engine, request: ListRequest, cursor: str) -> ListRequest:
    return engine.records.list_request("sample", request.to_args() | {"after": [cursor]})


def test_a_walk_through_a_list_without_a_total_counts_on_its_first_page_only(samples):
    request = ListRequest(sort=("created_at",), tab="all", total="none", page_size=4)
    first = _read(samples, request)
    following = _next(samples, request, first.next_after)
    if samples.db.dialect.name == "sqlite":  # the plan is chosen there, and said by the cursor
        assert following.after_walk is not None
        statements = _statements(samples, following)
        assert [s for s in statements if s.lower().startswith("select count(")] == [] and len(statements) == 1
    else:  # PostgreSQL chooses its own plans: the cursor says none, nothing is counted
        assert following.after_walk is None
        assert len(_statements(samples, following)) == 1
    assert _next(samples, request, first.next_after).to_args()["after"] == [first.next_after]


@pytest.mark.parametrize("total", ["exact", "capped"])
def test_a_counted_total_is_counted_whatever_the_cursor_says(samples, total):
    first = _read(samples, ListRequest(sort=("created_at",), tab="all", total=total, page_size=4))
    following = _next(samples, first.request, first.next_after)
    assert len([s for s in _statements(samples, following) if s.lower().startswith("select count(")]) == 1
    assert _read(samples, following).total == (RECORDS if total == "exact" else min(RECORDS, TOTAL_CAP))


@pytest.mark.parametrize("walk", [True, False])
def test_the_plan_a_cursor_says_changes_the_speed_never_the_rows(samples, walk):
    request = ListRequest(sort=("-qty",), tab="all", total="none", page_size=5)
    first = _read(samples, request)
    position = _position(samples, request, first.next_after)
    told = request.replace(after=position, after_walk=walk)
    expected = _read(samples, request.replace(after=position, total="exact"))
    result = _read(samples, told)
    assert result.rows == expected.rows and len(result.rows) == 5
    assert _position(samples, request, result.next_after) == _position(samples, request, expected.next_after)


@pytest.mark.parametrize("plan", ['"w":2', '"w":true', '"w":"1"', '"w":null'])
def test_a_cursor_saying_no_plan_it_can_is_refused(engine, plan):
    import base64

    text = '{"s":["name"],"v":["N1",3],%s}' % plan
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    if plan == '"w":null':  # the same as saying nothing
        assert engine.records.list_request("sample", {"sort": ["name"], "after": [cursor]}).after_walk is None
        return
    with pytest.raises(QueryError) as caught:
        engine.records.list_request("sample", {"sort": ["name"], "after": [cursor]})
    assert caught.value.parameter == "after"


# -- the request ----------------------------------------------------------------------------------


def test_the_total_is_read_from_the_arguments_and_written_back(engine):
    assert engine.records.list_request("sample", {}).total == "exact"
    for mode in ("exact", "capped", "none"):
        request = engine.records.list_request("sample", {"total": [mode]})
        assert (request.total, request.total_cap) == (mode, TOTAL_CAP)
        assert request.to_args().get("total") == (None if mode == "exact" else [mode])
        assert engine.records.list_request("sample", request.to_args()) == request


@pytest.mark.parametrize("value", ["all", "Exact", "0", "capped,none"])
def test_an_unknown_total_is_refused_by_name_in_both_languages(engine, value):
    with pytest.raises(QueryError) as caught:
        engine.records.list_request("sample", {"total": [value]})
    assert caught.value.parameter == "total"
    assert caught.value.message("en") == "expected one of exact, capped, none"
    assert caught.value.message("fr") == "valeurs possibles : exact, capped, none"


def test_a_cursor_is_refused_for_another_sort_with_any_total(engine):
    cursor = encode_cursor(("name",), ["N1", 3])
    with pytest.raises(QueryError) as caught:
        engine.records.list_request("sample", {"sort": ["-name"], "total": ["none"], "after": [cursor]})
    assert caught.value.parameter == "after"
    assert engine.records.list_request("sample", {"sort": ["name"], "after": [cursor]}).after == ("N1", 3)
