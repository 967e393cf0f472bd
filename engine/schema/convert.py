"""Converting a stored value to another characteristic type, losing nothing.

A retype (and a restore from the archive into a characteristic of another type)
converts every value through the NEW type's rules (`FieldRules.coerce`), then converts
it back through the old type's rules: the value converts only if it comes back equal.
So `"12"` becomes `12`, `12` becomes `12.00`, `"low"` becomes `["low"]`; but `"007"`
(it would come back as `"7"`), `12.5` to an integer and a datetime at 10:30 to a date
do not: their conversion would lose something.

The value rules of the new type (bounds, lengths, pattern) are not part of the
conversion: a converted value that breaks one is kept and listed for clean-up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from metamodel.model import TEXT_TYPES

from engine.core.errors import RuleError
from engine.records.field_rules import FieldRules
from engine.storage.trail import to_json


class ConversionError(ValueError):
    """A value does not convert to the new type, or would not come back unchanged."""

    def __init__(self, reason: str, converted: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.converted = converted


def as_type(value: Any, target: str) -> Any:
    """A typed value in the form the `target` type's rules accept as input."""
    if value is None:
        return None
    if target in TEXT_TYPES:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(to_json(value))
    if isinstance(value, bool) and target in ("integer", "decimal", "link"):
        raise ConversionError("type")
    if target in ("integer", "link") and isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ConversionError("type")
        return int(value)
    if target == "date" and isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ConversionError("type")
        return value.date()
    if target in ("choice", "status") and isinstance(value, (list, tuple)):
        if len(value) > 1:
            raise ConversionError("type")
        return value[0] if value else None
    if target == "multi_choice" and isinstance(value, str):
        return [value]
    return value


def convert(value: Any, old_rules: FieldRules, new_rules: FieldRules) -> Any:
    """`value` (typed by the old definition) typed by the new one; ConversionError when it does not
    convert, or would not come back equal through the old type's rules."""
    if value is None:
        return None
    try:
        converted = new_rules.coerce(as_type(value, new_rules.field.type))
    except RuleError as error:
        raise ConversionError(error.rule) from None
    if converted is None:
        raise ConversionError("type")
    try:
        back = old_rules.coerce(as_type(converted, old_rules.field.type))
    except (RuleError, ConversionError):
        raise ConversionError("lossy", converted) from None
    if not _same(back, value):
        raise ConversionError("lossy", converted)
    return converted


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return type(a) is type(b) and a == b or (isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)) and a == b)
