"""Jobs on real `ossature worker` processes through a real Redis broker.

Redis must listen on 127.0.0.1:6379 (`.ci/run` starts it; by hand: `redis-server --daemonize yes`).
On a developer's machine without Redis the broker tests are skipped with the reason; in CI
(CI set) a missing Redis is a failure, never a silent skip.

Each test reserves a Redis database number of its own (1 to 15; a key in database 0 says who
holds it) and empties it before and after, so that test runs side by side never exchange
messages. Keep nothing of your own in databases 1-15 of that Redis server.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

import metamodel
from broker_workers import STALE_SECONDS, Workers
from engine import Engine
from ossature.main import cli

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
RESERVATION = "ossature-tests:redis-db:{number}"
RESERVED_SECONDS = 3600


def _redis_client(db: int):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_connect_timeout=3, socket_timeout=10)


def _database_count(client) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(client.config_get("databases").get("databases", 16))
    except Exception:  # CONFIG may be disabled: Redis's default then
        return 16


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A Redis database of this test's own, as a broker URL."""
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    try:
        import redis
    except ImportError:
        missing("the redis client is not installed: pip install -e '.[test]' (celery[redis])")
    admin = _redis_client(0)
    try:
        admin.ping()
    except redis.RedisError as error:
        missing(f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT} ({error}): redis-server --daemonize yes")
    token = uuid.uuid4().hex
    for number in range(1, _database_count(admin)):
        key = RESERVATION.format(number=number)
        if admin.set(key, token, nx=True, ex=RESERVED_SECONDS):
            break
    else:
        pytest.fail(f"every Redis database on {REDIS_HOST}:{REDIS_PORT} is reserved by other test runs")
    own = _redis_client(number)
    own.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"
    finally:
        own.flushdb()
        if admin.get(key) == token.encode():
            admin.delete(key)
        own.close()
        admin.close()


@pytest.fixture
def workers(database_url: str, broker_url: str, tmp_path: Path) -> Iterator[Workers]:
    """`workers.start(...)` starts `ossature worker` processes; all are stopped after the test."""
    started = Workers(database_url, broker_url, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="session")
def base_model() -> metamodel.model.Model:
    return metamodel.load_model([metamodel.BASE_PACK])


@pytest.fixture
def app_engine(make_engine, base_model, broker_url: str, workers: Workers) -> Engine:
    """The app server's side: an Engine that sends its jobs through the broker."""
    return make_engine(
        base_model, broker_url=broker_url, files_dir=workers.files_dir, job_options={"stale_after": STALE_SECONDS}
    )


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: Workers) -> Callable[..., Result]:
    """`ossature ...` in this process, configured like the workers (it sends jobs through the broker)."""
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    for name, value in workers.environment().items():
        if name.startswith("OSSATURE_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)
