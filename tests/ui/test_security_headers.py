"""Security headers on every kind of response (pages, API, static files, errors), templates free of
inline script, and the size cap of form posts (413 page in the user's language; the import
upload keeps its own, larger limit)."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import Engine
from jobs_support import build_app, engine_of, login
from ui_renderer import create_app
from ui_renderer.core.body_limit import DEFAULT_FORM_MAX_BYTES
from ui_renderer.core.headers import CONTENT_SECURITY_POLICY
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

UI = Path(__file__).resolve().parents[2] / "ui_renderer"
TEMPLATES = sorted((UI / "templates").rglob("*.html"))
STATIC = sorted(p.relative_to(UI / "static").as_posix() for p in (UI / "static").rglob("*") if p.is_file())
FORM_LIMIT = 4000


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN,
                      "FORM_MAX_CONTENT_LENGTH": FORM_LIMIT})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


# -- headers --------------------------------------------------------------------------------------


RESPONSES = [
    ("GET", "/"), ("GET", "/lead/"), ("GET", "/lead/new"), ("GET", "/login"), ("GET", "/health"),
    ("GET", "/no/such/page"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/lead"),
    ("GET", "/api/v1/nowhere"), ("POST", "/lead/new"),
    *(("GET", f"/static/{name}") for name in STATIC),
]


@pytest.mark.parametrize(("method", "path"), RESPONSES)
def test_every_response_carries_the_security_headers(client, method, path):
    response = client.open(path, method=method, data={"last_name": "x"} if method == "POST" else None)
    assert response.status_code < 500, response.text[:300]
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP, cookies not Secure


def test_the_policy_allows_no_inline_script_and_no_framing():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"] and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY


def test_pages_are_not_cached_static_files_keep_their_own_caching(client):
    assert client.get("/lead/").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/openapi.json").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get(f"/static/{STATIC[0]}").headers.get("Cache-Control", "")


def test_hsts_when_the_request_came_over_https(client):
    response = client.get("/login", base_url="https://crm.example.com")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.relative_to(UI / "templates").as_posix())
def test_templates_hold_no_inline_script(template):
    """The policy's `script-src 'self'` holds only as long as no template has script of its own."""
    text = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", text, re.I):
        assert re.search(r"\bsrc=", tag), f"inline <script> in {template.name}: {tag}"
    bodies = [body for body in re.findall(r"<script\b[^>]*>(.*?)</script>", text, re.I | re.S) if body.strip()]
    assert not bodies, f"script body in {template.name}"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"event handler attribute in {template.name}"
    assert "javascript:" not in text.lower(), f"javascript: address in {template.name}"


# -- the size cap of form posts -------------------------------------------------------------------


def form_of_length(length: int, **fields: str) -> bytes:
    """An urlencoded form of exactly `length` bytes: `fields`, then a description filling the rest."""
    head = urlencode({**fields, "description": ""})
    assert len(head) < length
    return (head + "x" * (length - len(head))).encode()


@pytest.mark.parametrize(("size", "refused"), [(FORM_LIMIT - 1, False), (FORM_LIMIT, False), (FORM_LIMIT + 1, True)])
def test_a_form_post_over_the_cap_gets_a_413_page_and_nothing_is_stored(client, app, size, refused):
    body = form_of_length(size, last_name="Capped", phone="0102030405")
    response = client.post("/lead/new", data=body, content_type="application/x-www-form-urlencoded")
    engine: Engine = app.extensions["ossature"]
    if refused:
        assert response.status_code == 413
        assert f"this page accepts at most {FORM_LIMIT:,} bytes" in html.unescape(response.text)
        assert engine.records.count("lead") == 0
    else:
        assert response.status_code in (302, 303), response.text[:500]
        assert engine.records.count("lead") == 1


def test_the_413_page_speaks_french(client):
    body = form_of_length(FORM_LIMIT + 1, last_name="Capped")
    response = client.post("/lead/new?lang=fr", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    text = html.unescape(response.text)
    assert "Trop volumineux" in text and "cette page accepte au plus 4\u202f000 octets" in text
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_multipart_form_post_is_capped_too(client, app):
    response = client.post("/lead/new", data={"last_name": "Capped", "description": "x" * FORM_LIMIT},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert app.extensions["ossature"].records.count("lead") == 0


@pytest.mark.parametrize(("size", "refused"), [(FORM_LIMIT, False), (FORM_LIMIT + 1, True), (3 * FORM_LIMIT, True)])
def test_a_body_sent_in_chunks_is_capped_not_cut_short(client, app, size, refused):
    """Werkzeug alone would read such a body up to the cap and parse what it got."""
    body = form_of_length(size, last_name="Chunked", phone="0102030405")
    response = client.post("/lead/new", input_stream=io.BytesIO(body), content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as gunicorn says of a chunked body
    assert response.status_code == (413 if refused else 303), response.text[:300]
    leads = app.extensions["ossature"].records.list("lead").rows
    padding = size - len(urlencode({"last_name": "Chunked", "phone": "0102030405", "description": ""}))
    assert [lead["description"].count("x") for lead in leads] == ([] if refused else [padding])  # whole, not cut


def test_the_default_cap_refuses_a_ten_megabyte_description(database_url):
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    try:
        client = app.test_client()
        over = form_of_length(DEFAULT_FORM_MAX_BYTES + 1, last_name="Huge")
        assert client.post("/lead/new", data=over, content_type="application/x-www-form-urlencoded").status_code == 413
        big = client.post("/lead/new", data={"last_name": "Huge", "description": "x" * 10 * 1024 * 1024})
        assert big.status_code == 413
        assert app.extensions["ossature"].records.count("lead") == 0
    finally:
        app.extensions["ossature"].dispose()


def test_the_api_keeps_its_own_json_413(client):
    response = client.post("/api/v1/lead", data=b"{}" + b" " * (2 * 1024 * 1024), content_type="application/json",
                           headers={"Authorization": "Bearer nothing"})
    assert response.status_code in (401, 413)
    assert response.is_json


def test_the_import_upload_keeps_its_own_larger_limit(database_url, tmp_path):
    file_limit = 3 * FORM_LIMIT
    app = build_app(database_url, tmp_path / "files", IMPORT_MAX_BYTES=file_limit, FORM_MAX_CONTENT_LENGTH=FORM_LIMIT)
    try:
        client = login(app, "ines")
        header = "Last name;E-mail\n"

        def upload(size: int):
            content = (header + "x" * (size - len(header))).encode()
            return client.post("/lead/import", data={"file": (io.BytesIO(content), "data.csv"), "format": "csv"},
                               content_type="multipart/form-data")

        assert upload(2 * FORM_LIMIT).status_code == 303  # over a form's cap, within the import's
        assert upload(file_limit).status_code == 303
        refused = upload(file_limit + 1)
        assert refused.status_code == 413  # the import's own check and words
        assert f"The file is too large: at most {file_limit} bytes" in html.unescape(refused.text)
        way_over = upload(file_limit + FORM_LIMIT + 1)
        assert way_over.status_code == 413
    finally:
        engine_of(app).dispose()
