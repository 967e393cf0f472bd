"""Requests checked against the API's own OpenAPI document before any work is done.

The document (`openapi.py`) is generated from the definitions and is what clients read;
checking requests against it keeps the two from drifting: what it calls invalid is
refused, each bad parameter or value naming itself.

- Query parameters: each value, read with its documented type, must fit its schema. An
  empty value (`?sort=`) means the parameter was not given (`allowEmptyValue`). A
  parameter the list query also judges (`sort`, `f_<name>`...) keeps the engine's
  words when the engine refuses it too.
- JSON bodies: the envelope (`version`, `ids`, `filter`, `format`, `take`...) must fit its
  schema (400). A characteristic's value must have the documented JSON type: `"3"` is
  not an integer, `"x"` not a list of codes, `""` not a date (send null to clear). When
  the engine's own rules refuse the value too, they answer (422 with their rule and
  words: `max`, `mandatory`, `unknown`...); this module only answers what the engine
  would otherwise have let through.
"""

from __future__ import annotations

import re
import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from flask import current_app, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine import EngineError
from engine.core.errors import RuleError
from engine.records.queries import QueryError

from .errors import ApiError
from .openapi import engine_document
from .openapi_parts import line_schema_name, schema_name
from .payload import json_body, number_errors
from .schema_words import describe, expected, word

API_PREFIX = "/api/v1"
RECORD_BODIES = ("create_", "update_")
"""Operations whose body is a record (its own properties are characteristics)."""
LIST_PARAMETERS = frozenset({"view", "q", "sort", "tab", "group", "after"})
"""List parameters whose refusal the engine words best (for `page` and `size`, the bounds say more)."""
WHOLE = re.compile(r"-?[0-9]{1,19}")
VALIDATORS_KEPT = 4096
VALID_KEPT = 64
REMEMBERED_LENGTH = 64
"""Query values found valid are remembered per schema, VALID_KEPT at most and only short ones: a
list is asked for the same few codes, sorts and sizes again and again."""


@dataclass
class _Checker:
    schema: Mapping[str, Any]
    validator: Draft202012Validator
    valid: set[tuple[Any, ...]] = dataclasses.field(default_factory=set)


@dataclass(frozen=True)
class Documented:
    """A documented operation, its parameters, and its query parameters by name (with their rank)."""

    operation: dict[str, Any]
    parameters: list[dict[str, Any]]
    query: Mapping[str, tuple[int, Mapping[str, Any]]]


_validators: dict[int, _Checker] = {}
_operations: dict[int, tuple[Any, dict[tuple[str, str, str, str], Documented]]] = {}
"""id(document) -> (the document, (route, entity, relation, method) -> what it documents there)."""


def _checker(schema: Mapping[str, Any], components: Mapping[str, Any] | None = None) -> _Checker:
    """One validator per schema object of the (cached) document; `$ref`s resolve in its components."""
    key = id(schema)
    found = _validators.get(key)
    if found is None or found.schema is not schema:
        if len(_validators) >= VALIDATORS_KEPT:
            _validators.clear()  # documents of replaced definitions
        root = {**schema, "components": components} if components is not None else schema
        found = _Checker(schema, Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER))
        _validators[key] = found
    return found


def _validator(schema: Mapping[str, Any], components: Mapping[str, Any] | None = None) -> Draft202012Validator:
    return _checker(schema, components).validator


def _engine() -> Any:
    return current_app.extensions["ossature"]


def current_operation() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The documented operation the request is routed to, and its parameters (None if undocumented)."""
    found = _documented()
    return None if found is None else (found.operation, found.parameters)


def _documented() -> Documented | None:
    """What the document says of the request's operation: looked up once per route, entity and
    method of a document (only operations it has are kept, so unknown names add nothing)."""
    rule = request.url_rule
    if rule is None:
        return None
    args = request.view_args or {}
    document = engine_document(_engine())
    known = _operations.get(id(document))
    if known is None or known[0] is not document:
        _operations.clear()  # a document of replaced definitions
        known = _operations[id(document)] = (document, {})
    key = (rule.rule, str(args.get("entity", "")), str(args.get("relation", "")), request.method)
    found = known[1].get(key)
    if found is not None:
        return found

    def segment(matched: re.Match[str]) -> str:
        name = matched.group(1)
        if name in ("entity", "relation"):
            return str(args.get(name, ""))
        return "{id}" if name in ("record_id", "job_id") else "{" + name + "}"

    path = re.sub(r"<(?:\w+:)?(\w+)>", segment, rule.rule.removeprefix(API_PREFIX))
    item = document["paths"].get(path)
    if item is None or request.method.lower() not in item:
        return None
    operation = item[request.method.lower()]
    parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
    query = {p["name"]: (rank, p.get("schema", {})) for rank, p in enumerate(parameters) if p.get("in") == "query"}
    found = known[1][key] = Documented(operation, parameters, query)
    return found


def documented_methods(path: str) -> list[str] | None:
    """The methods the document gives the address `path` (under the API prefix), HEAD and OPTIONS
    included; None when it documents no such address. Flask's own list may unite the methods of
    two routes matching the same address (`/jobs/3` and `/<entity>/<id>`)."""
    relative = path.removeprefix(API_PREFIX)
    for template, item in engine_document(_engine())["paths"].items():
        pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: "[0-9]+" if m.group(1) == "id" else "[^/]+", re.escape(template))
        if re.fullmatch(pattern, relative):
            methods = {m.upper() for m in item if m != "parameters"}
            if "GET" in methods:
                methods.add("HEAD")
            return sorted(methods | {"OPTIONS"})
    return None


# -- query parameters ----------------------------------------------------------------------------


def check_query(lang: str) -> None:
    """400 naming every query parameter whose value the document refuses (in the document's order)."""
    found = _documented()
    if found is None:
        return
    args = request.args
    given = sorted((found.query[name] + (name,) for name in args if name in found.query), key=lambda item: item[0])
    errors: dict[str, list[dict[str, str]]] = {}
    for _, schema, name in given:
        values = [v for v in args.getlist(name) if v != ""]
        if not values:
            continue
        message = _query_problem(name, schema, values, lang)
        if message is not None:
            errors[name] = [{"rule": "query", "message": message}]
    if errors:
        raise ApiError(400, "bad_query", parameter=next(iter(errors)), errors=errors)


def _query_problem(name: str, schema: Mapping[str, Any], values: list[str], lang: str) -> str | None:
    if schema.get("type") != "array" and len(values) > 1:
        return word("expected", lang, what=word("once", lang, what=describe(schema, lang)))
    checker = _checker(schema)
    remembered = tuple(values) if sum(map(len, values)) <= REMEMBERED_LENGTH else None
    if remembered is not None and remembered in checker.valid:
        return None
    if schema.get("type") == "array":
        instance: Any = [_typed(v, schema.get("items", {})) for v in values]
    else:
        instance = _typed(values[0], schema)
    if checker.validator.is_valid(instance):
        if remembered is not None:
            if len(checker.valid) >= VALID_KEPT:
                checker.valid.clear()
            checker.valid.add(remembered)
        return None
    return _list_refusal(name, values, lang) or expected(schema, lang)


def _typed(raw: str, schema: Mapping[str, Any]) -> Any:
    """A query-string value read as its schema's type (what a client serialized)."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds and WHOLE.fullmatch(raw):
        return int(raw)
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    return raw


def _listed_entity() -> str | None:
    """The entity whose records the request lists: the relation's source for related records."""
    args = request.view_args or {}
    entity, relation = args.get("entity"), args.get("relation")
    if entity is None or relation is None:
        return entity
    definition = _engine().model.entities.get(entity)
    found = next((r for r in definition.relations if r.name == relation), None) if definition else None
    return found.source_entity if found is not None else None


def _list_refusal(name: str, values: list[str], lang: str) -> str | None:
    """The engine's words for a list parameter it refuses too (`cannot sort by description`)."""
    entity = _listed_entity()
    if entity is None or not (name in LIST_PARAMETERS or name.startswith("f_")):
        return None
    try:
        _engine().records.list_request(entity, {name: values})
    except QueryError as error:
        return error.message(lang)
    except (EngineError, ArithmeticError, ValueError):
        return None
    return None


# -- bodies ----------------------------------------------------------------------------------------


def request_body(lang: str) -> dict[str, Any]:
    """The JSON body (`payload.json_body`), checked against the operation's documented schema."""
    body = json_body(lang)
    found = current_operation()
    if found is None:
        return body
    operation = found[0]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return body
    if operation["requestBody"].get("required") and not request.get_data(cache=True).strip():
        raise ApiError(400, "bad_body", errors={"body": [{"rule": "required", "message": word("body", lang)}]})
    document = engine_document(_engine())
    validator = _validator(content["schema"], document["components"])
    record_body = str(operation.get("operationId", "")).startswith(RECORD_BODIES)
    entity = (request.view_args or {}).get("entity")
    envelope: dict[str, list[dict[str, str]]] = {}
    fields: dict[str, list[dict[str, str]]] = {}
    collections: set[str] = set()
    for error in validator.iter_errors(body):
        path = list(error.absolute_path)
        field = _field_at(path, record_body, entity)
        if field is not None:
            values = body if record_body else body.get("values", {})
            if _engine().model.entity(entity).field(field).is_collection:
                collections.add(field)
                continue
            message = _value_problem(entity, field, values.get(field), lang)
            if message is not None:
                fields.setdefault(field, [{"rule": "type", "message": message}])
        elif not _engine_judges(path, error, record_body):
            envelope.setdefault(_envelope_name(path, error), [{"rule": "schema", "message": _envelope_problem(error, lang)}])
    for field in sorted(collections):
        fields.update(value_problems(entity, field, (body if record_body else body.get("values", {})).get(field), lang))
    if envelope:
        raise ApiError(400, "bad_body", errors={**envelope, **fields})
    if fields:
        values = body if record_body else body.get("values")
        numbers = number_errors(_engine().model.entity(entity), values, lang) if entity else {}
        raise ApiError(422, "invalid", errors={**numbers, **fields})
    return body


def _field_at(path: list[Any], record_body: bool, entity: str | None) -> str | None:
    """The characteristic an error is about, if it is about one."""
    if entity is None or entity not in _engine().model.entities:
        return None
    names = _engine().model.entity(entity).fields_by_name
    if record_body and path and path[0] in names:
        return path[0]
    if not record_body and len(path) >= 2 and path[0] == "values" and path[1] in names:
        return path[1]
    return None


def _engine_judges(path: list[Any], error: ValidationError, record_body: bool) -> bool:
    """Missing or unknown characteristics: the engine says so in its own words (mandatory, unknown)."""
    if error.validator not in ("required", "additionalProperties"):
        return False
    return (record_body and not path) or path == ["values"]


def value_problems(entity: str, field: str, value: Any, lang: str) -> dict[str, list[dict[str, str]]]:
    """What to say, by where it is, about a value of characteristic `field` that the document
    refuses ({} when the engine will say it). A collection's problems are keyed as the engine keys
    its own: `attendees`, `meals.2.quantity` (line index from 0)."""
    if _engine().model.entity(entity).field(field).is_collection:
        return _collection_problems(entity, field, value, lang)
    message = _value_problem(entity, field, value, lang)
    return {} if message is None else {field: [{"rule": "type", "message": message}]}


def _collection_problems(entity: str, field: str, value: Any, lang: str) -> dict[str, list[dict[str, str]]]:
    """A `links` or `lines` value the document refuses: when the engine refuses it too (its shape,
    its count, a line's values or keys), the engine answers; else each place the document refuses
    (a repeated member, `"3"` for a line's whole number...), by where it is."""
    if value is None:
        return {}  # no members, no lines: the engine says whether that may be
    definition = _engine().model.entity(entity).field(field)
    refused: dict[str, Any] = {}
    loaded = _engine().records.collections(entity).load({field: value}, frozenset(), refused)
    if refused or any(line.errors for line in loaded.get(field) or () if definition.type == "lines"):
        return {}
    document = engine_document(_engine())
    schema = document["components"]["schemas"][f"{schema_name(entity)}Values"]["properties"][field]
    found: dict[str, list[dict[str, str]]] = {}
    for error in _validator(schema, document["components"]).iter_errors(value):
        path = list(error.absolute_path)
        if _missing(error):
            continue  # a new line without a mandatory value: the engine names it (`meals.2.dish`)
        if definition.type == "lines" and len(path) >= 2:
            key = f"{field}.{path[0]}.{path[1]}"
            owned = definition.entity
            given = value[path[0]][path[1]]
            if path[1] in _engine().model.entity(owned).fields_by_name:
                message = _value_problem(owned, path[1], given, lang, line_schema_name(owned, "change"))
            else:
                message = expected(error.schema, lang)
        else:
            key = field
            unique = error.validator == "uniqueItems"
            message = word("expected", lang, what=word("unique", lang)) if unique else expected(error.schema, lang)
        if message is not None:
            found.setdefault(key, [{"rule": "type", "message": message}])
    return found


def _missing(error: ValidationError) -> bool:
    """A required property missing (or none of the sets of properties a line may be given with)."""
    if error.validator == "required":
        return True
    return error.validator == "anyOf" and all(set(part) == {"required"} for part in error.validator_value)


def _value_problem(entity: str, field: str, value: Any, lang: str, component: str | None = None) -> str | None:
    """What to say about a value the document refuses; None when the engine will say it.
    `component`: the schema whose properties describe the value (the entity's `<Name>Values`)."""
    if value is None:
        return None
    definition = _engine().model.entity(entity).field(field)
    if value == "":
        # an empty mandatory value is the engine's `mandatory`, unless a default would fill it in silently
        filled = definition.default is not None or bool(definition.default_expr)
        return None if definition.mandatory and not filled else word("empty", lang)
    rules = _engine().records.validator(entity).rules[field]
    try:
        rules.load(value)
    except RuleError:
        return None  # the engine refuses it too, with its rule and its words
    except (EngineError, ArithmeticError, ValueError, TypeError):
        return None
    document = engine_document(_engine())
    component = component or f"{schema_name(entity)}Values"
    schema = document["components"]["schemas"].get(component, {}).get("properties", {}).get(field, {})
    return expected(schema, lang)


def _envelope_name(path: list[Any], error: ValidationError) -> str:
    """The part of the body at fault: its top-level property, the missing one, or `body`."""
    if path:
        return str(path[0])
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return str(missing[0])
    return "body"


def _envelope_problem(error: ValidationError, lang: str) -> str:
    instance, schema = error.instance, error.schema
    if error.validator == "required" and isinstance(instance, dict):
        missing = [name for name in error.validator_value if name not in instance]
        return word("required", lang, name=", ".join(missing))
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        return word("unknown", lang, name=", ".join(sorted(str(k) for k in instance if k not in known)))
    if error.validator == "oneOf" and all(set(part) == {"required"} for part in error.validator_value):
        names = [name for part in error.validator_value for name in part["required"]]
        return word("expected", lang, what=word("one_of", lang, values=", ".join(names)))
    return expected(schema, lang)
