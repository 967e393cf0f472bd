"""Fixtures of the API tests: a seeded app, and API callers holding each role of the base pack."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest
from flask import Flask

from api_support import TEAMS, Caller, build_app, make_caller
from engine import Engine


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["ossature"]


@pytest.fixture
def as_role(app: Flask) -> Callable[..., Caller]:
    """`as_role("sales")`: a new user holding that role (in the role's usual team), with a token."""
    made: dict[str, Caller] = {}

    def make(role: str, *, lang: str = "en") -> Caller:
        key = f"{role}_{lang}"
        if key not in made:
            made[key] = make_caller(app, f"api.{role}.{lang}".replace("_", "-"), (role,), team=TEAMS.get(role),
                                    lang=lang)
        return made[key]

    return make


@pytest.fixture
def admin(as_role: Callable[..., Caller]) -> Caller:
    return as_role("admin")


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory, scratch_databases) -> Iterator[str]:
    """One database for a whole test module (same choice as `database_url`: SQLite or a PostgreSQL schema)."""
    with scratch_databases(tmp_path_factory.mktemp("api")) as url:
        yield url


@pytest.fixture(scope="module")
def shared_app(module_database_url: str) -> Iterator[Flask]:
    """A seeded app shared by a module's tests: for tests that read, or change only records they create."""
    app = build_app(module_database_url)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture(scope="module")
def shared_admin(shared_app: Flask) -> Caller:
    return make_caller(shared_app, "api.shared.admin", ("admin",))
