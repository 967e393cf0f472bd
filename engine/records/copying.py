"""Copying a record: what a workflow `copy` action and a plain "copy this record" create.

metamodel/checking/copying.py decides from the definitions which characteristics go across (`copy_plan`);
this module reads them off a record as the actor may, and creates the copy through
`Transaction.create`, so the new record goes through every rule a created one does: the actor's
`create` permission, the target's rules and defaults, its initial status, its lines in one
insert. What the actor may not read on the source, or set on the copy, stays behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Collection, Mapping

from metamodel.checking.copying import CopyPlan, copy_plan, entity_slots
from metamodel.model import EntityDef, Model

from .validation import is_empty

if TYPE_CHECKING:
    from .transaction import Transaction


def plan_between(model: Model, source: EntityDef, target: EntityDef) -> CopyPlan:
    """What copying a `source` record into `target` copies (before `except` and rights)."""
    return copy_plan(entity_slots(source), entity_slots(target), (), lambda name: entity_slots(model.entity(name)))


def copied_values(
    tx: Transaction, source: EntityDef, record: Mapping[str, Any], target: EntityDef, plan: CopyPlan,
    skip: Collection[str] = (),
) -> dict[str, Any]:
    """The values of the copy of `record` as `Transaction.create` takes them: the plan's fields
    and lines, less `skip`, what the actor may not set on `target` or read on `source`, and the
    empty values (so that the target's defaults apply).

    `record` may come from a transition under way: a `lines` value it edits (not yet line
    mappings) is copied as stored."""
    left_out = set(skip) | tx.access(target.name, "create").protected | tx.access(source.name, "read").hidden
    values: dict[str, Any] = {
        name: record[name] for name in plan.fields if name not in left_out and not is_empty(record.get(name))
    }
    stored: Mapping[str, Any] | None = None
    for pair in plan.lines:
        if pair.target in left_out or pair.source in left_out:
            continue
        lines = record.get(pair.source) or []
        if any(not isinstance(line, Mapping) for line in lines):
            stored = stored or tx.get(source.name, record["id"])
            lines = stored.get(pair.source) or []
        values[pair.target] = [
            {name: line[name] for name in pair.fields if not is_empty(line.get(name))} for line in lines
        ]
    return values


def copy_record(tx: Transaction, entity: str, record_id: int, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A new record of `entity` copied from record `record_id` (which the actor must be able to
    read) with its lines, `values` (typed as a create takes them) overriding the copy."""
    definition = tx.model.entity(entity)
    source = tx.get(entity, record_id)
    plan = plan_between(tx.model, definition, definition)
    return tx.create(entity, {**copied_values(tx, definition, source, definition, plan), **(values or {})})
