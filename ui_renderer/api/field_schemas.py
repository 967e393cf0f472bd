"""JSON Schemas of characteristics, as the API reads and writes them (OpenAPI 3.1 dialect).

One function per direction: what a record holds (`output_schema`), what a caller may
send (`input_schema`), and how a list filters on it (`filter_parameters`). Everything
comes from the `FieldDef`: types, bounds, lengths, patterns, formats and list codes.
"""

from __future__ import annotations

from typing import Any

from engine.records.field_rules import PHONE_RE
from engine.records.queries import CONTAINS_TYPES, RANGE_TYPES
from metamodel.field_paths import COLLECTION_TYPES
from metamodel.model import EntityDef, FieldDef, Model

from .openapi_parts import line_schema_name, schema_ref
from .payload import ID_MAX, INT64_MAX, integer_limit

STRING_COLUMN_LENGTH = 255
NO_NUL = "^[^\\u0000]*$"
"""Query text: anything but NUL, which no database stores (payload.query_args refuses it)."""
TEXT_FORMATS = {"email": "email"}
"""JSON Schema formats of text types. A url has no `format: uri`: its rule is the pattern below (an
address with characters beyond ASCII is a valid IRI, not a valid URI)."""
DEFAULT_PRECISION = 18
DEFAULT_SCALE = 2


def codes(field: FieldDef, model: Model, *, active_only: bool) -> list[str]:
    if field.type == "status":
        return [s.code for s in model.workflow(field.workflow).statuses]
    values = model.value_list(field.list).values
    return [v.code for v in values if not (active_only and v.retired)]


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema that also accepts null (3.1: `type` lists "null"; enums list None)."""
    result = dict(schema)
    kind = result.get("type")
    if kind is not None:
        result["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]
    if "enum" in result:
        result["enum"] = [*result["enum"], None]
    if "anyOf" in result:
        result["anyOf"] = [*result["anyOf"], {"type": "null"}]
    return result


def _described(field: FieldDef, schema: dict[str, Any]) -> dict[str, Any]:
    schema = {"title": field.label.en, **schema}
    parts = [field.help.en] if field.help else []
    if field.type in ("date", "datetime") and (field.min is not None or field.max is not None):
        parts.append(f"From {field.min or '-'} to {field.max or '-'}.")
    if field.mandatory_when:
        parts.append(f"Mandatory when: {field.mandatory_when}.")
    if parts:
        schema["description"] = " ".join(parts)
    return schema


def output_schema(field: FieldDef, model: Model) -> dict[str, Any]:
    """A stored value: every characteristic may be empty (null) in a record."""
    t = field.type
    if t in ("string", "email", "phone", "url", "text"):
        schema: dict[str, Any] = {"type": "string"}
        if t in TEXT_FORMATS:
            schema["format"] = TEXT_FORMATS[t]
    elif t == "rich_text":
        schema = {"type": "string", "contentMediaType": "text/html"}
    elif t == "integer":
        schema = {"type": "integer"}
    elif t == "link":
        schema = {"type": "integer", "description": f"Id of a {field.entity} record."}
    elif t == "decimal":
        schema = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "format": "decimal"}
    elif t == "date":
        schema = {"type": "string", "format": "date"}
    elif t == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t in ("choice", "status"):
        schema = {"type": "string", "enum": codes(field, model, active_only=False)}
    elif t == "multi_choice":
        schema = {"type": "array", "items": {"type": "string", "enum": codes(field, model, active_only=False)}}
    elif t == "links":
        return _described(field, {"type": "array", "uniqueItems": True, "items": {"type": "integer", "minimum": 1},
                                  "description": f"Ids of the {field.entity} records linked, ascending."})
    elif t == "lines":
        return _described(field, {"type": "array", "items": schema_ref(line_schema_name(field.entity)),
                                  "description": "The lines, in position order."})
    else:
        schema = {}
    return nullable(_described(field, schema)) if schema else _described(field, schema)


def input_schema(field: FieldDef, model: Model, *, allow_null: bool, creating: bool = False) -> dict[str, Any]:
    """What a caller may send for the characteristic; `allow_null` clears it (not for mandatory ones);
    `creating`: for a new record (its lines are all new: none has an `id`)."""
    t = field.type
    if t in ("string", "email", "phone", "url", "text", "rich_text"):
        schema = _text_input(field)
    elif t == "integer":
        schema = {"type": "integer", "minimum": -INT64_MAX if field.min is None else field.min,
                  "maximum": INT64_MAX if field.max is None else field.max}
    elif t == "link":
        schema = {"type": "integer", "minimum": 1, "maximum": ID_MAX, "description": f"Id of a {field.entity} record."}
    elif t == "decimal":
        schema = _decimal_input(field)
    elif t == "date":
        schema = {"type": "string", "format": "date"}
    elif t == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t == "choice":
        schema = {"type": "string", "enum": codes(field, model, active_only=True)}
    elif t == "status":
        schema = {"type": "string", "enum": [model.workflow(field.workflow).initial.code]}
    elif t == "multi_choice":
        schema = {"type": "array", "uniqueItems": True,
                  "items": {"type": "string", "enum": codes(field, model, active_only=True)}}
    elif t in COLLECTION_TYPES:
        schema = _collection_input(field, creating)
        allow_null = allow_null and "minItems" not in schema  # null is the empty list
    else:
        schema = {}
    schema = _described(field, schema)
    return nullable(schema) if allow_null and ("type" in schema or "anyOf" in schema) else schema


def _collection_input(field: FieldDef, creating: bool) -> dict[str, Any]:
    """A `links` value: the member ids (the whole set: those left out are removed); a `lines` value:
    the lines (those of the record left out are deleted; the list order is their position)."""
    if field.type == "links":
        schema: dict[str, Any] = {
            "type": "array", "uniqueItems": True, "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
            "description": f"Ids of the {field.entity} records linked: the whole set (a member left out is removed).",
        }
    elif creating:
        schema = {"type": "array", "items": schema_ref(line_schema_name(field.entity, "create")),
                  "description": "The lines of the new record, in order."}
    else:
        schema = {"type": "array", "items": schema_ref(line_schema_name(field.entity, "change")),
                  "description": "Every line of the record, in order: a line with the `id` of one of the record's "
                                 "lines changes it, one without is new, a line left out is deleted."}
    schema["maxItems"] = field.max
    low = max(field.min or 0, 1 if field.mandatory else 0)
    if low:
        schema["minItems"] = low
    return schema


def _text_input(field: FieldDef) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if field.type in ("string", "email", "phone", "url"):
        schema["maxLength"] = field.max_length or STRING_COLUMN_LENGTH
    elif field.max_length is not None:
        schema["maxLength"] = field.max_length
    low = field.min_length or 0
    if field.mandatory:
        low = max(low, 1)
    if low:
        schema["minLength"] = low
    if field.type in TEXT_FORMATS:
        schema["format"] = TEXT_FORMATS[field.type]
    if field.type == "url":
        schema["pattern"] = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/$.?#]\S*$"  # field_rules.URL_RE, without its IGNORECASE
    elif field.type == "phone":
        schema["pattern"] = PHONE_RE.pattern
    elif field.pattern:
        schema["pattern"] = f"^(?:{field.pattern})$"
    if field.type == "rich_text":
        schema["contentMediaType"] = "text/html"
    return schema


def _decimal_input(field: FieldDef) -> dict[str, Any]:
    scale = field.scale if field.scale is not None else DEFAULT_SCALE
    digits = (field.precision or DEFAULT_PRECISION) - scale
    fraction = rf"([.,][0-9]{{1,{scale}}})?" if scale else ""
    sign = "" if field.min is not None and field.min >= 0 else "-?"
    number: dict[str, Any] = {"type": "number"}
    text: dict[str, Any] = {"type": "string", "pattern": rf"^{sign}[0-9]{{1,{digits}}}{fraction}$"}
    if field.min is not None:
        number["minimum"] = float(field.min)
    if field.max is not None:
        number["maximum"] = float(field.max)
    limit = float(10**digits - 1)
    number.setdefault("minimum", -limit)
    number.setdefault("maximum", limit)
    return {"anyOf": [number, text],
            "description": f"A number with at most {scale} decimals (or a string such as \"12.50\")."}


def filter_parameters(
    entity: EntityDef, field: FieldDef, model: Model, *, name: str | None = None,
) -> list[dict[str, Any]]:
    """The list query parameters that filter on the characteristic: f_<name>, and f_<name>_min/_max.
    `name`: a path through links ending on `field` (`room.site.name`), filtered on as a characteristic."""
    t = field.type
    label = field.label.en if name is None else f"{field.label.en} (`{name}`)"
    name = name or field.name
    if t in CONTAINS_TYPES:
        return [_query(f"f_{name}", {"type": "string", "pattern": NO_NUL}, f"{label} contains this text.")]
    if t in ("choice", "status", "multi_choice"):
        schema = {"type": "array", "items": {"type": "string", "enum": codes(field, model, active_only=False)}}
        return [_query(f"f_{name}", schema, f"{label} is one of these codes.", explode=True)]
    if t == "link":
        schema = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
        return [_query(f"f_{name}", schema, f"{label} is one of these record ids.", explode=True)]
    if t == "links":
        schema = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
        return [_query(f"f_{name}", schema, f"{label} holds one of these record ids at least.", explode=True)]
    if t == "boolean":
        return [_query(f"f_{name}", {"type": "boolean"}, f"{label} is true or false.")]
    if t not in RANGE_TYPES:
        return []
    value = _range_value(field)
    params = [_query(f"f_{name}", value, f"{label} equals this value.")]
    for bound, word in (("min", "at least"), ("max", "at most")):
        if f"{name}_{bound}" not in entity.fields_by_name:
            params.append(_query(f"f_{name}_{bound}", value, f"{label} is {word} this value."))
    return params


def _range_value(field: FieldDef) -> dict[str, Any]:
    if field.type == "integer":
        limit = integer_limit(field)  # what its column holds: a filter value beyond it cannot be compared
        return {"type": "integer", "minimum": -limit, "maximum": limit}
    if field.type == "decimal":
        scale = field.scale if field.scale is not None else DEFAULT_SCALE
        digits = (field.precision or DEFAULT_PRECISION) - scale
        fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale else ""
        return {"type": "string", "pattern": rf"^-?[0-9]{{1,{digits}}}{fraction}$"}
    return {"type": "string", "format": "date" if field.type == "date" else "date-time"}


def _query(name: str, schema: dict[str, Any], description: str, *, explode: bool = False) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
                                 "schema": schema, "description": description}
    if explode:
        parameter.update(style="form", explode=True)
    return parameter
