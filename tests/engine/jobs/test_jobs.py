"""The job system: background runs, chunks committed with their checkpoint, resume, cancel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Actor, NotFoundError
from engine.jobs import service as jobs_module
from engine.records import mass_update
from engine.jobs.service import JobStateError
from engine.jobs.mass_update_job import submit_mass_update
from recording_dispatcher import Recorder

SYSTEM_FR = Actor(system=True, lang="fr")




@pytest.fixture
def ids(engine):
    return engine.records.create_many(
        "sample", [{"name": f"S{i:04d}", "qty": i % 3, "price": "1.00"} for i in range(1000)], SYSTEM_ACTOR
    )


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(mass_update, "CHUNK", 100)


def audit_counts(engine) -> dict[int, int]:
    audit = engine.tables.audit
    with engine.db.connect() as conn:
        rows = conn.execute(
            sa.select(audit.c.record_id, sa.func.count()).where(audit.c.entity == "sample", audit.c.action == "update")
            .group_by(audit.c.record_id)
        )
        return dict(rows.all())


def test_a_mass_update_job_runs_in_the_background_and_reports_progress(engine, ids, small_chunks):
    request = engine.records.list_request("sample", {"f_qty": ["1"]})
    job_id = submit_mass_update(engine, "sample", request, {"price": "2.50"}, SYSTEM_ACTOR)
    job = engine.jobs.wait(job_id, timeout=30)
    expected = len([i for i in range(1000) if i % 3 == 1])
    assert job["state"] == "done", job["message"]
    assert (job["total"], job["done"], job["percent"]) == (expected, expected, 100)
    assert job["counts"] == {"matched": expected, "changed": expected, "refused": 0}
    assert job["kind"] == "mass_update" and job["entity"] == "sample" and job["attempts"] == 1
    counted = audit_counts(engine)
    assert len(counted) == expected and set(counted.values()) == {1}
    assert str(engine.records.get("sample", ids[1])["price"]) == "2.50"
    assert str(engine.records.get("sample", ids[0])["price"]) == "1.00"


def test_bad_values_are_refused_before_anything_is_queued(engine, ids):
    recorder = engine.jobs.dispatcher = Recorder()
    with pytest.raises(Exception) as caught:
        submit_mass_update(engine, "sample", ids, {"qty": "many"}, SYSTEM_ACTOR)
    assert "qty" in str(caught.value)
    assert recorder.sent == [] and engine.jobs.list(SYSTEM_ACTOR) == []


def test_a_crash_midway_leaves_whole_chunks_and_resume_finishes_without_doing_any_twice(
    engine, ids, small_chunks, monkeypatch, caplog
):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids, {"qty": 9}, SYSTEM_ACTOR)
    record = engine.jobs._record
    calls = {"n": 0}

    def dies_on_the_fourth_chunk(conn, job, **progress):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("worker lost")  # inside the fourth chunk's transaction
        record(conn, job, **progress)

    monkeypatch.setattr(engine.jobs, "_record", dies_on_the_fourth_chunk)
    assert engine.jobs.run(job_id) is True
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    error_id = re.search(r"error id ([0-9a-f]{8})", job["message"]).group(1)
    assert job["state"] == "failed" and "worker lost" not in job["message"]
    assert any(error_id in r.getMessage() and "worker lost" in r.exc_text for r in caplog.records if r.exc_text)
    assert job["done"] == 300 and job["counts"]["changed"] == 300
    counted = audit_counts(engine)
    changed = {r for r in ids if engine.records.get("sample", r)["qty"] == 9}
    assert set(counted) == changed and len(changed) == 300  # every changed record has its audit row, no other
    assert changed == set(sorted(ids)[:300])

    monkeypatch.setattr(engine.jobs, "_record", record)
    engine.jobs.resume(job_id, SYSTEM_ACTOR)
    assert engine.jobs.run(job_id) is True
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "done" and job["done"] == 1000 and job["attempts"] == 2
    assert job["counts"]["changed"] == 1000
    counted = audit_counts(engine)
    assert len(counted) == 1000 and set(counted.values()) == {1}


def test_a_job_is_claimed_once(engine, ids):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids[:5], {"qty": 2}, SYSTEM_ACTOR)
    assert engine.jobs.run(job_id) is True
    assert engine.jobs.run(job_id) is False  # delivered twice: the second delivery does nothing
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["attempts"] == 1


def test_a_running_job_without_heartbeat_shows_interrupted_and_can_be_taken_over(engine, ids):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids[:5], {"qty": 2}, SYSTEM_ACTOR)
    table = engine.tables.jobs
    with engine.db.begin() as conn:
        old = jobs_module.utcnow() - dt.timedelta(seconds=engine.jobs.stale_after - 5)
        conn.execute(table.update().values(state="running", heartbeat_at=old))
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "running"
    assert engine.jobs.run(job_id) is False  # its worker may still be alive
    with engine.db.begin() as conn:
        old = jobs_module.utcnow() - dt.timedelta(seconds=engine.jobs.stale_after + 5)
        conn.execute(table.update().values(heartbeat_at=old))
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted"
    engine.jobs.resume(job_id, SYSTEM_ACTOR)
    assert engine.jobs.run(job_id) is True
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "done"


def test_cancel_a_queued_job_and_a_running_one(engine, ids, small_chunks, monkeypatch):
    recorder = engine.jobs.dispatcher = Recorder()
    queued = submit_mass_update(engine, "sample", ids, {"qty": 2}, SYSTEM_ACTOR)
    assert engine.jobs.cancel(queued, SYSTEM_ACTOR)["state"] == "cancelled"
    assert engine.jobs.run(queued) is False

    running = submit_mass_update(engine, "sample", ids, {"qty": 2}, SYSTEM_ACTOR)
    record = engine.jobs._record
    calls = {"n": 0}

    def cancel_after_two_chunks(conn, job, **progress):
        calls["n"] += 1
        if calls["n"] == 3:  # the user's cancel committed while this third chunk was being written
            conn.execute(engine.tables.jobs.update().values(state="cancelling"))
        record(conn, job, **progress)

    monkeypatch.setattr(engine.jobs, "_record", cancel_after_two_chunks)
    assert recorder.sent == [queued, running]
    engine.jobs.run(running)
    job = engine.jobs.get(running, SYSTEM_ACTOR)
    assert job["state"] == "cancelled"
    assert 0 < job["done"] < 1000
    assert job["done"] == 200 and len(audit_counts(engine)) == job["counts"]["changed"] > 0


def test_refused_records_are_listed_on_the_job(engine, ids):
    engine.jobs.dispatcher = Recorder()
    versions = {ids[0]: 1, ids[1]: 5}
    job_id = submit_mass_update(engine, "sample", ids[:3], {"qty": 2}, SYSTEM_FR, versions=versions)
    engine.jobs.run(job_id)
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["counts"]["refused"] == 1 and job["error_count"] == 1
    [error] = engine.jobs.errors(job_id, SYSTEM_ACTOR)
    assert error["record_id"] == ids[1] and "quelqu'un d'autre" in error["message"]


def test_jobs_are_private_to_their_owner(engine, ids, owner_id):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids[:2], {"qty": 2}, SYSTEM_ACTOR)
    someone = Actor(user_id=owner_id, username="ann", roles=frozenset({"manager"}))
    with pytest.raises(NotFoundError):
        engine.jobs.get(job_id, someone)
    assert engine.jobs.list(someone) == []
    assert [j["id"] for j in engine.jobs.list(SYSTEM_ACTOR, entity="sample", active=True)] == [job_id]


def test_resuming_a_finished_job_is_refused_in_the_users_language(engine, ids):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids[:2], {"qty": 2}, SYSTEM_ACTOR)
    engine.jobs.run(job_id)
    with pytest.raises(JobStateError) as caught:
        engine.jobs.resume(job_id, SYSTEM_ACTOR)
    assert caught.value.message("fr") == (
        f"La tâche {job_id} est à l'état done : seule une tâche en attente, en échec ou interrompue peut reprendre."
    )
    with pytest.raises(JobStateError, match="has no file to download"):
        engine.jobs.output_path(job_id, SYSTEM_ACTOR)


def test_an_unknown_job_kind_is_refused_at_submit(engine):
    with pytest.raises(NotFoundError, match="job kind nonsense"):
        engine.jobs.submit("nonsense", {}, SYSTEM_ACTOR)


def make_stale(engine, job_id):
    old = jobs_module.utcnow() - dt.timedelta(seconds=engine.jobs.stale_after + 5)
    with engine.db.begin() as conn:
        conn.execute(engine.tables.jobs.update().where(engine.tables.jobs.c.id == job_id)
                     .values(state="running", heartbeat_at=old))


def test_a_run_taken_for_dead_stops_without_writing_once_another_claimed_the_job(engine, ids, small_chunks, monkeypatch):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids, {"qty": 7}, SYSTEM_ACTOR)
    record = engine.jobs._record
    calls = {"n": 0}

    def another_worker_claims_it(conn, job, **progress):
        calls["n"] += 1
        if calls["n"] == 2:  # this run stalled; another process claimed the job meanwhile
            conn.execute(engine.tables.jobs.update().values(attempts=engine.tables.jobs.c.attempts + 1))
        record(conn, job, **progress)

    monkeypatch.setattr(engine.jobs, "_record", another_worker_claims_it)
    assert engine.jobs.run(job_id) is False
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "running" and job["done"] == 100  # the second chunk rolled back, the job left alone
    assert len(audit_counts(engine)) == job["counts"]["changed"]


def test_cancelling_an_interrupted_job_ends_it(engine, ids):
    engine.jobs.dispatcher = Recorder()
    job_id = submit_mass_update(engine, "sample", ids[:3], {"qty": 2}, SYSTEM_ACTOR)
    make_stale(engine, job_id)
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted"
    assert engine.jobs.cancel(job_id, SYSTEM_ACTOR)["state"] == "cancelled"
    assert engine.jobs.run(job_id) is False


def test_a_job_the_broker_would_not_take_fails_and_can_be_sent_again(engine, ids, caplog):
    class Down:
        def dispatch(self, job_id):
            raise ConnectionError("broker down")

    engine.jobs.dispatcher = Down()
    with pytest.raises(ConnectionError):
        submit_mass_update(engine, "sample", ids[:3], {"qty": 2}, SYSTEM_ACTOR)
    [job] = engine.jobs.list(SYSTEM_ACTOR, limit=None)
    error_id = re.search(r"error id ([0-9a-f]{8})", job["message"]).group(1)
    assert job["state"] == "failed" and job["message"].startswith("The job could not be handed to a worker")
    assert "broker down" not in job["message"] and "broker down" in caplog.text and error_id in caplog.text
    recorder = engine.jobs.dispatcher = Recorder()
    assert engine.jobs.resume(job["id"], SYSTEM_ACTOR)["state"] == "queued"
    assert recorder.sent == [job["id"]]
    engine.jobs.resume(job["id"], SYSTEM_ACTOR)  # queued: sent again, harmless
    assert recorder.sent == [job["id"], job["id"]]
    assert engine.jobs.run(job["id"]) is True and engine.jobs.run(job["id"]) is False
