"""Small pieces of the OpenAPI document that every part of it (records, jobs, duplicates) uses."""

from __future__ import annotations

from typing import Any


def json_content(schema: str) -> dict[str, Any]:
    """A JSON body of the named component schema."""
    return {"application/json": {"schema": schema_ref(schema)}}


def schema_ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query-string parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
