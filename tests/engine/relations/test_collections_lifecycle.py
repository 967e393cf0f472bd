"""Collections through a record's life: the trash keeps lines and members, a purge deletes them (and
removes a purged record from the sets holding it), a merge moves memberships to the record kept;
permissions: a hidden or read-only collection cannot be written, lines follow their owner."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR
from engine.core.errors import RecordValidationError
from engine.records.merging import merge

from collections_world import (  # noqa: F401 (fixtures)
    create_event, refused, collections_model, contacts, eng, members, rooms, rules, statements, stored_lines, user,
)


def test_the_trash_keeps_lines_and_members_and_restore_brings_them_back(eng, contacts):
    event = create_event(eng, attendees=contacts[:2], meals=[{"dish": "Soup"}])
    eng.records.delete("event", event["id"], SYSTEM_ACTOR)
    trashed = eng.records.get("event", event["id"], include_deleted=True)
    assert trashed["attendees"] == contacts[:2] and trashed["meals"] == event["meals"]
    restored = eng.records.restore("event", event["id"], SYSTEM_ACTOR)
    assert restored["attendees"] == contacts[:2] and restored["meals"] == event["meals"]


def test_purging_an_owner_deletes_its_lines_and_members(eng, contacts):
    event = create_event(eng, attendees=contacts[:2], speakers=[contacts[3]], meals=[{"dish": "Soup"}, {"dish": "Cake"}])
    other = create_event(eng, attendees=[contacts[0]], meals=[{"dish": "Tea"}])
    eng.records.delete("event", event["id"], SYSTEM_ACTOR)
    eng.records.purge("event", event["id"], SYSTEM_ACTOR)
    assert members(eng, "event", "attendees") == [(other["id"], contacts[0])]
    assert members(eng, "event", "speakers") == []
    assert [line["dish"] for line in stored_lines(eng)] == ["Tea"]
    purge = eng.records.audit_log("event", event["id"])[-1]
    assert purge["action"] == "purge"
    assert purge["changes"]["attendees"] == [contacts[:2], None]
    assert [line["dish"] for line in purge["changes"]["meals"][0]] == ["Soup", "Cake"]


def test_purging_a_member_removes_it_from_every_set(eng, contacts):
    first = create_event(eng, attendees=contacts[:2], speakers=[contacts[1]])
    second = create_event(eng, attendees=[contacts[1], contacts[2]], meals=[{"dish": "Soup", "guests": contacts[1:3]}])
    board = eng.records.create("committee", {"name": "Board", "members": contacts[1:4]}, SYSTEM_ACTOR)
    eng.records.delete("contact", contacts[1], SYSTEM_ACTOR)
    eng.records.purge("contact", contacts[1], SYSTEM_ACTOR)
    assert members(eng, "event", "attendees") == [(first["id"], contacts[0]), (second["id"], contacts[2])]
    assert members(eng, "event", "speakers") == []
    assert eng.records.get("committee", board["id"])["members"] == [contacts[2], contacts[3]]
    held = eng.records.get("event", second["id"])
    assert held["meals"][0]["guests"] == [contacts[2]]  # a line's members too, its owner changed
    line = held["meals"][0]["id"]
    assert (held["version"], eng.records.audit_log("event", second["id"])[-1]["changes"]) == (3, {"meals": [
        {"removed": [], "changed": [{"id": line, "guests": contacts[1:3]}]},
        {"added": [], "changed": [{"id": line, "guests": [contacts[2]]}]},
    ]})
    # the records that held it changed: version, audit, history of historized members
    assert [(e["version"], e["changes"]) for e in eng.records.audit_log("event", first["id"])[1:]] == [
        (2, {"attendees": [contacts[:2], [contacts[0]]]}), (3, {"speakers": [[contacts[1]], []]}),
    ]
    assert [p["value"] for p in eng.records.history("event", second["id"], "attendees")] == [
        [contacts[1], contacts[2]], [contacts[2]]
    ]


def test_merge_moves_memberships_without_a_pair_twice(eng, contacts, clock):
    keep, other = contacts[0], contacts[1]
    both = create_event(eng, attendees=[keep, other])
    only_other = create_event(eng, attendees=[other, contacts[2]], speakers=[other])
    neither = create_event(eng, attendees=[contacts[3]])
    at = clock.advance(hours=1)
    result = merge(eng.records, "contact", keep, other, [], SYSTEM_ACTOR)
    assert result["moved"] == {"event.attendees": 2, "event.speakers": 1}
    assert members(eng, "event", "attendees") == sorted([
        (both["id"], keep), (only_other["id"], keep), (only_other["id"], contacts[2]), (neither["id"], contacts[3])
    ])
    assert members(eng, "event", "speakers") == [(only_other["id"], keep)]
    moved = eng.records.get("event", only_other["id"])
    assert (moved["version"], moved["updated_at"]) == (3, at)  # one change per characteristic
    assert [(e["version"], e["changes"]) for e in eng.records.audit_log("event", only_other["id"])[1:]] == [
        (2, {"attendees": [[other, contacts[2]], [keep, contacts[2]]]}), (3, {"speakers": [[other], [keep]]})
    ]
    assert eng.records.get("event", both["id"])["attendees"] == [keep]
    periods = eng.records.history("event", both["id"], "attendees")  # attendees are historized
    assert [p["value"] for p in periods] == [[keep, other], [keep]]
    assert eng.records.get("event", neither["id"])["version"] == 1


def test_merge_of_records_members_of_their_own_entity(eng, contacts):
    """Committees naming committees: the kept one never becomes its own member."""
    make = lambda name, chairs=(): eng.records.create(  # noqa: E731
        "committee", {"name": name, "members": contacts[:2], "chairs": list(chairs)}, SYSTEM_ACTOR
    )["id"]
    other = make("Other")
    keep = make("Keep", [other])
    third = make("Third", [other, keep])
    merge(eng.records, "committee", keep, other, [], SYSTEM_ACTOR)
    assert members(eng, "committee", "chairs") == [(third, keep)]


def test_merge_takes_members_and_copies_lines(eng, contacts):
    keep = create_event(eng, attendees=[contacts[0]], meals=[{"dish": "Soup"}])
    other = create_event(eng, attendees=[contacts[1], contacts[2]], meals=[{"dish": "Cake"}, {"dish": "Tea"}])
    result = merge(eng.records, "event", keep["id"], other["id"], ["attendees", "meals"], SYSTEM_ACTOR)
    kept = result["record"]
    assert kept["attendees"] == [contacts[1], contacts[2]]
    assert [(m["position"], m["dish"]) for m in kept["meals"]] == [(0, "Cake"), (1, "Tea")]
    assert eng.records.get("event", other["id"], include_deleted=True)["meals"] == other["meals"]


def test_a_hidden_collection_is_left_out_of_reads_and_cannot_be_written(eng, contacts):
    guest = user(eng, "gus", "guest")
    event = create_event(eng, attendees=[contacts[0]], meals=[{"dish": "Soup"}])
    seen = eng.records.get("event", event["id"], actor=guest)
    assert "attendees" not in seen and seen["meals"] == event["meals"]
    with pytest.raises(RecordValidationError) as raised:
        eng.records.update("event", event["id"], {"attendees": []}, guest)
    assert rules(raised.value.errors) == {"attendees": "readonly"}
    # lines follow their owner's permissions: the guest may change the event, so its meals
    changed = eng.records.update("event", event["id"], {"meals": [{"dish": "Tea"}]}, guest)
    assert "attendees" not in changed and [m["dish"] for m in changed["meals"]] == ["Tea"]
    assert eng.records.get("event", event["id"])["attendees"] == [contacts[0]]


def test_a_read_only_collection_cannot_be_written(eng, contacts):
    editor = user(eng, "eda", "editor")
    for values in ({"meals": [{"dish": "Soup"}]}, {"speakers": [contacts[0]]}):
        with pytest.raises(RecordValidationError) as raised:
            eng.records.create("event", {"subject": "x", **values}, editor)
        assert rules(raised.value.errors) == {next(iter(values)): "readonly"}
    event = eng.records.create("event", {"subject": "x", "attendees": [contacts[0]]}, editor)
    result = eng.records.update_many("event", [{"id": event["id"], "meals": []}], editor, partial=True)
    assert rules(result.failed[0]) == {"meals": "readonly"}
    assert event["meals"] == [] and event["attendees"] == [contacts[0]]




def test_merge_and_purge_of_members_send_as_many_statements_for_1_or_50_holders(eng, contacts, statements):
    def sent(n: int) -> tuple[int, int]:
        keep, other = (eng.records.create("contact", {"name": name}, SYSTEM_ACTOR)["id"] for name in ("k", "o"))
        ids = eng.records.create_many("event", [{"subject": "s", "attendees": [other]} for _ in range(n)], SYSTEM_ACTOR)
        statements.clear()
        merge(eng.records, "contact", keep, other, [], SYSTEM_ACTOR)
        merged = len(statements)
        assert [eng.records.get("event", i)["attendees"] for i in ids] == [[keep]] * n
        eng.records.delete("contact", keep, SYSTEM_ACTOR)
        statements.clear()
        eng.records.purge("contact", keep, SYSTEM_ACTOR)
        purged = len(statements)
        assert all(eng.records.get("event", i)["attendees"] == [] for i in ids)
        return merged, purged

    assert sent(1) == sent(50)
