"""Jobs from the command line: `ossature worker`, `ossature jobs ...`, `ossature mass-update`.

Without OSSATURE_BROKER_URL a job runs on a background thread of the command that submits
it, and that command waits for it before exiting (even with `--no-wait`: nothing else would
run it). With a broker, jobs run on `ossature worker` processes and `--no-wait` returns at once.
Progress bars go to stderr, results to stdout; a job that does not end `done` exits with 1.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.installation import settings
from ossature.cli import cli
from ossature.commands.common import configured_model, database_failure, fail, open_engine, printable_url, require_migrated

if TYPE_CHECKING:

    from engine import Actor, Engine

POLL_SECONDS = 0.2
"""How often a waiting command reads the job's progress."""
SHOWN_ERRORS = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
STOPPED = ("done", "failed", "cancelled", "interrupted")
"""States after which waiting is over (an interrupted job waits for a person)."""


# -- shared plumbing ------------------------------------------------------------------


def engine_error_lines(error: Exception, lang: str = "en") -> list[str]:
    """An engine error as `error: ...` lines (one per field for a refused record)."""
    from engine import RecordValidationError

    if isinstance(error, RecordValidationError):
        where = f"{error.entity}: " if error.entity else ""
        return [f"error: {where}refused"] + [
            f"  {field}: {e.message(lang)}" for field, errs in error.errors.items() for e in errs
        ]
    for method in ("describe", "message"):
        found = getattr(error, method, None)
        if callable(found):
            try:
                return [f"error: {found(lang)}"]
            except TypeError:
                continue
    return [f"error: {error}"]


@contextmanager
def opened_engine() -> Iterator[Engine]:
    """The configured engine on an up-to-date database; engine errors end the command (exit 1).

    Leaving waits for jobs running on this process's threads (the embedded default)."""
    from engine import EngineError

    model = configured_model()
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        yield engine
    except EngineError as error:
        fail(engine_error_lines(error))
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()


def acting(engine: Engine, username: str | None, lang: str = "en") -> Actor:
    """The system, or the user called `username` with the roles of their login."""
    from engine import Actor
    from engine.access.accounts import AccountError, Accounts

    if username is None:
        return Actor(system=True, lang=lang)
    accounts = Accounts(engine)  # definitions without users: AccountError says so
    try:
        user_id = accounts.user_id(username)
    except AccountError:
        fail([f"error: --user {username}: no such user"])
    return accounts.actor_for(user_id, lang=lang)


def user_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--user", "username", default=None, metavar="NAME",
        help="Act as this user (their roles and scopes; their jobs only). Default: the system, every job.",
    )(function)


def uses_broker(engine: Engine) -> bool:
    return bool(engine.jobs.broker_url)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def progress_text(job: Mapping[str, Any]) -> str:
    total = job["total"]
    return f"{job['done'] or 0}/{total} ({job['percent']}%)" if total is not None else f"{job['done'] or 0}/?"


def counts_text(counts: Mapping[str, int] | None) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted((counts or {}).items())) or "-"


def error_line(error: Mapping[str, Any]) -> str:
    where = []
    if error["row"] is not None:
        where.append(f"row {error['row']}")
    if error["record_id"] is not None:
        where.append(f"record {error['record_id']}")
    if error["field"]:
        where.append(error["field"])
    return f"  {', '.join(where) or 'job'}: {error['message']}"


def echo_errors(engine: Engine, job: Mapping[str, Any], actor: Actor, limit: int) -> None:
    if not job["error_count"]:
        return
    errors = engine.jobs.errors(job["id"], actor, limit=limit)
    shown = f", first {len(errors)}" if len(errors) < job["error_count"] else ""
    click.echo(f"errors ({job['error_count']}{shown}):")
    for error in errors:
        click.echo(error_line(error))


def follow(engine: Engine, job_id: int, actor: Actor, *, timeout: float | None = None) -> dict[str, Any]:
    """Wait for the job with a progress bar on stderr; returns it once it stopped (or at `timeout`)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with ExitStack() as stack:
        bar = None
        while True:
            job = engine.jobs.get(job_id, actor)
            if bar is None and job["total"]:
                label = f"job {job_id} ({job['kind']}{' ' + job['entity'] if job['entity'] else ''})"
                bar = stack.enter_context(
                    click.progressbar(length=job["total"], label=label, file=sys.stderr, show_pos=True)
                )
            if bar is not None and (job["done"] or 0) > bar.pos:
                bar.update(min(job["done"], bar.length or job["done"]) - bar.pos)
            if job["state"] in STOPPED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                fail([f"error: job {job_id} is still {job['state']} after {timeout:g} s"])
            time.sleep(POLL_SECONDS)


def conclude(engine: Engine, job: Mapping[str, Any], actor: Actor, *, errors: int = SHOWN_ERRORS) -> None:
    """Print how the job ended and its first errors; exit 1 unless it is done."""
    job_id = job["id"]
    click.echo(f"job {job_id}: {job['state']}, {progress_text(job)}; {counts_text(job['counts'])}")
    echo_errors(engine, job, actor, errors)
    if job["state"] == "done":
        return
    lines = [f"error: job {job_id} {job['state']}" + (f": {job['message']}" if job["message"] else "")]
    if job["state"] in ("failed", "interrupted"):
        lines.append(f"`ossature jobs resume {job_id}` continues it from its last committed chunk")
    fail(lines)


def after_submit(engine: Engine, job_id: int, actor: Actor, *, wait: bool) -> None:
    """Follow a job just queued (or say where it runs) and conclude."""
    if wait:
        conclude(engine, follow(engine, job_id, actor), actor)
        return
    click.echo(f"job {job_id} queued")
    if not uses_broker(engine):
        click.echo("no broker (OSSATURE_BROKER_URL): the job runs in this command, which ends with it", err=True)


# -- ossature worker ------------------------------------------------------------------


@cli.command()
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Jobs this worker runs at once, each in its own process (default: one per CPU).")
@click.option("--loglevel", "-l", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO",
              show_default=True)
def worker(concurrency: int | None, loglevel: str) -> None:
    """Run jobs sent through OSSATURE_BROKER_URL (Celery worker, in the foreground).

    Start as many as you like, on one machine or several: each job runs once. They need
    the same packs, database and OSSATURE_FILES_DIR as the app servers. A job whose worker
    died shows `interrupted`; it is never restarted on its own: `ossature jobs resume ID`.
    """
    broker = settings.broker_url()
    if not broker:
        fail([
            "error: OSSATURE_BROKER_URL is not set: there is no broker to take jobs from",
            "  (without a broker, jobs run inside the app or command that starts them; no worker is needed)",
        ])
    model = configured_model()
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        stale = [job for job in engine.jobs.list(acting(engine, None), active=True, limit=None)
                 if job["state"] == "interrupted"]
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()  # the worker's processes build their own, after the fork
    for job in stale:
        click.echo(f"warning: job {job['id']} ({job['kind']}) was interrupted at {progress_text(job)}: "
                   f"`ossature jobs resume {job['id']}` continues it", err=True)

    from engine.jobs.celery_worker import celery_app, set_engine_factory
    from engine.installation.definitions import Installation
    from engine.installation.live import LiveEngine

    # Each worker process follows the definitions (admin overlay, installed packs) as the app does.
    set_engine_factory(lambda: LiveEngine(Installation(settings.pack_dirs(), url, engine_options=settings.engine_options())))
    click.echo(f"database: {printable_url(url)}", err=True)
    app = celery_app(broker)
    celery_worker = app.Worker(
        hostname=f"ossature-{os.getpid()}@{socket.gethostname()}", concurrency=concurrency,
        loglevel=loglevel.upper(), without_mingle=True, without_gossip=True,
    )
    celery_worker.start()
    raise click.exceptions.Exit(celery_worker.exitcode or 0)


# -- ossature jobs ----------------------------------------------------------------------


@cli.group()
def jobs() -> None:
    """Follow, resume and cancel jobs (mass updates, imports, exports)."""


@jobs.command("list")
@click.option("--all", "everything", is_flag=True, help="Every job, not only the 20 latest.")
@click.option("--active", is_flag=True, help="Only jobs queued or running (interrupted ones included).")
@click.option("--entity", default=None, help="Only jobs on this entity.")
@user_option
def jobs_list(everything: bool, active: bool, entity: str | None, username: str | None) -> None:
    """The latest jobs, newest first."""
    with opened_engine() as engine:
        actor = acting(engine, username)
        found = engine.jobs.list(actor, entity=entity, active=active, limit=None if everything else 20)
    for job in found:
        click.echo(f"{job['id']:>6}  {job['kind']:<12} {job['entity'] or '-':<16} {job['state']:<11} "
                   f"{progress_text(job):<22} {_when(job['created_at'])}")
    click.echo(f"{len(found)} job(s)")


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--errors", "shown", type=click.IntRange(min=0), default=SHOWN_ERRORS, show_default=True,
              help="How many per-record errors to print.")
@user_option
def jobs_show(job_id: int, shown: int, username: str | None) -> None:
    """A job's state, progress, counts and first errors."""
    with opened_engine() as engine:
        actor = acting(engine, username)
        job = engine.jobs.get(job_id, actor)
        click.echo(f"job {job_id}: {job['kind']}" + (f" of {job['entity']}" if job["entity"] else ""))
        click.echo(f"state: {job['state']}")
        click.echo(f"progress: {progress_text(job)}")
        click.echo(f"counts: {counts_text(job['counts'])}")
        click.echo(f"attempts: {job['attempts']}")
        click.echo(f"created: {_when(job['created_at'])}  started: {_when(job['started_at'])}  "
                   f"finished: {_when(job['finished_at'])}")
        if job["message"]:
            click.echo(f"message: {job['message']}")
        if job["output_name"]:
            click.echo(f"output: {job['output_name']} ({job['media_type']})")
        echo_errors(engine, job, actor, shown)


@jobs.command("wait")
@click.argument("job_id", type=int)
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Give up after this many seconds.")
@user_option
def jobs_wait(job_id: int, timeout: float | None, username: str | None) -> None:
    """Show a progress bar until the job stops; exit 1 unless it ends done."""
    with opened_engine() as engine:
        actor = acting(engine, username)
        conclude(engine, follow(engine, job_id, actor, timeout=timeout), actor)


@jobs.command("resume")
@click.argument("job_id", type=int)
@click.option("--no-wait", is_flag=True, help="Return once the job is queued again (with a broker).")
@user_option
def jobs_resume(job_id: int, no_wait: bool, username: str | None) -> None:
    """Queue a failed or interrupted job again: it continues after its last committed chunk."""
    with opened_engine() as engine:
        actor = acting(engine, username)
        engine.jobs.resume(job_id, actor)
        after_submit(engine, job_id, actor, wait=not no_wait)


@jobs.command("cancel")
@click.argument("job_id", type=int)
@user_option
def jobs_cancel(job_id: int, username: str | None) -> None:
    """Stop a job: a queued one never starts, a running one stops after its current chunk."""
    with opened_engine() as engine:
        job = engine.jobs.cancel(job_id, acting(engine, username))
    if job["state"] == "cancelling":
        click.echo(f"job {job_id}: cancelling (it stops after its current chunk; what is written stays)")
    else:
        click.echo(f"job {job_id}: {job['state']}")


# -- ossature mass-update -------------------------------------------------------------


def parse_pairs(option: str, items: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail([f"error: {option} {item!r}: expected NAME=VALUE"])
        pairs.append((name.strip(), value))
    return pairs


def parse_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail([f"error: --ids {text!r}: expected record ids separated by commas (--ids 12,13,20)"])
    if not ids or any(i < 1 for i in ids):
        fail([f"error: --ids {text!r}: expected record ids separated by commas (--ids 12,13,20)"])
    return ids


@cli.command("mass-update")
@click.argument("entity")
@click.option("--set", "values", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A value to give every selected record (repeat; FIELD= clears the field).")
@click.option("--ids", default=None, metavar="ID,ID,...", help="The records, by id.")
@click.option("--filter", "filters", multiple=True, metavar="ARG=VALUE",
              help="The records a list page would show with these arguments: f_sector=it, q=acme, "
                   "tab=all, f_employees_min=10 (repeat; the same ARG twice means either value).")
@click.option("--lang", type=click.Choice(("en", "fr")), default="en", show_default=True,
              help="Language of the reasons given for refused records.")
@click.option("--no-wait", is_flag=True, help="Return once the job is queued (with a broker).")
@user_option
def mass_update(
    entity: str, values: tuple[str, ...], ids: str | None, filters: tuple[str, ...], lang: str, no_wait: bool,
    username: str | None,
) -> None:
    """Give the same values to many records of ENTITY, as a job (chunked, audited, resumable).

    Example: ossature mass-update account --set sector=it --filter f_city=Lyon
    """
    from engine.jobs.mass_update_job import submit_mass_update

    given = dict(parse_pairs("--set", values))
    if (ids is None) == (not filters):
        fail(["error: choose the records with either --ids or --filter (--filter tab=all: every record)"])
    with opened_engine() as engine:
        actor = acting(engine, username, lang)
        if ids is not None:
            selection: Any = parse_ids(ids)
        else:
            args: dict[str, list[str]] = {}
            for name, value in parse_pairs("--filter", filters):
                args.setdefault(name, []).append(value)
            selection = engine.records.list_request(entity, args)
        job_id = submit_mass_update(engine, entity, selection, given, actor)
        after_submit(engine, job_id, actor, wait=not no_wait)
