"""Bad API tokens are counted per client address: up to the limit each gets 401, then every request
with a token from that address gets 429 and Retry-After (JSON, English and French) on every part
of the API; requests without a token and good tokens count for nothing, other addresses are free."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from flask import Flask

import metamodel
from engine.access.accounts import Accounts
from ui_renderer import create_app
from ui_renderer.core.throttle import wait_words

LIMIT = 4
ATTACKER = "192.0.2.66"
ELSEWHERE = "198.51.100.3"
API_BLUEPRINTS = ("api", "api_jobs", "api_import", "api_export", "api_duplicates")


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "TESTING": True,
                      "RATELIMIT_STORAGE_URI": "memory://", "TOKEN_ADDRESS_LIMIT": f"{LIMIT} per hour"})
    engine = app.extensions["ossature"]
    engine.migrate()
    accounts = Accounts(engine)
    accounts.migrate()
    app.config["good_user"] = accounts.create_user("ann", "Ann", "a long password", ["admin"])
    app.config["good_token"] = accounts.create_token(app.config["good_user"], "tests")
    yield app
    engine.dispose()


def call(app: Flask, token: str | None, address: str = ATTACKER, path: str = "/api/v1/lead", method: str = "GET",
         lang: str = "en"):
    headers = {"Accept-Language": lang}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": address})


def fill(app: Flask, count: int = LIMIT) -> None:
    for n in range(count):
        response = call(app, f"guessed-token-{n}")
        assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_bad_tokens_up_to_the_limit_get_401_then_every_token_from_that_address_429(app):
    fill(app)
    refused = call(app, app.config["good_token"])  # even a good one: refused without being looked up
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 3600
    assert refused.json == {
        "error": "too_many_requests",
        "message": f"Too many requests with an invalid token from your address. Try again in {wait_words(wait, 'en')}.",
    }
    french = call(app, "another guess", lang="fr")
    assert french.status_code == 429 and french.headers["Content-Language"] == "fr"
    assert french.json["message"].startswith("Trop de requêtes avec un jeton invalide depuis votre adresse. Réessayez dans")
    assert call(app, app.config["good_token"], address=ELSEWHERE).status_code == 200


def test_one_bad_token_fewer_than_the_limit_leaves_the_address_working(app):
    fill(app, LIMIT - 1)
    assert call(app, app.config["good_token"]).status_code == 200
    assert call(app, "one more guess").status_code == 401
    assert call(app, app.config["good_token"]).status_code == 429


def api_paths(app: Flask) -> list[tuple[str, str]]:
    """One (method, path) per API blueprint that needs a token, from the app's own routes."""
    found: dict[str, tuple[str, str]] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".", 1)[0]
        if blueprint not in API_BLUEPRINTS or blueprint in found or rule.endpoint == "api.openapi":
            continue
        values = {name: ("lead" if name == "entity" else 1) for name in rule.arguments}
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
        found[blueprint] = (method, path)
    assert set(found) == set(API_BLUEPRINTS)
    return list(found.values())


def test_every_part_of_the_api_is_throttled_and_its_document_stays_open(app):
    fill(app)
    for method, path in api_paths(app):
        response = call(app, app.config["good_token"], path=path, method=method)
        assert response.status_code == 429, (method, path, response.status_code)
        assert "Retry-After" in response.headers
    assert call(app, None, path="/api/v1/openapi.json").status_code == 200


def test_requests_without_a_token_count_for_nothing(app):
    for _ in range(2 * LIMIT):
        response = call(app, None)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert call(app, app.config["good_token"]).status_code == 200


def test_good_tokens_count_for_nothing(app):
    for _ in range(2 * LIMIT):
        assert call(app, app.config["good_token"]).status_code == 200
    fill(app, LIMIT - 1)
    assert call(app, app.config["good_token"]).status_code == 200


def test_revoked_over_long_and_inactive_users_tokens_are_failures(app):
    accounts: Accounts = app.extensions["ossature.accounts"]
    revoked = accounts.create_token(app.config["good_user"], "old")
    accounts.revoke_token(accounts.list_tokens(app.config["good_user"])[-1].id)
    other = accounts.create_user("bob", "Bob", "a long password", ["sales"])
    inactive = accounts.create_token(other, "bob's")
    accounts.set_active(other, False)
    for token in (revoked, "x" * 100_000, inactive):
        assert call(app, token).status_code == 401
    fill(app, LIMIT - 3)
    assert call(app, app.config["good_token"]).status_code == 429
