"""The "Copy" button of a record's page (ui_renderer/records/form.py `copy`): shown to whoever may
create records of the entity; its POST creates the copy with its lines and members through
engine.records.copy and opens the new record's page saying where it came from; a copy the rules
refuse writes nothing and shows why on the source's page."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from ui_renderer import create_app
from ui_renderer.testing import FormClient

from test_form_collections import app, world  # noqa: F401  (fixtures)
from test_related_panels import PASSWORD, log_in

REPO = Path(__file__).resolve().parents[2]
SALES = REPO / "examples" / "packs" / "sales"
COPY_BUTTON = re.compile(r'<form method="post" action="(/\w+/\d+/copy)" class="copy-form">')


def make_app(database_url: str, packs: list[Path], settings: dict[str, Any]) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": packs, **settings})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    return app


@pytest.fixture
def booking(world: dict[str, Any]) -> dict[str, Any]:
    """A booking with two attendees and three meals (test_form_collections' world)."""
    return world["booking"]


def test_the_copy_makes_a_new_record_with_its_lines_and_members_and_opens_it(app: Flask, booking: dict) -> None:
    engine: Engine = app.extensions["ossature"]
    client = app.test_client()
    page = client.get(f"/booking/{booking['id']}").text
    assert COPY_BUTTON.search(page)[1] == f"/booking/{booking['id']}/copy"

    response = client.post(f"/booking/{booking['id']}/copy")

    assert response.status_code == 303
    new_id = int(re.fullmatch(rf"/booking/(\d+)\?copied={booking['id']}", response.location)[1])
    assert new_id != booking["id"] and engine.records.count("booking") == 2
    copy = engine.records.get("booking", new_id)
    assert copy["subject"] == "Kick-off" and copy["room"] == booking["room"]
    assert sorted(copy["attendees"]) == sorted(booking["attendees"])
    assert [(m["dish"], m["quantity"]) for m in copy["meals"]] == [("Soup", 1), ("Cake", 2), ("Tea", 3)]
    assert {m["id"] for m in copy["meals"]}.isdisjoint(m["id"] for m in booking["meals"])  # new lines, not moved
    assert [m["dish"] for m in engine.records.get("booking", booking["id"])["meals"]] == ["Soup", "Cake", "Tea"]

    shown = client.get(response.location).text
    notice = re.search(r'<div class="notice notice-ok" role="status">\s*<p>(.*?)</p>', shown, re.S)[1]
    assert notice.startswith("Copied from “") and f'<a href="/booking/{booking["id"]}">Kick-off (Salon)</a>' in notice


def test_the_notice_speaks_french(app: Flask, booking: dict) -> None:
    client = app.test_client()
    location = client.post(f"/booking/{booking['id']}/copy").location
    page = client.get(location, headers={"Accept-Language": "fr"}).text
    assert "Copié depuis « <a href=" in page and ">Copier</button>" in page


def test_copying_a_record_that_does_not_exist_or_an_owned_entity_is_not_found(app: Flask, booking: dict) -> None:
    client = app.test_client()
    assert client.post("/booking/999/copy").status_code == 404
    assert client.post(f"/meal/{booking['meals'][0]['id']}/copy").status_code == 404
    assert client.get(f"/booking/{booking['id']}/copy").status_code == 405  # a copy is made by a POST only
    assert app.extensions["ossature"].records.count("booking") == 1


@pytest.fixture
def roles_app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url, [metamodel.BASE_PACK, SALES], {"SECRET_KEY": "t", "TESTING": True})
    Accounts(app.extensions["ossature"]).migrate()
    yield app
    app.extensions["ossature"].dispose()


def test_the_button_is_shown_only_to_who_may_create_and_the_post_obeys_the_same_rule(roles_app: Flask) -> None:
    """Support reads contacts but may not create them: no button, and the POST is refused (403)."""
    engine: Engine = roles_app.extensions["ossature"]
    accounts = Accounts(engine)
    sam = accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"], team="sales_france")
    accounts.create_user("sue", "Sue Support", PASSWORD, ["support"])
    contact = engine.records.create("contact", {"last_name": "Durand", "assigned_to": sam}, SYSTEM_ACTOR)["id"]

    seller = roles_app.test_client()
    log_in(seller, "sam")
    assert COPY_BUTTON.search(seller.get(f"/contact/{contact}").text)

    support = roles_app.test_client()
    log_in(support, "sue")
    page = support.get(f"/contact/{contact}")
    assert page.status_code == 200 and not COPY_BUTTON.search(page.text)
    refused = support.post(f"/contact/{contact}/copy")
    assert refused.status_code == 403 and "Traceback" not in refused.text
    assert engine.records.count("contact") == 1


@pytest.fixture
def quote(roles_app: Flask) -> dict[str, Any]:
    engine: Engine = roles_app.extensions["ossature"]
    product = engine.records.create("product", {"code": "AUDIT", "name": "Audit", "price": "1200"}, SYSTEM_ACTOR)["id"]
    roles_app.config["LOGIN_REQUIRED"] = False
    return engine.records.create("quote", {
        "number": "Q-1", "title": "Cellar heating", "lines": [{"product": product, "quantity": "2"}],
    }, SYSTEM_ACTOR)


def test_what_a_copy_cannot_take_is_asked_for_then_the_copy_is_made_with_it(roles_app: Flask, quote: dict) -> None:
    """A quote's number is its natural key, which a copy never takes, and it is mandatory: the
    copy asks for it (the source's shown to start from) instead of being refused."""
    engine: Engine = roles_app.extensions["ossature"]
    client = roles_app.test_client()

    asked = client.post(f"/quote/{quote['id']}/copy")

    assert asked.status_code == 200 and engine.records.count("quote") == 1
    assert re.search(r'<input type="text" id="f-number" name="number" value="Q-1"', asked.text)
    assert '<input type="hidden" name="_asked" value="number">' in asked.text and ">Copy</button>" in asked.text

    empty = client.post(f"/quote/{quote['id']}/copy", data={"_prompt": "1", "_asked": "number", "number": ""})
    assert empty.status_code == 422 and 'id="err-number"' in empty.text and engine.records.count("quote") == 1

    made = client.post(f"/quote/{quote['id']}/copy", data={"_prompt": "1", "_asked": "number", "number": "Q-2"})
    assert made.status_code == 303 and made.location.endswith(f"?copied={quote['id']}")
    copy = engine.records.get("quote", int(re.search(r"/quote/(\d+)", made.location)[1]))
    assert copy["number"] == "Q-2" and copy["title"] == "Cellar heating" and copy["status"] == "draft"
    assert [(line["product"], str(line["quantity"])) for line in copy["lines"]] == [
        (quote["lines"][0]["product"], "2.00")]


GADGETS = {
    "pack.yaml": "pack: gadgets\nversion: 1.0.0\n",
    "entities/gadget.yaml": """\
        entity: gadget
        label: {en: Gadget, fr: Gadget}
        plural: {en: Gadgets, fr: Gadgets}
        title: "{name}"
        characteristics:
          name: {type: string, label: {en: Name, fr: Nom}, mandatory: true}
          parts: {type: lines, entity: part, label: {en: Parts, fr: Pièces}}
        """,
    "entities/part.yaml": """\
        entity: part
        label: {en: Part, fr: Pièce}
        plural: {en: Parts, fr: Pièces}
        owned_by: gadget
        characteristics:
          serial: {type: string, label: {en: Serial, fr: Série}, mandatory: true, unique: true}
        """,
}


def test_a_copy_refused_for_what_the_actor_cannot_fill_writes_nothing_and_says_why(database_url: str, tmp_path: Path) -> None:
    """A part's serial is unique, so a copy cannot take it, and mandatory: the copied lines are
    refused, which no small form can fill, so the source's page says why."""
    for relative, content in GADGETS.items():
        path = tmp_path / "gadgets" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    app = make_app(database_url, [metamodel.BASE_PACK, tmp_path / "gadgets"], {"SECRET_KEY": "t", "TESTING": True})
    engine: Engine = app.extensions["ossature"]
    try:
        gadget = engine.records.create("gadget", {"name": "Widget", "parts": [{"serial": "S-1"}]}, SYSTEM_ACTOR)["id"]
        app.config["LOGIN_REQUIRED"] = False
        client = app.test_client()
        assert COPY_BUTTON.search(client.get(f"/gadget/{gadget}").text)

        response = client.post(f"/gadget/{gadget}/copy")

        assert response.status_code == 409 and "Traceback" not in response.text
        problem = re.search(r'<div class="notice notice-error" role="alert"><p>(.*?)</p>', response.text, re.S)[1]
        assert problem == "The copy was not made: Parts, line 1 › Serial: This field is mandatory."
        assert engine.records.count("gadget") == 1
    finally:
        engine.dispose()
