"""`links` in a mass update: add, remove or replace members of every selected record, set-based
per chunk (statements constant in the number of records), count rules per record (refused ones
left unchanged and listed), audit and history rows; shapes and `lines` refused."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.core.errors import RecordValidationError

from collections_world import (  # noqa: F401 (fixtures)
    collections_model, contacts, eng, members, rules, statements, user,
)


@pytest.fixture
def events(eng, contacts) -> list[int]:
    return eng.records.create_many("event", [
        {"subject": "none"},
        {"subject": "c0", "attendees": [contacts[0]]},
        {"subject": "c0 c1", "attendees": [contacts[0], contacts[1]]},
        {"subject": "c1 c2 c3", "attendees": contacts[1:4]},
    ], SYSTEM_ACTOR)


def attendees(eng, ids) -> list[list[int]]:
    return [eng.records.get("event", i)["attendees"] for i in ids]


def test_add_members(eng, contacts, events, clock):
    at = clock.advance(hours=1)
    assert eng.records.preview_mass_update("event", events, {"attendees": {"add": [contacts[1]]}}, SYSTEM_ACTOR) == 2
    result = eng.records.mass_update("event", events, {"attendees": {"add": [contacts[1]]}}, SYSTEM_ACTOR)
    assert (result.matched, result.changed, result.refused) == (4, 2, {})
    assert attendees(eng, events) == [[contacts[1]], [contacts[0], contacts[1]], contacts[:2], contacts[1:4]]
    assert [eng.records.get("event", i)["version"] for i in events] == [2, 2, 1, 1]
    assert eng.records.audit_log("event", events[1])[-1]["changes"] == {
        "attendees": [[contacts[0]], [contacts[0], contacts[1]]]
    }
    periods = eng.records.history("event", events[0], "attendees")
    assert [(p["value"], p["valid_from"]) for p in periods][1:] == [([contacts[1]], at)]


def test_remove_members(eng, contacts, events):
    result = eng.records.mass_update("event", events, {"attendees": {"remove": [contacts[0], 999_999]}}, SYSTEM_ACTOR)
    assert result.changed == 2
    assert attendees(eng, events) == [[], [], [contacts[1]], contacts[1:4]]


@pytest.mark.parametrize("spelling", ["list", "replace"])
def test_replace_members(eng, contacts, events, spelling):
    value = [contacts[4], contacts[4]] if spelling == "list" else {"replace": [contacts[4]]}
    result = eng.records.mass_update("event", events, {"attendees": value}, SYSTEM_ACTOR)
    assert result.changed == 4 and attendees(eng, events) == [[contacts[4]]] * 4


def test_a_record_the_count_rules_refuse_is_left_unchanged(eng, contacts, events):
    """attendees hold at most 3: adding c4 to the event holding three is refused for it alone."""
    result = eng.records.mass_update("event", events, {"attendees": {"add": [contacts[4]]}, "big": False}, SYSTEM_ACTOR)
    assert list(result.refused) == [events[3]] and "At most 3" in result.refused[events[3]]
    assert result.changed == 3
    assert attendees(eng, events)[3] == contacts[1:4]
    assert eng.records.get("event", events[3])["version"] == 1


def test_members_and_values_changed_together(eng, contacts, events):
    result = eng.records.mass_update("event", events[:2], {"attendees": {"add": [contacts[0]]}, "subject": "x"},
                                     SYSTEM_ACTOR)
    assert result.changed == 2
    log = eng.records.audit_log("event", events[0])
    assert [(e["version"], e["changes"]) for e in log[1:]] == [
        (2, {"attendees": [[], [contacts[0]]]}), (3, {"subject": ["none", "x"]}),
    ]
    assert [(e["version"], e["changes"]) for e in eng.records.audit_log("event", events[1])[1:]] == [
        (2, {"subject": ["c0", "x"]})
    ]


@pytest.mark.parametrize("value, rule", [
    ({"add": [1], "remove": [2]}, "members_change"),
    ({"append": [1]}, "members_change"),
    ({"add": "1"}, "links_shape"),
    ({"add": [999_999]}, "link"),
    ([1, 2, 3, 4], "max_count"),
])
def test_values_refused_for_the_whole_selection(eng, contacts, events, value, rule):
    with pytest.raises(RecordValidationError) as raised:
        eng.records.mass_update("event", events, {"attendees": value}, SYSTEM_ACTOR)
    assert rules(raised.value.errors) == {"attendees": rule}


def test_lines_and_protected_links_are_refused(eng, contacts, events):
    with pytest.raises(RecordValidationError) as raised:
        eng.records.mass_update("event", events, {"meals": []}, SYSTEM_ACTOR)
    assert rules(raised.value.errors) == {"meals": "mass_lines"}
    editor = user(eng, "eda", "editor")
    with pytest.raises(RecordValidationError) as raised:
        eng.records.mass_update("event", events, {"speakers": {"add": [contacts[0]]}}, editor)
    assert rules(raised.value.errors) == {"speakers": "readonly"}


def test_statements_do_not_grow_with_the_number_of_records(eng, contacts, statements):
    def sent(n: int) -> int:
        ids = eng.records.create_many("event", [{"subject": "s", "attendees": [contacts[0]]} for _ in range(n)], SYSTEM_ACTOR)
        statements.clear()
        result = eng.records.mass_update("event", ids, {"attendees": {"add": [contacts[1]]}, "big": True,
                                                        "speakers": [contacts[2]]}, SYSTEM_ACTOR)
        assert result.changed == n
        return len(statements)

    assert sent(1) == sent(50)
