"""`Engine`: the runtime built from a `Model` and a database URL."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pluggy
import sqlalchemy as sa

from metamodel.building.allocation import collector_paused
from metamodel.model import Model

from engine.records.hooks import Hooks, default_hooks
from engine.jobs.service import Jobs
from engine.schema.migrate import apply_migration, plan_migration
from engine.records.service import RecordService
from engine.storage.tables import Tables, build_tables
from engine.storage.trail import to_json
from engine.records.validation import EntityValidator
from engine.records.workflow import build_workflows


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _json_default(value: Any) -> Any:
    converted = to_json(value)
    if converted is value:
        raise TypeError(f"cannot store {type(value).__name__} as JSON")
    return converted


def create_db(url: str, **kwargs: Any) -> sa.Engine:
    """A SQLAlchemy engine; SQLite gets foreign keys enforced like every other database."""
    db = sa.create_engine(url, json_serializer=partial(json.dumps, default=_json_default), **kwargs)
    if db.dialect.name == "sqlite":
        @sa.event.listens_for(db, "connect")
        def _enable_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return db


class Engine:
    """Everything derived from the `Model`: tables, validators and the record service."""

    def __init__(
        self,
        model: Model,
        database_url: str,
        *,
        plugins: pluggy.PluginManager | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        files_dir: str | Path = "instance/files",
        broker_url: str | None = None,
        job_options: dict[str, Any] | None = None,
        **db_options: Any,
    ):
        """`plugins` defaults to every plugin installed (the `ossature.plugins` entry points).

        Jobs keep their files (uploads, exports) under `files_dir`; they run on Celery workers
        through `broker_url` when it is given, else on background threads of this process.
        `job_options` go to `Jobs` (`stale_after`, `threshold`).
        """
        self.model = model
        self.hooks = Hooks(plugins) if plugins is not None else default_hooks()
        self.db = create_db(database_url, **db_options)
        with collector_paused():
            self.tables: Tables = build_tables(model)
            self.validators = {
                name: EntityValidator(entity, model, self.hooks.formats) for name, entity in model.entities.items()
            }
            self.workflows = build_workflows(model, self.validators, self.hooks.actions)
        self.records = RecordService(model, self.db, self.tables, self.validators, self.workflows, self.hooks, clock)
        self.jobs = Jobs(self, files_dir=Path(files_dir), broker_url=broker_url, **(job_options or {}))

    def migrate(self) -> list[str]:
        """Bring the database up to the Model, in one transaction, and say what was done, in plain
        words (engine/schema/plan.py: create, archive, rename, retype, tighten...).

        Raises `engine.schema.steps.MigrationRefused`, carrying the plan, when a step is refused
        (values that do not convert, a list value deleted while in use): nothing is changed then.
        """
        plan = apply_migration(self.db, self.model, self.tables, formats=self.hooks.formats, clock=self.records.clock)
        return plan.words()

    def pending_migrations(self) -> list[str]:
        """The steps `migrate` would take, in plain words (refused ones start with REFUSED)."""
        return plan_migration(self.db, self.model, self.tables, formats=self.hooks.formats).words()

    def tables_behind(self) -> bool:
        """Whether the tables must be migrated before records are read or written: a step other
        than a rule made stricter or looser, or a label changed, is pending."""
        return plan_migration(self.db, self.model, self.tables, formats=self.hooks.formats).tables_behind

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.jobs.shutdown()
        self.db.dispose()
