"""Batch writes: POST and PATCH /api/v1/<entity>/batch, at their boundaries (an empty batch, exactly
the limit and one more, one bad row among 1,000, a row too large, a body too large), all or
nothing or partial, every refusal at its row's index."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from flask import Flask

from api_support import PACKS, Caller, build_app, make_caller
from engine import Engine
from engine.installation.settings import DEFAULT_API_BATCH_LIMIT
from ui_renderer.api.batch_openapi import ROW_MAX_BYTES

LIMIT = DEFAULT_API_BATCH_LIMIT


def lead(i: int, **values: Any) -> dict[str, Any]:
    return {"last_name": f"Batch {i}", "phone": "01 02 03 04 05", **values}


def created(caller: Caller, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = caller.post("/lead/batch", {"records": rows})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["items"]


def row_rules(body: dict[str, Any]) -> dict[int, dict[str, str]]:
    """Index -> characteristic -> rule of every refused row of an answer."""
    return {entry["index"]: {name: found[0]["rule"] for name, found in entry["errors"].items()}
            for entry in body["errors"]}


# -- creating ----------------------------------------------------------------------------------------


def test_a_batch_creates_every_row_and_answers_ids_and_versions_by_index(shared_app: Flask, shared_admin: Caller) -> None:
    items = created(shared_admin, [lead(1, score=2), lead(2, city="Lyon")])
    assert [(item["index"], item["version"]) for item in items] == [(0, 1), (1, 1)]
    first = shared_admin.get(f"/lead/{items[0]['id']}").get_json()
    assert (first["last_name"], first["score"], first["status"]) == ("Batch 1", 2, "new")
    assert shared_admin.get(f"/lead/{items[1]['id']}").get_json()["city"] == "Lyon"
    log = shared_admin.get(f"/lead/{items[1]['id']}/history").get_json()["items"]
    assert [(entry["action"], entry["actor_id"]) for entry in log] == [("create", shared_admin.user_id)]


def test_one_bad_row_among_1000_writes_nothing_and_names_its_index_and_field(app: Flask, admin: Caller) -> None:
    engine: Engine = app.extensions["ossature"]
    before = engine.records.count("lead")
    rows = [lead(i) for i in range(LIMIT)]
    rows[617]["score"] = 9
    response = admin.post("/lead/batch", {"records": rows})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid" and body["message"] == "Some records are not valid: nothing was written."
    assert body["errors"] == [{"index": 617, "errors": {"score": [{"rule": "max", "message": "Must be at most 5."}]}}]
    assert engine.records.count("lead") == before


def test_exactly_the_limit_is_taken_and_one_more_is_refused_naming_the_limit(app: Flask, admin: Caller) -> None:
    engine: Engine = app.extensions["ossature"]
    before = engine.records.count("lead")
    assert len(created(admin, [lead(i) for i in range(LIMIT)])) == LIMIT
    response = admin.post("/lead/batch", {"records": [lead(i) for i in range(LIMIT + 1)]})
    assert response.status_code == 400
    (error,) = response.get_json()["errors"]["records"]
    assert error == {"rule": "max_items", "message": f"A batch holds at most {LIMIT} records; this one has {LIMIT + 1}."}
    assert engine.records.count("lead") == before + LIMIT


@pytest.mark.parametrize("method", ["post", "patch"])
def test_an_empty_batch_is_a_bad_request(shared_admin: Caller, method: str) -> None:
    response = getattr(shared_admin, method)("/lead/batch", {"records": []})
    assert response.status_code == 400
    assert response.get_json()["errors"]["records"][0]["rule"] == "min_items"


@pytest.mark.parametrize("body, name", [
    ({}, "records"),
    ({"records": {"last_name": "x"}}, "records"),
    ({"records": [lead(1), "x"]}, "records.1"),
    ({"records": [lead(1)], "partial": "yes"}, "partial"),
    ({"records": [lead(1)], "values": {}}, "values"),
])
def test_a_body_that_is_no_batch_is_a_bad_request_naming_what_is_wrong(shared_admin: Caller, body: Any, name: str) -> None:
    response = shared_admin.post("/lead/batch", body)
    assert response.status_code == 400 and list(response.get_json()["errors"]) == [name]


def test_partial_writes_the_good_rows_and_lists_the_refused_ones(app: Flask, admin: Caller) -> None:
    engine: Engine = app.extensions["ossature"]
    before = engine.records.count("lead")
    rows = [lead(0), lead(1, score=-1), lead(2), {"first_name": "No last name", "phone": "0102"}]
    response = admin.post("/lead/batch", {"records": rows, "partial": True})
    assert response.status_code == 200
    body = response.get_json()
    assert [item["index"] for item in body["items"]] == [0, 2]
    assert row_rules(body) == {1: {"score": "min"}, 3: {"last_name": "mandatory"}}
    assert engine.records.count("lead") == before + 2


def test_a_row_too_large_is_refused_at_its_index(app: Flask, admin: Caller) -> None:
    big = lead(1, description="x" * ROW_MAX_BYTES)
    response = admin.post("/lead/batch", {"records": [lead(0), big, lead(2)]})
    assert response.status_code == 422
    (entry,) = response.get_json()["errors"]
    assert entry["index"] == 1 and entry["errors"]["record"][0]["rule"] == "too_large"
    assert str(ROW_MAX_BYTES) in entry["errors"]["record"][0]["message"]
    partial = admin.post("/lead/batch", {"records": [lead(0), big, lead(2)], "partial": True}).get_json()
    assert [item["index"] for item in partial["items"]] == [0, 2] and row_rules(partial) == {1: {"record": "too_large"}}


@pytest.mark.parametrize("extra, status", [(0, 201), (1, 422)])
def test_a_row_may_take_exactly_the_row_limit(shared_admin: Caller, extra: int, status: int) -> None:
    row = lead(1, description="")
    size = len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
    row["description"] = "é" * ((ROW_MAX_BYTES - size) // 2) + "x" * ((ROW_MAX_BYTES - size) % 2 + extra)
    assert len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()) == ROW_MAX_BYTES + extra
    response = shared_admin.post("/lead/batch", {"records": [row, lead(2)]})
    assert response.status_code == status, response.get_json()
    if status == 422:
        assert row_rules(response.get_json()) == {0: {"record": "too_large"}}


def test_a_full_batch_of_ordinary_rows_may_exceed_the_api_body_limit(app: Flask, admin: Caller) -> None:
    rows = [lead(i, description="A few words about this lead. " * 40) for i in range(LIMIT)]
    assert len(str(rows)) > 1024 * 1024  # above API_MAX_CONTENT_LENGTH's default
    assert len(created(admin, rows)) == LIMIT


@pytest.fixture
def small_body_app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url, seed=False, config={"API_BATCH_MAX_CONTENT_LENGTH": 2000})
    yield app
    app.extensions["ossature"].dispose()


def test_a_body_over_the_batch_limit_is_refused_before_it_is_read(small_body_app: Flask) -> None:
    caller = make_caller(small_body_app, "api.admin", ("admin",))
    response = caller.post("/lead/batch", {"records": [lead(i) for i in range(40)]})
    assert response.status_code == 413
    assert response.get_json() == {"error": "too_large",
                                   "message": "The request body is too large (at most 2000 bytes)."}
    assert caller.post("/lead/batch", {"records": [lead(1)]}).status_code == 201


def test_each_row_gets_the_checks_of_a_single_write_at_its_index(shared_admin: Caller) -> None:
    rows = [
        lead(0, score="3"),                    # the document wants a number
        lead(1, assigned_to=2**40),            # no column holds it
        lead(2, city="Ly\u0000on"),            # no database stores NUL
        lead(3, status="lost"),                # a new lead starts as new
        lead(4, nope=1),                       # not a characteristic
        lead(5),
    ]
    response = shared_admin.post("/lead/batch", {"records": rows})
    assert response.status_code == 422
    assert row_rules(response.get_json()) == {
        0: {"score": "type"}, 1: {"assigned_to": "type"}, 2: {"city": "characters"}, 3: {"status": "type"},
        4: {"nope": "unknown"},
    }


def test_errors_speak_the_callers_language(as_role) -> None:
    french = as_role("admin", lang="fr")
    response = french.post("/lead/batch", {"records": [lead(0, score=9)]})
    body = response.get_json()
    assert body["message"] == "Certains enregistrements ne sont pas valides : rien n'a été enregistré."
    assert body["errors"][0]["errors"]["score"][0]["message"] == "Doit valoir au plus 5."


def test_a_caller_who_may_not_create_is_refused_the_whole_batch(as_role) -> None:
    response = as_role("read_only").post("/lead/batch", {"records": [lead(0)]})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_unknown_entity_and_unknown_method(shared_admin: Caller) -> None:
    assert shared_admin.post("/nope/batch", {"records": [lead(0)]}).status_code == 404
    response = shared_admin.get("/lead/batch")
    assert response.status_code == 405 and response.headers["Allow"] == "OPTIONS, PATCH, POST"


# -- changing ----------------------------------------------------------------------------------------


def test_a_batch_changes_each_record_with_its_audit_and_history(shared_admin: Caller) -> None:
    a, b = created(shared_admin, [lead(1, score=1), lead(2, score=1)])
    response = shared_admin.patch("/lead/batch", {"records": [
        {"id": a["id"], "version": 1, "score": 4, "city": "Paris"},
        {"id": b["id"], "version": 1, "score": 5},
    ]})
    assert response.status_code == 200
    assert response.get_json() == {"items": [{"index": 0, "id": a["id"], "version": 2},
                                             {"index": 1, "id": b["id"], "version": 2}]}
    record = shared_admin.get(f"/lead/{a['id']}")
    assert (record.get_json()["score"], record.get_json()["city"], record.headers["ETag"]) == (4, "Paris", '"2"')
    log = shared_admin.get(f"/lead/{b['id']}/history").get_json()["items"]
    assert [(entry["action"], entry["version"], entry["changes"]) for entry in log] == [
        ("create", 1, None), ("update", 2, {"score": [1, 5]})]
    periods = shared_admin.get(f"/lead/{a['id']}/history/score").get_json()["periods"]
    assert [period["value"] for period in periods] == [1, 4]


def test_one_bad_change_among_1000_writes_nothing(app: Flask, admin: Caller) -> None:
    items = created(admin, [lead(i) for i in range(LIMIT)])
    rows = [{"id": item["id"], "version": 1, "city": "Nantes"} for item in items]
    rows[999]["score"] = 6
    response = admin.patch("/lead/batch", {"records": rows})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"index": 999, "id": items[999]["id"],
                                              "errors": {"score": [{"rule": "max", "message": "Must be at most 5."}]}}]
    for item in (items[0], items[998]):
        record = admin.get(f"/lead/{item['id']}").get_json()
        assert (record["version"], record["city"]) == (1, None)
    response = admin.patch("/lead/batch", {"records": rows[:LIMIT - 1]})
    assert response.status_code == 200 and {item["version"] for item in response.get_json()["items"]} == {2}


def test_a_stale_version_is_a_conflict_at_its_index_with_the_version_now_stored(shared_admin: Caller) -> None:
    a, b = created(shared_admin, [lead(1), lead(2)])
    assert shared_admin.patch(f"/lead/{b['id']}", {"city": "Lille", "version": 1}).status_code == 200
    rows = [{"id": a["id"], "version": 1, "city": "Metz"}, {"id": b["id"], "version": 1, "city": "Metz"}]
    response = shared_admin.patch("/lead/batch", {"records": rows})
    assert response.status_code == 422
    (entry,) = response.get_json()["errors"]
    assert (entry["index"], entry["id"], entry["current_version"]) == (1, b["id"], 2)
    assert entry["errors"]["version"][0]["rule"] == "conflict"
    assert shared_admin.get(f"/lead/{a['id']}").get_json()["city"] is None
    partial = shared_admin.patch("/lead/batch", {"records": rows, "partial": True}).get_json()
    assert partial["items"] == [{"index": 0, "id": a["id"], "version": 2}]
    assert partial["errors"][0]["current_version"] == 2


@pytest.mark.parametrize("row, field, rule", [
    ({"city": "Metz"}, "version", "required"),
    ({"version": "1", "city": "Metz"}, "version", "type"),
    ({"version": 1, "id": None, "city": "Metz"}, "id", "required"),
    ({"version": 1, "id": 0, "city": "Metz"}, "id", "type"),
])
def test_every_change_names_its_record_and_the_version_read(shared_admin: Caller, row: dict, field: str, rule: str) -> None:
    (a,) = created(shared_admin, [lead(1)])
    response = shared_admin.patch("/lead/batch", {"records": [{"id": a["id"], **row}]})
    assert response.status_code == 422
    assert row_rules(response.get_json()) == {0: {field: rule}}
    assert shared_admin.get(f"/lead/{a['id']}").get_json()["version"] == 1


def test_a_record_named_twice_is_refused_on_the_later_row(shared_admin: Caller) -> None:
    (a,) = created(shared_admin, [lead(1)])
    rows = [{"id": a["id"], "version": 1, "city": "Metz"}, {"id": a["id"], "version": 1, "city": "Caen"}]
    response = shared_admin.patch("/lead/batch", {"records": rows})
    assert row_rules(response.get_json()) == {1: {"id": "repeated"}}


def test_ids_out_of_scope_and_ids_of_no_record_get_the_same_answer(app: Flask, as_role) -> None:
    sales, other = as_role("sales"), make_caller(app, "api.other.sales", ("sales",), team="sales_france")
    (mine,) = created(sales, [lead(1)])
    (theirs,) = created(other, [lead(2)])
    missing = theirs["id"] + 10_000
    rows = [{"id": record_id, "version": 1, "city": "Metz"} for record_id in (mine["id"], theirs["id"], missing)]
    response = sales.patch("/lead/batch", {"records": rows, "partial": True})
    body = response.get_json()
    assert response.status_code == 200 and [item["index"] for item in body["items"]] == [0]
    answers = {(entry["errors"]["id"][0]["rule"], entry["errors"]["id"][0]["message"].replace(str(entry["id"]), "<id>"))
               for entry in body["errors"]}
    assert answers == {("not_found", "There is no Lead with id <id> that you may change.")}
    assert other.get(f"/lead/{theirs['id']}").get_json()["city"] is None


def test_read_only_characteristics_and_the_status_cannot_be_changed(as_role) -> None:
    sales = as_role("sales")
    (a,) = created(sales, [lead(1)])
    rows = [{"id": a["id"], "version": 1, "budget": "10"}]
    assert row_rules(sales.patch("/lead/batch", {"records": rows}).get_json()) == {0: {"budget": "readonly"}}
    rows = [{"id": a["id"], "version": 1, "status": "new", "city": "Metz"}]
    assert sales.patch("/lead/batch", {"records": rows}).status_code == 200  # the same status is no change of status


@pytest.fixture
def acme_app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url, PACKS / "acme")
    yield app
    app.extensions["ossature"].dispose()


def test_hidden_characteristics_cannot_be_written(acme_app: Flask) -> None:
    auditor = make_caller(acme_app, "auditor", ("auditor",))
    admin = make_caller(acme_app, "boss", ("admin",))
    (a,) = created(admin, [lead(1)])
    rows = [{"id": a["id"], "version": 1, "score": 5}, {"id": a["id"], "version": 1, "company": "Mine"}]
    body = auditor.patch("/lead/batch", {"records": rows[:1]}).get_json()
    assert row_rules(body) == {0: {"score": "readonly"}}
    body = auditor.patch("/lead/batch", {"records": rows[1:]}).get_json()
    assert row_rules(body) == {0: {"company": "readonly"}}
    assert auditor.post("/lead/batch", {"records": [lead(2)]}).status_code == 403


# -- the document ---------------------------------------------------------------------------------------


def test_the_document_lists_the_batch_endpoints(shared_app: Flask) -> None:
    document = shared_app.test_client().get("/api/v1/openapi.json").get_json()
    model = shared_app.extensions["ossature"].model
    for entity in model.entities:
        item = document["paths"][f"/{entity}/batch"]
        assert set(item) == {"post", "patch"}
        assert set(item["post"]["responses"]) >= {"200", "201", "400", "401", "403", "413", "422"}
        assert set(item["patch"]["responses"]) >= {"200", "400", "401", "403", "413", "422"}
    schemas = document["components"]["schemas"]
    body = schemas["LeadBatchCreate"]
    assert body["properties"]["records"]["maxItems"] == LIMIT and body["properties"]["records"]["minItems"] == 1
    assert body["oneOf"][0]["properties"]["records"]["items"] == {"$ref": "#/components/schemas/LeadInput"}
    change = schemas["LeadBatchChange"]
    assert change["required"] == ["id", "version"] and "score" in change["properties"]
    assert "converted_on" not in change["properties"]


PROBES = (None, True, False, 0, 1, -1, 3.0, 3.5, 2**40, 2**70, -(2**70), "", " ", "x", "3", "12.50", "12,5",
          "2026-01-31", "2026-01-31T12:00:00Z", "31/01/2026", "a@example.org", "not an email", "https://example.org",
          "01 02 03 04 05", "banking", "new", "x" * 300, [], ["banking"], ["vip", "vip"], [1], {"a": 1})


def test_the_fast_value_checks_never_accept_what_the_document_refuses(shared_app: Flask) -> None:
    from jsonschema import Draft202012Validator

    from ui_renderer.api.value_checks import compile_schema

    document = shared_app.test_client().get("/api/v1/openapi.json").get_json()
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        if not name.endswith(("Input", "BatchChange")):
            continue
        for field, part in schema["properties"].items():
            predicate = compile_schema(part)
            assert predicate is not None, (name, field)  # every characteristic's schema compiles
            validator = Draft202012Validator(part, format_checker=Draft202012Validator.FORMAT_CHECKER)
            for value in PROBES:
                if predicate(value):
                    assert validator.is_valid(value), (name, field, value)
                checked += 1
    assert checked > 1000
