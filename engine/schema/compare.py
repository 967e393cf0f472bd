"""The steps for one characteristic whose column exists: what changed since the database was built.

A type change (or a list, or a decimal scale) goes through the conversion of every value; other
changes are rules made stricter or looser, list values and statuses added, retired or removed.
Part of the migration planner (engine/schema/plan.py).
"""

from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from metamodel.model import TEXT_TYPES, FieldDef, Model

from engine.storage.column_types import column_type
from engine.records.field_rules import FieldRules
from .scan import SQL_RULES, scan_conversion, scan_rule, sql_breakers
from .state import SnapshotLists, field_from_snapshot, field_snapshot
from .steps import Offender, Retype, Step, Tighten, Widen


class CharacteristicSteps:
    """Appends to `steps` what a characteristic's changes need."""

    def __init__(self, conn: sa.Connection, model: Model, formats: Mapping[str, Any], limit: int,
                 steps: list[Step]):
        self.conn = conn
        self.model = model
        self.formats = formats
        self.limit = limit
        self.dialect = conn.dialect.name
        self.steps = steps

    def add(self, step: Step) -> None:
        self.steps.append(step)

    def compare(self, entity: str, table: str, source: str, old_data: dict[str, Any], new: FieldDef,
                column: Mapping[str, Any]) -> None:
        new_data = field_snapshot(new, self.model)
        if old_data == new_data:
            return
        old = field_from_snapshot(new.name, old_data)
        before = len(self.steps)
        if "link" in (old.type, new.type) and (old.type, old.entity) != (new.type, new.entity):
            self.add(Step("refuse", "link_refused", {
                "entity": entity, "field": new.name, "old": _describe(old), "new": _describe(new),
            }, entity=entity, field=new.name))
            return
        if _needs_conversion(old, new):
            self.retype(entity, table, source, old, old_data, new)
        else:
            self.widen(entity, table, new, column)
            self.rules(entity, table, source, old, new)
            self.codes(entity, table, source, old_data, new_data, new)
        if new.mandatory and not old.mandatory and _needs_conversion(old, new):
            self.sql_rule(entity, table, source, new, "mandatory", "true")
        if len(self.steps) == before:
            self.add(Step("loosen", "definition_updated", {"entity": entity, "field": new.name},
                          entity=entity, field=new.name))

    def retype(self, entity: str, table: str, source: str, old: FieldDef, old_data: Mapping[str, Any],
               new: FieldDef) -> None:
        old_rules = FieldRules(old, SnapshotLists(old_data), self.formats)  # type: ignore[arg-type]
        new_rules = FieldRules(new, self.model, self.formats)
        report = scan_conversion(self.conn, table, source, old_rules, new_rules, limit=self.limit)
        params = {"entity": entity, "field": new.name, "old": _describe(old), "new": _describe(new)}
        if report.failures:
            self.add(Step("refuse", "retype_refused", {**params, "count": report.failures}, entity=entity,
                          field=new.name, count=report.failures, offenders=tuple(report.offenders)))
            return
        dialect = self.conn.dialect
        same_column = column_type(old).compile(dialect) == column_type(new).compile(dialect)
        # only text stays text byte for byte: a number, a date or a list may be stored another way
        rewrite = report.changed or not same_column or not {old.type, new.type} <= TEXT_TYPES
        self.add(Step("retype", "retype", {**params, "count": report.values}, entity=entity, field=new.name,
                      count=report.values,
                      action=Retype(entity, table, source, old, old_data, new, rewrite, report.extent)))
        for rule, breakers in sorted(report.breakers.items()):
            # listed here; the retype itself records them for clean-up while it converts
            self.tighten_step(entity, table, new, rule, _rule_text(new, rule), breakers.count, breakers.ids,
                              action=False)

    def widen(self, entity: str, table: str, new: FieldDef, column: Mapping[str, Any]) -> None:
        """PostgreSQL enforces column sizes: a longer max_length or wider bounds may need a wider column.
        A narrower one never shrinks the column (the longer values stay)."""
        if self.dialect != "postgresql":
            return
        current, wanted = column["type"], column_type(new)
        wider = False
        if isinstance(wanted, sa.String) and not isinstance(wanted, sa.Text) and isinstance(current, sa.String):
            wider = current.length is not None and wanted.length is not None and wanted.length > current.length
        elif isinstance(wanted, sa.BigInteger) and isinstance(current, sa.Integer):
            wider = not isinstance(current, sa.BigInteger)
        elif new.type == "decimal" and isinstance(current, sa.Numeric):
            wider = (new.precision or 18) > (current.precision or 0)
        if wider:
            sql_type = wanted.compile(self.conn.dialect)
            self.add(Step("widen", "widen", {"entity": entity, "field": new.name, "type": sql_type}, entity=entity,
                          field=new.name, action=Widen(entity, table, new)))

    def rules(self, entity: str, table: str, source: str, old: FieldDef, new: FieldDef) -> None:
        if new.mandatory != old.mandatory:
            if new.mandatory:
                self.sql_rule(entity, table, source, new, "mandatory", "true")
            else:
                self.loosen(entity, new, "mandatory", "false")
        for rule, stricter in (("min", _greater), ("max", _less), ("min_length", _greater), ("max_length", _less)):
            was, now = getattr(old, rule), getattr(new, rule)
            if was == now:
                continue
            if now is not None and (was is None or stricter(now, was)):
                self.sql_rule(entity, table, source, new, rule, _rule_text(new, rule))
            else:
                self.loosen(entity, new, rule, _rule_text(new, rule))
        for rule in ("pattern", "format"):
            was, now = getattr(old, rule), getattr(new, rule)
            if was == now:
                continue
            if now is None:
                self.loosen(entity, new, rule, "none")
                continue
            breakers = scan_rule(self.conn, table, source, FieldRules(new, self.model, self.formats), rule,
                                 limit=self.limit)
            self.tighten_step(entity, table, new, rule, str(now), breakers.count, breakers.ids)

    def codes(self, entity: str, table: str, source: str, old_data: Mapping[str, Any],
              new_data: Mapping[str, Any], new: FieldDef) -> None:
        """List values removed, retired, added; statuses removed or added."""
        old_codes, new_codes = set(old_data.get("codes") or ()), set(new_data.get("codes") or ())
        if not old_codes and not new_codes:
            return
        removed = sorted(old_codes - new_codes)
        changes = [f"+{c}" for c in sorted(new_codes - old_codes)]
        if new.type == "status":
            if removed:
                self.sql_rule(entity, table, source, new, "status", ", ".join(removed), codes=tuple(removed))
        else:
            for code in removed:
                count, ids = sql_breakers(self.conn, table, source, new, "removed", (code,), limit=self.limit,
                                          live_only=False)
                if count:
                    self.add(Step("refuse", "value_removed_refused", {
                        "entity": entity, "field": new.name, "code": code, "list": new.list, "count": count,
                    }, entity=entity, field=new.name, count=count, offenders=tuple(Offender(i) for i in ids)))
                else:
                    changes.append(f"-{code}")
            old_active, new_active = set(old_data.get("active") or ()), set(new_data.get("active") or ())
            retired = sorted((old_active & new_codes) - new_active)
            if retired:
                self.sql_rule(entity, table, source, new, "retired", ", ".join(retired), codes=tuple(retired))
            changes.extend(f"~{c}" for c in sorted((new_active & old_codes) - old_active))
        if changes:
            self.loosen(entity, new, "values", " ".join(changes))

    # -- rule steps ----------------------------------------------------------------------------

    def sql_rule(self, entity: str, table: str, source: str, new: FieldDef, rule: str, rule_text: str,
                 codes: tuple[str, ...] = ()) -> None:
        assert rule in SQL_RULES
        count, ids = sql_breakers(self.conn, table, source, new, rule, codes, limit=self.limit)
        self.tighten_step(entity, table, new, rule, rule_text, count, ids, codes=codes)

    def tighten_step(self, entity: str, table: str, new: FieldDef, rule: str, rule_text: str, count: int,
                     ids: list[int], *, codes: tuple[str, ...] = (), action: bool = True) -> None:
        params = {"entity": entity, "field": new.name, "rule": rule, "rule_text": rule_text, "count": count}
        self.add(Step("tighten", "tighten" if count else "tighten_clean", params, entity=entity, field=new.name,
                      count=count, offenders=tuple(Offender(i) for i in ids),
                      action=Tighten(entity, table, new, rule, codes) if action else None))

    def loosen(self, entity: str, new: FieldDef, rule: str, rule_text: str) -> None:
        self.add(Step("loosen", "loosen", {"entity": entity, "field": new.name, "rule": rule, "rule_text": rule_text},
                      entity=entity, field=new.name))


def _needs_conversion(old: FieldDef, new: FieldDef) -> bool:
    """Whether the stored values must go through the new type's rules (else only the rules change)."""
    if old.type != new.type or old.list != new.list:
        return True
    if new.type == "decimal":
        return _scale(old) != _scale(new) or (new.precision or 18) < (old.precision or 18)
    return False


def _scale(f: FieldDef) -> int:
    return f.scale if f.scale is not None else 2


def _describe(f: FieldDef) -> str:
    if f.type == "link":
        return f"link to {f.entity}"
    if f.type == "decimal":
        return f"decimal({f.precision or 18}, {_scale(f)})"
    if f.list:
        return f"{f.type} of {f.list}"
    return f.type


def _rule_text(f: FieldDef, rule: str) -> str:
    """The rule's new setting in words: its value, `none` once removed; for a rule the type itself
    makes (an email address, a format), the type."""
    if rule not in ("mandatory", "min", "max", "min_length", "max_length", "pattern", "format"):
        return f.type
    value = getattr(f, rule)
    return "none" if value is None else str(value)


def _greater(a: Any, b: Any) -> bool:
    return a > b


def _less(a: Any, b: Any) -> bool:
    return a < b
