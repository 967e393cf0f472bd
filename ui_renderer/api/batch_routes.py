"""Batch writes of the API (blueprint `api_batch`, under /api/v1): many records in one request.

- `POST /<entity>/batch` with `{"records": [<values>...], "partial": false}` creates a record per row
  (each row as the body of `POST /<entity>`);
- `PATCH /<entity>/batch` with `{"records": [{"id", "version", <values>...}...], "partial": false}`
  changes them (each row as the body of `PATCH /<entity>/<id>`, its `version` mandatory).

Each row goes through the checks of a single write (the JSON types of the OpenAPI document,
numbers a column cannot hold, text no database stores), then the whole batch through the
engine's set-based paths (`RecordService.create_batch`, `RecordService.update_many`): every row
validated, then written with its audit and history rows, a few statements per batch.

Answers:
- every row passed: 201 (create) or 200 (change), `{"items": [{"index", "id", "version"}...]}`;
- all or nothing (the default), some row refused: 422, nothing written,
  `{"error": "invalid", "message", "errors": [{"index", "id"?, "current_version"?, "errors":
  {<characteristic>: [{"rule", "message"}]}}...]}`, every refused row with its index in `records`
  (a stale `version` is a `conflict` at the row's index, with the version now stored; an id that
  does not exist and one outside the caller's scope get the same `not_found`);
- `partial: true`: the good rows are written; 200 with `items` and `errors`.
A batch holds 1 to `OSSATURE_API_BATCH_LIMIT` records (400 otherwise), a row at most
ROW_MAX_BYTES of JSON (refused at its index), the body at most `API_BATCH_MAX_CONTENT_LENGTH`
(default: the limit times ROW_MAX_BYTES, at most BODY_CAP; 413 beyond, before it is read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask import Blueprint, Response, current_app, g, jsonify, request

from engine import BatchValidationError, Engine
from engine.core.errors import RuleError
from engine.installation import settings
from engine.records.batch_update import BatchResult
from ui_renderer.core.language import request_language

from .auth import authenticated_actor
from .batch_openapi import ROW_MAX_BYTES, body_limit
from .conformance import check_query, value_problems
from .errors import ApiError, error_response, json_error
from .messages import text
from .openapi import engine_document
from .openapi_parts import has_addresses, schema_name
from .payload import ID_MAX, json_body, number_errors
from .routes import API_PREFIX
from .value_checks import property_checks

api_batch = Blueprint("api_batch", __name__, url_prefix=API_PREFIX)

ENVELOPE = frozenset({"records", "partial"})
NUMBER_TYPES = frozenset({"integer", "link", "decimal", "lines"})
"""Characteristics whose values `payload.number_errors` judges (for `lines`, the numbers of each line)."""
RowErrors = dict[str, list[dict[str, str]]]


def engine() -> Engine:
    return current_app.extensions["ossature"]


@api_batch.before_request
def prepare() -> None:
    configured = current_app.config.get("API_BATCH_MAX_CONTENT_LENGTH")
    request.max_content_length = configured or max(
        body_limit(settings.api_batch_limit()), current_app.config.get("API_MAX_CONTENT_LENGTH") or 0
    )
    g.api_actor = authenticated_actor(request_language())
    check_query(request_language())


@api_batch.after_request
def language_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Language", request_language())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    return response


@api_batch.errorhandler(Exception)
def handle_error(error: Exception) -> Response:
    return error_response(error)


def known_entity(entity: str) -> str:
    if not has_addresses(engine().model, entity):
        raise ApiError(404, "unknown_entity", entity=entity)
    return entity


@api_batch.post("/<entity>/batch")
def create_batch(entity: str) -> Response:
    batch = read_batch(known_entity(entity), changes=False)
    return answer(entity, batch, engine().records.create_batch)


@api_batch.patch("/<entity>/batch")
def update_batch(entity: str) -> Response:
    batch = read_batch(known_entity(entity), changes=True)
    return answer(entity, batch, engine().records.update_many)


# -- reading the batch --------------------------------------------------------------------------


@dataclass
class Batch:
    rows: list[dict[str, Any]]
    partial: bool
    changes: bool
    """Rows change records (`id`, `version`) rather than create them."""
    refused: dict[int, RowErrors] = field(default_factory=dict)
    """Row index -> what the API's own checks refuse in it (such rows never reach the engine)."""


def read_batch(entity: str, *, changes: bool) -> Batch:
    """The body's rows and `partial`, each row checked as a single write's body is (400 for the envelope)."""
    lang = request_language()
    body, refused = _body(lang)
    for name in body:
        if name not in ENVELOPE:
            raise _bad_body(name, "schema", text("batch_unknown", lang, name=name))
    rows, partial = body.get("records"), body.get("partial", False)
    if not isinstance(partial, bool):
        raise _bad_body("partial", "schema", text("batch_partial", lang))
    if not isinstance(rows, list):
        raise _bad_body("records", "schema", text("batch_records", lang))
    if not rows:
        raise _bad_body("records", "min_items", text("batch_empty", lang))
    limit = settings.api_batch_limit()
    if len(rows) > limit:
        raise _bad_body("records", "max_items", text("batch_too_many", lang, limit=limit, count=len(rows)))
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _bad_body(f"records.{index}", "schema", text("batch_records", lang))
    batch = Batch(rows, partial, changes, refused)
    checker = RowChecker(entity, changes, lang, sized=len(request.get_data(cache=True)) > ROW_MAX_BYTES)
    for index, row in enumerate(rows):
        found = checker.problems(row)
        if found:
            batch.refused.setdefault(index, {}).update({k: v for k, v in found.items() if k not in refused.get(index, {})})
    return batch


def _bad_body(name: str, rule: str, message: str) -> ApiError:
    return ApiError(400, "bad_body", errors={name: [{"rule": rule, "message": message}]})


def _body(lang: str) -> tuple[dict[str, Any], dict[int, RowErrors]]:
    """The JSON body (`payload.json_body`: size, syntax, an object), and the text no database stores
    or numbers beyond 64 bits found in its rows, by row index (in the envelope: 422 as for any body)."""
    try:
        return json_body(lang), {}
    except ApiError as error:
        if error.status != 422 or not error.errors:
            raise
        refused: dict[int, RowErrors] = {}
        for path, problems in error.errors.items():
            parts = path.split(".")
            if len(parts) < 2 or parts[0] != "records" or not parts[1].isdigit():
                raise
            refused.setdefault(int(parts[1]), {}).setdefault(parts[2] if len(parts) > 2 else "record", problems)
        return json.loads(request.get_data(cache=True)), refused


class RowChecker:
    """What the API checks in a row before the engine judges it: its size, its keys (a change),
    numbers a column cannot hold, and the JSON types of the OpenAPI document."""

    def __init__(self, entity: str, changes: bool, lang: str, *, sized: bool):
        self.entity, self.changes, self.lang, self.sized = entity, changes, lang, sized
        self.definition = engine().model.entity(entity)
        document = engine_document(engine())
        name = schema_name(entity)
        schema = document["components"]["schemas"][f"{name}BatchChange" if changes else f"{name}Input"]
        self.checks = property_checks(schema, document["components"])
        self.numbers = frozenset(f.name for f in self.definition.fields if f.type in NUMBER_TYPES)

    def problems(self, row: Mapping[str, Any]) -> RowErrors:
        lang = self.lang
        found: RowErrors = {}
        if self.sized and _size_bound(row) > ROW_MAX_BYTES:
            size = len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode(errors="surrogatepass"))
            if size > ROW_MAX_BYTES:
                return {"record": [{"rule": "too_large", "message": text("batch_row_too_large", lang, size=size,
                                                                          limit=ROW_MAX_BYTES)}]}
        if self.changes:
            if not _whole(row.get("id"), 1):
                found["id"] = [{"rule": "required" if row.get("id") is None else "type",
                                "message": text("batch_id", lang, maximum=ID_MAX)}]
            if not _whole(row.get("version"), 0):
                found["version"] = [{"rule": "required" if row.get("version") is None else "type",
                                     "message": text("batch_version", lang, maximum=ID_MAX)}]
        numbers = {name: value for name, value in row.items() if name in self.numbers and name not in found}
        if numbers:
            found.update(number_errors(self.definition, numbers, lang))
        fields = self.definition.fields_by_name
        for name, value in row.items():
            if name in found or name not in fields or self.checks.accepts(name, value):
                continue
            found.update(value_problems(self.entity, name, value, lang))
        return found


def _size_bound(row: Mapping[str, Any]) -> int:
    """No fewer bytes than `row`'s JSON takes, found cheaply (a character takes at most 6 bytes,
    escaped): only a row this bound puts over the limit is encoded to be measured."""
    bound = 2
    for name, value in row.items():
        bound += 6 * len(name) + 4
        if isinstance(value, str):
            bound += 6 * len(value) + 2
        elif value is None or isinstance(value, (bool, float)):
            bound += 32
        elif isinstance(value, int):
            bound += len(str(value))
        else:
            return ROW_MAX_BYTES + 1  # a list or an object: measured
    return bound


def _whole(value: Any, low: int) -> bool:
    """A whole number from `low` to ID_MAX (3.0 is 3), as the document's `id` and `version`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= ID_MAX


# -- writing and answering --------------------------------------------------------------------------


def answer(entity: str, batch: Batch, write: Callable[..., BatchResult]) -> Response:
    """Write the batch through `write` (`RecordService.create_batch` or `update_many`) and answer
    what became of each row."""
    lang = request_language()
    indexes = [index for index in range(len(batch.rows)) if index not in batch.refused]
    rows = [batch.rows[index] for index in indexes]
    refused = {index: _row_error(batch, index, errors) for index, errors in batch.refused.items()}
    try:
        if not rows:
            result = BatchResult()
        elif batch.refused and not batch.partial:
            result = write(entity, rows, g.api_actor, check_only=True)  # every error told, nothing written
        else:
            result = write(entity, rows, g.api_actor, partial=batch.partial)
    except BatchValidationError as error:
        result = BatchResult({}, error.rows)
    for position, errors in result.failed.items():
        index = indexes[position]
        refused[index] = _row_error(batch, index, _engine_errors(errors, lang), _stored_version(errors))
    errors = [refused[index] for index in sorted(refused)]
    if errors and not batch.partial:
        return json_error(422, {"error": "invalid", "message": text("batch_invalid", lang), "errors": errors})
    items = [{"index": indexes[position], "id": record_id, "version": version}
             for position, (record_id, version) in sorted(result.written.items())]
    if batch.partial:
        return jsonify({"items": items, "errors": errors})
    response = jsonify({"items": items})
    response.status_code = 200 if batch.changes else 201
    return response


def _engine_errors(errors: Mapping[str, list[RuleError]], lang: str) -> RowErrors:
    return {name: [error.as_dict(lang) for error in found] for name, found in errors.items()}


def _stored_version(errors: Mapping[str, list[RuleError]]) -> int | None:
    """A stale version's row: the version now stored."""
    for error in errors.get("version", ()):
        if error.rule == "conflict":
            return error.params.get("version")
    return None


def _row_error(batch: Batch, index: int, errors: Mapping[str, Any], stored_version: int | None = None) -> dict[str, Any]:
    """One refused row: its index, the record it names (a change), the version now stored (a
    stale version), its errors."""
    entry: dict[str, Any] = {"index": index}
    record_id = batch.rows[index].get("id")
    if batch.changes and _whole(record_id, 1):
        entry["id"] = int(record_id)
    if stored_version is not None:
        entry["current_version"] = stored_version
    entry["errors"] = dict(errors)
    return entry
