"""The admin overlay: revisions in the database, validated, planned, applied, reverted, never rewritten."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.schema.archive import archive_entries
from engine.schema.archive_restore import restore_archived
from engine.installation.definition_errors import DefinitionChangeError
from engine.installation.definitions import DefinitionState, Installation
from stamp_actions import stamp_plugins

PACK = Path(__file__).resolve().parents[1] / "pack"
ANN = Actor(user_id=7, username="ann", roles=frozenset({"admin"}))
LABEL = "{en: Loyalty, fr: Fidélité}"
LOYALTY = f"extends: sample\ncharacteristics:\n  loyalty: {{type: integer, label: {LABEL}, min: 0, max: 10}}\n"
REGION = "extends: sample\ncharacteristics:\n  region: {type: string, label: {en: Region, fr: Région}, max_length: 40}\n"
BOTH = LOYALTY + "  region: {type: string, label: {en: Region, fr: Région}, max_length: 40}\n"
ROOM = """\
entity: room
label: {en: Room, fr: Salle}
plural: {en: Rooms, fr: Salles}
characteristics:
  name: {type: string, label: {en: Name, fr: Nom}, mandatory: true, max_length: 80}
"""


@pytest.fixture
def installation(database_url, tmp_path, clock):
    found = Installation([PACK], database_url, engine_options={"files_dir": tmp_path / "files", "plugins": stamp_plugins()}, clock=clock)
    found.migrate_to(found.load().model)
    yield found
    found.dispose()


def columns(installation: Installation, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(installation.db).get_columns(table)}


def test_a_fresh_database_has_no_revision_and_loads_the_packs_alone(installation):
    loaded = installation.load()
    assert loaded.overlay is None and loaded.state == DefinitionState(0, 0)
    assert [p.name for p in loaded.model.packs] == ["engine_test"]
    assert installation.revisions() == []


def test_plan_says_what_would_change_and_writes_nothing(installation):
    plan = installation.plan_overlay({"entities/sample.yaml": LOYALTY, "entities/room.yaml": ROOM})
    assert tuple(plan.change_lines()) == (
        "entity sample: characteristic loyalty added (integer)",
        "entity sample: view form changed (sections)",  # the default form shows every characteristic
        "entity room: added (1 characteristic)",
    )
    assert "add column ent_sample.loyalty (INTEGER)" in plan.steps
    assert "create table ent_room (8 columns)" in plan.steps
    assert installation.state() == DefinitionState(0, 0)
    assert "loyalty" not in columns(installation, "ent_sample")
    assert installation.plan_overlay({}).empty


def test_apply_migrates_then_records_the_revision_with_who_when_and_why(installation, clock):
    applied = installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty for samples",
                                         expected_revision=0)
    revision = applied.revision
    assert (revision.id, revision.actor_id, revision.actor_name, revision.summary, revision.reverts) == (
        1, 7, "ann", "loyalty for samples", None)
    assert revision.created_at == clock.now
    assert dict(revision.documents) == {"entities/sample.yaml": LOYALTY}
    assert applied.done == applied.plan.steps == ("add column ent_sample.loyalty (INTEGER)",)
    assert "loyalty" in columns(installation, "ent_sample")

    loaded = installation.load()
    assert loaded.state == DefinitionState(1, 0)
    assert [(p.name, p.version) for p in loaded.model.packs] == [("engine_test", "1.0.0"), ("overlay", "1")]
    field = loaded.model.entity("sample").field("loyalty")
    assert (field.min, field.max, field.source.file) == (0, 10, "overlay/entities/sample.yaml")


def test_records_use_the_new_characteristic_with_its_bounds(installation):
    installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    engine = installation.open_engine(installation.load().model)
    try:
        created = engine.records.create("sample", {"name": "ab", "loyalty": 10}, SYSTEM_ACTOR)
        assert created["loyalty"] == 10
        from engine import RecordValidationError

        with pytest.raises(RecordValidationError) as refused:
            engine.records.create("sample", {"name": "ab", "loyalty": 11}, SYSTEM_ACTOR)
        assert [e.rule for e in refused.value.errors["loyalty"]] == ["max"]
    finally:
        engine.dispose()


def test_an_invalid_overlay_is_refused_with_its_location_and_nothing_is_written(installation):
    broken = "extends: sample\ncharacteristics:\n  loyalty:\n    type: integer\n    label: {en: L, fr: L}\n    min: 5\n    max: 1\n"
    with pytest.raises(metamodel.DefinitionError) as caught:
        installation.apply_overlay({"entities/sample.yaml": broken}, ANN, "broken")
    assert [str(p) for p in caught.value.problems] == [
        "overlay/entities/sample.yaml:7: characteristics.loyalty.max: 1 is less than min 5"]
    assert installation.revisions() == []
    assert installation.state() == DefinitionState(0, 0)
    assert "loyalty" not in columns(installation, "ent_sample")


def test_an_overlay_that_extends_what_does_not_exist_is_refused(installation):
    with pytest.raises(metamodel.DefinitionError) as caught:
        installation.plan_overlay({"entities/ghost.yaml": "extends: ghost\nlabel: {en: G, fr: G}\n"})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("overlay/entities/ghost.yaml", 1)
    assert "ghost" in problem.message


def test_a_change_made_from_an_old_revision_is_refused_in_the_users_language(installation):
    installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "one", expected_revision=0)
    with pytest.raises(DefinitionChangeError) as stale:
        installation.apply_overlay({"entities/sample.yaml": REGION}, ANN, "two", expected_revision=0)
    assert stale.value.reason == "overlay_conflict"
    assert stale.value.message("en").startswith("The overlay changed since revision 0: it is now at revision 1.")
    assert stale.value.message("fr").startswith("La surcouche a changé depuis la révision 0 : elle en est à la révision 1.")
    assert [r.id for r in installation.revisions()] == [1]


def test_two_writers_cannot_take_the_same_revision_number(installation, database_url, tmp_path):
    other = Installation([PACK], database_url, engine_options={"files_dir": tmp_path / "files", "plugins": stamp_plugins()})
    try:
        snapshot = other.snapshot()  # the second writer read the overlay before the first one wrote
        installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "first")
        from engine.installation.overlay import record_revision

        with pytest.raises(sa.exc.IntegrityError), other.db.begin() as conn:
            record_revision(conn, snapshot.state.overlay_revision + 1, {}, ANN, "second", dt.datetime(2026, 1, 1))
    finally:
        other.dispose()
    assert [(r.id, r.summary) for r in installation.revisions()] == [(1, "first")]


def test_revert_brings_back_the_definitions_before_the_reverted_revision(installation):
    installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    installation.apply_overlay({"entities/sample.yaml": BOTH, "entities/room.yaml": ROOM}, ANN, "region and rooms")
    assert {"loyalty", "region"} <= set(installation.load().model.entity("sample").fields_by_name)

    plan = installation.plan_revert(2)
    assert {"entity room: removed", "entity sample: characteristic region removed"} <= set(plan.change_lines())
    assert "entité room : suppression" in plan.change_lines("fr")
    assert not any("loyalty" in change for change in plan.change_lines())
    reverted = installation.revert_overlay(2, ANN)
    assert (reverted.revision.id, reverted.revision.reverts, reverted.revision.summary) == (3, 2, "revert revision 2")
    assert dict(reverted.revision.documents) == {"entities/sample.yaml": LOYALTY}
    model = installation.load().model
    assert "loyalty" in model.entity("sample").fields_by_name
    assert "region" not in model.entity("sample").fields_by_name and "room" not in model.entities

    back_to_empty = installation.revert_overlay(1, SYSTEM_ACTOR, "start over")
    assert (back_to_empty.revision.id, back_to_empty.revision.reverts, dict(back_to_empty.revision.documents)) == (
        4, 1, {})
    assert "loyalty" not in installation.load().model.entity("sample").fields_by_name
    history = installation.revisions()
    assert [(r.id, r.summary, r.reverts) for r in history] == [
        (4, "start over", 1), (3, "revert revision 2", 2), (2, "region and rooms", None), (1, "loyalty", None)]
    assert dict(installation.revision(2).documents)["entities/room.yaml"] == ROOM  # history is never rewritten


def test_values_survive_a_revert_and_come_back_with_the_characteristic(installation):
    installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    engine = installation.open_engine(installation.load().model)
    try:
        record_id = engine.records.create("sample", {"name": "kept", "loyalty": 4}, SYSTEM_ACTOR)["id"]
    finally:
        engine.dispose()
    removed = installation.revert_overlay(1, ANN)
    assert removed.restorable == ()
    assert any("loyalty" in step for step in removed.done)  # archived by the planner, not dropped
    back = installation.revert_overlay(2, ANN)  # the revert of the revert: loyalty is declared again
    assert [(entry.target, entry.count) for entry in back.restorable] == [("sample.loyalty", 1)]
    engine = installation.open_engine(installation.load().model)
    try:
        assert engine.records.get("sample", record_id)["loyalty"] is None
        restored = restore_archived(engine, "sample.loyalty")
        assert restored.restored == 1
        assert engine.records.get("sample", record_id)["loyalty"] == 4
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision_id", [0, 2, -1])
def test_reverting_a_revision_that_does_not_exist_is_refused(installation, revision_id):
    installation.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "one")
    with pytest.raises(DefinitionChangeError) as refused:
        installation.revert_overlay(revision_id, ANN)
    assert refused.value.message("en") == f"There is no overlay revision {revision_id}."
    assert refused.value.message("fr") == f"Il n'y a pas de révision {revision_id} de la surcouche."
    assert [r.id for r in installation.revisions()] == [1]


def test_a_revert_that_no_longer_fits_is_refused_with_the_problems(installation):
    installation.apply_overlay({"entities/room.yaml": ROOM}, ANN, "rooms")
    room_link = "extends: sample\ncharacteristics:\n  room: {type: link, label: {en: Room, fr: Salle}, entity: room}\n"
    installation.apply_overlay({"entities/room.yaml": ROOM, "entities/sample.yaml": room_link}, ANN, "link")
    # reverting 1 alone would bring back the empty overlay: fine; but a revision that keeps the link
    # without the room cannot be loaded, so it is refused:
    with pytest.raises(metamodel.DefinitionError) as caught:
        installation.apply_overlay({"entities/sample.yaml": room_link}, ANN, "drop rooms only")
    assert any(p.file == "overlay/entities/sample.yaml" and p.line == 3 for p in caught.value.problems)
    assert installation.state().overlay_revision == 2


def test_revisions_list_newest_first_with_a_limit_and_without_documents(installation):
    for number in range(1, 4):
        installation.apply_overlay({"entities/sample.yaml": LOYALTY.replace("max: 10", f"max: {number}")}, ANN,
                                   f"change {number}")
    listed = installation.revisions(limit=2)
    assert [r.id for r in listed] == [3, 2]
    assert all(dict(r.documents) == {} for r in listed)
    assert installation.revision(2).documents["entities/sample.yaml"].endswith("max: 2}\n")


def test_a_summary_longer_than_the_column_is_cut_to_fit(installation):
    applied = installation.apply_overlay({}, ANN, "x" * 500)
    assert len(applied.revision.summary) == 200 == len(installation.revisions()[0].summary)


def test_changes_made_at_the_same_time_are_recorded_one_after_the_other(installation, database_url, tmp_path):
    import threading

    other = Installation([PACK], database_url, engine_options={"files_dir": tmp_path / "files", "plugins": stamp_plugins()})
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def apply(target: Installation, documents: dict[str, str], summary: str) -> None:
        start.wait()
        try:
            target.apply_overlay(documents, ANN, summary)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=apply, args=(installation, {"entities/sample.yaml": LOYALTY}, "loyalty")),
        threading.Thread(target=apply, args=(other, {"entities/room.yaml": ROOM}, "rooms")),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.dispose()
    assert errors == []
    assert sorted(r.id for r in installation.revisions()) == [1, 2]
    assert {r.summary for r in installation.revisions()} == {"loyalty", "rooms"}


def test_an_overlay_removes_retypes_and_renames_characteristics_of_the_pack_without_losing_a_value(installation):
    engine = installation.open_engine(installation.load().model)
    try:
        record_id = engine.records.create(
            "sample", {"name": "kept", "qty": 12, "website": "https://example.org", "body": "<p>b</p>"},
            SYSTEM_ACTOR)["id"]
    finally:
        engine.dispose()
    reshaped = (
        "extends: sample\n"
        "remove_characteristics: [website, body]\n"
        "characteristics:\n"
        "  qty: {redeclare: true, type: decimal, scale: 1, label: {en: Quantity, fr: Quantité}, max: 1000}\n"
        "  content: {type: rich_text, label: {en: Content, fr: Contenu}, renamed_from: body}\n"
    )
    plan = installation.plan_overlay({"entities/sample.yaml": reshaped})
    assert any(step.startswith("sample.qty: type integer -> decimal(18, 1)") for step in plan.steps), plan.steps
    assert any(step.startswith("sample.website: no longer declared: archive its 1 value(s)") for step in plan.steps)
    assert "sample.body: renamed to content: the column moves with its 1 value(s)" in plan.steps
    installation.apply_overlay({"entities/sample.yaml": reshaped}, ANN, "reshape sample")
    engine = installation.open_engine(installation.load().model)
    try:
        record = engine.records.get("sample", record_id)
        assert (record["qty"], record["content"]) == (Decimal("12.0"), "<p>b</p>")
        assert "website" not in record and "body" not in record
        assert [e.target for e in archive_entries(engine)] == ["sample.website"]
    finally:
        engine.dispose()
