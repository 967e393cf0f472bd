"""The "Copy" button of a record's page (ui_renderer/records/form.py `copy`): shown to whoever may
create records of the entity; its POST creates the copy with its lines and members through
engine.records.copy and opens the new record's page saying where it came from; a copy the rules
refuse writes nothing and shows why on the source's page."""

from __future__ import annotations

import html
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


# -- review fixes on the same pages ---------------------------------------------------------------


def test_a_line_added_in_the_page_starts_with_the_defaults_of_the_owned_entity(roles_app: Flask, quote: dict) -> None:
    """The <template> row the page's script adds carries a quote line's literal defaults
    (quantity 1, discount 0), as a row added without JavaScript does; not an empty row."""
    page = roles_app.test_client().get(f"/quote/{quote['id']}").text
    template = re.search(r'<template class="line-template">(.*?)</template>', page, re.S)[1]
    assert re.search(r'name="lines-__row__-quantity"[^>]*value="1(\.00)?"|value="1(\.00)?"[^>]*name="lines-__row__-quantity"', template)
    assert re.search(r'name="lines-__row__-discount"[^>]*value="0(\.00)?"|value="0(\.00)?"[^>]*name="lines-__row__-discount"', template)
    assert re.search(r'name="lines-__row__-description"[^>]*value=""', template)


def test_suggestions_sharing_a_title_are_told_apart_by_their_number(app: Flask, world: dict) -> None:
    """Two contacts named Margaux Martin: the picker's suggestions (and chips) read "Margaux
    Martin #<id>" for each; a title found once stays bare."""
    engine: Engine = app.extensions["ossature"]
    twins = [engine.records.create("contact", {"last_name": "Martin", "first_name": "Margaux"}, SYSTEM_ACTOR)["id"]
             for _ in range(2)]
    found = app.test_client().get("/contact/lookup?q=martin").get_json()
    assert sorted((m["id"], m.get("label")) for m in found if m["title"] == "Margaux Martin") == [
        (twins[0], f"Margaux Martin #{twins[0]}"), (twins[1], f"Margaux Martin #{twins[1]}")]
    assert [m for m in found if m["title"] == "Bob Martin"] == [{"id": world["bob"], "title": "Bob Martin"}]


def test_selects_and_list_filters_tell_apart_records_sharing_a_title(app: Flask, world: dict) -> None:
    """Two contacts named Margaux Martin: the bookings list's attendees filter and a contact's
    link select list them as "Margaux Martin #<id>"; a title found once stays bare."""
    engine: Engine = app.extensions["ossature"]
    twins = [engine.records.create("contact", {"last_name": "Martin", "first_name": "Margaux"}, SYSTEM_ACTOR)["id"]
             for _ in range(2)]
    client = app.test_client()
    listed = client.get("/booking/").text
    filter_select = re.search(r"<select[^>]*name=\"f_attendees\".*?</select>", listed, re.S)[0]
    for twin in twins:
        assert f'<option value="{twin}">Margaux Martin #{twin}</option>' in filter_select
    assert f'<option value="{world["bob"]}">Bob Martin</option>' in filter_select
    form = client.get("/opportunity/new").text
    contact_select = re.search(r'<select[^>]*name="contact".*?</select>', form, re.S)[0]
    for twin in twins:
        assert f'<option value="{twin}">Margaux Martin #{twin}</option>' in contact_select
    assert f'<option value="{world["bob"]}">Bob Martin</option>' in contact_select


def test_the_history_says_what_a_change_did_to_the_lines(app: Flask, booking: dict) -> None:
    """Not "lines changed → lines changed": how many lines were added, removed, changed or moved."""
    engine: Engine = app.extensions["ossature"]
    soup, cake, tea = booking["meals"]
    engine.records.update("booking", booking["id"], {"meals": [
        {"id": tea["id"]}, {"id": soup["id"], "quantity": 4}, {"dish": "Coffee"}, {"dish": "Juice"},
    ]}, SYSTEM_ACTOR)  # the cake removed, the tea moved first, the soup's quantity changed, two added

    page = app.test_client().get(f"/booking/{booking['id']}/history").text
    row = re.search(r'<tr><th scope="row">Meals</th>(.*?)</tr>', page, re.S)[1]
    assert re.fullmatch(r'<td class="new" colspan="3">2 added, 1 removed, (\d) changed or moved</td>', row)
    assert "lines changed" not in page

    french = app.test_client().get(f"/booking/{booking['id']}/history", headers={"Accept-Language": "fr"}).text
    assert "2 ajoutée(s), 1 supprimée(s)" in french


def test_the_history_names_who_joined_and_who_left_a_links_characteristic(app: Flask, booking: dict, world: dict) -> None:
    """Not the whole sets as record numbers ("#4, #21, …" struck, then "#21, …"): the members
    added and removed, by title."""
    engine: Engine = app.extensions["ossature"]
    engine.records.update("booking", booking["id"], {"attendees": [world["bob"], world["cid"]]}, SYSTEM_ACTOR)

    page = app.test_client().get(f"/booking/{booking['id']}/history").text
    row = re.search(r'<tr><th scope="row">Attendees</th>(.*?)</tr>', page, re.S)[1]
    assert row == '<td class="new" colspan="3">added: Cid Petit · removed: Ann Durand</td>'
    french = app.test_client().get(f"/booking/{booking['id']}/history", headers={"Accept-Language": "fr"}).text
    assert "ajout : Cid Petit · retrait : Ann Durand" in french


def test_the_list_export_menu_offers_the_lines_of_the_listed_records(roles_app: Flask, quote: dict) -> None:
    """The quotes list offers "Lines: Lines (CSV)", the lines import's file, with the list's
    arguments; its download holds the lines of the quotes listed."""
    client = roles_app.test_client()
    page = client.get("/quote/?f_status=draft&sort=number").text
    link = re.search(r'<a class="export-link" href="([^"]+)" data-format="lines" download>([^<]+)</a>', page)
    assert link[2] == "Lines: Lines (CSV)"
    url = html.unescape(link[1])
    assert url.startswith("/quote/export-lines/lines?") and "f_status=draft" in url and "sort=number" in url
    download = client.get(url)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.text.lstrip("\ufeff").splitlines()[1:] == [f"#{quote['id']},AUDIT,,2.00,1200.00,0.00"]

    french = client.get("/quote/?lang=fr").text
    assert 'data-format="lines" download>Lignes : Lignes (CSV)</a>' in french


def test_no_lines_download_for_who_may_not_export(roles_app: Flask) -> None:
    """Support reads orders but may not export them: no export menu at all, lines neither."""
    engine: Engine = roles_app.extensions["ossature"]
    Accounts(engine).create_user("sue", "Sue Support", PASSWORD, ["support"])
    client = roles_app.test_client()
    log_in(client, "sue")
    page = client.get("/sales_order/")
    assert page.status_code == 200 and 'data-format="lines"' not in page.text


def test_a_mass_update_adds_or_removes_members_and_says_which_it_will_do(app: Flask, world: dict) -> None:
    """The list's mass update of a `links` offers add (first), remove and replace; the preview
    keeps the choice; adding and removing leave the other members of each record alone."""
    engine: Engine = app.extensions["ossature"]
    other = engine.records.create("booking", {"subject": "Review", "room": world["room"], "attendees": [world["bob"]]},
                                  SYSTEM_ACTOR)["id"]
    ids = [world["booking"]["id"], other]
    client = app.test_client()
    page = client.get("/booking/?tab=all").text
    mode = re.search(r'<select name="mode_attendees" id="mode-attendees">(.*?)</select>', page, re.S)[1]
    assert re.findall(r'<option value="(\w+)"( selected)?>', mode) == [("add", " selected"), ("remove", ""), ("replace", "")]

    form = {"tab": "all", "id": [str(i) for i in ids], "set": ["attendees"], "value_attendees": [str(world["cid"])]}
    preview = client.post("/booking/mass-update", data={**form, "mode_attendees": "add"})
    assert preview.status_code == 200 and '<option value="add" selected>Add these</option>' in preview.text
    client.post("/booking/mass-update/apply", data={**form, "mode_attendees": "add"})
    members = lambda: [sorted(engine.records.get("booking", i)["attendees"]) for i in ids]  # noqa: E731
    assert members() == [sorted([world["ann"], world["bob"], world["cid"]]), sorted([world["bob"], world["cid"]])]

    client.post("/booking/mass-update/apply", data={**form, "value_attendees": [str(world["bob"])], "mode_attendees": "remove"})
    assert members() == [sorted([world["ann"], world["cid"]]), [world["cid"]]]

    client.post("/booking/mass-update/apply", data={**form, "value_attendees": [str(world["ann"])], "mode_attendees": "replace"})
    assert members() == [[world["ann"]], [world["ann"]]]

    bad = client.post("/booking/mass-update/apply", data={**form, "mode_attendees": "drop table"})  # unknown: replace
    assert bad.status_code in (200, 303) and members() == [[world["cid"]], [world["cid"]]]


def test_the_chips_of_members_sharing_a_title_are_told_apart(app: Flask, world: dict) -> None:
    engine: Engine = app.extensions["ossature"]
    twins = [engine.records.create("contact", {"last_name": "Martin", "first_name": "Margaux"}, SYSTEM_ACTOR)["id"]
             for _ in range(2)]
    engine.records.update("booking", world["booking"]["id"], {"attendees": [*twins, world["bob"]]}, SYSTEM_ACTOR)
    page = app.test_client().get(f"/booking/{world['booking']['id']}").text
    chips = re.findall(r'<input type="checkbox" name="attendees" value="(\d+)" checked> <span>([^<]+)</span>', page)
    assert sorted(chips) == sorted([(str(t), f"Margaux Martin #{t}") for t in twins] + [(str(world["bob"]), "Bob Martin")])
