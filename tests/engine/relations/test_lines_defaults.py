"""Lines whose rules read paths through their owner (`served_in: default_expr: "parent_id.room"` in
the relations test pack): the owner's values as they will be, saved or not, read set-based."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR

from relations_world import eng, relations_model  # noqa: F401 (fixtures)
from collections_world import statements  # noqa: F401 (fixture)



@pytest.fixture
def rooms(eng) -> list[int]:
    create = lambda entity, values: eng.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    region = create("region", {"name": "North"})
    site = create("site", {"name": "Lyon", "region": region})
    return [create("room", {"name": name, "site": site, "access_mode": "free", "capacity": seats})
            for name, seats in (("Blue", 10), ("Red", 4))]


def test_a_new_owners_lines_read_its_values(eng, rooms):
    booking = eng.records.create("booking", {
        "subject": "Talk", "room": rooms[0], "meals": [{"dish": "Soup"}, {"dish": "Cake", "served_in": rooms[1]}],
    }, SYSTEM_ACTOR)
    assert booking["seats"] == 10  # the owner's own default reads room.capacity
    assert [(m["dish"], m["served_in"], m["quantity"]) for m in booking["meals"]] == [
        ("Soup", rooms[0], 1), ("Cake", rooms[1], 1)
    ]


def test_new_lines_of_a_changed_owner_read_it_as_it_will_be(eng, rooms):
    booking = eng.records.create("booking", {"subject": "Talk", "room": rooms[0], "meals": [{"dish": "Soup"}]},
                                 SYSTEM_ACTOR)
    soup = booking["meals"][0]["id"]
    updated = eng.records.update("booking", booking["id"], {
        "room": rooms[1], "meals": [{"id": soup}, {"dish": "Tea"}],
    }, SYSTEM_ACTOR)
    assert [(m["dish"], m["served_in"]) for m in updated["meals"]] == [("Soup", rooms[0]), ("Tea", rooms[1])]


def test_create_many_reads_the_paths_once_for_all_the_lines(eng, rooms, statements):
    def sent(n: int) -> int:
        statements.clear()
        ids = eng.records.create_many("booking", [
            {"subject": f"b{i}", "room": rooms[i % 2], "meals": [{"dish": "Soup"}, {"dish": "Tea"}]} for i in range(n)
        ], SYSTEM_ACTOR)
        count = len(statements)
        for i, record_id in enumerate(ids):
            assert [m["served_in"] for m in eng.records.get("booking", record_id)["meals"]] == [rooms[i % 2]] * 2
        return count

    assert sent(1) == sent(50)
