"""Who may do what through the API: every base-pack role x every entity x every operation,
row scopes (sales sees only their own leads) and hidden characteristics (never shown)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from api_support import BASE_ROLES, PACKS, TEAMS, build_app, make_caller
from engine import SYSTEM_ACTOR, Actor, Engine

ENTITIES = ("account", "activity_report", "contact", "contact_list", "event", "lead", "opportunity", "task", "ticket",
            "user")
READ = frozenset({"list", "get", "history"})
ALL = READ | {"create", "update", "delete", "mass_update"}
NONE: frozenset[str] = frozenset()

# What definitions/roles/*.yaml grant, written out by hand.
ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    "admin": {entity: ALL for entity in ENTITIES},
    "manager": {**{entity: ALL for entity in ENTITIES}, "user": READ},
    "read_only": {entity: READ for entity in ENTITIES},
    "sales": {
        "lead": ALL - {"delete"}, "opportunity": ALL - {"delete"}, "account": ALL - {"delete"},
        "contact": ALL - {"delete"}, "event": ALL, "task": ALL, "activity_report": ALL - {"delete"},
        "contact_list": ALL, "user": READ, "ticket": NONE,
    },
    "support": {
        "ticket": ALL, "account": READ, "contact": READ, "contact_list": READ, "event": READ | {"create", "update"},
        "task": READ | {"create", "update"}, "user": READ,
        "lead": NONE, "opportunity": NONE, "activity_report": NONE,
    },
}
OPERATION_OF = {"list": "read", "get": "read", "history": "read", "create": "create", "update": "update",
                "delete": "delete", "mass_update": "mass_update"}


@pytest.fixture(scope="module")
def matrix_app(module_database_url: str) -> Iterator[Flask]:
    app = build_app(module_database_url)
    yield app
    app.extensions["ossature"].dispose()


def test_the_hand_written_table_matches_the_loaded_roles(matrix_app: Flask) -> None:
    model = matrix_app.extensions["ossature"].model
    assert set(model.entities) == set(ENTITIES) and set(model.roles) == set(BASE_ROLES)
    for role, entity in itertools.product(BASE_ROLES, ENTITIES):
        definition = model.roles[role]
        granted = {"read", "create", "update", "delete", "mass_update"} if definition.admin else (
            definition.entities[entity].operations if entity in definition.entities else set())
        assert {op for op, needs in OPERATION_OF.items() if needs in granted} == ALLOWED[role][entity], (role, entity)


def valid_values(engine: Engine, entity: str, actor: Actor, serial: int) -> dict[str, Any]:
    """Values for a new record: a seeded record's, less what this actor may not set, unique ones made new."""
    access = engine.records.permissions.access(actor, entity)
    with engine.records.reading(None) as reader:
        (sample,) = reader.find(entity, id=first_id(engine, entity))
    values: dict[str, Any] = {}
    for field in engine.model.entity(entity).fields:
        value = sample.get(field.name)
        if field.readonly or field.type == "status" or field.name in access.protected or value is None:
            continue
        if field.type == "link" and not engine.records.in_scope(field.entity, [value], actor=actor):
            continue  # a link must name a record the actor may read
        if field.unique:
            value = f"m{serial}.{value}" if field.type == "email" else f"{value}-m{serial}"
        values[field.name] = json_ready(value)
    return values


def json_ready(value: Any) -> Any:
    """A stored value as the API takes it: date-times in UTC (stored naive), dates in ISO 8601."""
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if not isinstance(value, (str, int, bool, list)) else value


def first_id(engine: Engine, entity: str) -> int:
    table = engine.tables.of(entity)
    with engine.db.connect() as conn:
        return conn.execute(sa.select(sa.func.min(table.c.id)).where(table.c.deleted_at.is_(None))).scalar_one()


def version_of(engine: Engine, entity: str, record_id: int) -> int:
    """The record's current version, which every change through the API names."""
    return engine.records.get(entity, record_id)["version"]


def a_change(engine: Engine, entity: str, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
    """One characteristic this actor may change, with a new value."""
    access = engine.records.permissions.access(actor, entity)
    for field in engine.model.entity(entity).fields:
        if field.readonly or field.name in access.protected:
            continue
        if field.type in ("string", "text") and not field.pattern and not field.unique:
            return {field.name: f"changed {record.get(field.name) or ''}"[: field.max_length or 255]}
    raise AssertionError(f"nothing to change on {entity}")


@pytest.mark.parametrize("role", BASE_ROLES)
def test_every_role_every_entity_every_operation(matrix_app: Flask, role: str) -> None:
    engine: Engine = matrix_app.extensions["ossature"]
    accounts = matrix_app.extensions["ossature.accounts"]
    caller = make_caller(matrix_app, f"matrix.{role}".replace("_", "-"), (role,), team=TEAMS.get(role))
    actor = accounts.actor_for(caller.user_id)
    outcomes: dict[tuple[str, str], int] = {}
    for serial, entity in enumerate(ENTITIES):
        allowed = ALLOWED[role][entity]
        outcomes[entity, "list"] = caller.get(f"/{entity}?tab=all").status_code
        created = caller.post(f"/{entity}", valid_values(engine, entity, actor, serial) if "create" in allowed else {})
        outcomes[entity, "create"] = created.status_code
        record = created.get_json() if created.status_code == 201 else engine.records.get(entity, first_id(engine, entity))
        path = f"/{entity}/{record['id']}"
        outcomes[entity, "get"] = caller.get(path).status_code
        outcomes[entity, "history"] = caller.get(f"{path}/history").status_code
        change = a_change(engine, entity, actor, record)
        outcomes[entity, "update"] = caller.patch(path, {**change, "version": version_of(engine, entity, record["id"])}).status_code
        mass = caller.post(f"/{entity}/mass-update", {"ids": [record["id"]], "values": {k: v + "!" for k, v in change.items()}})
        outcomes[entity, "mass_update"] = mass.status_code
        if mass.status_code == 200:
            assert mass.get_json()["changed"] == 1, (role, entity, mass.get_json())
        outcomes[entity, "delete"] = caller.delete(f"{path}?version={version_of(engine, entity, record['id'])}").status_code
    expected = {
        (entity, op): ({"create": 201}.get(op, 200) if op in ALLOWED[role][entity] else 403)
        for entity in ENTITIES for op in ("list", "create", "get", "history", "update", "mass_update", "delete")
    }
    assert outcomes == expected


# -- row scopes -------------------------------------------------------------------------------------


def owners(engine: Engine, entity: str, record: dict[str, Any]) -> set[int]:
    links = [f.name for f in engine.model.entity(entity).fields if f.type == "link" and f.entity == "user"]
    return {record[name] for name in ["created_by", *links] if record.get(name) is not None}


def team_members(engine: Engine, team: str) -> set[int]:
    users = engine.tables.of("user")
    with engine.db.connect() as conn:
        return set(conn.execute(sa.select(users.c.id).where(users.c.team == team)).scalars())


def test_sales_see_only_their_own_leads(app: Flask, as_role) -> None:
    engine: Engine = app.extensions["ossature"]
    ann, bob = as_role("sales"), make_caller(app, "bob", ("sales",), team="sales_france")
    theirs = [lead["id"] for lead in engine.records.list("lead", engine.records.list_request("lead", {"tab": ["all"]})).rows[:5]]
    engine.records.mass_update("lead", theirs[:3], {"assigned_to": ann.user_id}, SYSTEM_ACTOR)
    mine = ann.post("/lead", {"last_name": "Own", "phone": "0102030405"}).get_json()["id"]
    bobs = bob.post("/lead", {"last_name": "Bob's", "phone": "0102030405"}).get_json()["id"]
    listed = ann.get("/lead?tab=all&size=200").get_json()
    assert listed["total"] == 4
    assert sorted(item["id"] for item in listed["items"]) == sorted([*theirs[:3], mine])
    assert ann.get(f"/lead/{theirs[4]}").status_code == 404
    assert ann.get(f"/lead/{bobs}").status_code == 404
    assert ann.patch(f"/lead/{bobs}", {"company": "Taken", "version": version_of(engine, "lead", bobs)}).status_code == 404
    assert ann.get(f"/lead/{bobs}/history").status_code == 404
    grouped = ann.get("/lead?tab=all&group=status").get_json()
    assert sum(group["count"] for group in grouped["groups"]) == 4
    outside = ann.post("/lead/mass-update", {"ids": [bobs, mine], "values": {"nurturing": True}}).get_json()
    assert (outside["matched"], outside["changed"]) == (1, 1)
    assert engine.records.get("lead", bobs)["nurturing"] is False


@pytest.mark.parametrize(("role", "entity"), [("sales", "account"), ("sales", "contact"), ("support", "ticket")])
def test_team_scopes_keep_to_the_callers_team(shared_app: Flask, role: str, entity: str) -> None:
    engine: Engine = shared_app.extensions["ossature"]
    caller = make_caller(shared_app, f"team.{role}.{entity}".replace("_", "-"), (role,), team=TEAMS[role])
    team = team_members(engine, TEAMS[role])
    listed = caller.get(f"/{entity}?tab=all&size=200").get_json()
    everything = engine.records.count(entity)
    assert 0 < listed["total"] < everything
    assert all(owners(engine, entity, item) & team for item in listed["items"])


# -- hidden characteristics --------------------------------------------------------------------------


@pytest.fixture
def acme_app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url, PACKS / "acme")
    yield app
    app.extensions["ossature"].dispose()


HIDDEN = ("budget", "score", "sector")


def test_hidden_characteristics_never_show(acme_app: Flask) -> None:
    engine: Engine = acme_app.extensions["ossature"]
    auditor = make_caller(acme_app, "auditor", ("auditor",))
    admin = make_caller(acme_app, "boss", ("admin",))
    lead = admin.post("/lead", {"last_name": "Secret", "phone": "0102030405", "score": 2, "budget": "10",
                                "sector": "banking"}).get_json()
    assert admin.patch(f"/lead/{lead['id']}", {"score": 4, "budget": "20", "company": "Visible", "version": 1}).status_code == 200
    listed = auditor.get("/lead?tab=all&size=200").get_json()
    assert listed["total"] == engine.records.count("lead")
    assert all(not set(HIDDEN) & set(item) for item in listed["items"])
    assert "last_name" in listed["items"][0]
    record = auditor.get(f"/lead/{lead['id']}").get_json()
    assert not set(HIDDEN) & set(record) and record["company"] == "Visible"
    log = auditor.get(f"/lead/{lead['id']}/history").get_json()["items"]
    assert log[1]["changes"] == {"company": [None, "Visible"]}
    for query in ("f_score_min=1", "sort=-budget", "group=sector", "f_sector=banking"):
        assert auditor.get(f"/lead?{query}").status_code == 403, query
    assert auditor.get(f"/lead/{lead['id']}/history/score").status_code == 403
    assert admin.get(f"/lead/{lead['id']}/history/score").status_code == 200


def test_hidden_and_readonly_characteristics_cannot_be_written_or_leak_in_a_conflict(acme_app: Flask) -> None:
    auditor = make_caller(acme_app, "auditor", ("auditor",))
    admin = make_caller(acme_app, "boss", ("admin",))
    lead = admin.post("/lead", {"last_name": "Secret", "phone": "0102030405", "score": 2}).get_json()
    refused = auditor.patch(f"/lead/{lead['id']}", {"score": 5, "company": "Mine", "version": 1})
    assert refused.status_code == 422
    assert {name: errors[0]["rule"] for name, errors in refused.get_json()["errors"].items()} == {
        "score": "readonly", "company": "readonly"}
    changed = auditor.patch(f"/lead/{lead['id']}", {"city": "Lyon", "version": 1})
    assert changed.status_code == 200 and "score" not in changed.get_json()
    conflict = auditor.patch(f"/lead/{lead['id']}", {"city": "Nantes", "version": 1})
    assert conflict.status_code == 409
    assert conflict.get_json()["current"]["city"] == "Lyon"
    assert not set(HIDDEN) & set(conflict.get_json()["current"])
    assert auditor.post("/lead/mass-update", {"ids": [lead["id"]], "values": {"sector": "banking"}}).status_code == 422
    assert auditor.post("/lead", {"last_name": "New", "phone": "0102"}).status_code == 403


# -- links to records outside the caller's scope ----------------------------------------------------


def test_a_link_to_a_record_out_of_scope_is_refused_like_a_record_that_does_not_exist(app: Flask, as_role) -> None:
    """Same status, rule and words for a lead the caller may not read and for an id of no lead:
    the answer never tells which ids exist."""
    engine: Engine = app.extensions["ossature"]
    sales = as_role("sales")
    mine = sales.post("/lead", {"last_name": "Mine", "phone": "0102030405"}).get_json()["id"]
    theirs = first_id(engine, "lead")  # a demo lead, assigned to someone else
    assert sales.get(f"/lead/{theirs}").status_code == 404
    missing = engine.records.count("lead", include_deleted=True) + 1000

    def refusal(lead: int, send: Any) -> tuple[int, str]:
        response = send(lead)
        return response.status_code, re.sub(rf"\b{lead}\b", "<id>", response.get_data(as_text=True))

    task = sales.post("/task", {"subject": "Call", "lead": mine}).get_json()
    sends = {
        "create": lambda lead: sales.post("/task", {"subject": "Call", "lead": lead}),
        "update": lambda lead: sales.patch(f"/task/{task['id']}", {"lead": lead, "version": task["version"]}),
        "mass_update": lambda lead: sales.post("/task/mass-update", {"ids": [task["id"]], "values": {"lead": lead}}),
    }
    for lang in ("en", "fr"):
        sales.lang = lang
        for operation, send in sends.items():
            out_of_scope, nonexistent = refusal(theirs, send), refusal(missing, send)
            assert out_of_scope[0] == 422, (operation, out_of_scope)
            assert out_of_scope == nonexistent, operation
    assert engine.records.get("task", task["id"])["lead"] == mine
