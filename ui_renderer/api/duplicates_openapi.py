"""The OpenAPI description of the duplicates routes (`duplicates_routes.py`).

`add_duplicate_documents(spec, model)` is called by `openapi.build_document` once the shared
components (`Error` and the error responses) exist: it adds the schemas and, per entity,
`GET /<entity>/duplicates` and `POST /<entity>/{id}/merge`.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from metamodel.model import Model

from .payload import ID_MAX
from .openapi_parts import api_entities
from .openapi_parts import json_content as _json

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
"""Groups a `GET /<entity>/duplicates` returns by default, and at most (`limit`)."""

ERRORS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
          413: "TooLarge", 422: "Invalid"}


def add_duplicate_documents(spec: APISpec, model: Model) -> None:
    spec.components.schema("DuplicateGroups", {
        "type": "object", "required": ["items", "more"],
        "properties": {
            "items": {"type": "array", "items": {
                "type": "object", "required": ["rule", "key", "ids"],
                "properties": {
                    "rule": {"type": "string", "description": "The duplicate rule that found the group."},
                    "key": {"type": "array", "description": "The normalised values the records share, in the rule's order."},
                    "ids": {"type": "array", "minItems": 2, "items": {"type": "integer"},
                            "description": "The records, oldest first."},
                },
            }},
            "more": {"type": "boolean", "description": "More groups exist than `limit`."},
        },
    })
    for entity in api_entities(model):
        name = "".join(part.capitalize() for part in entity.name.split("_"))
        tag = [entity.name]
        takeable = [f.name for f in entity.fields]  # the status and read-only ones: refused by the merge (422)
        spec.components.schema(f"{name}MergeRequest", {
            "type": "object", "required": ["other"], "additionalProperties": False,
            "properties": {
                "other": {"type": "integer", "minimum": 1, "maximum": ID_MAX,
                          "description": "The record merged into this one, then moved to the trash."},
                "take": {"type": "array", "items": {"type": "string", "enum": takeable},
                         "description": "Characteristics whose value comes from `other`."},
                "version": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                            "description": "This record's version read."},
                "other_version": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                                  "description": "The other record's version read."},
            },
        })
        rules = [r.name for r in entity.duplicate_rules]
        parameters: list[dict[str, Any]] = [
            {"name": "limit", "in": "query", "required": False, "allowEmptyValue": True, "description": f"Groups returned at most (default {DEFAULT_LIMIT}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
        ]
        if rules:
            parameters.insert(0, {"name": "rule", "in": "query", "required": False, "allowEmptyValue": True,
                                  "description": "Only this rule.",
                                  "schema": {"type": "string", "enum": rules}})
        spec.path(path=f"/{entity.name}/duplicates", operations={"get": _operation(
            f"duplicates_{entity.name}", f"Probable duplicates among {entity.plural.en}", tag, "DuplicateGroups",
            [400, 401, 403, 404], parameters=parameters,
        )})
        spec.components.schema(f"{name}Merged", {
            "type": "object", "required": ["record", "merged_from", "taken", "moved"],
            "properties": {
                "record": {"$ref": f"#/components/schemas/{name}"},
                "merged_from": {"type": "integer"},
                "taken": {"type": "array", "items": {"type": "string"}},
                "moved": {"type": "object", "additionalProperties": {"type": "integer"},
                          "description": "`entity.link` -> how many records now link to the kept record."},
            },
        })
        record_id = {"name": "id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
        spec.path(path=f"/{entity.name}/{{id}}/merge", parameters=[record_id], operations={"post": _operation(
            f"merge_{entity.name}", f"Merge another {entity.label.en} into this one", tag, f"{name}Merged",
            [400, 401, 403, 404, 409, 413, 422], body=f"{name}MergeRequest",
        )})


def _operation(
    operation_id: str, summary: str, tags: list[str], schema: str, errors: list[int], *,
    parameters: list[dict[str, Any]] | None = None, body: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "tags": tags,
        "responses": {"200": {"description": "OK", "content": _json(schema)},
                      **{str(code): ERRORS[code] for code in errors}},
    }
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    return operation
