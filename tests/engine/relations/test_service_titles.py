"""The record service's titles read the paths their template names (`"{subject} ({room.name})"` in
the relations test pack), one query per path prefix for all the records titled."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR

from relations_world import eng, relations_model  # noqa: F401 (fixtures)
from collections_world import statements  # noqa: F401 (fixture)



@pytest.fixture
def bookings(eng) -> list[int]:
    create = lambda entity, values: eng.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    site = create("site", {"name": "Lyon", "region": create("region", {"name": "North"})})
    rooms = [create("room", {"name": name, "site": site, "access_mode": "free"}) for name in ("Blue", "Red")]
    return [create("booking", {"subject": f"Talk {i}", "room": rooms[i % 2]}) for i in range(4)]


def test_titles_choices_searches_and_trash_read_paths(eng, bookings):
    names = {i: f"Talk {n} ({'Blue' if n % 2 == 0 else 'Red'})" for n, i in enumerate(bookings)}
    assert eng.records.titles("booking", bookings) == names
    assert eng.records.choices("booking", limit=10) == list(names.items())
    assert eng.records.search_titles("booking", "talk 1") == [(bookings[1], names[bookings[1]])]
    assert eng.records.titles_where("booking", "subject", "Talk 2") == [(bookings[2], names[bookings[2]])]
    eng.records.delete("booking", bookings[3], SYSTEM_ACTOR)
    assert [(t["id"], t["title"]) for t in eng.records.trashed("booking")] == [(bookings[3], names[bookings[3]])]


def test_titles_of_many_records_cost_as_many_statements_as_of_one(eng, bookings, statements):
    statements.clear()
    eng.records.titles("booking", bookings[:1])
    one = len(statements)
    statements.clear()
    eng.records.titles("booking", bookings)
    assert len(statements) == one
