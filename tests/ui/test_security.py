"""Logging in and out, pages acting as the logged-in user, CSRF on every state-changing form."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR
from engine.access.accounts import Accounts
from ui_renderer import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t", "TESTING": True})
    engine = app.extensions["ossature"]
    engine.migrate()
    accounts = Accounts(engine)
    accounts.migrate()
    sam = accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"])
    accounts.create_user("sue", "Sue Support", PASSWORD, ["support"])
    lead = {"last_name": "Mine", "phone": "0102030405", "assigned_to": sam}
    engine.records.create_many("lead", [lead, {**lead, "last_name": "Theirs", "assigned_to": None}], SYSTEM_ACTOR)
    yield app
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, next_page: str = "") -> object:
    page = client.get("/login").text
    query = f"?next={next_page}" if next_page else ""
    return client.post(f"/login{query}", data={"username": username, "password": password, "csrf_token": csrf_of(page)})


def test_pages_need_a_logged_in_user(client):
    response = client.get("/lead/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/lead/")
    assert client.get("/health").status_code == 200
    assert client.get("/login").status_code == 200


def test_wrong_password_is_refused_in_the_users_language(client):
    response = log_in(client, "sam", "wrong")
    assert response.status_code == 401
    assert "Unknown username or wrong password." in response.text
    page = client.get("/login?lang=fr").text
    response = client.post("/login?lang=fr", data={"username": "nobody", "password": "x", "csrf_token": csrf_of(page)})
    assert "Identifiant inconnu ou mot de passe erroné." in response.text


def test_login_goes_to_the_page_asked_for_and_pages_act_as_that_user(client):
    response = log_in(client, "sam", next_page="/lead/")
    assert response.status_code == 302 and response.headers["Location"] == "/lead/"
    page = client.get("/lead/?tab=all").text
    assert "Mine" in page and "Theirs" not in page  # sales see their own leads only
    assert ">sam<" in page  # who is logged in, in the top bar


def test_login_never_redirects_off_the_site(client):
    response = log_in(client, "sam", next_page="//evil.example/steal")
    assert response.headers["Location"] == "/"


def test_a_role_without_access_gets_a_403_page(client):
    log_in(client, "sue")
    response = client.get("/lead/")
    assert response.status_code == 403
    assert "Your roles do not allow this." in response.text


def test_state_changing_post_without_the_token_is_refused(client, app):
    log_in(client, "sam")
    lead_id = app.extensions["ossature"].records.list("lead").rows[0]["id"]
    response = client.post(f"/lead/{lead_id}/delete", data={"version": "1"})
    assert response.status_code == 403
    assert "expired" in response.text
    response = client.post(f"/lead/{lead_id}/delete", data={"version": "1", "csrf_token": "forged"})
    assert response.status_code == 403
    assert app.extensions["ossature"].records.count("lead") == 2


def test_logout_ends_the_session(client):
    page = log_in(client, "sam") and client.get("/").text
    response = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302
    assert client.get("/lead/").status_code == 302


def test_logout_needs_the_token_too(client):
    log_in(client, "sam")
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


def test_script_in_labels_and_values_is_shown_as_text(database_url, tmp_path):
    from ui_renderer.testing import PAGES_WITHOUT_LOGIN

    pack = tmp_path / "hostile"
    (pack / "entities").mkdir(parents=True)
    (pack / "pack.yaml").write_text("pack: hostile\nversion: 1.0.0\nlabel: {en: Hostile, fr: Hostile}\n")
    (pack / "entities" / "lead.yaml").write_text(
        "extends: lead\n"
        "label: {en: '<script>alert(\"label\")</script>', fr: '<img src=x onerror=alert(1)>'}\n"
        "plural: {en: '<script>alert(\"plural\")</script>', fr: Pistes}\n"
        "characteristics:\n"
        "  last_name: {label: {en: '<b onmouseover=alert(1)>Name</b>', fr: Nom}}\n"
    )
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, pack], **PAGES_WITHOUT_LOGIN})
    engine = app.extensions["ossature"]
    engine.migrate()
    lead = engine.records.create(
        "lead", {"last_name": "<script>alert('value')</script>", "phone": "0102030405"}, SYSTEM_ACTOR
    )
    client = app.test_client()
    for path in ("/", "/lead/", f"/lead/{lead['id']}", "/lead/new", f"/lead/{lead['id']}/history"):
        page = client.get(path).text
        assert "<script>alert" not in page, path
        assert "<b onmouseover" not in page, path
        assert "<img src=x" not in client.get(path + ("&" if "?" in path else "?") + "lang=fr").text, path
    assert "&lt;script&gt;alert(" in client.get("/lead/").text  # the value is there, as text
    engine.dispose()


def test_a_record_outside_the_update_scope_opens_read_only(app, client):
    """Sales + support: accounts readable everywhere (support), changeable in the team only (sales).
    Another team's account shows read-only, with no save or delete; the team's own stays editable."""
    engine = app.extensions["ossature"]
    accounts = Accounts(engine)
    ann = accounts.create_user("ann", "Ann", PASSWORD, ["sales", "support"], team="sales_france")
    bob = accounts.create_user("bob", "Bob", PASSWORD, ["sales"], team="sales_export")
    ours, theirs = engine.records.create_many(
        "account", [{"name": "Ours", "assigned_to": ann}, {"name": "Theirs", "assigned_to": bob}], SYSTEM_ACTOR
    )
    log_in(client, "ann")
    page = client.get(f"/account/{theirs}").text
    assert 'name="name"' not in page and "Theirs" in page  # shown, not offered as an input
    assert 'class="default-submit"' not in page and f'/account/{theirs}/delete' not in page
    page = client.get(f"/account/{ours}").text
    assert 'name="name"' in page and 'class="default-submit"' in page
