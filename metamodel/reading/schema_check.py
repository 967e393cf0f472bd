"""Check documents against the shipped JSON Schemas and word the errors for people.

The schemas in `metamodel/schemas/` are the ones editors use through the
yaml-language-server modeline. Here each is compiled once per process; before
compiling, local `$ref`s are inlined (the result is the same schema) because
resolving a reference on every characteristic of a large pack is the slowest part
of validation.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from metamodel.errors import MAX_PROBLEMS, Problem
from metamodel.reading.fast_schema import Predicate, Unsupported, compile_predicate
from metamodel.suggestions import did_you_mean
from metamodel.yaml_source import Document, PathKey

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
KINDS = ("entity", "list", "workflow", "view", "role", "pack")

IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]*$"
PATH_PATTERN = "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$"
"""A field name or a path through links (`account.sector`): list columns, filters, groups, `where`."""
_PATH = re.compile(PATH_PATTERN)
_PATTERN_MEANINGS = {
    IDENTIFIER_PATTERN: "is not a valid name (lowercase letters, digits and _, starting with a letter)",
    "^-?[a-z][a-z0-9_]*$": "is not a field name (optionally prefixed with - for descending order)",
    PATH_PATTERN: "is not a field name or a path through links (names joined by dots, such as account.sector)",
    "^-?[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$":
        "is not a field name or a path through links (optionally prefixed with - for descending order)",
    "^([a-z][a-z0-9_]*|\\*)$": "is not an entity name or *",
    "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$": "is not a colour such as #3b82f6",
    "^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]+)?$": "is not a version such as 1.0.0",
}
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_ANNOTATIONS = frozenset({"description", "title"})


def schema_path(kind: str) -> Path:
    return SCHEMA_DIR / f"{kind}.schema.json"


@cache
def raw_schema(kind: str) -> dict[str, Any]:
    """The schema exactly as shipped."""
    with schema_path(kind).open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def _inlined_schema(kind: str) -> dict[str, Any]:
    schema = raw_schema(kind)
    Draft202012Validator.check_schema(schema)
    return _inline_refs(schema, schema.get("$defs", {}))


@cache
def validator(kind: str) -> Draft202012Validator:
    """The compiled validator of one document kind, built once per process."""
    return Draft202012Validator(_inlined_schema(kind))


@cache
def quick_test(kind: str) -> Predicate:
    """A fast yes/no test equivalent to `validator(kind)`; jsonschema alone if it cannot be built."""
    try:
        return compile_predicate(_inlined_schema(kind))
    except Unsupported:
        return lambda data: False


def _inline_refs(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 50:
        raise ValueError("recursive $ref in a shipped schema")
    if isinstance(node, list):
        return [_inline_refs(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = _inline_refs(defs[ref[len("#/$defs/"):]], defs, depth + 1)
        siblings = {k: _inline_refs(v, defs, depth) for k, v in node.items() if k != "$ref"}
        if set(siblings) <= _ANNOTATIONS:
            return {**target, **siblings}
        return {"allOf": [target], **siblings}
    return {k: (v if k == "$defs" else _inline_refs(v, defs, depth)) for k, v in node.items()}


def check_document(document: Document, kind: str) -> list[Problem]:
    """Every schema violation of `document`, worded for a person, in document order."""
    if quick_test(kind)(document.data):
        return []
    problems: dict[tuple[PathKey, str], Problem] = {}
    for error in validator(kind).iter_errors(document.data):
        for path, message, at_key in _describe(error):
            problem = document.problem(path, message, at_key=at_key)
            problems.setdefault((path, message), problem)
        if len(problems) > MAX_PROBLEMS:  # one past: the loader still says that more were left out
            break
    return sorted(problems.values(), key=lambda p: p.line)


def _describe(error: ValidationError) -> Iterator[tuple[PathKey, str, bool]]:
    """Yield `(path, message, at_key)` for one jsonschema error."""
    path: PathKey = tuple(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "required":
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                yield path, f"required property '{name}' is missing", False
    elif kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for name in instance:
            if name not in known:
                yield path + (name,), _unknown_property(name, known), True
    elif "propertyNames" in error.absolute_schema_path:
        yield path + (str(instance),), _scalar_message(error), True
    elif kind == "not":
        yield path, f"'{path[-1]}' cannot be changed by an extends document", True
    elif kind in ("anyOf", "oneOf"):
        yield from _describe_alternatives(error)
    else:
        yield path, _scalar_message(error), False


def _unknown_property(name: str, known: list[str]) -> str:
    return f"unknown property '{name}'{did_you_mean(name, known)}"


def _describe_alternatives(error: ValidationError) -> Iterator[tuple[PathKey, str, bool]]:
    """Explain the alternative whose type fits the value; if none fits, list the types."""
    context = error.context or []
    wrong_type = {e.relative_schema_path[0] for e in context if e.validator == "type" and not e.relative_path}
    fitting = [e for e in context if e.relative_schema_path[0] not in wrong_type]
    if context and not fitting:
        types: list[str] = []
        for e in context:
            types.extend([e.validator_value] if isinstance(e.validator_value, str) else e.validator_value)
        yield tuple(error.absolute_path), f"{_show(error.instance)} is not {_type_phrase(types)}", False
        return
    best = best_match(fitting) if fitting else None
    if best is None:
        yield tuple(error.absolute_path), error.message, False
    else:
        yield from _describe(best)


def _scalar_message(error: ValidationError) -> str:
    kind = error.validator
    value = error.validator_value
    shown = _show(error.instance)
    if kind == "type":
        return f"{shown} is not {_type_phrase([value] if isinstance(value, str) else list(value))}"
    if kind == "enum":
        choices = ", ".join(str(v) for v in value)
        if error.absolute_path and error.absolute_path[-1] == "type":
            return f"{shown} is not one of the types: {choices}"
        return f"{shown} is not one of: {choices}"
    if kind == "pattern":
        if value == IDENTIFIER_PATTERN and isinstance(error.instance, str) and "." in error.instance \
                and _PATH.fullmatch(error.instance):
            return f"{shown} is a path through links: only a characteristic of the entity itself can be named here"
        meaning = _PATTERN_MEANINGS.get(value)
        return f"{shown} {meaning}" if meaning else f"{shown} does not match the pattern {value}"
    if kind == "maxLength":
        return f"{shown} is longer than {value} characters"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"{shown} is shorter than {value} characters"
    if kind == "minimum":
        return f"{shown} is less than the minimum of {value}"
    if kind == "maximum":
        return f"{shown} is greater than the maximum of {value}"
    if kind == "minItems":
        return "must not be empty" if value == 1 else f"needs at least {value} items"
    if kind == "minProperties":
        return "must not be empty"
    return error.message


def _type_phrase(types: list[str]) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:57] + "...")
    return repr(value)
