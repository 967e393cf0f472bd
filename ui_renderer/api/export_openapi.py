"""The OpenAPI description of `/<entity>/export` (ui_renderer/api/export_routes.py).

`export_operations(entity, list_parameters)` gives the path's operations, for
`openapi._entity_paths` to add with `spec.path(path=f"/{entity.name}/export", operations=...)`.
"""

from __future__ import annotations

from typing import Any

from metamodel.model import EntityDef

from .openapi_parts import ERROR_RESPONSES

OPTION_PARAMETERS = [
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "default": "csv"},
     "description": "csv, or an export format a plugin adds that fits this entity (vcard for contacts, "
                    "icalendar for events)."},
    {"name": "delimiter", "in": "query", "required": False, "schema": {"type": "string", "enum": [",", ";"]},
     "description": "The CSV separator (default `,`)."},
    {"name": "columns", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "`view` (the view's columns: CSV's default), `all` (every characteristic the caller may see: "
                    "the default of entity-specific formats), or names separated by commas."},
]


def export_operations(entity: EntityDef, list_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """GET (the file, streamed) and POST (an export job) of `/<entity>/export`."""
    def errors(*codes: int) -> dict[str, str]:
        return {str(code): ERROR_RESPONSES[code][0] for code in codes}

    listed = [p for p in list_parameters if p["name"] not in ("page", "size")]
    file_content = {"text/csv": {"schema": {"type": "string"}},
                    "*/*": {"schema": {"type": "string"}}}
    body = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "format": {"type": "string", "default": "csv"},
            "filter": {"type": "object", "description": "List query parameters (f_<field>, q, tab, sort, view).",
                       "additionalProperties": {"anyOf": [{"type": "string"},
                                                          {"type": "array", "items": {"type": "string"}}]}},
            "columns": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "delimiter": {"type": "string", "enum": [",", ";"]},
        },
    }
    tag = [entity.name]
    return {
        "get": {
            "operationId": f"export_{entity.name}", "tags": tag,
            "summary": f"Export {entity.plural.en} as a file (every page of the list, streamed)",
            "parameters": [*listed, *OPTION_PARAMETERS],
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
                          **errors(400, 401, 403, 413)},
        },
    }
