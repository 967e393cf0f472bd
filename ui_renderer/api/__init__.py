"""The JSON REST API under /api/v1 and its OpenAPI document, generated from the `Model`.

`register_api(app)` is all an application needs: it adds the blueprints (records, batch writes,
jobs, import, export, duplicates, related records), the accounts service (`app.extensions["ossature.accounts"]`)
that checks API tokens, JSON answers for routing errors (unknown address, wrong
method) under /api/, and OPTIONS and 405 answers whose `Allow` lists the methods the
OpenAPI document gives the address.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine.access.accounts import Accounts
from engine.installation import settings

from .auth import ACCOUNTS_KEY
from .batch_routes import api_batch
from .conformance import documented_methods
from .duplicates_routes import api_duplicates
from .errors import error_response
from .export_routes import api_export
from .import_routes import api_import
from .jobs_routes import api_jobs
from .related_routes import api_related
from .routes import API_PREFIX, api

__all__ = ["API_PREFIX", "api", "register_api"]

ROUTING_ERRORS = (404, 405)


def register_api(app: Flask) -> None:
    engine = app.extensions["ossature"]
    if "user" in engine.model.entities and ACCOUNTS_KEY not in app.extensions:
        app.extensions[ACCOUNTS_KEY] = Accounts(engine)
    settings.api_batch_limit()  # a bad OSSATURE_API_BATCH_LIMIT stops the start, not a request
    for blueprint in (api, api_batch, api_jobs, api_import, api_export, api_duplicates, api_related):
        app.register_blueprint(blueprint)
    for code in ROUTING_ERRORS:
        _answer_json_under_api(app, code)
    app.before_request(_documented_options)


def _under_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _documented_options() -> Response | None:
    """OPTIONS under the API answers the methods the document gives the address (`Allow`); Flask's
    automatic answer would unite those of every route matching it (`/jobs/3` and `/<entity>/<id>`)."""
    if request.method != "OPTIONS" or not _under_api():
        return None
    methods = documented_methods(request.path)
    if methods is None:
        return None
    response = Response(status=200)
    response.headers["Allow"] = ", ".join(methods)
    return response


def _answer_json_under_api(app: Flask, code: int) -> None:
    """Routing errors happen before any blueprint is chosen, so they are handled app-wide:
    JSON under the API prefix, the app's earlier handler (or Flask's default) elsewhere."""
    earlier: Callable[[Any], Any] | None = app.error_handler_spec[None][code].get(_exception_class(code))

    def handle(error: HTTPException) -> Any:
        if _under_api():
            if isinstance(error, MethodNotAllowed):
                error = MethodNotAllowed(valid_methods=documented_methods(request.path) or error.valid_methods)
            return error_response(error)
        return earlier(error) if earlier is not None else error

    app.register_error_handler(code, handle)


def _exception_class(code: int) -> type[HTTPException]:
    from werkzeug.exceptions import default_exceptions

    return default_exceptions[code]
