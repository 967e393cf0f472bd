"""The API of duplicates and merging: groups, merges, refusals in both languages, and the
OpenAPI description (checked with schemathesis against the answers)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from api_support import Caller, build_app
from engine import SYSTEM_ACTOR, Engine


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url, seed=False)
    yield app
    app.extensions["ossature"].dispose()


def add(engine: Engine, entity: str, **values: Any) -> int:
    return engine.records.create(entity, values, SYSTEM_ACTOR)["id"]


@pytest.fixture
def twins(engine: Engine) -> dict[str, int]:
    account = add(engine, "account", name="Société Générale")
    keep = add(engine, "contact", last_name="Durand", first_name="Zoé", account=account, email="zoe@sg.test")
    other = add(engine, "contact", last_name="DURAND", first_name="Zoe", account=account, email="Zoe@SG.test",
                phone="+33 1 02")
    event = add(engine, "event", subject="Lunch", starts_at="2026-03-01T12:00", contact=other)
    return {"account": account, "keep": keep, "other": other, "event": event}


# -- groups --------------------------------------------------------------------------------------
def test_groups_of_every_rule(admin: Caller, twins: dict[str, int]) -> None:
    response = admin.get("/contact/duplicates")

    assert response.status_code == 200
    assert response.get_json() == {"items": [
        {"rule": "same_email", "key": ["zoe@sg.test"], "ids": [twins["keep"], twins["other"]]},
        {"rule": "same_name_and_account", "key": ["durand", "zoe", twins["account"]],
         "ids": [twins["keep"], twins["other"]]},
    ], "more": False}


def test_one_rule_and_a_limit(admin: Caller, twins: dict[str, int]) -> None:
    only = admin.get("/contact/duplicates?rule=same_name_and_account").get_json()
    assert [item["rule"] for item in only["items"]] == ["same_name_and_account"]

    assert admin.get("/contact/duplicates?limit=1").get_json()["more"] is True
    assert len(admin.get("/contact/duplicates?limit=1").get_json()["items"]) == 1
    assert admin.get("/contact/duplicates?limit=2").get_json()["more"] is False
    assert admin.get("/contact/duplicates?limit=1000").status_code == 200


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "two", "1.5"])
def test_bad_limit_is_refused(admin: Caller, limit: str) -> None:
    response = admin.get(f"/contact/duplicates?limit={limit}")

    assert response.status_code == 400
    assert response.get_json()["errors"] == {"limit": [{"rule": "query",
                                                        "message": "expected a whole number from 1 to 1000"}]}


def test_unknown_rule_or_entity_is_not_found(as_role: Callable[..., Caller]) -> None:
    french = as_role("admin", lang="fr")

    response = french.get("/contact/duplicates?rule=same_shoe")
    assert response.status_code == 400, "the document lists the rules"
    assert list(response.get_json()["errors"]) == ["rule"]
    assert response.get_json()["errors"]["rule"][0]["message"].startswith("attendu : une valeur parmi ")
    assert french.get("/planet/duplicates").status_code == 404
    assert french.get("/user/duplicates?rule=x").status_code == 404, "an entity without rules has no parameter to check"


def test_groups_need_a_token_and_read_permission(app: Flask, as_role: Callable[..., Caller], twins: dict[str, int]) -> None:
    assert app.test_client().get("/api/v1/contact/duplicates").status_code == 401
    assert as_role("read_only").get("/contact/duplicates").status_code == 200


# -- merging -------------------------------------------------------------------------------------
def test_merge_takes_values_moves_links_and_answers_the_kept_record(admin: Caller, engine: Engine,
                                                                      twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]

    response = admin.post(f"/contact/{keep}/merge", {"other": other, "take": ["phone", "email"],
                                                     "version": 1, "other_version": 1})

    assert response.status_code == 200
    body = response.get_json()
    assert (body["record"]["id"], body["record"]["phone"], body["record"]["email"]) == (keep, "+33 1 02", "Zoe@SG.test")
    assert body["merged_from"] == other
    assert body["taken"] == ["phone", "email"]
    assert body["moved"] == {"event.contact": 1}
    assert response.headers["ETag"] == '"2"'
    assert engine.records.get("event", twins["event"])["contact"] == keep
    assert engine.records.get("contact", other, include_deleted=True)["deleted_at"] is not None
    history = admin.get(f"/contact/{other}/history").get_json()["items"]
    assert history[-1]["action"] == "merge"
    assert history[-1]["changes"] == {"merged_into": keep, "moved": {"event.contact": 1}}


def test_merge_without_take_keeps_every_value(admin: Caller, engine: Engine, twins: dict[str, int]) -> None:
    response = admin.post(f"/contact/{twins['keep']}/merge", {"other": twins["other"]})

    assert response.status_code == 200
    assert response.get_json()["record"]["phone"] is None


@pytest.mark.parametrize("body, field", [
    ({}, "other"), ({"other": "2"}, "other"), ({"other": 0}, "other"), ({"other": True}, "other"),
    ({"other": 2**31}, "other"), ({"other": 2, "take": "phone"}, "take"), ({"other": 2, "take": [1]}, "take"),
])
def test_bad_body_is_refused(admin: Caller, twins: dict[str, int], body: dict[str, Any], field: str) -> None:
    response = admin.post(f"/contact/{twins['keep']}/merge", body)

    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [field]


def test_an_unknown_field_to_take_is_refused_by_the_document(admin: Caller, engine: Engine) -> None:
    keep, other = (add(engine, "lead", last_name=name, company="Acme", phone="+33 1 02 03 04 05") for name in ("A", "B"))
    response = admin.post(f"/lead/{keep}/merge", {"other": other, "take": ["phone", "nickname"]})
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["take"]
    assert engine.records.get("lead", other)["deleted_at"] is None


@pytest.mark.parametrize("take, reason, message", [
    (["status"], "status", "The status cannot be taken from the other record"),
    (["qualified_on"], "not_updatable", "You may not change 'Qualified on' of Lead"),
])
def test_refused_fields(admin: Caller, engine: Engine, take: list[str], reason: str, message: str) -> None:
    keep, other = (add(engine, "lead", last_name=name, company="Acme", phone="+33 1 02 03 04 05") for name in ("A", "B"))

    response = admin.post(f"/lead/{keep}/merge", {"other": other, "take": take})

    assert response.status_code == 422
    body = response.get_json()
    assert (body["error"], body["reason"]) == ("merge_refused", reason)
    assert body["message"].startswith(message)
    assert engine.records.get("lead", other)["deleted_at"] is None


def test_merging_a_record_with_itself_is_a_conflict_in_french(as_role: Callable[..., Caller],
                                                               twins: dict[str, int]) -> None:
    response = as_role("admin", lang="fr").post(f"/contact/{twins['keep']}/merge", {"other": twins["keep"]})

    assert response.status_code == 409
    assert response.get_json() == {"error": "merge_refused", "reason": "same_record",
                                   "message": f"Contact {twins['keep']} ne peut pas être fusionné avec lui-même."}


def test_trashed_other_and_stale_version_are_conflicts(admin: Caller, engine: Engine, twins: dict[str, int]) -> None:
    stale = admin.post(f"/contact/{twins['keep']}/merge", {"other": twins["other"], "other_version": 7})
    assert stale.status_code == 409
    assert stale.get_json()["error"] == "conflict"

    engine.records.delete("contact", twins["other"], SYSTEM_ACTOR)
    trashed = admin.post(f"/contact/{twins['keep']}/merge", {"other": twins["other"]})
    assert trashed.status_code == 409
    assert trashed.get_json()["reason"] == "trashed"


def test_missing_records_are_not_found(admin: Caller, twins: dict[str, int]) -> None:
    missing_other = admin.post(f"/contact/{twins['keep']}/merge", {"other": 99999})
    assert missing_other.status_code == 422, "the record addressed exists: the reference in the body is wrong"
    assert missing_other.get_json()["reason"] == "other_missing"
    assert missing_other.get_json()["message"] == "There is no Contact 99999 to merge into this one."
    assert admin.post("/contact/99999/merge", {"other": twins["keep"]}).status_code == 404
    assert admin.post(f"/contact/{2**31}/merge", {"other": twins["keep"]}).status_code == 404
    assert admin.post("/planet/1/merge", {"other": 2}).status_code == 404


def test_roles_without_delete_may_not_merge(as_role: Callable[..., Caller], engine: Engine,
                                            twins: dict[str, int]) -> None:
    response = as_role("sales").post(f"/contact/{twins['keep']}/merge", {"other": twins["other"]})

    assert response.status_code == 403
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None


# -- the OpenAPI description ---------------------------------------------------------------------
def test_document_describes_the_routes(admin: Caller) -> None:
    document = admin.get("/openapi.json").get_json()

    groups = document["paths"]["/contact/duplicates"]["get"]
    assert groups["parameters"][0]["schema"]["enum"] == ["same_email", "same_name_and_account"]
    assert "rule" not in [p["name"] for p in document["paths"]["/task/duplicates"]["get"]["parameters"]]
    merge = document["paths"]["/contact/{id}/merge"]["post"]
    assert merge["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ContactMergeRequest"}
    assert {"400", "401", "403", "404", "409", "422"} <= set(merge["responses"])


@pytest.mark.parametrize("role", ["admin", "sales"])
def test_generated_requests_get_documented_answers(app: Flask, as_role: Callable[..., Caller], twins: dict[str, int],
                                                   role: str) -> None:
    caller = as_role(role)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path in (
        "/contact/duplicates", "/account/duplicates", "/task/duplicates", "/contact/{id}/merge", "/task/{id}/merge")]
    assert len(operations) == 5
    failures = []
    for operation in operations:
        for path_parameters in (None, {"id": twins["keep"]}) if "{id}" in operation.path else (None,):
            strategy = (operation.as_strategy(path_parameters=path_parameters) if path_parameters
                        else operation.as_strategy())

            @given(case=strategy)
            @settings(max_examples=8, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {caller.token}"}
                case.call_and_validate(checks=[checks.not_a_server_error, openapi_checks.status_code_conformance,
                                               openapi_checks.content_type_conformance,
                                               openapi_checks.response_schema_conformance])

            try:
                run()
            except Exception as error:
                failures.append(f"{operation.label} {path_parameters or ''}: {str(error)[:2000]}")
    assert not failures, "\n\n".join(failures)
