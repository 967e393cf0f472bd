"""Small pieces of the OpenAPI document that every part of it (records, jobs, duplicates) uses."""

from __future__ import annotations

from typing import Any

ERROR_RESPONSES = {  # status: (component name, description)
    400: ("BadRequest", "A query parameter or the body is not valid (`errors` names it)."),
    401: ("Unauthorized", "No valid bearer token."),
    403: ("Forbidden", "The caller's roles do not allow this operation (or a hidden characteristic is named)."),
    404: ("NotFound", "No such entity, record (or not in the caller's scope), list or history."),
    409: ("Conflict", "A stale `version` (`current` is the record as it is now), or the record's state forbids it."),
    413: ("TooLarge", "The body is larger than the limit."),
    422: ("Invalid", "Values break rules (`errors` by field), or a transition is refused (`reason`)."),
}


def json_content(schema: str) -> dict[str, Any]:
    """A JSON body of the named component schema."""
    return {"application/json": {"schema": schema_ref(schema)}}


def schema_ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query-string parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
