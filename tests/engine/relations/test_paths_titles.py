"""Titles whose placeholders are paths through links (`"{subject} ({room.name}, {room.site.name})"`):
read set-based for all the records titled (one query per path prefix), empty through an empty
link, a trashed record or one the reader may not read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR
from engine.records.paths import path_reader
from engine.records.titles import TitleTemplate, render_titles

from paths_world import build_world, paths_model, statements_of


@pytest.fixture
def world_engine(make_engine, clock):
    engine = make_engine(paths_model(), clock=clock)
    return engine, build_world(engine)


def titles(engine, entity, ids, actor=SYSTEM_ACTOR, hidden=frozenset()):
    template = TitleTemplate(engine.model.entity(entity), hidden, engine.model)
    table = engine.tables.of(entity)
    reader = path_reader(engine.model, engine.tables, engine.records.permissions, actor)
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, *(table.c[n] for n in template.columns))
                            .where(table.c.id.in_(ids)).order_by(table.c.id)).mappings().all()
        return render_titles(conn, reader, template, rows)


def test_a_template_names_its_paths_and_the_columns_they_start_from(world_engine):
    engine, _ = world_engine
    template = TitleTemplate(engine.model.entity("booking"), model=engine.model)
    assert template.paths == ("room.name", "room.site.name") and template.columns == ("subject", "room")


def test_titles_read_paths(world_engine):
    engine, world = world_engine
    assert titles(engine, "booking", list(world.bookings.values())) == [
        "Blue talk (Blue, Lyon)", "Red talk (Red, Nice)", "Lost talk (Lost)", "Loose talk (Loose)",
        "No room", "Bare talk (Bare room, Bare)"]
    assert titles(engine, "room", [world.rooms["blue"], world.rooms["loose"]]) == ["Blue [Lyon]", "Loose"]


def test_a_title_shows_nothing_the_reader_may_not_read(world_engine):
    engine, world = world_engine
    guest = world.guest()
    assert titles(engine, "booking", [world.bookings["b_blue"], world.bookings["b_red"]], guest) == [
        "Blue talk (Blue, Lyon)", "Red talk"]
    assert titles(engine, "room", [world.rooms["blue"]], guest) == ["Blue"]  # the city is hidden from guests


def test_a_hidden_first_link_or_no_model_falls_back_to_the_first_string(world_engine):
    engine, _ = world_engine
    booking = engine.model.entity("booking")
    assert TitleTemplate(booking, frozenset({"room"}), engine.model).template == "{subject}"
    assert TitleTemplate(booking).template == "{subject}"


def test_titles_of_many_records_read_each_prefix_once(world_engine):
    engine, world = world_engine
    for i in range(40):
        engine.records.create("booking", {"subject": f"More {i}", "room": world.rooms["red"]}, SYSTEM_ACTOR)
    with statements_of(engine) as statements:
        found = titles(engine, "booking", list(range(1, 100)))
    assert len(found) == 46 and found[-1] == "More 39 (Red, Nice)"
    assert len(statements) == 3  # the records, then the rooms, then their sites
