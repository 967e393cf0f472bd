"""Engine values as JSON: decimals as strings (exact), dates ISO, date-times ISO in UTC ("Z")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from engine.records.queries import ListResult


PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
"""Values JSON takes as they are: most of a page's cells, so they skip the checks below."""


def json_value(value: Any) -> Any:
    if type(value) in PLAIN_TYPES:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    return value


def record_json(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in record.items()}


def page_json(result: ListResult) -> dict[str, Any]:
    return {
        "items": [record_json(row) for row in result.rows],
        "total": result.total,
        "page": result.request.page,
        "pages": result.pages,
        "size": result.request.page_size,
        "groups": None if result.groups is None
        else [{"value": json_value(g.value), "count": g.count} for g in result.groups],
    }
