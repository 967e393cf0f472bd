"""Failed logins are counted per username and per client address: at the limit every attempt is
refused (429, Retry-After, English and French) and others' failures stop a user no sooner;
successes count for nothing; counts shared through Redis by several app servers, and kept in
memory when that storage is down."""

from __future__ import annotations

import logging
import os
import re
import uuid
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse_many

import metamodel
from engine.access.accounts import Accounts
from engine.installation import settings
from test_security import PASSWORD, csrf_of
from ui_renderer import create_app
from ui_renderer.core.throttle import client_address, wait_words

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
LIMITS = {"LOGIN_ACCOUNT_LIMIT": f"{ACCOUNT_LIMIT} per hour", "LOGIN_ADDRESS_LIMIT": f"{ADDRESS_LIMIT} per hour"}


def build(database_url: str, **config: object) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t",
                      "TESTING": True, "RATELIMIT_STORAGE_URI": "memory://", **LIMITS, **config})
    engine = app.extensions["ossature"]
    engine.migrate()
    accounts = Accounts(engine)
    accounts.migrate()
    for name in ("sam", "sue"):
        if not any(user["username"] == name for user in accounts.list_users()):
            accounts.create_user(name, name.title(), PASSWORD, ["sales"])
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build(database_url)
    yield app
    app.extensions["ossature"].dispose()


def attempt(client: FlaskClient, username: str, password: str = "wrong password", *, address: str = "192.0.2.1",
            lang: str = "en"):
    """One login attempt from `address` (the login form first, for its CSRF token)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get(f"/login?lang={lang}", environ_base=environ).text
    return client.post(f"/login?lang={lang}", environ_base=environ,
                       data={"username": username, "password": password, "csrf_token": csrf_of(page)})


def addresses(count: int) -> list[str]:
    return [f"198.51.100.{n}" for n in range(1, count + 1)]


# -- per account ----------------------------------------------------------------------------------


def test_failures_on_one_account_up_to_the_limit_are_answered_then_every_attempt_waits(app):
    client = app.test_client()
    for address in addresses(ACCOUNT_LIMIT):  # from as many addresses: only the account's count fills
        assert attempt(client, "sam", address=address).status_code == 401
    refused = attempt(client, "sam", PASSWORD, address="203.0.113.9")  # the right password, from elsewhere
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 3600
    assert f"Too many failed log-in attempts. Try again in {wait_words(wait, 'en')}." in refused.text
    assert client.get("/lead/").status_code == 302  # refused unchecked: not logged in
    french = attempt(client, "sam", PASSWORD, address="203.0.113.9", lang="fr")
    assert french.status_code == 429
    assert f"Trop de tentatives de connexion échouées. Réessayez dans {wait_words(wait, 'fr')}." in french.text
    assert attempt(client, "sue", PASSWORD, address="203.0.113.9").status_code == 302  # other accounts are free


def test_one_failure_fewer_than_the_limit_leaves_the_right_password_working(app):
    client = app.test_client()
    for address in addresses(ACCOUNT_LIMIT - 1):
        assert attempt(client, "sam", address=address).status_code == 401
    assert attempt(client, "sam", PASSWORD, address="203.0.113.9").status_code == 302


@pytest.mark.parametrize("spelling", ["Sam", " sam ", "SAM"])
def test_case_and_spaces_do_not_make_another_count(app, spelling):
    client = app.test_client()
    for address in addresses(ACCOUNT_LIMIT):
        assert attempt(client, spelling, address=address).status_code == 401
    assert attempt(client, "sam", PASSWORD, address="203.0.113.9").status_code == 429


def test_unknown_usernames_are_counted_like_known_ones(app):
    """Else the answer would tell which usernames exist."""
    client = app.test_client()
    for address in addresses(ACCOUNT_LIMIT):
        assert attempt(client, "nobody", address=address).status_code == 401
    assert attempt(client, "nobody", address="203.0.113.9").status_code == 429


# -- per address ----------------------------------------------------------------------------------


def test_failures_from_one_address_up_to_the_limit_then_that_address_waits(app):
    client = app.test_client()
    for n in range(ADDRESS_LIMIT):  # a different username each time: only the address's count fills
        assert attempt(client, f"guess{n}", address="192.0.2.50").status_code == 401
    assert attempt(client, "sam", PASSWORD, address="192.0.2.50").status_code == 429
    assert attempt(client, "sam", PASSWORD, address="192.0.2.51").status_code == 302


def test_an_ipv6_client_is_counted_by_its_slash_64(app):
    client = app.test_client()
    for n in range(ADDRESS_LIMIT):
        assert attempt(client, f"guess{n}", address=f"2001:db8:1:2::{n + 1:x}").status_code == 401
    assert attempt(client, "sam", PASSWORD, address="2001:db8:1:2:ffff::1").status_code == 429
    assert attempt(client, "sam", PASSWORD, address="2001:db8:1:3::1").status_code == 302


@pytest.mark.parametrize(("remote", "counted"), [
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"),
    ("not an address", "not an address"),
])
def test_client_address_as_counted(app, remote, counted):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == counted


# -- successes ------------------------------------------------------------------------------------


def test_successful_logins_count_for_nothing(app):
    client = app.test_client()
    for _ in range(max(ACCOUNT_LIMIT, ADDRESS_LIMIT) + 1):
        assert attempt(client, "sam", PASSWORD, address="192.0.2.60").status_code == 302
    for n in range(ADDRESS_LIMIT - 1):
        assert attempt(client, f"guess{n}", address="192.0.2.60").status_code == 401
    assert attempt(client, "sam", PASSWORD, address="192.0.2.60").status_code == 302


def test_a_success_does_not_wipe_the_accounts_failures(app):
    """ASVS 2.2.1 bounds the failures on an account per hour: a success in between must not let
    an attacker start again from zero."""
    client = app.test_client()
    for address in addresses(ACCOUNT_LIMIT - 1):
        assert attempt(client, "sam", address=address).status_code == 401
    assert attempt(client, "sam", PASSWORD, address="203.0.113.1").status_code == 302
    assert attempt(client, "sam", address="203.0.113.2").status_code == 401
    assert attempt(client, "sam", PASSWORD, address="203.0.113.3").status_code == 429


# -- limits and storage settings ------------------------------------------------------------------------


def test_the_default_account_limit_is_the_most_asvs_allows_and_no_fewer():
    [limit] = parse_many(settings.DEFAULT_FAILURE_LIMITS["login_account"])
    assert limit.amount / limit.get_expiry() * 3600 == 100  # 100 failures an hour on one account
    for text in settings.DEFAULT_FAILURE_LIMITS.values():
        assert parse_many(text)


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("OSSATURE_LOGIN_ADDRESS_LIMIT", "10 per minute; 50 per hour")
    assert settings.failure_limits()["login_address"] == "10 per minute; 50 per hour"
    assert settings.failure_limits()["login_account"] == settings.DEFAULT_FAILURE_LIMITS["login_account"]


def test_several_limits_on_one_count_each_apply(database_url):
    app = build(database_url, LOGIN_ACCOUNT_LIMIT="2 per minute; 100 per hour")
    try:
        client = app.test_client()
        for address in addresses(2):
            assert attempt(client, "sam", address=address).status_code == 401
        refused = attempt(client, "sam", PASSWORD, address="203.0.113.9")
        assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    finally:
        app.extensions["ossature"].dispose()


@pytest.mark.parametrize(("environment", "storage"), [
    ({}, "memory://"),
    ({"OSSATURE_BROKER_URL": "redis://cache:6379/0"}, "redis://cache:6379/0"),
    ({"OSSATURE_BROKER_URL": "rediss://cache:6380/2"}, "rediss://cache:6380/2"),
    ({"OSSATURE_BROKER_URL": "amqp://rabbit//"}, "memory://"),
    ({"OSSATURE_BROKER_URL": "redis://cache:6379/0", "OSSATURE_RATE_LIMIT_STORAGE": "redis://other:6379/3"},
     "redis://other:6379/3"),
])
def test_where_failures_are_counted(monkeypatch, environment, storage):
    for name in ("OSSATURE_BROKER_URL", "OSSATURE_RATE_LIMIT_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert settings.rate_limit_storage() == storage


@pytest.mark.parametrize(("seconds", "english", "french"), [
    (1, "1 second", "1 seconde"),
    (59, "59 seconds", "59 secondes"),
    (60, "1 minute", "1 minute"),
    (61, "2 minutes", "2 minutes"),
    (3600, "60 minutes", "60 minutes"),
])
def test_wait_words(seconds, english, french):
    assert (wait_words(seconds, "en"), wait_words(seconds, "fr")) == (english, french)


def test_counts_go_on_in_memory_when_the_shared_storage_is_down(database_url, caplog):
    app = build(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        client = app.test_client()
        with caplog.at_level(logging.ERROR, logger="ui_renderer.core.throttle"):
            for address in addresses(ACCOUNT_LIMIT):
                assert attempt(client, "sam", address=address).status_code == 401
            assert attempt(client, "sam", PASSWORD, address="203.0.113.9").status_code == 429
        assert re.search(r"failure throttle storage error [0-9a-f]{12}", caplog.text)
        assert attempt(client, "sue", PASSWORD, address="203.0.113.9").status_code == 302
    finally:
        app.extensions["ossature"].dispose()


@pytest.fixture
def redis_url() -> str:
    """Redis on 127.0.0.1:6379 (see tests/jobs/conftest.py): a failure in CI when it is missing."""
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        missing(f"Redis is not reachable on 127.0.0.1:6379 ({error}): redis-server --daemonize yes")
    finally:
        client.close()
    return "redis://127.0.0.1:6379/0"


def test_app_servers_sharing_redis_share_the_counts(database_url, redis_url):
    """Two apps (two app servers) on one Redis: failures on one count on the other. The keys of this
    test have a prefix of their own and expire with their window."""
    prefix = f"ossature-test-{uuid.uuid4().hex}"
    first = build(database_url, RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=prefix)
    second = build(database_url, RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=prefix)
    try:
        one, other = first.test_client(), second.test_client()
        for n, address in enumerate(addresses(ACCOUNT_LIMIT)):
            assert attempt(one if n % 2 else other, "sam", address=address).status_code == 401
        assert attempt(one, "sam", PASSWORD, address="203.0.113.9").status_code == 429
        assert attempt(other, "sam", PASSWORD, address="203.0.113.9").status_code == 429
    finally:
        first.extensions["ossature"].dispose()
        second.extensions["ossature"].dispose()
