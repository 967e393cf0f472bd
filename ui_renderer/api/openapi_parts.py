"""Small pieces of the OpenAPI document that every part of it (records, jobs, duplicates) uses."""

from __future__ import annotations

from typing import Any

from metamodel.model import EntityDef, Model

ERROR_RESPONSES = {  # status: (component name, description)
    400: ("BadRequest", "A query parameter or the body is not valid (`errors` names it)."),
    401: ("Unauthorized", "No valid bearer token."),
    403: ("Forbidden", "The caller's roles do not allow this operation (or a hidden characteristic is named)."),
    404: ("NotFound", "No such entity, record (or not in the caller's scope), list or history."),
    409: ("Conflict", "A stale `version` (`current` is the record as it is now), or the record's state forbids it."),
    412: ("PreconditionFailed", "A stale `If-Match`: the record changed since it was read (`current` is the record "
                                "as it is now, its `ETag` the version to send)."),
    413: ("TooLarge", "The body is larger than the limit."),
    422: ("Invalid", "Values break rules (`errors` by field), or a transition is refused (`reason`)."),
    428: ("PreconditionRequired", "Neither `version` nor `If-Match` was sent: a change must name the version it is "
                                  "based on."),
    429: ("TooManyRequests", "Too many requests with a bad token came from the caller's address: every request "
                             "with a token is refused until `Retry-After` seconds have passed."),
}
AUTHENTICATED_ERRORS = (401, 429)
"""Answers every operation needing a token may give."""


def add_authentication_answers(document: dict[str, Any]) -> None:
    """Give every operation that needs a token its 401 and 429 (`Retry-After`) answers."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method == "parameters" or operation.get("security") == []:
                continue
            for code in AUTHENTICATED_ERRORS:
                operation["responses"].setdefault(str(code), {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"})


def json_content(schema: str) -> dict[str, Any]:
    """A JSON body of the named component schema."""
    return {"application/json": {"schema": schema_ref(schema)}}


def schema_ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query-string parameter; an empty value (`?name=`) is the parameter not given."""
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True, "schema": schema,
            "description": description}


def schema_name(entity: str) -> str:
    """The component name of an entity's record schema (`activity_report` -> `ActivityReport`)."""
    return "".join(part.capitalize() for part in entity.split("_"))


LINE_SCHEMAS = {"read": "Line", "change": "LineInput", "create": "LineNew"}


def line_schema_name(entity: str, use: str = "read") -> str:
    """The component name of a line of the owned `entity`: as read (`MealLine`), as a change of its
    owner gives it (`MealLineInput`: a kept line names its `id`), as a new owner's (`MealLineNew`: no `id`)."""
    return f"{schema_name(entity)}{LINE_SCHEMAS[use]}"


def api_entities(model: Model) -> list[EntityDef]:
    """The entities with addresses of their own, by name: every one but the owned entities, whose
    records are lines travelling in their owner's records only (no list, get, batch, import...)."""
    return sorted((e for e in model.entities.values() if e.owned_by is None), key=lambda e: e.name)


def has_addresses(model: Model, entity: str) -> bool:
    """Whether `entity` is one of `api_entities(model)` (an unknown or owned entity answers 404)."""
    definition = model.entities.get(entity)
    return definition is not None and definition.owned_by is None
