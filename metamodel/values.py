"""Literal values written in definitions (bounds, defaults, fixed filters), typed like their field.

integer -> int, decimal -> Decimal quantized to the field's scale, date -> datetime.date,
datetime -> naive UTC datetime.datetime (an offset is converted, a date means midnight).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from metamodel.model import TEXT_TYPES

DEFAULT_SCALE = 2
DEFAULT_PRECISION = 18
DEFAULT_STRING_LENGTH = 255
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""What an integer column holds on every database (BIGINT; SQLite's INTEGER is 64 bits too)."""
VARCHAR_LIMIT = 10_485_760
"""The longest `max_length` of a type stored as VARCHAR (PostgreSQL refuses a longer one)."""
TEXT_LIMIT = 1_073_741_823
"""The longest value a TEXT column holds (PostgreSQL: 1 GB)."""
UNBOUNDED_TEXT_TYPES = frozenset({"text", "rich_text"})


class BadValue(ValueError):
    """The literal does not fit the field; the message says why."""


def an(word: str) -> str:
    """`an integer`, `a string`: the article for a type name."""
    return f"an {word}" if word[:1] in ("a", "e", "i", "o") else f"a {word}"


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return str(value)


def typed(field_type: str, value: Any, *, scale: int = DEFAULT_SCALE, precision: int = DEFAULT_PRECISION) -> Any:
    """`value` converted for a field of `field_type`, or BadValue."""
    if field_type == "integer":
        return to_integer(value)
    if field_type == "decimal":
        return to_decimal(value, scale, precision)
    if field_type == "date":
        return to_date(value)
    if field_type == "datetime":
        return to_datetime(value)
    if field_type == "boolean":
        if not isinstance(value, bool):
            raise BadValue(f"{show(value)} is not true or false")
        return value
    if field_type in TEXT_TYPES or field_type in ("choice", "status"):
        if not isinstance(value, str):
            raise BadValue(f"{show(value)} is not a string")
        return value
    if field_type == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadValue(f"{show(value)} is not a list of codes")
        return tuple(value)
    raise BadValue(f"a literal value does not apply to {an(field_type)} field")


def length_limit(field_type: str) -> tuple[int, str]:
    """The largest length a text characteristic can have, and the column type that sets it."""
    return (TEXT_LIMIT, "TEXT") if field_type in UNBOUNDED_TEXT_TYPES else (VARCHAR_LIMIT, "VARCHAR")


def to_integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise BadValue(f"{show(value)} is not an integer")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise BadValue(f"{show(value)} is beyond what an integer column holds ({INT64_MIN} to {INT64_MAX}): "
                       f"use a decimal characteristic for larger numbers")
    return number


def to_decimal(value: Any, scale: int, precision: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadValue(f"{show(value)} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise InvalidOperation
        quantized = number.quantize(Decimal(1).scaleb(-scale))
    except (InvalidOperation, ValueError):
        raise BadValue(f"{show(value)} is not a decimal number with {scale} decimal places") from None
    if quantized != number:
        raise BadValue(f"{show(value)} has more than {scale} decimal places")
    if quantized and quantized.adjusted() + 1 > precision - scale:
        raise BadValue(f"{show(value)} has more than {precision - scale} digits before the decimal point")
    return quantized


def to_date(value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadValue(f"{show(value)} is not an ISO date (YYYY-MM-DD)")


def to_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment
    raise BadValue(f"{show(value)} is not an ISO datetime (YYYY-MM-DDTHH:MM:SS)")
