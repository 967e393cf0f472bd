"""The workflow `copy` action in the engine: a quote revised into a new quote (its lines copied,
`values` overriding) and accepted into a purchase (another entity, its lines under another name,
the moving record linked to the new one), with what is not copied (unique, read-only, hidden,
status) and the bounds of the target's lines (at most `max`, one past refused, nothing written)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.core.context import Actor
from engine import PermissionDenied
from engine.core.errors import RecordValidationError

from collections_world import statements  # noqa: F401  (a fixture: the SQL statements sent)

COPY_PACK = Path(__file__).resolve().parent / "copy_pack"


@pytest.fixture(scope="module")
def copy_model() -> metamodel.model.Model:
    return metamodel.load_model([COPY_PACK])


@pytest.fixture
def eng(make_engine, copy_model) -> Engine:
    return make_engine(copy_model)


def actor(eng: Engine, name: str, role: str) -> Actor:
    user_id = eng.records.create("user", {"username": name}, SYSTEM_ACTOR)["id"]
    return Actor(user_id=user_id, username=name, roles=frozenset({role}))


def find(eng: Engine, entity: str, **equals: Any) -> list[dict[str, Any]]:
    """The live records of `entity` with these values, whole (lines and members too)."""
    with eng.records.reading(SYSTEM_ACTOR) as tx:
        found = tx.find(entity, **equals)
    return [eng.records.get(entity, r["id"]) for r in found]


def sent_quote(eng: Engine, who: Actor, lines: int = 2, **values: Any) -> dict[str, Any]:
    fields = {"number": "Q-1", "title": "Boilers", "secret": "margin 40%", **values,
              "lines": [{"product": f"P{i}", "quantity": i + 1, "unit_price": Decimal("9.50")} for i in range(lines)]}
    created = eng.records.create("quote", fields, SYSTEM_ACTOR)
    return eng.records.transition("quote", created["id"], "send", who)


def test_revise_copies_values_and_lines_into_a_new_draft(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    follower = actor(eng, "fay", "viewer")
    quote = sent_quote(eng, seller, followers=[follower.user_id])

    eng.records.transition("quote", quote["id"], "revise", seller)

    (revision,) = find(eng, "quote", previous=quote["id"])
    source = eng.records.get("quote", quote["id"])
    assert revision["id"] != quote["id"]
    assert revision["status"] == "draft"                    # the initial status, not the source's
    assert revision["revision"] == 2                        # `values` override the copy
    assert revision["title"] == "Boilers"
    assert revision["followers"] == [follower.user_id]      # links members are copied
    assert revision["number"] is None                       # unique: not copied
    assert revision["sent_on"] is None                      # read-only: the workflow sets it
    assert revision["secret"] is None                       # hidden from the actor: not copied
    copied = [{k: line[k] for k in ("product", "quantity", "unit_price", "position")} for line in revision["lines"]]
    assert copied == [{k: line[k] for k in ("product", "quantity", "unit_price", "position")} for line in source["lines"]]
    assert {line["id"] for line in revision["lines"]}.isdisjoint(line["id"] for line in source["lines"])
    assert source["status"] == "refused" and len(source["lines"]) == 2   # the source keeps its lines


def test_a_copy_without_lines_makes_a_record_without_lines(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=0)

    eng.records.transition("quote", quote["id"], "revise", seller)

    (revision,) = find(eng, "quote", previous=quote["id"])
    assert eng.records.get("quote", revision["id"])["lines"] == []


def test_accept_copies_into_another_entity_and_links_it_back(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=3)        # the purchase's items: at most 3

    accepted = eng.records.transition("quote", quote["id"], "accept", seller)

    purchase = eng.records.get("purchase", accepted["purchase"])
    assert purchase["quote"] == quote["id"] and purchase["status"] == "open"
    assert purchase["title"] == "Boilers"           # string into text
    assert purchase["revision"] == Decimal(1)       # integer into decimal
    assert [(i["product"], i["quantity"], i["position"]) for i in purchase["items"]] == [
        ("P0", Decimal(1), 0), ("P1", Decimal(2), 1), ("P2", Decimal(3), 2)]
    assert "unit_price" not in purchase["items"][0]  # the purchase line has none


def test_one_line_more_than_the_target_takes_is_refused_and_nothing_is_written(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=4)

    with pytest.raises(RecordValidationError) as refused:
        eng.records.transition("quote", quote["id"], "accept", seller)

    assert refused.value.entity == "purchase" and "items" in refused.value.errors
    assert eng.records.get("quote", quote["id"])["status"] == "sent"
    assert find(eng, "purchase") == []


def test_the_most_lines_the_source_holds_are_copied(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=5)        # the quote's max

    eng.records.transition("quote", quote["id"], "revise", seller)

    (revision,) = find(eng, "quote", previous=quote["id"])
    assert [line["product"] for line in eng.records.get("quote", revision["id"])["lines"]] == [
        "P0", "P1", "P2", "P3", "P4"]


def test_an_actor_who_may_not_create_the_target_cannot_run_the_copy(eng: Engine) -> None:
    viewer = actor(eng, "vic", "viewer")
    quote = sent_quote(eng, viewer)

    with pytest.raises(PermissionDenied):
        eng.records.transition("quote", quote["id"], "accept", viewer)

    assert eng.records.get("quote", quote["id"])["status"] == "sent"


def test_the_copy_writes_lines_in_one_insert(eng: Engine, statements: list[str]) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=5)
    statements.clear()

    eng.records.transition("quote", quote["id"], "revise", seller)

    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT") and "quote_line" in s]
    assert len(inserts) == 1, inserts


# -- a plain copy of a record (RecordService.copy) ---------------------------------------------
def test_a_record_is_copied_with_its_lines_values_overriding(eng: Engine) -> None:
    seller = actor(eng, "sam", "seller")
    quote = sent_quote(eng, seller, lines=2)

    copy = eng.records.copy("quote", quote["id"], seller, {"number": "Q-2", "revision": "3"})

    source = eng.records.get("quote", quote["id"])
    assert (copy["number"], copy["revision"], copy["status"], copy["title"]) == ("Q-2", 3, "draft", "Boilers")
    assert "secret" not in copy and eng.records.get("quote", copy["id"])["secret"] is None   # hidden from the seller
    assert copy["sent_on"] is None
    assert [(line["product"], line["quantity"]) for line in copy["lines"]] == [
        (line["product"], line["quantity"]) for line in source["lines"]]
    assert source["version"] == quote["version"]              # the source is not changed


def test_copying_needs_the_right_to_create(eng: Engine) -> None:
    viewer = actor(eng, "vic", "viewer")
    quote = sent_quote(eng, viewer)

    with pytest.raises(PermissionDenied):
        eng.records.copy("quote", quote["id"], viewer)

    assert len(find(eng, "quote")) == 1
