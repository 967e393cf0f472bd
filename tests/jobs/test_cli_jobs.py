"""`ossature mass-update`, `ossature jobs ...` and `ossature worker` without a broker.

Jobs run in-process here (the embedded default): the command that submits a job runs it on a
background thread and waits for it. The same commands through a broker and real workers are
in test_celery_worker.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import metamodel
from broker_workers import audit_counts
from engine import SYSTEM_ACTOR, Engine
from engine.jobs import service as jobs_module
from engine.access.accounts import Accounts
from engine.jobs.mass_update_job import submit_mass_update
from ossature.main import cli
from recording_dispatcher import Recorder

LEAD = {"company": "Acme", "score": 2, "phone": "01 02 03 04 05"}




@pytest.fixture
def engine(make_engine, tmp_path: Path) -> Engine:
    """The test's view of the database the commands use (its own jobs never run: Recorder)."""
    engine = make_engine(metamodel.load_model([metamodel.BASE_PACK]), files_dir=tmp_path / "files")
    Accounts(engine).migrate()
    engine.jobs.dispatcher = Recorder()
    return engine


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, engine: Engine):
    for name in ("OSSATURE_PACKS", "OSSATURE_BROKER_URL", "OSSATURE_JOB_STALE_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.setenv("OSSATURE_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def accounts(engine: Engine, count: int, **values) -> list[int]:
    rows = [{"name": f"Account {i:04d}", **values} for i in range(count)]
    return engine.records.create_many("account", rows, SYSTEM_ACTOR)


def sectors(engine: Engine, ids: list[int]) -> list[str | None]:
    return [engine.records.get("account", i)["sector"] for i in ids]


def interrupt(engine: Engine, job_id: int) -> None:
    """Make the job look like its worker died midway: running, heartbeat long gone."""
    old = jobs_module.utcnow() - dt.timedelta(seconds=engine.jobs.stale_after + 5)
    with engine.db.begin() as conn:
        conn.execute(engine.tables.jobs.update().where(engine.tables.jobs.c.id == job_id)
                     .values(state="running", heartbeat_at=old, started_at=old))


# -- mass-update ---------------------------------------------------------------------------


def test_mass_update_by_ids_runs_a_job_shows_progress_and_prints_the_counts(run, engine):
    ids = accounts(engine, 5)
    result = run("mass-update", "account", "--set", "sector=it", "--ids", ",".join(map(str, ids[:4])))
    assert result.exit_code == 0, result.output
    [job] = engine.jobs.list(SYSTEM_ACTOR)
    assert result.stdout == f"job {job['id']}: done, 4/4 (100%); changed 4, matched 4, refused 0\n"
    assert f"job {job['id']} (mass_update account)" in result.stderr  # the progress bar's label
    assert (job["kind"], job["state"], job["owner_id"]) == ("mass_update", "done", None)
    assert sectors(engine, ids) == ["it"] * 4 + [None]
    assert audit_counts(engine, "account") == {i: 1 for i in ids[:4]}


def test_mass_update_by_filter_takes_the_records_a_list_page_would_show(run, engine):
    customers = accounts(engine, 3, account_type="customer")
    prospects = accounts(engine, 2, account_type="prospect")
    result = run("mass-update", "account", "--set", "sector=banking", "--set", "key_account=yes",
                 "--filter", "f_account_type=customer")
    assert result.exit_code == 0, result.output
    assert "matched 3" in result.stdout
    assert sectors(engine, customers + prospects) == ["banking"] * 3 + [None] * 2
    assert all(engine.records.get("account", i)["key_account"] is True for i in customers)


def test_refused_records_are_listed_with_their_reason_in_the_chosen_language(run, engine):
    leads = [engine.records.create("lead", {"last_name": f"L{i}", **LEAD}, SYSTEM_ACTOR)["id"] for i in range(3)]
    engine.records.transition("lead", leads[0], "start_call", SYSTEM_ACTOR)
    ids = ",".join(map(str, leads))
    result = run("mass-update", "lead", "--set", "status=new", "--ids", ids, "--lang", "fr")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(100%); changed 0, matched 3, refused 1")
    assert lines[1:] == [
        "errors (1):",
        f"  record {leads[0]}: Aucune transition ne mène du statut « qualification_call » à « new ».",
    ]


def test_bad_values_are_refused_before_any_job_exists(run, engine):
    ids = accounts(engine, 2)
    result = run("mass-update", "account", "--set", "employees=-1", "--ids", f"{ids[0]},{ids[1]}")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: account: refused", "  employees: Must be at least 0."]
    assert engine.jobs.list(SYSTEM_ACTOR) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "sector=it"], "choose the records with either --ids or --filter"),
        (["--set", "sector=it", "--ids", "1", "--filter", "q=a"], "choose the records with either --ids or --filter"),
        (["--set", "sector", "--ids", "1"], "error: --set 'sector': expected NAME=VALUE"),
        (["--set", "sector=it", "--ids", "1,x"], "error: --ids '1,x': expected record ids separated by commas"),
        (["--set", "sector=it", "--ids", "0"], "error: --ids '0': expected record ids separated by commas"),
        (["--set", "sector=it", "--filter", "f_nonsense=1"], "error: f_nonsense:"),
        (["--set", "nonsense=1", "--ids", "1"], "nonsense"),
    ],
)
def test_mass_update_option_mistakes_exit_1_with_the_reason(run, engine, args, message):
    result = run("mass-update", "account", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert engine.jobs.list(SYSTEM_ACTOR) == []


def test_the_user_option_acts_as_that_user_within_their_rights(run, engine):
    people = Accounts(engine)
    sam = people.create_user("sam", "Sam", "secret-pass", ["sales"])
    people.create_user("sue", "Sue", "secret-pass", ["support"])
    mine = engine.records.create("lead", {"last_name": "Mine", "assigned_to": sam, **LEAD}, SYSTEM_ACTOR)["id"]
    other = engine.records.create("lead", {"last_name": "Other", **LEAD}, SYSTEM_ACTOR)["id"]

    result = run("mass-update", "lead", "--set", "source=website", "--ids", f"{mine},{other}", "--user", "sam")
    assert result.exit_code == 0, result.output
    assert "changed 1, matched 1" in result.stdout  # the lead that is not theirs is out of their scope
    [job] = engine.jobs.list(SYSTEM_ACTOR)
    assert job["owner_id"] == sam
    assert engine.records.get("lead", mine)["source"] == "website"
    assert engine.records.get("lead", other)["source"] != "website"

    refused = run("mass-update", "lead", "--set", "source=website", "--ids", str(mine), "--user", "sue")
    assert refused.exit_code == 1 and "not allowed to mass update lead" in refused.stderr
    unknown = run("mass-update", "lead", "--set", "source=website", "--ids", str(mine), "--user", "zed")
    assert unknown.exit_code == 1 and unknown.stderr == "error: --user zed: no such user\n"

    assert [j["id"] for j in engine.jobs.list(people.actor_for(sam))] == [job["id"]]
    theirs = run("jobs", "list", "--user", "sue")
    assert theirs.stdout == "0 job(s)\n"


def test_no_wait_without_a_broker_says_the_command_runs_the_job_itself(run, engine):
    ids = accounts(engine, 3)
    result = run("mass-update", "account", "--set", "sector=it", "--ids", ",".join(map(str, ids)), "--no-wait")
    assert result.exit_code == 0, result.output
    [job] = engine.jobs.list(SYSTEM_ACTOR)
    assert result.stdout == f"job {job['id']} queued\n"
    assert "no broker (OSSATURE_BROKER_URL): the job runs in this command" in result.stderr
    assert job["state"] == "done" and sectors(engine, ids) == ["it"] * 3  # it ended with the command


# -- jobs ----------------------------------------------------------------------------------


def test_jobs_list_shows_the_20_latest_unless_all(run, engine):
    ids = accounts(engine, 1)
    submitted = [submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR) for _ in range(21)]
    latest = run("jobs", "list").stdout.splitlines()
    assert latest[-1] == "20 job(s)"
    assert [int(line.split()[0]) for line in latest[:-1]] == submitted[::-1][:20]
    assert latest[0].split()[1:4] == ["mass_update", "account", "queued"]
    everything = run("jobs", "list", "--all").stdout.splitlines()
    assert everything[-1] == "21 job(s)" and int(everything[-2].split()[0]) == submitted[0]


def test_jobs_list_active_leaves_finished_jobs_out(run, engine):
    ids = accounts(engine, 2)
    queued = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    finished = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    engine.jobs.run(finished)
    active = run("jobs", "list", "--active").stdout.splitlines()
    assert [int(line.split()[0]) for line in active[:-1]] == [queued]
    assert len(run("jobs", "list").stdout.splitlines()) == 3


def test_jobs_show_prints_state_progress_counts_and_first_errors(run, engine):
    leads = [engine.records.create("lead", {"last_name": f"L{i}", **LEAD}, SYSTEM_ACTOR)["id"] for i in range(3)]
    for lead in leads:
        engine.records.transition("lead", lead, "start_call", SYSTEM_ACTOR)
    job_id = submit_mass_update(engine, "lead", leads, {"status": "new"}, SYSTEM_ACTOR)
    engine.jobs.run(job_id)

    result = run("jobs", "show", str(job_id), "--errors", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"job {job_id}: mass_update of lead", "state: done", "progress: 3/3 (100%)",
        "counts: changed 0, matched 3, refused 3", "attempts: 1",
    ]
    assert lines[-3:] == [
        "errors (3, first 2):",
        f"  record {leads[0]}: No transition leads from status 'qualification_call' to 'new'.",
        f"  record {leads[1]}: No transition leads from status 'qualification_call' to 'new'.",
    ]
    assert run("jobs", "show", str(job_id), "--errors", "3").stdout.splitlines()[-4] == "errors (3):"
    missing = run("jobs", "show", "999")
    assert missing.exit_code == 1 and missing.stderr == "error: job 999 does not exist\n"


def test_jobs_wait_ends_with_the_job_and_its_exit_status(run, engine):
    ids = accounts(engine, 2)
    done = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    engine.jobs.run(done)
    finished = run("jobs", "wait", str(done))
    assert finished.exit_code == 0 and finished.stdout.startswith(f"job {done}: done, 2/2 (100%)")

    interrupted = submit_mass_update(engine, "account", ids, {"sector": "media"}, SYSTEM_ACTOR)
    interrupt(engine, interrupted)
    stopped = run("jobs", "wait", str(interrupted))
    assert stopped.exit_code == 1
    assert stopped.stderr.splitlines() == [
        f"error: job {interrupted} interrupted",
        f"`ossature jobs resume {interrupted}` continues it from its last committed chunk",
    ]

    queued = submit_mass_update(engine, "account", ids, {"sector": "media"}, SYSTEM_ACTOR)
    waited = run("jobs", "wait", str(queued), "--timeout", "0")
    assert waited.exit_code == 1 and waited.stderr == f"error: job {queued} is still queued after 0 s\n"


def test_jobs_resume_finishes_an_interrupted_job(run, engine):
    ids = accounts(engine, 4)
    job_id = submit_mass_update(engine, "account", ids, {"sector": "retail"}, SYSTEM_ACTOR)
    interrupt(engine, job_id)
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "interrupted"

    result = run("jobs", "resume", str(job_id))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"job {job_id}: done, 4/4 (100%); changed 4, matched 4, refused 0\n"
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["state"], job["attempts"]) == ("done", 1)  # the interrupt() above never claimed it
    assert sectors(engine, ids) == ["retail"] * 4

    again = run("jobs", "resume", str(job_id))
    assert again.exit_code == 1
    assert again.stderr == f"error: Job {job_id} is done: only a queued, failed or interrupted job can be resumed.\n"


def test_jobs_cancel_a_queued_job(run, engine):
    ids = accounts(engine, 2)
    job_id = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    result = run("jobs", "cancel", str(job_id))
    assert result.exit_code == 0 and result.stdout == f"job {job_id}: cancelled\n"
    assert engine.jobs.run(job_id) is False and sectors(engine, ids) == [None, None]
    assert run("jobs", "cancel", "999").exit_code == 1


def test_jobs_cancel_a_running_job_says_it_stops_after_its_chunk(run, engine):
    ids = accounts(engine, 2)
    job_id = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    with engine.db.begin() as conn:
        conn.execute(engine.tables.jobs.update().values(state="running", heartbeat_at=jobs_module.utcnow()))
    result = run("jobs", "cancel", str(job_id))
    assert result.stdout == f"job {job_id}: cancelling (it stops after its current chunk; what is written stays)\n"


def test_commands_refuse_a_database_that_is_not_migrated(run, monkeypatch, tmp_path):
    monkeypatch.setenv("OSSATURE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run("jobs", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: the database is not up to date; run `ossature migrate` first\n"


# -- worker --------------------------------------------------------------------------------


def test_the_worker_refuses_to_start_without_a_broker(run):
    result = run("worker")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: OSSATURE_BROKER_URL is not set: there is no broker to take jobs from"
    )


def test_the_worker_refuses_a_database_that_is_not_migrated(run, monkeypatch, tmp_path):
    monkeypatch.setenv("OSSATURE_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("OSSATURE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run("worker")
    assert result.exit_code == 1
    assert result.stderr == "error: the database is not up to date; run `ossature migrate` first\n"



@jobs_module.job_kind("test_cli_jobs_crash")
def _crashing_job(ctx: jobs_module.JobContext) -> None:
    raise RuntimeError("UPDATE sys_login SET secret = 1 -- the driver's words")


def test_jobs_show_gives_a_failed_jobs_error_id_never_its_exception(run, engine: Engine, caplog) -> None:
    job_id = engine.jobs.submit("test_cli_jobs_crash", {}, SYSTEM_ACTOR)
    engine.jobs.run(job_id)
    error_id = next(r for r in caplog.records if r.exc_text and "the driver's words" in r.exc_text).getMessage()
    error_id = error_id.rsplit("error id ", 1)[1].rstrip("]")
    result = run("jobs", "show", str(job_id))
    assert result.exit_code == 0
    assert (f"message: The job stopped on an unexpected error (error id {error_id}); the details are in the server "
            "log under that id.") in result.stdout.splitlines()
    assert "UPDATE" not in result.output and "RuntimeError" not in result.output
    waited = run("jobs", "wait", str(job_id))
    assert waited.exit_code == 1 and f"error id {error_id}" in waited.stderr and "UPDATE" not in waited.output
