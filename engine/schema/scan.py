"""Reading the data a schema change concerns: counts, rule breakers, values that do not convert.

Rules that SQL can judge (mandatory, bounds, lengths, retired values) are counted with one
query each; patterns, formats and type conversions need the engine's own rules, so their
values are read in chunks by id (keyset pages: memory stays flat however big the table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.storage.column_types import column_type
from engine.core.errors import RuleError
from engine.records.field_rules import FieldRules
from .convert import ConversionError, convert
from .fit import Extent
from .steps import Offender

CHUNK = 2000
SQL_RULES = frozenset({"mandatory", "min", "max", "min_length", "max_length", "retired", "status", "removed"})
"""Rules judged in SQL; the others (pattern, format) by the characteristic's `FieldRules`."""


def record_table(table: str, column: str | None = None, field: FieldDef | None = None, **extra: Any) -> sa.TableClause:
    """A lightweight view of an entity table: id, deleted_at and the columns asked for, typed."""
    columns = [sa.column("id", sa.Integer), sa.column("deleted_at", sa.DateTime)]
    if column is not None:
        columns.append(sa.column(column, column_type(field) if field is not None else sa.types.NullType()))
    columns.extend(sa.column(name, type_) for name, type_ in extra.items())
    return sa.table(table, *columns)


def count_values(conn: sa.Connection, table: str, column: str) -> int:
    t = record_table(table, column)
    return conn.execute(sa.select(sa.func.count(t.c[column]))).scalar_one()


def count_records(conn: sa.Connection, table: str) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()


def json_array_has_any(column: sa.ColumnElement[Any], codes: Sequence[str]) -> sa.ColumnElement[bool]:
    """Whether a multi_choice JSON array holds one of `codes` (identifiers: LIKE on the JSON text
    is exact once `_` and `%` are escaped, and works the same on SQLite and PostgreSQL)."""
    as_text = sa.cast(column, sa.Text)
    return sa.or_(*(as_text.like(f'%"{_escape_like(code)}"%', escape="\\") for code in codes))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def violation(
    rule: str, field: FieldDef, column: sa.ColumnElement[Any], codes: Sequence[str] = (),
) -> sa.ColumnElement[bool]:
    """The SQL condition of a record breaking `rule` of `field` (a SQL_RULES rule)."""
    if rule == "mandatory":
        return column.is_(None)
    if rule == "min":
        return column < sa.literal(field.min, column.type)
    if rule == "max":
        return column > sa.literal(field.max, column.type)
    if rule == "min_length":
        return sa.func.length(column) < field.min_length
    if rule == "max_length":
        return sa.func.length(column) > field.max_length
    if rule in ("retired", "status", "removed"):
        if field.type == "multi_choice":
            return json_array_has_any(column, codes)
        return column.in_(list(codes))
    raise ValueError(f"rule {rule!r} is not judged in SQL")


def sql_breakers(
    conn: sa.Connection, table: str, column: str, field: FieldDef, rule: str, codes: Sequence[str] = (),
    *, limit: int, live_only: bool = True,
) -> tuple[int, list[int]]:
    """How many records break `rule` (live ones unless `live_only` is false), and the first ids."""
    t = record_table(table, column, field)
    condition = violation(rule, field, t.c[column], codes)
    if live_only:
        condition = sa.and_(t.c.deleted_at.is_(None), condition)
    count = conn.execute(sa.select(sa.func.count()).select_from(t).where(condition)).scalar_one()
    ids = conn.scalars(sa.select(t.c.id).where(condition).order_by(t.c.id).limit(limit)).all() if count else []
    return count, list(ids)


def value_chunks(
    conn: sa.Connection, table: str, column: str, field: FieldDef, *, chunk: int = CHUNK, live_only: bool = False,
) -> Iterator[list[tuple[int, Any]]]:
    """(id, value) of every non-empty value of `column`, typed by `field`, in chunks by id."""
    t = record_table(table, column, field)
    last = 0
    while True:
        query = sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None), t.c.id > last)
        if live_only:
            query = query.where(t.c.deleted_at.is_(None))
        rows = conn.execute(query.order_by(t.c.id).limit(chunk)).all()
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        last = rows[-1][0]


@dataclass
class RuleBreakers:
    """Records breaking one rule, counted, with the first ids kept."""

    limit: int
    count: int = 0
    ids: list[int] = field(default_factory=list)

    def add(self, record_id: int) -> None:
        self.count += 1
        if len(self.ids) < self.limit:
            self.ids.append(record_id)


@dataclass
class ConversionReport:
    """What converting every value of a column to a new type would do."""

    limit: int
    values: int = 0
    failures: int = 0
    offenders: list[Offender] = field(default_factory=list)
    changed: bool = False
    """Some converted value differs from the stored one (so the column must be rewritten)."""
    breakers: dict[str, RuleBreakers] = field(default_factory=dict)
    """Rule -> the converted values that break one of the new type's value rules (live records)."""
    extent: Extent = field(default_factory=Extent)
    """How long and how large the converted values are (what the new column must hold)."""

    def fail(self, record_id: int, value: Any, error: ConversionError) -> None:
        self.failures += 1
        if len(self.offenders) < self.limit:
            self.offenders.append(Offender(record_id, value, error.reason, error.converted))


def convert_chunk(
    rows: list[tuple[int, Any]], old_rules: FieldRules, new_rules: FieldRules, report: ConversionReport,
    live: set[int] | None = None,
) -> list[tuple[int, Any]]:
    """The converted (id, value) pairs of a chunk; failures and rule breakers go to `report`."""
    converted = []
    for record_id, value in rows:
        report.values += 1
        try:
            new_value = convert(value, old_rules, new_rules)
        except ConversionError as error:
            report.fail(record_id, value, error)
            continue
        if not (type(new_value) is type(value) and new_value == value):
            report.changed = True
        converted.append((record_id, new_value))
        report.extent.add(new_value)
        if live is None or record_id in live:
            _check_rules(new_rules, record_id, new_value, report)
    return converted


def _check_rules(rules: FieldRules, record_id: int, value: Any, report: ConversionReport) -> None:
    try:
        rules.load(value)
    except RuleError as error:
        report.breakers.setdefault(error.rule, RuleBreakers(report.limit)).add(record_id)


def live_ids(conn: sa.Connection, table: str, ids: Sequence[int]) -> set[int]:
    t = record_table(table)
    return set(conn.scalars(sa.select(t.c.id).where(t.c.id.in_(list(ids)), t.c.deleted_at.is_(None))))


def scan_conversion(
    conn: sa.Connection, table: str, column: str, old_rules: FieldRules, new_rules: FieldRules, *, limit: int,
) -> ConversionReport:
    report = ConversionReport(limit)
    for rows in value_chunks(conn, table, column, old_rules.field):
        convert_chunk(rows, old_rules, new_rules, report, live_ids(conn, table, [r for r, _ in rows]))
    return report


def scan_rule_ids(conn: sa.Connection, table: str, column: str, rules: FieldRules, rule: str) -> Iterator[list[int]]:
    """Per chunk, the live records whose value breaks `rule` (pattern, format) of `rules`."""
    for rows in value_chunks(conn, table, column, rules.field, live_only=True):
        ids = []
        for record_id, value in rows:
            try:
                rules.load(value)
            except RuleError as error:
                if error.rule == rule:
                    ids.append(record_id)
        yield ids


def scan_rule(
    conn: sa.Connection, table: str, column: str, rules: FieldRules, rule: str, *, limit: int,
) -> RuleBreakers:
    breakers = RuleBreakers(limit)
    for ids in scan_rule_ids(conn, table, column, rules, rule):
        for record_id in ids:
            breakers.add(record_id)
    return breakers


def duplicated_values(conn: sa.Connection, table: str, column: str, field: FieldDef) -> int:
    """How many values are held by more than one live record (a unique index would refuse them)."""
    t = record_table(table, column, field)
    groups = (
        sa.select(t.c[column])
        .where(t.c.deleted_at.is_(None), t.c[column].is_not(None))
        .group_by(t.c[column])
        .having(sa.func.count() > 1)
        .subquery()
    )
    return conn.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one()
