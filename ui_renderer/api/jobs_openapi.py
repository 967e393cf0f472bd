"""The OpenAPI description of the jobs and import routes (`jobs_routes.py`, `import_routes.py`).

`add_job_documents(spec, model)` is called by `openapi.build_document` once the shared
components (`Error` and the error responses) exist.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from apispec import APISpec

from engine.jobs.service import ACTIVE, FINISHED
from metamodel.model import MATCHABLE_TYPES, EntityDef, Model

from .field_schemas import NO_NUL
from .job_json import ERRORS_MAX, LIST_MAX
from .openapi_parts import api_entities
from .openapi_parts import json_content as _json
from .openapi_parts import query_parameter as _query
from .openapi_parts import schema_ref as _ref
from .payload import ID_MAX

ERRORS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
          413: "TooLarge", 422: "Invalid"}
STATES = [*ACTIVE, *FINISHED, "interrupted"]

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "entity", "state", "params", "total", "done", "percent", "counts", "error_count",
                 "result", "message", "output_name", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "description": "mass_update, import, export..."},
        "entity": NULLABLE_TEXT,
        "owner_id": NULLABLE_INT,
        "state": {"type": "string", "enum": STATES,
                  "description": "`interrupted`: its worker stopped sending news (it died); resume it."},
        "params": {"type": "object", "description": "What the job was asked to do."},
        "total": {**NULLABLE_INT, "description": "Units (records, rows) expected; null until known."},
        "done": {"type": "integer", "minimum": 0},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                   "description": "matched, changed, created, updated, refused, would_create..."},
        "error_count": {"type": "integer", "minimum": 0},
        "result": {"type": ["object", "null"], "description": "The job's summary once done."},
        "message": {**NULLABLE_TEXT, "description": "Why a failed job stopped, in the owner's language."},
        "output_name": {**NULLABLE_TEXT, "description": "The file it wrote (GET /jobs/{id}/output)."},
        "media_type": NULLABLE_TEXT,
        "attempts": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": NULLABLE_TIME,
        "heartbeat_at": NULLABLE_TIME,
        "finished_at": NULLABLE_TIME,
    },
}

FLAG_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}
"""The words an import flag (`dry_run`, `upsert`) may be, and what each means."""
IMPORT_FLAGS = list(FLAG_VALUES)
IMPORT_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "windows-1252", "cp1252", "iso-8859-1", "latin-1",
                    "iso-8859-15", "ascii", "mac-roman", "cp850"]
"""The encodings the document lists. The import takes any text encoding Python knows (the engine's
`csv_source.text_encoding` judges, with its words); listing the several hundred names and spellings
would make the document, and every client generated from it, heavy for nothing."""
IMPORT_DELIMITERS = [",", ";", "tab", "\t"]


def lines_property(entity: EntityDef) -> dict[str, Any]:
    """`lines` of the import form, for an entity with `lines` characteristics."""
    names = [f.name for f in entity.fields if f.type == "lines"]
    if not names:
        return {}
    return {"lines": {"type": "string", "enum": names,
                      "description": "Import the file as the lines of this lines characteristic: one row per line, "
                                     "the first column naming the record (natural key or #id); each record named "
                                     "gets exactly the file's lines. upsert, key and format do not apply."}}


def import_form(entity: EntityDef, formats: Sequence[str] | None) -> dict[str, Any]:
    """The multipart form of POST /<entity>/import."""
    names = "|".join(re.escape(f.name) for f in entity.fields if f.type in MATCHABLE_TYPES)
    keyless: dict[str, Any] = {}
    if not entity.natural_key:  # an upsert must then say which characteristics identify a record
        keyless = {"anyOf": [{"properties": {"upsert": {"enum": [f for f in IMPORT_FLAGS if not FLAG_VALUES[f]]}}},
                             {"required": ["key"], "properties": {"key": {"pattern": "[^ ,]"}}}]}
    targets = [f.name for f in entity.fields if not f.readonly]
    return {
        "type": "object", "required": ["file"], **keyless,
        "properties": {
            "file": {"type": "string", "format": "binary", "minLength": 1, "description": "The file to import."},
            "format": {"type": "string", "default": "csv", **({"enum": list(formats)} if formats else {}),
                       "description": "csv, or an import format a plugin adds that fits the entity (vcard for "
                                      "contacts)."},
            "dry_run": {"type": "string", "enum": IMPORT_FLAGS, "description": "Check every row, write nothing."},
            "upsert": {"type": "string", "enum": IMPORT_FLAGS,
                       "description": "Rows whose key names an existing record change it (key: the natural key)."},
            "key": {"type": "string", "pattern": f"^ *(({names}) *(, *({names}) *)*)?$",
                    "description": "Characteristics identifying a record, separated by commas."},
            "encoding": {"type": "string", "enum": [*IMPORT_ENCODINGS, ""],
                         "description": "The file's text encoding: these, or any other text encoding Python knows. "
                                        "Empty or left out: UTF-8 if the file is, else Windows-1252."},
            "delimiter": {"type": "string", "enum": [*IMPORT_DELIMITERS, ""],
                          "description": "Empty or left out: found in the header."},
            **lines_property(entity),
            "mapping": {"type": "object", "propertyNames": {"pattern": NO_NUL},
                        "additionalProperties": {"enum": [*targets, "", None]},
                        "description": "A JSON object (the part's content is JSON): column header -> characteristic "
                                       "name, \"\" or null to skip the column."},
        },
    }


def add_job_documents(spec: APISpec, model: Model, import_formats: Mapping[str, Sequence[str]] | None = None) -> None:
    spec.components.schema("Job", JOB_SCHEMA)
    spec.components.schema("JobList", {"type": "object", "required": ["items"],
                                       "properties": {"items": {"type": "array", "items": _ref("Job")}}})
    spec.components.schema("JobErrors", {
        "type": "object", "required": ["items", "error_count"],
        "properties": {
            "items": {"type": "array", "items": {
                "type": "object", "required": ["row", "record_id", "field", "message"],
                "properties": {"row": {**NULLABLE_INT, "description": "Line of the file (1 is the header)."},
                               "record_id": NULLABLE_INT, "field": NULLABLE_TEXT, "message": {"type": "string"}},
            }},
            "error_count": {"type": "integer", "description": "Every error found (the first 10,000 are kept)."},
        },
    })
    tag = ["jobs"]
    job_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
    entities = [e.name for e in api_entities(model)]
    spec.path(path="/jobs", operations={"get": _operation(
        "list_jobs", "The caller's jobs, newest first", tag, 200, _json("JobList"), [400, 401, 404], parameters=[
            _query("entity", {"type": "string", "enum": entities}, "Only the jobs on this entity."),
            _query("active", {"type": "string", "enum": ["true", "false", "1", "0"]}, "Only the queued and running ones."),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": LIST_MAX}, "Jobs returned at most."),
        ])})
    spec.path(path="/jobs/{id}", parameters=[job_id], operations={"get": _operation(
        "get_job", "A job: state, progress, counts, result", tag, 200, _json("Job"), [401, 404])})
    spec.path(path="/jobs/{id}/errors", parameters=[job_id], operations={"get": _operation(
        "job_errors", "The rows or records a job refused, and why", tag, 200, _json("JobErrors"), [400, 401, 404],
        parameters=[_query("limit", {"type": "integer", "minimum": 1, "maximum": ERRORS_MAX}, "Errors at most.")])})
    spec.path(path="/jobs/{id}/cancel", parameters=[job_id], operations={"post": _operation(
        "cancel_job", "Stop a job (a running one stops after its current chunk)", tag, 200, _json("Job"), [401, 404])})
    spec.path(path="/jobs/{id}/resume", parameters=[job_id], operations={"post": _operation(
        "resume_job", "Send a queued, failed or interrupted job again; it continues from its last checkpoint", tag, 200, _json("Job"),
        [401, 404, 409])})
    spec.path(path="/jobs/{id}/output", parameters=[job_id], operations={"get": _operation(
        "job_output", "Download the file a finished job wrote (an export)", tag, 200,
        {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
         "*/*": {"schema": {"type": "string"}}}, [401, 404, 409])})
    for entity in api_entities(model):
        spec.path(path=f"/{entity.name}/import", operations={"post": {
            **_operation(f"import_{entity.name}", f"Import {entity.plural.en} from a file (a job)", [entity.name], 202,
                         _json("Job"), [400, 401, 403, 404, 413]),
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": import_form(entity, (import_formats or {}).get(entity.name)),
                "encoding": {"mapping": {"contentType": "application/json"}}}}},
        }})


def mass_update_job_response() -> dict[str, Any]:
    """The 202 of a mass update whose selection is over the jobs' threshold."""
    return {"description": "The selection is larger than the jobs' threshold: the change runs as a job.",
            "content": _json("Job")}


def _operation(
    operation_id: str, summary: str, tags: list[str], status: int, content: dict[str, Any], errors: list[int], *,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "tags": tags,
        "responses": {str(status): {"description": "OK" if status == 200 else "Accepted", "content": content},
                      **{str(code): ERRORS[code] for code in errors}},
    }
    if parameters:
        operation["parameters"] = parameters
    return operation
