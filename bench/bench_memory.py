"""Peak memory of the bulk paths: importing 1,000,000 contacts from a CSV file, and
mass-updating 1,000,000 leads, each as a job (`submit_import`, `submit_mass_update`, then
waiting for the job on the in-process dispatcher). Both must stay under TARGET_MB of
resident memory: rows are streamed and written chunk by chunk, never held all at once.

Each measurement runs in a fresh Python process, so that peaks do not mix: the child
builds the engine, notes its resident set (`start_rss_mb`: interpreter, libraries, model),
runs the job and reports `resource.getrusage(RUSAGE_SELF).ru_maxrss`. The 1,000,000 leads
are seeded by another process beforehand, and this parent process stays small (it never
imports the engine), because a child started with fork + exec may inherit its parent's
peak. The CSV file is written row by row to a temporary file. SQLite, and PostgreSQL when
configured (the server's memory is the server's: only the Python process is measured).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _big import databases, progress, write_contacts_csv
from common import emit_memory

ROWS = 1_000_000
TARGET_MB = 300
TEAM = "key_accounts"
JOB_TIMEOUT = 3 * 3600


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# -- the child processes -------------------------------------------------------------------


def child_engine(url: str, files: str) -> Any:
    import metamodel
    from common import shipped_plugins
    from engine import Engine

    engine = Engine(metamodel.load_model([metamodel.BASE_PACK]), url, plugins=shipped_plugins(), files_dir=files)
    engine.migrate()
    return engine


def wait_for(engine: Any, job_id: int, what: str) -> dict[str, Any]:
    """Wait for the job, saying how far it got on stderr now and then."""
    from engine import SYSTEM_ACTOR

    started = last_said = time.monotonic()
    while True:
        job = engine.jobs.get(job_id, SYSTEM_ACTOR)
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() - started > JOB_TIMEOUT:
            raise TimeoutError(f"{what}: job {job_id} still {job['state']} after {JOB_TIMEOUT} s")
        if time.monotonic() - last_said >= 30:
            progress(f"  {what}: {job['done']:,} of {job['total'] or 0:,} ({peak_rss_mb():.0f} MB so far)")
            last_said = time.monotonic()
        time.sleep(0.2)


def child_import(url: str, csv_path: str, files: str) -> dict[str, Any]:
    from engine import SYSTEM_ACTOR
    from engine.exchange.importer import ImportOptions, submit_import

    engine = child_engine(url, files)
    start_mb = peak_rss_mb()
    started = time.perf_counter()
    job = wait_for(engine, submit_import(engine, "contact", csv_path, ImportOptions(), SYSTEM_ACTOR), "import")
    seconds = time.perf_counter() - started
    assert job["state"] == "done", job
    assert job["counts"].get("created") == ROWS, job["counts"]
    engine.dispose()
    return {"peak_rss_mb": peak_rss_mb(), "start_rss_mb": start_mb, "seconds": seconds}


def child_seed(url: str, files: str) -> dict[str, Any]:
    from _big import make_manager, seed_leads, seed_users

    engine = child_engine(url, files)
    users = seed_users(engine.db, engine.tables, 10)
    make_manager(engine, users[0])
    seed_leads(engine.db, engine.tables, ROWS, users, trashed=0)
    engine.dispose()
    return {"manager": users[0]}


def child_mass_update(url: str, files: str, manager_id: str) -> dict[str, Any]:
    from engine.access.accounts import Accounts
    from engine.jobs.mass_update_job import submit_mass_update

    engine = child_engine(url, files)
    manager = Accounts(engine).actor_for(int(manager_id))
    start_mb = peak_rss_mb()
    started = time.perf_counter()
    everything = engine.records.list_request("lead", {"tab": ["all"]})
    job_id = submit_mass_update(engine, "lead", everything, {"team": TEAM}, manager)
    job = wait_for(engine, job_id, "mass update")
    seconds = time.perf_counter() - started
    assert job["state"] == "done", job
    assert job["counts"].get("changed") == ROWS, job["counts"]
    engine.dispose()
    return {"peak_rss_mb": peak_rss_mb(), "start_rss_mb": start_mb, "seconds": seconds}


CHILDREN = {"import": child_import, "seed": child_seed, "mass_update": child_mass_update}


# -- the parent ----------------------------------------------------------------------------


def in_child(task: str, *args: str) -> dict[str, Any]:
    """Run `task` in a fresh interpreter; its last stdout line is its JSON answer."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", task, *args],
        stdout=subprocess.PIPE, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory bench: the {task} process failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = str(folder / "files")
        progress(f"memory: writing a CSV of {ROWS:,} contacts")
        csv_path = str(write_contacts_csv(folder / "contacts.csv", ROWS))
        for label, new_url in databases(folder):
            progress(f"memory ({label}): importing {ROWS:,} contacts")
            found = in_child("import", new_url(), csv_path, files)
            emit_memory(f"memory_import_1m_contacts_{label}", found["peak_rss_mb"], TARGET_MB, rows=ROWS,
                        start_rss_mb=round(found["start_rss_mb"], 1), engine_s=round(found["seconds"], 1))
            url = new_url()
            progress(f"memory ({label}): seeding {ROWS:,} leads (not measured)")
            manager = in_child("seed", url, files)["manager"]
            progress(f"memory ({label}): mass-updating {ROWS:,} leads")
            found = in_child("mass_update", url, files, str(manager))
            emit_memory(f"memory_mass_update_1m_leads_{label}", found["peak_rss_mb"], TARGET_MB, rows=ROWS,
                        start_rss_mb=round(found["start_rss_mb"], 1), engine_s=round(found["seconds"], 1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(CHILDREN[sys.argv[2]](*sys.argv[3:])), flush=True)
    else:
        main()
