"""The app on a `LiveEngine`: every request runs on the newest definitions, without restart.

`use_live_engine(app, live)` puts the live engine's current `Engine` on
`app.extensions["ossature"]` (where every blueprint reads it) before each request, so a
revision saved by any process (this one's admin pages, another app server, the CLI) is in
use within a second (`engine.installation.live.CHECK_INTERVAL`). What pages derived from the previous
engine and keep per app (form and list layouts, status bars, title templates, the accounts
service) is dropped when the engine is swapped, and built again from the new one.
"""

from __future__ import annotations

from flask import Flask, g

from engine import Engine
from engine.access.accounts import USER_ENTITY, Accounts
from engine.installation.live import LiveEngine

LIVE_KEY = "ossature.live"
ENGINE_KEY = "ossature"
ACCOUNTS_KEY = "ossature.accounts"
"""The API reads it without building it (ui_renderer/api/auth.py): it is built again at once."""
KEPT_KEYS = frozenset({ENGINE_KEY, LIVE_KEY})
"""Every other `app.extensions` entry whose name starts with "ossature" is derived from the engine."""


def live_engine(app: Flask) -> LiveEngine | None:
    return app.extensions.get(LIVE_KEY)


def forget_derived(app: Flask) -> None:
    """Drop what was built from the previous engine (built again on first use; the accounts
    service at once, on the current engine)."""
    for key in [k for k in app.extensions if k.startswith(ENGINE_KEY) and k not in KEPT_KEYS]:
        app.extensions.pop(key, None)
    engine = app.extensions.get(ENGINE_KEY)
    if engine is not None and USER_ENTITY in engine.model.entities:
        app.extensions[ACCOUNTS_KEY] = Accounts(engine)


def use_live_engine(app: Flask, live: LiveEngine) -> None:
    """Serve `app` from `live` (`create_app` does it; a test may put another in its place)."""
    first = LIVE_KEY not in app.extensions
    app.extensions[LIVE_KEY] = live
    app.extensions[ENGINE_KEY] = live.current()
    forget_derived(app)

    def swapped(_old: Engine, new: Engine) -> None:
        if app.extensions.get(LIVE_KEY) is live:  # a live engine replaced since swaps nothing here
            app.extensions[ENGINE_KEY] = new
            forget_derived(app)

    live.on_swap(swapped)

    if first:
        @app.before_request
        def newest_definitions() -> None:
            """A check at most once per interval; a swap calls `swapped` (an engine put on the app by
            other means, a test's own, stays until the definitions change)."""
            app.extensions[LIVE_KEY].current()

        @app.before_request
        def shared_reads() -> None:
            """The request's reads through one connection (`RecordService.shared_reads`), once the
            engine of the request is known; closed when the request ends, whatever happened."""
            reads = app.extensions[ENGINE_KEY].records.shared_reads()
            reads.__enter__()
            g.ossature_reads = reads

        @app.teardown_request
        def end_shared_reads(_error: BaseException | None) -> None:
            reads = g.pop("ossature_reads", None)
            if reads is not None:
                reads.__exit__(None, None, None)
