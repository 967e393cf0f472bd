"""What a failure says to the person who started the work, in English and French.

An expected failure (an `EngineError` or a plugin's error that has words for people: a
refused record, a file the import cannot read) keeps its own message. Anything else is a
bug or an accident (a database refusing a value, a disk full, a broker down): its text,
which may hold SQL or a Python exception, goes to the log with a short error id, and the
person sees a sentence with that id, which whoever reads the log searches for.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from engine.access.permissions import PermissionDenied
from engine.core.errors import NotFoundError
from engine.core.messages import operation_word

from .stored_text import storable

if TYPE_CHECKING:
    from metamodel.model import Model

MESSAGES: dict[str, dict[str, str]] = {
    "unexpected": {
        "en": "The job stopped on an unexpected error (error id {error_id}); "
              "the details are in the server log under that id.",
        "fr": "La tâche s'est arrêtée sur une erreur inattendue (identifiant d'erreur {error_id}) ; "
              "le détail est dans le journal du serveur sous cet identifiant.",
    },
    "not_dispatched": {
        "en": "The job could not be handed to a worker (error id {error_id}): resume it once the "
              "job system is back; the details are in the server log under that id.",
        "fr": "La tâche n'a pas pu être confiée à un processus de travail (identifiant d'erreur {error_id}) : "
              "reprenez-la quand le système de tâches est rétabli ; le détail est dans le journal du serveur "
              "sous cet identifiant.",
    },
    "permission": {
        "en": "You are not (or no longer) allowed to {operation} the records of {entity}.",
        "fr": "Vous n'avez pas (ou plus) le droit de {operation} les enregistrements {entity}.",
    },
    "not_found": {
        "en": "{entity} {id} does not exist (any more).",
        "fr": "{entity} {id} n'existe pas (ou plus).",
    },
}

def failure_text(key: str, lang: str | None, **params: Any) -> str:
    texts = MESSAGES[key]
    return texts.get(lang or "en", texts["en"]).format(**params)


def new_error_id() -> str:
    """A short id, unique enough to find one failure in a log: 8 hexadecimal digits."""
    return secrets.token_hex(4)


def log_failure(logger: logging.Logger, error: BaseException, what: str, *args: Any) -> str:
    """Log `error` with its traceback and a new error id (`what % args` says what failed); returns the id."""
    error_id = new_error_id()
    logger.error(f"{what} [error id %s]", *args, error_id, exc_info=(type(error), error, error.__traceback__))
    return error_id


def expected_message(error: BaseException, lang: str | None, model: Model | None = None) -> str | None:
    """The words an expected failure has for people, in `lang`; None for any other failure.

    `model`, when given, names entities by their label rather than their code."""

    def label(entity: str) -> str:
        if model is not None and entity in model.entities:
            return model.entity(entity).label.get(lang)
        return entity

    if isinstance(error, SQLAlchemyError):
        return None  # its text is SQL and a driver's message
    if isinstance(error, PermissionDenied):
        return failure_text("permission", lang, operation=operation_word(error.operation, lang),
                            entity=label(error.entity))
    if isinstance(error, NotFoundError) and not callable(getattr(error, "message", None)):
        return failure_text("not_found", lang, entity=label(str(error.entity)), id=error.record_id)
    for method in ("describe", "message"):
        found = getattr(error, method, None)
        if not callable(found):
            continue
        try:
            text = found(lang)
        except Exception:  # not a message in a language after all
            continue
        if isinstance(text, str) and text:
            return storable(text)
    return None


def failure_message(error: BaseException, lang: str | None, logger: logging.Logger, what: str, *args: Any,
                    generic: str = "unexpected", model: Model | None = None) -> str:
    """What a failed job says: the expected failure's own words, else the generic `generic`
    sentence with the id under which the failure was logged."""
    text = expected_message(error, lang, model)
    if text is not None:
        return text
    return failure_text(generic, lang, error_id=log_failure(logger, error, what, *args))


