"""The engine calls the hooks of installed plugins: the third-party test plugin proves each one."""

from __future__ import annotations

import pytest

from engine import SYSTEM_ACTOR, Actor, Engine, EngineError, RecordValidationError
from ossature_test_plugin import REFUSED_VALUE
from plugins.api import hookimpl
from plugins.host.manager import plugin_manager

ANN = Actor(user_id=3, username="ann")
VALID_SIRET = "73282932000074"


@pytest.fixture
def engine(make_engine, firm_model):
    """An engine with the default plugins: every installed one, the test plugin included."""
    return make_engine(firm_model)


def test_the_engine_loads_installed_plugins_by_default(engine):
    assert {"convert_lead", "stamp_note"} <= set(engine.hooks.actions)
    assert "siret" in engine.hooks.formats


@pytest.mark.parametrize(
    "siret, accepted",
    [
        (VALID_SIRET, True),
        ("44306184100047", True),
        (f"  {VALID_SIRET} ", True),
        ("73282932000075", False),  # Luhn sum off by one
        (VALID_SIRET[:-1], False),  # 13 digits
        (VALID_SIRET + "0", False),  # 15 digits
        ("7328293200007A", False),
    ],
)
def test_a_plugin_field_format_checks_values(engine, siret, accepted):
    if accepted:
        assert engine.records.create("firm", {"name": "Acme", "siret": siret}, ANN)["siret"] == siret.strip()
        return
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("firm", {"name": "Acme", "siret": siret}, ANN)
    assert [e.rule for e in caught.value.errors["siret"]] == ["format"]
    assert caught.value.as_dict("fr")["siret"][0]["message"] == "Numéro SIRET invalide (14 chiffres)."
    assert engine.records.count("firm") == 0


def test_a_field_format_is_checked_on_update(engine):
    firm = engine.records.create("firm", {"name": "Acme", "siret": VALID_SIRET}, ANN)
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("firm", firm["id"], {"siret": "73282932000075"}, ANN)
    assert caught.value.as_dict("en")["siret"][0]["message"] == "Not a valid SIRET number (14 digits)."
    assert engine.records.get("firm", firm["id"])["siret"] == VALID_SIRET


def test_validate_record_refuses_a_new_record(engine):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("firm", {"name": REFUSED_VALUE}, ANN)
    assert caught.value.as_dict("fr") == {
        "name": [{"rule": "test_plugin", "message": "Le plugin de test refuse cette valeur."}]
    }
    assert engine.records.count("firm") == 0


def test_validate_record_refuses_an_update(engine):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("firm", firm["id"], {"notes": REFUSED_VALUE}, ANN)
    assert [e.rule for e in caught.value.errors["notes"]] == ["test_plugin"]
    assert engine.records.get("firm", firm["id"])["version"] == 1


def test_validate_record_sees_the_whole_batch_of_a_bulk_create(engine):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create_many("firm", [{"name": "Acme"}, {"name": REFUSED_VALUE}], ANN)
    assert list(caught.value.rows) == [1]
    assert engine.records.count("firm") == 0


def test_before_save_may_change_what_is_written(engine):
    firm = engine.records.create("firm", {"name": "upper:acme"}, ANN)
    assert firm["name"] == "ACME"
    updated = engine.records.update("firm", firm["id"], {"notes": "upper:call back"}, ANN)
    assert updated["notes"] == "CALL BACK"


def test_save_hooks_see_new_records_then_changes(engine, recorded):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    engine.records.update("firm", firm["id"], {"notes": "called", "name": "Acme"}, ANN)
    calls = [(call[0], call[2], call[3], call[4]) for call in recorded]
    assert calls[0][0] == "before_save" and calls[0][1] is None and calls[0][3] is True
    assert calls[0][2]["name"] == "Acme"
    assert calls[1][0:2] == ("after_save", firm["id"]) and calls[1][3] is True
    assert calls[2:] == [
        ("before_save", firm["id"], {"notes": "called"}, False),
        ("after_save", firm["id"], {"notes": "called"}, False),
    ]


def test_an_update_that_changes_nothing_calls_no_save_hook(engine, recorded):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    recorded.clear()
    engine.records.update("firm", firm["id"], {"name": "Acme"}, ANN)
    assert list(recorded) == []


def test_a_plugin_action_sets_values_on_the_transitioned_record(engine):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    reviewed = engine.records.transition("firm", firm["id"], "review", ANN)
    assert reviewed["status"] == "reviewed"
    assert reviewed["notes"] == "reviewed (review by ann)"


def test_a_plugin_action_receives_the_callers_inputs(engine):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    reviewed = engine.records.transition("firm", firm["id"], "review", ANN, inputs={"note": "looks fine"})
    assert reviewed["notes"] == "looks fine (review by ann)"


def test_after_transition_follows_the_status_change(engine, recorded):
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    recorded.clear()
    engine.records.transition("firm", firm["id"], "review", ANN)
    assert [call[0] for call in recorded] == ["before_save", "after_save", "after_transition"]
    assert recorded[-1] == ("after_transition", "firm", firm["id"], "review", "draft", "reviewed")
    assert recorded[1][3] == {"notes": "reviewed (review by ann)", "status": "reviewed"}


class RefusingAfterSave:
    """A plugin whose after-save check fails: the save it follows must not stay."""

    @hookimpl
    def ossature_after_save(self, tx, entity, record, changes, is_new):
        if "undo me" in (record.get("notes") or ""):
            raise RuntimeError("after_save refused")


def test_an_error_in_after_save_rolls_the_save_back(make_engine, firm_model):
    engine = make_engine(firm_model, plugins=plugin_manager([RefusingAfterSave()]))
    with pytest.raises(RuntimeError, match="after_save refused"):
        engine.records.create("firm", {"name": "Acme", "notes": "undo me"}, ANN)
    assert engine.records.count("firm") == 0
    firm = engine.records.create("firm", {"name": "Acme"}, ANN)
    with pytest.raises(RuntimeError):
        engine.records.transition("firm", firm["id"], "review", ANN, inputs={"note": "undo me"})
    assert engine.records.get("firm", firm["id"])["status"] == "draft"


class CreatingAfterTransition:
    """A plugin writing through the transaction it is handed, after every transition."""

    @hookimpl
    def ossature_after_transition(self, tx, entity, record, transition):
        if entity == "firm":
            tx.create("firm", {"name": f"follow-up of {record['name']} ({transition})"})


def test_after_transition_writes_in_the_transitions_transaction(make_engine, firm_model):
    engine = make_engine(firm_model, plugins=plugin_manager([CreatingAfterTransition()]))
    firm = engine.records.create("firm", {"name": "Acme"}, SYSTEM_ACTOR)
    engine.records.transition("firm", firm["id"], "review", ANN)
    assert engine.records.get("firm", firm["id"] + 1)["name"] == "follow-up of Acme (review)"


def test_a_format_no_installed_plugin_provides_stops_the_engine(firm_model, database_url):
    with pytest.raises(EngineError, match="firm.yaml:7: characteristics.siret.format: .*'siret'"):
        Engine(firm_model, database_url, plugins=plugin_manager(blocked=["test_plugin"]))
