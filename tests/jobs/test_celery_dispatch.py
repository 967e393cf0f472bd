"""engine.jobs.celery_worker without a Redis server: the message sent, the task body, broker failures."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Iterator

import pytest
from kombu.exceptions import OperationalError

from engine import SYSTEM_ACTOR, Engine
from engine.jobs import celery_worker
from engine.jobs.celery_worker import QUEUE, TASK_NAME, BrokerUnavailable, CeleryDispatcher, run_job
from engine.jobs.mass_update_job import submit_mass_update
from recording_dispatcher import Recorder

TASK = SimpleNamespace(request=SimpleNamespace(hostname="ossature-test@here"))




@pytest.fixture
def engine(make_engine, base_model) -> Iterator[Engine]:
    engine = make_engine(base_model)
    engine.jobs.dispatcher = Recorder()
    celery_worker.set_engine_factory(lambda: engine)
    yield engine
    celery_worker.set_engine_factory(None)


def test_the_app_and_the_message_a_job_sends():
    dispatcher = CeleryDispatcher("memory://")
    conf = dispatcher.app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (True, True, 1)
    assert (conf.task_serializer, conf.accept_content, conf.task_ignore_result) == ("json", ["json"], True)
    assert conf.broker_transport_options == {"visibility_timeout": 3600}
    assert TASK_NAME in dispatcher.app.tasks

    dispatcher.dispatch(42)
    with dispatcher.app.connection_for_read() as connection:
        queue = connection.SimpleQueue(QUEUE)
        message = queue.get(timeout=5)
        message.ack()
        assert queue.qsize() == 0
        queue.close()
    assert message.headers["task"] == TASK_NAME
    assert message.content_type == "application/json"
    args, kwargs, _ = message.decode()
    assert (args, kwargs) == ([42], {})


def test_an_unreachable_broker_is_said_in_both_languages_without_its_password_or_the_clients_words(
    monkeypatch, caplog
):
    dispatcher = CeleryDispatcher("redis://:secret@broker.example:6379/0")

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to broker.example:6379. Connection refused.")

    monkeypatch.setattr(dispatcher.app, "send_task", refused)
    with pytest.raises(BrokerUnavailable) as caught:
        dispatcher.dispatch(7)
    error_id = caught.value.error_id
    assert caught.value.message("en") == (
        "Job 7 could not be sent to the workers: the broker redis://:**@broker.example:6379/0 is unreachable "
        f"(error id {error_id}; the details are in the server log under that id)."
    )
    assert caught.value.message("fr").startswith(
        "La tâche 7 n'a pas pu être confiée aux workers : le broker redis://:**@broker.example:6379/0 est injoignable"
    )
    assert "secret" not in str(caught.value) and "Connection refused" not in caught.value.message("fr")
    assert any(error_id in r.getMessage() and "Connection refused" in r.exc_text for r in caplog.records if r.exc_text)
    assert "secret" not in caplog.text


def test_the_task_runs_a_queued_job_on_the_workers_engine(engine):
    ids = engine.records.create_many("account", [{"name": f"A{i}"} for i in range(3)], SYSTEM_ACTOR)
    job_id = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    assert run_job(TASK, job_id) is True
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert (job["state"], job["done"], job["attempts"]) == ("done", 3, 1)


def test_the_task_leaves_alone_a_job_that_is_not_queued(engine, caplog):
    ids = engine.records.create_many("account", [{"name": "A"}], SYSTEM_ACTOR)
    job_id = submit_mass_update(engine, "account", ids, {"sector": "it"}, SYSTEM_ACTOR)
    engine.jobs.run(job_id)
    caplog.set_level("INFO", logger="engine.jobs.celery_worker")
    assert run_job(TASK, job_id) is False
    assert f"job {job_id} is done: nothing to do" in caplog.text
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["attempts"] == 1


def test_the_task_drops_a_message_for_a_job_it_does_not_have(engine, caplog):
    assert run_job(TASK, 999) is False
    assert "job 999: not in the database" in caplog.text


def test_a_worker_process_without_a_factory_says_how_workers_start():
    celery_worker.set_engine_factory(None)
    with pytest.raises(RuntimeError, match="ossature worker"):
        celery_worker.worker_engine()


def test_an_unreachable_database_keeps_the_message_for_a_retry(base_model, tmp_path):
    class Retry(Exception):
        pass

    retried: dict = {}

    def retry(**options):
        retried.update(options)
        return Retry()

    task = SimpleNamespace(request=TASK.request, retry=retry)
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"
    celery_worker.set_engine_factory(lambda: Engine(base_model, unreachable, files_dir=tmp_path / "files"))
    try:
        with pytest.raises(Retry):
            run_job(task, 5)
    finally:
        celery_worker.set_engine_factory(None)
    assert retried["countdown"] == celery_worker.DATABASE_RETRY_SECONDS
    assert retried["max_retries"] == celery_worker.DATABASE_RETRIES
    assert "unable to open database file" in str(retried["exc"])
