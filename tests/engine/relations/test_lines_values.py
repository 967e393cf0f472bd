"""`lines` in writes and reads: read in position order (id, position, the owned entity's values);
written with their owner (id: that line changed, no id: a new line, absent: deleted, order:
position); each line checked by the owned entity's rules, errors keyed `meals.2.dish`; count rules;
audit summary; a constant number of statements whatever the number of records."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.access.permissions import PermissionDenied
from engine.core.errors import BatchValidationError, RecordValidationError
from metamodel.model import MAX_LINES

from collections_world import (  # noqa: F401 (fixtures)
    create_event, refused, collections_model, contacts, eng, members, rooms, rules, statements, stored_lines,
)


def shown(lines) -> list[tuple]:
    return [(line["position"], line["dish"], line["quantity"]) for line in lines]


def test_lines_are_created_with_defaults_and_read_in_order(eng, rooms):
    event = create_event(eng, meals=[{"dish": "Soup", "served_in": rooms[0]}, {"dish": "Cake", "quantity": 4}])
    assert shown(event["meals"]) == [(0, "Soup", 1), (1, "Cake", 4)]  # quantity's default is 1
    first = event["meals"][0]
    assert set(first) == {"id", "position", "dish", "quantity", "served_in", "guests"}  # no parent_id, no system column
    assert first["served_in"] == rooms[0]
    assert eng.records.get("event", event["id"])["meals"] == event["meals"]
    rows = stored_lines(eng)
    assert [(r["parent_id"], r["position"], r["version"]) for r in rows] == [(event["id"], 0, 1), (event["id"], 1, 1)]
    assert create_event(eng)["meals"] == []


def test_an_update_keeps_changes_reorders_adds_and_deletes_lines(eng, clock):
    event = create_event(eng, meals=[{"dish": "Soup"}, {"dish": "Fish"}, {"dish": "Cake"}])
    soup, fish, cake = (line["id"] for line in event["meals"])
    at = clock.advance(hours=2)
    updated = eng.records.update("event", event["id"], {"meals": [
        {"id": cake, "quantity": 2},  # moved first, quantity changed
        {"dish": "Tea"},  # new
        {"id": soup},  # kept as it is, moved
    ]}, SYSTEM_ACTOR)  # fish deleted
    assert [(line.get("id"), *row) for line, row in zip(updated["meals"], shown(updated["meals"]))] == [
        (cake, 0, "Cake", 2), (updated["meals"][1]["id"], 1, "Tea", 1), (soup, 2, "Soup", 1),
    ]
    assert (updated["version"], updated["updated_at"]) == (2, at)
    assert fish not in {r["id"] for r in stored_lines(eng)}
    changes = eng.records.audit_log("event", event["id"])[-1]["changes"]
    tea = updated["meals"][1]["id"]
    assert changes == {"meals": [
        {"removed": [fish], "changed": [{"id": cake, "quantity": 1, "position": 2}, {"id": soup, "position": 0}]},
        {"added": [{"id": tea, "position": 1, "dish": "Tea", "quantity": 1}],
         "changed": [{"id": cake, "quantity": 2, "position": 0}, {"id": soup, "position": 2}]},
    ]}


def test_lines_as_read_sent_back_change_nothing(eng):
    event = create_event(eng, meals=[{"dish": "Soup"}, {"dish": "Cake", "quantity": 3}])
    again = eng.records.update("event", event["id"], {"meals": event["meals"]}, SYSTEM_ACTOR)
    assert again["version"] == 1 and again["meals"] == event["meals"]
    assert [e["action"] for e in eng.records.audit_log("event", event["id"])] == ["create"]


def test_a_changed_line_moves_its_own_version(eng):
    event = create_event(eng, meals=[{"dish": "Soup"}, {"dish": "Cake"}])
    soup, cake = (line["id"] for line in event["meals"])
    eng.records.update("event", event["id"], {"meals": [{"id": soup, "dish": "Broth"}, {"id": cake}]}, SYSTEM_ACTOR)
    assert [(r["id"], r["dish"], r["version"]) for r in stored_lines(eng)] == [(soup, "Broth", 2), (cake, "Cake", 1)]


def test_each_line_is_checked_by_the_owned_entity_rules(eng, rooms):
    with pytest.raises(RecordValidationError) as raised:
        create_event(eng, meals=[
            {"dish": "Tea", "colour": "red", "parent_id": 1, "position": 7},
            {"quantity": 0},
            {"dish": "x" * 21, "quantity": "many", "served_in": 999_999},
        ])
    assert rules(raised.value.errors) == {
        "meals.0.colour": "unknown", "meals.0.parent_id": "readonly",
        "meals.1.dish": "mandatory", "meals.1.quantity": "min",
        "meals.2.dish": "max_length", "meals.2.quantity": "type", "meals.2.served_in": "link",
    }
    assert raised.value.errors["meals.1.dish"][0].message("fr") == "Ce champ est obligatoire."
    assert stored_lines(eng) == []


def test_a_line_linking_to_no_record_is_refused_where_it_is(eng, rooms):
    eng.records.delete("room", rooms[1], SYSTEM_ACTOR)
    assert refused(create_event, eng, meals=[{"dish": "a", "served_in": rooms[0]}, {"dish": "b", "served_in": rooms[1]}]) == {
        "meals.1.served_in": "link"
    }


def test_a_line_id_must_be_one_of_the_records_lines(eng):
    mine = create_event(eng, meals=[{"dish": "Soup"}])
    other = create_event(eng, meals=[{"dish": "Cake"}])
    foreign = other["meals"][0]["id"]
    with pytest.raises(RecordValidationError) as raised:
        eng.records.update("event", mine["id"], {"meals": [{"dish": "Tea"}, {"id": foreign, "dish": "Pie"}]}, SYSTEM_ACTOR)
    assert rules(raised.value.errors) == {"meals.1.id": "line_id"}
    assert raised.value.errors["meals.1.id"][0].message("en") == f"{foreign} is not the id of a line of this record."
    soup = mine["meals"][0]["id"]
    assert refused(eng.records.update, "event", mine["id"], {"meals": [{"id": soup}, {"id": soup}]}, SYSTEM_ACTOR) == {
        "meals.1.id": "line_repeated"
    }
    assert refused(eng.records.update, "event", mine["id"], {"meals": [{"id": "first"}]}, SYSTEM_ACTOR) == {
        "meals.0.id": "type"
    }
    # a new record has no lines yet: any id is foreign
    assert refused(create_event, eng, meals=[{"id": soup, "dish": "Soup"}]) == {"meals.0.id": "line_id"}
    assert eng.records.get("event", other["id"])["meals"][0]["dish"] == "Cake"


@pytest.mark.parametrize("value, where, rule", [
    ("Soup", "meals", "lines_shape"),
    ({"dish": "Soup"}, "meals", "lines_shape"),
    (["Soup"], "meals.0", "line_shape"),
    ([{"dish": "Soup"}, 3], "meals.1", "line_shape"),
])
def test_shapes_refused(eng, value, where, rule):
    with pytest.raises(RecordValidationError) as raised:
        create_event(eng, meals=value)
    assert rules(raised.value.errors) == {where: rule}
    assert raised.value.errors[where][0].message("fr").startswith("Une")


@pytest.mark.parametrize("count, rule", [(0, None), (3, None), (4, "max_count")])
def test_max_lines_boundary(eng, collections_model, count, rule):
    assert collections_model.entity("event").field("meals").max == 3 <= MAX_LINES
    values = {"subject": "x", "meals": [{"dish": f"d{i}"} for i in range(count)]}
    if rule is None:
        assert len(eng.records.create("event", values, SYSTEM_ACTOR)["meals"]) == count
    else:
        assert refused(eng.records.create, "event", values, SYSTEM_ACTOR) == {"meals": rule}


def test_max_is_checked_before_any_line_is_read(eng):
    """Four lines that would each be refused: only the count is reported."""
    assert refused(create_event, eng, meals=[{"quantity": "x"}] * 4) == {"meals": "max_count"}


def test_create_many_and_update_many_carry_lines(eng):
    with pytest.raises(BatchValidationError) as raised:
        eng.records.create_many("event", [{"subject": "a", "meals": [{"dish": "Soup"}]}, {"subject": "b", "meals": [{}]}],
                                SYSTEM_ACTOR)
    assert {i: rules(e) for i, e in raised.value.rows.items()} == {1: {"meals.0.dish": "mandatory"}}
    ids = eng.records.create_many("event", [{"subject": "a", "meals": [{"dish": "Soup"}]}, {"subject": "b"}], SYSTEM_ACTOR)
    soup = eng.records.get("event", ids[0])["meals"][0]["id"]
    result = eng.records.update_many("event", [
        {"id": ids[0], "version": 1, "meals": [{"id": soup, "quantity": 5}, {"dish": "Pie"}]},
        {"id": ids[1], "meals": [{"id": soup}]},
    ], SYSTEM_ACTOR, partial=True)
    assert result.written == {0: (ids[0], 2)} and rules(result.failed[1]) == {"meals.0.id": "line_id"}
    assert shown(eng.records.get("event", ids[0])["meals"]) == [(0, "Soup", 5), (1, "Pie", 1)]
    assert eng.records.get("event", ids[1])["meals"] == []


def batch_statements(eng, statements, n: int) -> tuple[int, int]:
    """Statements sent by create_many then update_many of `n` events with two lines each."""
    statements.clear()
    ids = eng.records.create_many(
        "event", [{"subject": f"e{i}", "meals": [{"dish": "Soup"}, {"dish": "Cake"}]} for i in range(n)], SYSTEM_ACTOR
    )
    created = len(statements)
    with eng.records.reading(SYSTEM_ACTOR) as tx:
        lines = {i: row["meals"] for i, row in tx._rows("event", ids).items()}
    statements.clear()
    eng.records.update_many("event", [
        {"id": i, "meals": [{"id": lines[i][1]["id"], "quantity": 2}, {"dish": "Tea"}]} for i in ids
    ], SYSTEM_ACTOR)
    return created, len(statements)


def test_statements_do_not_grow_with_the_number_of_records(eng, statements):
    assert batch_statements(eng, statements, 1) == batch_statements(eng, statements, 50)


def test_errors_after_a_refused_line_name_the_index_given(eng, rooms):
    """A line refused whole (not an object, a foreign id) keeps its place: the next line's error
    is at its own index."""
    eng.records.delete("room", rooms[1], SYSTEM_ACTOR)
    assert refused(create_event, eng, meals=["Soup", {"id": 99, "dish": "Pie"}, {"dish": "Tea", "served_in": rooms[1]}]) == {
        "meals.0": "line_shape", "meals.1.id": "line_id", "meals.2.served_in": "link",
    }


@pytest.mark.parametrize("count, rule", [(0, "min_count"), (1, "min_count"), (2, None), (4, None), (5, "max_count")])
def test_min_and_max_lines(eng, count, rule):
    values = {"name": "Board", "items": [{"topic": f"t{i}"} for i in range(count)]}
    if rule is None:
        assert [i["topic"] for i in eng.records.create("agenda", values, SYSTEM_ACTOR)["items"]] == [
            f"t{i}" for i in range(count)
        ]
    else:
        assert refused(eng.records.create, "agenda", values, SYSTEM_ACTOR) == {"items": rule}


def test_deleting_lines_below_min_is_refused(eng):
    agenda = eng.records.create("agenda", {"name": "Board", "items": [{"topic": "a"}, {"topic": "b"}]}, SYSTEM_ACTOR)
    kept = agenda["items"][0]["id"]
    with pytest.raises(RecordValidationError) as raised:
        eng.records.update("agenda", agenda["id"], {"items": [{"id": kept}]}, SYSTEM_ACTOR)
    assert rules(raised.value.errors) == {"items": "min_count"}
    assert raised.value.errors["items"][0].message("en") == "At least 2 expected, 1 given."
    assert len(eng.records.get("agenda", agenda["id"])["items"]) == 2


def test_unique_values_of_lines(eng):
    """A code held by another record's line, or by two lines of a write, is refused at the later
    line; the lines of a record may keep, swap or hand over their codes."""
    items = lambda *codes: [{"topic": f"t{i}", "code": code} for i, code in enumerate(codes)]  # noqa: E731
    first = eng.records.create("agenda", {"name": "A", "items": items("a", "b")}, SYSTEM_ACTOR)
    assert refused(eng.records.create, "agenda", {"name": "B", "items": items("c", "a")}, SYSTEM_ACTOR) == {
        "items.1.code": "unique"
    }
    assert refused(eng.records.create, "agenda", {"name": "B", "items": items("c", "c")}, SYSTEM_ACTOR) == {
        "items.1.code": "unique"
    }
    a, b = (line["id"] for line in first["items"])
    swapped = eng.records.update("agenda", first["id"], {"items": [{"id": a, "code": "b"}, {"id": b, "code": "a"}]},
                                 SYSTEM_ACTOR)
    assert [(line["id"], line["code"]) for line in swapped["items"]] == [(a, "b"), (b, "a")]
    handed = eng.records.update("agenda", first["id"], {"items": [{"id": a, "code": "z"}, {"topic": "new", "code": "b"}]},
                                SYSTEM_ACTOR)
    assert [line["code"] for line in handed["items"]] == ["z", "b"]
    with pytest.raises(BatchValidationError) as raised:
        eng.records.create_many("agenda", [{"name": "C", "items": items("c", "d")}, {"name": "D", "items": items("e", "c")}],
                                SYSTEM_ACTOR)
    assert {i: rules(e) for i, e in raised.value.rows.items()} == {1: {"items.1.code": "unique"}}


def test_lines_hold_members_of_their_own(eng, contacts, statements):
    """A meal's guests (a `links` of the owned entity): written, read, changed and checked with
    the line, errors at `meals.N.guests`; the lines of many records read their members at once."""
    event = create_event(eng, meals=[{"dish": "Soup", "guests": [contacts[1], contacts[0]]}, {"dish": "Cake"}])
    soup, cake = event["meals"]
    assert (soup["guests"], cake["guests"]) == ([contacts[0], contacts[1]], [])
    updated = eng.records.update("event", event["id"], {"meals": [
        {"id": cake["id"], "guests": [contacts[2]]}, {"id": soup["id"], "guests": [contacts[1]]}, {"dish": "Tea", "guests": [contacts[3]]},
    ]}, SYSTEM_ACTOR)
    assert [(m["dish"], m["guests"]) for m in updated["meals"]] == [
        ("Cake", [contacts[2]]), ("Soup", [contacts[1]]), ("Tea", [contacts[3]]),
    ]
    assert members(eng, "meal", "guests") == sorted(
        [(cake["id"], contacts[2]), (soup["id"], contacts[1]), (updated["meals"][2]["id"], contacts[3])]
    )
    eng.records.delete("contact", contacts[4], SYSTEM_ACTOR)
    assert refused(eng.records.update, "event", event["id"], {"meals": [
        {"dish": "Pie", "guests": contacts[:3]}, {"dish": "Jam", "guests": "x"}, {"dish": "Ham", "guests": [contacts[4]]},
    ]}, SYSTEM_ACTOR) == {"meals.0.guests": "max_count", "meals.1.guests": "links_shape", "meals.2.guests": "link"}
    eng.records.update("event", event["id"], {"meals": [{"id": cake["id"]}]}, SYSTEM_ACTOR)  # two lines deleted
    assert members(eng, "meal", "guests") == [(cake["id"], contacts[2])]
    ids = [create_event(eng, meals=[{"dish": "Soup", "guests": [contacts[0]]}])["id"] for _ in range(3)]
    statements.clear()
    with eng.records.reading(SYSTEM_ACTOR) as tx:
        rows = tx._rows("event", ids)
    assert all(rows[i]["meals"][0]["guests"] == [contacts[0]] for i in ids)
    assert len(statements) == 5  # the events, their attendees, speakers, meals, and the meals' guests
    eng.records.delete("event", event["id"], SYSTEM_ACTOR)
    eng.records.purge("event", event["id"], SYSTEM_ACTOR)
    assert members(eng, "meal", "guests") == [(line, contacts[0]) for i in ids for line in [rows[i]["meals"][0]["id"]]]


@pytest.mark.parametrize("write", [
    lambda eng, line: eng.records.create("meal", {"dish": "Soup", "parent_id": 1, "position": 0}, SYSTEM_ACTOR),
    lambda eng, line: eng.records.update("meal", line, {"dish": "Tea"}, SYSTEM_ACTOR),
    lambda eng, line: eng.records.delete("meal", line, SYSTEM_ACTOR),
    lambda eng, line: eng.records.create_many("meal", [{"dish": "Soup"}], SYSTEM_ACTOR),
    lambda eng, line: eng.records.mass_update("meal", [line], {"dish": "Tea"}, SYSTEM_ACTOR),
])
def test_lines_are_written_with_their_owner_only(eng, write):
    line = create_event(eng, meals=[{"dish": "Soup"}])["meals"][0]["id"]
    with pytest.raises(PermissionDenied) as raised:
        write(eng, line)
    assert "lines of event" in str(raised.value)
    assert eng.records.get("meal", line)["dish"] == "Soup"  # reading one is allowed
