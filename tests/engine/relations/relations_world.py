"""The shared relations pack (tests/metamodel/packs/relations, on the base pack) as an engine, for
the tests reading it through the record service (a uniquely named module, imported by them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel

RELATIONS = Path(__file__).resolve().parents[2] / "metamodel" / "packs" / "relations"


@pytest.fixture(scope="module")
def relations_model() -> metamodel.model.Model:
    return metamodel.load_model([metamodel.BASE_PACK, RELATIONS])


@pytest.fixture
def eng(make_engine, relations_model, clock):
    return make_engine(relations_model, clock=clock)
