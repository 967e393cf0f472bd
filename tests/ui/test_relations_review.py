"""What a user's review of the relation pages (base and sales packs, demo data) found and what
was fixed: records sharing a title told apart (picker, chips, selects, filters, mass update),
rows added in a lines editor start with the defaults, the history says what a change of lines or
members did, the list's export menu offers the lines, a mass update of members adds or removes."""

from __future__ import annotations

import html
import re

from flask import Flask

from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts

from test_form_collections import app, world  # noqa: F401  (fixtures)
from test_record_copy import booking, quote, roles_app  # noqa: F401  (fixtures)
from test_related_panels import PASSWORD, log_in


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
