"""Expressions read paths through links (`room.capacity` in a default, `room.access_mode` in a
`mandatory_when`, `room.site.region.name` in a guard, `room.capacity * 2` in a `set` action, an
`on_enter` value): the validator and the workflow runtime are given their values, set-based on
the bulk paths (one query per path prefix for all the rows, engine/records/paths.py)."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.core.errors import TransitionError
from engine.records.paths import path_reader, path_source

from paths_world import build_world, paths_model, statements_of


@pytest.fixture
def world_engine(make_engine, clock):
    engine = make_engine(paths_model(), clock=clock)
    return engine, build_world(engine)


def source_of(engine, conn, actor=SYSTEM_ACTOR, paths=None):
    validator = engine.records.validator("booking")
    reader = path_reader(engine.model, engine.tables, engine.records.permissions, actor)
    return path_source(conn, reader, "booking", validator.paths if paths is None else paths)


def test_the_validator_knows_the_paths_its_rules_read(world_engine):
    engine, _ = world_engine
    assert engine.records.validator("booking").paths == {"room.capacity", "room.access_mode"}
    assert engine.records.validator("room").paths == frozenset()
    assert engine.records.workflow_of("booking").paths == {"room.site.region.name", "room.capacity", "room.site.name"}


def test_a_default_reads_a_path_and_none_through_an_empty_link(world_engine):
    engine, world = world_engine
    validator = engine.records.validator("booking")
    with engine.db.connect() as conn:
        records, failed = validator.load_many(
            [{"subject": "a", "room": world.rooms["red"]}, {"subject": "b"}, {"subject": "c", "room": world.rooms["loose"],
                                                                              "seats": 9}],
            SYSTEM_ACTOR, paths=source_of(engine, conn))
    assert [r.get("seats") for r in records] == [4, None, 9]  # a value given wins over the default
    assert failed == {}
    assert not any("." in name for r in records for name in r)  # path values never become the record's


@pytest.mark.parametrize("room, badge, refused", [("blue", None, True), ("blue", "B9", False), ("red", None, False),
                                                  ("loose", None, False), (None, None, False)])
def test_mandatory_when_reads_a_path(world_engine, room, badge, refused):
    engine, world = world_engine
    validator = engine.records.validator("booking")
    row = {"subject": "x", "room": world.rooms[room] if room else None, "badge_number": badge}
    with engine.db.connect() as conn:
        _, failed = validator.load_many([row], SYSTEM_ACTOR, paths=source_of(engine, conn))
    assert (failed.get(0, {}).get("badge_number", [None])[0] is not None) == refused
    if refused:
        assert failed[0]["badge_number"][0].rule == "mandatory"


def test_an_update_checks_the_rules_with_the_paths_of_the_record_as_changed(world_engine):
    engine, world = world_engine
    validator = engine.records.validator("booking")
    currents = [engine.records.get("booking", world.bookings[name]) for name in ("b_red", "b_blue", "b_none")]
    changes = [{"room": world.rooms["blue"]}, {"badge_number": None}, {"subject": "still no room"}]
    errors = [{}, {}, {}]
    with engine.db.connect() as conn:
        changed = validator.changed_many(currents, changes, errors, paths=source_of(engine, conn))
    assert changed == [{"room": world.rooms["blue"]}, {"badge_number": None}, {"subject": "still no room"}]
    assert [sorted(e) for e in errors] == [["badge_number"], ["badge_number"], []]


def test_rules_read_nothing_the_actor_may_not_read(world_engine):
    engine, world = world_engine
    validator = engine.records.validator("booking")
    rows = [{"subject": "x", "room": world.rooms["blue"]}, {"subject": "y", "room": world.rooms["lost"]}]
    with engine.db.connect() as conn:
        records, failed = validator.load_many(rows, world.guest(), paths=source_of(engine, conn, world.guest()))
    # gus keeps the blue room; the lost room is not theirs: its capacity and access mode read None
    assert [r.get("seats") for r in records] == [10, None]
    assert list(failed) == [0]


def test_the_bulk_path_reads_paths_by_one_query_per_prefix(world_engine):
    engine, world = world_engine
    validator = engine.records.validator("booking")
    rows = [{"subject": f"s{i}", "room": list(world.rooms.values())[i % 5], "badge_number": "B"} for i in range(1200)]
    with engine.db.connect() as conn, statements_of(engine) as statements:
        records, failed = validator.load_many(rows, SYSTEM_ACTOR, paths=source_of(engine, conn))
    assert len(statements) == 1 and not failed  # one prefix (room), five distinct ids: one chunk
    assert [r["seats"] for r in records[:5]] == [10, 4, 30, 2, None]


def test_a_guard_action_and_on_enter_read_paths(world_engine):
    engine, world = world_engine
    flow = engine.records.workflow_of("booking")
    transition = flow.transition("confirm")
    with engine.db.connect() as conn:
        source = path_source(conn, path_reader(engine.model, engine.tables, engine.records.permissions, SYSTEM_ACTOR),
                             "booking", flow.paths)
        blue, red, none = (engine.records.get("booking", world.bookings[n]) for n in ("b_blue", "b_red", "b_none"))
        paths_blue, paths_red, paths_none = source([blue, red, none])
    flow.check_guard(transition, blue, paths=paths_blue)  # Lyon is in the North
    for record, paths in ((red, paths_red), (none, paths_none), (blue, None)):
        with pytest.raises(TransitionError) as refused:
            flow.check_guard(transition, record, paths=paths)
        assert refused.value.message("fr") == "Seulement les salles du Nord"
    assert [t.name for t, why in flow.available(blue, SYSTEM_ACTOR, paths=paths_blue) if why is None] == ["confirm"]
    assert flow.run_action(None, transition.actions[0], transition, blue, {}, paths=paths_blue) == {"seats": 20}
    assert flow.on_enter("confirmed", blue, paths=paths_blue) == {"note": "Lyon"}
    assert flow.on_enter("confirmed", none, paths=paths_none) == {"note": None}
