"""Mandatory optimistic locking: every change names the version of the record it was based on.

A GET of a record answers its version as the `ETag` (`"3"`). A PATCH, DELETE or transition
must send it back, as `version` (in the body; in the query string for a DELETE) or as an
`If-Match` header, else 428. A stale one answers 409 when it came as `version` and 412 when
it came as `If-Match` (a failed HTTP precondition), both with `current`, the record as it is
now. Without this rule two callers reading version 3 would both write, the last one silently
undoing the first one's change.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from flask import request

from engine import ConflictError

from .errors import ApiError, StaleIfMatch, field_error
from .payload import ID_MAX

IF_MATCH = re.compile(r'(W/)?("[0-9]{1,9}"|[0-9]{1,9})')
"""An If-Match naming one version: the ETag as sent (`"3"`), weak (`W/"3"`) or bare (`3`)."""
IF_MATCH_PATTERN = f"^{IF_MATCH.pattern}$"
"""The same, as the OpenAPI document states it."""


@dataclass(frozen=True)
class BasedOn:
    """The version a change is based on, and where the caller said it."""

    version: int
    from_header: bool


def body_version(raw: Any, lang: str, *, name: str = "version") -> int | None:
    """A version from a JSON body: a whole number from 0 to ID_MAX (3.0 is 3, as in JSON Schema)."""
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= ID_MAX:
        return raw
    raise ApiError(400, "bad_version", maximum=ID_MAX,
                   errors=field_error(name, "type", "bad_version", lang, maximum=ID_MAX))


def query_version(raw: str | None, lang: str) -> int | None:
    """A version from the query string (`?version=3`); an empty value is no value."""
    if raw is None or raw == "":
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(ID_MAX)) and int(raw) <= ID_MAX:
        return int(raw)
    raise ApiError(400, "bad_version", maximum=ID_MAX,
                   errors=field_error("version", "query", "bad_version", lang, maximum=ID_MAX))


def if_match_version(lang: str) -> int | None:
    """The version named by `If-Match`; None without one, or for `*` (which names no version)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() in ("", "*"):
        return None
    found = IF_MATCH.fullmatch(raw.strip())
    if found is None:
        raise ApiError(400, "bad_if_match", errors=field_error("If-Match", "header", "bad_if_match", lang))
    return int(found.group(2).strip('"'))


def based_on(version: int | None, lang: str, *, in_query: bool = False) -> BasedOn:
    """The version the change is based on: `version` (already parsed) or If-Match; 428 with neither.

    Both may be sent; they must then agree: when they do not, one of them is stale (409).
    """
    header = if_match_version(lang)
    if version is not None and header is not None and version != header:
        raise ApiError(409, "version_disagree", version=version, if_match=header,
                       errors=field_error("If-Match", "header", "version_disagree", lang, version=version,
                                          if_match=header))
    if header is not None:
        return BasedOn(header, True)
    if version is not None:
        return BasedOn(version, False)
    raise ApiError(428, "version_required_query" if in_query else "version_required")


@contextmanager
def precondition(based: BasedOn) -> Iterator[None]:
    """Run a change; a stale If-Match becomes 412, a stale body `version` stays the engine's 409."""
    try:
        yield
    except ConflictError as error:
        if based.from_header:
            raise StaleIfMatch(error) from None
        raise
