"""Workflow language: statuses' `on_enter`, field formats, and `extends:` documents that
override, remove and re-add statuses and transitions or give an entity another workflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import DefinitionError, load_model
from metamodel.model import Model, Text

from mm_fixture_paths import BASE

FLOW = "tests/fixtures/packs/base/workflows/deal.yaml"


def pack(root: Path, name: str, files: dict[str, str]) -> Path:
    directory = root / name
    for relative, text in {"pack.yaml": f"pack: {name}\nversion: 1.0.0\n", **files}.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def deal_extension(tmp_path: Path, body: str, name: str = "overlay") -> Model:
    return load_model([BASE, pack(tmp_path, name, {"workflows/deal.yaml": "extends: deal\n" + body})])


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        deal_extension(tmp_path, body)
    return [f"{p.path}: {p.message}" for p in raised.value.problems]


def transitions(model: Model) -> dict[str, tuple[tuple[str, ...], str]]:
    return {t.name: (t.from_statuses, t.to) for t in model.workflow("deal").transitions}


# -- on_enter ----------------------------------------------------------------------------------
def test_on_enter_values_become_expression_sources(tmp_path: Path) -> None:
    model = deal_extension(tmp_path, (
        "override_statuses:\n  qualified: {on_enter: {score: 3, closed_on: 'today()', do_not_call: false}}\n"
        "statuses:\n  - {code: parked, label: {en: P, fr: P}, on_enter: {description: \"'parked'\", budget: null}}\n"))
    deal = model.workflow("deal")

    assert dict(deal.status("qualified").on_enter) == {"score": "3", "closed_on": "today()", "do_not_call": "False"}
    assert dict(deal.status("parked").on_enter) == {"description": "'parked'", "budget": "None"}
    assert dict(deal.status("new").on_enter) == {}
    with pytest.raises(TypeError):
        deal.status("parked").on_enter["score"] = "1"  # type: ignore[index]


def test_on_enter_constants_on_the_bounds_are_accepted_one_past_refused(tmp_path: Path) -> None:
    """score is bounded 1..5 in the fixture pack."""
    for ok in (1, 5, "2 + 3", "max(1, 2)"):
        model = deal_extension(tmp_path, f"override_statuses:\n  new: {{on_enter: {{score: \"{ok}\"}}}}\n", name=f"ok{hash(ok) % 1000}")
        assert model.workflow("deal").status("new").on_enter["score"] == str(ok)

    assert problems(tmp_path, "override_statuses:\n  new: {on_enter: {score: 0}}\n") == [
        "override_statuses.new.on_enter.score: 0 is less than min 1 of 'score'"]
    assert problems(tmp_path, "override_statuses:\n  new: {on_enter: {score: \"3 * 2\"}}\n") == [
        "override_statuses.new.on_enter.score: 6 is greater than max 5 of 'score'"]
    assert problems(tmp_path, "override_statuses:\n  new: {on_enter: {score: 2.5}}\n") == [
        "override_statuses.new.on_enter.score: 2.5 is not an integer"]


def test_on_enter_may_read_fields_and_is_then_checked_at_run_time(tmp_path: Path) -> None:
    model = deal_extension(tmp_path, "override_statuses:\n  won: {on_enter: {score: \"score + 10\"}}\n")

    assert model.workflow("deal").status("won").on_enter["score"] == "score + 10"


def test_null_removes_on_enter_and_colour(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"workflows/deal.yaml": "extends: deal\noverride_statuses:\n  won: {on_enter: {score: 5}}\n"})
    second = pack(tmp_path, "second", {"workflows/deal.yaml": "extends: deal\noverride_statuses:\n  won: {on_enter: null}\n  new: {color: null}\n"})

    deal = load_model([BASE, first, second]).workflow("deal")

    assert dict(deal.status("won").on_enter) == {}
    assert deal.status("new").color is None


# -- overrides -------------------------------------------------------------------------------------
def test_status_override_changes_label_sequence_colour_and_flags(tmp_path: Path) -> None:
    deal = deal_extension(tmp_path, (
        "override_statuses:\n"
        "  won: {label: {en: Signed, fr: Signé}, sequence: 80, color: '#00ff00'}\n"
        "  qualified: {open: false, lost: true}\n")).workflow("deal")

    won = deal.status("won")
    assert (won.label, won.sequence, won.color, won.protected, won.won) == (Text("Signed", "Signé"), 80, "#00ff00", True, True)
    assert deal.status("qualified").lost and not deal.status("qualified").open
    assert [s.code for s in deal.statuses] == ["new", "qualified", "won", "lost"]
    assert deal.open_codes == frozenset({"new"})


def test_status_override_sequence_reorders_and_is_checked_for_clashes(tmp_path: Path) -> None:
    deal = deal_extension(tmp_path, "override_statuses:\n  new: {sequence: 30}\n").workflow("deal")

    assert [(s.code, s.sequence) for s in deal.statuses] == [("qualified", 20), ("new", 30), ("won", 90), ("lost", 95)]
    assert problems(tmp_path, "override_statuses:\n  new: {sequence: 20}\n") == [
        f"override_statuses.new.sequence: sequence 20 is already used by status 'qualified' ({FLOW}:6)"]


def test_a_later_pack_can_make_another_status_initial(tmp_path: Path) -> None:
    overridden = deal_extension(tmp_path, "override_statuses:\n  qualified: {initial: true}\n", name="a").workflow("deal")
    added = deal_extension(tmp_path, "statuses:\n  - {code: draft, label: {en: D, fr: B}, sequence: 5, initial: true}\n",
                           name="b")

    assert overridden.initial.code == "qualified"
    assert [s.code for s in overridden.statuses if s.initial] == ["qualified"]
    assert added.workflow("deal").initial.code == "draft"
    assert added.entity("lead").field("status").default == "draft"


def test_transition_override_replaces_each_given_key(tmp_path: Path) -> None:
    deal = deal_extension(tmp_path, (
        "override_transitions:\n"
        "  qualify:\n"
        "    label: {en: Check, fr: Vérifier}\n"
        "    from: '*'\n"
        "    guard: null\n"
        "    roles: [manager, sales]\n"
        "    required: [email]\n"
        "    actions:\n      - {set: {score: 3}}\n"
        "  win: {to: lost, guard_message: {en: M, fr: M}, guard: 'budget > 0'}\n")).workflow("deal")

    qualify = next(t for t in deal.transitions if t.name == "qualify")
    assert qualify.label == Text("Check", "Vérifier")
    assert (qualify.from_statuses, qualify.to) == (("new", "won", "lost"), "qualified")
    assert (qualify.guard, qualify.guard_message) == (None, None)
    assert (qualify.roles, qualify.required) == (("manager", "sales"), ("email",))
    assert [(a.kind, dict(a.params)) for a in qualify.actions] == [("set", {"score": "3"})]
    win = next(t for t in deal.transitions if t.name == "win")
    assert (win.to, win.guard, win.guard_message) == ("lost", "budget > 0", Text("M", "M"))
    assert win.from_statuses == ("new", "qualified")


def test_later_packs_win_on_transition_overrides(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"workflows/deal.yaml": "extends: deal\noverride_transitions:\n  lose: {roles: [sales]}\n"})
    second = pack(tmp_path, "second", {"workflows/deal.yaml": "extends: deal\noverride_transitions:\n  lose: {roles: [manager]}\n"})

    lose = next(t for t in load_model([BASE, first, second]).workflow("deal").transitions if t.name == "lose")

    assert lose.roles == ("manager",)


# -- removals ----------------------------------------------------------------------------------------
def test_removing_a_status_drops_transitions_into_it_and_leaves_from_lists(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"workflows/deal.yaml": (
        "extends: deal\noverride_transitions:\n  lose: {from: [new, qualified]}\n  win: {from: [qualified]}\n")})
    second = pack(tmp_path, "second", {"workflows/deal.yaml": "extends: deal\nremove_statuses: [qualified]\n"})

    model = load_model([BASE, first, second])

    assert [s.code for s in model.workflow("deal").statuses] == ["new", "won", "lost"]
    assert transitions(model) == {"lose": (("new",), "lost")}  # win's from list was left empty


def test_removals_come_before_the_overrides_of_the_same_document(tmp_path: Path) -> None:
    assert problems(tmp_path, "remove_statuses: [qualified]\noverride_statuses:\n  qualified: {color: '#000'}\n") == [
        f"override_statuses.qualified: unknown status 'qualified' in workflow 'deal' (declared in {FLOW}:2)"]


def test_removed_codes_and_names_can_be_declared_again(tmp_path: Path) -> None:
    model = deal_extension(tmp_path, (
        "remove_statuses: [new]\n"
        "remove_transitions: [lose]\n"
        "statuses:\n"
        "  - {code: new, label: {en: Fresh, fr: Frais}, sequence: 5, initial: true}\n"
        "  - {code: proposal, label: {en: Proposal, fr: Proposition}, sequence: 15}\n"
        "transitions:\n"
        "  - {name: qualify, label: {en: Q, fr: Q}, from: [new, proposal], to: qualified}\n"
        "  - {name: lose, label: {en: L, fr: P}, from: open, to: lost, roles: [manager]}\n"))
    deal = model.workflow("deal")

    assert [(s.code, s.sequence) for s in deal.statuses] == [("new", 5), ("proposal", 15), ("qualified", 20), ("won", 90), ("lost", 95)]
    assert deal.status("new").label == Text("Fresh", "Frais")
    assert transitions(model) == {
        "win": (("new", "proposal", "qualified"), "won"),
        "qualify": (("new", "proposal"), "qualified"),
        "lose": (("new", "proposal", "qualified"), "lost"),
    }
    assert model.entity("lead").field("status").default == "new"


def test_removing_a_transition_by_name(tmp_path: Path) -> None:
    assert set(transitions(deal_extension(tmp_path, "remove_transitions: [qualify, win]\n"))) == {"lose"}


def test_protected_statuses_can_be_relabelled_but_not_removed(tmp_path: Path) -> None:
    deal = deal_extension(tmp_path, "override_statuses:\n  won: {label: {en: Closed, fr: Clos}}\n").workflow("deal")

    assert deal.status("won").protected and deal.status("won").label.en == "Closed"
    assert problems(tmp_path, "remove_statuses: [won]\n") == [
        f"remove_statuses.0: 'won' is protected (declared in {FLOW}:7) and cannot be removed"]


def test_a_protected_status_declared_by_a_customer_pack_is_protected_too(tmp_path: Path) -> None:
    first = pack(tmp_path, "first", {"workflows/deal.yaml": (
        "extends: deal\nstatuses:\n  - {code: archived, label: {en: A, fr: A}, lost: true, protected: true}\n")})
    second = pack(tmp_path, "second", {"workflows/deal.yaml": "extends: deal\nremove_statuses: [archived]\n"})

    assert load_model([BASE, first]).workflow("deal").status("archived").protected
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, first, second])
    assert [str(p) for p in raised.value.problems] == [
        f"{second / 'workflows' / 'deal.yaml'}:2: remove_statuses.0: 'archived' is protected"
        f" (declared in {first / 'workflows' / 'deal.yaml'}:3) and cannot be removed"]


def test_a_removed_status_leaves_the_status_filters_of_views(tmp_path: Path) -> None:
    """`open_leads` (base pack) filters on [new, qualified]."""
    model = deal_extension(tmp_path, "remove_statuses: [qualified]\n")

    assert model.entity("lead").view("open_leads").where["status"] == ("new",)


def test_a_status_filter_left_empty_by_removals_names_the_removal(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {"workflows/deal.yaml": (
        "extends: deal\nremove_statuses: [new, qualified]\n"
        "statuses:\n  - {code: draft, label: {en: D, fr: B}, initial: true}\n")})

    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, overlay])

    assert [str(p) for p in raised.value.problems] == [
        "tests/fixtures/packs/base/views/open_leads.yaml:8: where.status: 'new' is not a status of workflow"
        f" 'deal' (removed by {overlay / 'workflows' / 'deal.yaml'}:2)"]


# -- an entity changes workflow ---------------------------------------------------------------------
def test_an_entity_extension_can_give_the_entity_another_workflow(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {
        "workflows/pipeline.yaml": (
            "workflow: pipeline\nlabel: {en: Pipeline, fr: Tunnel}\nstatuses:\n"
            "  - {code: new, label: {en: N, fr: N}, on_enter: {score: 1}}\n"
            "  - {code: qualified, label: {en: Q, fr: Q}, on_enter: {score: 4}}\n"
            "  - {code: done, label: {en: D, fr: F}, won: true}\n"),
        "entities/lead.yaml": "extends: lead\nworkflow: pipeline\n",
    })

    model = load_model([BASE, overlay])
    status = model.entity("lead").field("status")

    assert model.entity("lead").workflow == "pipeline"
    assert (status.workflow, status.default) == ("pipeline", "new")
    assert status.source.file == str(overlay / "entities" / "lead.yaml")
    assert model.workflow("pipeline").status("qualified").on_enter["score"] == "4"


def test_the_new_workflow_is_checked_against_the_entity(tmp_path: Path) -> None:
    overlay = pack(tmp_path, "overlay", {
        "workflows/board.yaml": "workflow: board\nlabel: {en: B, fr: B}\nstatuses:\n"
                                "  - {code: new, label: {en: N, fr: N}, on_enter: {stars: 1}}\n"
                                "  - {code: qualified, label: {en: Q, fr: Q}}\n",
        "entities/lead.yaml": "extends: lead\nworkflow: board\n",
    })

    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, overlay])

    assert [f"{p.path}: {p.message}" for p in raised.value.problems] == [
        "statuses.0.on_enter.stars: 'stars' is not a characteristic of entity 'lead'"]


# -- formats -----------------------------------------------------------------------------------------
def test_format_is_kept_on_the_field_and_can_be_overridden_or_removed(tmp_path: Path) -> None:
    core = pack(tmp_path, "core", {"entities/firm.yaml": (
        "entity: firm\nlabel: {en: Firm, fr: Société}\nplural: {en: Firms, fr: Sociétés}\ncharacteristics:\n"
        "  siret: {type: string, label: {en: SIRET, fr: SIRET}, format: siret, max_length: 14}\n"
        "  vat: {type: string, label: {en: VAT, fr: TVA}, format: vat_number}\n"
        "  founded: {type: date, label: {en: Founded, fr: Fondée}, format: past_date}\n"
        "  size: {type: choice, label: {en: Size, fr: Taille}, list: sectors, format: upper}\n"
        "  name: {type: string, label: {en: Name, fr: Nom}}\n")})
    overlay = pack(tmp_path, "overlay", {"entities/firm.yaml": (
        "extends: firm\ncharacteristics:\n  vat: {format: eu_vat}\n  founded: {format: null}\n"
        "  name: {format: title_case}\n")})

    firm = load_model([BASE, core, overlay]).entity("firm")

    assert [(f.name, f.format) for f in firm.fields] == [
        ("siret", "siret"), ("vat", "eu_vat"), ("founded", None), ("size", "upper"), ("name", "title_case")]
    assert load_model([BASE]).entity("lead").field("email").format is None


def test_format_names_are_identifiers(tmp_path: Path) -> None:
    bad = pack(tmp_path, "bad", {"entities/lead.yaml": "extends: lead\ncharacteristics:\n  email: {format: Bad-Name}\n"})

    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, bad])

    assert [p.message for p in raised.value.problems] == [
        "'Bad-Name' is not a valid name (lowercase letters, digits and _, starting with a letter)"]
