"""Mass update: the same values given to many records, set-based and chunked.

Per chunk of ids, in the caller's transaction:
1. (only when a rule needs each record: a `mandatory_when` touching the changed
   fields, a validation hook, or expected versions) read the chunk and set the
   refused records aside with their reason;
2. one INSERT ... SELECT writes the audit rows (old and new values as JSON built by
   the database) for the records whose values really change;
3. one UPDATE closes their open history periods, one INSERT ... SELECT opens the new
   ones (historized characteristics only);
4. one UPDATE changes the records and bumps their versions.
No ORM object and no Python loop per record on the common path. A status change is
the exception: it goes through each record's workflow rules, one transition at a time.

A `links` characteristic is given as a list of ids (the new set of members of every record), or
as `{"add": [ids]}`, `{"remove": [ids]}`, `{"replace": [ids]}`; per chunk its members are read
once, changed set-based before the other values, and a record whose count rules (`min`, `max`,
`mandatory`) the change would break is left unchanged and listed (engine/records/collections/
mass_members.py). A record whose members and other values both change gets an audit row for
each. `lines` cannot be mass-updated.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import sqlalchemy as sa

from engine.core.errors import ConflictError, RecordValidationError, RuleError, TransitionError
from .collections.mass_members import MembersChange, load_members_changes, plan_members, write_members
from .listing import list_conditions
from .queries import ListRequest
from .search import use_search_index
from .statistics import refresh_statistics
from engine.storage.sqljson import json_changes, json_literal, json_of
from .validation import ErrorMap, is_empty

if TYPE_CHECKING:
    from .transaction import Transaction

CHUNK = 5000
"""Records per chunk: one transaction-internal step of a few set-based statements."""


@dataclass(frozen=True)
class MassUpdateResult:
    matched: int
    """Records in the selection (live ones)."""
    changed: int
    """Records whose values changed."""
    refused: dict[int, str] = field(default_factory=dict)
    """Record id -> why it was left unchanged, in the actor's language."""


class MassUpdate:
    def __init__(self, tx: Transaction, entity: str, values: Mapping[str, Any]):
        self.tx = tx
        self.entity = entity
        self.definition = tx.model.entity(entity)
        self.table = tx.service.table(entity)
        self.dialect = tx.conn.dialect.name
        validator = tx.service.validator(entity)
        self.validator = validator
        self.access = tx.access(entity, "mass_update")
        self.scope = tx.service.permissions.scope_condition(self.access, tx.actor, self.table)
        collections = tx.service.collections(entity)
        columns, given = collections.split(values)
        loaded, errors = validator.load_one(columns, tx.actor, partial=True, protected=self.access.protected)
        readonly = frozenset() if tx.actor.system else collections.readonly
        self.members: list[MembersChange] = load_members_changes(
            tx, collections, given, self.access.protected | readonly, errors
        )
        self.status = loaded.pop("status", None) if "status" in loaded else None
        self.has_status = "status" in values
        self._check_values(loaded, errors)
        if errors:
            raise RecordValidationError(errors, entity)
        self.values = loaded
        names = set(loaded)
        self.conditional = tuple(
            (name, expression) for name, expression in validator.mandatory_when
            if name in names or expression.names & names
        )
        self.per_record = bool(tx.hooks.validates) or bool(self.conditional)

    # -- the whole selection --------------------------------------------------------

    def apply(self, selection: Sequence[int] | ListRequest, versions: Mapping[int, int] | None) -> MassUpdateResult:
        matched = changed = 0
        refused: dict[int, str] = {}
        for chunk in self.chunks(selection):
            matched += chunk.size
            changed += self.apply_chunk(chunk, versions, refused)
        self.finish(changed)
        return MassUpdateResult(matched, changed, refused)

    def finish(self, changed: int) -> None:
        """Once, after the last chunk: refresh the planner statistics when `changed` records
        are a sizeable part of the table (engine/records/statistics.py)."""
        refresh_statistics(self.tx.conn, self.table, changed)

    def apply_chunk(self, chunk: Chunk, versions: Mapping[int, int] | None, refused: dict[int, str]) -> int:
        """Update one chunk; adds the records a rule refused to `refused`; returns how many changed."""
        changed = 0
        chunk_refused = self._refuse(chunk.where, versions, refused)
        where = chunk.where if not chunk_refused else sa.and_(chunk.where, self.table.c.id.not_in(chunk_refused))
        if self.members:
            plan = plan_members(self.tx, self.entity, self.members, where)
            if plan.refused:
                where = sa.and_(where, self.table.c.id.not_in(sorted(plan.refused)))
            moved = set(plan.changed)
            if self.values:  # a record whose members and values both change counts once
                moved |= set(self.tx.conn.execute(sa.select(self.table.c.id).where(where, self._differs())).scalars())
            write_members(self.tx, self.entity, plan, refused)
            if self.values:
                self._write(where)
            changed += len(moved)
        elif self.values:
            changed += self._write(where)
        if self.has_status:
            ids = self.tx.conn.execute(sa.select(self.table.c.id).where(where).order_by(self.table.c.id)).scalars()
            changed += len(self._move_statuses(list(ids), refused))
        return changed

    def count(self, selection: Sequence[int] | ListRequest) -> int:
        """How many live records the selection holds (in the actor's scope)."""
        conditions = self._conditions(selection)
        table = self.table
        return self.tx.conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar_one()

    def preview(self, selection: Sequence[int] | ListRequest) -> int:
        """How many records of the selection would change."""
        count = 0
        differs = self._differs()
        for chunk in self.chunks(selection):
            if self.has_status:
                count += chunk.size
                continue
            if self.members:
                ids = set(plan_members(self.tx, self.entity, self.members, chunk.where).changed)
                if self.values:
                    ids |= set(self.tx.conn.execute(sa.select(self.table.c.id).where(chunk.where, differs)).scalars())
                count += len(ids)
                continue
            count += self.tx.conn.execute(
                sa.select(sa.func.count()).select_from(self.table).where(chunk.where, differs)
            ).scalar_one()
        return count

    # -- one chunk -------------------------------------------------------------------

    def _write(self, chunk_where: sa.ColumnElement[bool]) -> int:
        """Audit, history and UPDATE of the chunk's records whose values differ; returns how many."""
        table, conn, tx = self.table, self.tx.conn, self.tx
        where = sa.and_(chunk_where, self._differs())
        fields = [self.definition.field(name) for name in self.values]
        pairs = [
            (
                f.name,
                json_of(f, table.c[f.name], self.dialect),
                json_literal(self.values[f.name], self.dialect),
                table.c[f.name].is_distinct_from(self.values[f.name]),
            )
            for f in fields
        ]
        audit = tx.tables.audit
        conn.execute(audit.insert().from_select(
            ["entity", "record_id", "action", "version", "changed_at", "actor_id", "changes"],
            sa.select(
                sa.literal(self.entity, sa.String), table.c.id, sa.literal("update", sa.String),
                table.c.version + 1, sa.literal(tx.now, sa.DateTime), sa.literal(tx.actor.user_id, sa.Integer),
                json_changes(pairs, self.dialect),
            ).where(where),
        ))
        historized = tx.service.historized_names(self.entity)
        for f in fields:
            if f.name in historized:
                self._write_history(f, chunk_where)
        return conn.execute(
            table.update().where(where).values(
                **self.values, version=table.c.version + 1, updated_at=tx.now, updated_by=tx.actor.user_id
            )
        ).rowcount

    def _write_history(self, f: Any, where: sa.ColumnElement[bool]) -> None:
        table, tx, history = self.table, self.tx, self.tx.tables.history
        column = table.c[f.name]
        moving = sa.and_(where, column.is_distinct_from(self.values[f.name]))
        ids = sa.select(table.c.id).where(moving).scalar_subquery()
        tx.conn.execute(
            history.update()
            .where(history.c.entity == self.entity, history.c.field == f.name,
                   history.c.record_id.in_(ids), history.c.valid_to.is_(None))
            .values(valid_to=tx.now)
        )
        tx.conn.execute(history.insert().from_select(
            ["entity", "record_id", "field", "old_value", "new_value", "valid_from", "actor_id"],
            sa.select(
                sa.literal(self.entity, sa.String), table.c.id, sa.literal(f.name, sa.String),
                json_of(f, column, self.dialect), json_literal(self.values[f.name], self.dialect),
                sa.literal(tx.now, sa.DateTime), sa.literal(tx.actor.user_id, sa.Integer),
            ).where(moving),
        ))

    def _refuse(self, where: sa.ColumnElement[bool], versions: Mapping[int, int] | None, refused: dict[int, str]) -> list[int]:
        """Set aside the chunk's records that a rule refuses one by one; the others go on set-based."""
        if not versions and not self.per_record:
            return []
        lang = self.tx.actor.lang
        found: list[int] = []
        for row in self.tx.conn.execute(sa.select(self.table).where(where)).mappings():
            record, record_id = dict(row), row["id"]
            if versions and record_id in versions and versions[record_id] != record["version"]:
                refused[record_id] = ConflictError(self.entity, record_id, versions[record_id], record).message(lang)
                found.append(record_id)
                continue
            if self.per_record:
                errors: ErrorMap = {}
                merged = {**record, **self.values}
                self.validator.check_conditions(merged, errors, self.conditional)
                self.tx.hooks.validate_record(self.entity, merged, self.values, errors)
                if errors:
                    refused[record_id] = RecordValidationError(errors, self.entity).describe(lang)
                    found.append(record_id)
        return found

    def _move_statuses(self, ids: list[int], refused: dict[int, str]) -> set[int]:
        """Statuses change through the workflow, record by record, each in its own savepoint."""
        moved: set[int] = set()
        flow = self.tx.service.workflow_of(self.entity)
        for record_id in ids:
            current = self.tx._row(self.entity, record_id)
            if current.get("status") == self.status:
                continue
            try:
                with self.tx.savepoint():
                    if flow.definition.free:
                        self.tx.move_to(self.entity, record_id, self.status)
                    else:
                        name = self._transition_to(flow, current)
                        self.tx.transition(self.entity, record_id, name)
                moved.add(record_id)
            except (TransitionError, RecordValidationError, ConflictError) as error:
                lang = self.tx.actor.lang
                refused[record_id] = (
                    error.describe(lang) if isinstance(error, RecordValidationError) else error.message(lang)
                )
        return moved

    def _transition_to(self, flow: Any, current: Mapping[str, Any]) -> str:
        for transition in flow.definition.transitions:
            if transition.to == self.status and current.get("status") in transition.from_statuses:
                return transition.name
        raise TransitionError("no_transition_to", {"status": current.get("status"), "to": self.status})

    # -- helpers ----------------------------------------------------------------------

    def _check_values(self, loaded: dict[str, Any], errors: ErrorMap) -> None:
        """Rules that hold or fail for the whole selection at once."""
        if self.has_status and self.tx.service.workflow_of(self.entity, required=False) is None:
            errors.setdefault("status", []).append(RuleError("status", "unknown"))
        for name, value in loaded.items():
            definition = self.definition.field(name)
            if definition.mandatory and is_empty(value):
                errors.setdefault(name, []).append(RuleError(name, "mandatory"))
            elif definition.unique and value is not None:
                errors.setdefault(name, []).append(RuleError(name, "unique", {"value": value}))
            else:
                try:
                    self.validator.rules[name].check_retired(value)
                except RuleError as error:
                    errors.setdefault(name, []).append(error)
        for name, problems in self.tx._check_database_rules(self.entity, [loaded]).get(0, {}).items():
            errors.setdefault(name, problems)

    def _differs(self) -> sa.ColumnElement[bool]:
        if not self.values:
            return sa.true()
        return sa.or_(*(self.table.c[name].is_distinct_from(value) for name, value in self.values.items()))

    def _conditions(self, selection: Sequence[int] | ListRequest) -> list[sa.ColumnElement[bool]]:
        """The selection as WHERE conditions: the list filter or the ids, live records, in scope."""
        table = self.table
        if isinstance(selection, ListRequest):
            # the list's checks, conditions (paths through links, links filters) and the scope
            conditions, joins = list_conditions(self.tx.service, self.tx, self.entity, selection, self.access)
            conditions = use_search_index(self.tx.conn, table, conditions)
            joined = joins.select_from(*conditions)
            if joined is not table:  # the records the joins select, by id: UPDATEs read one table
                conditions = [table.c.id.in_(sa.select(table.c.id).select_from(joined).where(*conditions))]
            return conditions
        conditions = [table.c.id.in_(sorted({int(i) for i in selection})), table.c.deleted_at.is_(None)]
        if self.scope is not None:
            conditions.append(self.scope)
        return use_search_index(self.tx.conn, table, conditions)

    def chunks(self, selection: Sequence[int] | ListRequest, *, after: int = 0) -> Iterator[Chunk]:
        """The selection as consecutive id ranges of CHUNK records, from the first id above `after`.

        Each range is found when the previous one is done, so a job resumed from its last
        committed id (`after`) goes on exactly where it stopped.
        """
        table, conn = self.table, self.tx.conn
        if isinstance(selection, ListRequest):
            conditions = self._conditions(selection)
        else:
            wanted = sorted({int(i) for i in selection})
            conditions = [table.c.deleted_at.is_(None)]
            if self.scope is not None:
                conditions.append(self.scope)
        last = after
        while True:
            if isinstance(selection, ListRequest):
                ids = (
                    sa.select(table.c.id).where(*conditions, table.c.id > last).order_by(table.c.id).limit(CHUNK)
                ).subquery()
                size, upper = conn.execute(sa.select(sa.func.count(), sa.func.max(ids.c.id))).one()
                where = sa.and_(*conditions, table.c.id > last, table.c.id <= upper) if size else None
            else:
                start = bisect.bisect_right(wanted, last)
                if start >= len(wanted):
                    return
                part = wanted[start : start + CHUNK]
                upper = part[-1]
                where = sa.and_(table.c.id.in_(part), *conditions)
                size = conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
                if not size:
                    last = upper
                    continue
            if not size:
                return
            yield Chunk(where, size, upper)
            last = upper


@dataclass(frozen=True)
class Chunk:
    where: sa.ColumnElement[bool]
    size: int
    """Live records in the chunk."""
    last_id: int
    """The highest id of the range: where the next chunk (or a resumed job) starts."""
