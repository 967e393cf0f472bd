"""The home page (the entities the user may read, each with the number of records they may
read) and the `/health` probe for load balancers.

Registering it also hands record pages the list pages' column layouts, for their related
panels: list pages sit above record pages, which may not import them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language, sort_key

home = Blueprint("home", __name__)


def engine() -> Any:
    return current_app.extensions["ossature"]


@home.get("/")
def index() -> ResponseReturnValue:
    lang = request_language()
    eng = engine()
    actor = current_actor()
    permissions = eng.records.permissions
    readable = [e for e in eng.model.entities.values()
                if e.owned_by is None and permissions.access(actor, e.name).allows("read")]
    entities = sorted(readable, key=lambda e: sort_key(e.plural.get(lang)))
    try:
        counts: dict[str, int | None] = {e.name: eng.records.count(e.name, actor=actor) for e in entities}
        status = 200
    except SQLAlchemyError:
        current_app.logger.exception("home page: cannot count records")
        counts = {e.name: None for e in entities}
        status = 503
    html = render_template(
        "home.html",
        entities=entities,
        counts=counts,
        database_ok=status == 200,
        packs=eng.model.packs,
    )
    return html, status, {"Vary": "Accept-Language", "Content-Language": lang}


@home.get("/health")
def health() -> ResponseReturnValue:
    eng = engine()
    try:
        eng.ping()
        database_ok = True
    except Exception:  # a probe answers, whatever the driver raises
        current_app.logger.exception("health: database unreachable")
        database_ok = False
    body = {
        "status": "ok" if database_ok else "error",
        "database": "ok" if database_ok else "error",
        "entities": len(eng.model.entities),
        "packs": [{"name": pack.name, "version": pack.version} for pack in eng.model.packs],
    }
    return jsonify(body), 200 if database_ok else 503
