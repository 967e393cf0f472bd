"""The base pack builds a working database and its demo data loads through the engine."""

from __future__ import annotations

import datetime as dt

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.records.related import related_list
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


def test_demo_events_name_their_people_and_what_they_follow_up(make_engine):
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    seed_demo(engine)
    contacts_of: dict[int, set[int]] = {}
    for contact in _all(engine, "contact"):
        contacts_of.setdefault(contact["account"], set()).add(contact["id"])
    active = {user["id"] for user in _all(engine, "user") if user["active"]}
    tickets = {ticket["id"]: ticket for ticket in _all(engine, "ticket")}
    events = _all(engine, "event")

    with_attendees = [e for e in events if e["attendees"]]
    assert len(with_attendees) >= 40 and any(len(e["attendees"]) >= 3 for e in events)
    for event in with_attendees:
        assert set(event["attendees"]) <= contacts_of[event["account"]], event["id"]
        assert event["contact"] in event["attendees"], event["id"]
        assert len(event["attendees"]) <= model.entity("event").field("attendees").max
    with_participants = [e for e in events if e["participants"]]
    assert len(with_participants) >= 10
    for event in with_participants:
        assert set(event["participants"]) <= active and event["assigned_to"] not in event["participants"]
        assert event["event_type"] in ("meeting", "demo")
    followed = [e for e in events if e["ticket"]]
    assert followed and all(e["account"] == tickets[e["ticket"]]["account"] for e in followed)
    tasks = [t for t in _all(engine, "task") if t["ticket"]]
    assert tasks and all(t["account"] == tickets[t["ticket"]]["account"] for t in tasks)
    by_id = {e["id"]: e for e in events}
    for report in _all(engine, "activity_report"):
        assert report["ticket"] == by_id[report["event"]]["ticket"]


def test_demo_contact_lists_hold_the_contacts_they_are_for(make_engine):
    model = metamodel.load_model([metamodel.BASE_PACK])
    engine = make_engine(model)
    counts = seed_demo(engine)
    assert counts["contact_list"] == 6
    contacts = {c["id"]: c for c in _all(engine, "contact")}
    every = _all(engine, "contact_list")
    lists = {cl["purpose"]: cl for cl in every[:4]}  # the first four: one per purpose
    assert set(lists) == {"newsletter", "event_invitation", "campaign_target", "key_contacts"}
    assert {cl["purpose"] for cl in every[4:]} == {"prospecting", "event_invitation"}
    for contact_list in every:
        assert 5 <= len(contact_list["members"]) <= 150, contact_list["name"]
        assert set(contact_list["members"]) <= set(contacts)
    for contact_list in every:
        if contact_list["purpose"] in ("newsletter", "event_invitation"):
            assert not any(contacts[m]["do_not_email"] for m in contact_list["members"]), contact_list["name"]
    assert {contacts[m]["function"] for m in lists["campaign_target"]["members"]} <= {"cto", "it_manager"}
    assert all(contacts[m]["country"] == "France" for m in lists["newsletter"]["members"])
    member = lists["campaign_target"]["members"][0]
    shown = related_list(engine.records, "contact", member, "contact_lists", None, SYSTEM_ACTOR)
    assert lists["campaign_target"]["id"] in [row["id"] for row in shown.rows]  # the contact's panel


def test_the_same_seed_gives_the_same_relations(make_engine, tmp_path):
    model = metamodel.load_model([metamodel.BASE_PACK])
    first = make_engine(model)
    seed_demo(first, today=dt.date(2026, 3, 2))
    second = Engine(model, f"sqlite:///{tmp_path / 'again.db'}", files_dir=tmp_path / "again")
    try:
        second.migrate()
        seed_demo(second, today=dt.date(2026, 3, 2))
        for entity, names in (("event", ("attendees", "participants", "ticket")), ("contact_list", ("members",))):
            assert [[r[n] for n in names] for r in _all(first, entity)] == \
                [[r[n] for n in names] for r in _all(second, entity)], entity
    finally:
        second.dispose()
