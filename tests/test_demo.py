"""The base pack builds a working database and its demo data loads through the engine."""

from __future__ import annotations

import metamodel
from engine import SYSTEM_ACTOR
from ossature.demo import seed_demo


def test_base_pack_migrates_and_demo_data_loads(make_engine):
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    counts = seed_demo(engine)
    assert set(counts) >= {"user", "account", "contact", "lead", "opportunity", "event", "task", "ticket"}
    assert sum(counts.values()) >= 300
    for entity, count in counts.items():
        assert engine.records.count(entity) == count
    assert seed_demo(engine) == {}  # a second run adds nothing


def test_demo_records_pass_validation_again(make_engine):
    """Re-saving a demo record through the single-record path finds nothing wrong with it."""
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    seed_demo(engine)
    lead = engine.records.get("lead", 1)
    again = engine.records.update("lead", 1, {"score": lead["score"]}, SYSTEM_ACTOR, version=lead["version"])
    assert again["version"] == lead["version"]


def _all(engine, entity):
    return [engine.records.get(entity, i) for i in range(1, engine.records.count(entity) + 1)]


def test_demo_records_follow_their_workflows(make_engine):
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    seed_demo(engine)

    for entity in ("lead", "opportunity", "task", "ticket"):
        codes = {s.code for s in model.workflow(entity).statuses}
        statuses = {r["status"] for r in _all(engine, entity)}
        assert statuses <= codes, entity
        assert len(statuses) >= 3, entity

    leads = _all(engine, "lead")
    converted = [lead for lead in leads if lead["status"] == "converted"]
    lost = [lead for lead in leads if lead["status"] == "lost"]
    assert converted and lost
    for lead in converted:
        account = engine.records.get("account", lead["converted_account"])
        contact = engine.records.get("contact", lead["converted_contact"])
        opportunity = engine.records.get("opportunity", lead["converted_opportunity"])
        assert account["name"] == lead["company"]
        assert (contact["last_name"], contact["account"]) == (lead["last_name"], account["id"])
        assert (opportunity["lead"], opportunity["account"], opportunity["contact"]) == (lead["id"], account["id"], contact["id"])
        assert lead["converted_on"] is not None and lead["qualified_on"] <= lead["converted_on"]
    assert all(lead["lost_reason"] in model.value_list("lost_reasons").active_codes for lead in lost)
    assert all(lead["lost_reason"] is None and lead["converted_account"] is None
               for lead in leads if lead["status"] not in ("converted", "lost"))


def test_demo_values_match_what_statuses_set_on_entry(make_engine):
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    seed_demo(engine)
    probability = {s.code: int(s.on_enter["probability"]) for s in model.workflow("opportunity").statuses}

    for opportunity in _all(engine, "opportunity"):
        assert opportunity["probability"] == probability[opportunity["status"]]
    for task in _all(engine, "task"):
        if task["status"] == "done":
            assert task["percent_done"] == 100
