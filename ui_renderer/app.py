"""The application factory: one `Engine` per app, built from the configured packs and database.

No state lives at import time, so tests and app servers each build as many apps as they need.
The engine is on `app.extensions["ossature"]` for every blueprint to use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

import metamodel
from engine import Engine
from ossature import config as settings

from .api import register_api
from .forms import forms
from .home import LANGUAGES, home, request_language, ui_text
from .lists import lists
from .security import init_security


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    `config` keys: `DATABASE_URL` (default: `OSSATURE_DATABASE_URL` or the SQLite file in
    ./instance/) and `PACKS` (every pack directory in layering order, base pack included;
    default: the base pack + `OSSATURE_PACKS`), `FILES_DIR` and `BROKER_URL` (default: the
    `OSSATURE_FILES_DIR` / `OSSATURE_BROKER_URL` settings, see ossature/config.py). Other keys go
    to `app.config` unchanged.
    Raises `metamodel.DefinitionError` when the packs do not load.
    """
    app = Flask(__name__)
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
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")

    model = metamodel.load_model([Path(pack) for pack in app.config["PACKS"]])
    options = settings.engine_options()
    if app.config.get("FILES_DIR"):
        options["files_dir"] = app.config["FILES_DIR"]
    if "BROKER_URL" in app.config:
        options["broker_url"] = app.config["BROKER_URL"]
    app.extensions["ossature"] = Engine(model, app.config["DATABASE_URL"], **options)

    init_security(app)
    app.register_blueprint(home)
    app.register_blueprint(forms)
    app.register_blueprint(lists)
    register_api(app)

    @app.context_processor
    def language_context() -> dict[str, Any]:
        lang = request_language()
        return {"lang": lang, "languages": LANGUAGES, "ui": ui_text(lang)}

    return app
