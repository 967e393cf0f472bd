"""Jobs on real `ossature worker` processes through Redis: end to end, shared, killed midway.

The app side is an `Engine` with a broker URL (what an app server is); the workers are
separate processes on the same database and files folder. When a worker must be caught at
a given point, it signals through a file and waits (tests/jobs/worker_with_hooks.py): no test
relies on how long anything takes.
"""

from __future__ import annotations

import os
import re
import signal

import sqlalchemy as sa

from broker_workers import Workers, audit_counts, wait_until
from engine import SYSTEM_ACTOR, Engine
from engine.jobs.celery_worker import CeleryDispatcher
from engine.jobs.mass_update_job import submit_mass_update

ENTITY = "account"


def create_accounts(engine: Engine, count: int) -> list[int]:
    return engine.records.create_many(ENTITY, [{"name": f"Account {i:05d}"} for i in range(count)], SYSTEM_ACTOR)


def ids_with_sector(engine: Engine, sector: str) -> set[int]:
    table = engine.tables.of(ENTITY)
    with engine.db.connect() as conn:
        return set(conn.execute(sa.select(table.c.id).where(table.c.sector == sector)).scalars())


def wait_done(engine: Engine, job_id: int, workers: Workers) -> dict:
    job = wait_until(
        lambda: (found := engine.jobs.get(job_id, SYSTEM_ACTOR))["state"] in ("done", "failed", "cancelled") and found,
        f"job {job_id} finished", describe=workers.logs,
    )
    assert job["state"] == "done", f"{job['message']}\n{workers.logs()}"
    return job


def test_a_mass_update_runs_on_a_worker_end_to_end(app_engine, workers):
    worker = workers.start(console_script=True)
    ids = create_accounts(app_engine, 3000)
    assert isinstance(app_engine.jobs.dispatcher, CeleryDispatcher)

    job_id = submit_mass_update(app_engine, ENTITY, ids, {"sector": "it"}, SYSTEM_ACTOR)
    job = wait_done(app_engine, job_id, workers)

    assert (job["total"], job["done"], job["percent"], job["attempts"]) == (3000, 3000, 100, 1)
    assert job["counts"] == {"matched": 3000, "changed": 3000, "refused": 0}
    assert ids_with_sector(app_engine, "it") == set(ids)
    counted = audit_counts(app_engine, ENTITY)
    assert set(counted) == set(ids) and set(counted.values()) == {1}
    assert f"job {job_id}: running on ossature-{worker.pid}@" in worker.log()


def test_two_workers_share_the_jobs(app_engine, workers):
    ids = create_accounts(app_engine, 1500)
    holding = workers.start(hooks={"OSSATURE_TEST_HOLD": "1"})
    first = submit_mass_update(app_engine, ENTITY, ids[:500], {"sector": "media"}, SYSTEM_ACTOR)
    workers.wait_for_signal(f"held-{first}")  # the first worker runs it and is busy until released

    other = workers.start()
    second = submit_mass_update(app_engine, ENTITY, ids[500:1000], {"sector": "retail"}, SYSTEM_ACTOR)
    third = submit_mass_update(app_engine, ENTITY, ids[1000:], {"sector": "energy"}, SYSTEM_ACTOR)
    for job_id in (second, third):
        assert wait_done(app_engine, job_id, workers)["counts"]["changed"] == 500
    held = app_engine.jobs.get(first, SYSTEM_ACTOR)
    assert (held["state"], held["done"]) == ("running", 0)  # still on the first worker, untouched

    (workers.signals / f"release-{first}").touch()
    assert wait_done(app_engine, first, workers)["counts"]["changed"] == 500

    assert f"job {first}: running on ossature-{holding.pid}@" in holding.log()
    for job_id in (second, third):
        assert f"job {job_id}: running on ossature-{other.pid}@" in other.log()
        assert f"job {job_id}: running" not in holding.log()
    assert [app_engine.jobs.get(j, SYSTEM_ACTOR)["attempts"] for j in (first, second, third)] == [1, 1, 1]
    assert ids_with_sector(app_engine, "media") == set(ids[:500])
    assert ids_with_sector(app_engine, "retail") == set(ids[500:1000])
    assert ids_with_sector(app_engine, "energy") == set(ids[1000:])
    counted = audit_counts(app_engine, ENTITY)
    assert set(counted) == set(ids) and set(counted.values()) == {1}


def test_a_worker_killed_midway_leaves_whole_chunks_and_the_job_resumes_on_another(app_engine, workers, run_cli):
    ids = create_accounts(app_engine, 1000)
    doomed = workers.start(hooks={"OSSATURE_TEST_CHUNK": "100", "OSSATURE_TEST_HANG_AT_CHUNK": "4"})
    job_id = submit_mass_update(app_engine, ENTITY, ids, {"sector": "telecom"}, SYSTEM_ACTOR)
    workers.wait_for_signal(f"hung-{job_id}")  # the fourth chunk is written, not committed
    doomed.kill()

    job = app_engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["done"], job["total"], job["counts"]["changed"]) == (300, 1000, 300)
    first_three_chunks = set(sorted(ids)[:300])
    assert ids_with_sector(app_engine, "telecom") == first_three_chunks
    counted = audit_counts(app_engine, ENTITY)
    assert set(counted) == first_three_chunks and set(counted.values()) == {1}
    wait_until(lambda: app_engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted",
               f"job {job_id} shown interrupted", describe=workers.logs)

    fresh = workers.start(hooks={"OSSATURE_TEST_CHUNK": "100"})
    resumed = run_cli("jobs", "resume", str(job_id))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.startswith(f"job {job_id}: done, 1000/1000 (100%)")

    job = app_engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["state"], job["done"], job["attempts"]) == ("done", 1000, 2)
    assert job["counts"] == {"matched": 1000, "changed": 1000, "refused": 0}
    assert ids_with_sector(app_engine, "telecom") == set(ids)
    counted = audit_counts(app_engine, ENTITY)
    assert set(counted) == set(ids) and set(counted.values()) == {1}  # no record updated twice
    assert f"job {job_id}: running on ossature-{fresh.pid}@" in fresh.log()
    assert (f"warning: job {job_id} (mass_update) was interrupted at 300/1000 (30%): "
            f"`ossature jobs resume {job_id}` continues it") in fresh.log()  # said when it started


def test_a_job_cancelled_while_a_worker_runs_it_stops_at_its_next_chunk(app_engine, workers, run_cli):
    ids = create_accounts(app_engine, 300)
    worker = workers.start(hooks={"OSSATURE_TEST_HOLD": "1", "OSSATURE_TEST_CHUNK": "100"})
    job_id = submit_mass_update(app_engine, ENTITY, ids, {"sector": "hospitality"}, SYSTEM_ACTOR)
    workers.wait_for_signal(f"held-{job_id}")

    cancelled = run_cli("jobs", "cancel", str(job_id))
    assert cancelled.stdout.startswith(f"job {job_id}: cancelling")
    (workers.signals / f"release-{job_id}").touch()
    job = wait_until(lambda: (found := app_engine.jobs.get(job_id, SYSTEM_ACTOR))["state"] == "cancelled" and found,
                     f"job {job_id} cancelled", describe=workers.logs)
    assert (job["done"], job["attempts"]) == (0, 1)
    assert ids_with_sector(app_engine, "hospitality") == set() and audit_counts(app_engine, ENTITY) == {}
    # the worker logs the outcome just after the job's row says it: wait for the line, not only the row
    wait_until(lambda: f"job {job_id}: cancelled (0/300)" in worker.log(), "the outcome logged", describe=workers.logs)


def test_a_redelivered_message_never_restarts_an_interrupted_job(app_engine, workers):
    """The killed worker's message comes back to the broker; a person decides about the job."""
    ids = create_accounts(app_engine, 300)
    doomed = workers.start(hooks={"OSSATURE_TEST_CHUNK": "100", "OSSATURE_TEST_HANG_AT_CHUNK": "2"})
    job_id = submit_mass_update(app_engine, ENTITY, ids, {"sector": "banking"}, SYSTEM_ACTOR)
    workers.wait_for_signal(f"hung-{job_id}")
    doomed.kill()
    wait_until(lambda: app_engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted",
               f"job {job_id} shown interrupted", describe=workers.logs)

    fresh = workers.start()
    CeleryDispatcher(workers.broker_url).dispatch(job_id)  # what a redelivery looks like to the worker
    wait_until(lambda: f"job {job_id} is interrupted: nothing to do" in fresh.log(),
               "the redelivered message dropped", describe=workers.logs)
    job = app_engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["state"], job["done"], job["attempts"]) == ("interrupted", 100, 1)
    assert len(ids_with_sector(app_engine, "banking")) == 100



def test_a_pool_process_lost_midway_gives_its_message_back_and_the_job_waits_for_a_person(
    app_engine, workers, run_cli
):
    ids = create_accounts(app_engine, 500)
    worker = workers.start(hooks={"OSSATURE_TEST_CHUNK": "100", "OSSATURE_TEST_HANG_AT_CHUNK": "2"})
    job_id = submit_mass_update(app_engine, ENTITY, ids, {"sector": "education"}, SYSTEM_ACTOR)
    child = int(workers.wait_for_signal(f"hung-{job_id}").read_text())
    assert child != worker.pid  # the job runs in a pool process, not in the worker's main process
    os.kill(child, signal.SIGKILL)

    # task_reject_on_worker_lost: the message goes back to the queue; delivered again, it finds
    # the job claimed (running, or already interrupted) and leaves it alone.
    again = re.compile(rf"job {job_id} is (running|interrupted): nothing to do")
    wait_until(lambda: again.search(worker.log()), "the message delivered again", describe=workers.logs)
    assert worker.alive()
    wait_until(lambda: app_engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted",
               f"job {job_id} shown interrupted", describe=workers.logs)
    assert len(ids_with_sector(app_engine, "education")) == 100
    worker.stop()

    workers.start()
    resumed = run_cli("jobs", "resume", str(job_id), "--no-wait")
    assert resumed.exit_code == 0 and resumed.stdout == f"job {job_id} queued\n"
    job = wait_done(app_engine, job_id, workers)
    assert (job["done"], job["attempts"], job["counts"]["changed"]) == (500, 2, 500)
    counted = audit_counts(app_engine, ENTITY)
    assert set(counted) == set(ids) and set(counted.values()) == {1}
