"""`LiveEngine`: the current `Engine` of a process, swapped when the definitions change.

App servers ask for `live.current()` once per request, workers once before each job. At
most once per `interval` seconds (default 1) that costs one tiny query (`Installation.state`:
the overlay revision and the last pack install); when the answer changed, the first caller
builds an `Engine` from the new definitions and swaps it in, while other threads carry on
with the previous one. Nothing restarts; a request already running finishes on the engine it
started with, and the old engine is disposed of on a background thread once its in-process
jobs are done.

Definitions that do not load (a stored overlay that no longer fits packs changed on disk)
keep the running engine: the problem is logged once, and the next change is tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

import metamodel
from metamodel.model import Model

from .definitions import DefinitionState, Installation
from .runtime import Engine

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0
"""Seconds between two checks of the definition state, per process."""

SwapListener = Callable[[Engine, Engine], None]


class LiveEngine:
    def __init__(
        self, installation: Installation, *, interval: float = CHECK_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """Loads the current definitions and builds the first engine (raises
        `metamodel.DefinitionError` when they do not load: a process must not start on them).

        A database that does not answer yet is no reason not to start: the engine is built from
        the directory packs alone, and the first check that reaches the database loads the rest."""
        self.installation = installation
        self.interval = interval
        self._monotonic = monotonic
        self._state: DefinitionState | None
        try:
            installation.ensure_tables()
            loaded = installation.load()
            model, self._state = loaded.model, loaded.state
        except SQLAlchemyError as error:
            log.warning("database unreachable: starting on the directory packs until it answers: %s", error)
            model, self._state = installation.check_plugins(metamodel.load_model(installation.pack_dirs)), None
        self._engine = installation.open_engine(model)
        self._refused: DefinitionState | None = None
        self._checked_at = monotonic()
        self._lock = threading.Lock()
        self._listeners: list[SwapListener] = []

    @property
    def model(self) -> Model:
        return self._engine.model

    @property
    def state(self) -> DefinitionState | None:
        """The definitions the current engine was built from (None: not read from the database yet)."""
        return self._state

    def on_swap(self, listener: SwapListener) -> None:
        """Call `listener(old, new)` after each swap (to drop what was derived from the old engine)."""
        self._listeners.append(listener)

    def current(self, *, check_now: bool = False) -> Engine:
        """The engine to use now; checks for new definitions when `interval` has passed
        (or at once with `check_now`, as a worker does before a job)."""
        due = check_now or self._monotonic() - self._checked_at >= self.interval
        if due and self._lock.acquire(blocking=check_now):
            try:
                self._check()
            finally:
                self._lock.release()
        return self._engine

    def refresh(self) -> bool:
        """Check now; True when a new engine was swapped in."""
        with self._lock:
            return self._check()

    def _check(self) -> bool:
        self._checked_at = self._monotonic()
        try:
            state = self.installation.state()
        except SQLAlchemyError as error:
            log.warning("could not read the definition state (keeping the running definitions): %s", error)
            return False
        if state == self._state or state == self._refused:
            return False
        try:
            loaded = self.installation.load()
            engine = self.installation.open_engine(loaded.model)
        except metamodel.DefinitionError as error:
            self._refused = state
            log.error("the new definitions do not load; keeping the running ones:\n%s", error)
            return False
        except SQLAlchemyError as error:
            log.warning("could not load the new definitions (will try again): %s", error)
            return False
        old, self._engine, self._state, self._refused = self._engine, engine, loaded.state, None
        log.info("definitions changed (overlay revision %s, pack install %s): new engine in use",
                 loaded.state.overlay_revision, loaded.state.pack_install)
        for listener in self._listeners:
            try:
                listener(old, engine)
            except Exception:  # a listener's mistake must not stop the swap for the others
                log.exception("swap listener %r failed", listener)
        threading.Thread(target=old.dispose, name="ossature-old-engine", daemon=True).start()
        return True

    def close(self) -> None:
        self._engine.dispose()
        self.installation.dispose()
