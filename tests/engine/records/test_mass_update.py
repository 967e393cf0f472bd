"""Mass update: set-based, audited and historized like single updates; refusals per record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import SYSTEM_ACTOR, Actor, RecordValidationError

ANN = Actor(user_id=7, username="ann", roles=frozenset({"manager"}))


@pytest.fixture
def ids(engine):
    return engine.records.create_many(
        "sample", [{"name": f"S{i:04d}", "qty": i % 3, "price": "1.00", "do_not_call": True} for i in range(2500)], SYSTEM_ACTOR
    )


def test_selection_of_ids_changes_only_what_differs(engine, ids, clock, owner_id):
    clock.advance(hours=1)
    result = engine.records.mass_update("sample", ids[:10], {"qty": 1, "owner": owner_id}, ANN)
    assert (result.matched, result.changed, result.refused) == (10, 10, {})
    record = engine.records.get("sample", ids[0])
    assert (record["qty"], record["owner"], record["version"]) == (1, owner_id, 2)
    assert record["updated_at"] == clock.now and record["updated_by"] == 7
    log = engine.records.audit_log("sample", ids[0])
    assert log[-1]["changes"] == {"qty": [0, 1], "owner": [None, owner_id]}
    assert log[-1]["version"] == 2 and log[-1]["actor_id"] == 7
    log = engine.records.audit_log("sample", ids[1])  # qty was already 1: only owner changed
    assert log[-1]["changes"] == {"owner": [None, owner_id]}
    untouched = engine.records.get("sample", ids[10])
    assert untouched["version"] == 1


def test_all_matching_a_filter_in_chunks(engine, ids, monkeypatch):
    from engine.records import mass_update

    monkeypatch.setattr(mass_update, "CHUNK", 300)
    request = engine.records.list_request("sample", {"f_qty": ["1", "2"]})
    expected = len([i for i in range(2500) if i % 3 != 0])
    assert expected > 5 * mass_update.CHUNK
    assert engine.records.preview_mass_update("sample", request, {"price": "9.99"}, ANN) == expected
    result = engine.records.mass_update("sample", request, {"price": "9.99"}, ANN)
    assert (result.matched, result.changed) == (expected, expected)
    assert engine.records.get("sample", ids[2])["price"] == Decimal("9.99")
    assert engine.records.get("sample", ids[0])["price"] == Decimal("1.00")
    assert engine.records.preview_mass_update("sample", request, {"price": "9.99"}, ANN) == 0


def test_historized_values_get_their_periods(engine, ids, clock):
    t1 = clock.advance(days=1)
    engine.records.mass_update("sample", ids[:3], {"price": "2.50", "level": "high"}, ANN)
    periods = engine.records.history("sample", ids[0], "price")
    assert [(p["value"], p["valid_to"]) for p in periods] == [(Decimal("1.00"), t1), (Decimal("2.50"), None)]
    assert engine.records.value_as_of("sample", ids[0], "level", t1) == "high"
    t2 = clock.advance(days=1)
    engine.records.mass_update("sample", ids[:3], {"price": None}, ANN)
    assert engine.records.value_as_of("sample", ids[0], "price", t2) is None
    assert engine.records.value_as_of("sample", ids[0], "price", t1) == Decimal("2.50")


def test_booleans_dates_and_lists_are_audited_as_json(engine, ids):
    engine.records.mass_update("sample", ids[:1], {"do_not_call": False, "phone": "0102030405", "due": "2025-05-05", "tags": ["low", "mid"]}, ANN)
    changes = engine.records.audit_log("sample", ids[0])[-1]["changes"]
    assert changes == {
        "do_not_call": [True, False],
        "phone": [None, "0102030405"],
        "due": [None, "2025-05-05"],
        "tags": [None, ["low", "mid"]],
    }


@pytest.mark.parametrize(
    "values, field, rule",
    [
        ({"qty": 101}, "qty", "max"),
        ({"name": None}, "name", "mandatory"),
        ({"code": "ABC-12"}, "code", "unique"),
        ({"level": "legacy"}, "level", "retired"),
        ({"owner": 424242}, "owner", "link"),
        ({"created_at": "2020-01-01"}, "created_at", "readonly"),
        ({"nonsense": 1}, "nonsense", "unknown"),
    ],
)
def test_invalid_values_refuse_everything(engine, ids, values, field, rule):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.mass_update("sample", ids, values, ANN)
    assert caught.value.errors[field][0].rule == rule
    assert engine.records.get("sample", ids[0])["version"] == 1


def test_records_refused_one_by_one_are_listed(engine, ids):
    engine.records.update("sample", ids[1], {"qty": 2}, ANN)  # now at version 2
    result = engine.records.mass_update(
        "sample", ids[:3], {"do_not_call": False}, ANN, versions={ids[0]: 1, ids[1]: 1, ids[2]: 1}
    )
    # stale version for ids[1]; mandatory_when (phone needed once do_not_call is false) for the others
    assert set(result.refused) == {ids[0], ids[1], ids[2]}
    assert "version" in result.refused[ids[1]]
    assert "phone" in result.refused[ids[0]]
    assert result.changed == 0
    engine.records.update("sample", ids[0], {"phone": "0102030405"}, ANN)
    result = engine.records.mass_update("sample", ids[:1], {"do_not_call": False}, ANN)
    assert (result.changed, result.refused) == (1, {})


def test_status_goes_through_the_workflow_per_record(engine, ids):
    engine.records.update("sample", ids[0], {"email": "a@example.org"}, ANN)
    engine.records.update("sample", ids[1], {"email": "b@example.org", "qty": 1}, ANN)
    result = engine.records.mass_update("sample", ids[:3], {"status": "review"}, ANN)
    assert result.changed == 1
    assert set(result.refused) == {ids[0], ids[2]}  # qty 0 fails the guard; no email is required
    assert engine.records.get("sample", ids[1])["status"] == "review"
    assert engine.records.status_history("sample", ids[1])[-1]["transition"] == "submit"
    assert "Quantity must be at least 1" in result.refused[ids[0]]


def test_trashed_and_unknown_ids_are_not_matched(engine, ids):
    engine.records.delete("sample", ids[0], ANN)
    result = engine.records.mass_update("sample", [ids[0], ids[1], 99999999], {"qty": 2}, ANN)
    assert (result.matched, result.changed) == (1, 1)



@pytest.mark.parametrize("units, text", [
    (1234567890123456789, "12345678901234567.89"), (-5, "-0.05"), (0, "0.00"), (100, "1.00"), (None, None),
])
def test_decimals_go_into_audit_json_exactly_past_a_floats_digits(model, units, text):
    """On SQLite a decimal is an integer of cents; its JSON text is built with integer arithmetic.

    A statement-building check of the SQLite dialect, so it runs on an SQLite connection of its own
    whichever database the suite uses (PostgreSQL keeps decimals as numeric and casts them to text)."""
    import json

    import sqlalchemy as sa

    from engine.storage.sqljson import json_of

    price = model.entity("sample").field("price")
    sqlite = sa.create_engine("sqlite://")
    with sqlite.connect() as conn:
        found = conn.execute(sa.select(json_of(price, sa.literal(units, sa.BigInteger), "sqlite"))).scalar_one()
    sqlite.dispose()
    assert (json.loads(found) if found is not None else None) == text
