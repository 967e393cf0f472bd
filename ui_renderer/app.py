"""The application factory: one `Engine` per app, built from the configured packs and database.

No state lives at import time, so tests and app servers each build as many apps as they need.
The engine is on `app.extensions["ossature"]` for every blueprint to use; it follows the
definitions (packs installed in the database, the administration overlay): a new revision is
picked up within a second, without restart (ui_renderer/core/live_app.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.installation import settings
from engine.installation.definitions import Installation
from engine.installation.live import LiveEngine
from ui_renderer.core.error_pages import ErrorPagesFlask, init_error_pages
from ui_renderer.core.live_app import use_live_engine
from ui_renderer.core.request_log import init_request_log
from ui_renderer.core.security import init_security
from ui_renderer.exchange.import_pages import imports
from ui_renderer.exchange.jobs_pages import jobs_pages
from ui_renderer.lists.blueprint import lists
from ui_renderer.lists.cleanup import cleanup
from ui_renderer.lists.exports import exports
from ui_renderer.lists.layout import build_layout
from ui_renderer.records.blueprint import forms
from ui_renderer.records.duplicates import duplicates
from ui_renderer.records.related_panels import COLUMN_LAYOUTS

from .admin import register_admin
from .api import API_PREFIX, register_api
from .core.language import LANGUAGES, request_language, ui_text
from .home import home


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    `config` keys: `DATABASE_URL` (default: `OSSATURE_DATABASE_URL` or the SQLite file in
    ./instance/) and `PACKS` (every pack directory in layering order, base pack included;
    default: the base pack + `OSSATURE_PACKS`), `FILES_DIR` and `BROKER_URL` (default: the
    `OSSATURE_FILES_DIR` / `OSSATURE_BROKER_URL` settings, see engine/installation/settings.py), `JOB_THRESHOLD`
    (selections larger than this run as a job; default `OSSATURE_JOB_THRESHOLD`, else 2000) and
    `IMPORT_MAX_BYTES` (the largest file an import accepts, default 50 MiB) and `IMPORT_KEEP_DAYS`
    (how long uploaded files are kept, default 7), `TRUSTED_PROXIES` (default
    `OSSATURE_TRUSTED_PROXIES`, else 0). Other keys go to `app.config` unchanged.
    Raises `metamodel.DefinitionError` when the packs do not load.

    Every request gets an id and a log line (ui_renderer/core/request_log.py); an unreachable
    database answers 503 and an unexpected error a 500 carrying that id, as a page or, under
    the API, as JSON (ui_renderer/core/error_pages.py).
    """
    app = ErrorPagesFlask(__name__)
    init_request_log(app)  # first: the request id exists for every later hook
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config.from_mapping(DATABASE_URL=None, PACKS=None, LOGIN_REQUIRED=True, SECRET_KEY=None)
    if config:
        app.config.update(config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = settings.database_url()
    if app.config["PACKS"] is None:
        app.config["PACKS"] = settings.pack_dirs()
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = settings.secret_key()
    proxies = int(app.config.get("TRUSTED_PROXIES", settings.trusted_proxies()))
    if proxies:  # behind N reverse proxies: the client's address and scheme from their headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    options = settings.engine_options()
    if app.config.get("FILES_DIR"):
        options["files_dir"] = app.config["FILES_DIR"]
    if "BROKER_URL" in app.config:
        options["broker_url"] = app.config["BROKER_URL"]
    if app.config.get("JOB_THRESHOLD") is not None:
        options["job_options"] = {**options.get("job_options", {}), "threshold": int(app.config["JOB_THRESHOLD"])}
    installation = Installation([Path(pack) for pack in app.config["PACKS"]], app.config["DATABASE_URL"],
                                engine_options=options)
    use_live_engine(app, LiveEngine(installation))  # before init_security: it rebuilds what is derived

    init_error_pages(app, api_prefix=API_PREFIX + "/")
    init_security(app)
    register_admin(app)
    app.extensions[COLUMN_LAYOUTS] = build_layout  # the record pages' related panels render list columns
    app.register_blueprint(home)
    app.register_blueprint(jobs_pages)
    app.register_blueprint(imports)
    app.register_blueprint(exports)
    app.register_blueprint(duplicates)
    app.register_blueprint(cleanup)
    app.register_blueprint(forms)
    app.register_blueprint(lists)
    register_api(app)

    @app.context_processor
    def language_context() -> dict[str, Any]:
        lang = request_language()
        return {"lang": lang, "languages": LANGUAGES, "ui": ui_text(lang)}

    return app
