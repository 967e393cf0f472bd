"""The OpenAPI description of the batch writes (`batch_routes.py`).

`add_batch_documents(spec, model)` is called by `openapi.build_document` once the entities'
schemas (`<Name>Input`, `<Name>Values`) and the shared components exist: it adds the answers'
schemas and, per entity, `POST` and `PATCH /<entity>/batch`.

A batch body is `{"records": [...], "partial": false}`. All or nothing (the default), every row
must fit the entity's schema. With `partial: true` every row is judged on its own: a row the
schema refuses is an error at its index, not a bad request, so the document lets such a body
hold any object as a row (the second branch of the body's `oneOf`).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from engine.installation import settings
from metamodel.model import Model

from .openapi_parts import ERROR_RESPONSES, api_entities
from .openapi_parts import json_content as _json
from .openapi_parts import schema_ref as _ref
from .payload import ID_MAX

ROW_MAX_BYTES = 64 * 1024
"""The JSON of one row of a batch (compact, UTF-8) takes at most this many bytes; a larger row is
refused at its index."""
BODY_CAP = 8 * 1024 * 1024
"""A batch's body takes at most its rows' limit times ROW_MAX_BYTES, and never more than this
(unless the app's `API_BATCH_MAX_CONTENT_LENGTH` says otherwise): ordinary rows take well under
a kilobyte, so a full batch fits many times over."""

ERRORS = (400, 401, 403, 413)

DESCRIPTION = (
    "At most {limit} records (`OSSATURE_API_BATCH_LIMIT`); more, or none, answers 400. A record takes at most "
    "{row} bytes of JSON (a larger one is refused at its index), the body at most {body} bytes by default (413). "
    "All or nothing by default: if any record is refused, nothing is written and 422 lists every refused record "
    "with its `index` (its position in `records`) and its errors by characteristic. With `partial: true` the good "
    "records are written and the answer is 200 with `items` (what was written) and `errors` (what was refused)."
)


def body_limit(limit: int) -> int:
    """The default size cap of a batch's body, for `limit` records."""
    return min(limit * ROW_MAX_BYTES, BODY_CAP)


def add_batch_documents(spec: APISpec, model: Model) -> None:
    limit = settings.api_batch_limit()
    spec.components.schema("BatchItem", {
        "type": "object", "required": ["index", "id", "version"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "The row's position in `records`, from 0."},
            "id": {"type": "integer", "minimum": 1},
            "version": {"type": "integer", "minimum": 1,
                        "description": "The record's version now (unchanged when the row changed nothing)."},
        },
    })
    spec.components.schema("BatchRowError", {
        "type": "object", "required": ["index", "errors"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "The row's position in `records`, from 0."},
            "id": {"type": "integer", "description": "The record the row names (a change)."},
            "current_version": {"type": "integer", "description": "A stale `version`: the version now stored."},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": _ref("RuleError")},
                       "description": "By characteristic (`id`, `version`: the row's keys; `record`: the row "
                                      "as a whole)."},
        },
    })
    spec.components.schema("BatchWritten", {
        "type": "object", "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": _ref("BatchItem"), "description": "The rows written, in order."},
            "errors": {"type": "array", "items": _ref("BatchRowError"),
                       "description": "`partial: true` only: the rows refused, in order."},
        },
    })
    spec.components.schema("BatchInvalid", {
        "type": "object", "required": ["error", "message", "errors"],
        "properties": {
            "error": {"type": "string", "description": "`invalid`."},
            "message": {"type": "string", "description": "In the request's language (Accept-Language)."},
            "errors": {"type": "array", "items": _ref("BatchRowError"), "description": "Every row refused, in order."},
        },
    })
    spec.components.response("BatchRefused", {
        "description": "Rows are refused (all or nothing): nothing was written; `errors` lists them by index.",
        "content": {"application/json": {"schema": {"anyOf": [_ref("BatchInvalid"), _ref("Error")]}}},
    })
    invalid = {"$ref": "#/components/responses/BatchRefused"}
    for entity in api_entities(model):
        name = "".join(part.capitalize() for part in entity.name.split("_"))
        values = spec.components.schemas[f"{name}Values"]["properties"]
        spec.components.schema(f"{name}BatchChange", {
            "type": "object", "required": ["id", "version"], "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": ID_MAX, "description": "The record to change."},
                "version": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                            "description": "The version read: a stale one is a `conflict` at the row's index."},
                **values,
            },
        })
        spec.components.schema(f"{name}BatchCreate", _batch_body(f"{name}Input", limit))
        spec.components.schema(f"{name}BatchUpdate", _batch_body(f"{name}BatchChange", limit))
        tag = [entity.name]
        description = DESCRIPTION.format(limit=limit, row=ROW_MAX_BYTES, body=body_limit(limit))
        create = _operation(f"batch_create_{entity.name}", f"Create many {entity.plural.en}", tag,
                            f"{name}BatchCreate", invalid, description)
        create["responses"] = {"201": {"description": "Every record was created.", "content": _json("BatchWritten")},
                               **create["responses"]}
        update = _operation(f"batch_update_{entity.name}", f"Change many {entity.plural.en}", tag,
                            f"{name}BatchUpdate", invalid, description)
        spec.path(path=f"/{entity.name}/batch", operations={"post": create, "patch": update})


def _batch_body(row: str, limit: int) -> dict[str, Any]:
    return {
        "type": "object", "required": ["records"], "additionalProperties": False,
        "properties": {
            "records": {"type": "array", "minItems": 1, "maxItems": limit},
            "partial": {"type": "boolean", "default": False,
                        "description": "Write the good records and report the others (200) instead of writing "
                                       "nothing when one is refused (422)."},
        },
        "oneOf": [
            {"properties": {"partial": {"const": False}, "records": {"items": _ref(row)}}},
            {"required": ["partial"], "properties": {"partial": {"const": True}, "records": {"items": {
                "type": "object", "description": f"A row as in `{row}`; one that does not fit is refused at its "
                                                 "index."}}}},
        ],
    }


def _operation(operation_id: str, summary: str, tags: list[str], body: str, invalid: dict[str, Any],
               description: str) -> dict[str, Any]:
    return {
        "operationId": operation_id, "summary": summary, "tags": tags, "description": description,
        "requestBody": {"required": True, "content": _json(body)},
        "responses": {
            "200": {"description": "Every record was written, or (`partial: true`) the good ones.",
                    "content": _json("BatchWritten")},
            **{str(code): {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"} for code in ERRORS},
            "422": invalid,
        },
    }
