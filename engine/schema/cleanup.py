"""Records to clean up: they break a rule made stricter after they were written.

A tightened rule (mandatory, min, max, lengths, pattern, format, a retired list value,
a removed status; the count rules of a `links` or `lines`) applies to new edits only; the records that already break it stay
as they are and are listed in `sys_cleanup` when the migration applies the rule, so a
list view can show them to whoever will correct them.

`records_to_clean(engine, entity)` gives the ones still breaking their rule (and forgets
those corrected since); `cleanup_condition(engine, entity)` is the SQL condition a list
query adds to show only them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.core.errors import RuleError
from engine.records.field_rules import FieldRules
from .messages import rule_name
from .collection_rules import breaking, breaks, counts_of
from .scan import SQL_RULES, record_table, scan_rule_ids, violation
from .state import CLEANUP
from engine.storage.tables import Tables

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

CHUNK = 1000


# -- written by the migration ----------------------------------------------------------------


def clear_breakers(conn: sa.Connection, entity: str, field: str, rule: str | None = None, *,
                   keep: Sequence[str] = ()) -> None:
    """Forget the listed records of a characteristic (of one rule; or all but the rules in `keep`)."""
    conditions = [CLEANUP.c.entity == entity, CLEANUP.c.field == field]
    if rule is not None:
        conditions.append(CLEANUP.c.rule == rule)
    if keep:
        conditions.append(CLEANUP.c.rule.not_in(list(keep)))
    conn.execute(CLEANUP.delete().where(*conditions))


def record_breakers(conn: sa.Connection, entity: str, table: str, field: FieldDef, rule: str, codes: Sequence[str],
                    rules: FieldRules, now: dt.datetime) -> None:
    """List the live records of `table` breaking `rule` of `field` (set-based when SQL can judge it)."""
    clear_breakers(conn, entity, field.name, rule)
    if rule not in SQL_RULES:
        for ids in scan_rule_ids(conn, table, field.name, rules, rule):
            record_rule_breakers(conn, entity, field.name, rule, ids, now)
        return
    t = record_table(table, field.name, field)
    breakers = sa.select(
        sa.literal(entity, sa.String), t.c.id, sa.literal(field.name, sa.String), sa.literal(rule, sa.String),
        sa.literal(now, sa.DateTime),
    ).where(t.c.deleted_at.is_(None), violation(rule, field, t.c[field.name], codes))
    conn.execute(CLEANUP.insert().from_select(["entity", "record_id", "field", "rule", "detected_at"], breakers))


def record_count_breakers(conn: sa.Connection, tables: Tables, entity: str, field: FieldDef, rule: str,
                          now: dt.datetime) -> None:
    """List the live records breaking count rule `rule` of a `links` or `lines` (one INSERT ... SELECT)."""
    clear_breakers(conn, entity, field.name, rule)
    ids = breaking(tables, entity, field, rule).subquery()
    breakers = sa.select(
        sa.literal(entity, sa.String), ids.c.id, sa.literal(field.name, sa.String), sa.literal(rule, sa.String),
        sa.literal(now, sa.DateTime),
    )
    conn.execute(CLEANUP.insert().from_select(["entity", "record_id", "field", "rule", "detected_at"], breakers))


def refresh_breakers(conn: sa.Connection, entity: str, table: str, rules: FieldRules, now: dt.datetime) -> None:
    """List again every live record breaking a rule of the characteristic (after values came back)."""
    f = rules.field
    checks: list[tuple[str, tuple[str, ...]]] = [
        (rule, ()) for rule in ("min", "max", "min_length", "max_length", "pattern", "format")
        if getattr(f, rule) is not None
    ]
    if f.mandatory:
        checks.append(("mandatory", ()))
    if rules.choices is not None and rules.active_choices is not None and rules.choices != rules.active_choices:
        checks.append(("retired", tuple(sorted(rules.choices - rules.active_choices))))
    for rule, codes in checks:
        record_breakers(conn, entity, table, f, rule, codes, rules, now)


def record_rule_breakers(conn: sa.Connection, entity: str, field: str, rule: str, ids: Sequence[int],
                         now: dt.datetime) -> None:
    if ids:
        conn.execute(CLEANUP.insert(), [
            {"entity": entity, "record_id": record_id, "field": field, "rule": rule, "detected_at": now}
            for record_id in ids
        ])


# -- read by the application ----------------------------------------------------------------


@dataclass(frozen=True)
class CleanupItem:
    """One record breaking one rule of one of its characteristics."""

    record_id: int
    field: str
    rule: str
    detected_at: dt.datetime

    def message(self, lang: str | None = "en") -> str:
        """The rule in the user's language (e.g. `maximum length`)."""
        return rule_name(self.rule, lang)


def records_to_clean(engine: "Engine", entity: str, *, limit: int | None = None) -> list[CleanupItem]:
    """The live records of `entity` still breaking a rule tightened after they were written, by record
    id then field. Records corrected (or purged) since are forgotten on the way."""
    if not sa.inspect(engine.db).has_table(CLEANUP.name):
        return []
    definition = engine.model.entity(entity)
    table = engine.tables.of(entity)
    validator = engine.validators[entity]
    items: list[CleanupItem] = []
    resolved: list[int] = []
    with engine.db.begin() as conn:
        last = 0
        while limit is None or len(items) < limit:
            rows = conn.execute(
                sa.select(CLEANUP.c.id, CLEANUP.c.record_id, CLEANUP.c.field, CLEANUP.c.rule, CLEANUP.c.detected_at)
                .where(CLEANUP.c.entity == entity, CLEANUP.c.id > last).order_by(CLEANUP.c.id).limit(CHUNK)
            ).all()
            if not rows:
                break
            last = rows[-1].id
            ids = sorted({row.record_id for row in rows})
            records = {r["id"]: r for r in conn.execute(sa.select(table).where(table.c.id.in_(ids))).mappings()}
            held = {
                name: counts_of(conn, engine.tables, entity, definition.field(name), ids)
                for name in {row.field for row in rows}
                if name in definition.fields_by_name and definition.field(name).is_collection
            }
            for row in rows:
                record = records.get(row.record_id)
                f = definition.fields_by_name.get(row.field)
                if record is None or f is None:
                    resolved.append(row.id)
                elif record["deleted_at"] is not None:
                    continue  # in the trash: listed again if it comes back
                elif f.is_collection:
                    if breaks(row.rule, f, held[f.name].get(row.record_id, 0)):
                        items.append(CleanupItem(row.record_id, row.field, row.rule, row.detected_at))
                    else:
                        resolved.append(row.id)
                elif still_breaks(row.rule, f, record.get(f.name), validator.rules[f.name]):
                    items.append(CleanupItem(row.record_id, row.field, row.rule, row.detected_at))
                else:
                    resolved.append(row.id)
        for start in range(0, len(resolved), CHUNK):
            conn.execute(CLEANUP.delete().where(CLEANUP.c.id.in_(resolved[start:start + CHUNK])))
    items.sort(key=lambda item: (item.record_id, item.field, item.rule))
    return items[:limit] if limit is not None else items


_ANY_LISTED = sa.select(CLEANUP.c.id).where(CLEANUP.c.entity == sa.bindparam("entity")).limit(1)


def has_records_to_clean(engine: "Engine", entity: str) -> bool:
    """Whether any record of `entity` is listed for clean-up: one indexed lookup, for list pages."""
    try:
        with engine.db.connect() as conn:
            found = conn.execute(_ANY_LISTED, {"entity": entity}).first()
    except sa.exc.DBAPIError:  # a database not migrated since clean-up lists exist
        return False
    return found is not None


def cleanup_condition(engine: "Engine", entity: str) -> sa.ColumnElement[bool]:
    """`id IN (records listed for clean-up)`, for a list query on `entity`'s table. Call
    `records_to_clean` first to forget the records corrected since the list was made."""
    table = engine.tables.of(entity)
    listed = sa.select(CLEANUP.c.record_id).where(CLEANUP.c.entity == entity)
    return table.c.id.in_(listed)


def still_breaks(rule: str, f: FieldDef, value: Any, rules: FieldRules) -> bool:
    """Whether `value` still breaks `rule` of the characteristic as declared now."""
    empty = value is None or value == "" or value == []
    if rule == "mandatory":
        return f.mandatory and empty
    if empty:
        return False
    if rule == "retired":
        retired = (rules.choices or frozenset()) - (rules.active_choices or frozenset())
        return bool(set(value if isinstance(value, list) else [value]) & retired)
    if rule == "status":
        return value not in (rules.choices or frozenset())
    if rule in ("min", "max"):
        bound = getattr(f, rule)
        return bound is not None and (value < bound if rule == "min" else value > bound)
    if rule in ("min_length", "max_length"):
        bound = getattr(f, rule)
        return bound is not None and (len(value) < bound if rule == "min_length" else len(value) > bound)
    if rule == "pattern":
        return bool(f.pattern) and re.fullmatch(f.pattern, value) is None
    try:
        rules.load(value)
    except RuleError as error:
        return error.rule == rule
    return False

