"""Text every database can store: PostgreSQL refuses NUL (U+0000) in text and JSON, and no
database stores a lone surrogate (U+D800 to U+DFFF, which UTF-8 cannot encode).

Jobs keep what users wrote (headers, cells, options) in their messages, so what comes
from a file is checked here before it reaches a row: `first_unstorable` finds the character
to refuse, `describe_character` names it in a message, `printable` shows a text that holds
one (escaped, so the message itself stays storable) and `storable` is the last safety net
of `Jobs` before it writes a message or a column name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and the surrogates: the characters a text column cannot hold on every database."""


def first_unstorable(text: str) -> str | None:
    """The first character of `text` no database can store, or None (the common case: fast)."""
    if "\x00" in text:
        return "\x00"
    if text.isascii():
        return None
    found = UNSTORABLE.search(text)
    return found.group() if found else None


def unstorable_in(value: Any) -> str | None:
    """`first_unstorable` of a value read from a file: a string, or a list of strings (other types pass)."""
    if isinstance(value, str):
        return first_unstorable(value)
    if isinstance(value, (list, tuple)):
        for item in value:
            found = unstorable_in(item)
            if found is not None:
                return found
    return None


def describe_character(char: str) -> str:
    """`U+0000 (NUL)`: the same in every language."""
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"{code} (NUL)"
    name = unicodedata.name(char, "")
    return f"{code} ({name})" if name else code


def printable(text: str) -> str:
    """`text` with the characters no database stores written as escapes (`\\u0000`), to show it."""
    if first_unstorable(text) is None:
        return text
    return UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def storable(text: str | None, max_length: int | None = None) -> str | None:
    """`printable(text)`, cut to `max_length` characters: what a job may write into its tables."""
    if text is None:
        return None
    text = printable(text)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "…"
    return text
