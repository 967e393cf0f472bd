"""What a request answers when it fails: an unreachable database, or an error nobody expected.

- The database cannot be reached (the server is down, refuses connections, the connection
  dropped, the pool waited in vain): 503, a page in the user's language, or under the API a
  JSON body `{"error": "unavailable", "message", "error_id"}`, with `Retry-After`. Decided in
  `ErrorPagesFlask.handle_user_exception`, before any blueprint's own handler (the API's
  catch-all would answer 500), and logged as one warning line: an outage is not a bug, and a
  traceback per request would bury the log.
- Anything else unexpected: 500, a page or JSON carrying the error id (the request id, see
  `request_log`), logged with its traceback under that id. Never the exception's text.
  Under TESTING or debug Flask lets the exception through instead (tests see it, `--dev`
  shows the debugger).

The login page does not read the database to show its form; it checks the database first, so
that a visitor is told at once rather than after typing a password.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError

from .i18n import register_words, words
from .language import request_language
from .request_log import current_request_id

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
PROBED_ENDPOINTS = frozenset({"auth.login"})
"""Pages that need the database but read it only once a form is sent: checked on GET."""
DEFAULT_API_PREFIX = "/api/"

register_words({
    "en": {
        "error_unavailable_title": "Temporarily unavailable",
        "error_unavailable": "The database cannot be reached right now. Please try again in a few minutes.",
        "error_unexpected_title": "Something went wrong",
        "error_unexpected": "An unexpected error stopped this page. It has been logged; if it happens again, "
                            "give the error id below to your administrator.",
        "error_id": "Error id:",
        "error_try_again": "Try again",
        "error_home": "Home page",
    },
    "fr": {
        "error_unavailable_title": "Momentanément indisponible",
        "error_unavailable": "La base de données est injoignable pour le moment. Réessayez dans quelques minutes.",
        "error_unexpected_title": "Une erreur est survenue",
        "error_unexpected": "Une erreur inattendue a interrompu cette page. Elle a été journalisée ; si elle se "
                            "reproduit, donnez l'identifiant ci-dessous à votre administrateur.",
        "error_id": "Identifiant de l'erreur\u00a0:",
        "error_try_again": "Réessayer",
        "error_home": "Page d'accueil",
    },
})


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it was raised from (a few levels: enough for a wrapped driver error)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return
        yield seen
        if isinstance(seen, InternalServerError) and seen.original_exception is not None:
            seen = seen.original_exception
        else:
            seen = seen.__cause__


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached, rather than that a statement failed:
    no connection could be made (a driver error raised with no statement), an open connection
    was lost (`connection_invalidated`), or the pool had no connection to give in time."""
    for found in _causes(error):
        if isinstance(found, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
            return True
        if isinstance(found, sa_exc.DBAPIError):
            if found.connection_invalidated:
                return True
            if isinstance(found, (sa_exc.OperationalError, sa_exc.InterfaceError)) and found.statement is None:
                return True
    return False


def _driver_message(error: BaseException) -> str:
    """The driver's own first line (no SQL, no parameters), for the log."""
    for found in _causes(error):
        if isinstance(found, sa_exc.DBAPIError) and found.orig is not None:
            return str(found.orig).splitlines()[0] if str(found.orig) else type(found.orig).__name__
    return type(error).__name__


def _under_api(prefix: str) -> bool:
    return request.path.startswith(prefix) or request.path == prefix.rstrip("/")


def _answer(status: int, template: str, code: str, message_key: str, api_prefix: str) -> Response:
    lang = request_language()
    error_id = current_request_id()
    message = words(lang)[message_key]
    if _under_api(api_prefix):
        response = jsonify({"error": code, "message": message, "error_id": error_id})
        response.headers["X-Content-Type-Options"] = "nosniff"
    else:
        response = current_app.make_response(render_template(template, message=message, error_id=error_id, w=words(lang)))
    response.status_code = status
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Language")
    return response


def unavailable_response(error: BaseException, api_prefix: str = DEFAULT_API_PREFIX) -> Response:
    """503: the database cannot be reached (logged as one warning line, without traceback)."""
    log.warning("database unreachable, answered 503 (request %s %s, id %s): %s",
                request.method, request.path, current_request_id(), _driver_message(error))
    response = _answer(503, "unavailable.html", "unavailable", "error_unavailable", api_prefix)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unexpected_response(api_prefix: str = DEFAULT_API_PREFIX) -> Response:
    """500 with the error id; the traceback is logged by the caller under the same id."""
    return _answer(500, "error.html", "server_error", "error_unexpected", api_prefix)


class ErrorPagesFlask(Flask):
    """The app class of `create_app`: an unreachable database answers 503 whichever blueprint
    served the request (blueprint handlers would otherwise catch it first), and an unexpected
    error is logged with the request's id."""

    api_prefix = DEFAULT_API_PREFIX

    def handle_user_exception(self, e: Exception) -> Any:
        if database_unavailable(e):
            return unavailable_response(e, self.api_prefix)
        return super().handle_user_exception(e)

    def log_exception(self, exc_info: Any) -> None:
        error = exc_info[1] if isinstance(exc_info, tuple) else None
        if error is not None and database_unavailable(error):
            return  # unavailable_response logs it, in one line
        log.error("unexpected error, id %s, on %s %s", current_request_id(), request.method, request.path,
                  exc_info=exc_info)


def _server_error(error: InternalServerError) -> Response:
    """The 500 of an exception no handler took (Flask has logged it through `log_exception`),
    or of an explicit `abort(500)`, logged here."""
    api_prefix = getattr(current_app, "api_prefix", DEFAULT_API_PREFIX)
    original = error.original_exception
    if original is not None and database_unavailable(original):
        return unavailable_response(original, api_prefix)
    if original is None:
        log.error("server error, id %s, on %s %s", current_request_id(), request.method, request.path, exc_info=error)
    return unexpected_response(api_prefix)


def _error_id_in_json(response: Response) -> Response:
    """A 500 JSON answer built by a blueprint's own handler (the API's) gets the error id too."""
    if response.status_code != 500 or not response.is_json or response.is_streamed:
        return response
    body = response.get_json(silent=True)
    if isinstance(body, dict) and "error_id" not in body:
        body["error_id"] = current_request_id()
        response.set_data(json.dumps(body))
    return response


def _probe_database() -> None:
    if request.method == "GET" and request.endpoint in PROBED_ENDPOINTS:
        current_app.extensions["ossature"].ping()  # raises when unreachable: answered 503 above


def init_error_pages(app: Flask, api_prefix: str = DEFAULT_API_PREFIX) -> None:
    """Register the 500 page and the login page's database check; `api_prefix`: the paths
    answered in JSON. The 503 needs `app` to be an `ErrorPagesFlask`."""
    if isinstance(app, ErrorPagesFlask):
        app.api_prefix = api_prefix
    app.register_error_handler(InternalServerError, _server_error)
    app.before_request(_probe_database)
    app.after_request(_error_id_in_json)
