"""Reads of one unit of work through one connection (`RecordService.shared_reads`): what a page
does with its record, panels and titles. The blocks take no connection from the pool each, see
what was written between them, and a block inside another still reads on its own."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Engine


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(metamodel.load_model([metamodel.BASE_PACK]))


@pytest.fixture
def checkouts(engine: Engine) -> Iterator[list[int]]:
    """Every connection taken from the engine's pool meanwhile (their DBAPI connections' ids)."""
    taken: list[int] = []

    def listen(dbapi_connection, _record, _proxy) -> None:
        taken.append(id(dbapi_connection))

    sa.event.listen(engine.db, "checkout", listen)
    yield taken
    sa.event.remove(engine.db, "checkout", listen)


def test_the_reads_of_a_unit_share_one_connection(engine: Engine, checkouts: list[int]) -> None:
    account = engine.records.create("account", {"name": "Fromagerie Dubois"}, SYSTEM_ACTOR)
    checkouts.clear()
    with engine.records.shared_reads():
        for _ in range(5):
            assert engine.records.get("account", account["id"])["name"] == "Fromagerie Dubois"
        assert engine.records.count("account") == 1
    assert len(checkouts) == 1
    assert engine.db.pool.checkedout() == 0  # given back when the unit ends


def test_a_read_after_a_write_of_the_same_unit_sees_it(engine: Engine) -> None:
    account = engine.records.create("account", {"name": "Before"}, SYSTEM_ACTOR)
    with engine.records.shared_reads():
        assert engine.records.get("account", account["id"])["name"] == "Before"
        engine.records.update("account", account["id"], {"name": "After"}, SYSTEM_ACTOR)  # its own transaction
        assert engine.records.get("account", account["id"])["name"] == "After"
        assert engine.records.count("account") == 1


def test_a_read_inside_another_takes_its_own_connection(engine: Engine, checkouts: list[int]) -> None:
    ids = [engine.records.create("account", {"name": f"Account {i}"}, SYSTEM_ACTOR)["id"] for i in range(3)]
    checkouts.clear()
    with engine.records.shared_reads():
        with engine.records.reading(None) as outer:
            rows = outer.conn.execute(sa.select(engine.tables.of("account").c.id).order_by(sa.text("id")))
            first = rows.fetchone()
            titles = engine.records.titles("account", ids)  # while the outer statement is still open
            rest = rows.fetchall()
        assert [first[0], *(row[0] for row in rest)] == ids
        assert titles == {ids[0]: "Account 0", ids[1]: "Account 1", ids[2]: "Account 2"}
        assert engine.records.count("account") == 3  # the unit's connection again
    assert len(checkouts) == len(set(checkouts)) == 2  # the unit's, and the inner block's meanwhile


def test_outside_a_unit_each_read_takes_a_connection(engine: Engine, checkouts: list[int]) -> None:
    account = engine.records.create("account", {"name": "Alone"}, SYSTEM_ACTOR)
    checkouts.clear()
    with engine.records.shared_reads():
        pass
    for _ in range(3):
        engine.records.get("account", account["id"])
    assert len(checkouts) == 3
