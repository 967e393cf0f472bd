"""Jobs on Celery workers: the broker carries job ids, the database carries everything else.

One task, `ossature.run_job(job_id)`, runs `Jobs.run(job_id)` on the worker's own `Engine`.
State, progress, checkpoint and errors live in `sys_job`, so no result backend is needed and
the message is only a wake-up call:

- late acknowledgement (`task_acks_late`, `task_reject_on_worker_lost`): a worker that dies
  before finishing leaves its message to the broker, which hands it out again;
- one message at a time per process (`worker_prefetch_multiplier=1`): a long job never sits
  on messages that an idle worker could take;
- a message delivered twice is harmless: `Jobs.run` claims the job with one UPDATE, and the
  task only runs jobs still `queued`. A job whose worker died midway stays `running` until its
  heartbeat is stale, then shows `interrupted`: a person resumes it (`ossature jobs resume`,
  which queues it again and sends a new message); a late redelivery never restarts it.

The app server only *sends* (`CeleryDispatcher`, by task name); `ossature worker` sets the
factory that builds the worker's `Engine`, once per worker process, on its first task (with the
prefork pool that is in the child, after the fork: database connections are never shared).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

from celery import Celery, Task
from celery.signals import worker_process_shutdown
from kombu.exceptions import OperationalError as BrokerOperationalError
from kombu.utils.url import maybe_sanitize_url
from sqlalchemy.exc import OperationalError

from engine.core.context import SYSTEM_ACTOR
from engine.core.errors import EngineError, NotFoundError
from .failures import log_failure

if TYPE_CHECKING:
    from engine.installation.runtime import Engine


@runtime_checkable
class FollowsDefinitions(Protocol):
    """What a worker needs of a `LiveEngine` (engine/installation/live.py): the newest `Engine`, and closing.

    A protocol rather than the class itself: the installation builds on jobs, not the reverse."""

    def current(self, *, check_now: bool = False) -> Engine: ...

    def close(self) -> None: ...

log = logging.getLogger(__name__)

TASK_NAME = "ossature.run_job"
QUEUE = "ossature.jobs"
VISIBILITY_TIMEOUT = 3600
"""Seconds (Redis, SQS) before an unacknowledged message goes to another worker.

Longer jobs are safe: a redelivered message finds its job running and does nothing."""
DATABASE_RETRY_SECONDS = 10
DATABASE_RETRIES = 60
"""A worker that cannot reach the database keeps the job's message for ten minutes."""

EngineFactory = Callable[[], "Engine | FollowsDefinitions"]
"""Builds a plain `Engine`, or a `LiveEngine` that follows new definitions (what `ossature worker` uses)."""

_factory: EngineFactory | None = None
_engine: Engine | FollowsDefinitions | None = None
_engine_pid: int | None = None
_lock = threading.Lock()


def set_engine_factory(factory: EngineFactory | None) -> None:
    """How a worker process builds its `Engine` (set by `ossature worker` before it starts)."""
    global _factory
    with _lock:
        _factory = factory
        _drop_engine()


def worker_engine() -> Engine:
    """This process's `Engine`, built on first use (again in a forked child: pools never cross a fork).

    A live engine checks for new definitions (an admin change, a pack installed) before each job."""
    global _engine, _engine_pid
    with _lock:
        if _engine is None or _engine_pid != os.getpid():
            if _factory is None:
                raise RuntimeError("no engine factory: workers are started with `ossature worker`")
            _engine, _engine_pid = _factory(), os.getpid()
        holder = _engine
    return holder.current(check_now=True) if isinstance(holder, FollowsDefinitions) else holder


def _drop_engine() -> None:
    global _engine, _engine_pid
    if isinstance(_engine, FollowsDefinitions) and _engine_pid == os.getpid():
        _engine.close()
    elif _engine is not None and _engine_pid == os.getpid():
        _engine.dispose()
    _engine = _engine_pid = None


@worker_process_shutdown.connect
def _dispose_on_shutdown(**_: object) -> None:
    with _lock:
        _drop_engine()


def run_job(task: Task, job_id: int) -> bool:
    """The task body: run a queued job on this worker; False when there is nothing to do."""
    try:
        engine = worker_engine()
        try:
            state = engine.jobs.get(job_id, SYSTEM_ACTOR)["state"]
        except NotFoundError:
            log.warning("job %s: not in the database %s; message dropped", job_id, engine.db.url)
            return False
        if state != "queued":
            # A redelivery (its worker died, or the message outlived the visibility timeout):
            # a running job is someone else's, an interrupted one waits for `jobs resume`.
            log.info("job %s is %s: nothing to do", job_id, state)
            return False
        log.info("job %s: running on %s", job_id, task.request.hostname)
        ran = engine.jobs.run(job_id)
    except OperationalError as error:  # the database is unreachable: keep the message, try later
        raise task.retry(exc=error, countdown=DATABASE_RETRY_SECONDS, max_retries=DATABASE_RETRIES)
    if ran:
        job = engine.jobs.get(job_id, SYSTEM_ACTOR)
        log.info("job %s: %s (%s/%s)", job_id, job["state"], job["done"], job["total"])
    else:
        log.info("job %s: taken by another worker", job_id)
    return ran


def celery_app(broker_url: str) -> Celery:
    """The Celery application of Ossature's jobs, the same on app servers and workers."""
    app = Celery("ossature", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
    )
    app.task(name=TASK_NAME, bind=True, ignore_result=True)(run_job)
    return app


MESSAGES = {
    "en": "Job {job} could not be sent to the workers: the broker {broker} is unreachable (error id {error_id}; "
          "the details are in the server log under that id).",
    "fr": "La tâche {job} n'a pas pu être confiée aux workers : le broker {broker} est injoignable (identifiant "
          "d'erreur {error_id} ; le détail est dans le journal du serveur sous cet identifiant).",
}


class BrokerUnavailable(EngineError):
    """The job is saved but no worker was told about it: the broker did not take the message.

    The broker client's own words (an address, an errno) go to the log under `error_id`."""

    def __init__(self, job_id: int, broker_url: str, error_id: str):
        self.error_id = error_id
        self.params = {"job": job_id, "broker": maybe_sanitize_url(broker_url), "error_id": error_id}
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        return MESSAGES.get(lang or "en", MESSAGES["en"]).format(**self.params)


class CeleryDispatcher:
    """Sends each job to the workers: one message per job, by task name (the sender builds no engine)."""

    def __init__(self, broker_url: str):
        self.broker_url = broker_url
        self.app = celery_app(broker_url)

    def dispatch(self, job_id: int) -> None:
        try:
            self.app.send_task(TASK_NAME, args=[job_id], queue=QUEUE)
        except BrokerOperationalError as error:
            error_id = log_failure(log, error, "job %s: the broker %s did not take it", job_id,
                                   maybe_sanitize_url(self.broker_url))
            raise BrokerUnavailable(job_id, self.broker_url, error_id) from error
