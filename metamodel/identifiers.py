"""Which names authors may give to entities, characteristics and the other definitions.

Characteristic names become column names and the names expressions read, so they must be
safe unquoted in SQL (SQLite and PostgreSQL) and in Python, and must not take a column
the engine adds itself. Entity names only need to avoid Python keywords: the engine
prefixes table names (`ent_user`), so `user` is a fine entity. Codes and the other names
are data and only follow the identifier pattern.
"""

from __future__ import annotations

import keyword
import re

from metamodel.model import SYSTEM_COLUMNS

IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 40
MAX_CODE_LENGTH = 60
MAX_SQL_IDENTIFIER = 63
"""PostgreSQL cuts longer identifiers silently."""
MAX_TABLE_NAME_LENGTH = 55
"""A table name the definitions make (a join table, `event__attendees`): room left for the
engine's prefix (`ent_`) and a short suffix within MAX_SQL_IDENTIFIER. Entity names (40 at
most) always fit."""

SQL_KEYWORDS = frozenset(
    """
    all alter analyse analyze and any array as asc asymmetric authorization between binary both case cast
    check collate column constraint create cross current_catalog current_date current_role current_time
    current_timestamp current_user default deferrable delete desc distinct do drop else end except exists
    false fetch for foreign freeze from full grant group having ilike in index initially inner insert
    intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not
    notnull null offset on only or order outer over overlaps placing primary references returning right
    rowid select session_user similar some symmetric table tablesample then to trailing true union unique
    update user using values variadic verbose when where window with
    """.split()
)
"""SQL keywords that cannot be table or column names unquoted (PostgreSQL reserved words and
the common ones of SQLite), plus `user`, which PostgreSQL resolves to the current role."""

PYTHON_KEYWORDS = frozenset(keyword.kwlist)

RESERVED_FIELD_NAMES = frozenset(SYSTEM_COLUMNS) | {"status"}
"""Columns the engine adds itself: `status` is synthesized for entities with a workflow."""


def reserved_field_reason(name: str) -> str | None:
    """Why `name` cannot name a characteristic, or None when it can."""
    if name in RESERVED_FIELD_NAMES:
        return "is reserved for a system column"
    if name in SQL_KEYWORDS:
        return "is a reserved SQL keyword"
    if name in PYTHON_KEYWORDS:
        return "is a reserved Python keyword"
    return None


def is_identifier(name: object, max_length: int = MAX_NAME_LENGTH) -> bool:
    return isinstance(name, str) and len(name) <= max_length and IDENTIFIER_RE.fullmatch(name) is not None


def join_table_name(entity: str, field_name: str) -> str:
    """The join table of characteristic `field_name` (a `links`) of `entity`: `<entity>__<field>`."""
    return f"{entity}__{field_name}"


def reserved_entity_reason(name: str) -> str | None:
    """Why `name` cannot name an entity, or None when it can."""
    return "is a reserved Python keyword" if name in PYTHON_KEYWORDS else None
