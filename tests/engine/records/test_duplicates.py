"""Probable duplicates: normalised keys, groups per rule, scope and hidden fields, chunks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import metamodel
from engine import SYSTEM_ACTOR, Actor, NotFoundError, PermissionDenied
from engine.records import duplicates as duplicates_module
from engine.records.duplicates import DuplicateGroup, find_duplicates, normalise, record_key

DUP_PACK = Path(__file__).resolve().parents[1] / "dup_pack"


@pytest.fixture(scope="module")
def dup_model() -> metamodel.Model:
    return metamodel.load_model([DUP_PACK])


@pytest.fixture
def eng(make_engine, dup_model, clock):
    return make_engine(dup_model, clock=clock)


def add(eng, entity: str, **values) -> int:
    return eng.records.create(entity, values, SYSTEM_ACTOR)["id"]


# -- normalising -------------------------------------------------------------------------
@pytest.mark.parametrize("field_type, value, expected", [
    ("string", "  Élodie   DUPONT ", "elodie dupont"),
    ("string", "Straße", "strasse"),
    ("string", "Ｆｕｌｌ", "full"),
    ("text", "line one\n\tline  two", "line one line two"),
    ("url", "HTTPS://Example.org/À", "https://example.org/a"),
    ("string", "   ", None),
    ("string", "", None),
    ("email", "  Ann@Example.ORG ", "ann@example.org"),
    ("email", " ", None),
    ("phone", "+33 (0)1 23-45-67-89", "+330123456789"),
    ("phone", "01 23 45 67 89", "0123456789"),
    ("phone", " +1 555", "+1555"),
    ("phone", "ext.", None),
    ("choice", "High", "High"),
    ("link", 7, 7),
    ("integer", 0, 0),
    ("date", dt.date(2026, 1, 31), dt.date(2026, 1, 31)),
    ("choice", "", None),
    ("string", None, None),
])
def test_normalise(field_type: str, value, expected) -> None:
    assert normalise(field_type, value) == expected


def test_record_key_is_none_when_any_part_is_empty(dup_model) -> None:
    person = dup_model.entity("person")
    fields = ("last_name", "first_name", "company")

    assert record_key(person, fields, ("Dupont ", "Éva", 3)) == ("dupont", "eva", 3)
    assert record_key(person, fields, ("Dupont", " ", 3)) is None
    assert record_key(person, fields, ("Dupont", "Eva", None)) is None


# -- finding groups ----------------------------------------------------------------------
def test_groups_per_rule_oldest_record_first(eng) -> None:
    acme = add(eng, "company", name="Acme")
    first = add(eng, "person", last_name="Dupont", first_name="Élodie", company=acme, email="e.dupont@acme.test")
    add(eng, "person", last_name="Martin", first_name="Paul", company=acme, email="paul@acme.test")
    second = add(eng, "person", last_name=" DUPONT", first_name="elodie", company=acme, phone="+33 1 23 45 67 89")
    third = add(eng, "person", last_name="Dupont", first_name="Elodie  ", company=acme, phone="+33123456789")

    groups = find_duplicates(eng.records, "person", SYSTEM_ACTOR)

    assert groups == [
        DuplicateGroup("same_name_and_company", ("dupont", "elodie", acme), (first, second, third)),
        DuplicateGroup("same_phone", ("+33123456789",), (second, third)),
    ]


def test_email_ignores_case_and_unique_index_still_holds(eng) -> None:
    """Emails are unique as typed; the rule still finds those differing only by case."""
    one = add(eng, "person", last_name="A", email="ann@example.org")
    two = add(eng, "person", last_name="B", email="ANN@example.org")

    assert find_duplicates(eng.records, "person", SYSTEM_ACTOR, rule="same_email") == [
        DuplicateGroup("same_email", ("ann@example.org",), (one, two)),
    ]


def test_empty_matched_field_never_matches(eng) -> None:
    acme = add(eng, "company", name="Acme")
    add(eng, "person", last_name="Dupont", company=acme)
    add(eng, "person", last_name="Dupont", company=acme)
    add(eng, "person", last_name="Dupont", first_name=" ", company=acme)
    add(eng, "person", last_name="Dupont", first_name="Eva")
    add(eng, "person", last_name="Dupont", first_name="Eva")

    assert find_duplicates(eng.records, "person", SYSTEM_ACTOR) == []


def test_trashed_records_are_left_out(eng) -> None:
    one = add(eng, "company", name="Acme")
    two = add(eng, "company", name="ACME")
    three = add(eng, "company", name="acme ")
    eng.records.delete("company", two, SYSTEM_ACTOR)

    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR) == [
        DuplicateGroup("same_name", ("acme",), (one, three)),
    ]
    eng.records.delete("company", three, SYSTEM_ACTOR)
    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR) == []


def test_groups_ordered_by_their_oldest_record_and_limited(eng) -> None:
    ids = {name: [add(eng, "company", name=name) for _ in range(2)] for name in ("Beta", "Alpha", "Gamma")}
    expected = [DuplicateGroup("same_name", (name.lower(),), tuple(ids[name])) for name in ("Beta", "Alpha", "Gamma")]

    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR) == expected
    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR, limit=3) == expected
    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR, limit=2) == expected[:2]
    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR, limit=1) == expected[:1]
    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR, limit=0) == []


def test_limit_counts_groups_across_rules(eng) -> None:
    a = add(eng, "person", last_name="A", phone="01 02", email="x@y.test")
    b = add(eng, "person", last_name="B", phone="0102", email="X@y.test")

    assert [g.rule for g in find_duplicates(eng.records, "person", SYSTEM_ACTOR)] == ["same_email", "same_phone"]
    assert find_duplicates(eng.records, "person", SYSTEM_ACTOR, limit=1) == [
        DuplicateGroup("same_email", ("x@y.test",), (a, b)),
    ]


def test_keyset_chunks_cover_every_record(eng, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk boundaries (2 rows a read) split neither a group nor lose a record."""
    monkeypatch.setattr(duplicates_module, "CHUNK", 2)
    ids = [add(eng, "company", name=name) for name in ("X", "Y", "x", "Z", "y", "X ")]

    assert find_duplicates(eng.records, "company", SYSTEM_ACTOR) == [
        DuplicateGroup("same_name", ("x",), (ids[0], ids[2], ids[5])),
        DuplicateGroup("same_name", ("y",), (ids[1], ids[4])),
    ]


def test_unknown_rule_and_entity_are_refused(eng) -> None:
    with pytest.raises(NotFoundError) as raised:
        find_duplicates(eng.records, "person", SYSTEM_ACTOR, rule="same_shoe_size")
    assert str(raised.value) == "person duplicate rule same_shoe_size does not exist"
    with pytest.raises(NotFoundError):
        find_duplicates(eng.records, "planet", SYSTEM_ACTOR)


def test_entity_without_rules_has_no_groups(eng) -> None:
    add(eng, "meeting", subject="Same")
    add(eng, "meeting", subject="Same")

    assert find_duplicates(eng.records, "meeting", SYSTEM_ACTOR) == []


# -- who sees what -----------------------------------------------------------------------
def users(eng) -> tuple[Actor, Actor]:
    ann = add(eng, "user", username="ann")
    bob = add(eng, "user", username="bob")
    return (Actor(user_id=ann, username="ann", roles=frozenset({"clerk"})),
            Actor(user_id=bob, username="bob", roles=frozenset({"clerk"})))


def test_restricted_actor_sees_groups_within_their_scope(eng) -> None:
    ann, bob = users(eng)
    mine = [add(eng, "person", last_name=f"P{i}", phone="0102", owner=ann.user_id) for i in range(2)]
    theirs = add(eng, "person", last_name="Q", phone="0102", owner=bob.user_id)

    assert find_duplicates(eng.records, "person", ann) == [DuplicateGroup("same_phone", ("0102",), tuple(mine))]
    assert find_duplicates(eng.records, "person", bob) == []
    assert find_duplicates(eng.records, "person", SYSTEM_ACTOR)[0].ids == (*mine, theirs)


def test_rule_on_a_hidden_field_is_skipped_or_refused(eng) -> None:
    ann, _ = users(eng)
    ids = tuple(add(eng, "person", last_name=name, secret="s3", owner=ann.user_id) for name in ("A", "B"))

    assert find_duplicates(eng.records, "person", SYSTEM_ACTOR) == [DuplicateGroup("same_secret", ("s3",), ids)]
    assert find_duplicates(eng.records, "person", ann) == []
    with pytest.raises(PermissionDenied) as raised:
        find_duplicates(eng.records, "person", ann, rule="same_secret")
    assert "secret" in str(raised.value)


def test_actor_without_read_permission_is_refused(eng) -> None:
    stranger = Actor(user_id=99, username="x", roles=frozenset({"editor"}))

    with pytest.raises(PermissionDenied):
        find_duplicates(eng.records, "meeting", stranger)


# -- the base pack -----------------------------------------------------------------------
def test_base_pack_contacts_accounts_and_leads(make_engine, clock) -> None:
    eng = make_engine(metamodel.load_model([metamodel.BASE_PACK]), clock=clock)
    account = add(eng, "account", name="Société Générale")
    again = add(eng, "account", name="societe  generale")
    first = add(eng, "contact", last_name="Durand", first_name="Zoé", account=account, email="zoe@sg.test")
    second = add(eng, "contact", last_name="DURAND", first_name="Zoe", account=account, email="Zoe@SG.test")
    lead_one = add(eng, "lead", last_name="Durand", company="SG", phone="0102")
    lead_two = add(eng, "lead", last_name="durand", company="sg", phone="0102")

    assert find_duplicates(eng.records, "account", SYSTEM_ACTOR) == [
        DuplicateGroup("same_name", ("societe generale",), (account, again)),
    ]
    assert find_duplicates(eng.records, "contact", SYSTEM_ACTOR) == [
        DuplicateGroup("same_email", ("zoe@sg.test",), (first, second)),
        DuplicateGroup("same_name_and_account", ("durand", "zoe", account), (first, second)),
    ]
    assert find_duplicates(eng.records, "lead", SYSTEM_ACTOR) == [
        DuplicateGroup("same_company_and_name", ("sg", "durand"), (lead_one, lead_two)),
    ]
