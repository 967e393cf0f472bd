"""Paths read from the database (engine/records/paths.py): `path_values` for records given as
dicts, set-based, and `PathJoins`, whose LEFT OUTER JOINs give the same values as columns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR
from engine.records.paths import LOOKUP_CHUNK, PathJoins, path_reader, path_values

from paths_world import build_world, paths_model, statements_of

PATHS = ("room.name", "room.capacity", "room.price", "room.site", "room.site.name", "room.site.city",
         "room.site.opened_on", "room.site.region.name", "backup_room.name", "room.keeper.username", "subject")


@pytest.fixture
def world_engine(make_engine, clock):
    engine = make_engine(paths_model(), clock=clock)
    return engine, build_world(engine)


def reader_of(engine, actor=SYSTEM_ACTOR):
    return path_reader(engine.model, engine.tables, engine.records.permissions, actor)


def read(engine, rows, paths=PATHS, actor=SYSTEM_ACTOR):
    with engine.db.connect() as conn:
        return path_values(conn, reader_of(engine, actor), "booking", paths, rows)


def test_values_follow_every_link_and_give_none_past_an_empty_or_trashed_one(world_engine):
    engine, world = world_engine
    rows = [{"room": world.rooms["blue"], "backup_room": world.rooms["red"]},  # unsaved: no id
            {"room": world.rooms["lost"]},                                     # its site is trashed
            {"room": world.rooms["loose"]},                                    # no site
            {"room": None}, {}]
    blue, lost, loose, empty, missing = read(engine, rows)
    assert blue == {"room.name": "Blue", "room.capacity": 10, "room.price": Decimal("12.50"),
                    "room.site": world.sites["lyon"], "room.site.name": "Lyon", "room.site.city": "Lyon",
                    "room.site.opened_on": dt.date(2020, 5, 1), "room.site.region.name": "North",
                    "backup_room.name": "Red", "room.keeper.username": "gus"}
    assert lost["room.name"] == "Lost" and lost["room.site"] == world.sites["gone"]
    assert lost["room.site.name"] is None and lost["room.site.region.name"] is None
    assert loose["room.capacity"] == 2 and loose["room.site.name"] is None and loose["backup_room.name"] is None
    assert set(empty.values()) == {None} and set(missing.values()) == {None}
    assert len(blue) == len(PATHS) - 1  # a plain name is the row's own


def test_a_link_to_no_record_gives_none(world_engine):
    engine, _ = world_engine
    assert read(engine, [{"room": 10**9}], ("room.name",)) == [{"room.name": None}]


def test_the_actor_reads_nothing_out_of_scope_nor_hidden(world_engine):
    engine, world = world_engine
    guest = world.guest()
    blue, red = read(engine, [{"room": world.rooms["blue"]}, {"room": world.rooms["red"]}], actor=guest)
    assert blue["room.name"] == "Blue" and blue["room.site.name"] == "Lyon"  # gus keeps the blue room
    assert blue["room.site.city"] is None  # hidden from guests
    assert set(red.values()) == {None}  # the red room is not theirs: nothing through it


def test_one_statement_per_prefix_whatever_the_rows(world_engine):
    engine, world = world_engine
    rows = [{"room": room, "backup_room": room} for room in world.rooms.values()] * 300
    with statements_of(engine) as statements:
        values = read(engine, rows)
    # prefixes: room, room.site, room.site.region, room.keeper, backup_room
    assert len(statements) == 5 and len(values) == len(rows)
    assert values[0] == read(engine, rows[:1])[0]


def test_ids_are_read_in_chunks(world_engine, monkeypatch):
    engine, world = world_engine
    monkeypatch.setattr("engine.records.paths.LOOKUP_CHUNK", 2)
    rows = [{"room": room} for room in world.rooms.values()]
    assert read(engine, rows, ("room.name",)) == [{"room.name": n} for n in ("Blue", "Red", "Lost", "Loose", "Bare room")]
    assert LOOKUP_CHUNK == 500


@pytest.mark.parametrize("actor", ["system", "guest"])
def test_joins_give_the_values_path_values_gives(world_engine, actor):
    engine, world = world_engine
    who = SYSTEM_ACTOR if actor == "system" else world.guest()
    table = engine.tables.of("booking")
    joins = PathJoins(reader_of(engine, who), "booking", table)
    columns = [joins.labelled(text) for text in PATHS]
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.room, table.c.backup_room, *columns)
                            .select_from(joins.select_from(*columns)).order_by(table.c.id)).mappings().all()
    stored = [dict(row) for row in rows]
    expected = read(engine, stored, actor=who)
    assert len(stored) == len(world.bookings)
    for row, values in zip(stored, expected):
        assert {text: row[text] for text in values} == values


def test_a_prefix_is_joined_once_and_only_when_read(world_engine):
    engine, _ = world_engine
    table = engine.tables.of("booking")
    joins = PathJoins(reader_of(engine), "booking", table)
    name, city, backup = (joins.column(t) for t in ("room.site.name", "room.site.city", "backup_room.name"))
    assert name.table is city.table and backup.table is not name.table
    assert str(joins.select_from(table.c.subject)) == str(table)
    only_room = str(joins.select_from(joins.column("room.name")))
    assert only_room.count("JOIN") == 1
    assert str(joins.select_from(name, backup)).count("LEFT OUTER JOIN") == 3
