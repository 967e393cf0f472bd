"""A form showing `links` and `lines` characteristics: their members' titles and the count of
lines are shown read-only (their editors are not on the form yet), and saving the rest of the
record leaves them as they are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

from test_forms import form_data, text

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, RELATIONS], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def booking(app: Flask) -> dict:
    engine: Engine = app.extensions["ossature"]
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    country = create("country", {"name": "France", "code": "FR"})
    region = create("region", {"name": "Auvergne", "country": country})
    site = create("site", {"name": "Vichy", "city": "Vichy", "region": region})
    mode = engine.model.value_list("room_access").values[0].code
    room = create("room", {"name": "Salon", "site": site, "access_mode": mode, "capacity": 8})
    ann = create("contact", {"last_name": "Durand", "first_name": "Ann"})
    bob = create("contact", {"last_name": "Martin", "first_name": "Bob"})
    return engine.records.create("booking", {
        "subject": "Kick-off", "room": room, "attendees": [ann, bob], "badge": True,
        "meals": [{"dish": "Soup"}, {"dish": "Cake", "quantity": 2}],
    }, SYSTEM_ACTOR)


@pytest.mark.parametrize("lang, lines", [("en", "2 line(s)"), ("fr", "2 ligne(s)")])
def test_members_and_lines_are_shown_read_only(app: Flask, booking: dict, lang: str, lines: str) -> None:
    page = text(app.test_client().get(f"/booking/{booking['id']}?lang={lang}"))
    attendees = re.search(r'id="f-attendees"[^>]*>([^<]*)<', page)
    meals = re.search(r'id="f-meals"[^>]*>([^<]*)<', page)
    assert attendees is not None and "Durand" in attendees[1] and "Martin" in attendees[1]
    assert meals is not None and meals[1] == lines
    assert 'name="attendees"' not in page and 'name="meals"' not in page


def test_saving_the_form_keeps_the_members_and_lines(app: Flask, booking: dict) -> None:
    client: FlaskClient = app.test_client()
    engine: Engine = app.extensions["ossature"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["subject"] = "Kick-off, moved"

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 303 and "saved=1" in response.headers["Location"]
    saved = engine.records.get("booking", booking["id"])
    assert saved["subject"] == "Kick-off, moved"
    assert saved["attendees"] == booking["attendees"] and saved["meals"] == booking["meals"]


def test_the_new_form_offers_no_input_for_them(app: Flask) -> None:
    page = text(app.test_client().get("/booking/new"))
    assert 'name="attendees"' not in page and 'name="meals"' not in page
