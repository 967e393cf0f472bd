"""Jobs: long operations (mass update, import, export) run in the background, in chunks.

A job is a row in `sys_job`; a job *kind* is a function registered with `@job_kind(name)`
that does the work through a `JobContext`. Each chunk of work commits in its own database
transaction together with the job's progress and checkpoint (`JobContext.chunk_done`), so a
process killed midway leaves every chunk either fully written or untouched, and the job
resumes from the last committed checkpoint.

Where jobs run is the dispatcher's business: `InProcessDispatcher` (the embedded default,
no broker) runs them on background threads of this process; `engine.jobs.celery_worker` sends
them to Celery workers when a broker URL is configured. Either way a job is claimed with a
single UPDATE, so a message delivered twice never runs a job twice at once.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

import sqlalchemy as sa

from engine.core.context import Actor
from engine.core.errors import EngineError, NotFoundError
from .failures import failure_message
from .stored_text import storable

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running", "cancelling")
FINISHED = ("done", "failed", "cancelled")
FIELD_LENGTH = 200
"""The length of `sys_job_error.field` (engine/storage/job_tables.py): longer column names are cut."""
STORED_ERRORS = 10_000
"""Per-record errors kept per job; `error_count` counts them all."""
DEFAULT_STALE_AFTER = 60.0
"""Seconds without a heartbeat after which a running job is taken for interrupted (its process died)."""

KIND_MODULES = ("engine.jobs.mass_update_job", "engine.exchange.importer", "engine.exchange.exporter")
"""Modules registering the engine's own job kinds, imported when a job first runs."""

JobFunction = Callable[["JobContext"], "Mapping[str, Any] | None"]
_KINDS: dict[str, JobFunction] = {}


def job_kind(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a job kind: `@job_kind("import") def run_import(ctx): ...`."""

    def register(function: JobFunction) -> JobFunction:
        _KINDS[name] = function
        return function

    return register


def kind_function(name: str) -> JobFunction:
    if name not in _KINDS:
        for module in KIND_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                if error.name != module:
                    raise
    try:
        return _KINDS[name]
    except KeyError:
        raise NotFoundError("job kind", name) from None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


MESSAGES = {
    "no_output": {"en": "Job {job} has no file to download.", "fr": "La tâche {job} n'a pas de fichier à télécharger."},
    "not_resumable": {
        "en": "Job {job} is {state}: only a queued, failed or interrupted job can be resumed.",
        "fr": "La tâche {job} est à l'état {state} : seule une tâche en attente, en échec ou interrompue peut reprendre.",
    },
}


class JobStateError(EngineError):
    """The job is not in a state where this applies (resuming a finished job, say)."""

    def __init__(self, reason: str, params: Mapping[str, Any]):
        self.reason, self.params = reason, dict(params)
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        texts = MESSAGES[self.reason]
        return texts.get(lang or "en", texts["en"]).format(**self.params)


class JobCancelled(Exception):
    """Raised inside a chunk when the job was cancelled: the chunk rolls back, the job stops."""


class JobTakenOver(Exception):
    """Raised inside a chunk when another run claimed the job meanwhile (this one was taken for
    dead): the chunk rolls back and this run stops without touching the job."""


@dataclass(frozen=True)
class JobError:
    """Why one row or record was left out: `row` (1-based line of a file) or `record_id`."""

    row: int | None
    record_id: int | None
    field: str | None
    message: str


class Dispatcher(Protocol):
    def dispatch(self, job_id: int) -> None: ...


class InProcessDispatcher:
    """The embedded default: jobs run on background threads of this process (no broker)."""

    def __init__(self, jobs: Jobs, workers: int = 2):
        self.jobs = jobs
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ossature-job")

    def dispatch(self, job_id: int) -> None:
        self.pool.submit(self.jobs.run, job_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


class JobContext:
    """What a job kind function works with; see the module docstring."""

    def __init__(self, jobs: Jobs, row: Mapping[str, Any], actor: Actor):
        self._jobs = jobs
        self.engine = jobs.engine
        self.job_id: int = row["id"]
        self.kind: str = row["kind"]
        self.params: Mapping[str, Any] = row["params"]
        self.checkpoint: Any = row["checkpoint"]
        self.actor = actor
        self.attempt: int = row["attempts"]
        self.files_dir = jobs.job_dir(self.job_id)

    def set_total(self, total: int | None) -> None:
        with self.engine.db.begin() as conn:
            self._jobs._touch(conn, self.job_id, total=total)

    def chunk_done(
        self, conn: sa.Connection, *, done: int, checkpoint: Any,
        counts: Mapping[str, int] | None = None, errors: Sequence[JobError] = (),
    ) -> None:
        """Record a chunk's progress in the chunk's own transaction (commits with it or not at all)."""
        self._jobs._record(
            conn, self.job_id, attempt=self.attempt, done=done, checkpoint=checkpoint, counts=counts, errors=errors
        )
        self.checkpoint = checkpoint

    def report(self, *, done: int, counts: Mapping[str, int] | None = None, errors: Sequence[JobError] = ()) -> None:
        """Progress of work that writes no records (a dry run, an export), in its own transaction."""
        with self.engine.db.begin() as conn:
            self._jobs._record(
                conn, self.job_id, attempt=self.attempt, done=done, checkpoint=self.checkpoint, counts=counts,
                errors=errors,
            )

    def output(self, filename: str, media_type: str) -> Path:
        """Where to write the job's output file; the job offers it for download once done."""
        with self.engine.db.begin() as conn:
            self._jobs._touch(conn, self.job_id, output_name=filename, media_type=media_type)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        return self.files_dir / filename


class Jobs:
    """Submit, run, follow, cancel and resume the jobs of one `Engine`."""

    def __init__(
        self, engine: Engine, *, files_dir: Path, broker_url: str | None = None,
        stale_after: float = DEFAULT_STALE_AFTER, threshold: int = 2000,
    ):
        self.engine = engine
        self.table = engine.tables.jobs
        self.error_table = engine.tables.job_errors
        self.files_dir = Path(files_dir)
        self.stale_after = stale_after
        self.threshold = threshold
        """Selections larger than this run as a job rather than in the request."""
        self.broker_url = broker_url
        self._dispatcher: Dispatcher | None = None
        self._lock = threading.Lock()
        self._list_statements: dict[tuple[bool, ...], sa.Select] = {}

    # -- submitting --------------------------------------------------------------------

    def submit(self, kind: str, params: Mapping[str, Any], actor: Actor, *, entity: str | None = None) -> int:
        """Queue a job and hand it to the dispatcher; returns its id."""
        kind_function(kind)
        now = utcnow()
        with self.engine.db.begin() as conn:
            job_id = conn.execute(
                self.table.insert().values(
                    kind=kind, entity=entity, owner_id=actor.user_id, actor=_actor_json(actor), state="queued",
                    params=dict(params), done=0, counts={}, error_count=0, attempts=0, created_at=now,
                ).returning(self.table.c.id)
            ).scalar_one()
        self._dispatch(job_id, actor)
        return job_id

    def _dispatch(self, job_id: int, actor: Actor) -> None:
        """Hand the job over; if that fails (broker down), the job fails saying why and can be resumed."""
        try:
            self.dispatcher.dispatch(job_id)
        except Exception as error:
            message = failure_message(error, actor.lang, log, "job %s could not be dispatched", job_id,
                                      generic="not_dispatched", model=self.engine.model)
            self._finish(job_id, "failed", message=message)
            raise

    @property
    def dispatcher(self) -> Dispatcher:
        with self._lock:
            if self._dispatcher is None:
                if self.broker_url:
                    from .celery_worker import CeleryDispatcher

                    self._dispatcher = CeleryDispatcher(self.broker_url)
                else:
                    self._dispatcher = InProcessDispatcher(self)
            return self._dispatcher

    @dispatcher.setter
    def dispatcher(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def shutdown(self) -> None:
        """Wait for the jobs running on this process's threads (the in-process dispatcher)."""
        if isinstance(self._dispatcher, InProcessDispatcher):
            self._dispatcher.shutdown()
            self._dispatcher = None

    # -- running -----------------------------------------------------------------------

    def run(self, job_id: int) -> bool:
        """Claim the job and run it in this thread; False if another process has it or it is over."""
        row = self._claim(job_id)
        if row is None:
            return False
        heartbeat = _Heartbeat(self, job_id, row["attempts"])
        try:
            actor = self._actor(row["actor"])
            function = kind_function(row["kind"])
            context = JobContext(self, row, actor)
            result = function(context)
        except JobTakenOver:
            log.warning("job %s was taken over by another run; this one stops", job_id)
            return False
        except JobCancelled:
            self._finish(job_id, "cancelled")
        except Exception as error:  # the job failed: say why on the job, keep the worker alive
            lang = (row["actor"] or {}).get("lang", "en")
            message = failure_message(error, lang, log, "job %s (%s) failed", job_id, row["kind"],
                                      model=self.engine.model)
            self._finish(job_id, "failed", message=message)
        else:
            self._finish(job_id, "done", result=dict(result) if result else None)
        finally:
            heartbeat.stop()
        return True

    def _claim(self, job_id: int) -> dict[str, Any] | None:
        now = utcnow()
        table = self.table
        with self.engine.db.begin() as conn:
            claimed = conn.execute(
                table.update()
                .where(table.c.id == job_id, self._claimable(now))
                .values(state="running", started_at=sa.func.coalesce(table.c.started_at, now),
                        heartbeat_at=now, attempts=table.c.attempts + 1)
            ).rowcount
            if not claimed:
                return None
            return dict(conn.execute(sa.select(table).where(table.c.id == job_id)).one()._mapping)

    def _claimable(self, now: dt.datetime) -> sa.ColumnElement[bool]:
        table = self.table
        stale = now - dt.timedelta(seconds=self.stale_after)
        return sa.or_(
            table.c.state == "queued",
            sa.and_(table.c.state.in_(("running", "cancelling")), table.c.heartbeat_at < stale),
        )

    def _record(
        self, conn: sa.Connection, job_id: int, *, attempt: int, done: int, checkpoint: Any,
        counts: Mapping[str, int] | None, errors: Sequence[JobError],
    ) -> None:
        table = self.table
        current = conn.execute(
            sa.select(table.c.state, table.c.counts, table.c.error_count, table.c.attempts)
            .where(table.c.id == job_id).with_for_update()
        ).one()
        if current.attempts != attempt:
            raise JobTakenOver()
        if current.state == "cancelling":
            raise JobCancelled()
        merged = dict(current.counts or {})
        for name, increment in (counts or {}).items():
            merged[name] = merged.get(name, 0) + increment
        room = max(0, STORED_ERRORS - current.error_count)
        if errors and room:
            conn.execute(self.error_table.insert(), [
                {"job_id": job_id, "row_number": e.row, "record_id": e.record_id,
                 "field": storable(e.field, FIELD_LENGTH), "message": storable(e.message)}
                for e in errors[:room]
            ])
        conn.execute(
            table.update().where(table.c.id == job_id).values(
                done=done, checkpoint=checkpoint, counts=merged, heartbeat_at=utcnow(),
                error_count=table.c.error_count + len(errors),
            )
        )

    def _touch(self, conn: sa.Connection, job_id: int, **values: Any) -> None:
        conn.execute(self.table.update().where(self.table.c.id == job_id).values(heartbeat_at=utcnow(), **values))

    def _finish(self, job_id: int, state: str, *, result: Any = None, message: str | None = None) -> None:
        with self.engine.db.begin() as conn:
            values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "message": storable(message)}
            if result is not None:
                values["result"] = result
            conn.execute(self.table.update().where(self.table.c.id == job_id).values(**values))

    def _actor(self, stored: Mapping[str, Any]) -> Actor:
        lang = stored.get("lang", "en")
        if stored.get("system"):
            return Actor(system=True, lang=lang, user_id=stored.get("user_id"))
        if stored.get("user_id") is None:  # the pages' demo actor (LOGIN_REQUIRED=False): no user to read again
            return Actor(user_id=None, username=stored.get("username", "demo"), roles=frozenset(stored.get("roles", ())),
                         lang=lang, team=stored.get("team"))
        from engine.access.accounts import Accounts

        return Accounts(self.engine).actor_for(stored["user_id"], lang=lang)

    # -- following ---------------------------------------------------------------------

    def get(self, job_id: int, actor: Actor) -> dict[str, Any]:
        """The job as its owner sees it; `state` says `interrupted` when its process died."""
        with self.engine.db.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.id == job_id)).first()
        if row is None or not self._visible(row._mapping, actor):
            raise NotFoundError("job", job_id)
        return self._public(row._mapping)

    def list(
        self, actor: Actor, *, entity: str | None = None, active: bool = False, limit: int | None = 50
    ) -> list[dict[str, Any]]:
        """The actor's jobs (every job for the system), newest first; `limit` None: all of them.

        Every list page asks for the user's active jobs, so each shape of the query is built once."""
        shape = (actor.system, actor.user_id is None, entity is not None, active, limit is not None)
        query = self._list_statements.get(shape)
        if query is None:
            table = self.table
            query = sa.select(table).order_by(table.c.id.desc())
            if not actor.system:
                query = query.where(
                    table.c.owner_id.is_(None) if actor.user_id is None else table.c.owner_id == sa.bindparam("owner")
                )
            if entity is not None:
                query = query.where(table.c.entity == sa.bindparam("entity"))
            if active:
                query = query.where(table.c.state.in_(ACTIVE))
            if limit is not None:
                query = query.limit(sa.bindparam("limit", type_=sa.Integer))
            self._list_statements[shape] = query
        values = {"owner": actor.user_id, "entity": entity, "limit": limit}
        with self.engine.db.connect() as conn:
            rows = conn.execute(query, {k: v for k, v in values.items() if v is not None})
            return [self._public(row._mapping) for row in rows if self._visible(row._mapping, actor)]

    def errors(self, job_id: int, actor: Actor, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The job's per-record errors, in the order they were found."""
        self.get(job_id, actor)
        table = self.error_table
        with self.engine.db.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.row_number.label("row"), table.c.record_id, table.c.field, table.c.message)
                .where(table.c.job_id == job_id).order_by(table.c.id).limit(limit)
            )
            return [dict(row._mapping) for row in rows]

    def wait(self, job_id: int, *, timeout: float = 60.0, poll: float = 0.05) -> dict[str, Any]:
        """Block until the job is finished (or `timeout` seconds pass: TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.db.connect() as conn:
                row = conn.execute(sa.select(self.table).where(self.table.c.id == job_id)).one()
            job = self._public(row._mapping)
            if job["state"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout:g} s")
            time.sleep(poll)

    def output_path(self, job_id: int, actor: Actor) -> tuple[Path, str, str]:
        """(path, file name, media type) of a finished job's output file."""
        job = self.get(job_id, actor)
        if job["state"] != "done" or not job["output_name"]:
            raise JobStateError("no_output", {"job": job_id})
        return self.job_dir(job_id) / job["output_name"], job["output_name"], job["media_type"]

    def job_dir(self, job_id: int) -> Path:
        return self.files_dir / "jobs" / str(job_id)

    # -- steering ----------------------------------------------------------------------

    def cancel(self, job_id: int, actor: Actor) -> dict[str, Any]:
        """Stop a job: a queued or interrupted one never runs again; a running one stops after its
        current chunk (what earlier chunks committed stays, as the job's counts say)."""
        job = self.get(job_id, actor)
        table = self.table
        with self.engine.db.begin() as conn:
            if job["state"] == "interrupted":  # its process died: nothing will see a "cancelling"
                conn.execute(table.update().where(table.c.id == job_id, table.c.state.in_(("running", "cancelling")))
                             .values(state="cancelled", finished_at=utcnow()))
            else:
                conn.execute(table.update().where(table.c.id == job_id, table.c.state == "queued")
                             .values(state="cancelled", finished_at=utcnow()))
                conn.execute(table.update().where(table.c.id == job_id, table.c.state == "running")
                             .values(state="cancelling"))
        return self.get(job_id, actor)

    def resume(self, job_id: int, actor: Actor) -> dict[str, Any]:
        """Queue a failed or interrupted job again; it continues from its last checkpoint.

        A queued job is sent again too (its message may have been lost with a broker that
        keeps nothing on disk); the claim makes a duplicate delivery harmless.
        """
        job = self.get(job_id, actor)
        if job["state"] not in ("failed", "interrupted", "queued"):
            raise JobStateError("not_resumable", {"job": job_id, "state": job["state"]})
        table = self.table
        stale = utcnow() - dt.timedelta(seconds=self.stale_after)
        with self.engine.db.begin() as conn:
            conn.execute(
                table.update().where(
                    table.c.id == job_id,
                    sa.or_(table.c.state == "failed",
                           sa.and_(table.c.state.in_(("running", "cancelling")), table.c.heartbeat_at < stale)),
                ).values(state="queued", finished_at=None, message=None)
            )
        self._dispatch(job_id, actor)
        return self.get(job_id, actor)

    # -- helpers -----------------------------------------------------------------------

    def _visible(self, row: Mapping[str, Any], actor: Actor) -> bool:
        if actor.system:
            return True
        if actor.user_id is None:  # the demo actor: the jobs it started (no owner, and not the system's)
            return row["owner_id"] is None and not (row["actor"] or {}).get("system")
        return row["owner_id"] == actor.user_id

    def _public(self, row: Mapping[str, Any]) -> dict[str, Any]:
        job = {name: row[name] for name in (
            "id", "kind", "entity", "owner_id", "state", "params", "total", "done", "counts", "error_count",
            "result", "message", "output_name", "media_type", "attempts", "created_at", "started_at",
            "heartbeat_at", "finished_at",
        )}
        if job["state"] in ("running", "cancelling") and job["heartbeat_at"] is not None:
            if job["heartbeat_at"] < utcnow() - dt.timedelta(seconds=self.stale_after):
                job["state"] = "interrupted"
        total, done = job["total"], job["done"] or 0
        job["percent"] = 100 if job["state"] == "done" else (min(99, done * 100 // total) if total else 0)
        return job


class _Heartbeat:
    """Keeps a running job's heartbeat fresh while a long step runs (a first count, a big chunk),
    so that it is not taken for interrupted; it dies with the process, which is the point."""

    def __init__(self, jobs: Jobs, job_id: int, attempt: int):
        self.jobs, self.job_id, self.attempt = jobs, job_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"ossature-job-{job_id}-heartbeat", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        table = self.jobs.table
        while not self.stopped.wait(max(0.5, self.jobs.stale_after / 4)):
            try:
                with self.jobs.engine.db.begin() as conn:
                    conn.execute(
                        table.update()
                        .where(table.c.id == self.job_id, table.c.attempts == self.attempt,
                               table.c.state.in_(("running", "cancelling")))
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # a busy database: the chunks beat too; try again later
                log.debug("heartbeat of job %s skipped", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def _actor_json(actor: Actor) -> dict[str, Any]:
    stored: dict[str, Any] = {"user_id": actor.user_id, "lang": actor.lang, "system": actor.system}
    if not actor.system and actor.user_id is None:  # the demo actor has no user to read its roles from
        stored.update(username=actor.username, roles=sorted(actor.roles), team=actor.team)
    return stored

