"""The OpenAPI description of `/<entity>/export` (ui_renderer/api/export_routes.py).

`export_operations(entity, list_parameters)` gives the path's operations, for
`openapi._entity_paths` to add with `spec.path(path=f"/{entity.name}/export", operations=...)`.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from engine.exchange.export_values import SYSTEM_LABELS
from engine.exchange.exporter import DELIMITERS
from metamodel.model import EntityDef

from .openapi_parts import ERROR_RESPONSES, query_parameter

PAGE_PARAMETERS = frozenset({"page", "size", "after", "total"})
"""List parameters of one page: an export is every page of the list, so it takes none of them."""


def option_parameters(formats: Sequence[str] | None, names: Sequence[str]) -> list[dict[str, Any]]:
    """`format`, `delimiter` and `columns` of GET /<entity>/export."""
    return [
        query_parameter("format", _format_schema(formats), "csv, or an export format a plugin adds that fits this "
                                                           "entity (vcard for contacts, icalendar for events)."),
        query_parameter("delimiter", {"type": "string", "enum": list(DELIMITERS)}, "The CSV separator (default `,`)."),
        query_parameter("columns", {"type": "string", "pattern": _columns_pattern(names)},
                        "`view` (the view's columns: CSV's default), `all` (every characteristic the caller may see: "
                        "the default of entity-specific formats), or names separated by commas."),
    ]


def lines_parameter(entity: EntityDef) -> list[dict[str, Any]]:
    """`lines` of GET /<entity>/export, for an entity with `lines` characteristics."""
    names = [f.name for f in entity.fields if f.type == "lines"]
    if not names:
        return []
    return [query_parameter("lines", {"type": "string", "enum": names},
                            "Export the lines of this lines characteristic of the records instead: one row per line, "
                            "the first column naming the record (natural key or #id), then the line's "
                            "characteristics; `format` and `columns` do not apply.")]


def _format_schema(formats: Sequence[str] | None) -> dict[str, Any]:
    return {"type": "string", "enum": list(formats)} if formats else {"type": "string"}


def _columns_pattern(names: Sequence[str]) -> str:
    one = f"({'|'.join(re.escape(n) for n in names)})"
    return f"^(view|all| *{one}( *, *{one})* *)$"


def export_operations(
    entity: EntityDef, list_parameters: list[dict[str, Any]], formats: Sequence[str] | None = None,
) -> dict[str, Any]:
    """GET (the file, streamed) and POST (an export job) of `/<entity>/export`.

    `formats`: the export formats fitting the entity (csv and the plugins'); None leaves any name open."""
    def errors(*codes: int) -> dict[str, str]:
        return {str(code): ERROR_RESPONSES[code][0] for code in codes}

    listed = [p for p in list_parameters if p["name"] not in PAGE_PARAMETERS]
    names = [*SYSTEM_LABELS, *(f.name for f in entity.fields if f.name not in SYSTEM_LABELS)]
    file_content = {"text/csv": {"schema": {"type": "string"}},
                    "*/*": {"schema": {"type": "string"}}}
    body = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "format": {**_format_schema(formats), "default": "csv"},
            "filter": {"type": "object", "description": "List query parameters (f_<field>, q, tab, sort, view).",
                       "additionalProperties": {"anyOf": [{"type": "string"},
                                                          {"type": "array", "items": {"type": "string"}}]}},
            "columns": {"anyOf": [{"type": "string", "pattern": _columns_pattern(names)},
                                  {"type": "array", "minItems": 1, "items": {"type": "string", "enum": names}}]},
            "delimiter": {"type": "string", "enum": list(DELIMITERS)},
        },
    }
    tag = [entity.name]
    return {
        "get": {
            "operationId": f"export_{entity.name}", "tags": tag,
            "summary": f"Export {entity.plural.en} as a file (every page of the list, streamed)",
            "parameters": [*listed, *option_parameters(formats, names), *lines_parameter(entity)],
            "responses": {"200": {"description": "The file (Content-Disposition: attachment).",
                                  "content": file_content},
                          **errors(400, 401, 403)},
        },
        "post": {
            "operationId": f"export_job_{entity.name}", "tags": tag,
            "summary": f"Export {entity.plural.en} in the background (a job writing the file)",
            "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
            "responses": {"202": {"description": "The queued job.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          **errors(400, 401, 403, 413, 422)},
        },
    }
