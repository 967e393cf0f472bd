"""Natural keys and duplicate rules in the definition language: the model they build, how
packs layer them, and the broken definitions (each reported at `file:line: path`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import BASE_PACK, DefinitionError, load_model
from metamodel.model import MATCHABLE_TYPES, DuplicateRuleDef, Source, Text

from mm_fixture_paths import BASE, BROKEN

ALLOWED = "choice, date, email, integer, link, phone, string, text, url"

DUPLICATE_CASES = {
    "natural_key_unknown_field": [
        "entities/lead.yaml:2: natural_key.1: unknown characteristic 'nickname' in entity 'lead'",
        "entities/lead.yaml:2: natural_key.2: 'created_at' is a system column and cannot be in natural_key",
    ],
    "natural_key_bad_type": [
        f"entities/lead.yaml:3: natural_key.0: 'budget' is a decimal characteristic and cannot be in natural_key (allowed types: {ALLOWED})",
        f"entities/lead.yaml:4: natural_key.1: 'description' is a rich_text characteristic and cannot be in natural_key (allowed types: {ALLOWED})",
        f"entities/lead.yaml:5: natural_key.2: 'do_not_call' is a boolean characteristic and cannot be in natural_key (allowed types: {ALLOWED})",
        f"entities/lead.yaml:6: natural_key.3: 'status' is a status characteristic and cannot be in natural_key (allowed types: {ALLOWED})",
    ],
    "natural_key_repeated": [
        "entities/lead.yaml:2: natural_key.2: 'last_name' is listed twice (also at natural_key.0)",
    ],
    "natural_key_empty": [
        "entities/lead.yaml:2: natural_key: must not be empty",
    ],
    "duplicates_unknown_field": [
        "entities/company.yaml:5: duplicates.same_name.match.1: unknown characteristic 'nickname' in entity 'company' (did you mean 'name'?)",
    ],
    "duplicates_bad_type": [
        f"entities/lead.yaml:8: duplicates.same_budget.match.1: 'budget' is a decimal characteristic and cannot be in a duplicate rule (allowed types: {ALLOWED})",
        "entities/lead.yaml:8: duplicates.same_budget.match.2: 'last_name' is listed twice (also at match.0)",
    ],
    "duplicates_rule_exists": [
        "entities/thing_more.yaml:3: duplicates.same_code: duplicate rule 'same_code' already declared in {pack}/entities/thing.yaml:7",
    ],
    "duplicates_no_match": [
        "entities/lead.yaml:4: duplicates.same_email: required property 'match' is missing",
        "entities/lead.yaml:7: duplicates.same_phone.match: must not be empty",
    ],
}
"""Broken fixtures of this feature, layered on the fixture base pack like BROKEN_CASES."""


def _expected(case: str) -> list[str]:
    pack = f"tests/fixtures/broken/{case}"
    return [f"{pack}/{line}".replace("{pack}", pack) for line in DUPLICATE_CASES[case]]


@pytest.mark.parametrize("case", sorted(DUPLICATE_CASES))
def test_broken_key_or_rule_is_reported_with_file_line_and_path(case: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, BROKEN / case])

    assert [str(p) for p in raised.value.problems] == _expected(case)


def test_every_case_has_its_fixture() -> None:
    assert all((BROKEN / case / "pack.yaml").is_file() for case in DUPLICATE_CASES)


# -- the base pack ---------------------------------------------------------------------
def test_base_pack_declares_natural_keys_and_rules() -> None:
    model = load_model([BASE_PACK])
    contact, account, lead = model.entity("contact"), model.entity("account"), model.entity("lead")

    assert contact.natural_key == ("email",)
    assert [(r.name, r.fields) for r in contact.duplicate_rules] == [
        ("same_email", ("email",)),
        ("same_name_and_account", ("last_name", "first_name", "account")),
    ]
    assert account.natural_key == ("name",)
    assert [(r.name, r.fields) for r in account.duplicate_rules] == [("same_name", ("name",))]
    assert [(r.name, r.fields) for r in lead.duplicate_rules] == [
        ("same_email", ("email",)),
        ("same_company_and_name", ("company", "last_name")),
    ]
    assert contact.duplicate_rule("same_email").label == Text("Same email", "Même e-mail")
    assert contact.duplicate_rule("same_email").source == Source("definitions/entities/contact.yaml", 35)


def test_every_base_key_and_rule_names_a_matchable_characteristic() -> None:
    model = load_model([BASE_PACK])
    for entity in model.entities.values():
        named = list(entity.natural_key) + [f for r in entity.duplicate_rules for f in r.fields]
        assert all(entity.field(n).type in MATCHABLE_TYPES for n in named), entity.name


def test_entity_without_declarations_has_no_key_and_no_rule() -> None:
    model = load_model([BASE])

    assert model.entity("lead").natural_key == ()
    assert model.entity("lead").duplicate_rules == ()
    with pytest.raises(KeyError):
        model.entity("lead").duplicate_rule("same_email")


def test_matchable_types_are_the_documented_ones() -> None:
    assert MATCHABLE_TYPES == frozenset(ALLOWED.split(", "))


# -- layering ----------------------------------------------------------------------------
def _pack(root: Path, name: str, entity_yaml: str) -> Path:
    pack = root / name
    (pack / "entities").mkdir(parents=True)
    (pack / "pack.yaml").write_text(f"pack: {name}\nversion: 1.0.0\n", encoding="utf-8")
    (pack / "entities" / "lead.yaml").write_text(entity_yaml, encoding="utf-8")
    return pack


BASE_WITH_KEY = """\
extends: lead
natural_key: [email]
duplicates:
  same_email:
    label: {en: Same email, fr: Même e-mail}
    match: [email]
"""


def test_extension_sets_the_natural_key_and_adds_rules(tmp_path: Path) -> None:
    acme = _pack(tmp_path, "acme", BASE_WITH_KEY)

    lead = load_model([BASE, acme]).entity("lead")

    assert lead.natural_key == ("email",)
    assert lead.duplicate_rules == (
        DuplicateRuleDef("same_email", Text("Same email", "Même e-mail"), ("email",), Source(f"{acme}/entities/lead.yaml", 4)),
    )


def test_later_pack_replaces_the_key_and_appends_its_rules(tmp_path: Path) -> None:
    acme = _pack(tmp_path, "acme", BASE_WITH_KEY)
    beta = _pack(tmp_path, "beta", """\
extends: lead
natural_key: [last_name, first_name, company]
duplicates:
  same_name:
    label: {en: Same name, fr: Même nom}
    match: [last_name, first_name]
""")

    lead = load_model([BASE, acme, beta]).entity("lead")

    assert lead.natural_key == ("last_name", "first_name", "company")
    assert [r.name for r in lead.duplicate_rules] == ["same_email", "same_name"]


def test_later_pack_removes_the_key_with_null(tmp_path: Path) -> None:
    acme = _pack(tmp_path, "acme", BASE_WITH_KEY)
    beta = _pack(tmp_path, "beta", "extends: lead\nnatural_key: null\n")

    lead = load_model([BASE, acme, beta]).entity("lead")

    assert lead.natural_key == ()
    assert [r.name for r in lead.duplicate_rules] == ["same_email"]


def test_rule_named_again_by_a_later_pack_names_both_files(tmp_path: Path) -> None:
    acme = _pack(tmp_path, "acme", BASE_WITH_KEY)
    beta = _pack(tmp_path, "beta", BASE_WITH_KEY.replace("natural_key: [email]\n", ""))

    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, acme, beta])

    assert [str(p) for p in raised.value.problems] == [
        f"{beta}/entities/lead.yaml:3: duplicates.same_email: duplicate rule 'same_email' already declared in {acme}/entities/lead.yaml:4",
    ]


def test_single_field_key_and_every_allowed_type_load(tmp_path: Path) -> None:
    """One field is the minimum; every matchable type of the fixture lead is accepted together."""
    acme = _pack(tmp_path, "acme", """\
extends: lead
natural_key: [email]
duplicates:
  everything:
    label: {en: All, fr: Tout}
    match: [first_name, email, phone, score, company, sector, closed_on]
""")

    lead = load_model([BASE, acme]).entity("lead")

    assert lead.natural_key == ("email",)
    assert lead.duplicate_rule("everything").fields == ("first_name", "email", "phone", "score", "company", "sector", "closed_on")
