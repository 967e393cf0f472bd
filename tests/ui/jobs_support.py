"""Helpers of the jobs and import page tests: an app whose job files live in the test's folder,
users logged in with a role, and a dispatcher that lets the test decide when a job runs.

Jobs belong to a user, so these pages are tested as logged-in users (not the demo actor of
`PAGES_WITHOUT_LOGIN` apps, which has no user id).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient
from recording_dispatcher import Recorder

PASSWORD = "a long password"


def build_app(database_url: str, files_dir: Path, **config: Any) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(files_dir),
                      **PAGES_WITHOUT_LOGIN, **config})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    return app


def engine_of(app: Flask) -> Engine:
    return app.extensions["ossature"]


def login(app: Flask, username: str, roles: Iterable[str] = ("manager",), team: str | None = None) -> FlaskClient:
    """A test client logged in as a new user holding `roles` (its id is `client.user_id`)."""
    accounts = Accounts(engine_of(app))
    user_id = accounts.create_user(username, username.title(), PASSWORD, tuple(roles), team=team)
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text[:300]
    client.user_id = user_id  # type: ignore[attr-defined]
    return client


def actor_of(app: Flask, client: FlaskClient, lang: str = "en") -> Any:
    return Accounts(engine_of(app)).actor_for(client.user_id, lang=lang)  # type: ignore[attr-defined]




def hold_jobs(app: Flask) -> Recorder:
    recorder = Recorder()
    engine_of(app).jobs.dispatcher = recorder
    return recorder


def make_leads(app: Flask, count: int, prefix: str = "Lead") -> list[int]:
    rows = [{"last_name": f"{prefix}{i:03d}", "company": "Acme", "email": f"{prefix.lower()}{i}@example.com"}
            for i in range(count)]
    return engine_of(app).records.create_many("lead", rows, SYSTEM_ACTOR)


def versions(app: Flask, entity: str, ids: Iterable[int]) -> list[str]:
    """`id:version` keys, as the list page's check boxes send them."""
    records = engine_of(app).records
    return [f"{i}:{records.get(entity, i)['version']}" for i in ids]


def location_job(response: Any) -> int:
    found = re.search(r"[?&/]job[s=/]*(\d+)", response.headers.get("Location", ""))
    assert found, response.headers.get("Location")
    return int(found.group(1))
