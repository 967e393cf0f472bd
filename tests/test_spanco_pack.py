"""examples/packs/spanco: a customer pack that re-models the opportunity pipeline as SPANCO
(Suspect, Prospect, Approach, Negotiation, Conclusion, Order) on top of the base pack, and
runs: an opportunity walks the pipeline through the engine's transitions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine import SYSTEM_ACTOR, Actor, TransitionError
from metamodel import BASE_PACK, DefinitionError, load_model
from metamodel.model import Model, Text

REPO = Path(__file__).resolve().parent.parent
SPANCO = REPO / "examples" / "packs" / "spanco"
PIPELINE = ["suspect", "prospect", "approach", "negotiation", "conclusion", "order", "closed_won", "closed_lost"]
PROBABILITY = {"suspect": 5, "prospect": 10, "approach": 25, "negotiation": 50, "conclusion": 80, "order": 95,
               "closed_won": 100, "closed_lost": 0}
SALES = Actor(user_id=1, username="claire", roles=frozenset({"sales"}), lang="en")
"""Claire is the engine fixture's first user: sales see the opportunities assigned to them."""
MANAGER = Actor(user_id=None, username="marc", roles=frozenset({"manager"}), lang="fr")


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems name files relative to the working directory."""
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model([BASE_PACK, SPANCO])


# -- the definitions -----------------------------------------------------------------------------
def test_spanco_layers_on_the_base_pack(model: Model) -> None:
    assert [(p.name, p.version) for p in model.packs] == [("base", "1.0.0"), ("spanco", "1.0.0")]
    assert model.packs[1].requires["base"] == ">=1.0, <2"
    assert model.workflow("opportunity").label == Text("SPANCO pipeline", "Cycle SPANCO")


def test_statuses_sort_by_sequence_and_start_at_suspect(model: Model) -> None:
    workflow = model.workflow("opportunity")

    assert [s.code for s in workflow.statuses] == PIPELINE
    assert [s.sequence for s in workflow.statuses] == [10, 20, 30, 40, 50, 60, 100, 110]
    assert workflow.initial.code == "suspect"
    assert model.entity("opportunity").field("status").default == "suspect"
    assert workflow.open_codes == frozenset(PIPELINE[:6])
    for status in workflow.statuses:
        assert status.label.en and status.label.fr, status.code
        assert dict(status.on_enter) == {"probability": str(PROBABILITY[status.code])}
    assert model.entity("opportunity").field("probability").default == PROBABILITY["suspect"]


def test_protected_statuses_stay_with_new_labels(model: Model) -> None:
    workflow = model.workflow("opportunity")
    won, lost = workflow.status("closed_won"), workflow.status("closed_lost")

    assert won.protected and won.won and not won.open
    assert lost.protected and lost.lost and not lost.open
    assert won.label == Text("Delivered", "Livrée")
    assert lost.label == Text("Dropped", "Abandonnée")


def test_base_statuses_and_their_transitions_are_gone(model: Model) -> None:
    workflow = model.workflow("opportunity")
    moves = {t.name: (t.from_statuses, t.to) for t in workflow.transitions}

    for code in ("prospecting", "qualification", "proposal"):
        assert workflow.status(code) is None
    assert moves == {
        "win": (("order",), "closed_won"),
        "lose": (tuple(PIPELINE[:6]), "closed_lost"),
        "identify": (("suspect",), "prospect"),
        "approach": (("prospect",), "approach"),
        "negotiate": (("approach",), "negotiation"),
        "conclude": (("negotiation",), "conclusion"),
        "take_order": (("conclusion",), "order"),
        "step_back": (("approach", "negotiation", "conclusion"), "prospect"),
        "reopen": (("closed_lost",), "prospect"),
    }
    win = next(t for t in workflow.transitions if t.name == "win")
    assert win.label == Text("Mark as delivered", "Marquer comme livrée")
    assert "amount > 0" in win.guard  # kept from the base pack


def test_the_order_fields_are_added_to_the_opportunity(model: Model) -> None:
    opportunity = model.entity("opportunity")

    assert opportunity.field("order_reference").max_length == 40
    assert opportunity.field("ordered_on").readonly
    assert opportunity.view("form").sections[2].fields == ("order_reference", "ordered_on")


def test_every_document_has_a_modeline() -> None:
    for path in sorted(SPANCO.rglob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema="), path


def test_removing_a_protected_status_names_both_files(tmp_path: Path) -> None:
    pack = tmp_path / "greedy"
    (pack / "workflows").mkdir(parents=True)
    (pack / "pack.yaml").write_text("pack: greedy\nversion: 1.0.0\nrequires: {spanco: '>=1.0'}\n", encoding="utf-8")
    (pack / "workflows" / "opportunity.yaml").write_text(
        "extends: opportunity\nremove_statuses: [order, closed_won]\n", encoding="utf-8")
    declared = next(i for i, line in enumerate((BASE_PACK / "workflows" / "opportunity.yaml").read_text(
        encoding="utf-8").splitlines(), 1) if "code: closed_won" in line)

    with pytest.raises(DefinitionError) as raised:
        load_model([BASE_PACK, SPANCO, pack])

    assert [str(p) for p in raised.value.problems] == [
        f"{pack / 'workflows' / 'opportunity.yaml'}:2: remove_statuses.1: 'closed_won' is protected"
        f" (declared in definitions/workflows/opportunity.yaml:{declared}) and cannot be removed"]


# -- the pipeline runs ---------------------------------------------------------------------------------
@pytest.fixture
def engine(make_engine, model):
    engine = make_engine(model)
    claire = engine.records.create("user", {"username": "claire", "display_name": "Claire"}, SYSTEM_ACTOR)
    assert claire["id"] == SALES.user_id
    return engine


@pytest.fixture
def customer(engine) -> tuple[int, int]:
    account = engine.records.create("account", {"name": "Fromagerie Dubois", "assigned_to": SALES.user_id}, SYSTEM_ACTOR)
    contact = engine.records.create("contact", {"last_name": "Dubois", "account": account["id"], "assigned_to": SALES.user_id}, SYSTEM_ACTOR)
    return account["id"], contact["id"]


def test_an_opportunity_walks_the_spanco_pipeline(engine, customer) -> None:
    account, contact = customer
    record = engine.records.create("opportunity", {"assigned_to": SALES.user_id, "name": "Deal", "amount": "1000"}, SYSTEM_ACTOR)
    assert (record["status"], record["probability"]) == ("suspect", 5)

    steps = [
        ("identify", None),
        ("approach", {"account": account, "contact": contact}),
        ("negotiate", {"expected_close": "2026-06-30"}),
        ("conclude", None),
        ("take_order", {"order_reference": "PO-2026-001"}),
        ("win", None),
    ]
    for (name, values), status in zip(steps, PIPELINE[1:7]):
        record = engine.records.transition("opportunity", record["id"], name, SALES, values=values)
        assert (record["status"], record["probability"]) == (status, PROBABILITY[status]), name

    assert record["amount"] == Decimal("1000.00")
    assert record["order_reference"] == "PO-2026-001"
    assert record["ordered_on"] is not None
    history = engine.records.status_history("opportunity", record["id"])
    assert [h["transition"] for h in history][-6:] == [name for name, _ in steps]
    assert [h["status"] for h in history][-6:] == PIPELINE[1:7]


def test_each_step_keeps_its_rules(engine, customer) -> None:
    account, contact = customer
    record = engine.records.create("opportunity", {"assigned_to": SALES.user_id, "name": "Deal"}, SYSTEM_ACTOR)

    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "approach", SALES)
    assert refused.value.reason == "not_from"
    record = engine.records.transition("opportunity", record["id"], "identify", SALES)
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "approach", SALES, values={"account": account})
    assert refused.value.reason == "required" and set(refused.value.errors) == {"contact"}
    record = engine.records.transition("opportunity", record["id"], "approach", SALES,
                                       values={"account": account, "contact": contact})
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "negotiate", SALES)
    assert refused.value.reason == "required" and set(refused.value.errors) == {"amount", "expected_close"}
    record = engine.records.transition("opportunity", record["id"], "negotiate", SALES,
                                       values={"amount": "0", "expected_close": "2026-06-30"})
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "conclude", SALES)
    assert refused.value.reason == "guard"
    assert refused.value.message("fr") == "Une affaire se conclut sur un montant supérieur à zéro"
    after = engine.records.get("opportunity", record["id"])
    assert (after["status"], after["version"]) == ("negotiation", record["version"])  # nothing written


def test_a_dropped_opportunity_is_reopened_by_a_manager_only(engine) -> None:
    record = engine.records.create("opportunity", {"assigned_to": SALES.user_id, "name": "Deal"}, SYSTEM_ACTOR)
    record = engine.records.transition("opportunity", record["id"], "lose", SALES)
    assert (record["status"], record["probability"]) == ("closed_lost", 0)

    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "reopen", SALES)
    assert refused.value.reason == "role"
    record = engine.records.transition("opportunity", record["id"], "reopen", MANAGER)
    assert (record["status"], record["probability"]) == ("prospect", 10)


def test_the_base_pipeline_transitions_no_longer_exist(engine) -> None:
    record = engine.records.create("opportunity", {"assigned_to": SALES.user_id, "name": "Deal"}, SYSTEM_ACTOR)

    with pytest.raises(TransitionError) as refused:
        engine.records.transition("opportunity", record["id"], "qualify", SALES)
    assert refused.value.reason in ("unknown", "unknown_transition")
