"""Columns wide enough for the values they must keep.

PostgreSQL enforces VARCHAR lengths and integer sizes. A rule made stricter never shrinks
a column (the values written before stay), so values coming back (a restore) or converted
(a retype) may be longer, or larger, than what today's definition alone would give the
column: the column is widened to fit them. SQLite enforces neither, so nothing changes there.
"""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from metamodel.model import FieldDef

from engine.storage.column_types import INT32, column_type


class Extent:
    """The longest text and the largest integer among values (what a column must hold)."""

    def __init__(self) -> None:
        self.longest = 0
        self.largest = 0

    def add(self, value: Any) -> None:
        if isinstance(value, str):
            self.longest = max(self.longest, len(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            self.largest = max(self.largest, abs(value))

    def add_all(self, values: Iterable[Any]) -> None:
        for value in values:
            self.add(value)


def fitting_type(field: FieldDef, extent: Extent) -> sa.types.TypeEngine:
    """The column type of `field`, widened to hold every value `extent` has seen."""
    wanted = column_type(field)
    if isinstance(wanted, sa.String) and not isinstance(wanted, sa.Text) and wanted.length:
        if extent.longest > wanted.length:
            return sa.String(extent.longest)
    elif isinstance(wanted, sa.Integer) and not isinstance(wanted, sa.BigInteger) and extent.largest > INT32:
        return sa.BigInteger()
    return wanted


def widen_to_fit(conn: sa.Connection, table: str, column: str, field: FieldDef, extent: Extent) -> None:
    """Widen a PostgreSQL column that is narrower than the values about to be written into it."""
    if conn.dialect.name != "postgresql":
        return
    current = next(c["type"] for c in sa.inspect(conn).get_columns(table) if c["name"] == column)
    wanted = fitting_type(field, extent)
    longer = (
        isinstance(wanted, sa.String) and not isinstance(wanted, sa.Text) and isinstance(current, sa.String)
        and current.length is not None and wanted.length is not None and wanted.length > current.length
    )
    larger = isinstance(wanted, sa.BigInteger) and isinstance(current, sa.Integer) and not isinstance(
        current, sa.BigInteger)
    narrower = longer or larger
    if narrower:
        Operations(MigrationContext.configure(conn)).alter_column(table, column, type_=wanted)


def column_extent(conn: sa.Connection, table: str, column: str, field: FieldDef) -> Extent:
    """The extent of the values of a column, measured by the database."""
    extent = Extent()
    source = sa.table(table, sa.column(column))
    if field.type in ("string", "email", "phone", "url", "choice", "status"):
        extent.longest = conn.execute(sa.select(sa.func.max(sa.func.length(source.c[column])))).scalar() or 0
    elif field.type == "integer":
        extent.largest = conn.execute(sa.select(sa.func.max(sa.func.abs(source.c[column])))).scalar() or 0
    return extent
