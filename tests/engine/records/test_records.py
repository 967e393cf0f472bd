"""The record service: lifecycle, optimistic locking, trash, audit and history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine import (
    SYSTEM_ACTOR,
    Actor,
    ConflictError,
    NotFoundError,
    NotHistorizedError,
    RecordValidationError,
    StateError,
)

BASE = {"name": "Ok", "do_not_call": True}
ANN = Actor(user_id=7, username="ann")


def test_create_sets_system_columns(engine, clock):
    record = engine.records.create("sample", BASE, ANN)
    assert record["id"] > 0
    assert record["version"] == 1
    assert record["created_at"] == record["updated_at"] == clock.now
    assert record["created_by"] == record["updated_by"] == 7
    assert record["deleted_at"] is None


def test_partial_update_changes_only_what_is_given(engine, clock):
    record = engine.records.create("sample", {**BASE, "qty": 3, "notes": "keep"}, ANN)
    clock.advance(minutes=5)
    updated = engine.records.update("sample", record["id"], {"qty": "4"}, ANN, version=1)
    assert (updated["qty"], updated["notes"], updated["version"]) == (4, "keep", 2)
    assert updated["updated_at"] == clock.now


def test_update_without_change_writes_nothing(engine):
    record = engine.records.create("sample", {**BASE, "qty": 3}, ANN)
    same = engine.records.update("sample", record["id"], {"qty": 3}, ANN, version=1)
    assert same["version"] == 1
    assert [e["action"] for e in engine.records.audit_log("sample", record["id"])] == ["create"]


def test_stale_version_is_a_conflict_and_writes_nothing(engine):
    record = engine.records.create("sample", {**BASE, "qty": 1}, ANN)
    engine.records.update("sample", record["id"], {"qty": 2}, ANN, version=1)
    with pytest.raises(ConflictError) as caught:
        engine.records.update("sample", record["id"], {"qty": 3}, ANN, version=1)
    assert caught.value.current["qty"] == 2
    assert caught.value.current["version"] == 2
    assert "version 1" in str(caught.value) and "version 2" in str(caught.value)
    assert engine.records.get("sample", record["id"])["qty"] == 2
    assert len(engine.records.audit_log("sample", record["id"])) == 2


def test_invalid_update_writes_nothing(engine):
    record = engine.records.create("sample", {**BASE, "qty": 1}, ANN)
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("sample", record["id"], {"qty": 101, "name": None}, ANN)
    assert {n: [e.rule for e in errs] for n, errs in caught.value.errors.items()} == {
        "qty": ["max"],
        "name": ["mandatory"],
    }
    assert engine.records.get("sample", record["id"])["version"] == 1


def test_retired_value_stays_on_old_records_but_cannot_be_chosen(engine):
    record = engine.records.create("sample", {**BASE, "tags": ["low"]}, SYSTEM_ACTOR)
    table = engine.tables.of("sample")
    with engine.db.begin() as conn:  # as if the value had been chosen before it was retired
        conn.execute(table.update().where(table.c.id == record["id"]).values(level="legacy", tags=["legacy", "low"]))
    kept = engine.records.update("sample", record["id"], {"qty": 5, "tags": ["legacy", "low", "mid"]}, ANN)
    assert (kept["level"], kept["tags"], kept["qty"]) == ("legacy", ["legacy", "low", "mid"], 5)
    engine.records.update("sample", record["id"], {"level": "mid"}, ANN)  # leaving it is fine
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("sample", record["id"], {"level": "legacy"}, ANN)  # coming back is not
    assert caught.value.errors["level"][0].rule == "retired"


def test_delete_moves_to_trash_and_restore_brings_back(engine):
    record = engine.records.create("sample", {**BASE, "qty": 9}, ANN)
    trashed = engine.records.delete("sample", record["id"], ANN, version=1)
    assert trashed["deleted_at"] is not None
    assert engine.records.count("sample") == 0
    assert engine.records.count("sample", include_deleted=True) == 1
    with pytest.raises(NotFoundError):
        engine.records.get("sample", record["id"])
    with pytest.raises(StateError):
        engine.records.delete("sample", record["id"], ANN)
    live = engine.records.create("sample", BASE, ANN)
    with pytest.raises(StateError, match="not in the trash"):
        engine.records.purge("sample", live["id"], ANN)
    restored = engine.records.restore("sample", record["id"], ANN)
    assert restored["deleted_at"] is None and restored["qty"] == 9 and restored["version"] == 3
    assert engine.records.count("sample") == 2
    with pytest.raises(StateError):
        engine.records.restore("sample", record["id"], ANN)


def test_updating_a_trashed_record_is_refused(engine):
    record = engine.records.create("sample", BASE, ANN)
    engine.records.delete("sample", record["id"], ANN)
    with pytest.raises(NotFoundError):
        engine.records.update("sample", record["id"], {"qty": 1}, ANN)


def test_purge_removes_for_good_but_keeps_the_audit(engine):
    record = engine.records.create("sample", {**BASE, "qty": 4}, ANN)
    engine.records.delete("sample", record["id"], ANN)
    engine.records.purge("sample", record["id"], ANN)
    assert engine.records.count("sample", include_deleted=True) == 0
    log = engine.records.audit_log("sample", record["id"])
    assert [e["action"] for e in log] == ["create", "delete", "purge"]
    assert log[-1]["changes"]["qty"] == [4, None]


def test_purge_refused_while_linked(engine, owner_id):
    engine.records.create("sample", {**BASE, "owner": owner_id}, ANN)
    engine.records.delete("user", owner_id, ANN)
    with pytest.raises(StateError, match="1 sample record"):
        engine.records.purge("user", owner_id, ANN)
    assert engine.records.count("user", include_deleted=True) == 1


def test_audit_log_records_every_change(engine, clock):
    record = engine.records.create("sample", {**BASE, "qty": 1, "price": "5"}, ANN)
    clock.advance(hours=1)
    engine.records.update("sample", record["id"], {"qty": 2, "price": "5.50"}, Actor(user_id=8))
    engine.records.delete("sample", record["id"], ANN)
    engine.records.restore("sample", record["id"], ANN)
    log = engine.records.audit_log("sample", record["id"])
    assert [(e["action"], e["version"]) for e in log] == [("create", 1), ("update", 2), ("delete", 3), ("restore", 4)]
    assert log[1]["changes"] == {"qty": [1, 2], "price": ["5.00", "5.50"]}
    assert log[1]["actor_id"] == 8 and log[1]["changed_at"] == clock.now
    assert log[0]["actor_id"] == 7


def test_history_periods_and_value_as_of(engine, clock, owner_id):
    t0 = clock.now
    record = engine.records.create("sample", {**BASE, "price": "10"}, ANN)
    t1 = clock.advance(days=1)
    engine.records.update("sample", record["id"], {"price": "20"}, ANN)
    t2 = clock.advance(days=1)
    engine.records.update("sample", record["id"], {"price": None, "owner": owner_id}, ANN)
    rid = record["id"]

    assert engine.records.value_as_of("sample", rid, "price", t0 - dt.timedelta(seconds=1)) is None
    assert engine.records.value_as_of("sample", rid, "price", t0) == Decimal("10.00")
    assert engine.records.value_as_of("sample", rid, "price", t1 - dt.timedelta(microseconds=1)) == Decimal("10.00")
    assert engine.records.value_as_of("sample", rid, "price", t1) == Decimal("20.00")
    assert engine.records.value_as_of("sample", rid, "price", t2) is None
    assert engine.records.value_as_of("sample", rid, "price", t1.date()) == Decimal("20.00")
    assert engine.records.value_as_of("sample", rid, "owner", t1) is None
    assert engine.records.value_as_of("sample", rid, "owner", t2) == owner_id
    assert engine.records.value_as_of("sample", rid, "level", t0) == "low"

    periods = engine.records.history("sample", rid, "price")
    assert [(p["value"], p["valid_from"], p["valid_to"]) for p in periods] == [
        (Decimal("10.00"), t0, t1),
        (Decimal("20.00"), t1, t2),
        (None, t2, None),
    ]
    assert periods[1]["old_value"] == Decimal("10.00") and periods[1]["changed_by"] == 7


def test_value_as_of_refuses_a_field_that_is_not_historized(engine):
    record = engine.records.create("sample", BASE, ANN)
    with pytest.raises(NotHistorizedError, match="sample.qty"):
        engine.records.value_as_of("sample", record["id"], "qty", dt.datetime(2030, 1, 1))


def test_create_many_is_all_or_nothing_and_returns_ids_in_order(engine):
    ids = engine.records.create_many("sample", [{**BASE, "qty": n % 101} for n in range(2500)], ANN)
    assert len(ids) == 2500 and ids == sorted(ids)
    assert engine.records.get("sample", ids[1234])["qty"] == 1234 % 101
    assert len(engine.records.audit_log("sample", ids[-1])) == 1
    from engine import BatchValidationError

    with pytest.raises(BatchValidationError) as caught:
        engine.records.create_many("sample", [{**BASE, "qty": 1}] * 10 + [{**BASE, "qty": -1}], ANN)
    assert list(caught.value.rows) == [10]
    assert "row 10" in str(caught.value)
    assert engine.records.count("sample") == 2500


def test_unknown_entity_and_record(engine):
    with pytest.raises(NotFoundError):
        engine.records.get("nothing", 1)
    with pytest.raises(NotFoundError):
        engine.records.get("sample", 12345)


def test_a_savepoint_first_in_a_transaction_rolls_back_with_it(engine):
    """On SQLite the driver would run a leading SAVEPOINT outside any transaction, so that what it
    released stayed even when the transaction rolled back (Transaction.savepoint prevents it)."""
    import sqlalchemy as sa

    table = engine.tables.of("sample")
    with pytest.raises(RuntimeError):
        with engine.records.transaction(SYSTEM_ACTOR) as tx:
            with tx.savepoint():
                tx.create("sample", {"name": "savepoint"})
            raise RuntimeError("the transaction fails after the savepoint was released")
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
