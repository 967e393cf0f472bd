"""The relations packs (tests/metamodel/packs/relations and tests/api/relations_pack, on the base
pack) as an engine, for the tests of exports and imports of `links` and `lines`: quotes whose
`reviewers` are contacts (natural key: email; min 1, max 3), `watchers` (max 2) and `items`
lines (at most 3); bookings whose `attendees` are contacts and whose `meals` are lines."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

import metamodel
from engine import SYSTEM_ACTOR

TESTS = Path(__file__).resolve().parents[2]
RELATIONS = TESTS / "metamodel" / "packs" / "relations"
API_RELATIONS = TESTS / "api" / "relations_pack"
SCOPED = Path(__file__).resolve().parent / "scoped_importer_pack"
"""A role importing quotes that reads only the contacts its user created (`own_contacts_importer`)."""


@pytest.fixture(scope="module")
def exchange_model() -> metamodel.model.Model:
    return metamodel.load_model([metamodel.BASE_PACK, RELATIONS, API_RELATIONS, SCOPED])


@pytest.fixture
def eng(make_engine, exchange_model, clock):
    return make_engine(exchange_model, clock=clock)


@pytest.fixture
def contacts(eng) -> dict[str, int]:
    """Five contacts by email: ann, bob, cy, dee and eve @x.org."""
    emails = ["ann@x.org", "bob@x.org", "cy@x.org", "dee@x.org", "eve@x.org"]
    with eng.records.transaction(SYSTEM_ACTOR) as tx:
        ids = tx.create_many("contact", [{"last_name": e.split("@")[0], "email": e} for e in emails])
    return dict(zip(emails, ids))


@pytest.fixture
def write(tmp_path) -> Callable[..., Path]:
    def write(text: str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write
