"""Helpers of the API tests: an app over a seeded database, and callers with a bearer token."""

from __future__ import annotations

import tempfile

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import Engine
from engine.access.accounts import Accounts
from ossature.demo import seed_demo
from ui_renderer import create_app

PACKS = Path(__file__).resolve().parent / "packs"
BASE_ROLES = ("admin", "manager", "sales", "support", "read_only")
TEAMS = {"sales": "sales_france", "support": "customer_support", "manager": "management"}


def build_app(database_url: str, *packs: Path, seed: bool = True, config: dict[str, Any] | None = None) -> Flask:
    app = create_app({
        "DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, *packs], "TESTING": True,
        "FILES_DIR": tempfile.mkdtemp(prefix="ossature-files-"),  # uploads and exports of the test, not ./instance
        **(config or {}),
    })
    engine: Engine = app.extensions["ossature"]
    engine.migrate()
    if seed:
        seed_demo(engine)
    return app


class Caller:
    """A user of the API: a test client sending their bearer token and language."""

    def __init__(self, client: FlaskClient, token: str, user_id: int, lang: str = "en"):
        self.client, self.token, self.user_id, self.lang = client, token, user_id, lang

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept-Language": self.lang, **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers(kwargs.pop("headers", None)), **kwargs)


def make_caller(app: Flask, username: str, roles: tuple[str, ...], *, team: str | None = None,
                lang: str = "en") -> Caller:
    accounts: Accounts = app.extensions["ossature.accounts"]
    user_id = accounts.create_user(username, username.title(), "a long password", roles, team=team)
    return Caller(app.test_client(), accounts.create_token(user_id, "tests"), user_id, lang)
