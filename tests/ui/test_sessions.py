"""Page sessions: the cookie's flags, the idle and absolute lifetimes (at the limit and one second
before), and their end on logout, on a password change (the user's or `ossature user password`)
and when the login is switched off; `ossature migrate` adds the session table to an older
installation without touching its logins."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine.access.accounts import SESSION_TABLE, Accounts
from engine.installation import settings
from ossature.main import cli
from test_security import PASSWORD, csrf_of, log_in
from ui_renderer import create_app
from ui_renderer.core import sessions

START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(sessions, "now", fixed)
    return fixed


def build(database_url: str, **config: object) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t",
                      "TESTING": True, **config})
    engine = app.extensions["ossature"]
    engine.migrate()
    accounts = Accounts(engine)
    accounts.migrate()
    accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"])
    return app


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[Flask]:
    app = build(database_url)
    yield app
    app.extensions["ossature"].dispose()


def accounts_of(app: Flask) -> Accounts:
    return Accounts(app.extensions["ossature"])


def logged_in(client: FlaskClient) -> bool:
    response = client.get("/lead/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def session_cookie(response) -> str:
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie (a stolen or shared cookie)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


# -- the cookie ---------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_expires_after_the_idle_time(app):
    client = app.test_client()
    cookie = session_cookie(log_in(client, "sam"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # a lasting cookie, renewed on each use, not one for the browser's life
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == settings.session_idle_seconds()


def test_secure_cookies_and_hsts_when_the_site_is_served_over_https(database_url, clock, monkeypatch):
    monkeypatch.setenv("OSSATURE_SECURE_COOKIES", "yes")
    app = build(database_url)
    try:
        client = app.test_client()
        response = log_in(client, "sam")
        assert "Secure" in session_cookie(response)
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["ossature"].dispose()


def test_the_apps_own_cookie_settings_are_kept(database_url, clock):
    app = build(database_url, SESSION_COOKIE_SAMESITE="Strict", SESSION_IDLE_SECONDS=120, SESSION_MAX_SECONDS=600)
    try:
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
        assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 120
        assert "SameSite=Strict" in session_cookie(log_in(app.test_client(), "sam"))
    finally:
        app.extensions["ossature"].dispose()


def test_lifetimes_come_from_the_settings(monkeypatch):
    assert (settings.session_idle_seconds(), settings.session_max_seconds()) == (30 * 60, 12 * 3600)  # ASVS level 2
    monkeypatch.setenv("OSSATURE_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("OSSATURE_SESSION_MAX_HOURS", "1")
    assert (settings.session_idle_seconds(), settings.session_max_seconds()) == (300, 3600)
    monkeypatch.setenv("OSSATURE_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ValueError, match="OSSATURE_SESSION_IDLE_MINUTES"):
        settings.session_idle_seconds()


# -- lifetimes ----------------------------------------------------------------------------------


def idle_cases() -> list[tuple[int, bool]]:
    idle = settings.session_idle_seconds()
    return [(0, True), (idle - 1, True), (idle, False), (idle + 1, False)]


@pytest.mark.parametrize(("unused", "still_in"), idle_cases())
def test_a_session_unused_for_the_idle_time_is_over(app, clock, unused, still_in):
    client = app.test_client()
    log_in(client, "sam")
    clock.now += unused
    assert logged_in(client) is still_in


def test_each_use_restarts_the_idle_time(app, clock):
    client = app.test_client()
    log_in(client, "sam")
    idle = app.config["SESSION_IDLE_SECONDS"]
    for _ in range(3):  # three uses, each just inside the idle time: 3 x (idle - 1) in all, more than idle
        clock.now += idle - 1
        assert logged_in(client)
    clock.now += idle
    assert not logged_in(client)


def absolute_cases() -> list[tuple[int, bool]]:
    longest = settings.session_max_seconds()
    return [(longest - 1, True), (longest, False), (longest + 1, False)]


@pytest.mark.parametrize(("age", "still_in"), absolute_cases())
def test_a_session_ends_at_its_absolute_lifetime_however_often_used(app, clock, age, still_in):
    client = app.test_client()
    log_in(client, "sam")
    with client.session_transaction() as session:  # used a moment ago, opened `age` seconds ago
        session[sessions.SESSION_STARTED] = int(clock.now) - age
    assert logged_in(client) is still_in


def test_a_session_over_is_cleared_and_the_login_page_takes_the_user_back(app, clock):
    client = app.test_client()
    log_in(client, "sam")
    clock.now += app.config["SESSION_IDLE_SECONDS"]
    response = client.get("/lead/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/lead/")
    with client.session_transaction() as session:
        assert sessions.SESSION_USER not in session
    assert log_in(client, "sam").status_code == 302 and logged_in(client)


def test_a_cookie_from_before_sessions_had_a_lifetime_is_not_a_session(app):
    user_id = accounts_of(app).user_id("sam")
    client = app.test_client()
    with client.session_transaction() as session:
        session[sessions.SESSION_USER] = user_id
    assert not logged_in(client)


def test_logging_in_starts_a_new_session_nothing_carried_over(app):
    client = app.test_client()
    before = csrf_of(client.get("/login").text)
    log_in(client, "sam")
    after = csrf_of(client.get("/").text)
    assert before != after


# -- ending sessions ----------------------------------------------------------------------------


def test_logout_ends_the_session_a_copied_cookie_included(app):
    client = app.test_client()
    log_in(client, "sam")
    stolen = copy_of(app, client)
    assert logged_in(stolen)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert not logged_in(client)
    assert not logged_in(stolen)


def test_logout_ends_the_users_sessions_on_every_device_and_a_new_login_works(app):
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, "sam")
    log_in(phone, "sam")
    phone.post("/logout", data={"csrf_token": csrf_of(phone.get("/").text)})
    assert not logged_in(laptop)
    log_in(laptop, "sam")
    assert logged_in(laptop)


def test_a_password_change_ends_the_users_sessions(app):
    client = app.test_client()
    log_in(client, "sam")
    accounts = accounts_of(app)
    before = accounts.session_generation(accounts.user_id("sam"))
    accounts.set_password(accounts.user_id("sam"), "another long password")
    assert accounts.session_generation(accounts.user_id("sam")) == before + 1
    assert not logged_in(client)
    assert log_in(client, "sam", "another long password").status_code == 302 and logged_in(client)


def test_a_password_changed_by_an_administrator_on_the_command_line_ends_the_sessions(
        app, database_url, monkeypatch, tmp_path):
    client = app.test_client()
    log_in(client, "sam")
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["user", "password", "sam"], env={"OSSATURE_PASSWORD": "set by the admin"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not logged_in(client)
    assert log_in(client, "sam", "set by the admin").status_code == 302


def test_a_login_switched_off_ends_its_sessions(app):
    client = app.test_client()
    log_in(client, "sam")
    accounts = accounts_of(app)
    accounts.set_active(accounts.user_id("sam"), False)
    assert not logged_in(client)
    accounts.set_active(accounts.user_id("sam"), True)
    assert not logged_in(client)  # switched on again: the old session stays over, a new login is needed


def test_role_changes_apply_to_the_open_session_without_ending_it(app):
    client = app.test_client()
    log_in(client, "sam")
    accounts = accounts_of(app)
    accounts.set_roles(accounts.user_id("sam"), ["support"])
    assert client.get("/lead/").status_code == 403  # still logged in, with the new roles


# -- the session table's migration -----------------------------------------------------------------


def test_migrate_adds_the_session_table_to_an_installation_from_before_it(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"], catch_exceptions=False).exit_code == 0
    created = runner.invoke(cli, ["user", "create", "ann", "--role", "sales"], env={"OSSATURE_PASSWORD": PASSWORD},
                            catch_exceptions=False)
    assert created.exit_code == 0, created.output
    db = sa.create_engine(database_url)
    with db.begin() as conn:  # the installation as it was before sessions had a generation
        conn.execute(sa.text(f"DROP TABLE {SESSION_TABLE}"))
        logins = conn.execute(sa.text("SELECT user_id, password_hash FROM sys_login")).all()
    result = runner.invoke(cli, ["migrate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"create table {SESSION_TABLE} (3 columns)" in result.output
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT user_id, password_hash FROM sys_login")).all() == logins
        assert conn.execute(sa.text(f"SELECT count(*) FROM {SESSION_TABLE}")).scalar_one() == 0
    db.dispose()
    assert runner.invoke(cli, ["migrate"], catch_exceptions=False).output.endswith("database is up to date\n")
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t"})
    try:
        client = app.test_client()
        assert log_in(client, "ann").status_code == 302 and logged_in(client)
    finally:
        app.extensions["ossature"].dispose()
