"""Valid packs load into the expected, immutable `Model`: the fixture base pack alone, and
the base pack with the ACME customer pack layered on it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest

from metamodel import BASE_PACK, load_model
from metamodel.model import Model, Text

from mm_fixture_paths import ACME, BASE, REPO


@pytest.fixture(scope="module")
def base() -> Model:
    return load_model([BASE])


@pytest.fixture(scope="module")
def layered() -> Model:
    return load_model([BASE, ACME])


def test_base_pack_constant_is_the_repository_definitions_folder() -> None:
    assert BASE_PACK == REPO / "definitions"


def test_entities_keep_declared_field_order_and_get_a_status_field(base: Model) -> None:
    lead = base.entity("lead")

    assert [f.name for f in lead.fields] == [
        "first_name", "last_name", "email", "phone", "do_not_call", "score", "budget", "company",
        "sector", "next_event", "closed_on", "description", "status",
    ]
    status = lead.field("status")
    assert (status.type, status.workflow, status.mandatory, status.indexed, status.default) == ("status", "deal", True, True, "new")
    assert status.label == Text("Status", "Statut")
    assert lead.workflow == "deal"
    assert "status" not in base.entity("company").fields_by_name


def test_field_defaults_are_filled(base: Model) -> None:
    lead = base.entity("lead")

    assert lead.field("first_name").max_length == 80
    assert base.entity("company").field("name").max_length == 120
    assert (lead.field("budget").scale, lead.field("budget").precision) == (2, 18)
    assert lead.field("score").scale is None
    assert lead.field("email").max_length is None
    assert lead.field("closed_on").systematic is False
    assert lead.field("last_name").systematic is True


def test_bounds_and_defaults_are_typed_like_the_field(base: Model, layered: Model) -> None:
    lead = base.entity("lead")
    event = layered.entity("event")

    assert (lead.field("score").min, lead.field("score").max, lead.field("score").default) == (1, 5, 1)
    assert lead.field("budget").min == Decimal("0.00")
    assert lead.field("do_not_call").default is False
    assert lead.field("sector").default == "it"
    assert event.field("day").min == date(2000, 1, 1)
    assert event.field("day").default == date(2024, 2, 29)
    assert event.field("starts_at").min == datetime(1999, 12, 31, 22, 0)  # +02:00 converted to naive UTC
    assert event.field("cost").min == Decimal("-5.500")
    assert str(event.field("cost").max) == "1000000.000"
    assert event.field("sectors").default == ("it", "health")


def test_string_without_max_length_gets_255(layered: Model) -> None:
    assert layered.entity("event").field("subject").max_length == 255


def test_default_views_are_synthesized(base: Model) -> None:
    company = base.entity("company")
    listing = company.view("list")
    form = company.view("form")

    assert (listing.kind, listing.columns, listing.sort, listing.label) == ("list", ("name", "sector", "employees"), ("-created_at",), Text("Companies", "Sociétés"))
    assert form.kind == "form"
    assert [(s.title, s.fields) for s in form.sections] == [(Text("General", "Général"), ("name", "sector", "employees"))]


def test_default_list_takes_five_systematic_fields_then_status(layered: Model) -> None:
    event = layered.entity("event")

    assert event.view("list").columns == ("subject", "starts_at", "day", "lead", "sectors")
    assert "notes" not in event.view("form").sections[0].fields


def test_declared_views_and_named_views(base: Model) -> None:
    lead = base.entity("lead")

    assert [v.name for v in lead.views] == ["list", "form", "open_leads"]
    assert lead.view("list").mass_update == ("sector", "score")
    assert [s.fields for s in lead.view("form").sections][1] == ("score", "sector", "budget", "company")
    open_leads = lead.view("open_leads")
    assert open_leads.sort == ("-score", "last_name")
    assert open_leads.where["status"] == ("new", "qualified")
    assert open_leads.where["score"]["min"] == 3
    assert open_leads.source.file == "tests/fixtures/packs/base/views/open_leads.yaml"


def test_workflow_statuses_transitions_and_actions(base: Model) -> None:
    deal = base.workflow("deal")

    assert [s.code for s in deal.statuses] == ["new", "qualified", "won", "lost"]
    assert deal.initial.code == "new"
    assert deal.open_codes == frozenset({"new", "qualified"})
    assert deal.status("won").protected and not deal.status("won").open
    transitions = {t.name: t for t in deal.transitions}
    assert transitions["win"].from_statuses == ("new", "qualified")
    assert transitions["lose"].from_statuses == ("new", "qualified", "won")
    assert transitions["qualify"].required == ("phone",)
    assert transitions["qualify"].roles == ("sales",)
    assert transitions["qualify"].guard == "score >= 3"
    action = transitions["win"].actions[0]
    assert action.kind == "set"
    assert dict(action.params) == {"closed_on": "today()", "score": "5"}


def test_value_list_defaults_order_by_position(base: Model) -> None:
    sectors = base.value_list("sectors")

    assert [(v.code, v.order) for v in sectors.values] == [("it", 10), ("retail", 20), ("mining", 30)]
    assert sectors.active_codes == frozenset({"it", "retail"})


def test_sources_name_file_and_line(base: Model) -> None:
    lead = base.entity("lead")

    assert str(lead.source) == "tests/fixtures/packs/base/entities/lead.yaml:2"
    assert str(lead.field("score").source) == "tests/fixtures/packs/base/entities/lead.yaml:13"
    assert str(base.workflow("deal").source) == "tests/fixtures/packs/base/workflows/deal.yaml:2"


def test_packs_are_recorded_in_layer_order(layered: Model) -> None:
    assert [(p.name, p.version) for p in layered.packs] == [("base", "1.2.0"), ("acme", "0.3.0")]
    assert layered.packs[1].requires["base"] == ">=1.0, <2"
    assert layered.packs[0].path == "tests/fixtures/packs/base"


# -- layering ---------------------------------------------------------------------------------
def test_customer_pack_adds_an_entity_and_a_named_form(layered: Model) -> None:
    event = layered.entity("event")

    assert list(layered.entities) == ["company", "lead", "event"]
    assert event.source.file == "tests/fixtures/packs/acme/entities/event.yaml"
    assert event.view("event_form").sections[0].tab == "main"


def test_customer_pack_adds_a_characteristic_after_the_declared_ones(layered: Model) -> None:
    lead = layered.entity("lead")

    assert [f.name for f in lead.fields][-2:] == ["loyalty", "status"]
    assert (lead.field("loyalty").min, lead.field("loyalty").max, lead.field("loyalty").default) == (0, 100, 50)
    assert lead.field("loyalty").source.file == "tests/fixtures/packs/acme/entities/lead.yaml"


def test_customer_pack_overrides_bounds_labels_and_defaults(layered: Model, base: Model) -> None:
    score = layered.entity("lead").field("score")

    assert (score.min, score.max) == (1, 10)
    assert score.label == Text("Rating", "Note")
    assert score.widget == "stars"
    assert layered.entity("lead").label == Text("Prospect", "Prospect")
    assert layered.entity("lead").field("budget").default == Decimal("1000.50")
    assert base.entity("lead").field("score").max == 5


def test_customer_pack_adds_and_overrides_list_values(layered: Model) -> None:
    sectors = layered.value_list("sectors")

    assert [(v.code, v.order) for v in sectors.values] == [("it", 10), ("health", 15), ("retail", 20), ("mining", 30), ("energy", 40)]
    assert sectors.value("retail").label == Text("Retail trade", "Commerce de détail")
    assert sectors.value("mining").retired is False


def test_customer_pack_adds_a_status_between_two_others(layered: Model) -> None:
    deal = layered.workflow("deal")

    assert [(s.code, s.sequence) for s in deal.statuses] == [("new", 10), ("proposal", 15), ("qualified", 20), ("won", 90), ("lost", 95)]
    assert deal.status("proposal").color == "#f59e0b"
    propose = next(t for t in deal.transitions if t.name == "propose")
    assert (propose.from_statuses, propose.to, propose.required) == (("new",), "proposal", ("budget",))
    lose = next(t for t in deal.transitions if t.name == "lose")
    assert lose.from_statuses == ("new", "proposal", "qualified", "won")


def test_customer_pack_overrides_a_view_keeping_what_it_does_not_change(layered: Model) -> None:
    listing = layered.entity("lead").view("list")

    assert listing.columns == ("last_name", "loyalty", "status")
    assert listing.filters == ("status", "sector")
    assert listing.source.file == "tests/fixtures/packs/base/entities/lead.yaml"


# -- immutability -------------------------------------------------------------------------
def test_model_objects_are_frozen(layered: Model) -> None:
    lead = layered.entity("lead")

    with pytest.raises(dataclasses.FrozenInstanceError):
        lead.name = "prospect"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lead.field("score").max = 100  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layered.entities = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        layered.entities["ghost"] = lead  # type: ignore[index]
    with pytest.raises(TypeError):
        lead.view("open_leads").where["score"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        layered.workflow("deal").transitions[1].actions[0].params["x"] = "1"  # type: ignore[index]
    assert isinstance(lead.fields, tuple)
    assert isinstance(layered.entity("event").field("sectors").default, tuple)
