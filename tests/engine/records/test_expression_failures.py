"""An expression of the definitions that fails on a record's values (an empty operand, a text
where a number is expected) is a clear error of the characteristic it serves: rule `expression`,
a message in English and French naming the characteristic by its label and giving a reference,
never the evaluator's Python text (that goes to the log, under the same reference).

Every place the engine evaluates an expression at run time is covered: `default_expr`,
`mandatory_when`, a transition's guard, its `set` and `create` actions and a status's `on_enter`.
"""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path
from typing import Any

import pytest

import metamodel
from engine import SYSTEM_ACTOR, BatchValidationError, Engine, RecordValidationError, TransitionError
from engine.core.errors import RuleError

PACK_FILES = {
    "pack.yaml": """\
pack: expression_failures
version: 1.0.0
label: {en: Expression failures, fr: Échecs d'expressions}
""",
    "entities/line.yaml": """\
entity: line
label: {en: Order line, fr: Ligne de commande}
plural: {en: Order lines, fr: Lignes de commande}
title: "{label}"
workflow: line
characteristics:
  label: {type: string, label: {en: Label, fr: Libellé}}
  quantity: {type: integer, label: {en: Quantity, fr: Quantité}}
  unit_price: {type: decimal, label: {en: Unit price, fr: Prix unitaire}, scale: 2}
  total: {type: decimal, label: {en: Line total, fr: Total de la ligne}, scale: 2, default_expr: "quantity * unit_price"}
  discount: {type: integer, label: {en: Discount, fr: Remise}}
  discount_reason: {type: string, label: {en: Reason for the discount, fr: Motif de la remise}, mandatory_when: "discount > 10"}
""",
    "entities/line_note.yaml": """\
entity: line_note
label: {en: Line note, fr: Note de ligne}
plural: {en: Line notes, fr: Notes de ligne}
characteristics:
  subject: {type: string, label: {en: Subject, fr: Objet}}
""",
    "workflows/line.yaml": """\
workflow: line
label: {en: Lines, fr: Lignes}
statuses:
  - {code: open, label: {en: Open, fr: Ouverte}, sequence: 10, initial: true}
  - {code: priced, label: {en: Priced, fr: Chiffrée}, sequence: 20}
  - {code: noted, label: {en: Noted, fr: Annotée}, sequence: 30}
  - {code: billed, label: {en: Billed, fr: Facturée}, sequence: 40, on_enter: {total: "quantity * unit_price"}}
  - {code: checked, label: {en: Checked, fr: Vérifiée}, sequence: 50}
transitions:
  - {name: price, label: {en: Price, fr: Chiffrer}, from: [open], to: priced, actions: [{set: {total: "quantity * unit_price"}}]}
  - {name: note, label: {en: Note, fr: Annoter}, from: [open], to: noted, actions: [{create: {entity: line_note, values: {subject: "'Line ' + label"}}}]}
  - {name: bill, label: {en: Bill, fr: Facturer}, from: [open], to: billed}
  - name: check
    label: {en: Check, fr: Vérifier}
    from: [open]
    to: checked
    guard: "quantity > 0"
    guard_message: {en: A line needs a quantity above zero, fr: Une ligne doit avoir une quantité supérieure à zéro}
""",
}

PYTHON_WORDS = re.compile(r"TypeError|NoneType|unsupported operand|Traceback|cannot evaluate|can only concatenate")
REFERENCE = re.compile(r"\((?:reference|référence) ([0-9a-f]{8})\)")

LABELS = {
    "total": ("Line total", "Total de la ligne"),
    "discount_reason": ("Reason for the discount", "Motif de la remise"),
    "subject": ("Subject", "Objet"),
}


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("expression_failures")
    for name, text in PACK_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def engine(make_engine, pack: Path) -> Engine:
    return make_engine(metamodel.load_model([pack]))


def assert_clear_expression_error(error: RuleError, name: str) -> str:
    """The error is rule `expression` on `name`, names its label in both languages with one
    reference, and carries no Python text; returns the reference."""
    assert (error.field, error.rule) == (name, "expression")
    english, french = error.message("en"), error.message("fr")
    assert f"“{LABELS[name][0]}”" in english and f"« {LABELS[name][1]} »" in french
    assert not PYTHON_WORDS.search(english) and not PYTHON_WORDS.search(french)
    (reference,) = REFERENCE.findall(english)
    assert REFERENCE.findall(french) == [reference]
    return reference


def line(engine: Engine, **values: Any) -> dict[str, Any]:
    return engine.records.create("line", {"label": "Bolts", "discount": 0, **values}, SYSTEM_ACTOR)


# -- default_expr ------------------------------------------------------------------------------

OPERANDS = {"quantity": [None, 0, 3], "unit_price": [None, "0", "2.50"]}
CASES = [dict(zip(OPERANDS, combination)) for combination in itertools.product(*OPERANDS.values())]


@pytest.mark.parametrize("given", CASES, ids=[f"{c['quantity']}x{c['unit_price']}" for c in CASES])
def test_a_default_needing_an_empty_operand_is_a_clear_error_of_its_field(engine, given, caplog) -> None:
    values = {name: value for name, value in given.items() if value is not None}
    if len(values) == 2:  # both operands: the default is computed (zero is a value, not an empty one)
        from decimal import Decimal

        assert line(engine, **values)["total"] == given["quantity"] * Decimal(given["unit_price"])
        return
    with caplog.at_level(logging.WARNING, logger="engine.records.validation"):
        with pytest.raises(RecordValidationError) as caught:
            line(engine, **values)
    assert list(caught.value.errors) == ["total"]
    (error,) = caught.value.errors["total"]
    reference = assert_clear_expression_error(error, "total")
    assert caught.value.as_dict("fr")["total"][0]["rule"] == "expression"
    logged = [r.getMessage() for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1 and "line.total" in logged[0] and "NoneType" in logged[0]  # the detail is in the log
    assert engine.records.count("line") == 0


def test_a_given_value_needs_no_default(engine) -> None:
    assert line(engine, total="9.99")["total"] == line(engine, quantity=1, unit_price="9.99")["total"]


def test_the_bulk_path_reports_the_same_error(engine) -> None:
    with pytest.raises(BatchValidationError) as caught:
        engine.records.create_many(
            "line", [{"label": "a", "discount": 0, "quantity": 1, "unit_price": "1"}, {"label": "b", "discount": 0}],
            SYSTEM_ACTOR,
        )
    assert list(caught.value.rows) == [1]
    assert_clear_expression_error(caught.value.rows[1]["total"][0], "total")


# -- mandatory_when ----------------------------------------------------------------------------


@pytest.mark.parametrize(("discount", "reason", "expected"), [
    (10, None, None),  # the condition's boundary: not above 10
    (11, None, "mandatory"),  # one past it
    (11, "Loyal customer", None),
    (None, None, "expression"),  # `None > 10` cannot be evaluated
    (None, "Loyal customer", None),  # a field with a value is not checked
])
def test_mandatory_when_that_cannot_be_evaluated_is_a_clear_error(engine, discount, reason, expected) -> None:
    values = {"label": "Nuts", "quantity": 1, "unit_price": "1", "discount": discount, "discount_reason": reason}
    if expected is None:
        assert engine.records.create("line", values, SYSTEM_ACTOR)["discount"] == discount
        return
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("line", values, SYSTEM_ACTOR)
    (error,) = caught.value.errors["discount_reason"]
    assert error.rule == expected
    if expected == "expression":
        assert_clear_expression_error(error, "discount_reason")


def test_an_update_meets_the_same_rule(engine) -> None:
    record = line(engine, quantity=1, unit_price="1")
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("line", record["id"], {"discount": None}, SYSTEM_ACTOR, version=record["version"])
    assert_clear_expression_error(caught.value.errors["discount_reason"][0], "discount_reason")


# -- workflow: set and create actions, on_enter, guards ----------------------------------------


@pytest.mark.parametrize("transition", ["price", "bill"])
def test_a_computed_value_of_a_transition_is_a_clear_error_of_its_field(engine, transition) -> None:
    record = line(engine, total="5")  # given: no default needed
    with pytest.raises(RecordValidationError) as caught:
        engine.records.transition("line", record["id"], transition, SYSTEM_ACTOR, version=record["version"])
    assert list(caught.value.errors) == ["total"]
    assert_clear_expression_error(caught.value.errors["total"][0], "total")
    assert engine.records.get("line", record["id"])["status"] == "open"


def test_a_create_action_names_the_field_of_the_record_it_creates(engine) -> None:
    record = line(engine, label=None, total="5")
    with pytest.raises(RecordValidationError) as caught:
        engine.records.transition("line", record["id"], "note", SYSTEM_ACTOR, version=record["version"])
    assert caught.value.entity == "line_note"
    assert_clear_expression_error(caught.value.errors["subject"][0], "subject")
    assert engine.records.count("line_note") == 0


def test_the_same_actions_succeed_with_their_values(engine) -> None:
    record = line(engine, quantity=2, unit_price="3")
    priced = engine.records.transition("line", record["id"], "price", SYSTEM_ACTOR, version=record["version"])
    assert (priced["status"], str(priced["total"])) == ("priced", "6.00")
    other = line(engine, quantity=2, unit_price="3")
    engine.records.transition("line", other["id"], "note", SYSTEM_ACTOR, version=other["version"])
    assert engine.records.count("line_note") == 1


@pytest.mark.parametrize(("quantity", "passes"), [(None, False), (0, False), (1, True)])
def test_a_guard_that_cannot_be_evaluated_is_not_met_and_says_so_in_its_own_words(engine, quantity, passes) -> None:
    record = line(engine, total="5", quantity=quantity)
    if passes:
        moved = engine.records.transition("line", record["id"], "check", SYSTEM_ACTOR, version=record["version"])
        assert moved["status"] == "checked"
        return
    with pytest.raises(TransitionError) as caught:
        engine.records.transition("line", record["id"], "check", SYSTEM_ACTOR, version=record["version"])
    assert caught.value.reason == "guard"
    assert caught.value.message("en") == "A line needs a quantity above zero"
    assert caught.value.message("fr") == "Une ligne doit avoir une quantité supérieure à zéro"


def test_the_error_survives_a_copy_and_a_pickle(engine, caplog) -> None:
    import copy
    import pickle

    with pytest.raises(RecordValidationError) as caught:
        line(engine)
    (error,) = caught.value.errors["total"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="engine.records.validation"):
        for again in (copy.copy(error), pickle.loads(pickle.dumps(error))):
            assert (again.field, again.rule, again.message("fr")) == (error.field, error.rule, error.message("fr"))
    assert caplog.records == []  # logged once, when it happened
