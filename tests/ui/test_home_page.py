"""The home page as each user sees it: only the entities their roles let them read, each with
the number of records in their read scope.

The expected lists and counts are computed from the role files (the Model's role
definitions) and the table rows, not by asking the engine's permission code.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import Engine
from engine.access.accounts import Accounts
from metamodel.model import SCOPES
from ossature.demo import seed_demo
from ui_renderer import create_app

PASSWORD = "correct horse battery"
TEAM = "sales_france"
ROLE_SETS = [tuple(sorted(set(pair))) for pair in itertools.combinations_with_replacement(
    sorted(metamodel.load_model([metamodel.BASE_PACK]).roles), 2)]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, scratch_databases) -> Iterator[Flask]:
    with scratch_databases(tmp_path_factory.mktemp("home")) as url:
        app = create_app({"DATABASE_URL": url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t", "TESTING": True})
        engine: Engine = app.extensions["ossature"]
        engine.migrate()
        seed_demo(engine)
        accounts = Accounts(engine)
        accounts.migrate()
        for roles in ROLE_SETS:
            accounts.create_user(username(roles), "+".join(roles), PASSWORD, roles, team=TEAM)
        yield app
        engine.dispose()


def username(roles: tuple[str, ...]) -> str:
    return "home." + "-".join(roles).replace("_", "-")


def logged_in(app: Flask, roles: tuple[str, ...]) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": username(roles), "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302
    return client


def read_scopes(engine: Engine, roles: tuple[str, ...]) -> dict[str, str]:
    """Entity -> the widest scope of the grants of `roles` allowing to read it (role files)."""
    definitions = [engine.model.roles[name] for name in roles]
    if any(d.admin for d in definitions):
        return {name: "all" for name in engine.model.entities}
    scopes: dict[str, str] = {}
    for definition in definitions:
        for entity, permission in definition.entities.items():
            if "read" in permission.operations:
                scopes[entity] = max(scopes.get(entity, SCOPES[0]), permission.scope, key=SCOPES.index)
    return scopes


def expected_count(engine: Engine, entity: str, scope: str, user_id: int) -> int:
    """Live records whose creator or any user link is the user (own), one of their team (team), or any (all)."""
    table, users = engine.tables.of(entity), engine.tables.of("user")
    owners = [table.c.created_by] + [table.c[f.name] for f in engine.model.entity(entity).fields
                                     if f.type == "link" and f.entity == "user"]
    people = [user_id] if scope == "own" else sa.select(users.c.id).where(users.c.team == TEAM)
    query = sa.select(sa.func.count()).select_from(table).where(table.c.deleted_at.is_(None))
    if scope != "all":
        query = query.where(sa.or_(*(column.in_(people) for column in owners)))
    with engine.db.connect() as conn:
        return conn.execute(query).scalar_one()


def shown(html: str) -> dict[str, str]:
    """Entity name -> the count its row shows."""
    rows = re.findall(r'<td><code>(\w+)</code></td>\s*<td class="number">([^<]*)</td>', html)
    return dict(rows)


@pytest.mark.parametrize("roles", ROLE_SETS, ids="+".join)
def test_home_lists_what_the_user_may_read_with_counts_in_their_scope(app: Flask, roles: tuple[str, ...]) -> None:
    engine: Engine = app.extensions["ossature"]
    user_id = Accounts(engine).user_id(username(roles))
    scopes = read_scopes(engine, roles)
    response = logged_in(app, roles).get("/")
    assert response.status_code == 200
    html = response.text
    assert shown(html) == {entity: str(expected_count(engine, entity, scope, user_id)) for entity, scope in scopes.items()}
    for entity in set(engine.model.entities) - set(scopes):
        assert f"/{entity}/" not in html  # no link to a list they may not read


def test_the_counts_differ_from_the_totals_where_the_scope_is_narrower(app: Flask) -> None:
    """The case the issue names: a sales representative does not see every lead counted."""
    engine: Engine = app.extensions["ossature"]
    counts = shown(logged_in(app, ("sales",)).get("/").text)
    assert int(counts["lead"]) < engine.records.count("lead")
    assert "ticket" not in counts
