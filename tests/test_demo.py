"""The base pack builds a working database and its demo data loads through the engine."""

from __future__ import annotations

import metamodel
from engine import SYSTEM_ACTOR
from engine.demo import seed_demo


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
