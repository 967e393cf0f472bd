from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from engine import Engine

PACK = Path(__file__).resolve().parent / "pack"


@pytest.fixture(scope="session")
def model() -> metamodel.model.Model:
    return metamodel.load_model([PACK])


@pytest.fixture
def engine(make_engine, model, clock) -> Engine:
    return make_engine(model, clock=clock)


@pytest.fixture
def owner_id(engine) -> int:
    from engine import SYSTEM_ACTOR

    return engine.records.create("user", {"username": "ann"}, SYSTEM_ACTOR)["id"]
