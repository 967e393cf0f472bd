"""Engine values as JSON: decimals as strings (exact), dates ISO, date-times ISO in UTC ("Z")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from flask import Response, current_app

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
    """A page of a list as `json_value` gives every value (`page_response` writes the same text faster)."""
    return {**_page(result, [record_json(row) for row in result.rows]),
            "groups": _groups(result, json_value)}


def page_response(result: ListResult) -> Response:
    """The JSON answer of a page: the text `jsonify(page_json(result))` gives, written without
    copying the rows first. The encoder takes the plain values (most cells) itself, in C, and
    calls `_encoded` only for the others (decimals, dates...)."""
    page = {**_page(result, result.rows), "groups": _groups(result, lambda value: value)}
    provider = current_app.json
    compact = getattr(provider, "compact", None)
    pretty = compact is False or (compact is None and current_app.debug)  # as jsonify lays it out
    layout: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    text = provider.dumps(page, default=_encoded, **layout)
    return current_app.response_class(f"{text}\n", mimetype="application/json")


def _page(result: ListResult, items: list[Any]) -> dict[str, Any]:
    return {"items": items, "total": result.total, "total_capped": result.total_capped, "page": result.request.page,
            "pages": result.pages, "size": result.request.page_size, "next_after": result.next_after}


def _groups(result: ListResult, value: Any) -> list[dict[str, Any]] | None:
    if result.groups is None:
        return None
    return [{"value": value(g.value), "count": g.count} for g in result.groups]


def _encoded(value: Any) -> Any:
    """`json.dumps`' `default`: a value it does not know, as `json_value` writes it (else as jsonify would)."""
    converted = json_value(value)
    if converted is value:
        return current_app.json.default(value)  # type: ignore[attr-defined]
    return converted
