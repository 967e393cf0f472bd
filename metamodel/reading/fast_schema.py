"""A yes/no validity test compiled from a JSON Schema into Python closures.

jsonschema explains errors well but spends most of a large pack's load time descending
into valid documents. Almost every document is valid, so the loader asks this compiled
test first and runs jsonschema only on documents it rejects: jsonschema stays the one
that decides what is wrong and how to say it.

Only the keywords the shipped schemas use are compiled; any other keyword makes
`compile_predicate` raise `Unsupported`, and the caller then always uses jsonschema.
The semantics follow draft 2020-12 as jsonschema implements them (booleans are not
numbers, 1.0 is an integer, `pattern` searches, keywords ignore other types).
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Callable

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly"})


class Unsupported(ValueError):
    """The schema uses a keyword this compiler does not handle."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


_TYPE_TESTS: dict[str, Predicate] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def compile_predicate(schema: Any) -> Predicate:
    """`schema` (with every `$ref` already inlined) as a function: instance -> valid?"""
    if schema is True:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict):
        raise Unsupported(f"not a schema: {schema!r}")
    checks: list[Predicate] = []
    for keyword, argument in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("then", "else", "additionalProperties"):
            continue
        builder = _BUILDERS.get(keyword)
        if builder is None:
            raise Unsupported(f"keyword {keyword!r}")
        checks.append(builder(argument, schema))
    if "additionalProperties" in schema:
        checks.append(_additional_properties(schema))
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    return _all(checks)


def _all(checks: list[Predicate]) -> Predicate:
    def check(value: Any) -> bool:
        for test in checks:
            if not test(value):
                return False
        return True

    return check


def _type(argument: Any, schema: dict[str, Any]) -> Predicate:
    names = [argument] if isinstance(argument, str) else list(argument)
    tests = [_TYPE_TESTS[name] for name in names]
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _enum(argument: Any, schema: dict[str, Any]) -> Predicate:
    if all(isinstance(v, str) for v in argument):
        allowed = frozenset(argument)
        return lambda value: isinstance(value, str) and value in allowed
    return lambda value: any(_equal(value, v) for v in argument)


def _const(argument: Any, schema: dict[str, Any]) -> Predicate:
    return lambda value: _equal(value, argument)


def _properties(argument: dict[str, Any], schema: dict[str, Any]) -> Predicate:
    compiled = [(name, compile_predicate(sub)) for name, sub in argument.items()]

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, test in compiled:
            if name in value and not test(value[name]):
                return False
        return True

    return check


def _additional_properties(schema: dict[str, Any]) -> Predicate:
    known = frozenset(schema.get("properties", ()))
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    extra = schema["additionalProperties"]
    if extra is False:
        return lambda value: not isinstance(value, dict) or known.issuperset(value)
    test = compile_predicate(extra)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            if key not in known and not test(item):
                return False
        return True

    return check


def _required(argument: list[str], schema: dict[str, Any]) -> Predicate:
    names = frozenset(argument)
    return lambda value: not isinstance(value, dict) or names.issubset(value)


def _property_names(argument: Any, schema: dict[str, Any]) -> Predicate:
    test = compile_predicate(argument)

    def check(value: Any) -> bool:
        if isinstance(value, dict):
            for key in value:
                if not test(key):
                    return False
        return True

    return check


def _pattern(argument: str, schema: dict[str, Any]) -> Predicate:
    search = re.compile(argument).search
    return lambda value: not isinstance(value, str) or search(value) is not None


def _max_length(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, str) or len(value) <= argument


def _min_length(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, str) or len(value) >= argument


def _minimum(argument: Any, schema: dict[str, Any]) -> Predicate:
    return lambda value: not _is_number(value) or value >= argument


def _maximum(argument: Any, schema: dict[str, Any]) -> Predicate:
    return lambda value: not _is_number(value) or value <= argument


def _items(argument: Any, schema: dict[str, Any]) -> Predicate:
    if "prefixItems" in schema:
        raise Unsupported("prefixItems")
    test = compile_predicate(argument)

    def check(value: Any) -> bool:
        if isinstance(value, list):
            for item in value:
                if not test(item):
                    return False
        return True

    return check


def _min_items(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, list) or len(value) >= argument


def _max_items(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, list) or len(value) <= argument


def _min_properties(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, dict) or len(value) >= argument


def _max_properties(argument: int, schema: dict[str, Any]) -> Predicate:
    return lambda value: not isinstance(value, dict) or len(value) <= argument


def _if(argument: Any, schema: dict[str, Any]) -> Predicate:
    condition = compile_predicate(argument)
    then = compile_predicate(schema.get("then", True))
    otherwise = compile_predicate(schema.get("else", True))
    return lambda value: then(value) if condition(value) else otherwise(value)


def _all_of(argument: list[Any], schema: dict[str, Any]) -> Predicate:
    return _all([compile_predicate(sub) for sub in argument])


def _any_of(argument: list[Any], schema: dict[str, Any]) -> Predicate:
    tests = [compile_predicate(sub) for sub in argument]
    return lambda value: any(test(value) for test in tests)


def _one_of(argument: list[Any], schema: dict[str, Any]) -> Predicate:
    tests = [compile_predicate(sub) for sub in argument]
    return lambda value: sum(1 for test in tests if test(value)) == 1


def _not(argument: Any, schema: dict[str, Any]) -> Predicate:
    test = compile_predicate(argument)
    return lambda value: not test(value)


_BUILDERS: dict[str, Callable[[Any, dict[str, Any]], Predicate]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "propertyNames": _property_names,
    "pattern": _pattern,
    "maxLength": _max_length,
    "minLength": _min_length,
    "minimum": _minimum,
    "maximum": _maximum,
    "items": _items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minProperties": _min_properties,
    "maxProperties": _max_properties,
    "if": _if,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
}
