"""Mandatory optimistic locking: ETag on read, `version` or If-Match on every change, 428/409/412."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from api_support import Caller
from engine import Engine
from metamodel import BASE_PACK, load_model
from ui_renderer.api.payload import ID_MAX

MODEL = load_model([BASE_PACK])
ENTITIES = sorted(MODEL.entities)
WORKFLOW_ENTITIES = sorted(e.name for e in MODEL.entities.values() if e.workflow)


def live_record(engine: Engine, entity: str) -> dict[str, Any]:
    table = engine.tables.of(entity)
    with engine.db.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(table.c.id)).where(table.c.deleted_at.is_(None))).scalar()
    assert found is not None, f"the demo data has no {entity}"
    return engine.records.get(entity, found)


def a_transition(entity: str, status: str) -> str:
    """One from the record's status when there is one; a stale version is refused before the state is judged."""
    transitions = MODEL.workflow(MODEL.entity(entity).workflow).transitions
    return next((t.name for t in transitions if status in t.from_statuses), transitions[0].name)


def new_lead(caller: Caller) -> dict[str, Any]:
    response = caller.post("/lead", {"last_name": "Lock", "phone": "0102030405"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- refusals, for every entity and every kind of change ------------------------------------------


def changes(entity: str, record_id: int) -> dict[str, Callable[..., Any]]:
    """Each change of one record: `call(caller, headers, **version)` sends `version` (if given) in the
    body of a PATCH and in the query string of a DELETE."""
    return {
        "patch": lambda c, h, **v: c.patch(f"/{entity}/{record_id}", {**v}, headers=h),
        "delete": lambda c, h, **v: c.delete(f"/{entity}/{record_id}", query_string=v, headers=h),
    }


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_change_without_a_version_answers_428_and_changes_nothing(
        shared_app: Flask, shared_admin: Caller, entity: str, method: str) -> None:
    engine: Engine = shared_app.extensions["ossature"]
    record = live_record(engine, entity)
    call = changes(entity, record["id"])[method]
    response = call(shared_admin, {})
    assert response.status_code == 428, response.get_json()
    body = response.get_json()
    assert body["error"] == "precondition_required" and "If-Match" in body["message"]
    assert engine.records.get(entity, record["id"]) == record


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_stale_version_answers_409_and_a_stale_if_match_412_both_with_the_current_record(
        shared_app: Flask, shared_admin: Caller, entity: str, method: str) -> None:
    engine: Engine = shared_app.extensions["ossature"]
    record = live_record(engine, entity)
    call = changes(entity, record["id"])[method]
    stale = record["version"] + 1
    for response, status in ((call(shared_admin, {}, version=stale), 409),
                             (call(shared_admin, {"If-Match": f'"{stale}"'}), 412)):
        assert response.status_code == status, response.get_json()
        body = response.get_json()
        assert body["error"] == ("conflict" if status == 409 else "precondition_failed")
        assert body["current"]["id"] == record["id"] and body["current"]["version"] == record["version"]
        assert response.headers["ETag"] == f'"{record["version"]}"'
    assert engine.records.get(entity, record["id"]) == record


@pytest.mark.parametrize("entity", WORKFLOW_ENTITIES)
def test_a_transition_needs_the_version_too(shared_app: Flask, shared_admin: Caller, entity: str) -> None:
    engine: Engine = shared_app.extensions["ossature"]
    record = live_record(engine, entity)
    path = f"/{entity}/{record['id']}/transitions/{a_transition(entity, record['status'])}"
    assert shared_admin.post(path, {}).status_code == 428
    assert shared_admin.post(path, {"version": record["version"] + 1}).status_code == 409
    assert shared_admin.post(path, {}, headers={"If-Match": f'"{record["version"] + 1}"'}).status_code == 412
    assert engine.records.get(entity, record["id"]) == record


# -- what a version may be -----------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "status"), [
    (0, 409), (ID_MAX, 409), (1.0, 200), (ID_MAX + 1, 400), (-1, 400), (1.5, 400), (True, 400), ("1", 400),
])
def test_body_version_bounds(admin: Caller, given: Any, status: int) -> None:
    lead = new_lead(admin)
    response = admin.patch(f"/lead/{lead['id']}", {"score": 1, "version": given})
    assert response.status_code == status, response.get_json()
    if status == 400:
        assert list(response.get_json()["errors"]) == ["version"]


@pytest.mark.parametrize(("header", "status"), [
    ('"1"', 200), ('W/"1"', 200), ("1", 200), ('"2"', 412), ('"999999999"', 412), ('"1000000000"', 400),
    ('"1", "2"', 400), ("abc", 400), ('"-1"', 400), ("*", 428), ("", 428),
])
def test_if_match_forms(admin: Caller, header: str, status: int) -> None:
    lead = new_lead(admin)
    response = admin.patch(f"/lead/{lead['id']}", {"score": 1}, headers={"If-Match": header})
    assert response.status_code == status, response.get_json()
    if status == 400:
        assert list(response.get_json()["errors"]) == ["If-Match"]


@pytest.mark.parametrize(("query", "status"), [
    ("version=1", 200), ("version=0", 409), (f"version={ID_MAX}", 409), (f"version={ID_MAX + 1}", 400),
    ("version=-1", 400), ("version=x", 400), ("version=", 428),
])
def test_delete_query_version_bounds(admin: Caller, query: str, status: int) -> None:
    lead = new_lead(admin)
    response = admin.delete(f"/lead/{lead['id']}?{query}")
    assert response.status_code == status, response.get_json()


def test_version_and_if_match_must_agree(admin: Caller) -> None:
    lead = new_lead(admin)
    disagree = admin.patch(f"/lead/{lead['id']}", {"score": 1, "version": 1}, headers={"If-Match": '"2"'})
    assert disagree.status_code == 409 and list(disagree.get_json()["errors"]) == ["If-Match"]
    agree = admin.patch(f"/lead/{lead['id']}", {"score": 1, "version": 1}, headers={"If-Match": '"1"'})
    assert agree.status_code == 200


# -- the whole cycle -------------------------------------------------------------------------------------


def test_read_change_with_the_etag_then_the_loser_of_a_race_is_refused(admin: Caller) -> None:
    lead = new_lead(admin)
    read = admin.get(f"/lead/{lead['id']}")
    etag = read.headers["ETag"]
    assert etag == f'"{read.get_json()["version"]}"'
    first = admin.patch(f"/lead/{lead['id']}", {"score": 2}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] == f'"{first.get_json()["version"]}"' != etag
    second = admin.patch(f"/lead/{lead['id']}", {"score": 4}, headers={"If-Match": etag})
    assert second.status_code == 412 and second.get_json()["current"]["score"] == 2
    retried = admin.patch(f"/lead/{lead['id']}", {"score": 4}, headers={"If-Match": second.headers["ETag"]})
    assert retried.status_code == 200 and retried.get_json()["score"] == 4
    deleted = admin.delete(f"/lead/{lead['id']}", headers={"If-Match": retried.headers["ETag"]})
    assert deleted.status_code == 200 and deleted.get_json()["deleted_at"]


def test_locking_messages_are_in_the_callers_language(as_role) -> None:
    french = as_role("admin", lang="fr")
    lead = new_lead(french)
    required = french.patch(f"/lead/{lead['id']}", {"score": 1}).get_json()
    assert required["message"].startswith("Envoyez la version lue")
    deleting = french.delete(f"/lead/{lead['id']}").get_json()
    assert "cette suppression" in deleting["message"]
    stale = french.patch(f"/lead/{lead['id']}", {"score": 1}, headers={"If-Match": '"5"'}).get_json()
    assert stale["message"].startswith("Quelqu'un a modifié cet enregistrement")
