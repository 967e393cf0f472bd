"""`links` members in a mass update: add, remove or replace members of every selected record.

A mass update spells a `links` value as a list of ids (the records' new set, as `{"replace": ids}`),
or as `{"add": ids}` / `{"remove": ids}`. Per chunk of the selection, in the caller's transaction:
one read of the chunk's members (per LOOKUP_CHUNK records), the count rules checked per record in
Python (a record a rule refuses is left unchanged and listed with its reason), then one DELETE of
the pairs removed, one INSERT of those added, one UPDATE of the versions of the records changed,
their audit rows (and history rows when the characteristic is historized) in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.core.errors import RecordValidationError, RuleError
from engine.storage.trail import Change, write_audit, write_history
from ..validation import ErrorMap
from .store import LOOKUP_CHUNK, read_collections
from .values import EntityCollections, count_error, load_members
from .words import CollectionError

if TYPE_CHECKING:
    from ..transaction import Transaction

OPERATIONS = ("add", "remove", "replace")


@dataclass(frozen=True)
class MembersChange:
    """One `links` characteristic's change in a mass update: `operation` with the ids `members`."""

    field: FieldDef
    operation: str
    members: frozenset[int]

    def apply(self, current: Sequence[int]) -> list[int]:
        if self.operation == "add":
            return sorted(set(current) | self.members)
        if self.operation == "remove":
            return sorted(set(current) - self.members)
        return sorted(self.members)


def load_members_changes(
    tx: Transaction, collections: EntityCollections, given: Mapping[str, Any], protected: frozenset[str],
    errors: ErrorMap,
) -> list[MembersChange]:
    """The collection values of a mass update, checked for the whole selection at once: their shape,
    the size of their lists, the records added (live, readable by the actor); `lines` are refused."""
    changes: list[MembersChange] = []
    for name, value in given.items():
        f = collections.by_name[name]
        if f.type == "lines":
            errors.setdefault(name, []).append(CollectionError(name, "mass_lines"))
            continue
        if name in protected:
            errors.setdefault(name, []).append(RuleError(name, "readonly"))
            continue
        operation, ids = "replace", value
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in OPERATIONS:
                errors.setdefault(name, []).append(CollectionError(name, "members_change"))
                continue
            operation, ids = next(iter(value.items()))
        members = load_members(f, ids, errors)
        if members is None:
            continue
        if operation != "remove":
            found = tx.in_scope(f.entity, members, "read")
            missing = [i for i in members if i not in found]
            if missing:
                errors.setdefault(name, []).extend(
                    RuleError(name, "link", {"entity": f.entity, "value": i}) for i in missing
                )
                continue
        changes.append(MembersChange(f, operation, frozenset(members)))
    return changes


@dataclass
class MembersPlan:
    """What the members changes do to one chunk's records: each record's members before and
    after, and the records the count rules refuse (id -> errors)."""

    versions: dict[int, int] = field(default_factory=dict)
    before: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    after: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    refused: dict[int, ErrorMap] = field(default_factory=dict)

    @property
    def changed(self) -> list[int]:
        return sorted(i for i, new in self.after.items() if i not in self.refused and new != self.before[i])


def plan_members(
    tx: Transaction, entity: str, changes: Sequence[MembersChange], where: sa.ColumnElement[bool]
) -> MembersPlan:
    """Read the members of the chunk `where` selects and apply `changes` to them in memory."""
    table = tx.service.table(entity)
    plan = MembersPlan()
    # locked first (FOR UPDATE on PostgreSQL), so that their members stay as read until written
    plan.versions = dict(tx.conn.execute(sa.select(table.c.id, table.c.version).where(where).with_for_update()).all())
    names = [change.field.name for change in changes]
    collections = tx.service.collections(entity)
    plan.before = read_collections(tx, collections, sorted(plan.versions), names)
    for record_id, before in plan.before.items():
        after = {change.field.name: change.apply(before[change.field.name]) for change in changes}
        errors: ErrorMap = {}
        for change in changes:
            error = count_error(change.field, len(after[change.field.name]))
            if error is not None:
                errors[change.field.name] = [error]
        plan.after[record_id] = after
        if errors:
            plan.refused[record_id] = errors
    return plan


def write_members(tx: Transaction, entity: str, plan: MembersPlan, refused: dict[int, str]) -> set[int]:
    """Write a chunk's plan: its refusals into `refused` (in the actor's language), then the pairs,
    versions, audit and history of the records whose members change. Returns their ids."""
    lang = tx.actor.lang
    for record_id, errors in plan.refused.items():
        refused[record_id] = RecordValidationError(errors, entity).describe(lang)
    changed = plan.changed
    if not changed:
        return set()
    table = tx.service.table(entity)
    for name in plan.after[changed[0]]:
        join = tx.tables.join_table(entity, name)
        removed = [{"_s": i, "_t": t} for i in changed for t in set(plan.before[i][name]) - set(plan.after[i][name])]
        added = [{"source_id": i, "target_id": t} for i in changed for t in set(plan.after[i][name]) - set(plan.before[i][name])]
        if removed:
            tx.conn.execute(
                join.delete().where(join.c.source_id == sa.bindparam("_s"), join.c.target_id == sa.bindparam("_t")),
                removed,
            )
        if added:
            tx.conn.execute(join.insert(), added)
    for start in range(0, len(changed), LOOKUP_CHUNK):
        tx.conn.execute(
            table.update().where(table.c.id.in_(changed[start : start + LOOKUP_CHUNK])).values(
                version=table.c.version + 1, updated_at=tx.now, updated_by=tx.actor.user_id
            )
        )
    diffs = {
        i: {name: [plan.before[i][name], new] for name, new in plan.after[i].items() if new != plan.before[i][name]}
        for i in changed
    }
    write_audit(tx.conn, tx.tables, entity, "update", [(i, plan.versions[i] + 1, diffs[i]) for i in changed],
                tx.now, tx.actor.user_id)
    historized = tx.service.historized_names(entity)
    write_history(tx.conn, tx.tables, entity, [
        Change(i, name, old, new) for i in changed for name, (old, new) in diffs[i].items() if name in historized
    ], tx.now, tx.actor.user_id)
    return set(changed)

