"""SQL column types for characteristic types."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from metamodel.model import FieldDef

INT32 = 2**31 - 1


class ExactDecimal(TypeDecorator):
    """Exact decimals on every database.

    PostgreSQL stores NUMERIC. SQLite has no exact decimal type (it would store a
    float), so there the value is kept as an integer count of the smallest unit
    (`12.34` with scale 2 is stored as `1234`): exact, and ordering and range
    comparisons still work in SQL because the bound parameters are scaled too.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2):
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale).to_integral_value())
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))


def column_type(f: FieldDef) -> sa.types.TypeEngine:
    """The SQL type that stores values of characteristic `f`."""
    t = f.type
    if t in ("string", "email", "phone", "url"):
        return sa.String(f.max_length or 255)
    if t in ("text", "rich_text"):
        return sa.Text()
    if t == "integer":
        bounds = [abs(b) for b in (f.min, f.max) if b is not None]
        return sa.Integer() if len(bounds) == 2 and max(bounds) <= INT32 else sa.BigInteger()
    if t == "decimal":
        return ExactDecimal(f.precision or 18, f.scale if f.scale is not None else 2)
    if t == "date":
        return sa.Date()
    if t == "datetime":
        return sa.DateTime()
    if t == "boolean":
        return sa.Boolean()
    if t in ("choice", "status"):
        return sa.String(60)
    if t == "multi_choice":
        # JSONB on PostgreSQL: comparable (mass updates skip unchanged values) and indexable.
        return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
    if t == "link":
        return sa.Integer()
    raise ValueError(f"no column type for characteristic type {t!r}")
