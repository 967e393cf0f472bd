"""Many values checked fast against the JSON Schemas of the OpenAPI document.

A batch carries up to a thousand records. Checking each with jsonschema, as `conformance.py`
checks one record's body, costs about 0.2 ms a record: more than the engine spends on it. The
characteristics' input schemas (`field_schemas.py`) use a small part of JSON Schema (`type`,
`enum`, bounds, lengths, `pattern`, `format`, `anyOf`, `items`, `uniqueItems`, item counts), which compiles
here to plain Python predicates with jsonschema's own meaning: its types (3.0 is an integer, true
is no number) and its format checker.

A predicate answers True only for a value the schema accepts. False means "not sure": the
caller then asks jsonschema itself, which also checks any schema using another keyword.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from jsonschema import Draft202012Validator

Predicate = Callable[[Any], bool]

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
"""The checker `conformance.py` validates with."""
ANNOTATIONS = frozenset({"title", "description", "contentMediaType", "default", "examples", "deprecated",
                         "readOnly", "writeOnly", "$comment"})
"""Keywords that say nothing about validity."""


PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),), "boolean": (bool,), "integer": (int,), "number": (int, float), "string": (str,),
    "array": (list,), "object": (dict,),
}
"""The Python types json.loads gives each JSON type (a float that is whole is an integer too). A value of
any other Python type is one predicates are never sure of."""
JSON_TYPES = frozenset(t for types in PLAIN_TYPES.values() for t in types)
NUMBERS = (int, float)


def compile_schema(schema: Mapping[str, Any]) -> Predicate | None:
    """A predicate True only for values `schema` accepts; None if it uses a keyword not compiled here."""
    if not isinstance(schema, Mapping):
        return None
    checks: list[Predicate] = []
    for keyword, argument in schema.items():
        if keyword in ANNOTATIONS:
            continue
        maker = KEYWORDS.get(keyword)
        check = maker(argument) if maker is not None else None
        if check is None:
            return None
        checks.append(check)
    return _every(checks)


def _every(checks: list[Predicate]) -> Predicate:
    if not checks:
        return lambda value: type(value) in JSON_TYPES
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def all_of(value: Any) -> bool:
        for check in checks:
            if not check(value):
                return False
        return True
    return all_of


def _type(argument: Any) -> Predicate | None:
    kinds = argument if isinstance(argument, list) else [argument]
    if not kinds or not all(kind in PLAIN_TYPES for kind in kinds):
        return None
    allowed = frozenset(t for kind in kinds for t in PLAIN_TYPES[kind])
    whole_floats = "integer" in kinds and "number" not in kinds
    if whole_floats:
        return lambda value: type(value) in allowed or (type(value) is float and value.is_integer())
    return lambda value: type(value) in allowed


def _enum(argument: Any) -> Predicate | None:
    """Enums of text codes (and null): `in` then means what JSON equality means."""
    if not isinstance(argument, list) or not all(item is None or isinstance(item, str) for item in argument):
        return None
    codes, null = frozenset(item for item in argument if item is not None), None in argument
    return lambda value: (type(value) is str and value in codes) or (null and value is None)


def _bound(compare: Callable[[Any, Any], bool]) -> Callable[[Any], Predicate | None]:
    """`minimum`, `maximum`: they judge numbers only (true is no number)."""
    def make(argument: Any) -> Predicate | None:
        if type(argument) not in NUMBERS:
            return None

        def check(value: Any) -> bool:
            kind = type(value)
            if kind is int or kind is float:
                return compare(value, argument)
            return kind in JSON_TYPES
        return check
    return make


def _size(kind: type, compare: Callable[[int, int], bool]) -> Callable[[Any], Predicate | None]:
    """`minLength`, `maxLength` (kind str: they judge text only), `minItems`, `maxItems` (kind list)."""
    def make(argument: Any) -> Predicate | None:
        if type(argument) is not int:
            return None
        return lambda value: compare(len(value), argument) if type(value) is kind else type(value) in JSON_TYPES
    return make


def _pattern(argument: Any) -> Predicate | None:
    try:
        search = re.compile(argument).search
    except (re.error, TypeError):
        return None
    return lambda value: search(value) is not None if type(value) is str else type(value) in JSON_TYPES


def _format(argument: Any) -> Predicate | None:
    if not isinstance(argument, str):
        return None
    conforms = FORMAT_CHECKER.conforms
    return lambda value: conforms(value, argument)


def _any_of(argument: Any) -> Predicate | None:
    if not isinstance(argument, list) or not argument:
        return None
    parts = [compile_schema(part) for part in argument]
    if None in parts:
        return None
    return lambda value: any(part(value) for part in parts)  # type: ignore[misc]


def _items(argument: Any) -> Predicate | None:
    each = compile_schema(argument)
    if each is None:
        return None
    return lambda value: all(each(item) for item in value) if type(value) is list else type(value) in JSON_TYPES


def _unique_items(argument: Any) -> Predicate | None:
    """Lists of text or of whole numbers only (other items: not sure); `uniqueItems: false` accepts
    everything."""
    if argument is False:
        return lambda value: type(value) in JSON_TYPES
    if argument is not True:
        return None

    def unique(value: Any) -> bool:
        if type(value) is not list:
            return type(value) in JSON_TYPES
        kinds = {type(item) for item in value}
        return (kinds <= {str} or kinds <= {int}) and len(set(value)) == len(value)
    return unique


KEYWORDS: dict[str, Callable[[Any], Predicate | None]] = {
    "type": _type,
    "enum": _enum,
    "minimum": _bound(lambda value, low: value >= low),
    "maximum": _bound(lambda value, high: value <= high),
    "minLength": _size(str, lambda length, low: length >= low),
    "maxLength": _size(str, lambda length, high: length <= high),
    "pattern": _pattern,
    "format": _format,
    "anyOf": _any_of,
    "items": _items,
    "uniqueItems": _unique_items,
    "minItems": _size(list, lambda count, low: count >= low),
    "maxItems": _size(list, lambda count, high: count <= high),
}


class PropertyChecks:
    """Each property of an object schema: its predicate (or None) and a jsonschema validator for
    the values the predicate is not sure of."""

    def __init__(self, schema: Mapping[str, Any], components: Mapping[str, Any]):
        self.properties: Mapping[str, Any] = schema.get("properties", {})
        self.predicates = {name: compile_schema(part) for name, part in self.properties.items()}
        self._components = components
        self._validators: dict[str, Draft202012Validator] = {}

    def accepts(self, name: str, value: Any) -> bool:
        """Whether the schema of property `name` accepts `value` (True for a property it does not name)."""
        predicate = self.predicates.get(name)
        if predicate is not None and predicate(value):
            return True
        part = self.properties.get(name)
        if part is None:
            return True
        validator = self._validators.get(name)
        if validator is None:
            validator = self._validators[name] = Draft202012Validator(
                {**part, "components": self._components}, format_checker=FORMAT_CHECKER
            )
        return validator.is_valid(value)


_checks: dict[int, tuple[Mapping[str, Any], PropertyChecks]] = {}
CHECKS_KEPT = 256


def property_checks(schema: Mapping[str, Any], components: Mapping[str, Any]) -> PropertyChecks:
    """The checks of an object schema of a (cached, shared) document, built once per schema."""
    key = id(schema)
    found = _checks.get(key)
    if found is None or found[0] is not schema:
        if len(_checks) >= CHECKS_KEPT:
            _checks.clear()  # schemas of replaced definitions
        found = _checks[key] = (schema, PropertyChecks(schema, components))
    return found[1]
