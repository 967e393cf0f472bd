"""The `after=` cursor of a list: where the next page starts, for keyset paging.

A cursor holds the sort it was made for and the sort-key values of the last row shown
(ended by the record id), as URL-safe base64 of a small JSON document. Reading one back
types every value by its column (never by what the text looks like), and a cursor made for
another sort, or damaged, is refused: it can only ever become bound parameters of
`engine.storage.keyset.after`.

It may also carry the plan its page was read by (`walk`, see engine/records/query_plan.py):
the next page of a list read without a total takes that plan rather than counting again.
The plan decides only how fast the page is read, never which rows it holds.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from metamodel.field_paths import is_path
from metamodel.model import EntityDef, Model

SYSTEM_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime"}
TEXT_KINDS = frozenset({"string", "email", "phone", "url", "choice", "status"})


class CursorError(ValueError):
    """The text is not a cursor of this list's sort."""


@dataclass(frozen=True)
class Cursor:
    values: tuple[Any, ...]
    """The sort-key values of the last row of the page before, ended by its id."""
    walk: bool | None = None
    """The plan that page was read by (walking the sort's index, or not); None when not said."""


def encode_cursor(sort: Sequence[str], values: Sequence[Any], *, walk: bool | None = None) -> str:
    document: dict[str, Any] = {"s": list(sort), "v": [_plain(v) for v in values]}
    if walk is not None:
        document["w"] = int(walk)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(text: str, entity: EntityDef, sort: Sequence[str], names: Sequence[str], *,
                  model: Model | None = None) -> tuple[Any, ...]:
    """The typed key values of cursor `text` for `sort`, whose keys are the columns `names`."""
    return read_cursor(text, entity, sort, names, model=model).values


def read_cursor(text: str, entity: EntityDef, sort: Sequence[str], names: Sequence[str], *,
                model: Model | None = None) -> Cursor:
    """Cursor `text` for `sort` (whose keys are the columns `names`): its typed values and plan.
    A key that is a path through links (`room.site.name`) is typed by the characteristic it
    ends on, which the `model` tells."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError(text) from None
    if not isinstance(document, dict) or document.get("s") != list(sort):
        raise CursorError(text)
    values = document.get("v")
    if not isinstance(values, list) or len(values) != len(names):
        raise CursorError(text)
    walk = document.get("w")
    if walk not in (None, 0, 1) or isinstance(walk, bool):
        raise CursorError(text)
    typed = tuple(_typed(_kind(entity, name, model), value) for name, value in zip(names, values))
    return Cursor(typed, None if walk is None else bool(walk))


def _kind(entity: EntityDef, name: str, model: Model | None) -> str:
    if name in SYSTEM_TYPES:
        return SYSTEM_TYPES[name]
    if model is not None and is_path(name):
        return model.path(entity.name, name).field.type
    return entity.fields_by_name[name].type


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        if kind in TEXT_KINDS and isinstance(value, str):
            return value
        if kind in ("integer", "link") and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
            return value
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "decimal" and isinstance(value, str):
            number = Decimal(value)
            if number.is_finite():
                return number
        if kind == "date" and isinstance(value, str):
            return dt.date.fromisoformat(value)
        if kind == "datetime" and isinstance(value, str):
            return dt.datetime.fromisoformat(value)
    except (InvalidOperation, ValueError):
        pass
    raise CursorError(str(value))
