"""Paths through links in the rules of every write, end to end through the record service:
a default and a `mandatory_when` on create, create_many and update, a guard, a `set` action and
an `on_enter` value on a transition; the bulk path reads them by one query per path prefix per
chunk, never per row."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.core.errors import RecordValidationError, TransitionError

from paths_world import build_world, paths_model, statements_of


@pytest.fixture
def world_engine(make_engine, clock):
    engine = make_engine(paths_model(), clock=clock)
    return engine, build_world(engine)


def test_create_takes_a_default_through_a_link(world_engine):
    engine, world = world_engine
    red = engine.records.create("booking", {"subject": "s", "room": world.rooms["red"]}, SYSTEM_ACTOR)
    none = engine.records.create("booking", {"subject": "t"}, SYSTEM_ACTOR)
    assert red["seats"] == 4 and none["seats"] is None
    assert not any("." in name for name in red)


@pytest.mark.parametrize("room, badge, refused", [("blue", None, True), ("blue", "B7", False), ("red", None, False),
                                                  ("lost", None, True), ("loose", None, False)])
def test_create_checks_mandatory_when_through_a_link(world_engine, room, badge, refused):
    engine, world = world_engine
    values = {"subject": "s", "room": world.rooms[room], "badge_number": badge}
    if not refused:
        assert engine.records.create("booking", values, SYSTEM_ACTOR)["id"]
        return
    with pytest.raises(RecordValidationError) as raised:
        engine.records.create("booking", values, SYSTEM_ACTOR)
    assert [e.rule for e in raised.value.errors["badge_number"]] == ["mandatory"]


def test_update_checks_the_rules_with_the_new_link(world_engine):
    engine, world = world_engine
    with pytest.raises(RecordValidationError) as raised:
        engine.records.update("booking", world.bookings["b_red"], {"room": world.rooms["blue"]}, SYSTEM_ACTOR)
    assert list(raised.value.errors) == ["badge_number"]
    moved = engine.records.update("booking", world.bookings["b_red"], {"room": world.rooms["blue"], "badge_number": "B"},
                                  SYSTEM_ACTOR)
    assert moved["room"] == world.rooms["blue"]


def test_create_many_reads_paths_set_based(world_engine):
    engine, world = world_engine
    rooms = [world.rooms[name] for name in ("red", "loose", "bare")]
    rows = [{"subject": f"s{i}", "room": rooms[i % 3]} for i in range(600)]
    with statements_of(engine) as statements:
        ids = engine.records.create_many("booking", rows, SYSTEM_ACTOR)
    room_reads = [s for s in statements if "FROM ent_room" in s and "ent_booking" not in s]
    assert len(ids) == 600 and 1 <= len(room_reads) <= 3  # per chunk at most, never per row
    seats = {engine.records.get("booking", i)["seats"] for i in ids[:3]}
    assert seats == {4, 2, None}


def test_create_many_refuses_the_rows_a_path_rule_refuses(world_engine):
    engine, world = world_engine
    rows = [{"subject": "ok", "room": world.rooms["red"]}, {"subject": "no badge", "room": world.rooms["blue"]}]
    with pytest.raises(RecordValidationError):
        engine.records.create_many("booking", rows, SYSTEM_ACTOR)


def test_a_transition_reads_paths_in_its_guard_action_and_on_enter(world_engine):
    engine, world = world_engine
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("booking", world.bookings["b_red"], "confirm", SYSTEM_ACTOR)
    assert refused.value.message("en") == "Only rooms of the North"
    confirmed = engine.records.transition("booking", world.bookings["b_blue"], "confirm", SYSTEM_ACTOR)
    assert (confirmed["status"], confirmed["seats"], confirmed["note"]) == ("confirmed", 20, "Lyon")
    offered = {t.name: why for t, why in engine.records.available_transitions("booking", world.bookings["b_lost"],
                                                                              SYSTEM_ACTOR)}
    assert offered["confirm"] is not None  # the Lost room's site is in the trash: the guard reads None
