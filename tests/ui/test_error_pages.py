"""Failing requests: an unreachable database answers 503 (page in the user's language, JSON under
the API), an unexpected error a 500 carrying an error id that the log has with the traceback.
Never an exception's text, SQL or a traceback in the answer."""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError
from werkzeug.routing import IntegerConverter

import metamodel
from engine.access.accounts import Accounts
from metamodel.model import LANGUAGES
from ui_renderer import create_app
from ui_renderer.core.error_pages import RETRY_AFTER_SECONDS, database_unavailable
from ui_renderer.core.i18n import words
from ui_renderer.core.live_app import live_engine
from ui_renderer.core.request_log import REQUEST_ID_HEADER, TextFormatter
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

POSTGRES_URL = os.environ.get("OSSATURE_TEST_DATABASE_URL")
LEAKS = re.compile(r"Traceback|OperationalError|sqlite3|psycopg|SELECT .* FROM|[Cc]onnection refused|unable to open|"
                   r"secret detail")
"""What an answer must never show: exception names and texts, SQL, the driver's words."""
ENTITIES = list(metamodel.load_model([metamodel.BASE_PACK]).entities)


@pytest.fixture
def unreachable_url(tmp_path: Path) -> str:
    """A database that cannot be reached, of the kind the suite runs on."""
    if POSTGRES_URL:
        return sa.engine.make_url(POSTGRES_URL).set(port=1).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path / 'missing' / 'folder' / 'x.db'}"


def build(url: str, **config: object) -> Flask:
    app = create_app({"DATABASE_URL": url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t", **config})
    app.test_client_class = FormClient
    return app


@pytest.fixture
def login_app(unreachable_url: str) -> Iterator[Flask]:
    app = build(unreachable_url, TESTING=True)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def pages_app(unreachable_url: str) -> Iterator[Flask]:
    app = build(unreachable_url, **PAGES_WITHOUT_LOGIN)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def reachable_app(database_url: str) -> Iterator[Flask]:
    """An app whose exceptions are answered, not raised to the test (TESTING off)."""
    app = build(database_url, LOGIN_REQUIRED=False)
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Log lines as the serving process writes them (formatted while the request runs)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def assert_unavailable_page(response, lang: str) -> None:
    assert response.status_code == 503, (response.request.path, response.status_code)
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["Content-Language"] == lang
    html = response.text
    assert f'<html lang="{lang}">' in html
    assert words(lang)["error_unavailable"].replace("'", "&#39;") in html
    assert response.headers[REQUEST_ID_HEADER] in html
    assert not LEAKS.search(html), LEAKS.search(html)


# -- the login page -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_login_page_says_the_database_is_unreachable_in_the_users_language(login_app, lang):
    client = login_app.test_client()
    assert_unavailable_page(client.get("/login", headers={"Accept-Language": lang}), lang)
    assert_unavailable_page(client.get(f"/login?lang={lang}"), lang)


def test_logging_in_while_the_database_is_unreachable_answers_503(login_app):
    response = login_app.test_client().post("/login", data={"username": "sam", "password": "x"})
    assert_unavailable_page(response, "en")


def test_a_page_sends_a_visitor_to_the_login_page_which_answers_503(login_app):
    client = login_app.test_client()
    response = client.get("/lead/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert_unavailable_page(client.get(response.location), "en")


def test_the_login_page_shows_its_form_when_the_database_answers(database_url):
    app = build(database_url, TESTING=True)
    try:
        response = app.test_client().get("/login")
        assert response.status_code == 200
        assert 'name="password"' in response.text
    finally:
        app.extensions["ossature"].dispose()


# -- every page and every API call ----------------------------------------------------------


def record_pages() -> list[str]:
    """The list page and a record page of every entity of the base pack."""
    return [address for entity in ENTITIES for address in (f"/{entity}/", f"/{entity}/1")]


def record_calls() -> list[str]:
    """The API's list and record of every entity of the base pack."""
    return [address for entity in ENTITIES for address in (f"/api/v1/{entity}", f"/api/v1/{entity}/1")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_list_and_record_pages_of_every_entity_answer_503(pages_app, lang):
    client = pages_app.test_client()
    for address in record_pages():
        assert_unavailable_page(client.get(address, headers={"Accept-Language": lang}), lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_api_answers_503_json_for_every_entity(pages_app, lang):
    client = pages_app.test_client()
    for address in record_calls():
        response = client.get(address, headers={"Accept-Language": lang, "Authorization": "Bearer some-token"})
        assert response.status_code == 503, address
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert response.headers["Content-Language"] == lang
        body = response.get_json()
        assert body == {"error": "unavailable", "message": words(lang)["error_unavailable"],
                        "error_id": response.headers[REQUEST_ID_HEADER]}


def every_get_address(app: Flask) -> list[str]:
    """Every GET route of the app, its arguments filled in: each entity of the model, 1 for a
    number, a name the definitions do not have for anything else."""
    addresses = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        entities = ENTITIES if "entity" in rule.arguments else [None]
        for entity in entities:
            values = {}
            for name in rule.arguments:
                if name == "entity":
                    values[name] = entity
                elif isinstance(rule._converters[name], IntegerConverter):
                    values[name] = 1
                else:
                    values[name] = "unknown"
            with app.test_request_context():
                addresses.add(url_for(rule.endpoint, **values))
    return sorted(addresses)


def test_no_page_fails_with_a_500_or_shows_the_error_when_the_database_is_unreachable(pages_app):
    client = pages_app.test_client()
    addresses = every_get_address(pages_app)
    assert len(addresses) > 100  # the generator found the routes
    answered_503 = 0
    for address in addresses:
        response = client.get(address, headers={"Authorization": "Bearer some-token"})
        assert response.status_code != 500, address
        assert not LEAKS.search(response.text), (address, LEAKS.search(response.text))
        answered_503 += response.status_code == 503
    assert answered_503 >= len(record_pages()) + len(record_calls())


def test_an_outage_is_logged_as_one_line_a_request_without_traceback(pages_app, log_lines):
    # The once-a-second check for new definitions (which says its own failure) is not due during
    # the request, however slow the machine was to get here: the line counted is the request's.
    live_engine(pages_app).interval = 3600
    response = pages_app.test_client().get("/lead/", headers={REQUEST_ID_HEADER: "outage-1"})
    assert response.status_code == 503
    logged = [line for line in log_lines.getvalue().splitlines() if "[outage-1]" in line]
    assert len(logged) == 2, logged  # the warning and the request line
    assert "database unreachable, answered 503 (request GET /lead/, id outage-1)" in logged[0]
    assert "GET /lead/ 503" in logged[1]
    assert "Traceback" not in log_lines.getvalue()


# -- what counts as unreachable -------------------------------------------------------------


def driver_error(statement: str | None, **options: bool) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError(statement, None, Exception("driver says no"), **options)


def raised_from(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("wrapper") from cause
    except RuntimeError as error:
        return error


@pytest.mark.parametrize("error, unreachable", [
    (driver_error(None), True),                                              # no connection could be made
    (sa_exc.InterfaceError(None, None, Exception("closed")), True),
    (driver_error("SELECT 1", connection_invalidated=True), True),          # the connection was lost
    (sa_exc.TimeoutError("QueuePool limit reached"), True),                  # no connection in time
    (raised_from(driver_error(None)), True),
    (InternalServerError(original_exception=driver_error(None)), True),
    (driver_error("SELECT * FROM lead"), False),                             # a statement failed: a bug
    (sa_exc.IntegrityError("INSERT", None, Exception("unique")), False),
    (sa_exc.ProgrammingError(None, None, Exception("syntax")), False),
    (RuntimeError("boom"), False),
    (InternalServerError(), False),
])
def test_unreachable_means_no_connection_not_a_failed_statement(error, unreachable):
    assert database_unavailable(error) is unreachable


# -- unexpected errors -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unexpected_error_shows_its_id_which_the_log_has_with_the_traceback(reachable_app, log_lines, lang):
    @reachable_app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail 42")

    response = reachable_app.test_client().get("/boom", headers={"Accept-Language": lang})
    assert response.status_code == 500
    assert response.headers["Content-Language"] == lang
    error_id = response.headers[REQUEST_ID_HEADER]
    html = response.text
    assert words(lang)["error_unexpected_title"].replace("'", "&#39;") in html
    assert f'<code class="error-id">{error_id}</code>' in html
    assert not LEAKS.search(html)
    logged = log_lines.getvalue()
    assert f"unexpected error, id {error_id}, on GET /boom" in logged
    traceback = logged[logged.index(f"unexpected error, id {error_id}"):]
    assert "Traceback" in traceback and "RuntimeError: secret detail 42" in traceback


def test_an_explicit_500_is_logged_with_its_id(reachable_app, log_lines):
    from flask import abort

    @reachable_app.get("/abort")
    def aborted() -> str:
        abort(500)

    response = reachable_app.test_client().get("/abort")
    assert response.status_code == 500
    assert f"server error, id {response.headers[REQUEST_ID_HEADER]}, on GET /abort" in log_lines.getvalue()


def test_an_unexpected_api_error_answers_json_with_the_id_of_its_logged_traceback(reachable_app, log_lines, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret detail 42")

    monkeypatch.setattr(Accounts, "actor_for_token", broken)
    response = reachable_app.test_client().get("/api/v1/lead", headers={"Authorization": "Bearer t",
                                                                        REQUEST_ID_HEADER: "proxy-id-7"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "server_error" and body["error_id"] == "proxy-id-7"
    assert not LEAKS.search(response.text)
    logged = log_lines.getvalue()
    assert "[proxy-id-7]" in logged and "RuntimeError: secret detail 42" in logged


def test_a_handled_error_keeps_its_own_answer(reachable_app):
    """Not found, not allowed: their usual answers, not the 500 page."""
    client = reachable_app.test_client()
    assert client.get("/no/such/page/here").status_code == 404
    assert client.get("/api/v1/no-such-entity", headers={"Authorization": "Bearer t"}).status_code in (401, 404)
