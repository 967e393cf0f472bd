"""Every characteristic type and rule, accepted and refused at its boundaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine import SYSTEM_ACTOR, RecordValidationError

BASE = {"name": "Ok", "do_not_call": True, "phone": "01 02 03 04 05"}

ACCEPTED = [
    ("name", "ab", "ab"),  # min_length itself
    ("name", "abcdefghij", "abcdefghij"),  # max_length itself
    ("name", "  padded  ", "padded"),
    ("code", "ABC-12", "ABC-12"),
    ("notes", "x" * 50, "x" * 50),
    ("email", "ann@example.org", "ann@example.org"),
    ("phone", "+33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("phone", "(555) 123-4567", "(555) 123-4567"),
    ("website", "https://example.org/a?b=c", "https://example.org/a?b=c"),
    ("qty", 0, 0),
    ("qty", 100, 100),
    ("qty", "42", 42),
    ("qty", 7.0, 7),
    ("price", "0", Decimal("0.00")),
    ("price", "99999.99", Decimal("99999.99")),
    ("price", 12.5, Decimal("12.50")),
    ("price", "12,30", Decimal("12.30")),
    ("due", "2020-01-01", dt.date(2020, 1, 1)),
    ("due", dt.date(2030, 12, 31), dt.date(2030, 12, 31)),
    ("meet_at", "2020-01-01T00:00:00", dt.datetime(2020, 1, 1)),
    ("meet_at", "2030-12-31T23:59:59", dt.datetime(2030, 12, 31, 23, 59, 59)),
    ("meet_at", "2026-05-01T10:00:00+02:00", dt.datetime(2026, 5, 1, 8, 0)),
    ("do_not_call", "on", True),
    ("do_not_call", "false", False),
    ("level", "high", "high"),
    ("tags", ["low", "high", "low"], ["low", "high"]),
    ("tags", ("mid", "low"), ["mid", "low"]),
    ("body", "<p>Hi <b>there</b><script>alert(1)</script></p>", "<p>Hi <b>there</b></p>"),
]

REFUSED = [
    ("name", "a", "min_length"),  # one below min_length
    ("name", "abcdefghijk", "max_length"),  # one past max_length
    ("name", 12, "type"),
    ("code", "ABC-1", "pattern"),
    ("code", "xABC-12", "pattern"),
    ("notes", "x" * 51, "max_length"),
    ("email", "ann@example", "email"),
    ("email", "not an email", "email"),
    ("phone", "call me", "phone"),
    ("website", "ftp://example.org", "url"),
    ("website", "example.org", "url"),
    ("qty", -1, "min"),
    ("qty", 101, "max"),
    ("qty", "4.5", "type"),
    ("qty", True, "type"),
    ("price", "-0.01", "min"),
    ("price", "100000.00", "max"),
    ("price", "1.234", "scale"),
    ("price", "abc", "type"),
    ("price", "NaN", "type"),
    ("due", "2019-12-31", "min"),
    ("due", "2031-01-01", "max"),
    ("due", "31/12/2025", "type"),
    ("meet_at", "2019-12-31T23:59:59", "min"),
    ("meet_at", "2031-01-01T00:00:00", "max"),
    ("do_not_call", "maybe", "type"),
    ("level", "huge", "choice"),
    ("level", "legacy", "retired"),
    ("tags", ["low", "nope"], "choice"),
    ("tags", "low", "type"),  # a multi_choice is a list: one code alone is not guessed into one
    ("tags", "low, mid", "type"),
    ("tags", ["low", 1], "type"),
    ("tags", {"low": True}, "type"),
    ("tags", ["legacy"], "retired"),
    ("owner", 999, "link"),
    ("owner", "x", "type"),
    ("status", "nowhere", "status"),
]


@pytest.mark.parametrize("field, value, expected", ACCEPTED)
def test_value_accepted(engine, field, value, expected):
    record = engine.records.create("sample", {**BASE, field: value}, SYSTEM_ACTOR)
    assert record[field] == expected
    assert engine.records.get("sample", record["id"])[field] == expected


@pytest.mark.parametrize("field, value, rule", REFUSED)
def test_value_refused_with_its_rule(engine, field, value, rule):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, field: value}, SYSTEM_ACTOR)
    assert [e.rule for e in caught.value.errors[field]] == [rule]
    assert engine.records.count("sample") == 0


@pytest.mark.parametrize("field, value, rule", REFUSED)
def test_bulk_path_judges_like_the_single_path(engine, field, value, rule):
    from engine import BatchValidationError

    with pytest.raises(BatchValidationError) as caught:
        engine.records.create_many("sample", [dict(BASE), {**BASE, field: value}], SYSTEM_ACTOR)
    assert list(caught.value.rows) == [1]
    assert [e.rule for e in caught.value.rows[1][field]] == [rule]
    assert engine.records.count("sample") == 0


def test_mandatory(engine):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {"do_not_call": True}, SYSTEM_ACTOR)
    assert [e.rule for e in caught.value.errors["name"]] == ["mandatory"]


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_blank_text_counts_as_missing(engine, empty):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {"name": empty, "do_not_call": True}, SYSTEM_ACTOR)
    assert caught.value.errors["name"][0].rule in {"mandatory", "min_length"}


def test_mandatory_when_applies_only_when_its_expression_holds(engine):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {"name": "Ok", "do_not_call": False}, SYSTEM_ACTOR)
    assert [e.rule for e in caught.value.errors["phone"]] == ["mandatory"]
    assert engine.records.create("sample", {"name": "Ok", "do_not_call": False, "phone": "0102030405"}, SYSTEM_ACTOR)
    assert engine.records.create("sample", {"name": "Ok", "do_not_call": False, "email": "a@b.fr"}, SYSTEM_ACTOR)
    assert engine.records.create("sample", {"name": "Ok", "do_not_call": True}, SYSTEM_ACTOR)


def test_defaults_literal_and_expression(engine, clock):
    record = engine.records.create("sample", {"name": "Ok"}, SYSTEM_ACTOR)
    assert record["do_not_call"] is True
    assert record["level"] == "low"
    assert record["status"] == "draft"
    assert record["opened_on"] == dt.datetime.now(dt.timezone.utc).date()
    assert record["extra"] is None  # on demand: empty until set, whatever its default


def test_readonly_field_refused_from_a_user_but_set_by_the_system(engine):
    from engine import Actor

    user = Actor(user_id=None, username="bob")
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, "opened_on": "2024-01-01"}, user)
    assert [e.rule for e in caught.value.errors["opened_on"]] == ["readonly"]
    record = engine.records.create("sample", {**BASE, "opened_on": "2024-01-01"}, SYSTEM_ACTOR)
    assert record["opened_on"] == dt.date(2024, 1, 1)


@pytest.mark.parametrize("field", ["id", "version", "created_at", "deleted_at", "nonsense"])
def test_system_columns_and_unknown_fields_are_refused(engine, field):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, field: 1}, SYSTEM_ACTOR)
    assert caught.value.errors[field][0].rule == ("unknown" if field == "nonsense" else "readonly")


def test_every_error_is_reported_at_once_in_english_and_french(engine):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {"name": "a", "qty": 101, "owner": 5, "level": "legacy"}, SYSTEM_ACTOR)
    error = caught.value
    assert set(error.errors) == {"name", "qty", "owner", "level"}
    assert error.as_dict("en")["qty"] == [{"rule": "max", "message": "Must be at most 100."}]
    assert error.as_dict("fr")["qty"] == [{"rule": "max", "message": "Doit valoir au plus 100."}]
    assert error.as_dict("fr")["name"][0]["message"] == "Doit contenir au moins 2 caractères."


def test_link_to_existing_record(engine, owner_id):
    record = engine.records.create("sample", {**BASE, "owner": str(owner_id)}, SYSTEM_ACTOR)
    assert record["owner"] == owner_id


def test_unique_among_live_records(engine):
    first = engine.records.create("sample", {**BASE, "code": "ABC-12"}, SYSTEM_ACTOR)
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, "code": "ABC-12"}, SYSTEM_ACTOR)
    assert caught.value.errors["code"][0].rule == "unique"
    engine.records.delete("sample", first["id"], SYSTEM_ACTOR)
    second = engine.records.create("sample", {**BASE, "code": "ABC-12"}, SYSTEM_ACTOR)
    with pytest.raises(RecordValidationError):
        engine.records.restore("sample", first["id"], SYSTEM_ACTOR)
    assert engine.records.get("sample", second["id"])["code"] == "ABC-12"


def test_unique_within_one_batch(engine):
    from engine import BatchValidationError

    with pytest.raises(BatchValidationError) as caught:
        engine.records.create_many("sample", [{**BASE, "code": "ABC-12"}, {**BASE, "code": "ABC-12"}], SYSTEM_ACTOR)
    assert list(caught.value.rows) == [1]


def test_decimal_is_exact(engine):
    record = engine.records.create("sample", {**BASE, "price": "99999.99"}, SYSTEM_ACTOR)
    again = engine.records.get("sample", record["id"])
    assert again["price"] == Decimal("99999.99")
    assert str(again["price"]) == "99999.99"


@pytest.mark.parametrize(
    "field, value, rule",
    [
        ("qty", 2**63, "type"),
        ("qty", -(2**63) - 1, "type"),
        ("qty", "99999999999999999999", "type"),
        ("price", "1e30", "precision"),
        ("price", "1e999999", "precision"),
        ("price", "-1e30", "precision"),
        ("notes", "a\x00b", "characters"),
        ("name", "\ud800x", "characters"),
        ("body", "<p>\x00</p>", "characters"),
    ],
)
def test_values_no_database_can_store_are_refused(engine, field, value, rule):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE, field: value}, SYSTEM_ACTOR)
    assert [e.rule for e in caught.value.errors[field]] == [rule]
