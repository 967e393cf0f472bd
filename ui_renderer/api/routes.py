"""The JSON REST API: the same routes for every entity of the `Model`, all through the engine.

Permissions are the engine's: each call passes the caller's `Actor`, and the engine
refuses operations, hides characteristics and keeps rows in scope.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from engine import Engine
from engine.jobs.mass_update_job import submit_mass_update
from engine.records.queries import ListRequest
from ui_renderer.core.language import request_language

from .auth import authenticated_actor
from .conformance import check_query, documented_methods, request_body
from .errors import ApiError, error_response, field_error, query_error
from .job_json import job_response
from .locking import based_on, body_version, precondition, query_version
from .messages import text
from .openapi import engine_document
from .openapi_parts import has_addresses
from .payload import ID_MAX, check_values, list_request, parse_as_of, query_args
from .serialize import json_value, page_response, record_json

API_PREFIX = "/api/v1"
DEFAULT_MAX_BODY = 1024 * 1024

api = Blueprint("api", __name__, url_prefix=API_PREFIX)


def engine() -> Engine:
    return current_app.extensions["ossature"]


def lang() -> str:
    return request_language()


@api.before_request
def prepare() -> None:
    limit = current_app.config.get("API_MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY
    request.max_content_length = limit
    if request.endpoint != "api.openapi":
        g.api_actor = authenticated_actor(lang())
        check_query(lang())


@api.after_request
def language_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Language", lang())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    return response


@api.errorhandler(Exception)
def handle_error(error: Exception) -> Response:
    return error_response(error)


def known_entity(entity: str) -> str:
    if not has_addresses(engine().model, entity):
        methods = documented_methods(request.path)
        if methods is not None:  # an address of its own (/jobs): this method is not one of its own
            raise MethodNotAllowed(valid_methods=methods)
        raise ApiError(404, "unknown_entity", entity=entity)
    return entity


def known_id(entity: str, record_id: int) -> int:
    if not 1 <= record_id <= ID_MAX:
        raise ApiError(404, "not_found", entity=engine().model.entity(entity).label.get(lang()), id=record_id)
    return record_id


def record_response(record: Mapping[str, Any], status: int = 200, **headers: str) -> Response:
    response = jsonify(record_json(record))
    response.status_code = status
    if "version" in record:
        response.headers["ETag"] = f'"{record["version"]}"'
    for name, value in headers.items():
        response.headers[name] = value
    return response


# -- documents -----------------------------------------------------------------------------


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify({**engine_document(engine()), "servers": [{"url": request.script_root + API_PREFIX}]})


@api.get("/lists/<name>")
def value_list(name: str) -> Response:
    found = engine().model.lists.get(name)
    if found is None:
        raise ApiError(404, "unknown_list", name=name)
    language = lang()
    return jsonify({
        "name": found.name,
        "label": found.label.get(language),
        "values": [
            {"code": v.code, "label": v.label.get(language), "labels": {"en": v.label.en, "fr": v.label.fr},
             "order": v.order, "retired": v.retired, "color": v.color}
            for v in found.values
        ],
    })


# -- records -------------------------------------------------------------------------------


@api.get("/<entity>")
def list_records(entity: str) -> Response:
    known_entity(entity)
    parsed = list_request(engine(), entity, query_args(), page=True)
    return page_response(engine().records.list(entity, parsed, actor=g.api_actor))


@api.post("/<entity>")
def create_record(entity: str) -> Response:
    known_entity(entity)
    values = request_body(lang())
    check_values(engine().model.entity(entity), values, lang())
    record = engine().records.create(entity, values, g.api_actor)
    location = url_for("api.get_record", entity=entity, record_id=record["id"])
    return record_response(record, 201, Location=location)


@api.get("/<entity>/<int:record_id>")
def get_record(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    return record_response(engine().records.get(entity, record_id, actor=g.api_actor))


@api.patch("/<entity>/<int:record_id>")
def update_record(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    values = request_body(lang())
    based = based_on(body_version(values.pop("version", None), lang()), lang())
    check_values(engine().model.entity(entity), values, lang())
    with precondition(based):
        record = engine().records.update(entity, record_id, values, g.api_actor, version=based.version)
    return record_response(record)


@api.delete("/<entity>/<int:record_id>")
def delete_record(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    based = based_on(query_version(request.args.get("version"), lang()), lang(), in_query=True)
    with precondition(based):
        record = engine().records.delete(entity, record_id, g.api_actor, version=based.version)
    return record_response(record)


@api.post("/<entity>/<int:record_id>/restore")
def restore_record(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    return record_response(engine().records.restore(entity, record_id, g.api_actor))


@api.post("/<entity>/<int:record_id>/copy")
def copy_record(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    body = request_body(lang())
    values = body.get("values") or {}  # the envelope fits its OpenAPI schema (conformance.py)
    check_values(engine().model.entity(entity), values, lang())
    record = engine().records.copy(entity, record_id, g.api_actor, values=values)
    location = url_for("api.get_record", entity=entity, record_id=record["id"])
    return record_response(record, 201, Location=location)


@api.post("/<entity>/<int:record_id>/transitions/<name>")
def transition(entity: str, record_id: int, name: str) -> Response:
    known_id(known_entity(entity), record_id)
    body = request_body(lang())
    values, inputs = body.get("values") or {}, body.get("inputs") or {}
    for key, given in (("values", values), ("inputs", inputs)):
        if not isinstance(given, dict):
            raise ApiError(400, "not_object", errors=field_error(key, "type", "not_object", lang()))
    check_values(engine().model.entity(entity), values, lang())
    based = based_on(body_version(body.get("version"), lang()), lang())
    with precondition(based):
        record = engine().records.transition(
            entity, record_id, name, g.api_actor, values=values, inputs=inputs, version=based.version
        )
    return record_response(record)


@api.get("/<entity>/<int:record_id>/history")
def audit_log(entity: str, record_id: int) -> Response:
    known_id(known_entity(entity), record_id)
    entries = engine().records.audit_log(entity, record_id, actor=g.api_actor)
    return jsonify({"items": [json_value(entry) for entry in entries]})


@api.get("/<entity>/<int:record_id>/history/<field>")
def field_history(entity: str, record_id: int, field: str) -> Response:
    known_id(known_entity(entity), record_id)
    records = engine().records
    raw = request.args.get("as_of")
    if raw:
        when = parse_as_of(raw, lang())
        value = records.value_as_of(entity, record_id, field, when, actor=g.api_actor)
        return jsonify({"field": field, "as_of": json_value(when), "value": json_value(value)})
    periods = records.history(entity, record_id, field, actor=g.api_actor)
    return jsonify({"field": field, "periods": [json_value(p) for p in periods]})


@api.post("/<entity>/mass-update")
def mass_update(entity: str) -> Response:
    known_entity(entity)
    body = request_body(lang())
    selection = mass_selection(entity, body)
    values = body.get("values")
    if not isinstance(values, dict) or not values:
        raise ApiError(400, "not_object", errors=field_error("values", "type", "not_object", lang()))
    check_values(engine().model.entity(entity), values, lang())
    versions = body.get("versions")
    if versions is not None:
        if not isinstance(versions, dict):
            raise ApiError(400, "not_object", errors=field_error("versions", "type", "not_object", lang()))
        parsed = {_id(key, "versions"): body_version(v, lang(), name="versions") for key, v in versions.items()}
        versions = {record_id: version for record_id, version in parsed.items() if version is not None}
    if selection_size(entity, selection) > engine().jobs.threshold:
        job_id = submit_mass_update(engine(), entity, selection, values, g.api_actor, versions=versions)
        return job_response(engine().jobs.get(job_id, g.api_actor), API_PREFIX, 202)
    result = engine().records.mass_update(entity, selection, values, g.api_actor, versions=versions)
    return jsonify({"matched": result.matched, "changed": result.changed,
                    "refused": {str(k): v for k, v in result.refused.items()}})


def selection_size(entity: str, selection: list[int] | ListRequest) -> int:
    """How many records a mass update names: above the jobs' threshold, it runs as a job (202)."""
    if isinstance(selection, ListRequest):
        return engine().records.list(entity, selection.replace(page=1, page_size=1), actor=g.api_actor).total
    return len(set(selection))


def mass_selection(entity: str, body: Mapping[str, Any]) -> list[int] | ListRequest:
    ids, chosen = body.get("ids"), body.get("filter")
    if (ids is None) == (chosen is None):
        raise ApiError(400, "bad_ids", errors=field_error("ids", "selection", "bad_ids", lang()))
    if ids is not None:
        if not isinstance(ids, list):
            raise ApiError(400, "bad_ids", errors=field_error("ids", "type", "bad_ids", lang()))
        return [_id(i, "ids") for i in ids]
    if not isinstance(chosen, dict):
        raise ApiError(400, "bad_ids", errors=field_error("filter", "type", "bad_ids", lang()))
    args: dict[str, list[str]] = {}
    for key, value in chosen.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float)) for v in items):
            raise query_error(key, text("expected_values", lang()))
        args[key] = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in items]
    return list_request(engine(), entity, args)


def _id(raw: Any, where: str) -> int:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 11:
        raw = int(raw)
    elif isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= ID_MAX:
        return raw
    raise ApiError(400, "bad_ids", errors=field_error(where, "type", "bad_ids", lang()))
