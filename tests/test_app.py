"""The web app: the home page in both languages and the /health probe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

import metamodel
from engine import SYSTEM_ACTOR
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient


def build_app(database_url: str, *, migrate: bool = True) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    if migrate:
        app.extensions["ossature"].migrate()
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def unreachable_app(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}", migrate=False)
    yield app
    app.extensions["ossature"].dispose()


def row_count(html: str, plural: str) -> str:
    match = re.search(rf'<th scope="row"><a href="[^"]+">{plural}</a></th>\s*<td><code>\w+</code></td>\s*<td class="number">([^<]*)</td>', html)
    assert match, f"no row for {plural}"
    return match.group(1)


def add_users(app: Flask, how_many: int) -> None:
    rows = [{"username": f"user{i}", "display_name": f"User {i}"} for i in range(how_many)]
    app.extensions["ossature"].records.create_many("user", rows, SYSTEM_ACTOR)


# -- home -------------------------------------------------------------------------------------


def test_home_lists_every_entity_in_english_with_counts(app: Flask, client: FlaskClient) -> None:
    add_users(app, 2)
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    for entity in app.extensions["ossature"].model.entities.values():
        assert f'lang=en">{escape(entity.plural.en)}</a></th>' in html
    assert row_count(html, "Users") == "2"
    assert row_count(html, "Leads") == "0"
    assert response.headers["Content-Language"] == "en"


def test_home_follows_accept_language_french(app: Flask, client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    for entity in app.extensions["ossature"].model.entities.values():
        assert f'/{entity.name}/?lang=fr">{escape(entity.plural.fr)}</a></th>' in html
    assert "Pistes" in html and "Entités" in html


def test_lang_parameter_wins_over_accept_language(client: FlaskClient) -> None:
    html = client.get("/?lang=fr", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in html and "Pistes" in html


def test_unknown_lang_parameter_falls_back_to_accept_language(client: FlaskClient) -> None:
    html = client.get("/?lang=de", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in html


def test_home_defaults_to_english(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Leads" in html


def test_home_says_when_the_database_is_unreachable(unreachable_app: Flask) -> None:
    response = unreachable_app.test_client().get("/")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "The database cannot be reached" in html
    assert row_count(html, "Leads") == "—"


def test_stylesheet_is_served_locally(client: FlaskClient) -> None:
    response = client.get("/static/ossature.css")
    assert response.status_code == 200
    assert "text/css" in response.content_type
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html


# -- health -----------------------------------------------------------------------------------


def test_health_ok(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "entities": 10,
        "packs": [{"name": "base", "version": "1.0.0"}],
    }


def test_health_is_503_when_the_database_is_unreachable(unreachable_app: Flask) -> None:
    response = unreachable_app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "error"
    assert body["status"] == "error"
    assert body["entities"] == 10


def test_create_app_reads_the_environment_by_default(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    app = create_app()
    try:
        assert app.config["DATABASE_URL"] == database_url
        assert [Path(p) for p in app.config["PACKS"]] == [Path(metamodel.BASE_PACK)]
    finally:
        app.extensions["ossature"].dispose()
