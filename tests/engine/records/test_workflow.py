"""Workflow enforcement: transitions, guards, roles, required fields, actions, free mode, status history."""

from __future__ import annotations

import datetime as dt

import pytest

import metamodel
from engine import (
    SYSTEM_ACTOR,
    Actor,
    ConflictError,
    EngineError,
    RecordValidationError,
    TransitionError,
)
from engine.records.validation import EntityValidator
from engine.records.workflow import build_workflows
from plugins.host.manager import plugin_manager
from stamp_actions import StampActions

BASE = {"name": "Widget", "do_not_call": True}
ANN = Actor(user_id=1, username="ann", roles=frozenset({"sales"}))
BOSS = Actor(user_id=2, username="boss", roles=frozenset({"manager"}), lang="fr")
WORKER = Actor(user_id=3, username="wes", roles=frozenset({"worker"}))


@pytest.fixture
def engine(make_engine, model, clock):
    return make_engine(model, clock=clock, plugins=plugin_manager(extra=[StampActions]))


@pytest.fixture
def draft(engine):
    return engine.records.create("sample", {**BASE, "qty": 2, "email": "w@example.org"}, ANN)


def test_new_records_start_in_the_initial_status(engine):
    assert engine.records.create("sample", BASE, ANN)["status"] == "draft"
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, "status": "review"}, ANN)
    assert caught.value.errors["status"][0].rule == "initial"
    assert engine.records.create("sample", {**BASE, "status": "done"}, SYSTEM_ACTOR)["status"] == "done"


def test_on_enter_values_apply_when_a_status_is_entered(engine, draft):
    assert draft["notes"] == "drafted"  # the first status is entered at creation
    assert engine.records.create("sample", {**BASE, "notes": "mine"}, ANN)["notes"] == "mine"
    (first,) = engine.records.create_many("sample", [dict(BASE)], ANN)
    assert engine.records.get("sample", first)["notes"] == "drafted"
    moved = engine.records.transition("sample", draft["id"], "submit", ANN)
    assert moved["extra"] == "in review"


def test_status_does_not_change_through_a_plain_update(engine, draft):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("sample", draft["id"], {"status": "done"}, SYSTEM_ACTOR)
    assert caught.value.errors["status"][0].rule == "transition"
    assert engine.records.get("sample", draft["id"])["status"] == "draft"


def test_allowed_transition_changes_the_status_and_is_recorded(engine, draft, clock):
    clock.advance(hours=2)
    moved = engine.records.transition("sample", draft["id"], "submit", ANN, version=draft["version"])
    assert moved["status"] == "review" and moved["version"] == 2
    history = engine.records.status_history("sample", draft["id"])
    assert [(h["status"], h["transition"], h["changed_by"]) for h in history] == [
        ("draft", None, 1),
        ("review", "submit", 1),
    ]
    assert history[0]["left_at"] == history[1]["entered_at"] == clock.now
    assert [e["action"] for e in engine.records.audit_log("sample", draft["id"])] == ["create", "update"]


def test_wrong_source_status_is_refused(engine, draft):
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("sample", draft["id"], "approve", BOSS)
    assert caught.value.reason == "not_from"
    assert caught.value.message("en") == "'approve' cannot start from status 'draft'."


def test_unknown_transition_is_refused(engine, draft):
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("sample", draft["id"], "teleport", ANN)
    assert caught.value.reason == "unknown_transition"


def test_failed_guard_shows_the_workflow_message(engine):
    record = engine.records.create("sample", {**BASE, "qty": 0, "email": "w@example.org"}, ANN)
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("sample", record["id"], "submit", BOSS)
    assert caught.value.reason == "guard"
    assert caught.value.message("en") == "Quantity must be at least 1"
    assert caught.value.message("fr") == "La quantité doit valoir au moins 1"
    assert engine.records.get("sample", record["id"])["status"] == "draft"


def test_values_given_with_the_transition_count_for_its_guard_and_requirements(engine):
    record = engine.records.create("sample", {**BASE, "qty": 0}, ANN)
    moved = engine.records.transition(
        "sample", record["id"], "submit", ANN, values={"qty": 3, "email": "late@example.org"}
    )
    assert (moved["status"], moved["qty"], moved["email"]) == ("review", 3, "late@example.org")


def test_missing_required_field_is_refused_and_named(engine):
    record = engine.records.create("sample", {**BASE, "qty": 2}, ANN)
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("sample", record["id"], "submit", ANN)
    assert caught.value.reason == "required"
    assert [e.rule for e in caught.value.errors["email"]] == ["required_on_entry"]
    assert caught.value.as_dict("fr")["errors"]["email"][0]["message"] == "Obligatoire pour passer au statut « In review »."


def test_missing_role_is_refused(engine, draft):
    engine.records.transition("sample", draft["id"], "submit", ANN)
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("sample", draft["id"], "approve", ANN)
    assert caught.value.reason == "role"
    assert "manager" in caught.value.message("en")
    assert engine.records.get("sample", draft["id"])["status"] == "review"


def test_actions_run_with_the_transition(engine, draft, clock):
    engine.records.transition("sample", draft["id"], "submit", ANN)
    done = engine.records.transition("sample", draft["id"], "approve", BOSS)
    assert done["status"] == "done"
    assert done["notes"] == "approved by the manager"
    assert done["due"] == dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=7)
    (note,) = _notes_of(engine, draft["id"])
    assert note["subject"] == "Approved: Widget"
    assert note["status"] == "todo"


def test_plugin_action_runs_after_the_earlier_actions(engine, draft):
    engine.records.transition("sample", draft["id"], "submit", ANN)
    done = engine.records.transition("sample", draft["id"], "approve_with_plugin", ANN)
    assert (done["status"], done["notes"], done["code"]) == ("done", "stamped", "ABC-99")
    assert len(_notes_of(engine, draft["id"])) == 1


def test_a_failing_action_rolls_everything_back(engine, draft):
    engine.records.transition("sample", draft["id"], "submit", ANN)
    before = engine.records.get("sample", draft["id"])
    with pytest.raises(EngineError, match="out of ink"):
        engine.records.transition("sample", draft["id"], "approve_with_plugin", ANN, inputs={"fail": True})
    assert engine.records.get("sample", draft["id"]) == before
    assert _notes_of(engine, draft["id"]) == []  # the note created by the earlier action is gone too
    assert [h["status"] for h in engine.records.status_history("sample", draft["id"])] == ["draft", "review"]


def test_transition_with_a_stale_version_is_a_conflict(engine, draft):
    engine.records.update("sample", draft["id"], {"qty": 5}, ANN)
    with pytest.raises(ConflictError):
        engine.records.transition("sample", draft["id"], "submit", ANN, version=draft["version"])


def test_from_any_status(engine, draft):
    engine.records.transition("sample", draft["id"], "submit", ANN)
    assert engine.records.transition("sample", draft["id"], "cancel", ANN)["status"] == "cancelled"


def test_time_spent_in_each_status(engine, draft, clock):
    clock.advance(hours=3)
    engine.records.transition("sample", draft["id"], "submit", ANN)
    clock.advance(days=2)
    engine.records.transition("sample", draft["id"], "cancel", ANN)
    clock.advance(minutes=30)
    spent = engine.records.time_in_status("sample", draft["id"])
    assert spent == {
        "draft": dt.timedelta(hours=3),
        "review": dt.timedelta(days=2),
        "cancelled": dt.timedelta(minutes=30),
    }


def test_available_transitions_say_why_not(engine, draft):
    available = {t.name: error for t, error in engine.records.available_transitions("sample", draft["id"], ANN)}
    assert set(available) == {"submit", "cancel"}
    assert available["submit"] is None and available["cancel"] is None
    engine.records.transition("sample", draft["id"], "submit", ANN)
    available = {t.name: error for t, error in engine.records.available_transitions("sample", draft["id"], ANN)}
    assert available["approve"].reason == "role"
    assert available["approve_with_plugin"] is None


# -- free mode --------------------------------------------------------------------


@pytest.fixture
def chore(engine):
    return engine.records.create("note", {"subject": "Sweep"}, WORKER)


def test_free_mode_moves_to_any_status(engine, chore):
    assert engine.records.move_to("note", chore["id"], "doing", ANN)["status"] == "doing"
    assert engine.records.move_to("note", chore["id"], "todo", ANN)["status"] == "todo"


def test_free_mode_honours_required_fields_and_roles_of_transitions_into_the_status(engine, chore):
    with pytest.raises(TransitionError) as caught:
        engine.records.move_to("note", chore["id"], "finished", ANN)
    assert caught.value.reason == "role"
    with pytest.raises(TransitionError) as caught:
        engine.records.move_to("note", chore["id"], "finished", WORKER)
    assert caught.value.reason == "required"
    done = engine.records.move_to("note", chore["id"], "finished", WORKER, values={"summary": "All clean"})
    assert (done["status"], done["summary"]) == ("finished", "All clean")


def test_free_move_is_refused_on_a_workflow_without_free_mode(engine, draft):
    with pytest.raises(TransitionError) as caught:
        engine.records.move_to("sample", draft["id"], "done", BOSS)
    assert caught.value.reason == "not_free"


def test_free_move_to_an_unknown_status(engine, chore):
    with pytest.raises(TransitionError) as caught:
        engine.records.move_to("note", chore["id"], "lost_in_space", ANN)
    assert caught.value.reason == "unknown_status"


def test_entity_without_workflow_has_no_transitions(engine):
    user = engine.records.create("user", {"username": "zed"}, SYSTEM_ACTOR)
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("user", user["id"], "submit", ANN)
    assert caught.value.reason == "no_workflow"


def _notes_of(engine, sample_id):
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        return tx.find("note", sample=sample_id)


# -- administrators and transition roles ---------------------------------------------------------
# The rule: a role declared with `admin: true` holds every transition's roles; the others hold
# those a transition names (a transition naming none is open). Cases from the base pack.

BASE_MODEL = metamodel.load_model([metamodel.BASE_PACK])
ADMIN_ROLES = sorted(name for name, role in BASE_MODEL.roles.items() if role.admin)
BASE_FLOWS = build_workflows(
    BASE_MODEL, {name: EntityValidator(entity, BASE_MODEL) for name, entity in BASE_MODEL.entities.items()}, {}
)
BASE_TRANSITIONS = [
    (entity.name, transition)
    for entity in BASE_MODEL.entities.values() if entity.workflow
    for transition in BASE_MODEL.workflow(entity.workflow).transitions
]


def _role_cases():
    for entity, transition in BASE_TRANSITIONS:
        for role in sorted(BASE_MODEL.roles):
            allowed = not transition.roles or role in transition.roles or BASE_MODEL.roles[role].admin
            yield pytest.param(entity, transition, role, allowed, id=f"{entity}.{transition.name}-{role}")


def test_the_base_pack_has_an_admin_role_and_transitions_that_do_not_name_it():
    assert ADMIN_ROLES == ["admin"]
    assert any(t.roles and "admin" not in t.roles for _, t in BASE_TRANSITIONS)  # start_call, among others


@pytest.mark.parametrize(("entity", "transition", "role", "allowed"), list(_role_cases()))
def test_who_holds_a_transitions_roles(entity, transition, role, allowed):
    flow = BASE_FLOWS[entity]
    actor = Actor(user_id=7, username="someone", roles=frozenset({role}))
    if allowed:
        flow.check_roles([transition], actor)
        return
    with pytest.raises(TransitionError) as caught:
        flow.check_roles([transition], actor)
    assert caught.value.reason == "role"


def test_an_admin_moves_a_lead_along_a_transition_that_does_not_name_admin(make_engine):
    engine = make_engine(BASE_MODEL)
    admin = Actor(user_id=None, username="root", roles=frozenset(ADMIN_ROLES))
    lead = engine.records.create("lead", {"last_name": "Martin", "phone": "01 02 03 04 05"}, SYSTEM_ACTOR)
    assert "admin" not in engine.records.workflow_of("lead").transition("start_call").roles
    available = {t.name: refusal for t, refusal in engine.records.available_transitions("lead", lead["id"], admin)}
    assert available["start_call"] is None
    moved = engine.records.transition("lead", lead["id"], "start_call", admin, version=lead["version"])
    assert moved["status"] == "qualification_call"
    with pytest.raises(TransitionError) as caught:  # the guard still applies to administrators
        engine.records.transition("lead", lead["id"], "qualify", admin, values={"source": "website"},
                                  version=moved["version"])
    assert caught.value.reason == "guard"
