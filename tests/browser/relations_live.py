"""Browser fixtures over the relations test pack (bookings with meal lines and attendees), for
the lines editor and the member picker: one served app per test module, its own database."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from live_server import serving

import metamodel
from engine import SYSTEM_ACTOR
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

from conftest import TIMEOUT_MS, VIEWPORT

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"
QUOTES = Path(__file__).resolve().parents[1] / "api" / "relations_pack"
"""Quotes with reviewers (links, 1 to 3), watchers (links, at most 2) and items (lines, at most 3)."""
TRIPS = Path(__file__).resolve().parents[1] / "ui" / "trips_pack"
"""Trips whose legs (lines) have travellers (links): a picker inside a line's cell."""


@pytest.fixture(scope="module")
def relations_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    database = tmp_path_factory.mktemp("relations") / "live.db"
    app = create_app({
        "DATABASE_URL": f"sqlite:///{database}", "PACKS": [metamodel.BASE_PACK, RELATIONS, QUOTES, TRIPS], **PAGES_WITHOUT_LOGIN,
    })
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture(scope="module")
def relations_url(relations_app: Flask) -> Iterator[str]:
    with serving(relations_app, "relations-live") as url:
        yield url


@pytest.fixture(scope="module")
def world(relations_app: Flask) -> dict[str, Any]:
    """A room, three contacts and a booking with three meals and two attendees."""
    engine = relations_app.extensions["ossature"]
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    country = create("country", {"name": "France", "code": "FR"})
    region = create("region", {"name": "Auvergne", "country": country})
    site = create("site", {"name": "Vichy", "city": "Vichy", "region": region})
    mode = engine.model.value_list("room_access").values[0].code
    room = create("room", {"name": "Salon", "site": site, "access_mode": mode, "capacity": 8})
    people = {
        name: create("contact", {"first_name": first, "last_name": name})
        for first, name in (("Ann", "Durand"), ("Bob", "Martin"), ("Cid", "Petit"), ("Dora", "Petitjean"))
    }
    return {"room": room, "people": people, "engine": engine}


@pytest.fixture
def rpage(browser: Any, relations_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    fresh = context.new_page()
    try:
        yield fresh
    finally:
        context.close()
