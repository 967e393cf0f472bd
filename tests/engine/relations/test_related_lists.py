"""Related lists (engine/records/related.py): the records of a reverse relation of one record,
through a `link` (`booking_room` of a room) or a `links` (`booking_attendees` of a user), with
the panel's columns, sort and size, paged, counted and in the actor's scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR
from engine.access.permissions import PermissionDenied
from engine.core.context import Actor
from engine.core.errors import NotFoundError
from engine.records.listing import list_request
from engine.records.queries import ListRequest
from engine.records.related import related_list

from paths_world import build_world, paths_model, statements_of


@pytest.fixture
def world_engine(make_engine, clock):
    engine = make_engine(paths_model(), clock=clock)
    world = build_world(engine)
    users = world.users
    rooms = world.rooms
    for i in range(12):  # more bookings of the blue room than a panel page holds
        engine.records.create("booking", {
            "subject": f"Extra {i:02d}", "room": rooms["blue"], "badge_number": "B", "backup_room": rooms["red"],
            "attendees": [users["gus"]] if i % 3 else [users["gus"], users["ann"]]}, SYSTEM_ACTOR)
    engine.records.update("booking", world.bookings["b_red"], {"attendees": [users["ann"]]}, SYSTEM_ACTOR)
    engine.records.delete("booking", world.bookings["b_bare"], SYSTEM_ACTOR)
    return engine, world


def ids(result):
    return [row["id"] for row in result.rows]


def stored(engine, condition):
    """The live bookings matching `condition`, by id: what a related list must count."""
    table = engine.tables.of("booking")
    with engine.db.connect() as conn:
        return set(conn.execute(sa.select(table.c.id).where(condition, table.c.deleted_at.is_(None))).scalars())


def test_a_link_relation_lists_the_records_naming_the_record(world_engine):
    engine, world = world_engine
    table = engine.tables.of("booking")
    result = related_list(engine.records, "room", world.rooms["blue"], "booking_room", None, SYSTEM_ACTOR)
    expected = stored(engine, table.c.room == world.rooms["blue"])
    assert result.total == len(expected) == 13
    assert len(result.rows) == 10 and set(ids(result)) < expected  # the panel's size
    assert set(result.rows[0]) == {"id", "version", "subject", "backup_room.name", "attendees"}  # its columns
    subjects = [row["subject"] for row in result.rows]
    assert subjects == sorted(subjects)  # its sort: -room.site.name (all Lyon), then subject
    assert result.rows[1]["backup_room.name"] == "Red" and result.rows[1]["attendees"]


def test_the_rows_hold_the_fields_asked(world_engine):
    engine, world = world_engine
    whole = related_list(engine.records, "room", world.rooms["blue"], "booking_room", None, SYSTEM_ACTOR, fields=None)
    assert {"created_at", "updated_at", "subject", "room", "room.site.name", "attendees"} <= set(whole.rows[0])
    few = related_list(engine.records, "room", world.rooms["blue"], "booking_room", None, SYSTEM_ACTOR,
                       fields=["room.name"])
    assert set(few.rows[0]) == {"id", "version", "room.name"} and ids(few) == ids(whole)


def test_the_pages_of_a_related_list_cover_it_once(world_engine):
    engine, world = world_engine
    first = related_list(engine.records, "room", world.rooms["blue"], "booking_room", None, SYSTEM_ACTOR)
    second = related_list(engine.records, "room", world.rooms["blue"], "booking_room",
                          first.request.replace(page=2), SYSTEM_ACTOR)
    assert len(second.rows) == 3 and not set(ids(first)) & set(ids(second))
    following = list_request(engine.records, "booking", first.request.to_args() | {"after": [first.next_after]})
    after = related_list(engine.records, "room", world.rooms["blue"], "booking_room", following, SYSTEM_ACTOR)
    assert ids(after) == ids(second) and after.next_after is None


def test_a_second_link_to_the_same_entity_is_its_own_relation(world_engine):
    engine, world = world_engine
    table = engine.tables.of("booking")
    result = related_list(engine.records, "room", world.rooms["red"], "booking_backup_room",
                          ListRequest(page_size=50, tab="all"), SYSTEM_ACTOR)
    assert set(ids(result)) == stored(engine, table.c.backup_room == world.rooms["red"]) and result.total == 13


def test_a_links_relation_lists_the_records_holding_the_record(world_engine):
    engine, world = world_engine
    join = engine.tables.join_table("booking", "attendees")
    table = engine.tables.of("booking")
    for name, count in (("gus", 12), ("ann", 5)):
        member = table.c.id.in_(sa.select(join.c.source_id).where(join.c.target_id == world.users[name]))
        result = related_list(engine.records, "user", world.users[name], "booking_attendees",
                              ListRequest(page_size=50, tab="all"), SYSTEM_ACTOR)
        assert set(ids(result)) == stored(engine, member) and result.total == count


def test_a_record_without_related_records_has_an_empty_list(world_engine):
    engine, world = world_engine
    result = related_list(engine.records, "room", world.rooms["loose"], "booking_backup_room", None, SYSTEM_ACTOR)
    assert result.rows == [] and result.total == 0 and result.next_after is None


def test_a_trashed_related_record_is_left_out(world_engine):
    engine, world = world_engine
    result = related_list(engine.records, "room", world.rooms["bare"], "booking_room", None, SYSTEM_ACTOR)
    assert result.total == 0


def test_the_actor_sees_only_what_they_may_read(world_engine):
    engine, world = world_engine
    guest = world.guest()
    result = related_list(engine.records, "site", world.sites["lyon"], "room_site", None, guest)
    assert [row["name"] for row in result.rows] == ["Blue"]  # gus keeps the blue room, not the others
    with pytest.raises(NotFoundError):  # the red room is not theirs to read
        related_list(engine.records, "room", world.rooms["red"], "booking_room", None, guest)
    with pytest.raises(PermissionDenied):  # no role: no record
        related_list(engine.records, "room", world.rooms["blue"], "booking_room", None, Actor(user_id=1, roles=frozenset({"x"})))


def test_an_unknown_relation_or_record_is_not_found(world_engine):
    engine, world = world_engine
    with pytest.raises(NotFoundError, match="room relation booking_rom"):
        related_list(engine.records, "room", world.rooms["blue"], "booking_rom", None, SYSTEM_ACTOR)
    with pytest.raises(NotFoundError):
        related_list(engine.records, "room", 10**6, "booking_room", None, SYSTEM_ACTOR)


def test_a_related_page_costs_the_same_statements_whatever_its_rows(world_engine):
    engine, world = world_engine
    counts = []
    for size in (1, 10):
        with statements_of(engine) as statements:
            related_list(engine.records, "room", world.rooms["blue"], "booking_room",
                         ListRequest(sort=("subject",), page_size=size, tab="all"), SYSTEM_ACTOR)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 5  # the record, the count, the page, the members


@pytest.mark.parametrize("size", [1, 2, 3, 4, 50])
def test_a_first_page_holding_every_record_needs_no_count(world_engine, size):
    """A panel reads its first page before counting: when the page holds every record (fewer than
    `size` and one more peeked), their number is its total, and no count runs; a full page is
    counted, and its cursor leads to the rest."""
    engine, world = world_engine
    matching = stored(engine, engine.tables.of("booking").c.backup_room == world.rooms["red"])
    request = ListRequest(sort=("subject",), page_size=size, tab="all")
    with statements_of(engine) as statements:
        first = related_list(engine.records, "room", world.rooms["red"], "booking_backup_room", request,
                             SYSTEM_ACTOR, record_read=True)
    counts = [s for s in statements if "count(" in s.lower()]
    assert first.total == len(matching) and len(first.rows) == min(size, len(matching))
    assert len(counts) == (1 if size < len(matching) else 0)
    seen, page = ids(first), first
    while page.next_after is not None:
        following = list_request(engine.records, "booking", page.request.to_args() | {"after": [page.next_after]})
        page = related_list(engine.records, "room", world.rooms["red"], "booking_backup_room", following,
                            SYSTEM_ACTOR)
        seen += ids(page)
    assert sorted(seen) == sorted(matching) and len(seen) == len(matching)
