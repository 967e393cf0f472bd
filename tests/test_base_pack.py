"""The base CRM pack (definitions/) loads clean and says what the product promises."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from metamodel.model import LIST_TYPES, SYSTEM_COLUMNS, Model, Text

PACK_DIR = Path(metamodel.BASE_PACK)
ENTITIES = {
    "user", "lead", "account", "contact", "opportunity", "event", "task", "ticket", "activity_report",
}
NAMED_VIEWS = {
    "my_open_leads": "lead",
    "key_accounts": "account",
    "open_tickets": "ticket",
    "this_weeks_events": "event",
}
SCHEMA_OF_FOLDER = {"entities": "entity", "lists": "list", "workflows": "workflow", "views": "view"}


@pytest.fixture(scope="module")
def model() -> Model:
    return metamodel.load_model([metamodel.BASE_PACK])


def assert_bilingual(text: Text | None, where: str) -> None:
    assert text is not None, f"{where}: no label"
    assert text.en.strip() and text.fr.strip(), f"{where}: label missing a language"


def test_base_pack_loads_every_entity(model: Model) -> None:
    assert set(model.entities) == ENTITIES
    (pack,) = model.packs
    assert (pack.name, pack.version) == ("base", "1.0.0")


def test_every_entity_and_characteristic_is_labelled_in_english_and_french(model: Model) -> None:
    for entity in model.entities.values():
        assert_bilingual(entity.label, entity.name)
        assert_bilingual(entity.plural, f"{entity.name} plural")
        for f in entity.fields:
            assert_bilingual(f.label, f"{entity.name}.{f.name}")


def test_every_choice_field_names_an_existing_list(model: Model) -> None:
    choice_fields = [(e.name, f) for e in model.entities.values() for f in e.fields if f.type in LIST_TYPES]
    assert choice_fields
    for entity_name, f in choice_fields:
        assert f.list in model.lists, f"{entity_name}.{f.name} names unknown list {f.list!r}"


def test_every_link_points_at_an_entity_of_the_pack(model: Model) -> None:
    for entity in model.entities.values():
        for f in entity.fields:
            if f.type == "link":
                assert f.entity in model.entities, f"{entity.name}.{f.name}"


def test_other_entities_are_assigned_to_users(model: Model) -> None:
    for name in ENTITIES - {"user", "activity_report"}:
        assigned_to = model.entity(name).field("assigned_to")
        assert (assigned_to.type, assigned_to.entity) == ("link", "user"), name
    assert model.entity("activity_report").field("author").entity == "user"


def test_value_lists_have_four_bilingual_values_and_the_pack_shows_a_retired_one(model: Model) -> None:
    for value_list in model.lists.values():
        assert_bilingual(value_list.label, value_list.name)
        assert len(value_list.active_codes) >= 4, value_list.name
        for value in value_list.values:
            assert_bilingual(value.label, f"{value_list.name}.{value.code}")
    assert any(v.retired for vl in model.lists.values() for v in vl.values)


def test_each_entity_has_a_list_view_and_a_form_with_two_to_four_sections(model: Model) -> None:
    for entity in model.entities.values():
        kinds = {v.kind for v in entity.views}
        assert {"list", "form"} <= kinds, entity.name
        default_list = next(v for v in entity.views if v.kind == "list")
        assert default_list.columns and default_list.filters and default_list.sort, entity.name
        assert default_list.group_by and default_list.mass_update, entity.name
        form = next(v for v in entity.views if v.kind == "form")
        assert 2 <= len(form.sections) <= 4, entity.name
        for section in form.sections:
            assert_bilingual(section.title, f"{entity.name} form section")


def test_views_name_only_fields_of_their_entity(model: Model) -> None:
    for entity in model.entities.values():
        known = set(entity.fields_by_name) | set(SYSTEM_COLUMNS)
        for view in entity.views:
            named = [*view.columns, *view.filters, *view.group_by, *view.mass_update, *view.where]
            named += [s.lstrip("-") for s in view.sort]
            named += [f for section in view.sections for f in section.fields]
            assert set(named) <= known, f"{entity.name}.{view.name}: {set(named) - known}"


def test_every_declared_characteristic_appears_on_the_form(model: Model) -> None:
    for entity in model.entities.values():
        form = next(v for v in entity.views if v.kind == "form")
        on_form = {f for section in form.sections for f in section.fields}
        declared = {f.name for f in entity.fields if f.type != "status"}
        assert declared <= on_form, f"{entity.name}: {declared - on_form}"


def test_named_views_exist_on_their_entities(model: Model) -> None:
    for view_name, entity_name in NAMED_VIEWS.items():
        view = model.entity(entity_name).view(view_name)
        assert view.kind == "list"
        assert_bilingual(view.label, view_name)
        assert view.where, view_name


def test_open_views_only_show_open_statuses(model: Model) -> None:
    lead_open = model.workflow("lead").open_codes
    assert set(model.entity("lead").view("my_open_leads").where["status"]) == lead_open
    ticket_open = model.workflow("ticket").open_codes
    assert set(model.entity("ticket").view("open_tickets").where["status"]) == ticket_open


def test_lead_workflow_protects_converted_and_lost(model: Model) -> None:
    workflow = model.workflow("lead")
    assert workflow.initial.code == "new"
    converted, lost = workflow.status("converted"), workflow.status("lost")
    assert converted is not None and lost is not None
    assert converted.protected and converted.won and not converted.open
    assert lost.protected and lost.lost and not lost.open
    assert model.entity("lead").field("status").workflow == "lead"


def test_lead_qualification_is_guarded_with_a_bilingual_message(model: Model) -> None:
    qualify = next(t for t in model.workflow("lead").transitions if t.name == "qualify")
    assert qualify.guard
    assert_bilingual(qualify.guard_message, "lead.qualify guard message")
    convert = next(t for t in model.workflow("lead").transitions if t.name == "convert")
    assert convert.to == "converted"


def test_opportunity_workflow_closes_won_and_lost(model: Model) -> None:
    workflow = model.workflow("opportunity")
    won, lost = workflow.status("closed_won"), workflow.status("closed_lost")
    assert won.protected and won.won and not won.open
    assert lost.protected and lost.lost and not lost.open


def test_every_workflow_is_labelled_and_transitions_lead_to_known_statuses(model: Model) -> None:
    assert {"lead", "opportunity", "task", "ticket"} <= set(model.workflows)
    for workflow in model.workflows.values():
        assert_bilingual(workflow.label, workflow.name)
        codes = {s.code for s in workflow.statuses}
        for status in workflow.statuses:
            assert_bilingual(status.label, f"{workflow.name}.{status.code}")
        for transition in workflow.transitions:
            assert_bilingual(transition.label, f"{workflow.name}.{transition.name}")
            assert transition.to in codes
            assert set(transition.from_statuses) <= codes


@pytest.mark.parametrize(
    ("entity", "field", "low", "high"),
    [
        ("lead", "score", 0, 5),
        ("opportunity", "probability", 0, 100),
        ("opportunity", "recurring_months", 0, 120),
        ("task", "percent_done", 0, 100),
        ("task", "duration_minutes", 0, 100000),
        ("account", "employees", 0, 1000000),
    ],
)
def test_bounds(model: Model, entity: str, field: str, low: int, high: int) -> None:
    f = model.entity(entity).field(field)
    assert (f.min, f.max) == (low, high)


@pytest.mark.parametrize(
    ("entity", "field"),
    [
        ("lead", "score"),
        ("lead", "budget"),
        ("lead", "assigned_to"),
        ("opportunity", "amount"),
        ("opportunity", "probability"),
        ("opportunity", "assigned_to"),
        ("opportunity", "expected_close"),
    ],
)
def test_historized_fields(model: Model, entity: str, field: str) -> None:
    assert model.entity(entity).field(field).historized


def test_user_name_is_mandatory_unique_and_bounded(model: Model) -> None:
    username = model.entity("user").field("username")
    assert username.mandatory and username.unique and username.max_length == 60


def test_every_document_starts_with_a_modeline_to_an_existing_schema() -> None:
    documents = [(PACK_DIR / "pack.yaml", "../metamodel/schemas/pack.schema.json")]
    for folder, kind in SCHEMA_OF_FOLDER.items():
        schema = f"../../metamodel/schemas/{kind}.schema.json"
        documents += [(path, schema) for path in sorted(PACK_DIR.glob(f"{folder}/*.yaml"))]
    assert len(documents) > 30
    for path, schema in documents:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line == f"# yaml-language-server: $schema={schema}", path
        assert (path.parent / schema).resolve().is_file(), f"{path}: {schema} does not exist"
