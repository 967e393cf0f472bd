"""The jobs through the API: list, read, errors, cancel, resume, download; and the mass update
answering 202 with a job once its selection is over the jobs' threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask

import metamodel
from api_support import Caller
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from engine.exchange.exporter import submit_export
from engine.jobs.service import JobContext, JobStateError, job_kind
from engine.jobs.mass_update_job import submit_mass_update
from ui_renderer import create_app
from recording_dispatcher import Recorder

THRESHOLD = 3


@job_kind("test_api_failure")
def failing_job(ctx: JobContext) -> None:
    raise RuntimeError("the disk is full")




@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "TESTING": True,
                      "FILES_DIR": str(tmp_path / "files"), "JOB_THRESHOLD": THRESHOLD})
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def held(engine: Engine) -> Recorder:
    """Jobs stay queued until the test runs them (`engine.jobs.run`)."""
    recorder = Recorder()
    engine.jobs.dispatcher = recorder
    return recorder


def actor(engine: Engine, caller: Caller) -> Any:
    return Accounts(engine).actor_for(caller.user_id, lang=caller.lang)


def leads(engine: Engine, count: int, prefix: str = "Api") -> list[int]:
    return engine.records.create_many("lead", [
        {"last_name": f"{prefix}{i:03d}", "email": f"{prefix.lower()}{i}@example.com"} for i in range(count)
    ], SYSTEM_ACTOR)


def queued_mass_update(engine: Engine, caller: Caller, count: int = 2) -> int:
    return submit_mass_update(engine, "lead", leads(engine, count), {"sector": "it"}, actor(engine, caller))


# -- reading jobs -------------------------------------------------------------------------------------


def test_a_job_as_json(engine: Engine, admin: Caller, held: Recorder) -> None:
    job_id = queued_mass_update(engine, admin, 4)
    response = admin.get(f"/jobs/{job_id}")
    assert response.status_code == 200 and response.headers["Location"].endswith(f"/api/v1/jobs/{job_id}")
    job = response.get_json()
    assert {k: job[k] for k in ("id", "kind", "entity", "owner_id", "state", "done", "total", "percent",
                                "counts", "error_count", "result", "output_name")} == {
        "id": job_id, "kind": "mass_update", "entity": "lead", "owner_id": admin.user_id, "state": "queued",
        "done": 0, "total": None, "percent": 0, "counts": {}, "error_count": 0, "result": None, "output_name": None}
    assert job["created_at"].endswith("Z") and job["finished_at"] is None
    engine.jobs.run(job_id)
    done = admin.get(f"/jobs/{job_id}").get_json()
    assert (done["state"], done["done"], done["total"], done["percent"]) == ("done", 4, 4, 100)
    assert done["counts"] == {"matched": 4, "changed": 4, "refused": 0} and done["result"] == {"matched": 4}


def test_the_list_has_the_callers_jobs_only_newest_first_and_filters(
    engine: Engine, as_role: Callable[..., Caller], held: Recorder
) -> None:
    ann, bob = as_role("manager"), as_role("admin")
    first = queued_mass_update(engine, ann)
    second = engine.jobs.submit("test_api_failure", {}, actor(engine, ann), entity="account")
    theirs = queued_mass_update(engine, bob)
    engine.jobs.run(first)
    assert [j["id"] for j in ann.get("/jobs").get_json()["items"]] == [second, first]
    assert [j["id"] for j in bob.get("/jobs").get_json()["items"]] == [theirs]
    assert [j["id"] for j in ann.get("/jobs?entity=lead").get_json()["items"]] == [first]
    assert [j["id"] for j in ann.get("/jobs?active=true").get_json()["items"]] == [second]
    assert [j["id"] for j in ann.get("/jobs?limit=1").get_json()["items"]] == [second]


@pytest.mark.parametrize("query, parameter", [
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"), ("active=maybe", "active"),
])
def test_bad_list_parameters_answer_400(admin: Caller, query: str, parameter: str) -> None:
    response = admin.get(f"/jobs?{query}")
    assert response.status_code == 400 and parameter in response.get_json()["errors"]


def test_the_list_limit_bounds(engine: Engine, admin: Caller, held: Recorder) -> None:
    assert admin.get("/jobs?limit=1").status_code == 200
    assert admin.get("/jobs?limit=200").status_code == 200
    assert admin.get("/jobs?limit=0").status_code == 400 and admin.get("/jobs?limit=201").status_code == 400
    refused = admin.get("/jobs?entity=nothing")
    assert refused.status_code == 400 and list(refused.get_json()["errors"]) == ["entity"]


def test_someone_elses_job_or_an_unknown_one_is_not_found(
    engine: Engine, as_role: Callable[..., Caller], held: Recorder
) -> None:
    ann, bob = as_role("manager"), as_role("admin")
    theirs = queued_mass_update(engine, bob)
    for method, path in (("get", f"/jobs/{theirs}"), ("get", f"/jobs/{theirs}/errors"),
                         ("post", f"/jobs/{theirs}/cancel"), ("post", f"/jobs/{theirs}/resume"),
                         ("get", f"/jobs/{theirs}/output"), ("get", "/jobs/999999"), ("get", "/jobs/99999999999")):
        response = getattr(ann, method)(path)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"] == "not_found"
    assert engine.jobs.get(theirs, SYSTEM_ACTOR)["state"] == "queued"


def test_jobs_need_a_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/jobs/1").status_code == 401


def test_a_jobs_errors(engine: Engine, admin: Caller) -> None:
    ids = leads(engine, 4)
    stale = {str(i): 0 for i in ids[:2]}
    response = admin.post("/lead/mass-update", {"ids": ids, "values": {"sector": "retail"}, "versions": stale})
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    job = engine.jobs.wait(job_id, timeout=60)
    assert job["counts"] == {"matched": 4, "changed": 2, "refused": 2}
    errors = admin.get(f"/jobs/{job_id}/errors").get_json()
    assert errors["error_count"] == 2
    assert [(e["row"], e["record_id"], e["field"]) for e in errors["items"]] == [(None, ids[0], None), (None, ids[1], None)]
    assert all("changed" in e["message"].lower() or "version" in e["message"].lower() for e in errors["items"])
    assert len(admin.get(f"/jobs/{job_id}/errors?limit=1").get_json()["items"]) == 1
    assert admin.get(f"/jobs/{job_id}/errors?limit=10000").status_code == 200
    assert admin.get(f"/jobs/{job_id}/errors?limit=10001").status_code == 400


# -- steering --------------------------------------------------------------------------------------------


def test_cancel_a_queued_job(engine: Engine, admin: Caller, held: Recorder) -> None:
    job_id = queued_mass_update(engine, admin)
    response = admin.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.get_json()["state"] == "cancelled"
    assert engine.jobs.run(job_id) is False


def test_resume_a_failed_job_and_not_a_finished_one(engine: Engine, admin: Caller, held: Recorder) -> None:
    failed = engine.jobs.submit("test_api_failure", {}, actor(engine, admin), entity="lead")
    engine.jobs.run(failed)
    message = admin.get(f"/jobs/{failed}").get_json()["message"]
    assert "error id" in message and "disk is full" not in message, "the exception's text stays in the log"
    response = admin.post(f"/jobs/{failed}/resume")
    assert response.status_code == 200 and response.get_json()["state"] == "queued"
    assert held.sent == [failed, failed]
    done = queued_mass_update(engine, admin)
    engine.jobs.run(done)
    refused = admin.post(f"/jobs/{done}/resume", headers={"Accept-Language": "fr"})
    assert refused.status_code == 409
    reason = JobStateError("not_resumable", {"job": done, "state": "done"}).message("fr")
    assert reason.startswith(f"La tâche {done} est à l'état done")
    assert refused.get_json() == {"error": "conflict", "message": reason}


def test_download_an_exports_file(engine: Engine, admin: Caller, held: Recorder) -> None:
    leads(engine, 3, prefix="Exported")
    job_id = submit_export(engine, "lead", engine.records.list_request("lead", {"tab": ["all"]}), actor(engine, admin))
    assert admin.get(f"/jobs/{job_id}/output").status_code == 409
    engine.jobs.run(job_id)
    response = admin.get(f"/jobs/{job_id}/output")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert all(f"Exported{i:03d}" in response.get_data(as_text=True) for i in range(3))


def test_a_mass_update_job_has_no_file(engine: Engine, admin: Caller, held: Recorder) -> None:
    job_id = queued_mass_update(engine, admin)
    engine.jobs.run(job_id)
    response = admin.get(f"/jobs/{job_id}/output")
    assert response.status_code == 409 and "no file to download" in response.get_json()["message"]


# -- mass update: 200 up to the threshold, 202 and a job past it -------------------------------------


def test_the_app_threshold_reaches_the_engine(engine: Engine) -> None:
    assert engine.jobs.threshold == THRESHOLD


def test_mass_update_of_ids_at_the_threshold_answers_at_once(engine: Engine, admin: Caller) -> None:
    ids = leads(engine, THRESHOLD)
    response = admin.post("/lead/mass-update", {"ids": ids + ids[:1], "values": {"sector": "retail"}})
    assert response.status_code == 200
    assert response.get_json() == {"matched": THRESHOLD, "changed": THRESHOLD, "refused": {}}
    assert engine.jobs.list(SYSTEM_ACTOR) == []


def test_mass_update_of_ids_one_past_the_threshold_is_a_job(engine: Engine, admin: Caller) -> None:
    ids = leads(engine, THRESHOLD + 1)
    response = admin.post("/lead/mass-update", {"ids": ids, "values": {"sector": "retail"}})
    assert response.status_code == 202
    job = response.get_json()
    assert job["kind"] == "mass_update" and job["entity"] == "lead" and job["state"] in ("queued", "running", "done")
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    finished = engine.jobs.wait(job["id"], timeout=60)
    assert finished["state"] == "done" and finished["counts"]["changed"] == THRESHOLD + 1
    assert {engine.records.get("lead", i)["sector"] for i in ids} == {"retail"}


def test_mass_update_by_filter_counts_the_matching_records(engine: Engine, admin: Caller) -> None:
    leads(engine, THRESHOLD, prefix="Exact")
    leads(engine, THRESHOLD + 1, prefix="Over")
    at = admin.post("/lead/mass-update", {"filter": {"q": "exact", "tab": "all"}, "values": {"nurturing": True}})
    assert at.status_code == 200 and at.get_json()["matched"] == THRESHOLD
    past = admin.post("/lead/mass-update", {"filter": {"q": "over", "tab": "all"}, "values": {"nurturing": True}})
    assert past.status_code == 202
    assert engine.jobs.wait(past.get_json()["id"], timeout=60)["counts"]["changed"] == THRESHOLD + 1


def test_invalid_values_past_the_threshold_answer_422_and_queue_nothing(engine: Engine, admin: Caller) -> None:
    ids = leads(engine, THRESHOLD + 1)
    response = admin.post("/lead/mass-update", {"ids": ids, "values": {"score": 9}})
    assert response.status_code == 422
    assert engine.jobs.list(SYSTEM_ACTOR) == []
