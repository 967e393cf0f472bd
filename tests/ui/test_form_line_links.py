"""Lines whose owned entity has every kind of column (tests/ui/trips_pack): a date, a choice, a
boolean, a link and a `links` edited with a picker inside its cell; the count rules of the
whole value; and the roles that make a lines or links characteristic read-only or hidden."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

from test_form_collections import as_list, form_data, row_keys
from test_forms import text

TRIPS = Path(__file__).resolve().parent / "trips_pack"
PASSWORD = "correct horse battery"


def make_app(database_url: str, **settings: Any) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, TRIPS], **(settings or PAGES_WITHOUT_LOGIN)})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    yield app
    app.extensions["ossature"].dispose()


def contacts(engine: Engine) -> dict[str, int]:
    return {
        last: engine.records.create("contact", {"first_name": first, "last_name": last}, SYSTEM_ACTOR)["id"]
        for first, last in (("Ann", "Durand"), ("Bob", "Martin"), ("Cid", "Petit"))
    }


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    return contacts(app.extensions["ossature"])


def new_trip_form(client: FlaskClient, legs: dict[str, dict[str, Any]], **values: Any) -> dict[str, Any]:
    data = form_data(text(client.get("/trip/new")))
    data.update({"name": "Alps", **values, "legs": list(legs)})
    for row, cells in legs.items():
        data.update({f"legs-{row}-{name}": value for name, value in cells.items()})
    return data


def test_the_columns_are_the_owned_entitys_form_fields_with_a_picker_in_the_links_cell(app: Flask) -> None:
    page = text(app.test_client().get("/trip/new"))
    heads = [h.strip() for h in re.findall(r'<th scope="col" class="line-col[^"]*">([^<]*)', page)]
    assert heads == ["Day", "Mode", "Paid", "Host", "Travellers"]  # not the on-demand note
    template = re.search(r"<template\b.*?</template>", page, re.S)[0]
    for name in ("legs-__row__-day", "legs-__row__-mode", "legs-__row__-paid", "legs-__row__-host",
                 "legs-__row__-travellers-_find"):
        assert f'name="{name}"' in template
    assert 'data-picker="legs-__row__-travellers"' in template
    assert "From 1 to 4 lines." in page and "At most 2 records." in page


def test_a_trip_is_created_with_every_kind_of_cell(app: Flask, people: dict[str, int]) -> None:
    client: FlaskClient = app.test_client()
    data = new_trip_form(client, {
        "n1": {"day": "2027-03-01", "mode": "train", "paid": "true", "host": str(people["Durand"]),
               "travellers": [str(people["Martin"])], "travellers-_find": "Petit"},
        "n2": {"day": "2027-03-02", "mode": "", "host": ""},  # paid unticked: not posted
    }, guides=[str(people["Durand"])])

    response = client.post("/trip/new", data=data)

    assert response.status_code == 303, text(response)
    trip = app.extensions["ossature"].records.get("trip", int(re.search(r"/trip/(\d+)", response.headers["Location"])[1]))
    first, second = trip["legs"]
    assert (str(first["day"]), first["mode"], first["paid"], first["host"]) == ("2027-03-01", "train", True, people["Durand"])
    assert first["travellers"] == sorted([people["Martin"], people["Petit"]])
    assert (str(second["day"]), second["mode"], second["paid"], second["travellers"]) == ("2027-03-02", None, False, [])
    assert trip["guides"] == [people["Durand"]]

    # shown again: each cell holds its value; posted back untouched, nothing changes
    page = text(client.get(f"/trip/{trip['id']}"))
    again = form_data(page)
    assert again["legs-0-mode"] == "train" and again["legs-0-paid"] == "true" and again["legs-0-host"] == str(people["Durand"])
    assert sorted(as_list(again["legs-0-travellers"])) == sorted([str(people["Martin"]), str(people["Petit"])])
    assert "Petit Cid" in page or "Cid Petit" in page
    response = client.post(f"/trip/{trip['id']}", data=again)
    assert response.status_code == 303 and "unchanged=1" in response.headers["Location"]

    # only a line's members changed (a chip unticked): saved, the line kept
    again["legs-0-travellers"] = ["", str(people["Petit"])]
    response = client.post(f"/trip/{trip['id']}", data=again)
    assert response.status_code == 303 and "saved=1" in response.headers["Location"]
    saved = app.extensions["ossature"].records.get("trip", trip["id"])
    assert saved["legs"][0]["travellers"] == [people["Petit"]] and saved["legs"][0]["id"] == first["id"]


def test_too_many_travellers_in_a_line_are_refused_at_that_cell(app: Flask, people: dict[str, int]) -> None:
    client: FlaskClient = app.test_client()
    three = [str(i) for i in people.values()]
    data = new_trip_form(client, {"n1": {"day": "2027-03-01"}, "n2": {"day": "2027-03-02", "travellers": three}})

    response = client.post("/trip/new", data=data)

    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="err-legs-n2-travellers" role="alert"><li>[^<]*2', page)
    assert 'href="#f-legs-n2-travellers">Legs, line 2 › Travellers</a>' in page
    assert sorted(as_list(form_data(page)["legs-n2-travellers"])) == sorted(three)
    data["legs-n2-travellers"] = three[:2]
    assert client.post("/trip/new", data=data).status_code == 303


def test_fewer_lines_than_the_minimum_are_refused_at_the_field(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    data = new_trip_form(client, {})
    data["legs"] = ""
    response = client.post("/trip/new", data=data)
    assert response.status_code == 422 and 'id="err-legs"' in text(response)
    assert 'href="#f-legs">Legs</a>' in text(response)


def test_a_missing_cell_value_of_a_new_line_is_refused_at_its_cell(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    response = client.post("/trip/new", data=new_trip_form(client, {"n1": {"day": "", "mode": "coach"}}))
    page = text(response)
    assert response.status_code == 422 and 'id="err-legs-n1-day"' in page
    assert row_keys(page, "legs") == ["n1"] and form_data(page)["legs-n1-mode"] == "coach"


@pytest.mark.parametrize("role", ["trip_viewer", "trip_hider"])
def test_roles_that_protect_the_collections_get_no_editor_and_cannot_change_them(
    database_url: str, role: str
) -> None:
    app = make_app(database_url, SECRET_KEY="t", TESTING=True)
    engine: Engine = app.extensions["ossature"]
    try:
        Accounts(engine).migrate()
        Accounts(engine).create_user("val", "Val", PASSWORD, [role])
        people = contacts(engine)
        trip = engine.records.create("trip", {
            "name": "Lakes", "guides": [people["Durand"]], "legs": [{"day": "2027-05-01", "mode": "coach"}],
        }, SYSTEM_ACTOR)
        client = app.test_client()
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        client.post("/login", data={"username": "val", "password": PASSWORD, "csrf_token": token})

        page = text(client.get(f"/trip/{trip['id']}"))
        assert 'name="legs"' not in page and 'name="guides"' not in page and "lines-editor" not in page
        if role == "trip_viewer":  # read-only: shown as values, the lines as a table
            assert re.search(r'id="f-guides"[^>]*>[^<]*Durand', page)
            table = re.search(r'<div class="control lines-readonly" id="f-legs">(.*?)</table>', page, re.S)
            assert table is not None
            cells = re.findall(r'<td class="line-cell">([^<]*)</td>', table[1])
            assert cells[1] == "Coach" and "2027" in cells[0] and len(cells) == 5
        else:
            assert 'id="f-guides"' not in page and 'id="f-legs"' not in page
        data = form_data(page)
        data.update({"name": "Lakes and hills", "legs": ["n1"], "legs-n1-day": "2027-06-01", "guides": [str(people["Martin"])]})
        assert client.post(f"/trip/{trip['id']}", data=data).status_code == 303
        saved = engine.records.get("trip", trip["id"])
        assert saved["name"] == "Lakes and hills"
        assert saved["guides"] == trip["guides"] and saved["legs"] == trip["legs"]
    finally:
        engine.dispose()


def test_a_trip_page_costs_as_many_statements_for_more_lines(app: Flask, people: dict[str, int]) -> None:
    """Cells' links, members' titles and options are read once per target, not once per line."""
    engine: Engine = app.extensions["ossature"]
    ids = list(people.values())
    trips = [
        engine.records.create("trip", {"name": f"T{count}", "guides": ids[:1], "legs": [
            {"day": f"2027-04-0{i + 1}", "host": ids[i % 3], "travellers": [ids[(i + 1) % 3], ids[(i + 2) % 3]]}
            for i in range(count)
        ]}, SYSTEM_ACTOR)["id"] for count in (1, 4)
    ]
    client: FlaskClient = app.test_client()
    counts = []
    for trip in trips:
        client.get(f"/trip/{trip}")  # warm caches (layouts, title templates)
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(engine.db, "before_cursor_execute", listener)
        try:
            page = text(client.get(f"/trip/{trip}"))
        finally:
            sa.event.remove(engine.db, "before_cursor_execute", listener)
        assert len(row_keys(page, "legs")) in (1, 4)
        counts.append(len(statements))
    assert counts[0] == counts[1]
