"""The home page (every entity with its record count) and the `/health` probe for load balancers."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from metamodel.model import LANGUAGES

home = Blueprint("home", __name__)

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "entities": "Entities",
        "entity": "Entity",
        "name": "Name",
        "records": "Records",
        "packs": "Definition packs:",
        "language": "Language",
        "database_error": "The database cannot be reached: record counts are unavailable.",
        "no_entities": "No entity is defined.",
    },
    "fr": {
        "entities": "Entités",
        "entity": "Entité",
        "name": "Nom",
        "records": "Enregistrements",
        "packs": "Packs de définitions\u00a0:",
        "language": "Langue",
        "database_error": "La base de données est injoignable : les nombres d'enregistrements sont indisponibles.",
        "no_entities": "Aucune entité n'est définie.",
    },
}


def request_language() -> str:
    """`?lang=` when it names a supported language, else the best `Accept-Language` match
    (worked out once per request: a page asks for it many times)."""
    found = g.get("ossature_lang")
    if found is None:
        asked = request.args.get("lang", "")
        found = g.ossature_lang = (
            asked if asked in LANGUAGES else request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0])
        )
    return found


def ui_text(lang: str) -> dict[str, str]:
    return UI_TEXT.get(lang, UI_TEXT[LANGUAGES[0]])


def sort_key(label: str) -> str:
    """Alphabetical order readers expect: accents and case do not move a word (É sorts with E)."""
    decomposed = unicodedata.normalize("NFKD", label.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def engine() -> Any:
    return current_app.extensions["ossature"]


@home.get("/")
def index() -> ResponseReturnValue:
    lang = request_language()
    eng = engine()
    entities = sorted(eng.model.entities.values(), key=lambda e: sort_key(e.plural.get(lang)))
    try:
        counts: dict[str, int | None] = {e.name: eng.records.count(e.name) for e in entities}
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
