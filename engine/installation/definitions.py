"""An installation's definitions: where they come from, what state they are in, how they change.

The `Model` every process runs is, in layering order:

1. the directory packs: the base pack and `OSSATURE_PACKS` (the same on every process);
2. the packs installed in the database (`sys_pack`, see `engine.installation.pack_store`);
3. the admin overlay: its latest revision (`sys_definition_revision`, see `engine.installation.overlay`).

`Installation.state()` says in one tiny query which installed packs and which overlay
revision are current, so a process can notice a change cheaply (`engine.live`). Changing
the overlay goes plan first (validate and say what would change), then apply: validate
again, bring the database schema up to the new model, and only then record the revision,
so that no process ever loads definitions whose tables are not there yet.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

import metamodel
from metamodel.model import Model
from metamodel.editing.model_diff import Change, describe_changes
from metamodel.reading.overlay import OVERLAY_PACK, MemoryPack, overlay_pack

from engine.schema.archive import ArchiveEntry, list_archive
from engine.core.context import Actor
from .definition_errors import DefinitionChangeError
from engine.schema.migrate import plan_migration
from .overlay import (
    Revision, find_revision, latest_revision, list_revisions, record_revision, revision_before, revision_table,
)
from .pack_store import InstalledPack, installed_packs, pack_table
from .plugin_check import PluginRegistries, check_plugins
from .runtime import Engine, create_db, utcnow
from engine.schema.steps import Plan as SchemaPlan

ADVISORY_LOCK_KEY = 0x0551_7D3F
"""The PostgreSQL advisory lock that serialises changes of definitions (any constant will do)."""
_CHANGE_LOCK = threading.RLock()

INSTALLED_ROOT = "installed"
"""Problems in an installed pack name its documents `installed/NAME/entities/x.yaml`."""


@dataclass(frozen=True)
class DefinitionState:
    """Which definitions are current: the overlay revision and the last pack install (0: none)."""

    overlay_revision: int = 0
    pack_install: int = 0


@dataclass(frozen=True)
class LoadedDefinitions:
    model: Model
    state: DefinitionState
    overlay: Revision | None
    packs: tuple[InstalledPack, ...]


@dataclass(frozen=True)
class Snapshot:
    """What the database holds, read together: installed packs, the latest revision, the state."""

    packs: tuple[InstalledPack, ...]
    overlay: Revision | None
    state: DefinitionState


@dataclass(frozen=True)
class Plan:
    """What a change would do: to the definitions (`changes`) and to the schema (`steps`), in words."""

    model: Model
    changes: tuple[Change, ...]
    steps: tuple[str, ...]
    schema: SchemaPlan | None = None
    """The migration planner's plan (steps in either language, the records they concern)."""

    @property
    def empty(self) -> bool:
        return not self.changes and not self.steps

    @property
    def blocked(self) -> bool:
        """A schema step is refused (values that do not convert...): applying would change nothing."""
        return self.schema is not None and self.schema.blocked

    def change_lines(self, lang: str | None = "en") -> list[str]:
        return [change.text(lang) for change in self.changes]

    def schema_lines(self, lang: str | None = "en") -> list[str]:
        """Each schema step, followed by the records it lists (indented)."""
        return self.schema.lines(lang) if self.schema is not None else list(self.steps)


@dataclass(frozen=True)
class AppliedRevision:
    revision: Revision
    plan: Plan
    done: tuple[str, ...]
    """The schema steps applied (the plan's steps, as the database took them)."""
    restorable: tuple[ArchiveEntry, ...] = ()
    """Archived data whose definition is declared again (a revert brought it back): it can be
    restored (`engine.schema.archive_restore.restore_archived`, `ossature archive restore TARGET`)."""


class Installation:
    """The definitions of one database, as every process of an installation sees them."""

    def __init__(
        self, pack_dirs: Sequence[str | os.PathLike[str]], database_url: str, *,
        engine_options: Mapping[str, Any] | None = None, clock: Callable[[], dt.datetime] = utcnow,
        **db_options: Any,
    ):
        """`pack_dirs`: the directory packs, base pack first. `engine_options` go to every `Engine`
        built here (files_dir, broker_url, job_options, plugins...), `db_options` to SQLAlchemy."""
        self.pack_dirs = [Path(p) for p in pack_dirs]
        self.database_url = database_url
        self.engine_options = dict(engine_options or {})
        self.db_options = db_options
        self.clock = clock
        self.db = create_db(database_url, **db_options)
        self._tables_present = False
        self._registries: PluginRegistries | None = None

    def plugin_registries(self) -> PluginRegistries:
        """The actions and formats of this installation's plugins (`engine_options["plugins"]`, or
        every installed one), read once."""
        if self._registries is None:
            self._registries = PluginRegistries(self.engine_options.get("plugins"))
        return self._registries

    def check_plugins(self, model: Model) -> Model:
        """`model`, when the plugins provide every format and action it names; else
        `metamodel.DefinitionError` (file:line problems), as for any other definition mistake."""
        check_plugins(model, self.plugin_registries())
        return model

    # -- tables ------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        """Create the revision and pack tables when missing (every writer and `LiveEngine` call it)."""
        if self._tables_present:
            return
        with _CHANGE_LOCK:  # two installations of this process (an app and its admin, say) take turns
            try:
                with self.db.begin() as conn:
                    for table in (revision_table(), pack_table()):
                        table.create(conn, checkfirst=True)
            except SQLAlchemyError:
                with self.db.connect() as conn:  # another process created them at the same moment?
                    if not self._has_tables(conn):
                        raise
        self._tables_present = True

    def _has_tables(self, conn: sa.Connection) -> bool:
        if not self._tables_present:
            inspector = sa.inspect(conn)
            self._tables_present = all(inspector.has_table(t.name) for t in (revision_table(), pack_table()))
        return self._tables_present

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One change of definitions at a time (an overlay revision, a pack install), from reading
        the current state to recording the new one, so that no change is planned on a state that
        another one is replacing. Across processes on PostgreSQL (an advisory lock); within this
        process elsewhere (SQLite cannot hold a lock while another connection migrates)."""
        with _CHANGE_LOCK:
            if self.db.dialect.name != "postgresql":
                yield
                return
            with self.db.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})

    # -- reading -----------------------------------------------------------------------

    def state(self) -> DefinitionState:
        """One query, two primary-key lookups: cheap enough to ask every second."""
        revisions, packs = revision_table(), pack_table()
        query = sa.select(
            sa.select(sa.func.max(revisions.c.id)).scalar_subquery(),
            sa.select(sa.func.max(packs.c.id)).scalar_subquery(),
        )
        with self.db.connect() as conn:
            if not self._has_tables(conn):
                return DefinitionState()
            overlay_id, pack_id = conn.execute(query).one()
        return DefinitionState(overlay_id or 0, pack_id or 0)

    def load(self) -> LoadedDefinitions:
        """The current model; raises `metamodel.DefinitionError` when it does not load."""
        snapshot = self.snapshot()
        model = self.check_plugins(metamodel.load_model(self.sources(snapshot.packs, snapshot.overlay)))
        return LoadedDefinitions(model, snapshot.state, snapshot.overlay, snapshot.packs)

    def snapshot(self) -> Snapshot:
        with self.db.connect() as conn:
            if not self._has_tables(conn):
                return Snapshot((), None, DefinitionState())
            packs, pack_install = installed_packs(conn)
            overlay = latest_revision(conn)
        return Snapshot(tuple(packs), overlay, DefinitionState(overlay.id if overlay else 0, pack_install))

    def model_before_change(self, snapshot: Snapshot) -> Model | None:
        """What a plan compares with: the current model, or when it does not load (the packs on
        disk changed under a stored overlay, say) the model without the overlay, so that a fixing
        change can still be planned and applied."""
        for overlay in (snapshot.overlay, None):
            try:
                return metamodel.load_model(self.sources(snapshot.packs, overlay))
            except metamodel.DefinitionError:
                continue
        return None

    def sources(
        self, packs: Sequence[InstalledPack], overlay: Revision | None,
        overlay_documents: Mapping[str, str] | None = None,
    ) -> list[Path | MemoryPack]:
        """Every layer in order. `overlay_documents`, when given, are a draft of the next revision
        and stand for the overlay; the overlay layer exists once there is a revision."""
        layers: list[Path | MemoryPack] = list(self.pack_dirs)
        layers += [MemoryPack(f"{INSTALLED_ROOT}/{p.name}", p.documents) for p in packs]
        latest = overlay.id if overlay else 0
        if overlay_documents is not None:
            layers.append(overlay_pack(latest + 1, overlay_documents))
        elif overlay is not None:
            layers.append(overlay_pack(latest, overlay.documents))
        return layers

    def installed(self) -> list[InstalledPack]:
        with self.db.connect() as conn:
            return installed_packs(conn)[0] if self._has_tables(conn) else []

    def overlay(self) -> Revision | None:
        with self.db.connect() as conn:
            return latest_revision(conn) if self._has_tables(conn) else None

    def revision(self, revision_id: int) -> Revision:
        with self.db.connect() as conn:
            found = find_revision(conn, revision_id) if self._has_tables(conn) else None
        if found is None:
            raise DefinitionChangeError("unknown_revision", revision=revision_id)
        return found

    def revisions(self, limit: int | None = None) -> list[Revision]:
        with self.db.connect() as conn:
            return list_revisions(conn, limit) if self._has_tables(conn) else []

    # -- engines and schema ------------------------------------------------------------

    def open_engine(self, model: Model) -> Engine:
        return Engine(model, self.database_url, **self.engine_options, **self.db_options)

    def plan(self, before: Model | None, after: Model) -> Plan:
        """What changing from `before` to `after` does; `metamodel.DefinitionError` when `after`
        names a format or an action no plugin provides."""
        self.check_plugins(after)
        engine = self._schema_engine(after)
        try:
            schema = plan_migration(engine.db, engine.model, engine.tables, formats=engine.hooks.formats)
        finally:
            engine.dispose()
        changes = describe_changes(before, after, quiet_packs=[OVERLAY_PACK]) if before is not None else []
        return Plan(after, tuple(changes), tuple(schema.words()), schema)

    def migrate_to(self, model: Model) -> list[str]:
        """Bring the schema up to `model` (the planner's steps: create, archive, rename, retype...);
        raises `MigrationRefused` (nothing changed) when a step is refused."""
        engine = self._schema_engine(model)
        try:
            return engine.migrate()
        finally:
            engine.dispose()

    def restorable(self, model: Model) -> list[ArchiveEntry]:
        """Archived values and records that `model` declares again."""
        with self.db.connect() as conn:
            return [entry for entry in list_archive(conn, model) if entry.declared]

    def _schema_engine(self, model: Model) -> Engine:
        engine = Engine(model, self.database_url, plugins=self.engine_options.get("plugins"), **self.db_options)
        if "user" in model.entities:
            from engine.access.accounts import Accounts

            Accounts(engine)  # its login and token tables join the plan, as with `ossature migrate`
        return engine

    # -- the overlay -------------------------------------------------------------------

    def plan_overlay(self, documents: Mapping[str, str]) -> Plan:
        """Validate the overlay `documents` would make and say what they change; writes nothing.

        Raises `metamodel.DefinitionError` (file:line problems) when they do not load."""
        return self._plan_overlay(self.snapshot(), documents)

    def _plan_overlay(self, snapshot: Snapshot, documents: Mapping[str, str]) -> Plan:
        model = metamodel.load_model(self.sources(snapshot.packs, snapshot.overlay, documents))
        return self.plan(self.model_before_change(snapshot), model)

    def apply_overlay(
        self, documents: Mapping[str, str], actor: Actor, summary: str, *,
        expected_revision: int | None = None, reverts: int | None = None,
    ) -> AppliedRevision:
        """Validate, migrate, then record the overlay `documents` as the next revision.

        `expected_revision`: the revision the change was made from (0: the empty overlay); if
        another one was recorded since, the change is refused rather than silently undoing it.
        """
        self.ensure_tables()
        with self.exclusive():
            snapshot = self.snapshot()
            latest = snapshot.state.overlay_revision
            if expected_revision is not None and expected_revision != latest:
                raise DefinitionChangeError("overlay_conflict", expected=expected_revision, current=latest)
            plan = self._plan_overlay(snapshot, documents)
            done = self.migrate_to(plan.model)
            try:
                with self.db.begin() as conn:
                    revision = record_revision(conn, latest + 1, documents, actor, summary, self.clock(), reverts)
            except IntegrityError:  # another process without the lock (SQLite) took the number
                raise DefinitionChangeError(
                    "overlay_conflict", expected=latest, current=self.state().overlay_revision,
                ) from None
        return AppliedRevision(revision, plan, tuple(done), tuple(self.restorable(plan.model)))

    def revert_overlay(
        self, revision_id: int, actor: Actor, summary: str | None = None, *, expected_revision: int | None = None,
    ) -> AppliedRevision:
        """A new revision holding the overlay as it was before `revision_id` (history stays)."""
        self.revision(revision_id)
        with self.db.connect() as conn:
            before = revision_before(conn, revision_id)
        documents = dict(before.documents) if before else {}
        return self.apply_overlay(
            documents, actor, summary or f"revert revision {revision_id}",
            expected_revision=expected_revision, reverts=revision_id,
        )

    def plan_revert(self, revision_id: int) -> Plan:
        self.revision(revision_id)
        with self.db.connect() as conn:
            before = revision_before(conn, revision_id)
        return self.plan_overlay(dict(before.documents) if before else {})

    def dispose(self) -> None:
        self.db.dispose()
