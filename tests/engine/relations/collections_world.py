"""Helpers of the collection value tests (a uniquely named module, imported by them): the
collections pack (events with attendees and speakers as `links` and meals as `lines`, committees
with a counted `links`), an engine on it, actors, and a counter of the SQL statements sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.core.context import Actor
from engine.core.errors import RecordValidationError

COLLECTIONS_PACK = Path(__file__).resolve().parent / "collections_pack"


@pytest.fixture(scope="session")
def collections_model() -> metamodel.model.Model:
    return metamodel.load_model([COLLECTIONS_PACK])


@pytest.fixture
def eng(make_engine, collections_model, clock) -> Engine:
    return make_engine(collections_model, clock=clock)


@pytest.fixture
def contacts(eng) -> list[int]:
    """Five contacts, c0 to c4."""
    return eng.records.create_many("contact", [{"name": f"c{i}"} for i in range(5)], SYSTEM_ACTOR)


@pytest.fixture
def rooms(eng) -> list[int]:
    return eng.records.create_many("room", [{"name": "Blue"}, {"name": "Red"}], SYSTEM_ACTOR)


@pytest.fixture
def statements(eng) -> Iterator[list[str]]:
    """The SQL statements the engine sends from now on (an executemany counts once)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        sent.append(statement)

    sa.event.listen(eng.db, "before_cursor_execute", record)
    yield sent
    sa.event.remove(eng.db, "before_cursor_execute", record)


def user(eng: Engine, name: str, role: str) -> Actor:
    user_id = eng.records.create("user", {"username": name}, SYSTEM_ACTOR)["id"]
    return Actor(user_id=user_id, username=name, roles=frozenset({role}))


def create_event(eng: Engine, **values: Any) -> dict[str, Any]:
    return eng.records.create("event", {"subject": "Launch", **values}, SYSTEM_ACTOR)


def refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
    """Where -> rule of the errors of a write refused as invalid."""
    with pytest.raises(RecordValidationError) as raised:
        call(*args, **kwargs)
    return rules(raised.value.errors)


def rules(errors: dict[str, list[Any]]) -> dict[str, str]:
    """Where -> the rule of the first error there."""
    return {name: found[0].rule for name, found in errors.items()}


def members(eng: Engine, entity: str, field: str) -> list[tuple[int, int]]:
    """Every (source_id, target_id) row of a join table."""
    join = eng.tables.join_table(entity, field)
    with eng.db.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(join.c.source_id, join.c.target_id)))


def stored_lines(eng: Engine, entity: str = "meal") -> list[dict[str, Any]]:
    """Every row of an owned entity's table, by id."""
    table = eng.tables.of(entity)
    with eng.db.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
