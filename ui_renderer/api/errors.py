"""Every failure of the API as a JSON body: never HTML, never a traceback.

Body: `{"error": <code>, "message": <sentence in the request's language>}` plus, when
they apply, `errors` (by field or parameter: `[{"rule", "message"}]`), `reason` (a
refused transition), `current` (the record as it is now, after a stale version) and
`error_id` (a server error: the id under which its traceback was logged; the answer never
carries the exception's text).
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from engine import (
    ConflictError,
    EngineError,
    NotFoundError,
    NotHistorizedError,
    RecordValidationError,
    StateError,
    TransitionError,
)
from engine.access.permissions import PermissionDenied
from engine.core.messages import operation_word
from engine.records.queries import QueryError
from ui_renderer.core.language import request_language
from ui_renderer.core.request_log import current_request_id

from .messages import text
from .serialize import record_json

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 412: "precondition_failed", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid", 428: "precondition_required", 500: "server_error"}


class ApiError(Exception):
    """A failure the API itself detects (bad body, bad parameter, unknown entity...)."""

    def __init__(
        self, status: int, key: str, *, errors: Mapping[str, list[dict[str, str]]] | None = None,
        headers: Mapping[str, str] | None = None, **params: Any,
    ):
        super().__init__(key)
        self.status, self.key, self.params = status, key, params
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})

    def response(self, lang: str) -> Response:
        body: dict[str, Any] = {"error": HTTP_CODES.get(self.status, "error"), "message": text(self.key, lang, **self.params)}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_error(self.status, body, self.headers)


class StaleIfMatch(Exception):
    """A change sent with an `If-Match` naming a version that is no longer the record's (412).

    The engine raises the same ConflictError whether the version came from the body or the
    header; the route wraps it so that the answer follows HTTP: 409 for a stale body
    `version`, 412 for a failed precondition.
    """

    def __init__(self, conflict: ConflictError):
        super().__init__(str(conflict))
        self.conflict = conflict


def field_error(name: str, rule: str, key: str, lang: str, **params: Any) -> dict[str, list[dict[str, str]]]:
    return {name: [{"rule": rule, "message": text(key, lang, **params)}]}


def query_error(parameter: str, detail: str) -> ApiError:
    return ApiError(400, "bad_query", parameter=parameter, errors={parameter: [{"rule": "query", "message": detail}]})


def json_error(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Content-Language"] = request_language()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    return response


def error_response(error: BaseException) -> Response:
    """The JSON answer to any exception raised while serving an API request."""
    lang = request_language()
    if isinstance(error, ApiError):
        return error.response(lang)
    if isinstance(error, StaleIfMatch):
        return conflict_response(error.conflict, lang, 412)
    if isinstance(error, HTTPException):
        return http_error(error, lang)
    if isinstance(error, EngineError):
        return engine_error(error, lang)
    if isinstance(error, (ArithmeticError, OverflowError, sa.exc.DataError)):
        # Values the database cannot hold, caught here as a safety net (see payload.py for the checks).
        status = 400 if request.method in ("GET", "HEAD") else 422
        return json_error(status, {"error": HTTP_CODES[status], "message": text("bad_number", lang)})
    return server_error(error, lang)


def server_error(error: BaseException, lang: str) -> Response:
    """500: the traceback goes to the log under an id, the caller gets the id and nothing else."""
    error_id = current_request_id() or uuid.uuid4().hex
    current_app.logger.error("API %s %s failed [error id %s]", request.method, request.path, error_id,
                             exc_info=(type(error), error, error.__traceback__))
    return json_error(500, {"error": "server_error", "message": text("server_error", lang, error_id=error_id),
                            "error_id": error_id})


def http_error(error: HTTPException, lang: str) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if status == 404:
        message = text("no_route", lang)
    elif isinstance(error, MethodNotAllowed):
        allowed = sorted(error.valid_methods or [])
        headers["Allow"] = ", ".join(allowed)
        message = text("method", lang, allowed=", ".join(allowed))
    elif isinstance(error, RequestEntityTooLarge):
        message = text("too_large", lang, limit=request.max_content_length)
    elif status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ossature"'
        message = text("unauthorized", lang)
    elif status >= 500:
        return server_error(error, lang)
    else:
        message = error.description or text("bad_request", lang)
    return json_error(status, {"error": HTTP_CODES.get(status, "error"), "message": message}, headers)


def engine_error(error: EngineError, lang: str) -> Response:
    model = current_app.extensions["ossature"].model

    def label(entity: str) -> str:
        definition = model.entities.get(entity)
        return definition.label.get(lang) if definition else entity

    if isinstance(error, QueryError):
        return query_error(error.parameter, error.message(lang)).response(lang)
    if isinstance(error, PermissionDenied):
        message = text("forbidden", lang, operation=operation_word(error.operation, lang), entity=label(error.entity))
        if error.detail and error.detail.startswith("no access to "):
            message += " " + text("forbidden_fields", lang, fields=error.detail.removeprefix("no access to "))
        return json_error(403, {"error": "forbidden", "message": message})
    if isinstance(error, NotFoundError):
        if error.entity == "entity":
            return json_error(404, {"error": "not_found", "message": text("unknown_entity", lang, entity=error.record_id)})
        return json_error(404, {"error": "not_found", "message": text("not_found", lang, entity=label(error.entity),
                                                                        id=error.record_id)})
    if isinstance(error, NotHistorizedError):
        entity, _, field = str(error).partition(" ")[0].partition(".")
        return json_error(404, {"error": "not_found", "message": text("not_historized", lang, entity=label(entity),
                                                                        field=field)})
    if isinstance(error, ConflictError):
        return conflict_response(error, lang, 409)
    if isinstance(error, StateError):
        return json_error(409, {"error": "conflict", "message": text("state", lang, detail=str(error))})
    if isinstance(error, TransitionError):
        return json_error(422, {"error": "transition_refused", **error.as_dict(lang)})
    if isinstance(error, RecordValidationError):
        return json_error(422, {"error": "invalid", "message": text("invalid", lang), "errors": error.as_dict(lang)})
    describe = getattr(error, "message", None)
    detail = describe(lang) if callable(describe) else str(error)
    return json_error(422, {"error": "refused", "message": text("refused", lang, detail=detail)})


def conflict_response(error: ConflictError, lang: str, status: int) -> Response:
    """A stale version: 409 (body `version`) or 412 (`If-Match`), with the record as it is now."""
    current = visible_to_actor(error.entity, error.current)
    message = text("conflict", lang, expected=error.expected, version=error.current.get("version"))
    headers = {"ETag": f'"{error.current["version"]}"'} if error.current.get("version") is not None else {}
    return json_error(status, {"error": HTTP_CODES[status], "message": message, "current": record_json(current)},
                      headers)


def visible_to_actor(entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as the current API caller may see it (a conflict reports the stored row)."""
    engine = current_app.extensions["ossature"]
    actor = getattr(g, "api_actor", None)
    return engine.records.permissions.access(actor, entity).visible(record)
