"""Several roles at once, through the API: every pair of roles of the base pack x every entity
x every operation, on records of the caller's own, of their team and of another team.

The expected answers are those of tests/engine/access/test_permission_matrix.py, computed from the
role files (not from the code under test), here as HTTP statuses: 200/201 done, 403 refused,
404 outside what the caller may read, 422 a transition their roles may not take; a mass
update or an export leaves out a record outside their scope. One database for the module;
the records a case changes are put back before the next one.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from api_support import Caller, build_app
from engine import SYSTEM_ACTOR, Engine

_spec = importlib.util.spec_from_file_location(
    "permission_matrix_expectations", Path(__file__).resolve().parents[1] / "engine" / "access" / "test_permission_matrix.py")
matrix = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(matrix)  # the one place the expected answers are computed from the role files

PAIRS = list(itertools.combinations(matrix.ROLES, 2))
SERIALS = itertools.count(1)
"""Unique values of the records the cases create (the module's database keeps them)."""
STATUS = {"ok": 200, "denied": 403, "not_found": 404, "refused": 422}


class World:
    def __init__(self, app: Flask, caller: Caller, records: dict[tuple[str, str], tuple[int, int]]):
        self.app, self.caller, self.records = app, caller, records
        self.engine: Engine = app.extensions["ossature"]
        self.accounts = app.extensions["ossature.accounts"]


@pytest.fixture(scope="module")
def world(module_database_url: str) -> Iterator[World]:
    app = build_app(module_database_url)
    db = app.extensions["ossature"].db
    if db.dialect.name == "sqlite":  # a scratch file: no wait for the disk on each of the cases' commits
        sa.event.listen(db, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))
        db.dispose()
    accounts = app.extensions["ossature.accounts"]
    ann = accounts.create_user("matrix.ann", "Ann", "a long password", ["read_only"], team=matrix.TEAM)
    bob = accounts.create_user("matrix.bob", "Bob", "a long password", ["read_only"], team=matrix.TEAM)
    cid = accounts.create_user("matrix.cid", "Cid", "a long password", ["read_only"], team=matrix.OTHER_TEAM)
    caller = Caller(app.test_client(), accounts.create_token(ann, "matrix"), ann)
    records = matrix.give_records(app.extensions["ossature"], {"own": ann, "team": bob, "other": cid})
    yield World(app, caller, records)
    app.extensions["ossature"].dispose()


def put_back(engine: Engine, entity: str, ids: tuple[int, int]) -> None:
    """The records as the cases expect them: live, in the initial status."""
    table = engine.tables.of(entity)
    values: dict[str, Any] = {"deleted_at": None}
    if entity in matrix.MODEL.workflows:
        values["status"] = matrix.MODEL.workflows[entity].initial.code
    with engine.db.begin() as conn:
        conn.execute(table.update().where(table.c.id.in_(ids)).values(**values))


def version_of(engine: Engine, entity: str, record_id: int) -> int:
    table = engine.tables.of(entity)
    with engine.db.connect() as conn:
        return conn.execute(sa.select(table.c.version).where(table.c.id == record_id)).scalar_one()


def json_ready(values: dict[str, Any]) -> dict[str, Any]:
    """Stored values as the API takes them: dates in ISO 8601 (date-times in UTC), decimals as text."""
    def ready(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat() + "Z"
        if isinstance(value, dt.date):
            return value.isoformat()
        return value if isinstance(value, (str, int, bool, list)) else str(value)

    return {name: ready(value) for name, value in values.items()}


def exported_ids(caller: Caller, entity: str) -> set[int] | int:
    """The ids the caller's export holds, or the refusal's status."""
    response = caller.get(f"/{entity}/export?format=csv&tab=all&columns=id")
    if response.status_code != 200:
        return response.status_code
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {int(row[0]) for row in rows[1:] if row}


def outcomes(world: World, entity: str) -> dict[tuple[str, str], Any]:
    engine, caller = world.engine, world.caller
    field = matrix.free_text_field(entity)
    transition = matrix.chosen_transition(entity)
    exported = exported_ids(caller, entity)
    found: dict[tuple[str, str], Any] = {}
    for record_class in matrix.CLASSES:
        keep, other = world.records[entity, record_class]
        path = f"/{entity}/{keep}"
        found["read", record_class] = caller.get(path).status_code
        found["history", record_class] = caller.get(f"{path}/history").status_code
        found["export", record_class] = exported if isinstance(exported, int) else (
            200 if keep in exported else "left_out")
        values = json_ready(matrix.new_values(engine, entity, keep, next(SERIALS)))
        found["create", record_class] = caller.post(f"/{entity}", values).status_code
        # No file sent: past the permission check, the import asks for one (400); before it, 403.
        found["import", record_class] = caller.post(f"/{entity}/import").status_code
        # Each change leaves `keep` live (a transition moves it on, a merge trashes `other`):
        # the records are put back once, after the last of them.
        found["update", record_class] = caller.patch(
            path, {field: "changed", "version": version_of(engine, entity, keep)}).status_code
        mass = caller.post(f"/{entity}/mass-update", {"ids": [keep], "values": {field: "mass"}})
        found["mass_update", record_class] = mass.status_code if mass.status_code != 200 else (
            {(1, 1): 200, (0, 0): "left_out"}.get((mass.get_json()["matched"], mass.get_json()["changed"]), mass.get_json()))
        if transition is not None:
            found["transition", record_class] = caller.post(
                f"{path}/transitions/{transition.name}", {"version": version_of(engine, entity, keep)}).status_code
        found["merge", record_class] = caller.post(
            f"{path}/merge", {"other": other, "take": [], "version": version_of(engine, entity, keep)}).status_code
        found["delete", record_class] = caller.delete(f"{path}?version={version_of(engine, entity, keep)}").status_code
        put_back(engine, entity, (keep, other))
    return found


def as_status(operation: str, outcome: str) -> Any:
    if outcome == "left_out":
        return outcome
    if operation == "create" and outcome == "ok":
        return 201
    if operation == "import" and outcome == "ok":
        return 400
    return STATUS[outcome]


@pytest.mark.parametrize("entity", matrix.ENTITIES)
@pytest.mark.parametrize("roles", PAIRS, ids="+".join)
def test_the_api_gives_each_operation_the_scope_of_the_grants_allowing_it(
    world: World, roles: tuple[str, str], entity: str
) -> None:
    world.accounts.set_roles(world.caller.user_id, roles)
    applicable = [op for op in matrix.OPERATIONS if op != "transition" or matrix.chosen_transition(entity)]
    want = {(op, record_class): as_status(op, matrix.expected(roles, entity, op, record_class))
            for op in applicable for record_class in matrix.CLASSES}
    assert outcomes(world, entity) == want


def test_the_readme_example_sales_and_support_cannot_patch_another_teams_account(world: World) -> None:
    """The issue's reproduction: an account assigned to another team, read but not changed."""
    world.accounts.set_roles(world.caller.user_id, ("sales", "support"))
    keep, _ = world.records["account", "other"]
    version = version_of(world.engine, "account", keep)
    assert world.caller.get(f"/account/{keep}").status_code == 200
    refused = world.caller.patch(f"/account/{keep}", {"name": "Taken over", "version": version})
    assert refused.status_code == 403
    assert world.engine.records.get("account", keep, actor=SYSTEM_ACTOR)["name"] != "Taken over"
    mass = world.caller.post("/account/mass-update", {"ids": [keep], "values": {"name": "Taken over"}}).get_json()
    assert (mass["matched"], mass["changed"]) == (0, 0)
    assert keep not in exported_ids(world.caller, "account")
