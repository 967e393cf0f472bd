"""The list of records to clean up after a rule was made stricter (issue: tighten a rule)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask

import metamodel
from engine import SYSTEM_ACTOR, Actor
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN

ANN = Actor(user_id=1, username="ann", system=True)
SHORTER_CITY = "extends: contact\ncharacteristics:\n  city: {max_length: 5}\n"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(tmp_path),
                      **PAGES_WITHOUT_LOGIN})
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature.live"].close()


def contact(app: Flask, city: str) -> int:
    return app.extensions["ossature"].records.create("contact", {"last_name": city, "city": city}, SYSTEM_ACTOR)["id"]


def tighten(app: Flask) -> None:
    live = app.extensions["ossature.live"]
    live.installation.apply_overlay({"entities/contact.yaml": SHORTER_CITY}, ANN, "shorter cities")
    assert live.refresh()


def test_records_breaking_a_tightened_rule_are_listed_until_corrected(app: Flask) -> None:
    five, six = contact(app, "Paris"), contact(app, "Nantes")  # exactly the new maximum; one past it
    client = app.test_client()
    assert 'id="cleanup-link"' not in client.get("/contact/").text
    tighten(app)

    assert 'id="cleanup-link"' in client.get("/contact/").text
    page = html.unescape(client.get("/contact/cleanup").text)
    assert f"/contact/{six}" in page and f"/contact/{five}" not in page
    assert "Business city" in page and "Nantes" in page and "maximum length" in page
    french = html.unescape(client.get("/contact/cleanup?lang=fr").text)
    assert "Contacts à corriger" in french and "Ville professionnelle" in french

    app.extensions["ossature"].records.update("contact", six, {"city": "Nant"}, SYSTEM_ACTOR)
    assert "Nothing to clean up" in client.get("/contact/cleanup").text
    assert 'id="cleanup-link"' not in client.get("/contact/").text


def test_the_rule_applies_to_new_edits_only(app: Flask) -> None:
    from engine import RecordValidationError

    six = contact(app, "Nantes")
    tighten(app)
    records = app.extensions["ossature"].records
    assert records.get("contact", six)["city"] == "Nantes"  # kept as it was
    with pytest.raises(RecordValidationError, match="city"):
        records.update("contact", six, {"city": "Bordeaux"}, SYSTEM_ACTOR)


def test_an_unknown_entity_is_not_found(app: Flask) -> None:
    assert app.test_client().get("/nonsense/cleanup").status_code == 404
