"""Roles in the definition language: `roles/*.yaml` documents become `RoleDef`s with the
`"*"` entry expanded to concrete entities, customer packs extend them entry by entry,
and every mistake is reported as `file:line: path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from metamodel import DefinitionError, load_model
from metamodel.model import ENTITY_OPERATIONS, EntityPermission, Model, RoleDef, Source, Text

from mm_fixture_paths import BASE, ROLES_ACME, ROLES_BASE, ROLES_BROKEN

EVERYTHING = frozenset(ENTITY_OPERATIONS)
READ = frozenset({"read"})
SALES_FILE = "tests/fixtures/roles/base/roles/sales.yaml"


def pack(root: Path, name: str, files: dict[str, str]) -> Path:
    directory = root / name
    for relative, text in {"pack.yaml": f"pack: {name}\nversion: 1.0.0\n", **files}.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def with_role(tmp_path: Path, body: str, name: str = "clerk") -> Model:
    """The role fixture pack plus one customer pack declaring role `name` with `body` under it."""
    document = f"role: {name}\nlabel: {{en: Clerk, fr: Employé}}\n{body}"
    return load_model([ROLES_BASE, pack(tmp_path, "extra", {f"roles/{name}.yaml": document})])


def problems(packs: list[Path]) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        load_model(packs)
    return [str(p) for p in raised.value.problems]


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model([ROLES_BASE])


@pytest.fixture(scope="module")
def layered() -> Model:
    return load_model([ROLES_BASE, ROLES_ACME])


# -- declarations ------------------------------------------------------------------------------
def test_roles_load_in_file_order_with_label_and_source(model: Model) -> None:
    assert list(model.roles) == ["admin", "manager", "sales"]
    assert model.role("sales").label == Text("Sales representative", "Commercial")
    assert model.role("sales").source == Source(SALES_FILE, 2)


def test_an_entity_entry_becomes_an_entity_permission(model: Model) -> None:
    lead = model.role("sales").entities["lead"]

    assert lead == EntityPermission(
        operations=frozenset({"read", "create", "update", "export", "mass_update"}),
        scope="own",
        hidden=frozenset({"budget"}),
        readonly=frozenset({"score", "rank"}),
    )
    assert model.role("sales").entities["company"] == EntityPermission(
        operations=frozenset({"read", "create", "update"}), scope="team")


def test_the_wildcard_covers_every_entity_the_role_does_not_name(model: Model) -> None:
    sales = model.role("sales")

    assert dict(sales.entities) == {
        "lead": sales.entities["lead"],
        "company": sales.entities["company"],
        "user": EntityPermission(operations=READ, scope="all"),
    }
    assert all("*" not in role.entities for role in model.roles.values())


def test_all_is_every_operation_and_explicit_entries_win_over_the_wildcard(model: Model) -> None:
    manager = model.role("manager")

    assert set(manager.entities) == set(model.entities)
    assert manager.entities["lead"] == manager.entities["company"] == EntityPermission(operations=EVERYTHING)
    assert manager.entities["user"] == EntityPermission(operations=READ)


def test_an_admin_role_may_do_everything_and_names_no_entity(model: Model) -> None:
    admin = model.role("admin")

    assert admin == RoleDef(name="admin", label=Text("Administrator", "Administrateur"),
                            source=Source("tests/fixtures/roles/base/roles/admin.yaml", 2), admin=True)
    assert not model.role("sales").admin


def test_role_permissions_are_immutable(model: Model) -> None:
    with pytest.raises(TypeError):
        model.role("sales").entities["ticket"] = EntityPermission()  # type: ignore[index]
    with pytest.raises(TypeError):
        model.roles["clerk"] = model.role("sales")  # type: ignore[index]


def test_can_all_alone_or_in_the_list_and_scope_defaults_to_all(tmp_path: Path) -> None:
    model = with_role(tmp_path, "entities:\n  lead: {can: all}\n  company: {can: [read, all]}\n  user: {can: [read]}\n")
    clerk = model.role("clerk").entities

    assert clerk["lead"] == clerk["company"] == EntityPermission(operations=EVERYTHING, scope="all")
    assert clerk["user"].scope == "all"


def test_an_empty_can_keeps_an_entity_out_of_the_wildcard(tmp_path: Path) -> None:
    model = with_role(tmp_path, "entities:\n  '*': {can: [read, export], scope: team}\n  user: {can: []}\n")

    assert dict(model.role("clerk").entities) == {
        "company": EntityPermission(operations=frozenset({"read", "export"}), scope="team"),
        "lead": EntityPermission(operations=frozenset({"read", "export"}), scope="team"),
    }


def test_a_role_without_entities_reaches_nothing(tmp_path: Path) -> None:
    clerk = with_role(tmp_path, "").role("clerk")

    assert (dict(clerk.entities), clerk.admin) == ({}, False)


def test_own_scope_is_allowed_on_an_entity_with_no_link_to_user(tmp_path: Path) -> None:
    """company has no link to user: its "own" records are the ones the user created."""
    model = with_role(tmp_path, "entities:\n  company: {can: [read, update], scope: own}\n")

    assert model.role("clerk").entities["company"].scope == "own"


def test_mandatory_fields_with_a_default_may_be_hidden_from_a_role_that_creates(tmp_path: Path) -> None:
    """score has a default and rank a default_expr; last_name has neither, but this role never creates."""
    model = with_role(tmp_path, (
        "entities:\n"
        "  lead: {can: [read, create, update], hidden: [score], readonly: [rank]}\n"
        "  company: {can: [read, update, delete], hidden: [name]}\n"))
    clerk = model.role("clerk").entities

    assert (clerk["lead"].hidden, clerk["lead"].readonly) == (frozenset({"score"}), frozenset({"rank"}))
    assert clerk["company"].hidden == frozenset({"name"})


def test_hiding_a_mandatory_field_from_a_role_that_imports_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as raised:
        with_role(tmp_path, "entities:\n  company: {can: [read, import], readonly: [name]}\n")

    assert [f"{p.line}: {p.path}: {p.message}" for p in raised.value.problems] == [
        "4: entities.company.readonly.0: 'name' is mandatory and has no default:"
        " a role that may create company records must be able to set it"]


# -- layering ----------------------------------------------------------------------------------
def test_an_extension_relabels_and_replaces_entries_one_by_one(layered: Model) -> None:
    sales = layered.role("sales")

    assert sales.label == Text("Account executive", "Chargé de comptes")
    assert sales.source == Source(SALES_FILE, 2)
    assert sales.entities["lead"] == EntityPermission(
        operations=frozenset({"read", "update"}), scope="team", readonly=frozenset({"budget"}))


def test_null_removes_an_entry_so_the_wildcard_applies_and_empty_can_denies(layered: Model) -> None:
    sales = layered.role("sales")

    assert sales.entities["company"] == EntityPermission(operations=READ, scope="all")
    assert "user" not in sales.entities


def test_a_customer_pack_adds_a_role_that_its_transitions_may_name(layered: Model) -> None:
    auditor = layered.role("auditor")

    assert auditor.source == Source("tests/fixtures/roles/acme/roles/auditor.yaml", 2)
    assert auditor.entities["lead"] == EntityPermission(operations=READ, hidden=frozenset({"budget"}))
    assert auditor.entities["company"] == auditor.entities["user"] == EntityPermission(
        operations=frozenset({"read", "export"}))
    reopen = next(t for t in layered.workflow("deal").transitions if t.name == "reopen")
    assert reopen.roles == ("manager", "auditor")


def test_the_wildcard_expands_to_entities_a_later_pack_adds(tmp_path: Path) -> None:
    extra = pack(tmp_path, "extra", {"entities/memo.yaml": (
        "entity: memo\nlabel: {en: Memo, fr: Note}\nplural: {en: Memos, fr: Notes}\n"
        "characteristics:\n  body: {type: text, label: {en: Body, fr: Corps}}\n")})

    model = load_model([ROLES_BASE, extra])

    assert model.role("sales").entities["memo"] == EntityPermission(operations=READ)
    assert model.role("manager").entities["memo"] == EntityPermission(operations=EVERYTHING)


def test_later_packs_win_entry_by_entry(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"roles/sales.yaml": "extends: sales\nentities:\n  lead: {can: [read]}\n"})
    second = pack(tmp_path, "second", {"roles/sales.yaml": "extends: sales\nentities:\n  lead: {can: [read, export]}\n"})

    sales = load_model([ROLES_BASE, first, second]).role("sales")

    assert sales.entities["lead"] == EntityPermission(operations=frozenset({"read", "export"}))
    assert sales.entities["company"].scope == "team"


def test_a_broken_entry_in_an_extension_is_reported_where_the_extension_wrote_it(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {"roles/sales.yaml": "extends: sales\nentities:\n  lead: {can: [create], hidden: [last_name]}\n"})

    [problem] = problems([ROLES_BASE, overlay])

    assert problem.endswith("overlay/roles/sales.yaml:3: entities.lead.hidden.0: 'last_name' is mandatory and has no"
                            " default: a role that may create lead records must be able to set it")


# -- transitions name declared roles -----------------------------------------------------------
def test_a_pack_without_roles_may_name_any_role_in_its_transitions() -> None:
    model = load_model([BASE])

    assert dict(model.roles) == {}
    assert next(t for t in model.workflow("deal").transitions if t.name == "qualify").roles == ("sales",)


def test_the_first_role_declared_makes_every_transition_role_checked(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {"roles/clerk.yaml": "role: clerk\nlabel: {en: Clerk, fr: Employé}\n"})

    assert problems([BASE, overlay]) == [
        "tests/fixtures/packs/base/workflows/deal.yaml:16: transitions.0.roles.0: unknown role 'sales'"]


def test_the_shipped_base_pack_names_only_declared_roles() -> None:
    model = metamodel.load_model([metamodel.BASE_PACK])
    named = {role for w in model.workflows.values() for t in w.transitions for role in t.roles}

    assert named and named <= set(model.roles)
    assert all("*" not in role.entities for role in model.roles.values())
    assert set(model.role("read_only").entities) == set(model.entities)


# -- broken definitions ------------------------------------------------------------------------
BROKEN_ROLES = {
    "role_admin_with_entities": [
        "roles/boss.yaml:5: entities.lead: role 'boss' is an admin role, which may do everything: entity entries do not apply",
    ],
    "role_bad_name": [
        "roles/clerk.yaml:1: role: 'Sales-Rep' is not a valid name (lowercase letters, digits and _, starting with a letter)",
        "roles/clerk.yaml:4: entities.Lead: 'Lead' is not an entity name or *",
    ],
    "role_declared_by_two_packs": [
        f"roles/sales.yaml:1: role: role 'sales' already declared in {SALES_FILE}:2",
    ],
    "role_duplicate_same_pack": [
        "roles/b.yaml:1: role: role 'clerk' already declared in {pack}/roles/a.yaml:1",
    ],
    "role_extends_unknown": [
        "roles/clerk.yaml:1: extends: unknown role 'clerk': no earlier pack declares it",
    ],
    "role_extension_sets_admin": [
        "roles/sales.yaml:2: admin: unknown property 'admin'",
    ],
    "role_hidden_and_readonly": [
        "roles/clerk.yaml:7: entities.lead.readonly.1: 'budget' is also hidden: a hidden characteristic cannot be changed anyway",
    ],
    "role_hidden_mandatory": [
        "roles/clerk.yaml:6: entities.lead.hidden.0: 'last_name' is mandatory and has no default:"
        " a role that may create lead records must be able to set it",
        "roles/clerk.yaml:10: entities.company.readonly.0: 'name' is mandatory and has no default:"
        " a role that may create company records must be able to set it",
    ],
    "role_label_missing_fr": [
        "roles/clerk.yaml:2: label: required property 'fr' is missing",
    ],
    "role_listed_twice": [
        "roles/clerk.yaml:4: entities.lead.can.2: 'read' is listed twice",
        "roles/clerk.yaml:4: entities.lead.hidden.1: 'budget' is listed twice",
    ],
    "role_remove_unknown_entry": [
        f"roles/sales.yaml:3: entities.ticket: role 'sales' has no entry for 'ticket' to remove (declared in {SALES_FILE}:2)",
    ],
    "role_unknown_characteristic": [
        "roles/clerk.yaml:6: entities.lead.hidden.0: 'nickname' is not a characteristic of entity 'lead'",
        "roles/clerk.yaml:7: entities.lead.readonly.0: 'created_at' is a system column: only characteristics can be hidden or readonly",
        "roles/clerk.yaml:7: entities.lead.readonly.1: 'status' is a system column: only characteristics can be hidden or readonly",
    ],
    "role_unknown_entity": [
        "roles/clerk.yaml:4: entities.ghost: unknown entity 'ghost'",
        "roles/clerk.yaml:5: entities.leads: unknown entity 'leads' (did you mean 'lead'?)",
    ],
    "role_unknown_operation": [
        "roles/clerk.yaml:4: entities.lead.can.1: 'delet' is not one of: all, read, create, update, delete, export, import, mass_update",
        "roles/clerk.yaml:5: entities.company.can: 'everything' is not one of: all",
    ],
    "role_unknown_scope": [
        "roles/clerk.yaml:4: entities.lead.scope: 'mine' is not one of: own, team, all",
    ],
    "role_unknown_transition_role": [
        "workflows/deal.yaml:3: override_transitions.win.roles.0: unknown role 'salse' (did you mean 'sales'?)",
        "workflows/deal.yaml:5: transitions.0.roles.0: unknown role 'auditor'",
    ],
    "role_wildcard_hidden": [
        "roles/clerk.yaml:4: entities.*.hidden: unknown property 'hidden'",
    ],
}


def _expected(case: str) -> list[str]:
    own = f"tests/fixtures/roles/broken/{case}"
    return [(line if line.startswith("tests/") else f"{own}/{line}").replace("{pack}", own) for line in BROKEN_ROLES[case]]


@pytest.mark.parametrize("case", sorted(BROKEN_ROLES))
def test_broken_role_definition_is_reported_with_file_line_and_path(case: str) -> None:
    assert problems([ROLES_BASE, ROLES_BROKEN / case]) == _expected(case)


def test_every_broken_role_fixture_has_expectations() -> None:
    assert {p.name for p in ROLES_BROKEN.iterdir() if p.is_dir()} == set(BROKEN_ROLES)
