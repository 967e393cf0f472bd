"""Merging two records: values taken, links moved set-based with audit and history, the other
record trashed, `merge` audit entries; refusals and rollbacks leave everything as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor, ConflictError, NotFoundError, PermissionDenied, RecordValidationError
from engine.records import merging as merging_module
from engine.records.merging import MergeError, incoming_links, merge, merge_records

DUP_PACK = Path(__file__).resolve().parents[1] / "dup_pack"
ADMIN = Actor(user_id=None, username="root", roles=frozenset({"admin"}))


@pytest.fixture(scope="module")
def dup_model() -> metamodel.Model:
    return metamodel.load_model([DUP_PACK])


@pytest.fixture
def eng(make_engine, dup_model, clock):
    return make_engine(dup_model, clock=clock)


@pytest.fixture
def admin(eng) -> Actor:
    user_id = eng.records.create("user", {"username": "root"}, SYSTEM_ACTOR)["id"]
    return Actor(user_id=user_id, username="root", roles=frozenset({"admin"}))


def add(eng, entity: str, **values) -> int:
    return eng.records.create(entity, values, SYSTEM_ACTOR)["id"]


def row(eng, entity: str, record_id: int) -> dict[str, Any]:
    return eng.records.get(entity, record_id, include_deleted=True)


def audit(eng, entity: str, record_id: int) -> list[tuple[str, int, Any]]:
    return [(e["action"], e["version"], e["changes"]) for e in eng.records.audit_log(entity, record_id)]


def snapshot(eng) -> dict[str, Any]:
    """Every row of every table: what a refused or failed merge must leave untouched."""
    with eng.db.connect() as conn:
        return {
            table.name: sorted(tuple(r) for r in conn.execute(sa.select(table)))
            for table in [*eng.tables.records.values(), eng.tables.audit, eng.tables.history, eng.tables.status_changes]
        }


@pytest.fixture
def people(eng, clock) -> dict[str, int]:
    acme = add(eng, "company", name="Acme")
    globex = add(eng, "company", name="Globex")
    keep = add(eng, "person", last_name="Dupont", first_name="Eva", email="eva@acme.test", company=acme)
    other = add(eng, "person", last_name="Dupont", first_name="Éva", email="eva.dupont@globex.test",
                phone="+33 1 02", company=globex, budget="120.50")
    third = add(eng, "person", last_name="Martin")
    ids = {"acme": acme, "globex": globex, "keep": keep, "other": other, "third": third}
    ids["m1"] = add(eng, "meeting", subject="Kick-off", person=other)
    ids["m2"] = add(eng, "meeting", subject="Review", person=keep, guest=other)
    ids["m3"] = add(eng, "meeting", subject="Other", person=third, guest=third)
    ids["badge"] = add(eng, "badge", number="B-1", holder=other)
    clock.advance(hours=1)
    return ids


# -- what a merge does -------------------------------------------------------------------
def test_merge_takes_values_moves_links_and_trashes_the_other(eng, people, admin, clock) -> None:
    keep, other = people["keep"], people["other"]

    result = merge(eng.records, "person", keep, other, ["email", "phone"], admin)

    kept = row(eng, "person", keep)
    assert (kept["email"], kept["phone"], kept["first_name"], kept["company"]) == (
        "eva.dupont@globex.test", "+33 1 02", "Eva", people["acme"])
    assert result["record"]["email"] == "eva.dupont@globex.test"
    assert result["merged_from"] == other
    assert result["taken"] == ["email", "phone"]
    assert result["moved"] == {"meeting.person": 1, "meeting.guest": 1, "badge.holder": 1}
    assert row(eng, "person", other)["deleted_at"] == clock.now
    assert row(eng, "meeting", people["m1"])["person"] == keep
    assert (row(eng, "meeting", people["m2"])["person"], row(eng, "meeting", people["m2"])["guest"]) == (keep, keep)
    assert (row(eng, "meeting", people["m3"])["person"], row(eng, "meeting", people["m3"])["guest"]) == (
        people["third"], people["third"])
    assert row(eng, "badge", people["badge"])["holder"] == keep


def test_moved_records_get_a_new_version_and_an_audit_entry(eng, people, admin, clock) -> None:
    keep, other = people["keep"], people["other"]

    merge(eng.records, "person", keep, other, [], admin)

    m2 = row(eng, "meeting", people["m2"])
    assert (m2["version"], m2["updated_at"], m2["updated_by"]) == (2, clock.now, admin.user_id)
    assert audit(eng, "meeting", people["m1"]) == [("create", 1, None), ("update", 2, {"person": [other, keep]})]
    assert audit(eng, "meeting", people["m2"]) == [("create", 1, None), ("update", 2, {"guest": [other, keep]})]
    assert audit(eng, "meeting", people["m3"]) == [("create", 1, None)]
    entries = eng.records.audit_log("badge", people["badge"])
    assert (entries[-1]["actor_id"], entries[-1]["changed_at"]) == (admin.user_id, clock.now)


def test_merge_entries_on_both_records(eng, people, admin) -> None:
    keep, other = people["keep"], people["other"]

    merge(eng.records, "person", keep, other, ["phone"], admin)

    assert audit(eng, "person", keep) == [
        ("create", 1, None),
        ("update", 2, {"phone": [None, "+33 1 02"]}),
        ("merge", 2, {"merged_from": other}),
    ]
    assert audit(eng, "person", other) == [
        ("create", 1, None),
        ("delete", 2, None),
        ("merge", 2, {"merged_into": keep, "moved": {"meeting.person": 1, "meeting.guest": 1, "badge.holder": 1}}),
    ]


def test_historized_link_moves_with_a_history_period(eng, people, admin, clock) -> None:
    keep, other, third = people["keep"], people["other"], people["third"]
    m3 = people["m3"]
    eng.records.update("meeting", m3, {"person": other}, SYSTEM_ACTOR)  # opens a period for `other`
    changed_at = clock.now
    clock.advance(hours=1)

    merge(eng.records, "person", keep, other, [], admin)

    periods = eng.records.history("meeting", m3, "person")
    assert [(p["value"], p["valid_from"], p["valid_to"]) for p in periods] == [
        (third, row(eng, "meeting", m3)["created_at"], changed_at),
        (other, changed_at, clock.now),
        (keep, clock.now, None),
    ]
    assert eng.records.value_as_of("meeting", people["m1"], "person", changed_at) == other
    assert eng.records.history("meeting", people["m1"], "person")[-1]["changed_by"] == admin.user_id
    with eng.db.connect() as conn:  # `guest` is not historized: no period written for it
        history = eng.tables.history
        fields = conn.execute(sa.select(history.c.field).where(history.c.entity == "meeting").distinct()).scalars()
        assert set(fields) == {"person"}


def test_taken_historized_value_goes_through_the_history(eng, people, admin, clock) -> None:
    keep, other = people["keep"], people["other"]

    merge(eng.records, "person", keep, other, ["company", "budget"], admin)

    kept = row(eng, "person", keep)
    assert (kept["company"], str(kept["budget"])) == (people["globex"], "120.50")
    assert [p["value"] for p in eng.records.history("person", keep, "company")] == [people["acme"], people["globex"]]
    assert [str(p["value"]) for p in eng.records.history("person", keep, "budget")] == ["None", "120.50"]


def test_taking_a_unique_value_of_the_other_record(eng, people, admin) -> None:
    """`other` goes to the trash first, so its unique email is free for the kept record."""
    merge(eng.records, "person", people["keep"], people["other"], ["email"], admin)

    assert row(eng, "person", people["keep"])["email"] == "eva.dupont@globex.test"
    with pytest.raises(RecordValidationError):
        eng.records.restore("person", people["other"], SYSTEM_ACTOR)


def test_links_of_trashed_records_move_too(eng, people, admin) -> None:
    eng.records.delete("meeting", people["m1"], SYSTEM_ACTOR)

    result = merge(eng.records, "person", people["keep"], people["other"], [], admin)

    assert row(eng, "meeting", people["m1"])["person"] == people["keep"]
    assert result["moved"]["meeting.person"] == 1


def test_nothing_to_take_and_nothing_linked(eng, admin) -> None:
    keep, other = add(eng, "person", last_name="A"), add(eng, "person", last_name="B")

    result = merge(eng.records, "person", keep, other, [], admin)

    assert result["moved"] == {}
    assert result["record"]["last_name"] == "A"
    assert audit(eng, "person", keep) == [("create", 1, None), ("merge", 1, {"merged_from": other})]
    assert audit(eng, "person", other) == [("create", 1, None), ("delete", 2, None),
                                           ("merge", 2, {"merged_into": keep, "moved": {}})]


def test_taking_the_same_field_twice_takes_it_once(eng, people, admin) -> None:
    result = merge(eng.records, "person", people["keep"], people["other"], ["phone", "phone"], admin)

    assert result["taken"] == ["phone"]


def test_self_links_move_and_never_point_at_the_kept_record_itself(eng, admin) -> None:
    keep = add(eng, "company", name="Acme")
    other = add(eng, "company", name="ACME", parent=None)
    eng.records.update("company", keep, {"parent": other}, SYSTEM_ACTOR)
    child = add(eng, "company", name="Acme Labs", parent=other)
    person = add(eng, "person", last_name="P", company=other)

    result = merge(eng.records, "company", keep, other, [], admin)

    assert row(eng, "company", keep)["parent"] is None
    assert row(eng, "company", child)["parent"] == keep
    assert row(eng, "person", person)["company"] == keep
    assert result["moved"] == {"company.parent": 1, "person.company": 1}


def test_taking_a_parent_that_is_the_kept_record_clears_it(eng, admin) -> None:
    keep = add(eng, "company", name="Acme")
    other = add(eng, "company", name="ACME", parent=keep)

    merge(eng.records, "company", keep, other, ["parent"], admin)

    assert row(eng, "company", keep)["parent"] is None


def test_incoming_links_name_every_link_to_the_entity(dup_model) -> None:
    """Entities in the model's order (their files' order), fields in declared order."""
    assert [link.name for link in incoming_links(dup_model, "person")] == ["badge.holder", "meeting.person", "meeting.guest"]
    assert [link.name for link in incoming_links(dup_model, "company")] == ["company.parent", "meeting.company", "person.company"]
    assert incoming_links(dup_model, "meeting") == []


def test_merge_inside_a_caller_transaction(eng, people, admin) -> None:
    with eng.records.transaction(admin) as tx:
        merge_records(tx, "person", people["keep"], people["other"], ["phone"])
        tx.update("person", people["keep"], {"first_name": "Evelyne"})

    kept = row(eng, "person", people["keep"])
    assert (kept["phone"], kept["first_name"]) == ("+33 1 02", "Evelyne")


def test_system_actor_may_take_a_readonly_characteristic(eng) -> None:
    keep, other = add(eng, "person", last_name="A"), add(eng, "person", last_name="B", locked="L-7")

    merge(eng.records, "person", keep, other, ["locked"], SYSTEM_ACTOR)

    assert row(eng, "person", keep)["locked"] == "L-7"


# -- refusals: nothing written -----------------------------------------------------------
def refused(eng, error: type[Exception], *args, **kwargs) -> Exception:
    before = snapshot(eng)
    with pytest.raises(error) as raised:
        merge(eng.records, *args, **kwargs)
    assert snapshot(eng) == before
    return raised.value


def test_merging_a_record_with_itself_is_refused(eng, people, admin) -> None:
    error = refused(eng, MergeError, "person", people["keep"], people["keep"], [], admin)

    assert error.reason == "same_record"
    assert error.message("en") == f"Person {people['keep']} cannot be merged with itself."
    assert error.message("fr") == f"Personne {people['keep']} ne peut pas être fusionné avec lui-même."


@pytest.mark.parametrize("which", ["keep", "other"])
def test_merging_a_trashed_record_is_refused(eng, people, admin, which: str) -> None:
    eng.records.delete("person", people[which], SYSTEM_ACTOR)

    error = refused(eng, MergeError, "person", people["keep"], people["other"], [], admin)

    assert error.reason == "trashed"
    assert error.message("en") == f"Person {people[which]} is in the trash: restore it before merging it."
    assert error.message("fr") == f"Personne {people[which]} est dans la corbeille : restaurez-le avant de le fusionner."


def test_missing_record_is_not_found(eng, people, admin) -> None:
    refused(eng, NotFoundError, "person", 999, people["keep"], [], admin)
    refused(eng, NotFoundError, "planet", 1, 2, [], admin)


@pytest.mark.parametrize("where", ["below", "above"])
def test_missing_other_record_is_a_refused_reference(eng, people, admin, where: str) -> None:
    """The record addressed exists; the one named to merge into it does not (id below or above it)."""
    gone = add(eng, "person", last_name="Gone")
    keep = add(eng, "person", last_name="Kept")
    eng.records.delete("person", gone, SYSTEM_ACTOR)
    eng.records.purge("person", gone, SYSTEM_ACTOR)
    target = gone if where == "below" else keep + 1000

    error = refused(eng, MergeError, "person", keep, target, [], admin)

    assert error.reason == "other_missing"
    assert error.message("en") == f"There is no Person {target} to merge into this one."
    assert error.message("fr") == f"Il n'existe pas de Personne {target} à fusionner dans celui-ci."


@pytest.mark.parametrize("name", ["nickname", "id", "created_at", "deleted_at"])
def test_unknown_field_is_refused(eng, people, admin, name: str) -> None:
    error = refused(eng, MergeError, "person", people["keep"], people["other"], ["phone", name], admin)

    assert error.reason == "unknown_field"
    assert error.message("en") == f"'{name}' is not a characteristic of Person."
    assert error.message("fr") == f"« {name} » n'est pas une caractéristique de Personne."


def test_status_cannot_be_taken(eng, people, admin) -> None:
    error = refused(eng, MergeError, "person", people["keep"], people["other"], ["status"], admin)

    assert error.reason == "status"
    assert "transition" in error.message("en") and "transition" in error.message("fr")


def test_readonly_characteristic_cannot_be_taken_by_a_user(eng, people, admin) -> None:
    error = refused(eng, MergeError, "person", people["keep"], people["other"], ["locked"], admin)

    assert error.reason == "not_updatable"
    assert error.message("en") == "You may not change 'Locked' of Person, so it cannot be taken from the other record."
    assert error.message("fr").startswith("Vous ne pouvez pas modifier « Verrouillé » de Personne")


def clerk(eng) -> Actor:
    user_id = add(eng, "user", username="ann")
    return Actor(user_id=user_id, username="ann", roles=frozenset({"clerk"}), lang="fr")


def test_role_limits_what_may_be_taken(eng) -> None:
    ann = clerk(eng)
    keep = add(eng, "person", last_name="A", owner=ann.user_id)
    other = add(eng, "person", last_name="B", owner=ann.user_id, score=3, secret="s")

    assert refused(eng, MergeError, "person", keep, other, ["score"], ann).reason == "not_updatable"
    assert refused(eng, MergeError, "person", keep, other, ["secret"], ann).reason == "unknown_field"
    result = merge(eng.records, "person", keep, other, ["last_name"], ann)
    assert result["record"]["last_name"] == "B"
    assert "secret" not in result["record"]


def test_records_outside_the_actor_scope_are_not_found(eng) -> None:
    ann = clerk(eng)
    keep = add(eng, "person", last_name="A", owner=ann.user_id)
    other = add(eng, "person", last_name="B")

    assert refused(eng, MergeError, "person", keep, other, [], ann).reason == "other_missing"
    refused(eng, NotFoundError, "person", other, keep, [], ann)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_update_and_delete_permissions_are_needed(eng, people, role: str) -> None:
    actor = Actor(user_id=None, username="x", roles=frozenset({role}))

    error = refused(eng, PermissionDenied, "person", people["keep"], people["other"], [], actor)

    assert error.operation == ("delete" if role == "editor" else "update")


def test_stale_versions_are_conflicts(eng, people, admin) -> None:
    keep, other = people["keep"], people["other"]

    refused(eng, ConflictError, "person", keep, other, [], admin, keep_version=2)
    refused(eng, ConflictError, "person", keep, other, [], admin, other_version=0)
    result = merge(eng.records, "person", keep, other, [], admin, keep_version=1, other_version=1)
    assert result["merged_from"] == other


def test_unique_link_held_by_both_records_is_refused(eng, people, admin) -> None:
    add(eng, "badge", number="B-2", holder=people["keep"])

    error = refused(eng, MergeError, "person", people["keep"], people["other"], [], admin)

    assert error.reason == "unique_link"
    assert error.message("en") == (
        f"'Holder' of Badges is unique and records link to both Person {people['keep']} and {people['other']}: "
        "clear one of those links first.")
    assert error.message("fr").startswith("« Titulaire » de Badges est unique")


def test_unique_link_held_by_a_trashed_record_does_not_block(eng, people, admin) -> None:
    badge = add(eng, "badge", number="B-2", holder=people["keep"])
    eng.records.delete("badge", badge, SYSTEM_ACTOR)

    assert merge(eng.records, "person", people["keep"], people["other"], [], admin)["moved"]["badge.holder"] == 1


# -- failures midway roll everything back ------------------------------------------------
def test_invalid_taken_value_rolls_back_the_trashing(eng, people, admin) -> None:
    """The other record's company went to the trash: taking it fails after `other` was trashed."""
    eng.records.delete("company", people["globex"], SYSTEM_ACTOR)

    error = refused(eng, RecordValidationError, "person", people["keep"], people["other"], ["company"], admin)

    assert list(error.errors) == ["company"]
    assert row(eng, "person", people["other"])["deleted_at"] is None


def test_failure_after_links_moved_rolls_everything_back(eng, people, admin, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(merging_module, "_write_merge_audit", broken)

    refused(eng, RuntimeError, "person", people["keep"], people["other"], ["phone", "company"], admin)
    assert row(eng, "meeting", people["m1"])["person"] == people["other"]


def test_failure_between_two_link_fields_rolls_back_the_first(eng, people, admin, monkeypatch: pytest.MonkeyPatch) -> None:
    real = merging_module._move_links
    calls: list[str] = []

    def move_then_fail(tx, link, *args: Any, **kwargs: Any) -> int:
        calls.append(link.name)
        if len(calls) == 2:
            raise RuntimeError("lost connection")
        return real(tx, link, *args, **kwargs)

    monkeypatch.setattr(merging_module, "_move_links", move_then_fail)

    refused(eng, RuntimeError, "person", people["keep"], people["other"], [], admin)
    assert calls == ["badge.holder", "meeting.person"]
