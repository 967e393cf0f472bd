"""`links` members in writes and reads: a list of ids (the new set), read back sorted; count rules
at their boundaries; shapes refused; members must be live records the actor may read; audit and
history of membership changes; a constant number of statements whatever the number of records."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.core.errors import BatchValidationError, RecordValidationError
from metamodel.model import MAX_LINKS

from collections_world import (  # noqa: F401 (fixtures)
    create_event, refused, collections_model, contacts, eng, members, rooms, rules, statements, user,
)


def test_members_are_read_sorted_and_duplicates_collapse(eng, contacts):
    event = create_event(eng, attendees=[contacts[2], contacts[0], contacts[2]], speakers=[str(contacts[1]), 3.0])
    assert event["attendees"] == [contacts[0], contacts[2]] and event["speakers"] == sorted({contacts[1], 3})
    assert eng.records.get("event", event["id"])["attendees"] == [contacts[0], contacts[2]]
    assert members(eng, "event", "attendees") == [(event["id"], contacts[0]), (event["id"], contacts[2])]
    assert create_event(eng)["attendees"] == [] and create_event(eng, attendees=None)["attendees"] == []


def test_an_update_replaces_the_set_with_one_delete_and_one_insert(eng, contacts, clock):
    event = create_event(eng, attendees=contacts[:3])
    at = clock.advance(hours=1)
    updated = eng.records.update("event", event["id"], {"attendees": [contacts[1], contacts[3]]}, SYSTEM_ACTOR)
    assert updated["attendees"] == [contacts[1], contacts[3]]
    assert (updated["version"], updated["updated_at"]) == (2, at)
    assert members(eng, "event", "attendees") == [(event["id"], contacts[1]), (event["id"], contacts[3])]
    entry = eng.records.audit_log("event", event["id"])[-1]
    assert entry["action"] == "update" and entry["changes"] == {"attendees": [contacts[:3], [contacts[1], contacts[3]]]}
    emptied = eng.records.update("event", event["id"], {"attendees": []}, SYSTEM_ACTOR)
    assert emptied["attendees"] == [] and members(eng, "event", "attendees") == []


def test_the_same_set_again_changes_nothing(eng, contacts):
    event = create_event(eng, attendees=[contacts[0], contacts[1]])
    again = eng.records.update("event", event["id"], {"attendees": [contacts[1], contacts[0], contacts[1]]}, SYSTEM_ACTOR)
    assert again["version"] == 1
    assert [e["action"] for e in eng.records.audit_log("event", event["id"])] == ["create"]


def test_historized_members_keep_their_periods(eng, contacts, clock):
    event = create_event(eng, attendees=[contacts[0]])
    at = clock.advance(days=1)
    eng.records.update("event", event["id"], {"attendees": [contacts[0], contacts[4]]}, SYSTEM_ACTOR)
    periods = eng.records.history("event", event["id"], "attendees")
    assert [(p["value"], p["valid_to"]) for p in periods] == [([contacts[0]], at), ([contacts[0], contacts[4]], None)]
    assert eng.records.value_as_of("event", event["id"], "attendees", at.date().replace(day=at.day - 1)) == [contacts[0]]


@pytest.mark.parametrize("count, rule", [(3, None), (4, "max_count")])
def test_max_members_boundary(eng, collections_model, contacts, count, rule):
    assert collections_model.entity("event").field("attendees").max == 3
    values = {"subject": "x", "attendees": contacts[:count]}
    if rule is None:
        assert eng.records.create("event", values, SYSTEM_ACTOR)["attendees"] == sorted(contacts[:count])
    else:
        assert refused(eng.records.create, "event", values, SYSTEM_ACTOR) == {"attendees": rule}


def test_a_list_longer_than_max_is_refused_before_its_items_are_read(eng, contacts):
    """Even made of one id repeated: its size is checked first (and the message says both numbers)."""
    with pytest.raises(RecordValidationError) as raised:
        create_event(eng, attendees=[contacts[0]] * 4 + ["not an id"])
    (error,) = raised.value.errors["attendees"]
    assert error.rule == "max_count"
    assert error.message("en") == "At most 3 allowed, 5 given."
    assert error.message("fr") == "Au plus 3 autorisé(s), 5 donné(s)."


def test_the_default_max_is_the_ceiling(collections_model):
    assert collections_model.entity("event").field("speakers").max == MAX_LINKS


@pytest.mark.parametrize("count, rule", [(0, "mandatory"), (1, "min_count"), (2, None), (4, None), (5, "max_count")])
def test_min_max_and_mandatory_counts(eng, contacts, count, rule):
    values = {"name": "Board", "members": contacts[:count]}
    if rule is None:
        assert eng.records.create("committee", values, SYSTEM_ACTOR)["members"] == sorted(contacts[:count])
    else:
        assert refused(eng.records.create, "committee", values, SYSTEM_ACTOR) == {"members": rule}


def test_min_is_checked_on_update(eng, contacts):
    board = eng.records.create("committee", {"name": "Board", "members": contacts[:2]}, SYSTEM_ACTOR)
    assert refused(eng.records.update, "committee", board["id"], {"members": [contacts[0]]}, SYSTEM_ACTOR) == {
        "members": "min_count"
    }
    with pytest.raises(RecordValidationError) as raised:
        eng.records.update("committee", board["id"], {"members": [contacts[0]]}, SYSTEM_ACTOR)
    assert raised.value.errors["members"][0].message("fr") == "Au moins 2 attendu(s), 1 donné(s)."


def test_mandatory_when_counts_members(eng, contacts):
    assert refused(eng.records.create, "event", {"subject": "x", "big": True}, SYSTEM_ACTOR) == {"speakers": "mandatory"}
    event = create_event(eng, big=True, speakers=[contacts[0]])
    assert refused(eng.records.update, "event", event["id"], {"speakers": []}, SYSTEM_ACTOR) == {"speakers": "mandatory"}
    small = create_event(eng)
    # the condition turning true on an update of another characteristic
    assert refused(eng.records.update, "event", small["id"], {"big": True}, SYSTEM_ACTOR) == {"speakers": "mandatory"}


@pytest.mark.parametrize("value", ["1,2", 3, {"id": 1}, [1, "x"], [True], [1.5], [0], [-2], [[1]], [None]])
def test_shapes_refused(eng, contacts, value):
    with pytest.raises(RecordValidationError) as raised:
        create_event(eng, attendees=value)
    (error,) = raised.value.errors["attendees"]
    assert error.rule == "links_shape"
    assert error.message("fr") == "Une liste d'identifiants d'enregistrements est attendue."


def test_members_must_be_live_records_the_actor_may_read(eng, contacts):
    eng.records.delete("contact", contacts[4], SYSTEM_ACTOR)
    with pytest.raises(RecordValidationError) as raised:
        create_event(eng, attendees=[contacts[0], contacts[4], 999_999])
    assert [(e.rule, e.params["value"]) for e in raised.value.errors["attendees"]] == [
        ("link", contacts[4]), ("link", 999_999)
    ]
    guest = user(eng, "gus", "guest")
    # a guest reads only the contacts they created: another's is refused as a missing one
    kept = eng.records.create("contact", {"name": "kept", "keeper": guest.user_id}, SYSTEM_ACTOR)["id"]
    with pytest.raises(RecordValidationError) as raised:
        eng.records.create("event", {"subject": "x", "speakers": [kept, contacts[0]]}, guest)
    assert [(e.rule, e.params["value"]) for e in raised.value.errors["speakers"]] == [("link", contacts[0])]


def test_a_member_trashed_later_stays_and_does_not_block_other_changes(eng, contacts):
    event = create_event(eng, attendees=[contacts[0], contacts[1]])
    eng.records.delete("contact", contacts[1], SYSTEM_ACTOR)
    kept = eng.records.update("event", event["id"], {"attendees": [contacts[1], contacts[2]]}, SYSTEM_ACTOR)
    assert kept["attendees"] == [contacts[1], contacts[2]]


def test_create_many_is_all_or_nothing_with_errors_by_row(eng, contacts):
    with pytest.raises(BatchValidationError) as raised:
        eng.records.create_many("event", [
            {"subject": "a", "attendees": contacts[:2]},
            {"subject": "b", "attendees": [999_999]},
            {"subject": "c", "attendees": "x"},
        ], SYSTEM_ACTOR)
    assert {i: rules(e) for i, e in raised.value.rows.items()} == {1: {"attendees": "link"}, 2: {"attendees": "links_shape"}}
    assert members(eng, "event", "attendees") == []
    ids = eng.records.create_many("event", [{"subject": "a", "attendees": contacts[:2]}, {"subject": "b"}], SYSTEM_ACTOR)
    assert members(eng, "event", "attendees") == [(ids[0], contacts[0]), (ids[0], contacts[1])]


def test_update_many_changes_members_row_by_row(eng, contacts):
    ids = eng.records.create_many("event", [{"subject": f"e{i}", "attendees": [contacts[i]]} for i in range(3)], SYSTEM_ACTOR)
    result = eng.records.update_many("event", [
        {"id": ids[0], "attendees": [contacts[0], contacts[3]]},
        {"id": ids[1], "attendees": [contacts[1]]},
        {"id": ids[2], "attendees": [888_888]},
    ], SYSTEM_ACTOR, partial=True)
    assert result.written == {0: (ids[0], 2), 1: (ids[1], 1)}
    assert rules(result.failed[2]) == {"attendees": "link"}
    assert members(eng, "event", "attendees") == sorted(
        [(ids[0], contacts[0]), (ids[0], contacts[3]), (ids[1], contacts[1]), (ids[2], contacts[2])]
    )


def batch_statements(eng, contacts, statements, n: int) -> tuple[int, int, int]:
    """Statements sent by create_many, update_many and reading back, for `n` events."""
    statements.clear()
    ids = eng.records.create_many(
        "event", [{"subject": f"e{i}", "attendees": contacts[:2], "speakers": [contacts[i % 5]]} for i in range(n)],
        SYSTEM_ACTOR,
    )
    created = len(statements)
    statements.clear()
    eng.records.update_many(
        "event", [{"id": i, "attendees": contacts[1:4], "speakers": []} for i in ids], SYSTEM_ACTOR,
    )
    updated = len(statements)
    statements.clear()
    with eng.records.reading(SYSTEM_ACTOR) as tx:
        rows = tx._rows("event", ids)
    assert all(rows[i]["attendees"] == sorted(contacts[1:4]) and rows[i]["speakers"] == [] for i in ids)
    return created, updated, len(statements)


def test_statements_do_not_grow_with_the_number_of_records(eng, contacts, statements):
    one = batch_statements(eng, contacts, statements, 1)
    fifty = batch_statements(eng, contacts, statements, 50)
    assert one == fifty


def test_rules_of_other_characteristics_read_the_members_as_they_will_be(eng, contacts):
    """stage_note is mandatory when the event has four speakers or more."""
    assert refused(eng.records.create, "event", {"subject": "x", "speakers": contacts[:4]}, SYSTEM_ACTOR) == {
        "stage_note": "mandatory"
    }
    event = create_event(eng, speakers=contacts[:3])
    assert refused(eng.records.update, "event", event["id"], {"speakers": contacts[:4]}, SYSTEM_ACTOR) == {
        "stage_note": "mandatory"
    }
    assert eng.records.update("event", event["id"], {"speakers": contacts[:4], "stage_note": "mics"}, SYSTEM_ACTOR)[
        "speakers"] == contacts[:4]
    with pytest.raises(BatchValidationError) as raised:
        eng.records.create_many("event", [{"subject": "a", "speakers": contacts[:3]},
                                          {"subject": "b", "speakers": contacts[:4]}], SYSTEM_ACTOR)
    assert {i: rules(e) for i, e in raised.value.rows.items()} == {1: {"stage_note": "mandatory"}}
    result = eng.records.update_many("event", [{"id": event["id"], "speakers": contacts[:5], "stage_note": ""}],
                                     SYSTEM_ACTOR, partial=True)
    assert rules(result.failed[0]) == {"stage_note": "mandatory"}
