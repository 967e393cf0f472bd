"""Lists reading paths through links give what a naive evaluation in Python gives.

Records of the paths pack are written straight into the tables (links empty, to trashed
records, to records out of the guest's scope); the expected page of every request is computed
by following each link in Python over every record read back (`naive`). The requests are
generated from the definitions: every path of the bookings (links followed up to the depth
limit) as a column, as a filter (equality, ranges at the stored values' boundaries, contains),
as a sort both ways (pages from the first to past the last, and keyset cursors to the end), as a
group; as the system and as a guest (a room scope, a hidden city).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from functools import cmp_to_key
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR
from engine.access.permissions import PermissionDenied
from engine.core.context import Actor
from engine.records.listing import list_records, list_request
from engine.records.queries import ListRequest, QueryError, build_conditions
from engine.storage.keyset import key_items, nulls_high

from paths_world import paths_model, statements_of

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")  # a cartesian product, say

SEED = 20261207
BOOKINGS = 160
SORTABLE = {"string", "integer", "decimal", "date", "datetime", "boolean", "choice", "link"}
GROUPABLE = {"choice", "link", "boolean"}


def booking_paths(model) -> list[str]:
    """Every path of a booking through links (depth 1 to the limit) ending on a characteristic."""
    found: list[str] = []

    def walk(entity: str, prefix: str, depth: int) -> None:
        for f in model.entity(entity).fields:
            if f.is_collection:
                continue
            text = f"{prefix}.{f.name}"
            found.append(text)
            if f.type == "link" and depth < 3:
                walk(f.entity, text, depth + 1)

    for f in model.entity("booking").fields:
        if f.type == "link":
            walk(f.entity, f.name, 1)
    return found


@pytest.fixture(scope="module")
def world(scratch_databases, tmp_path_factory):
    from engine import Engine

    with scratch_databases(tmp_path_factory.mktemp("paths_lists")) as url:
        engine = Engine(paths_model(), url)
        engine.migrate()
        rnd = random.Random(SEED)
        stamp = dt.datetime(2026, 2, 1, 9, 0)
        base = {"created_at": stamp, "updated_at": stamp, "version": 1}

        def maybe(value: Any, chance: float = 0.2) -> Any:
            return None if rnd.random() < chance else value

        def insert(conn, entity: str, rows: list[dict[str, Any]]) -> list[int]:
            table = engine.tables.of(entity)
            conn.execute(table.insert(), [{**base, **row} for row in rows])
            return list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())

        with engine.db.begin() as conn:
            users = insert(conn, "user", [{"username": name} for name in ("gus", "ann", "bob")])
            regions = insert(conn, "region", [{"name": name, "deleted_at": stamp if name == "West" else None}
                                              for name in ("North", "South", "East", "West")])
            sites = insert(conn, "site", [
                {"name": maybe(f"Site{i % 5}", 0.1), "city": maybe(f"City{i % 3}"), "region": maybe(rnd.choice(regions)),
                 "opened_on": maybe(dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randrange(5))),
                 "deleted_at": stamp if i == 7 else None, "created_by": users[0] if i == 2 else None}
                for i in range(10)])
            rooms = insert(conn, "room", [
                {"name": f"Room{i:02d}", "site": maybe(rnd.choice(sites)),
                 "access_mode": maybe(rnd.choice(["open", "controlled"])), "capacity": maybe(rnd.randrange(1, 6)),
                 "price": maybe(Decimal(rnd.randrange(0, 400)) / 4), "keeper": maybe(rnd.choice(users), 0.5),
                 "deleted_at": stamp if i % 11 == 5 else None,
                 "created_by": users[0] if i % 9 == 0 else None}
                for i in range(30)])
            bookings = insert(conn, "booking", [
                {"subject": f"Talk{i % 17:02d}", "room": maybe(rnd.choice(rooms)), "backup_room": maybe(rnd.choice(rooms), 0.6),
                 "starts_on": maybe(dt.date(2026, 3, 1) + dt.timedelta(days=rnd.randrange(30))),
                 "created_at": stamp + dt.timedelta(minutes=rnd.randrange(6)),
                 "deleted_at": stamp if rnd.random() < 0.05 else None}
                for i in range(BOOKINGS)])
            members = {(b, u) for b in bookings for u in users if rnd.random() < 0.3}
            conn.execute(engine.tables.join_table("booking", "attendees").insert(),
                         [{"source_id": b, "target_id": u} for b, u in sorted(members)])
            conn.exec_driver_sql("ANALYZE")
        guest = Actor(user_id=users[0], username="gus", roles=frozenset({"guest"}))
        yield engine, guest
        engine.dispose()


class Naive:
    """Every record in Python, and each path of a booking followed link by link."""

    def __init__(self, engine, actor: Actor):
        self.engine, self.actor = engine, actor
        self.model = engine.model
        with engine.db.connect() as conn:
            self.rows = {name: {row["id"]: dict(row) for row in conn.execute(sa.select(engine.tables.of(name))).mappings()}
                         for name in self.model.entities}
            join = engine.tables.join_table("booking", "attendees")
            self.attendees: dict[int, list[int]] = {}
            for source, target in conn.execute(sa.select(join.c.source_id, join.c.target_id)):
                self.attendees.setdefault(source, []).append(target)
        self.high = nulls_high(engine.db.dialect.name)

    def readable(self, entity: str, record: dict[str, Any]) -> bool:
        if record["deleted_at"] is not None:
            return False
        if self.actor.system or entity != "room":
            return True
        return self.actor.user_id in (record["created_by"], record["keeper"])

    def hidden(self, entity: str, name: str) -> bool:
        return not self.actor.system and entity == "site" and name == "city"

    def value(self, booking: dict[str, Any], text: str) -> Any:
        path = self.model.path("booking", text)
        record = booking
        for step, owner in zip(path.steps, path.entities):
            if self.hidden(owner, step.name):
                return None
            target = self.rows[step.entity].get(record[step.name])
            if target is None or not self.readable(step.entity, target):
                return None
            record = target
        return None if self.hidden(path.target, path.field.name) else record[path.field.name]

    def get(self, booking: dict[str, Any], name: str) -> Any:
        if name == "attendees":
            return sorted(self.attendees.get(booking["id"], []))
        return self.value(booking, name) if "." in name else booking[name]

    def holds(self, booking: dict[str, Any], name: str, values: Any) -> bool:
        """Equality, or for a `links` characteristic: any of the values is a member."""
        value = self.get(booking, name)
        if name == "attendees":
            return bool(set(value) & set(values if isinstance(values, (list, tuple)) else [values]))
        return value in values if isinstance(values, tuple) else value == values

    def matches(self, booking: dict[str, Any], request: ListRequest) -> bool:
        if booking["deleted_at"] is not None:
            return False
        if request.search and request.search.lower() not in booking["subject"].lower():
            return False
        view = self.model.entity("booking").view(request.view)
        for name, fixed in view.where.items():
            if not self.holds(booking, name, fixed):
                return False
        for name, values in request.equals.items():
            if not self.holds(booking, name, values):
                return False
        for name, text in request.contains.items():
            value = self.get(booking, name)
            if value is None or text.lower() not in value.lower():
                return False
        for name, (low, high) in request.ranges.items():
            value = self.get(booking, name)
            if value is None or (low is not None and value < low) or (high is not None and value > high):
                return False
        return True

    def compare(self, a: Any, b: Any, descending: bool) -> int:
        if a == b:
            return 0
        if a is None or b is None:
            low = (a is None) != self.high  # NULL is the lowest unless the database puts it high
            result = -1 if low else 1
        else:
            result = -1 if a < b else 1
        return -result if descending else result

    def page(self, request: ListRequest) -> tuple[int, list[int], list[tuple[Any, int]] | None]:
        found = [b for b in self.rows["booking"].values() if self.matches(b, request)]
        keys = key_items(request.sort)

        def order(a: dict[str, Any], b: dict[str, Any]) -> int:
            for name, descending in keys:
                result = self.compare(self.get(a, name), self.get(b, name), descending)
                if result:
                    return result
            return 0

        found.sort(key=cmp_to_key(order))
        start = (request.page - 1) * request.page_size
        ids = [b["id"] for b in found[start:start + request.page_size]]
        groups = None
        if request.group:
            counts: dict[Any, int] = {}
            for b in found:
                value = self.get(b, request.group)
                counts[value] = counts.get(value, 0) + 1
            groups = sorted(counts.items(), key=cmp_to_key(
                lambda x, y: (y[1] - x[1]) or self.compare(x[0], y[0], False)))
        return len(found), ids, groups


def listed(engine, actor: Actor, request: ListRequest, walk: bool | None = None, fields=("subject",)):
    result = list_records(engine.records, "booking", request, actor=actor, fields=list(fields), walk=walk)
    groups = None if result.groups is None else [(g.value, g.count) for g in result.groups]
    return result, (result.total, [row["id"] for row in result.rows], groups)


def requests(engine, naive: Naive) -> Iterator[ListRequest]:
    model = engine.model
    paths = [p for p in booking_paths(model) if not naive.hidden(model.path("booking", p).target,
                                                                   model.path("booking", p).field.name)]
    stored = {p: sorted({v for b in naive.rows["booking"].values() if (v := naive.value(b, p)) is not None},
                        key=lambda v: (str(type(v)), v)) for p in paths}
    for text in paths:
        kind = model.path("booking", text).field.type
        values = stored[text]
        if kind in ("choice", "link", "boolean"):
            for value in values[:3] + values[-2:]:
                yield ListRequest(tab="all", equals={text: (value,)}, sort=("subject",), page_size=9)
            if kind == "link":
                yield ListRequest(tab="all", equals={text: (10**6,)})
        elif kind in ("integer", "decimal", "date", "datetime") and values:
            low, high, middle = values[0], values[-1], values[len(values) // 2]
            for bounds in ((low, None), (None, low), (high, None), (None, high), (middle, middle), (high, low)):
                yield ListRequest(tab="all", ranges={text: bounds}, sort=("-created_at",), page_size=7)
        elif kind == "string":
            for part in ("1", "o", "zz"):
                yield ListRequest(tab="all", contains={text: part}, page_size=50)
        if kind in SORTABLE:
            for prefix in ("", "-"):
                for page in (1, 2, 12):
                    yield ListRequest(tab="all", sort=(prefix + text,), page=page, page_size=13)
                yield ListRequest(tab="all", sort=(prefix + text, "-subject"), page_size=40)
        if kind in GROUPABLE:
            yield ListRequest(tab="all", group=text, sort=(text,), page_size=5)
    users = sorted(naive.rows["user"])
    for members in [(u,) for u in users] + [tuple(users[:2]), (10**6,)]:
        yield ListRequest(tab="all", equals={"attendees": members}, sort=("room.name",), page_size=11)
        yield ListRequest(tab="all", equals={"attendees": members, "room.access_mode": ("open",)}, page_size=50)
    yield ListRequest(view="with_first_user", tab="all", sort=("-room.site.name",), page_size=8)
    for search in ("alk0", "TALK1", "k1", "zzz"):  # the quick search (through its index from 3 characters)
        yield ListRequest(search=search, tab="all", sort=("room.site.name",), page_size=6)
        yield ListRequest(search=search, tab="all", equals={"room.access_mode": ("open",)}, group="room.site")
    rnd = random.Random(SEED)
    for _ in range(60):
        a, b = rnd.sample(paths, 2)
        kinds = {p: model.path("booking", p).field.type for p in (a, b)}
        equals = {p: tuple(stored[p][:2]) for p in (a, b) if kinds[p] in ("choice", "link") and stored[p]}
        yield ListRequest(tab="all", equals=equals, sort=(rnd.choice(["", "-"]) + a,) if kinds[a] in SORTABLE else (),
                          group=b if kinds[b] in GROUPABLE else None, page=rnd.choice([1, 2]), page_size=rnd.choice([3, 20]))


@pytest.mark.parametrize("who", ["system", "guest"])
def test_every_path_request_gives_the_naive_list(world, who):
    engine, guest = world
    actor = SYSTEM_ACTOR if who == "system" else guest
    naive = Naive(engine, actor)
    checked = 0
    totals = []
    for request in requests(engine, naive):
        expected = naive.page(request)
        for walk in (None, True, False):
            assert listed(engine, actor, request, walk)[1] == expected, (request, walk)
        checked += 1
        totals.append(expected[0])
    assert checked > 150
    assert 0 in totals and max(totals) > BOOKINGS / 2 and any(0 < t < 10 for t in totals)


@pytest.mark.parametrize("who", ["system", "guest"])
def test_rows_carry_the_path_values(world, who):
    engine, guest = world
    actor = SYSTEM_ACTOR if who == "system" else guest
    naive = Naive(engine, actor)
    paths = [p for p in booking_paths(engine.model)]
    result, _ = listed(engine, actor, ListRequest(tab="all", page_size=200), fields=("subject", *paths))
    assert len(result.rows) == sum(b["deleted_at"] is None for b in naive.rows["booking"].values())
    shown = [p for p in paths if not naive.hidden(engine.model.path("booking", p).target,
                                                  engine.model.path("booking", p).field.name)]
    for row in result.rows:
        booking = naive.rows["booking"][row["id"]]
        assert {p: row[p] for p in shown} == {p: naive.value(booking, p) for p in shown}
        assert not set(paths) - set(shown) & set(row)  # a hidden path is left out


def test_the_default_row_holds_the_views_path_and_links_columns(world):
    engine, _ = world
    naive = Naive(engine, SYSTEM_ACTOR)
    result = list_records(engine.records, "booking", ListRequest(tab="all", page_size=BOOKINGS))
    assert {"subject", "room", "room.name", "room.site.name", "backup_room.name", "attendees"} <= set(result.rows[0])
    assert [row["attendees"] for row in result.rows] == [naive.get(naive.rows["booking"][row["id"]], "attendees")
                                                         for row in result.rows]
    assert any(len(row["attendees"]) > 1 for row in result.rows) and any(not row["attendees"] for row in result.rows)


def test_the_members_of_a_page_are_read_by_one_statement(world):
    engine, _ = world
    with statements_of(engine) as statements:
        result = list_records(engine.records, "booking", ListRequest(tab="all", page_size=100),
                              fields=["subject", "attendees"])
    assert len(result.rows) == 100 and len(statements) == 3  # the count, the page, the members


@pytest.mark.parametrize("args, parameter", [({"sort": ["attendees"]}, "sort"), ({"group": ["attendees"]}, "group"),
                                             ({"f_attendees": ["x"]}, "f_attendees"), ({"f_attendees": ["0"]}, "f_attendees"),
                                             ({"f_attendees_min": ["1"]}, "f_attendees_min")])
def test_links_are_no_sort_group_or_range_and_filter_by_ids(world, args, parameter):
    engine, _ = world
    with pytest.raises(QueryError) as raised:
        list_request(engine.records, "booking", args)
    assert raised.value.parameter == parameter and raised.value.message("fr")
    assert list_request(engine.records, "booking", {"f_attendees": ["2", "1"]}).equals == {"attendees": (2, 1)}


def test_a_named_views_where_reads_paths(world):
    engine, guest = world
    request = ListRequest(view="controlled", tab="all", page_size=200)
    expected = {actor.username: Naive(engine, actor).page(request) for actor in (SYSTEM_ACTOR, guest)}
    assert expected["system"][0] > 0 and expected["gus"][0] < expected["system"][0]
    for actor in (SYSTEM_ACTOR, guest):
        assert listed(engine, actor, request)[1] == expected[actor.username]


@pytest.mark.parametrize("who", ["system", "guest"])
@pytest.mark.parametrize("sort", [("room.site.name",), ("-room.site.name", "subject"), ("room.price", "-starts_on"),
                                  ("-room.site.opened_on",), ("backup_room.capacity", "-room.name"),
                                  ("room.site.region",), ("-room.keeper.username",)])
@pytest.mark.parametrize("size", [1, 7])
def test_keyset_cursors_walk_a_path_sort_to_the_end(world, who, sort, size):
    engine, guest = world
    actor = SYSTEM_ACTOR if who == "system" else guest
    request = ListRequest(tab="all", sort=sort, page_size=size, total="none")
    everything = Naive(engine, actor).page(request.replace(page_size=BOOKINGS))[1]
    ids: list[int] = []
    for _ in range(BOOKINGS + 2):
        result, _ = listed(engine, actor, request)
        ids += [row["id"] for row in result.rows]
        if result.next_after is None:
            break
        request = list_request(engine.records, "booking", request.to_args() | {"after": [result.next_after]})
    assert ids == everything


def test_path_arguments_are_parsed_and_typed(world):
    engine, _ = world
    request = list_request(engine.records, "booking", {
        "f_room.capacity_min": ["2"], "f_room.site.opened_on_max": ["2020-01-03"], "f_room.access_mode": ["open"],
        "f_room.site": ["3"], "f_room.site.name": ["Site"], "sort": ["-room.price,subject"], "group": ["room.site"]})
    assert request.ranges == {"room.capacity": (2, None), "room.site.opened_on": (None, dt.date(2020, 1, 3))}
    assert request.equals == {"room.access_mode": ("open",), "room.site": (3,)}
    assert request.contains == {"room.site.name": "Site"}
    assert request.sort == ("-room.price", "subject") and request.group == "room.site"
    assert list_request(engine.records, "booking", request.to_args()) == request


@pytest.mark.parametrize("args, parameter", [
    ({"f_room.nope": ["1"]}, "f_room.nope"), ({"f_subject.name": ["1"]}, "f_subject.name"),
    ({"sort": ["room.site.nope"]}, "sort"), ({"group": ["room.name"]}, "group"),
    ({"f_room.name_min": ["a"]}, "f_room.name_min"), ({"f_room.a.b.c.d": ["1"]}, "f_room.a.b.c.d"),
])
def test_a_path_that_cannot_be_read_is_refused_with_its_parameter(world, args, parameter):
    engine, _ = world
    with pytest.raises(QueryError) as raised:
        list_request(engine.records, "booking", args)
    assert raised.value.parameter == parameter
    assert raised.value.message("fr") and raised.value.message("en")


@pytest.mark.parametrize("request_", [ListRequest(equals={"room.site.city": ("City1",)}),
                                      ListRequest(sort=("room.site.city",)), ListRequest(group="room.site.city")])
def test_filtering_sorting_or_grouping_by_a_hidden_path_is_refused(world, request_):
    engine, guest = world
    with pytest.raises(PermissionDenied, match="room.site.city"):
        list_records(engine.records, "booking", request_, actor=guest)


def test_the_count_joins_only_what_its_conditions_read(world):
    engine, _ = world
    with statements_of(engine) as statements:
        list_records(engine.records, "booking", ListRequest(tab="all", equals={"room.access_mode": ("open",)},
                                                              sort=("backup_room.name",)), fields=["room.site.name"])
    count = next(s for s in statements if "count(" in s.lower())
    page = next(s for s in statements if "LIMIT" in s and "count(" not in s.lower())
    assert count.count("JOIN") == 1
    assert page.count("JOIN") == 3


@pytest.mark.parametrize("request_", [ListRequest(equals={"room.access_mode": ("open",)}), ListRequest(view="controlled"),
                                      ListRequest(equals={"attendees": (1,)})])
def test_conditions_built_without_joins_refuse_paths_and_links_by_name(world, request_):
    engine, _ = world
    entity = engine.model.entity("booking")
    with pytest.raises(QueryError) as raised:
        build_conditions(engine.tables.of("booking"), entity, entity.view(request_.view), request_, None)
    assert raised.value.reason == "no_joins" and raised.value.parameter in raised.value.describe("fr")
