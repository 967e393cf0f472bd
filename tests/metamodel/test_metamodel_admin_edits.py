"""Admin edits as overlay documents (metamodel/editing/definition_edits.py): each edit writes the smallest
document a consultant would write, and the overlay it makes loads on the base pack."""

from __future__ import annotations

from typing import Mapping

import pytest
import yaml

import metamodel
from metamodel.editing.definition_edits import DefinitionEditError, OverlayEditor, field_values
from metamodel.model import Model, Text
from metamodel.reading.overlay import overlay_pack

BASE: Model = metamodel.load_model([metamodel.BASE_PACK])
LABEL = {"en": "Loyalty", "fr": "Fidélité"}
LOYALTY = {"type": "integer", "label": LABEL, "mandatory": False, "systematic": True, "historized": False,
           "indexed": False, "min": 0, "max": 10, "max_length": None, "list": None, "entity": None}


def load(texts: Mapping[str, str]) -> Model:
    return metamodel.load_model([metamodel.BASE_PACK, overlay_pack(1, texts)])


def editor(texts: Mapping[str, str] | None = None) -> OverlayEditor:
    texts = texts or {}
    return OverlayEditor(texts, load(texts) if texts else BASE)


def data(texts: Mapping[str, str], name: str) -> dict:
    return yaml.safe_load(texts[name])


# -- characteristics -------------------------------------------------------------------------


def test_a_new_characteristic_goes_into_an_extends_document_with_only_what_it_says():
    edit = editor()
    edit.set_characteristic("contact", "loyalty", LOYALTY, new=True)
    texts = edit.texts()
    assert data(texts, "entities/contact.yaml") == {
        "extends": "contact",
        "characteristics": {"loyalty": {"type": "integer", "label": LABEL, "min": 0, "max": 10}},
    }
    field = load(texts).entity("contact").field("loyalty")
    assert (field.type, field.min, field.max, field.systematic, field.source.file) == (
        "integer", 0, 10, True, "overlay/entities/contact.yaml")


def test_a_name_taken_is_refused_on_the_name():
    with pytest.raises(DefinitionEditError) as refused:
        editor().set_characteristic("contact", "email", LOYALTY, new=True)
    assert refused.value.field == "name"
    assert refused.value.message("fr") == "« email » existe déjà dans contact."


def test_editing_a_base_characteristic_overrides_only_what_differs():
    edit = editor()
    values = {**field_values(BASE.entity("contact").field("first_name")), "max_length": 60, "historized": True}
    edit.set_characteristic("contact", "first_name", values, new=False)
    assert data(edit.texts(), "entities/contact.yaml")["characteristics"] == {
        "first_name": {"historized": True, "max_length": 60}}
    field = load(edit.texts()).entity("contact").field("first_name")
    assert (field.max_length, field.historized, field.searchable) == (60, True, True)


def test_clearing_a_base_bound_writes_null():
    edit = editor()
    values = {**field_values(BASE.entity("contact").field("birthday")), "min": None}
    edit.set_characteristic("contact", "birthday", values, new=False)
    assert data(edit.texts(), "entities/contact.yaml")["characteristics"] == {"birthday": {"min": None}}
    assert load(edit.texts()).entity("contact").field("birthday").min is None


def test_an_edit_that_changes_nothing_writes_nothing():
    edit = editor()
    edit.set_characteristic("contact", "email", field_values(BASE.entity("contact").field("email")), new=False)
    assert edit.texts() == {} and edit.changes() == {}


def test_a_new_type_for_a_base_characteristic_declares_it_again_keeping_what_the_form_does_not_edit():
    values = {**field_values(BASE.entity("contact").field("first_name")), "type": "text", "max_length": 200}
    edit = editor()
    edit.set_characteristic("contact", "first_name", values, new=False)
    assert data(edit.texts(), "entities/contact.yaml")["characteristics"] == {"first_name": {
        "redeclare": True, "type": "text", "label": {"en": "First name", "fr": "Prénom"}, "max_length": 200,
        "searchable": True}}
    model = load(edit.texts())
    field = model.entity("contact").field("first_name")
    assert (field.type, field.max_length, field.searchable, field.source.file) == (
        "text", 200, True, "overlay/entities/contact.yaml")
    assert [f.name for f in model.entity("contact").fields] == [f.name for f in BASE.entity("contact").fields]
    assert "first_name" in model.entity("contact").view("list").columns


def test_another_list_for_a_base_characteristic_declares_it_again_without_its_default():
    values = {**field_values(BASE.entity("contact").field("function")), "list": "departments"}
    edit = editor()
    edit.set_characteristic("contact", "function", values, new=False)
    entry = data(edit.texts(), "entities/contact.yaml")["characteristics"]["function"]
    assert (entry["redeclare"], entry["list"], entry["indexed"]) == (True, "departments", True)
    assert load(edit.texts()).entity("contact").field("function").list == "departments"


def test_a_redeclared_characteristic_is_then_edited_in_place():
    first = editor()
    first.set_characteristic("contact", "mobile", {**field_values(BASE.entity("contact").field("mobile")),
                                                   "type": "string", "max_length": 30}, new=False)
    second = editor(first.texts())
    assert second.added_here("contact", "mobile")
    second.set_characteristic("contact", "mobile", {**field_values(second.model.entity("contact").field("mobile")),
                                                    "max_length": 40}, new=False)
    entry = data(second.texts(), "entities/contact.yaml")["characteristics"]["mobile"]
    assert (entry["redeclare"], entry["type"], entry["max_length"]) == (True, "string", 40)


def test_a_characteristic_added_here_is_edited_in_place_type_included():
    first = editor()
    first.set_characteristic("contact", "loyalty", {**LOYALTY, "type": "string", "min": None, "max": None,
                                                    "max_length": 20, "mandatory": True}, new=True)
    second = editor(first.texts())
    assert second.added_here("contact", "loyalty")
    second.set_characteristic("contact", "loyalty", {**LOYALTY, "min": None, "max": 5}, new=False)
    assert data(second.texts(), "entities/contact.yaml")["characteristics"] == {
        "loyalty": {"type": "integer", "label": LABEL, "max": 5}}
    assert load(second.texts()).entity("contact").field("loyalty").type == "integer"


def test_list_column_and_form_section_for_a_new_characteristic():
    edit = editor()
    edit.set_characteristic("contact", "loyalty", LOYALTY, new=True)
    edit.show_in_list("contact", "loyalty")
    edit.place_on_form("contact", "loyalty", 3)
    model = load(edit.texts())
    assert model.entity("contact").view("list").columns[-1] == "loyalty"
    sections = model.entity("contact").view("form").sections
    assert sections[3].fields[-1] == "loyalty" and [s.title for s in sections] == [
        s.title for s in BASE.entity("contact").view("form").sections]


@pytest.mark.parametrize("section", [-1, 4])
def test_a_form_section_that_does_not_exist_is_refused(section):
    with pytest.raises(DefinitionEditError) as refused:
        editor().place_on_form("contact", "email", section)
    assert refused.value.field == "section"


def test_removing_a_characteristic_added_here_takes_it_out_of_the_overlays_views():
    first = editor()
    first.set_characteristic("contact", "loyalty", LOYALTY, new=True)
    first.show_in_list("contact", "loyalty")
    first.place_on_form("contact", "loyalty", 0)
    second = editor(first.texts())
    second.remove_characteristic("contact", "loyalty")
    model = load(second.texts())
    assert "loyalty" not in model.entity("contact").fields_by_name
    assert model.entity("contact").view("list").columns == BASE.entity("contact").view("list").columns


def test_removing_a_base_characteristic_lists_it_and_takes_it_out_of_every_view_and_role():
    first = editor()
    first.set_characteristic("contact", "department", {**field_values(BASE.entity("contact").field("department")),
                                                       "historized": True}, new=False)
    first.set_list_view("contact", ("last_name", "department"), ("department",), ("department", "language"))
    first.set_permission("sales", "contact", ("read", "update"), "all", readonly=("department", "email"))
    second = editor(first.texts())
    second.remove_characteristic("contact", "department")
    document = data(second.texts(), "entities/contact.yaml")
    assert list(document) == ["extends", "remove_characteristics", "views"]
    assert document["remove_characteristics"] == ["department"]
    assert document["views"] == {"list": {"columns": ["last_name"], "mass_update": ["language"]}}
    model = load(second.texts())
    contact = model.entity("contact")
    assert "department" not in contact.fields_by_name
    assert "department" not in contact.view("list").filters
    assert all("department" not in s.fields for s in contact.view("form").sections)
    assert model.role("sales").entities["contact"].readonly == frozenset({"email"})


def test_removing_a_redeclared_characteristic_removes_the_base_one_too():
    first = editor()
    first.set_characteristic("contact", "mobile", {**field_values(BASE.entity("contact").field("mobile")),
                                                   "type": "string"}, new=False)
    second = editor(first.texts())
    second.remove_characteristic("contact", "mobile")
    assert data(second.texts(), "entities/contact.yaml") == {"extends": "contact", "remove_characteristics": ["mobile"]}
    assert "mobile" not in load(second.texts()).entity("contact").fields_by_name


def test_a_removed_base_characteristic_can_be_added_again_under_its_name():
    first = editor()
    first.remove_characteristic("contact", "mobile")
    second = editor(first.texts())
    second.set_characteristic("contact", "mobile", {**LOYALTY, "label": {"en": "Mobile", "fr": "Portable"}}, new=True)
    field = load(second.texts()).entity("contact").field("mobile")
    assert (field.type, field.source.file) == ("integer", "overlay/entities/contact.yaml")


def test_the_status_is_not_a_characteristic_to_remove():
    with pytest.raises(DefinitionEditError) as refused:
        editor().remove_characteristic("lead", "status")
    assert refused.value.reason == "unknown"


def test_the_list_view_keeps_what_is_unchanged():
    edit = editor()
    view = BASE.entity("contact").view("list")
    edit.set_list_view("contact", view.columns, ("language",), view.mass_update)
    assert data(edit.texts(), "entities/contact.yaml") == {"extends": "contact", "views": {"list": {"filters": ["language"]}}}
    assert load(edit.texts()).entity("contact").view("list").filters == ("language",)


# -- value lists -----------------------------------------------------------------------------


def test_values_are_added_after_the_last_and_edited_in_place_when_added_here():
    first = editor()
    first.add_value("sectors", "space", {"label": {"en": "Space", "fr": "Espace"}, "order": None, "color": None})
    assert data(first.texts(), "lists/sectors.yaml")["values"] == [{"code": "space", "label": {"en": "Space", "fr": "Espace"}}]
    model = load(first.texts())
    space = model.value_list("sectors").value("space")
    assert space.order == max(v.order for v in BASE.value_list("sectors").values) + 10
    second = editor(first.texts())
    second.set_value("sectors", "space", {"label": {"en": "Space", "fr": "Spatial"}, "order": space.order,
                                          "color": None, "retired": True})
    assert data(second.texts(), "lists/sectors.yaml")["values"] == [
        {"code": "space", "label": {"en": "Space", "fr": "Spatial"}, "retired": True}]


def test_a_base_value_is_retired_by_an_override():
    edit = editor()
    it = BASE.value_list("sectors").value("it")
    edit.set_value("sectors", "it", {"label": {"en": it.label.en, "fr": it.label.fr}, "order": it.order,
                                     "color": it.color, "retired": True})
    assert data(edit.texts(), "lists/sectors.yaml") == {"extends": "sectors", "overrides": {"it": {"retired": True}}}
    assert load(edit.texts()).value_list("sectors").value("it").retired


def test_a_new_list_is_declared_by_the_overlay():
    edit = editor()
    edit.new_list("tiers", Text("Tiers", "Niveaux"), [{"code": "gold", "label": {"en": "Gold", "fr": "Or"}}])
    assert load(edit.texts()).value_list("tiers").codes == {"gold"}
    with pytest.raises(DefinitionEditError):
        editor().new_list("sectors", Text("S", "S"), [{"code": "x", "label": {"en": "X", "fr": "X"}}])


# -- workflows -------------------------------------------------------------------------------


@pytest.mark.parametrize("flags, written", [
    ({"open": True, "won": False, "lost": False}, {}),
    ({"open": False, "won": True, "lost": False}, {"won": True}),
    ({"open": False, "won": False, "lost": True}, {"lost": True}),
    ({"open": False, "won": False, "lost": False}, {"open": False}),
])
def test_a_new_status_says_only_the_flags_that_matter(flags, written):
    edit = editor()
    edit.add_status("ticket", "escalated", {"label": {"en": "Escalated", "fr": "Escaladé"}, "sequence": 25,
                                            "color": None, **flags})
    entry = data(edit.texts(), "workflows/ticket.yaml")["statuses"][0]
    assert entry == {"code": "escalated", "label": {"en": "Escalated", "fr": "Escaladé"}, "sequence": 25, **written}
    status = load(edit.texts()).workflow("ticket").status("escalated")
    assert (status.open, status.won, status.lost) == (flags["open"], flags["won"], flags["lost"])


def test_removing_a_status_added_here_takes_the_overlays_transitions_along():
    first = editor()
    first.add_status("ticket", "escalated", {"label": {"en": "E", "fr": "E"}, "sequence": 25, "open": True})
    first.add_transition("ticket", "escalate", {"label": {"en": "E", "fr": "E"}, "from": ["new"], "to": "escalated"})
    first.add_transition("ticket", "calm", {"label": {"en": "C", "fr": "C"}, "from": ["escalated", "new"],
                                            "to": "pending"})
    second = editor(first.texts())
    second.remove_status("ticket", "escalated")
    assert data(second.texts(), "workflows/ticket.yaml")["transitions"] == [
        {"name": "calm", "label": {"en": "C", "fr": "C"}, "from": ["new"], "to": "pending"}]
    load(second.texts())


def test_a_base_status_is_overridden_or_removed_never_a_protected_one():
    edit = editor()
    pending = BASE.workflow("ticket").status("pending")
    edit.set_status("ticket", "pending", {"label": {"en": "On hold", "fr": "En pause"}, "sequence": pending.sequence,
                                          "color": pending.color, "open": True, "won": False, "lost": False})
    assert data(edit.texts(), "workflows/ticket.yaml")["override_statuses"] == {
        "pending": {"label": {"en": "On hold", "fr": "En pause"}}}
    edit.remove_status("ticket", "pending")
    document = data(edit.texts(), "workflows/ticket.yaml")
    assert document == {"extends": "ticket", "remove_statuses": ["pending"]}
    assert load(edit.texts()).workflow("ticket").status("pending") is None
    with pytest.raises(DefinitionEditError) as refused:
        editor().remove_status("ticket", "closed")
    assert refused.value.reason == "protected"


def test_a_base_transition_is_overridden_by_what_changed_then_removed():
    edit = editor()
    take = next(t for t in BASE.workflow("ticket").transitions if t.name == "take")
    edit.set_transition("ticket", "take", {"label": {"en": take.label.en, "fr": take.label.fr},
                                           "from": list(take.from_statuses), "to": take.to, "roles": ["support"]})
    assert data(edit.texts(), "workflows/ticket.yaml")["override_transitions"] == {"take": {"roles": ["support"]}}
    edit.remove_transition("ticket", "take")
    assert data(edit.texts(), "workflows/ticket.yaml") == {"extends": "ticket", "remove_transitions": ["take"]}
    assert "take" not in {t.name for t in load(edit.texts()).workflow("ticket").transitions}


# -- roles and documents ---------------------------------------------------------------------


def test_a_permission_entry_replaces_the_roles_entry():
    edit = editor()
    edit.set_permission("sales", "lead", ["update", "read"], "team", hidden=["budget"], readonly=["score"])
    assert data(edit.texts(), "roles/sales.yaml") == {"extends": "sales", "entities": {"lead": {
        "can": ["read", "update"], "scope": "team", "hidden": ["budget"], "readonly": ["score"]}}}
    granted = load(edit.texts()).role("sales").entities["lead"]
    assert (granted.operations, granted.scope) == (frozenset({"read", "update"}), "team")
    with pytest.raises(DefinitionEditError) as refused:
        editor().set_permission("admin", "lead", ["read"], "all")
    assert refused.value.reason == "admin_role"


def test_changes_name_the_documents_written_and_removed():
    first = editor()
    first.add_value("sectors", "space", {"label": {"en": "Space", "fr": "Espace"}})
    texts = first.texts()
    second = editor(texts)
    second.set_value("sectors", "space", {"label": {"en": "Space", "fr": "Espace"}, "order": None, "color": None,
                                          "retired": False})
    assert second.changes() == {}
    third = OverlayEditor({**texts, "entities/contact.yaml": "extends: contact\n"}, load(texts))
    assert third.changes() == {"entities/contact.yaml": None}


def test_a_named_view_is_changed_through_an_extends_document_of_what_differs():
    view = BASE.entity("account").view("key_accounts")
    edit = editor()
    edit.set_list_view("account", ("name", "city"), view.filters, view.mass_update, view="key_accounts")
    assert data(edit.texts(), "views/key_accounts.yaml") == {"extends": "key_accounts", "columns": ["name", "city"]}
    changed = load(edit.texts()).entity("account").view("key_accounts")
    assert (changed.columns, changed.filters, changed.where) == (("name", "city"), view.filters, view.where)


# -- renaming ------------------------------------------------------------------------------------


def test_renaming_a_base_characteristic_declares_it_under_the_new_name_in_the_same_places():
    edit = editor()
    edit.rename_characteristic("contact", "first_name", "given_name")
    document = data(edit.texts(), "entities/contact.yaml")
    assert document["remove_characteristics"] == ["first_name"]
    assert document["characteristics"] == {"given_name": {
        "type": "string", "label": {"en": "First name", "fr": "Prénom"}, "max_length": 80, "searchable": True,
        "renamed_from": "first_name"}}
    contact = load(edit.texts()).entity("contact")
    base = BASE.entity("contact")
    assert contact.title == "{given_name} {last_name}"
    assert contact.view("list").columns == tuple("given_name" if c == "first_name" else c for c in base.view("list").columns)
    assert contact.view("list").sort == ("last_name", "given_name")
    assert contact.duplicate_rule("same_name_and_account").fields == ("last_name", "given_name", "account")
    assert contact.field("given_name").renamed_from == ("first_name",)


def test_renaming_twice_keeps_every_former_name_and_the_places():
    first = editor()
    first.rename_characteristic("contact", "mobile", "cell_phone")
    between = editor(first.texts())
    between.set_permission("sales", "contact", ("read", "update"), "all", readonly=("cell_phone",))
    second = editor(between.texts())
    second.rename_characteristic("contact", "cell_phone", "portable")
    entry = data(second.texts(), "entities/contact.yaml")["characteristics"]["portable"]
    assert entry["renamed_from"] == ["mobile", "cell_phone"]
    model = load(second.texts())
    contact = model.entity("contact")
    assert [s.fields for s in contact.view("form").sections] == [
        tuple("portable" if n == "mobile" else n for n in s.fields) for s in BASE.entity("contact").view("form").sections]
    assert model.role("sales").entities["contact"].readonly == frozenset({"portable"})


def test_renaming_a_characteristic_added_here_moves_its_entry():
    first = editor()
    first.set_characteristic("contact", "loyalty", LOYALTY, new=True)
    first.show_in_list("contact", "loyalty")
    second = editor(first.texts())
    second.rename_characteristic("contact", "loyalty", "fidelity")
    document = data(second.texts(), "entities/contact.yaml")
    assert "remove_characteristics" not in document
    assert document["characteristics"] == {"fidelity": {"type": "integer", "label": LABEL, "min": 0, "max": 10,
                                                        "renamed_from": "loyalty"}}
    assert load(second.texts()).entity("contact").view("list").columns[-1] == "fidelity"


@pytest.mark.parametrize("new_name", ["email", "created_at", "status"])
def test_a_rename_onto_a_name_taken_is_refused_on_the_new_name(new_name):
    with pytest.raises(DefinitionEditError) as refused:
        editor().rename_characteristic("contact", "mobile", new_name)
    assert refused.value.field == "new_name"


def test_the_overlays_named_views_follow_a_rename_and_a_removal():
    view = BASE.entity("account").view("key_accounts")
    first = editor()
    first.set_characteristic("account", "tier", {**LOYALTY, "label": {"en": "Tier", "fr": "Niveau"}}, new=True)
    second = editor(first.texts())
    second.set_list_view("account", (*view.columns, "tier"), ("tier",), view.mass_update, view="key_accounts")
    third = editor(second.texts())
    third.rename_characteristic("account", "tier", "rank")
    renamed = load(third.texts()).entity("account").view("key_accounts")
    assert (renamed.columns[-1], renamed.filters) == ("rank", ("rank",))
    fourth = editor(third.texts())
    fourth.remove_characteristic("account", "rank")
    assert "rank" not in fourth.texts()["views/key_accounts.yaml"]
    assert load(fourth.texts()).entity("account").view("key_accounts").columns == view.columns
