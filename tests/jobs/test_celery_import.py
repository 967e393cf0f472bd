"""CSV imports on real `ossature worker` processes through Redis: end to end, and killed midway."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from broker_workers import Workers, audit_counts, wait_until
from engine import SYSTEM_ACTOR, Engine
from engine.exchange.importer import ImportOptions, submit_import

ENTITY = "account"
BAD_ROWS = (7, 250, 1999)
"""Data rows (0-based) with a negative head count."""


def write_accounts(folder: Path, count: int) -> Path:
    """A `;` CSV with French headers and sector labels, as a spreadsheet exports it; line 1 is the header."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Nom;Secteur d'activité;Effectif"]
    for i in range(count):
        employees = -5 if i in BAD_ROWS else i
        lines.append(f"Import {i:05d};Informatique et logiciel;{employees}")
    path = folder / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def imported_names(engine: Engine) -> list[str]:
    table = engine.tables.of(ENTITY)
    with engine.db.connect() as conn:
        return list(conn.execute(sa.select(table.c.name).order_by(table.c.name)).scalars())


def wait_done(engine: Engine, job_id: int, workers: Workers) -> dict:
    job = wait_until(
        lambda: (found := engine.jobs.get(job_id, SYSTEM_ACTOR))["state"] in ("done", "failed", "cancelled") and found,
        f"job {job_id} finished", describe=workers.logs,
    )
    assert job["state"] == "done", f"{job['message']}\n{workers.logs()}"
    return job


def test_an_import_runs_on_a_worker_end_to_end(app_engine, workers):
    worker = workers.start()
    path = write_accounts(workers.files_dir / "uploads", 2000)
    job_id = submit_import(app_engine, ENTITY, path, ImportOptions(chunk_size=500), SYSTEM_ACTOR)
    job = wait_done(app_engine, job_id, workers)

    assert (job["kind"], job["total"], job["done"], job["attempts"]) == ("import", 2000, 2000, 1)
    assert job["counts"] == {"created": 1997, "updated": 0, "unchanged": 0, "refused": 3}
    errors = app_engine.jobs.errors(job_id, SYSTEM_ACTOR)
    assert [(e["row"], e["field"]) for e in errors] == [(i + 2, "Effectif") for i in BAD_ROWS]
    assert {e["message"] for e in errors} == {"Must be at least 0."}
    names = imported_names(app_engine)
    assert names == [f"Import {i:05d}" for i in range(2000) if i not in BAD_ROWS]
    created = audit_counts(app_engine, ENTITY, "create")
    assert len(created) == 1997 and set(created.values()) == {1}
    assert f"job {job_id}: running on ossature-{worker.pid}@" in worker.log()


def test_an_import_killed_midway_keeps_whole_chunks_and_resumes_without_duplicates(app_engine, workers, run_cli):
    path = write_accounts(workers.files_dir / "uploads", 1000)
    doomed = workers.start(hooks={"OSSATURE_TEST_HANG_AT_CHUNK": "4"})
    job_id = submit_import(app_engine, ENTITY, path, ImportOptions(chunk_size=100), SYSTEM_ACTOR)
    workers.wait_for_signal(f"hung-{job_id}")  # the fourth chunk is inserted, not committed
    doomed.kill()

    job = app_engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["done"], job["counts"]["created"], job["counts"]["refused"]) == (300, 298, 2)
    assert imported_names(app_engine) == [f"Import {i:05d}" for i in range(300) if i not in BAD_ROWS]
    created = audit_counts(app_engine, ENTITY, "create")
    assert len(created) == 298 and set(created.values()) == {1}
    wait_until(lambda: app_engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted",
               f"job {job_id} shown interrupted", describe=workers.logs)

    workers.start()
    resumed = run_cli("jobs", "resume", str(job_id))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.splitlines()[0] == (
        f"job {job_id}: done, 1000/1000 (100%); created 998, refused 2, unchanged 0, updated 0"
    )

    job = app_engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["state"], job["attempts"], job["error_count"]) == ("done", 2, 2)
    assert job["counts"] == {"created": 998, "updated": 0, "unchanged": 0, "refused": 2}
    assert imported_names(app_engine) == [f"Import {i:05d}" for i in range(1000) if i not in BAD_ROWS]
    created = audit_counts(app_engine, ENTITY, "create")
    assert len(created) == 998 and set(created.values()) == {1}
    assert [e["row"] for e in app_engine.jobs.errors(job_id, SYSTEM_ACTOR)] == [9, 252]
