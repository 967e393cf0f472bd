"""JSON built by the database, for the audit and history rows of set-based updates.

A mass update copies each record's old value into its audit and history rows with one
INSERT ... SELECT per chunk, so the JSON must be written in SQL. The result matches
what `trail.to_json` writes from Python (decimals as strings, dates as ISO text), so
both paths read back the same way.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from metamodel.model import FieldDef

from .trail import to_json


def json_of(field: FieldDef, column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """The column's value as a JSON value (JSON text carrying SQLite's JSON subtype; `json` on PostgreSQL)."""
    if dialect == "postgresql":
        if field.type == "decimal":
            return sa.func.to_json(sa.cast(column, sa.Text))
        if field.type == "multi_choice":
            return sa.cast(column, postgresql.JSON)
        return sa.func.to_json(column)
    if field.type == "boolean":
        flag = sa.func.json(sa.case((column, "true"), else_="false"))
        return sa.case((column.is_(None), sa.null()), else_=flag)
    if field.type == "decimal":
        return _decimal_text(field, column)
    if field.type == "multi_choice":
        return sa.func.json(column)
    return sa.func.json_quote(column)


def _decimal_text(field: FieldDef, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """SQLite keeps decimals as integers of the smallest unit (coltypes.ExactDecimal); they are
    written as JSON text with integer arithmetic, exact for every precision (a float is not)."""
    scale = field.scale if field.scale is not None else 2
    units = sa.type_coerce(column, sa.BigInteger)
    digits = sa.cast(sa.func.abs(units) // (10**scale), sa.Text)
    if scale:
        fraction = sa.func.substr(
            sa.literal("0" * scale, sa.Text) + sa.cast(sa.func.abs(units) % (10**scale), sa.Text), -scale
        )
        digits = digits + sa.literal(".", sa.Text) + fraction
    sign = sa.case((units < 0, sa.literal("-", sa.Text)), else_=sa.literal("", sa.Text))
    return sa.case((column.is_(None), sa.null()), else_=sa.func.json_quote(sign + digits))


def json_literal(value: Any, dialect: str) -> sa.ColumnElement[Any]:
    """A Python value as a bound JSON value."""
    text = sa.bindparam(None, json.dumps(to_json(value)), type_=sa.Text, unique=True)
    if dialect == "postgresql":
        return sa.cast(text, postgresql.JSON)
    return sa.func.json(text)


def json_changes(
    pairs: list[tuple[str, sa.ColumnElement[Any], sa.ColumnElement[Any], sa.ColumnElement[bool]]], dialect: str
) -> sa.ColumnElement[Any]:
    """`{field: [old, new], ...}` for an audit row, with only the fields whose `changed` holds.

    Unchanged fields get a null value, then are dropped: `json_strip_nulls` on PostgreSQL,
    a JSON merge patch onto `{}` on SQLite (a null in a merge patch removes its key).
    """
    postgres = dialect == "postgresql"
    build_object, build_array = (
        (sa.func.json_build_object, sa.func.json_build_array) if postgres else (sa.func.json_object, sa.func.json_array)
    )
    arguments: list[Any] = []
    for name, old, new, changed in pairs:
        arguments.extend([sa.literal(name, sa.Text), sa.case((changed, build_array(old, new)), else_=sa.null())])
    if postgres:
        return sa.func.json_strip_nulls(build_object(*arguments))
    return sa.func.json_patch("{}", build_object(*arguments))
