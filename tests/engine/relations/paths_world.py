"""Helpers of the path tests (a uniquely named module, imported by them): the paths pack (regions,
sites, rooms, bookings, linked by `link` only) and a small world of records in it."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR
from engine.core.context import Actor

PATHS_PACK = Path(__file__).resolve().parent / "paths_pack"


@contextmanager
def statements_of(engine: Any) -> Iterator[list[str]]:
    """The SQL statements the engine's database runs inside the block, in order."""
    statements: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", listen)


def paths_model() -> metamodel.model.Model:
    return metamodel.load_model([PATHS_PACK])


@dataclass
class World:
    """Ids of the records made by `build_world`, by name."""

    users: dict[str, int]
    regions: dict[str, int]
    sites: dict[str, int]
    rooms: dict[str, int]
    bookings: dict[str, int]

    def guest(self) -> Actor:
        """Reads every booking, only the rooms they keep, sites without their city."""
        return Actor(user_id=self.users["gus"], username="gus", roles=frozenset({"guest"}))


def build_world(engine: Any) -> World:
    """Two regions, three sites (one trashed, one without region), rooms with and without a site
    (one kept by gus), bookings with every link set, empty, or to a trashed record."""
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    users = {name: create("user", {"username": name}) for name in ("gus", "ann")}
    regions = {name: create("region", {"name": name}) for name in ("North", "South")}
    sites = {
        "lyon": create("site", {"name": "Lyon", "city": "Lyon", "region": regions["North"],
                                "opened_on": dt.date(2020, 5, 1)}),
        "nice": create("site", {"name": "Nice", "city": "Nice", "region": regions["South"]}),
        "gone": create("site", {"name": "Gone", "city": "Nowhere", "region": regions["North"]}),
        "bare": create("site", {"name": "Bare"}),
    }
    rooms = {
        "blue": create("room", {"name": "Blue", "site": sites["lyon"], "access_mode": "controlled", "capacity": 10,
                                "price": "12.50", "keeper": users["gus"]}),
        "red": create("room", {"name": "Red", "site": sites["nice"], "access_mode": "open", "capacity": 4}),
        "lost": create("room", {"name": "Lost", "site": sites["gone"], "access_mode": "controlled", "capacity": 30}),
        "loose": create("room", {"name": "Loose", "capacity": 2}),
        "bare": create("room", {"name": "Bare room", "site": sites["bare"], "access_mode": "open",
                                "keeper": users["gus"]}),
    }
    bookings = {
        "b_blue": create("booking", {"subject": "Blue talk", "room": rooms["blue"], "backup_room": rooms["red"],
                                      "badge_number": "B1"}),
        "b_red": create("booking", {"subject": "Red talk", "room": rooms["red"]}),
        "b_lost": create("booking", {"subject": "Lost talk", "room": rooms["lost"], "backup_room": rooms["blue"],
                                      "badge_number": "B2"}),
        "b_loose": create("booking", {"subject": "Loose talk", "room": rooms["loose"]}),
        "b_none": create("booking", {"subject": "No room"}),
        "b_bare": create("booking", {"subject": "Bare talk", "room": rooms["bare"]}),
    }
    engine.records.delete("site", sites["gone"], SYSTEM_ACTOR)
    return World(users, regions, sites, rooms, bookings)
