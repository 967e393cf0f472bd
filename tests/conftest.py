"""Shared fixtures: a database per test (SQLite file, or a fresh PostgreSQL schema).

Set OSSATURE_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the whole suite on PostgreSQL: each test then gets its own schema, dropped after.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import pytest
import sqlalchemy as sa

from engine import Engine
from metamodel.model import Model

POSTGRES_URL = os.environ.get("OSSATURE_TEST_DATABASE_URL")
TESTS = Path(__file__).resolve().parent


@contextmanager
def scratch_database(folder: Path) -> Iterator[str]:
    """A database URL for tests: an SQLite file in `folder`, or a fresh PostgreSQL schema (dropped after)."""
    if not POSTGRES_URL:
        yield f"sqlite:///{folder / 'test.db'}"
        return
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    _shared_extensions(admin)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_extensions_ready = False


def _shared_extensions(admin: sa.Engine) -> None:
    """pg_trgm (the quick search's indexes) in `public`, once per run. Left to a test's
    migration it would be created in that test's schema and dropped with it, under the feet of
    the tests running beside it (pytest-xdist). A server refusing it: the tests say so themselves."""
    global _extensions_ready
    if _extensions_ready:
        return
    try:
        with admin.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(727001)"))  # one creator at a time
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError:
        pass
    _extensions_ready = True


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def scratch_databases() -> Callable[[Path], ContextManager[str]]:
    """`scratch_database` for fixtures of a wider scope (one database per test module, say)."""
    return scratch_database


class FakeClock:
    """A clock the test moves by hand, so history periods are exact."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 1, 9, 0)):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_engine(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Build an Engine on the test database (migrated); several may share it."""
    engines: list[Engine] = []

    def make(model: Model, **options) -> Engine:
        options.setdefault("files_dir", tmp_path / "files")
        engine = Engine(model, database_url, **options)
        engine.migrate()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()



LONGEST_FILES = frozenset({"tests/api/test_api_schemathesis.py"})
"""Files whose tests take minutes: they start first, so that on several workers (pytest-xdist, with
`--no-loadscope-reorder`: else it sends the files with the most tests first) the others run beside
them rather than after them."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in LONGEST_FILES)  # stable: the rest keep their order
