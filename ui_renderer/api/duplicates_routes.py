"""The API of probable duplicates and merging (blueprint `api_duplicates`, under /api/v1).

- `GET /<entity>/duplicates[?rule=<name>&limit=<n>]`: `{"items": [{"rule", "key", "ids"}], "more"}`,
  the groups of records each duplicate rule finds (oldest record first), in the caller's scope;
- `POST /<entity>/<id>/merge` with `{"other": <id>, "take": [<characteristic>...]}` (and
  optionally `version` and `other_version`, the versions read): record `id` takes those values
  of `other`, every link to `other` moves to it, `other` goes to the trash. Answers the kept
  record with what moved.

Same authentication, language and error bodies as the other routes (`routes.py`, `errors.py`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from engine import Engine
from engine.records.duplicates import find_duplicates
from engine.records.merging import MergeError, merge
from ui_renderer.core.language import request_language

from .auth import authenticated_actor
from .conformance import check_query, request_body
from .duplicates_openapi import DEFAULT_LIMIT, MAX_LIMIT
from .errors import ApiError, error_response, json_error
from .locking import body_version
from .openapi_parts import has_addresses
from .payload import ID_MAX
from .routes import API_PREFIX
from .serialize import json_value, record_json

api_duplicates = Blueprint("api_duplicates", __name__, url_prefix=API_PREFIX)

STATE_REASONS = frozenset({"same_record", "trashed", "unique_link"})
"""Merge refusals due to the records' state (409); the others are about the fields taken (422)."""

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_rule": {
        "en": "{entity} has no duplicate rule '{rule}'.",
        "fr": "{entity} n'a pas de règle de doublons « {rule} ».",
    },
    "bad_limit": {
        "en": "'limit' is a whole number from 1 to {max}.",
        "fr": "« limit » est un nombre entier de 1 à {max}.",
    },
    "bad_other": {
        "en": "'other' is the id of the record to merge into this one.",
        "fr": "« other » est l'identifiant de l'enregistrement à fusionner dans celui-ci.",
    },
    "bad_take": {
        "en": "'take' is a list of characteristic names.",
        "fr": "« take » est une liste de noms de caractéristiques.",
    },
}


class DuplicatesApiError(ApiError):
    """An ApiError worded with this module's messages."""

    def response(self, lang: str) -> Response:
        texts = MESSAGES[self.key]
        message = texts.get(lang, texts["en"]).format(**self.params)
        body: dict[str, Any] = {"error": "not_found" if self.status == 404 else "bad_request", "message": message}
        if self.errors is not None:
            body["errors"] = {name: [{**e, "message": message} for e in errs] for name, errs in self.errors.items()}
        return json_error(self.status, body)


def engine() -> Engine:
    return current_app.extensions["ossature"]


@api_duplicates.before_request
def prepare() -> None:
    request.max_content_length = current_app.config.get("API_MAX_CONTENT_LENGTH") or 1024 * 1024
    g.api_actor = authenticated_actor(request_language())
    check_query(request_language())


@api_duplicates.after_request
def language_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Language", request_language())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    return response


@api_duplicates.errorhandler(Exception)
def handle_error(error: Exception) -> Response:
    if isinstance(error, MergeError):
        lang = request_language()
        status = 409 if error.reason in STATE_REASONS else 422
        return json_error(status, {"error": "merge_refused", **error.as_dict(lang)})
    return error_response(error)


def known_entity(entity: str) -> str:
    if not has_addresses(engine().model, entity):
        raise ApiError(404, "unknown_entity", entity=entity)
    return entity


@api_duplicates.get("/<entity>/duplicates")
def duplicate_groups(entity: str) -> Response:
    definition = engine().model.entity(known_entity(entity))
    lang = request_language()
    rule = request.args.get("rule") or None
    if rule is not None and rule not in {r.name for r in definition.duplicate_rules}:
        raise DuplicatesApiError(404, "unknown_rule", entity=definition.label.get(lang), rule=rule)
    limit = _limit(request.args.get("limit"))
    groups = find_duplicates(engine().records, entity, g.api_actor, rule=rule, limit=limit + 1)
    items = [{"rule": group.rule, "key": json_value(list(group.key)), "ids": list(group.ids)} for group in groups[:limit]]
    return jsonify({"items": items, "more": len(groups) > limit})


@api_duplicates.post("/<entity>/<int:record_id>/merge")
def merge_record(entity: str, record_id: int) -> Response:
    known_entity(entity)
    lang = request_language()
    if not 1 <= record_id <= ID_MAX:
        raise ApiError(404, "not_found", entity=engine().model.entity(entity).label.get(lang), id=record_id)
    body = request_body(lang)
    other = body.get("other")
    if isinstance(other, float) and other.is_integer():
        other = int(other)
    if isinstance(other, bool) or not isinstance(other, int) or not 0 < other <= ID_MAX:
        raise DuplicatesApiError(400, "bad_other", errors={"other": [{"rule": "type"}]})
    take = body.get("take", [])
    if not isinstance(take, list) or not all(isinstance(name, str) for name in take):
        raise DuplicatesApiError(400, "bad_take", errors={"take": [{"rule": "type"}]})
    result = merge(
        engine().records, entity, record_id, other, take, g.api_actor,
        keep_version=body_version(body.get("version"), lang),
        other_version=body_version(body.get("other_version"), lang, name="other_version"),
    )
    response = jsonify({
        "record": record_json(result["record"]), "merged_from": result["merged_from"], "taken": result["taken"],
        "moved": result["moved"],
    })
    response.headers["ETag"] = f'"{result["record"]["version"]}"'
    return response


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= MAX_LIMIT:
        return int(raw)
    raise DuplicatesApiError(400, "bad_limit", max=MAX_LIMIT, errors={"limit": [{"rule": "query"}]})
