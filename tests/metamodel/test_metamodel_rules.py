"""Layering and defaulting rules, on small packs written for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import DefinitionError, load_model
from metamodel.model import Model

from mm_fixture_paths import BASE

LABEL = "label: {en: X, fr: X}"


def pack(root: Path, name: str, files: dict[str, str]) -> Path:
    directory = root / name
    for relative, text in {"pack.yaml": f"pack: {name}\nversion: 1.0.0\n", **files}.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def messages(*packs: Path) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, *packs])
    return [f"{p.path}: {p.message}" for p in raised.value.problems]


def test_later_packs_win_on_overrides(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"entities/lead.yaml": "extends: lead\ncharacteristics:\n  score: {max: 8, widget: slider}\n"})
    second = pack(tmp_path, "second", {"entities/lead.yaml": "extends: lead\ncharacteristics:\n  score: {max: 9}\n"})

    score = load_model([BASE, first, second]).entity("lead").field("score")

    assert (score.max, score.widget) == (9, "slider")


def test_a_new_default_replaces_an_inherited_default_expr_and_null_removes(tmp_path: Path) -> None:
    base = pack(tmp_path, "core", {"entities/note.yaml": (
        "entity: note\nlabel: {en: Note, fr: Note}\nplural: {en: Notes, fr: Notes}\ncharacteristics:\n"
        f"  day: {{type: date, {LABEL}, default_expr: 'today()', help: {{en: H, fr: H}}}}\n"
        f"  size: {{type: integer, {LABEL}, default: 3, max: 10}}\n")})
    overlay = pack(tmp_path, "overlay", {"entities/note.yaml": (
        "extends: note\ncharacteristics:\n  day: {default: '2024-05-01', help: null}\n  size: {default_expr: '1 + 1', max: null}\n")})

    note = load_model([BASE, base, overlay]).entity("note")

    assert (str(note.field("day").default), note.field("day").default_expr, note.field("day").help) == ("2024-05-01", None, None)
    assert (note.field("size").default, note.field("size").default_expr, note.field("size").max) == (None, "1 + 1", None)


def test_no_initial_flag_makes_the_lowest_sequence_initial(tmp_path: Path) -> None:
    flow = pack(tmp_path, "flows", {"workflows/flow.yaml": (
        "workflow: flow\nlabel: {en: F, fr: F}\nstatuses:\n"
        "  - {code: late, label: {en: L, fr: L}, sequence: 50}\n"
        "  - {code: early, label: {en: E, fr: E}, sequence: 5}\n  - {code: mid, label: {en: M, fr: M}}\n")})

    workflow = load_model([BASE, flow]).workflow("flow")

    assert [(s.code, s.sequence, s.initial) for s in workflow.statuses] == [("early", 5, True), ("mid", 30, False), ("late", 50, False)]
    assert workflow.initial.code == "early"


def test_expressions_of_a_workflow_no_entity_uses_are_checked_for_syntax_only(tmp_path: Path) -> None:
    text = ("workflow: flow\nlabel: {en: F, fr: F}\nstatuses:\n  - {code: a, label: {en: A, fr: A}}\n"
            "  - {code: b, label: {en: B, fr: B}}\ntransitions:\n"
            "  - {name: go, label: {en: G, fr: G}, from: '*', to: b, guard: \"%s\"}\n")

    assert load_model([BASE, pack(tmp_path, "ok", {"workflows/flow.yaml": text % "anything > 1"})]).workflow("flow")
    assert messages(pack(tmp_path, "bad", {"workflows/flow.yaml": text % "x.y"})) == [
        "transitions.0.guard: attribute access ('.') is not allowed"]


def test_free_workflow_lets_views_edit_the_status(tmp_path: Path) -> None:
    files = {
        "workflows/board.yaml": "workflow: board\nlabel: {en: B, fr: B}\nfree: true\nstatuses:\n"
                                "  - {code: todo, label: {en: T, fr: T}}\n  - {code: done, label: {en: D, fr: D}}\n",
        "entities/card.yaml": ("entity: card\nlabel: {en: Card, fr: Carte}\nplural: {en: Cards, fr: Cartes}\nworkflow: board\n"
                               f"characteristics:\n  name: {{type: string, {LABEL}}}\n"
                               "views:\n  list: {mass_update: [status]}\n"
                               "  form: {sections: [{title: {en: A, fr: A}, fields: [name, status]}]}\n"),
    }

    model = load_model([BASE, pack(tmp_path, "kanban", files)])
    card = model.entity("card")

    assert model.workflow("board").free is True
    assert card.view("list").mass_update == ("status",)
    assert card.view("list").columns == ("name", "status")
    assert card.view("form").sections[0].fields == ("name", "status")


def test_named_views_without_columns_or_sections_take_the_entity_ones(tmp_path: Path) -> None:
    views = pack(tmp_path, "views", {
        "views/plain.yaml": "view: plain\nentity: lead\nkind: list\nlabel: {en: P, fr: P}\nfilters: [sector]\n",
        "views/quick.yaml": "view: quick\nentity: lead\nkind: form\nlabel: {en: Q, fr: Q}\n",
    })

    lead = load_model([BASE, views]).entity("lead")

    assert lead.view("plain").columns == lead.view("list").columns
    assert lead.view("plain").sort == ("-created_at",)
    assert lead.view("quick").sections == lead.view("form").sections


def test_extension_replaces_the_form_and_adds_actions(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {
        "entities/lead.yaml": "extends: lead\nviews:\n  form: {sections: [{title: {en: All, fr: Tout}, fields: [last_name]}]}\n",
        "workflows/deal.yaml": (
            "extends: deal\ntransitions:\n  - name: convert\n    label: {en: C, fr: C}\n    from: [qualified]\n    to: won\n"
            "    actions:\n      - create: {entity: company, values: {name: last_name, employees: 1}}\n"
            "      - {call: convert_lead, params: {keep: true, into: [company]}}\n"),
    })

    model = load_model([BASE, overlay])

    assert [s.fields for s in model.entity("lead").view("form").sections] == [("last_name",)]
    convert = next(t for t in model.workflow("deal").transitions if t.name == "convert")
    create, call = convert.actions
    assert (create.kind, create.params["entity"], dict(create.params["values"])) == ("create", "company", {"name": "last_name", "employees": "1"})
    assert (call.kind, call.params["keep"], call.params["into"]) == ("convert_lead", True, ("company",))


def test_where_values_are_typed_like_their_field(tmp_path: Path) -> None:
    views = pack(tmp_path, "views", {"views/recent.yaml": (
        "view: recent\nentity: lead\nkind: list\nlabel: {en: R, fr: R}\n"
        "where: {created_at: {min: '2024-01-01T00:00:00Z'}, budget: {max: 100}, do_not_call: false, sector: [it]}\n")})

    where = load_model([BASE, views]).entity("lead").view("recent").where

    assert str(where["created_at"]["min"]) == "2024-01-01 00:00:00"
    assert str(where["budget"]["max"]) == "100.00"
    assert where["do_not_call"] is False
    assert where["sector"] == ("it",)


def test_model_for_a_base_pack_alone_uses_only_its_own_definitions(tmp_path: Path) -> None:
    solo = pack(tmp_path, "solo", {"lists/yes_no.yaml": "list: yes_no\nlabel: {en: Y, fr: O}\nvalues:\n  - {code: y, label: {en: Y, fr: O}}\n"})

    model: Model = load_model([solo])

    assert (list(model.entities), list(model.lists), list(model.workflows)) == ([], ["yes_no"], [])


def test_override_of_a_characteristic_keeps_its_position(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {"entities/lead.yaml": "extends: lead\ncharacteristics:\n  first_name: {mandatory: true}\n"})

    lead = load_model([BASE, overlay]).entity("lead")

    assert lead.fields[0].name == "first_name" and lead.fields[0].mandatory is True
