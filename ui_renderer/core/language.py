"""The request's language, the base UI words every page shares, and alphabetical order as readers expect."""

from __future__ import annotations

import unicodedata

from flask import g, request

from metamodel.model import LANGUAGES

__all__ = ["LANGUAGES", "request_language", "sort_key", "ui_text"]

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
