"""Every endpoint of the JSON API on a seeded app, and every error status it answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from api_support import Caller
from engine import SYSTEM_ACTOR, Engine


def new_lead(caller: Caller, **values: Any) -> dict[str, Any]:
    response = caller.post("/lead", {"last_name": "Durand", "company": "Acme", "phone": "01 02 03 04 05", **values})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Token x"])
def test_every_call_needs_a_valid_bearer_token(shared_app: Flask, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = shared_app.test_client().get("/api/v1/lead", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"


def test_a_revoked_token_is_refused(app: Flask, admin: Caller) -> None:
    assert admin.get("/lead").status_code == 200
    accounts = app.extensions["ossature.accounts"]
    accounts.revoke_token(accounts.list_tokens(admin.user_id)[0].id)
    assert admin.get("/lead").status_code == 401


def test_the_openapi_document_needs_no_token(shared_app: Flask) -> None:
    response = shared_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.get_json()["openapi"] == "3.1.0"


# -- list ------------------------------------------------------------------------------------


def test_list_pages_filters_sorts_and_groups_like_the_list_view(shared_app: Flask, shared_admin: Caller) -> None:
    engine = shared_app.extensions["ossature"]
    response = shared_admin.get("/lead", query_string={"tab": "all", "f_score_min": "3", "sort": "-score,last_name",
                                                "group": "status", "size": "7", "page": "2"})
    assert response.status_code == 200
    body = response.get_json()
    expected = engine.records.list("lead", engine.records.list_request(
        "lead", {"tab": ["all"], "f_score_min": ["3"], "sort": ["-score,last_name"], "group": ["status"],
                 "size": ["7"], "page": ["2"]}))
    assert body["total"] == expected.total > 7
    assert (body["page"], body["size"], body["pages"]) == (2, 7, expected.pages)
    assert [item["id"] for item in body["items"]] == [row["id"] for row in expected.rows]
    assert all(item["score"] >= 3 for item in body["items"])
    assert sum(group["count"] for group in body["groups"]) == body["total"]
    assert {group["value"] for group in body["groups"]} <= {"new", "qualification_call", "commercial_qualification",
                                                            "converted", "lost"}


def test_list_values_are_json_decimals_as_strings_and_dates_iso(shared_admin: Caller) -> None:
    body = shared_admin.get("/lead", query_string={"tab": "all", "f_budget_min": "1", "size": "1"}).get_json()
    (lead,) = body["items"]
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", lead["budget"])
    assert lead["created_at"].endswith("Z") and "T" in lead["created_at"]
    assert body["groups"] is None


def test_list_repeated_filter_values_and_a_named_view(shared_admin: Caller) -> None:
    admin = shared_admin
    body = admin.get("/lead?tab=all&f_status=new&f_status=lost&size=200").get_json()
    assert {item["status"] for item in body["items"]} == {"new", "lost"}
    view = admin.get("/lead?view=my_open_leads&size=200").get_json()
    assert {item["status"] for item in view["items"]} <= {"new", "qualification_call", "commercial_qualification"}


@pytest.mark.parametrize(("query", "parameter"), [
    ("sort=nonsense", "sort"), ("f_nonsense=1", "f_nonsense"), ("f_score_min=abc", "f_score_min"),
    ("tab=closed", "tab"), ("group=last_name", "group"), ("page=x", "page"), ("view=nope", "view"),
    ("f_score_min=99999999999999999999", "f_score_min"), ("page=1000001", "page"),
    ("f_budget_min=1e999999", "f_budget_min"), ("q=a%00b", "q"),
])
def test_a_bad_query_parameter_answers_400_naming_it(shared_admin: Caller, query: str, parameter: str) -> None:
    response = shared_admin.get(f"/lead?{query}")
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert list(body["errors"]) == [parameter]
    assert body["errors"][parameter][0]["rule"] == "query"


@pytest.mark.parametrize(("query", "parameter", "english", "french"), [
    ("f_nonsense=1", "f_nonsense", "lead has no characteristic 'nonsense'", "lead n'a pas de caractéristique « nonsense »"),
    ("sort=description", "sort", "cannot sort by description (rich_text)", "impossible de trier par description (rich_text)"),
    ("view=nope", "view", "lead has no list view 'nope'", "lead n'a pas de vue liste « nope »"),
    ("f_score_min=abc", "f_score_min", "Not a valid integer.", "Valeur invalide pour le type integer."),
])
def test_a_bad_query_parameter_is_explained_in_the_callers_language(
        shared_admin: Caller, query: str, parameter: str, english: str, french: str) -> None:
    for lang, message in (("en", english), ("fr", french)):
        body = shared_admin.get(f"/lead?{query}", headers={"Accept-Language": lang}).get_json()
        assert body["errors"][parameter][0]["message"] == message


def test_a_bad_job_list_parameter_is_explained_in_french(shared_admin: Caller) -> None:
    body = shared_admin.get("/jobs?limit=0", headers={"Accept-Language": "fr"}).get_json()
    assert body["errors"]["limit"][0]["message"] == "attendu : un nombre entier de 1 à 200"


def test_page_one_million_is_the_last_accepted(shared_admin: Caller) -> None:
    response = shared_admin.get("/lead?page=1000000")
    assert response.status_code == 200 and response.get_json()["items"] == []


# -- read, create, update, delete, restore ----------------------------------------------------------


def test_get_returns_the_record_with_its_version_as_etag(admin: Caller) -> None:
    lead = new_lead(admin, score=4, budget="1234.5", tags=["newsletter"])
    response = admin.get(f"/lead/{lead['id']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.get_json()
    assert (body["last_name"], body["score"], body["budget"], body["tags"], body["status"]) == (
        "Durand", 4, "1234.50", ["newsletter"], "new")


def test_create_answers_201_with_the_location_of_the_new_record(admin: Caller) -> None:
    response = admin.post("/lead", {"last_name": "Martin", "email": "m@example.com", "budget": 10.25})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/lead/{body['id']}")
    assert (body["budget"], body["version"], body["created_by"]) == ("10.25", 1, admin.user_id)


def test_create_refuses_invalid_values_with_422_by_field_and_rule(admin: Caller) -> None:
    response = admin.post("/lead", {"last_name": "", "score": 6, "email": "nope", "unknown": 1})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["last_name"][0]["rule"] == "mandatory"
    assert errors["score"] == [{"rule": "max", "message": "Must be at most 5."}]
    assert errors["email"][0]["rule"] == "email"
    assert errors["unknown"][0]["rule"] == "unknown"


def test_score_bounds_min_max_and_one_past(admin: Caller) -> None:
    for score, status in ((0, 201), (5, 201), (-1, 422), (6, 422)):
        assert admin.post("/lead", {"last_name": "B", "phone": "0102030405", "score": score}).status_code == status


def test_messages_follow_accept_language(as_role) -> None:
    french = as_role("admin", lang="fr")
    response = french.post("/lead", {"last_name": "Durand", "phone": "0102", "score": 9})
    assert response.status_code == 422
    assert response.headers["Content-Language"] == "fr"
    body = response.get_json()
    assert body["message"] == "Certaines valeurs ne sont pas valides."
    assert body["errors"]["score"][0]["message"] == "Doit valoir au plus 5."
    assert french.get("/lead/999999").get_json()["message"] == "Aucun enregistrement Piste d'identifiant 999999."


def test_patch_refuses_a_status_change_outside_a_transition(admin: Caller) -> None:
    lead = new_lead(admin)
    response = admin.patch(f"/lead/{lead['id']}", {"status": "lost", "version": 1})
    assert response.status_code == 422
    assert response.get_json()["errors"]["status"][0]["rule"] == "transition"


def test_delete_moves_to_the_trash_and_restore_brings_back(admin: Caller) -> None:
    lead = new_lead(admin)
    assert admin.delete(f"/lead/{lead['id']}?version=7").status_code == 409
    deleted = admin.delete(f"/lead/{lead['id']}", headers={"If-Match": '"1"'})
    assert deleted.status_code == 200 and deleted.get_json()["deleted_at"]
    assert admin.get(f"/lead/{lead['id']}").status_code == 404
    trashed = admin.delete(f"/lead/{lead['id']}?version={deleted.get_json()['version']}")
    assert trashed.status_code == 409 and "already in the trash" in trashed.get_json()["message"]
    restored = admin.post(f"/lead/{lead['id']}/restore")
    assert restored.status_code == 200 and restored.get_json()["deleted_at"] is None
    again = admin.post(f"/lead/{lead['id']}/restore")
    assert again.status_code == 409 and "not in the trash" in again.get_json()["message"]


@pytest.mark.parametrize("path", ["/nope", "/nope/1", "/lead/999999", "/lead/2147483648", "/lead/99999999999999999999999",
                                  "/lead/1/nothing", "/lists/nope", "/lead/1/history/first_name"])
def test_unknown_things_answer_404_json(shared_admin: Caller, path: str) -> None:
    response = shared_admin.get(path)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"] == "not_found"


def test_a_wrong_method_answers_405_json_with_allow(shared_admin: Caller) -> None:
    response = shared_admin.client.put("/api/v1/lead/1", headers=shared_admin.headers())
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


def test_routes_outside_the_api_keep_their_html_errors(shared_app: Flask) -> None:
    response = shared_app.test_client().get("/lead/999999")
    assert not response.is_json


# -- bodies ----------------------------------------------------------------------------------------


def test_a_body_that_is_not_a_json_object_answers_400(shared_admin: Caller) -> None:
    admin = shared_admin
    broken = admin.client.post("/api/v1/lead", data="{not json", headers=admin.headers({"Content-Type": "application/json"}))
    assert broken.status_code == 400 and list(broken.get_json()["errors"]) == ["body"]
    listed = admin.post("/lead", [1, 2])
    assert listed.status_code == 400
    nan = admin.client.post("/api/v1/lead", data='{"score": NaN}', headers=admin.headers())
    assert nan.status_code == 400


def test_an_oversized_body_answers_413(shared_admin: Caller) -> None:
    response = shared_admin.post("/lead", {"last_name": "x", "description": "a" * (1024 * 1024)})
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_the_body_limit_is_configurable_and_just_under_it_is_read(app: Flask, admin: Caller) -> None:
    app.config["API_MAX_CONTENT_LENGTH"] = 200
    just = '{"last_name": "' + "x" * 40 + '", "phone": "0102030405", "description": "' + "d" * 101 + '"}'
    assert len(just) == 200
    assert admin.client.post("/api/v1/lead", data=just, headers=admin.headers()).status_code == 201
    over = just.replace('"d', '"dd')
    assert admin.client.post("/api/v1/lead", data=over, headers=admin.headers()).status_code == 413


def test_numbers_beyond_what_a_column_holds_are_refused(admin: Caller) -> None:
    response = admin.post("/lead", {"last_name": "x", "phone": "0102", "budget": "1e30", "assigned_to": 2**40})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"budget", "assigned_to"}
    huge = admin.post("/lead", {"last_name": "x", "phone": "0102", "score": 2**70})
    assert huge.status_code == 422 and set(huge.get_json()["errors"]) == {"score"}
    assert admin.post("/lead", {"last_name": "x", "phone": "0102", "budget": "9999999999999999.99"}).status_code == 201


# -- workflow, history, mass update, lists --------------------------------------------------------------


def test_transition_moves_the_record_and_refusals_say_why(as_role) -> None:
    sales = as_role("sales")
    lead = new_lead(sales, score=2)
    moved = sales.post(f"/lead/{lead['id']}/transitions/start_call", {"version": 1})
    assert moved.status_code == 200 and moved.get_json()["status"] == "qualification_call"
    guarded = sales.post(f"/lead/{lead['id']}/transitions/qualify", {"values": {"source": "website"}, "version": 2})
    assert guarded.status_code == 422
    body = guarded.get_json()
    assert (body["error"], body["reason"]) == ("transition_refused", "guard")
    assert body["message"] == "A lead needs a score of at least 3 to be qualified"
    missing = sales.post(f"/lead/{lead['id']}/transitions/qualify", {"values": {"score": 4}, "version": 2})
    assert missing.get_json()["reason"] == "required" and "source" in missing.get_json()["errors"]
    qualified = sales.post(f"/lead/{lead['id']}/transitions/qualify",
                           {"values": {"score": 4, "source": "website"}, "version": 2})
    assert qualified.status_code == 200 and qualified.get_json()["qualified_on"]
    stale = sales.post(f"/lead/{lead['id']}/transitions/lose", {"version": 1, "values": {"lost_reason": "no_budget"}})
    assert stale.status_code == 409
    unknown = sales.post(f"/lead/{lead['id']}/transitions/fly", {"version": 3})
    assert unknown.status_code == 422 and unknown.get_json()["reason"] == "unknown_transition"
    reopen = sales.post(f"/lead/{lead['id']}/transitions/lose", {"values": {"lost_reason": "no_budget"}},
                        headers={"If-Match": f'"{qualified.get_json()["version"]}"'})
    assert reopen.status_code == 200
    refused = sales.post(f"/lead/{lead['id']}/transitions/reopen", {"version": reopen.get_json()["version"]})
    assert refused.status_code == 422 and refused.get_json()["reason"] == "role"


def test_convert_takes_inputs(as_role) -> None:
    sales = as_role("sales")
    lead = new_lead(sales, score=4, source="website")
    version = lead["version"]
    for name in ("start_call", "qualify"):
        moved = sales.post(f"/lead/{lead['id']}/transitions/{name}", {"version": version})
        assert moved.status_code == 200
        version = moved.get_json()["version"]
    converted = sales.post(f"/lead/{lead['id']}/transitions/convert",
                           {"inputs": {"opportunity": {"values": {"name": "Acme deal"}}}, "version": version})
    assert converted.status_code == 200, converted.get_json()
    body = converted.get_json()
    assert body["status"] == "converted" and body["converted_opportunity"] and body["converted_account"]


def test_history_lists_every_change_and_field_history_its_periods(admin: Caller) -> None:
    lead = new_lead(admin, score=1)
    assert admin.patch(f"/lead/{lead['id']}", {"score": 3, "company": "Beta", "version": 1}).status_code == 200
    log = admin.get(f"/lead/{lead['id']}/history").get_json()["items"]
    assert [entry["action"] for entry in log] == ["create", "update"]
    assert log[1]["changes"] == {"score": [1, 3], "company": ["Acme", "Beta"]}
    periods = admin.get(f"/lead/{lead['id']}/history/score").get_json()
    assert [p["value"] for p in periods["periods"]] == [1, 3]
    start = periods["periods"][1]["valid_from"]
    assert admin.get(f"/lead/{lead['id']}/history/score", query_string={"as_of": start}).get_json()["value"] == 3
    before = admin.get(f"/lead/{lead['id']}/history/score", query_string={"as_of": "2000-01-01"}).get_json()
    assert before == {"field": "score", "as_of": "2000-01-01", "value": None}
    assert admin.get(f"/lead/{lead['id']}/history/score?as_of=yesterday").status_code == 400


def test_mass_update_by_ids_and_by_filter(admin: Caller, engine: Engine) -> None:
    leads = [new_lead(admin, last_name=f"Zyxmass{i}") for i in range(3)]
    ids = [lead["id"] for lead in leads]
    by_ids = admin.post("/lead/mass-update", {"ids": ids[:2], "values": {"sector": "retail"},
                                              "versions": {str(ids[1]): 9}})
    assert by_ids.status_code == 200
    assert by_ids.get_json()["matched"] == 2 and by_ids.get_json()["changed"] == 1
    assert list(by_ids.get_json()["refused"]) == [str(ids[1])]
    by_filter = admin.post("/lead/mass-update", {"filter": {"q": "zyxmass", "tab": "all"}, "values": {"nurturing": True}})
    assert by_filter.get_json() == {"matched": 3, "changed": 3, "refused": {}}
    assert all(engine.records.get("lead", i)["nurturing"] for i in ids)


@pytest.mark.parametrize("body", [
    {"values": {"sector": "retail"}}, {"ids": [1], "filter": {}, "values": {"sector": "retail"}},
    {"ids": "1", "values": {"sector": "retail"}}, {"ids": [0], "values": {"sector": "retail"}},
    {"ids": [1], "values": {}}, {"filter": {"f_nonsense": "1"}, "values": {"sector": "retail"}},
])
def test_mass_update_bad_requests_answer_400(shared_admin: Caller, body: dict[str, Any]) -> None:
    assert shared_admin.post("/lead/mass-update", body).status_code == 400


def test_mass_update_invalid_values_answer_422_and_write_nothing(admin: Caller, engine: Engine) -> None:
    response = admin.post("/lead/mass-update", {"filter": {"tab": "all"}, "values": {"score": 9}})
    assert response.status_code == 422 and response.get_json()["errors"]["score"][0]["rule"] == "max"
    with engine.db.connect() as conn:
        table = engine.tables.of("lead")
        assert conn.execute(sa.select(sa.func.count()).where(table.c.score == 9)).scalar_one() == 0


def test_value_lists_with_labels_in_the_request_language(as_role) -> None:
    body = as_role("read_only", lang="fr").get("/lists/teams").get_json()
    assert body["name"] == "teams" and body["label"] == "Équipes"
    first = body["values"][0]
    assert first == {"code": "sales_france", "label": "Ventes France", "labels": {"en": "Sales France",
                     "fr": "Ventes France"}, "order": 10, "retired": False, "color": None}


def test_hostile_values_do_not_reach_the_database(admin: Caller, engine: Engine) -> None:
    response = admin.post("/lead", {"last_name": "nul\x00byte", "phone": "0102"})
    assert response.status_code == 422 and "last_name" in response.get_json()["errors"]
    lone = admin.client.post("/api/v1/lead", data='{"last_name": "\\ud800", "phone": "0102"}', headers=admin.headers())
    assert lone.status_code == 422
    assert engine.records.count("lead") == 120


def test_system_created_records_are_read_like_any_other(admin: Caller, engine: Engine) -> None:
    record = engine.records.create("ticket", {"subject": "Printer on fire"}, SYSTEM_ACTOR)
    body = admin.get(f"/ticket/{record['id']}").get_json()
    assert body["subject"] == "Printer on fire" and body["created_by"] is None


def test_a_server_error_answers_json_with_an_error_id_that_is_logged(
        app: Flask, admin: Caller, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    engine: Engine = app.extensions["ossature"]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM sys_token")

    monkeypatch.setattr(engine.records, "get", broken)
    for lang, words in (("en", "logged under the id"), ("fr", "journalisée sous l'identifiant")):
        response = admin.get("/lead/1", headers={"Accept-Language": lang})
        assert response.status_code == 500 and response.is_json
        body = response.get_json()
        assert body["error"] == "server_error" and words in body["message"] and body["error_id"] in body["message"]
        assert "SELECT" not in response.get_data(as_text=True) and "RuntimeError" not in response.get_data(as_text=True)
        logged = [r for r in caplog.records if body["error_id"] in r.getMessage()]
        assert logged and logged[0].exc_info is not None, "the traceback is in the log, under the id"
