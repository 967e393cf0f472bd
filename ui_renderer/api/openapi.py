"""The OpenAPI 3.1 document of the API, generated from the `Model` with apispec.

Every entity gets its schemas (the record as read, the values to create, to change,
and a page of a list) and its paths; nothing here names an entity. The document is
built once per `Model` and cached: new definitions (a pack adding a characteristic)
make a new Model, hence a new document.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import marshmallow as mm
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from engine import Engine
from engine.exchange.exporter import export_formats
from engine.records.queries import MAX_PAGE_SIZE, SORTABLE_SYSTEM, TABS, TOTALS
from ui_renderer.exchange.import_preview import entity_import_formats
from metamodel.model import EntityDef, Model, PathDef

from .export_openapi import export_operations
from .field_schemas import NO_NUL, filter_parameters, input_schema, output_schema
from .jobs_openapi import add_job_documents, mass_update_job_response
from .locking import IF_MATCH_PATTERN
from .openapi_parts import ERROR_RESPONSES, add_authentication_answers, api_entities, line_schema_name, schema_name
from .openapi_parts import json_content as _json
from .openapi_parts import query_parameter as _query
from .openapi_parts import schema_ref as _ref
from .payload import ID_MAX, MAX_PAGE

CACHE_SIZE = 8
AUDIT_ACTIONS = ["create", "update", "delete", "restore", "purge", "merge"]
"""What the audit trail records (engine/storage/trail.py writers; `merge` by engine/records/merging.py)."""
_cache: OrderedDict[tuple[int, Any], tuple[Model, dict[str, Any]]] = OrderedDict()
_formats: OrderedDict[int, tuple[Engine, Model, dict[str, Any]]] = OrderedDict()
"""id(engine) -> (the engine, its Model, the document of both)."""



class RuleErrorSchema(mm.Schema):
    rule = mm.fields.String(required=True, metadata={"description": "The rule broken: max, mandatory, query..."})
    message = mm.fields.String(required=True)


class ErrorSchema(mm.Schema):
    error = mm.fields.String(required=True, metadata={"description": "A short code: not_found, invalid..."})
    message = mm.fields.String(required=True, metadata={"description": "In the request's language (Accept-Language)."})
    errors = mm.fields.Dict(keys=mm.fields.String(), values=mm.fields.List(mm.fields.Nested(RuleErrorSchema)))
    reason = mm.fields.String(metadata={"description": "Why a transition was refused: role, guard, required..."})
    current = mm.fields.Dict(metadata={"description": "After a stale version: the record as it is now."})
    error_id = mm.fields.String(metadata={"description": "A server error (500): the id under which it was logged."})


class GroupSchema(mm.Schema):
    value = mm.fields.Raw(required=True)
    count = mm.fields.Integer(required=True)


class MassUpdateResultSchema(mm.Schema):
    matched = mm.fields.Integer(required=True)
    changed = mm.fields.Integer(required=True)
    refused = mm.fields.Dict(keys=mm.fields.String(), values=mm.fields.String(), required=True,
                             metadata={"description": "Record id -> why it was left unchanged."})


class ValueSchema(mm.Schema):
    code = mm.fields.String(required=True)
    label = mm.fields.String(required=True)
    labels = mm.fields.Dict(keys=mm.fields.String(), values=mm.fields.String(), required=True)
    order = mm.fields.Integer(required=True)
    retired = mm.fields.Boolean(required=True)
    color = mm.fields.String(required=True, allow_none=True)


class ValueListSchema(mm.Schema):
    name = mm.fields.String(required=True)
    label = mm.fields.String(required=True)
    values = mm.fields.List(mm.fields.Nested(ValueSchema), required=True)


class AuditEntrySchema(mm.Schema):
    id = mm.fields.Integer(required=True)
    entity = mm.fields.String(required=True)
    record_id = mm.fields.Integer(required=True)
    action = mm.fields.String(required=True, metadata={"enum": AUDIT_ACTIONS})
    version = mm.fields.Integer(required=True, allow_none=True)
    changed_at = mm.fields.DateTime(required=True)
    actor_id = mm.fields.Integer(required=True, allow_none=True)
    changes = mm.fields.Dict(required=True, allow_none=True,
                             metadata={"description": "Characteristic -> [old value, new value]."})


class AuditLogSchema(mm.Schema):
    items = mm.fields.List(mm.fields.Nested(AuditEntrySchema), required=True)


class PeriodSchema(mm.Schema):
    value = mm.fields.Raw(required=True)
    old_value = mm.fields.Raw(required=True)
    valid_from = mm.fields.DateTime(required=True)
    valid_to = mm.fields.DateTime(required=True, allow_none=True)
    changed_by = mm.fields.Integer(required=True, allow_none=True)


class FieldHistorySchema(mm.Schema):
    field = mm.fields.String(required=True)
    periods = mm.fields.List(mm.fields.Nested(PeriodSchema), metadata={"description": "Without `as_of`."})
    as_of = mm.fields.String(metadata={"description": "With `as_of`: the moment asked."})
    value = mm.fields.Raw(metadata={"description": "With `as_of`: the value at that moment."})


ExportFormats = Mapping[str, Sequence[str]]
"""Entity -> the export (or import) formats fitting it (csv and the plugins'), which the Model alone does not know."""


def openapi_document(model: Model, server_url: str, export_formats: ExportFormats | None = None) -> dict[str, Any]:
    """The document for `model`, served from `server_url` (cached per Model)."""
    return {**model_document(model, export_formats), "servers": [{"url": server_url}]}


def engine_document(engine: Engine) -> dict[str, Any]:
    """The document of a running engine: its Model and its plugins' export formats (shared: do not change it)."""
    known = _formats.get(id(engine))
    if known is None or known[0] is not engine or known[1] is not engine.model:
        names = [entity.name for entity in api_entities(engine.model)]
        exports = {name: tuple(export_formats(engine, name)) for name in names}
        imports = {name: ("csv", *sorted(entity_import_formats(engine, name))) for name in names}
        known = (engine, engine.model, model_document(engine.model, exports, imports))
        _formats[id(engine)] = known
        while len(_formats) > CACHE_SIZE:
            _formats.popitem(last=False)
    return known[2]  # every API request asks: kept with the engine, no key to hash


def model_document(
    model: Model, export_formats: ExportFormats | None = None, import_formats: ExportFormats | None = None,
) -> dict[str, Any]:
    """The document for `model`, built once and shared: callers must not change it."""
    exports = tuple(sorted((k, tuple(v)) for k, v in (export_formats or {}).items()))
    imports = tuple(sorted((k, tuple(v)) for k, v in (import_formats or {}).items()))
    key = (id(model), exports, imports)
    cached = _cache.get(key)
    if cached is None or cached[0] is not model:
        cached = (model, build_document(model, dict(exports), dict(imports)))
        _cache[key] = cached
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return cached[1]


def build_document(
    model: Model, export_formats: ExportFormats | None = None, import_formats: ExportFormats | None = None,
) -> dict[str, Any]:
    spec = APISpec(
        title="Ossature API", version=importlib.metadata.version("ossature"), openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Records of every entity of the loaded definitions. Errors are JSON "
                             "(`Error`); messages follow Accept-Language (en, fr)."},
        security=[{"bearerAuth": []}],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "description": "A token from `ossature token create`."})
    for schema, name in ((ErrorSchema, "Error"), (GroupSchema, "Group"), (MassUpdateResultSchema, "MassUpdateResult"),
                         (ValueListSchema, "ValueList"), (AuditLogSchema, "AuditLog"),
                         (FieldHistorySchema, "FieldHistory")):
        spec.components.schema(name, schema=schema)
    for status, (name, description) in ERROR_RESPONSES.items():
        answer: dict[str, Any] = {"description": description, "content": _json("Error")}
        if status == 429:
            answer["headers"] = {"Retry-After": {"required": True, "description": "Seconds to wait.",
                                                 "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
        spec.components.response(name, answer)
    for entity in sorted(model.entities.values(), key=lambda e: e.name):
        if entity.owned_by is not None:
            _line_schemas(spec, entity, model)
    for entity in api_entities(model):
        _entity_schemas(spec, entity, model)
        _entity_paths(spec, entity, model, (export_formats or {}).get(entity.name))
    _document_paths(spec, model)
    add_job_documents(spec, model, import_formats)
    from .duplicates_openapi import add_duplicate_documents  # it imports the routes, which import this module

    add_duplicate_documents(spec, model)
    from .batch_openapi import add_batch_documents  # it copies the entities' `<Name>Values` schemas
    add_batch_documents(spec, model)
    document = spec.to_dict()
    add_authentication_answers(document)
    return document


# -- schemas -----------------------------------------------------------------------------------


def _entity_schemas(spec: APISpec, entity: EntityDef, model: Model) -> None:
    name = schema_name(entity.name)
    system = {
        "id": {"type": "integer"}, "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "created_by": {"type": ["integer", "null"]},
        "updated_at": {"type": "string", "format": "date-time"}, "updated_by": {"type": ["integer", "null"]},
        "deleted_at": {"type": ["string", "null"], "format": "date-time"},
    }
    fields = {f.name: output_schema(f, model) for f in entity.fields}
    for text, path in _row_paths(entity, model).items():
        fields[text] = {**output_schema(path.field, model),
                        "description": f"The path `{text}`: in the rows of lists naming it only."}
    spec.components.schema(name, {
        "type": "object", "title": entity.label.en, "properties": {**system, **fields},
        "required": ["id", "version", "created_at", "updated_at"], "additionalProperties": False,
        "description": "Characteristics hidden from the caller's roles are left out.",
    })
    writable = [f for f in entity.fields if not f.readonly and f.type != "status"]
    create_properties = {f.name: input_schema(f, model, allow_null=not f.mandatory or _has_default(f), creating=True)
                         for f in writable}
    if entity.workflow:
        create_properties["status"] = input_schema(entity.field("status"), model, allow_null=True)
    spec.components.schema(f"{name}Input", {
        "type": "object", "properties": create_properties, "required": _required_on_create(entity, model),
        "additionalProperties": False,
    })
    values = {f.name: input_schema(f, model, allow_null=not f.mandatory) for f in writable}
    spec.components.schema(f"{name}Values", {"type": "object", "properties": values, "additionalProperties": False})
    spec.components.schema(f"{name}Update", {
        "type": "object", "additionalProperties": False,
        "properties": {**values, "version": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                                             "description": "The version read (or send `If-Match`): required "
                                                            "one way or the other (428 without); a stale one "
                                                            "answers 409."}},
    })
    spec.components.schema(f"{name}Page", page_schema(name))
    spec.components.schema(f"{name}MassUpdate", {
        "type": "object", "required": ["values"], "additionalProperties": False,
        "oneOf": [{"required": ["ids"]}, {"required": ["filter"]}],
        "properties": {
            "ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX}},
            "filter": {"type": "object", "description": "List query parameters (f_<field>, q, tab...).",
                       "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array",
                                                                               "items": {"type": "string"}}]}},
            "values": {**_ref(f"{name}Values"), "minProperties": 1},
            "versions": {"type": "object", "description": "Record id -> the version read.",
                         "propertyNames": {"pattern": "^[1-9][0-9]{0,8}$"},
                         "additionalProperties": {"type": "integer", "minimum": 0, "maximum": ID_MAX}},
        },
    })
    spec.components.schema(f"{name}Copy", {
        "type": "object", "additionalProperties": False,
        "properties": {"values": {
            "type": "object", "additionalProperties": False,
            "properties": {k: v for k, v in create_properties.items() if k != "status"},
            "description": "Values of the copy that replace those copied, as a create takes them (null: "
                           "not copied, the default applies).",
        }},
    })
    if entity.workflow:
        spec.components.schema(f"{name}Transition", {
            "type": "object", "additionalProperties": False,
            "properties": {
                "values": _ref(f"{name}Values"),
                "inputs": {"type": "object", "description": "Choices for the transition's actions (lead conversion)."},
                "version": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                            "description": "The version read (or send `If-Match`): required one way or the other "
                                           "(428 without); a stale one answers 409."},
            },
        })


def _row_paths(entity: EntityDef, model: Model) -> dict[str, PathDef]:
    """The paths through links a row of the entity's lists may carry: those its list views name,
    and the columns of the related panels listing its records (`account.sector` of bookings)."""
    found = {text: path for view in entity.views if view.kind == "list" for text, path in view.paths.items()}
    for other in model.entities.values():
        for view in other.views:
            for panel in view.related:
                if model.relation(other.name, panel.relation).source_entity == entity.name:
                    found.update(panel.paths)
    return dict(sorted(found.items()))


def _line_schemas(spec: APISpec, entity: EntityDef, model: Model) -> None:
    """A line of an owned entity as its owner's record carries it (`MealLine`), as a change of the
    owner gives it (`MealLineInput`: a kept line's `id`, or a new line's mandatory values) and as a new
    owner's does (`MealLineNew`): its characteristics and `position` (the list order); never its
    `parent_id`, which is the record carrying it."""
    fields = [f for f in entity.column_fields if not f.system]
    position = {"type": "integer", "minimum": 0, "readOnly": True,
                "description": "The line's place among the record's lines, from 0: the order of the list."}
    spec.components.schema(line_schema_name(entity.name), {
        "type": "object", "title": entity.label.en, "required": ["id", "position"], "additionalProperties": False,
        "properties": {"id": {"type": "integer", "minimum": 1}, "position": position,
                       **{f.name: output_schema(f, model) for f in fields}},
    })
    writable = {f.name: input_schema(f, model, allow_null=not f.mandatory or _has_default(f))
                for f in fields if not f.readonly}
    given = {"position": {**position, "description": "Ignored (the order of the list is the position): a line "
                                                     "read may be sent back as it is."}, **writable}
    required = _required_on_create(entity, model)
    spec.components.schema(line_schema_name(entity.name, "create"), {
        "type": "object", "title": entity.label.en, "additionalProperties": False, "properties": given,
        **({"required": required} if required else {}),
    })
    change: dict[str, Any] = {
        "type": "object", "title": entity.label.en, "additionalProperties": False,
        "properties": {"id": {"type": "integer", "minimum": 1, "maximum": ID_MAX,
                              "description": "One of the record's lines, changed (its values not given are kept); "
                                             "without it, a new line."}, **given},
    }
    if required:
        change["anyOf"] = [{"required": ["id"]}, {"required": required}]
    spec.components.schema(line_schema_name(entity.name, "change"), change)


def page_schema(name: str) -> dict[str, Any]:
    """A page of a list of the entity whose record schema is `name`."""
    return {
        "type": "object", "required": ["items", "total", "total_capped", "page", "pages", "size", "groups",
                                       "next_after"],
        "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "total": {"type": ["integer", "null"], "minimum": 0,
                      "description": "The records matching (`total=exact`); at most the server's cap with "
                                     "`total=capped` (see `total_capped`); null with `total=none`."},
            "total_capped": {"type": "boolean",
                             "description": "`total=capped` only: more records match than `total` says (`total` "
                                            "and `pages` are then lower bounds)."},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": ["integer", "null"], "minimum": 1, "description": "Null with `total=none`."},
            "size": {"type": "integer", "minimum": 1},
            "groups": {"anyOf": [{"type": "array", "items": _ref("Group")}, {"type": "null"}]},
            "next_after": {"type": ["string", "null"],
                           "description": "The `after` of the next page (keyset paging), null when this page is "
                                          "the last."},
        },
    }


def _has_default(field: Any) -> bool:
    """On creation, null for a characteristic with a default means "the default"."""
    return field.default is not None or bool(field.default_expr)


def _required_on_create(entity: EntityDef, model: Model) -> list[str]:
    """Mandatory characteristics (and collections with a `min`) that nothing fills in for the caller
    (default, first status)."""
    filled: set[str] = set()
    if entity.workflow:
        filled = set(model.workflow(entity.workflow).initial.on_enter)
    return [f.name for f in entity.fields
            if (f.mandatory or (f.is_collection and f.min)) and f.default is None and not f.default_expr
            and not f.readonly and f.name not in filled and f.type != "status"]


# -- paths -------------------------------------------------------------------------------------


def _entity_paths(spec: APISpec, entity: EntityDef, model: Model, formats: Sequence[str] | None) -> None:
    name, label = schema_name(entity.name), entity.label.en
    tag = [entity.name]
    record_id = {"name": "id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
    spec.path(path=f"/{entity.name}", operations={
        "get": _operation(f"list_{entity.name}", f"List {entity.plural.en}", tag, 200, f"{name}Page",
                          [400, 401, 403], parameters=_list_parameters(entity, model)),
        "post": _operation(f"create_{entity.name}", f"Create a {label}", tag, 201, name,
                           [400, 401, 403, 413, 422], body=f"{name}Input", etag=True),
    })
    spec.path(path=f"/{entity.name}/{{id}}", parameters=[record_id], operations={
        "get": _operation(f"get_{entity.name}", f"Read a {label}", tag, 200, name, [401, 403, 404], etag=True),
        "patch": _operation(f"update_{entity.name}", f"Change a {label}", tag, 200, name,
                            [400, 401, 403, 404, 409, 412, 413, 422, 428], body=f"{name}Update",
                            parameters=[_if_match()], etag=True, description=LOCKING),
        "delete": _operation(f"delete_{entity.name}", f"Move a {label} to the trash", tag, 200, name,
                             [400, 401, 403, 404, 409, 412, 428], parameters=[_if_match(), _version_parameter()],
                             etag=True, description=LOCKING),
    })
    spec.path(path=f"/{entity.name}/{{id}}/restore", parameters=[record_id], operations={
        "post": _operation(f"restore_{entity.name}", f"Bring a {label} back from the trash", tag, 200, name,
                           [401, 403, 404, 409, 422], etag=True),
    })
    spec.path(path=f"/{entity.name}/{{id}}/copy", parameters=[record_id], operations={
        "post": _operation(
            f"copy_{entity.name}", f"Create a {label} copied from another, with its lines", tag, 201, name,
            [400, 401, 403, 404, 413, 422], body=f"{name}Copy", body_required=False, etag=True,
            description="The characteristics the caller may read and set are copied (not unique ones, the "
                        "natural key, read-only ones nor the status: the copy starts its workflow), lines "
                        "included; `values` replace what is copied. The caller needs `create`."),
    })
    spec.path(path=f"/{entity.name}/{{id}}/history", parameters=[record_id], operations={
        "get": _operation(f"history_{entity.name}", f"Every change to a {label}", tag, 200, "AuditLog",
                          [401, 403, 404]),
    })
    historized = [f.name for f in entity.historized_fields]
    if historized:
        field = {"name": "field", "in": "path", "required": True, "schema": {"type": "string", "enum": historized}}
        as_of = {"name": "as_of", "in": "query", "required": False, "allowEmptyValue": True,
                 "description": "The value at this moment (a date means the end of that day).",
                 "schema": {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}}
        spec.path(path=f"/{entity.name}/{{id}}/history/{{field}}", parameters=[record_id, field], operations={
            "get": _operation(f"field_history_{entity.name}", "Validity periods of a historized characteristic",
                              tag, 200, "FieldHistory", [400, 401, 403, 404], parameters=[as_of]),
        })
    if entity.workflow:
        names = [t.name for t in model.workflow(entity.workflow).transitions]
        transition = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}
        spec.path(path=f"/{entity.name}/{{id}}/transitions/{{name}}", parameters=[record_id, transition],
                  operations={"post": _operation(
                      f"transition_{entity.name}", f"Apply a workflow transition to a {label}", tag, 200, name,
                      [400, 401, 403, 404, 409, 412, 413, 422, 428], body=f"{name}Transition", body_required=False,
                      parameters=[_if_match()], etag=True, description=LOCKING)})
    for relation in entity.relations:
        source = model.entity(relation.source_entity)
        spec.path(path=f"/{entity.name}/{{id}}/related/{relation.name}", parameters=[record_id], operations={
            "get": _operation(
                f"related_{entity.name}_{relation.name}", f"{relation.label.en} of a {label}", tag, 200,
                f"{schema_name(source.name)}Page", [400, 401, 403, 404], parameters=_list_parameters(source, model),
                description=f"The {source.plural.en} whose `{relation.source_field}` "
                            f"{'holds' if relation.kind == 'links' else 'is'} the {label}, as `GET /{source.name}` "
                            f"lists them (the same parameters, paging and totals); only those the caller may read. "
                            f"404 when the {label} is not the caller's to read."),
        })
    mass_update = _operation(f"mass_update_{entity.name}", f"Give the same values to many {entity.plural.en}", tag,
                             200, "MassUpdateResult", [400, 401, 403, 413, 422], body=f"{name}MassUpdate")
    mass_update["responses"]["202"] = mass_update_job_response()
    spec.path(path=f"/{entity.name}/mass-update", operations={"post": mass_update})
    spec.path(path=f"/{entity.name}/export", operations=export_operations(entity, _list_parameters(entity, model), formats))


def _document_paths(spec: APISpec, model: Model) -> None:
    names = sorted(model.lists)
    spec.path(path="/lists/{name}", operations={"get": _operation(
        "get_value_list", "A value list with its labels", ["lists"], 200, "ValueList", [401, 404],
        parameters=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}],
    )})
    spec.path(path="/openapi.json", operations={"get": {
        "operationId": "openapi", "summary": "This document", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }})


CURSOR_PATTERN = "^[A-Za-z0-9_-]+={0,2}$"
UNSORTABLE = frozenset({"multi_choice", "rich_text", "text", "links", "lines"})
GROUPABLE = frozenset({"choice", "status", "link", "boolean"})
AFTER = ("Keyset paging: the `next_after` of the previous page, sent with the same `sort`, filters and `size`. "
         "The page starts after the last record of that one, and costs the same however deep it is (`page=` reads "
         "and drops every record before the page). `page` is then only given back. A cursor made for another sort, "
         "or damaged, answers 400.")
TOTAL = ("How the records matching are counted: `exact` (the default), every one; `capped`, at most the server's cap "
         "(10,000 unless configured): past it `total` is the cap and `total_capped` is true; `none`, not at all "
         "(`total` and `pages` are null). Counting every match is most of the cost of a page when many match.")


def _list_parameters(entity: EntityDef, model: Model) -> list[dict[str, Any]]:
    list_views = [v for v in entity.views if v.kind == "list"]
    # the paths through links the list views name: sorted, grouped and filtered on as characteristics
    paths = {text: path for view in list_views for text, path in view.paths.items()}
    sortable = [*SORTABLE_SYSTEM, *(f.name for f in entity.fields if f.type not in UNSORTABLE),
                *(text for text, path in paths.items() if path.field.type not in UNSORTABLE)]
    one = f"-?({'|'.join(re.escape(name) for name in sortable)})"
    groupable = [*(f.name for f in entity.fields if f.type in GROUPABLE),
                 *(text for text, path in paths.items() if path.field.type in GROUPABLE)]
    parameters = [
        _query("view", {"type": "string", "enum": [v.name for v in list_views]}, "A named list view."),
        _query("q", {"type": "string", "pattern": NO_NUL}, "Quick search in the searchable characteristics."),
        _query("sort", {"type": "string", "pattern": f"^{one}(,{one})*$"},
       "Comma-separated characteristics (or paths through links the list views name, such as "
               "`room.site.name`), `-` first for descending."),
        _query("tab", {"type": "string", "enum": list(TABS)}, "Open records, history (closed ones) or all."),
        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page number, from 1."),
        _query("size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, "Records per page."),
        _query("after", {"type": "string", "pattern": CURSOR_PATTERN}, AFTER),
        _query("total", {"type": "string", "enum": list(TOTALS), "default": "exact"}, TOTAL),
    ]
    if groupable:
        parameters.append(_query("group", {"type": "string", "enum": groupable}, "Count records per value."))
    for field in entity.fields:
        parameters.extend(filter_parameters(entity, field, model))
    filtered = dict.fromkeys(name for view in list_views for name in view.filters if name in paths)
    for text in filtered:
        parameters.extend(filter_parameters(entity, paths[text].field, model, name=text))
    return parameters


def _operation(
    operation_id: str, summary: str, tags: list[str], status: int, schema: str, errors: list[int], *,
    parameters: list[dict[str, Any]] | None = None, body: str | None = None, body_required: bool = True,
    etag: bool = False, description: str | None = None,
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "OK", "content": _json(schema)}
    if etag:
        answer["headers"] = {"ETag": {"required": True, "description": "The record's version (`\"3\"`), for "
                                                                       "`If-Match`.",
                                      "schema": {"type": "string", "pattern": r'^"[0-9]+"$'}}}
    operation: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "tags": tags,
        "responses": {str(status): answer, **{str(code): ERROR_RESPONSES[code][0] for code in errors}},
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": body_required, "content": _json(body)}
    return operation


LOCKING = ("Optimistic locking is mandatory: send the version read (the `ETag` of `GET`), as `version` or as "
           "`If-Match`. Without either: 428. A stale `version`: 409; a stale `If-Match`: 412; both carry `current`, "
           "the record as it is now. Sent together, they must name the same version (409 otherwise).")


def _if_match() -> dict[str, Any]:
    return {"name": "If-Match", "in": "header", "required": False,
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            "description": "The ETag read (`\"3\"`), instead of `version`: a stale one answers 412."}


def _version_parameter() -> dict[str, Any]:
    return {"name": "version", "in": "query", "required": False, "allowEmptyValue": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX},
            "description": "The version read (or send `If-Match`): required one way or the other (428 without); "
                           "a stale one answers 409."}
