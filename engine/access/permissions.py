"""Who may do what: the roles of the `Model` applied to an actor, enforced once, here.

Every path that reads or changes records (lists and their group counts, forms, the API,
mass update, history, export, import) asks the same `Access` object, so no path can show
a hidden characteristic or a record outside the actor's scope.

An actor holding several roles gets, for each operation, what the grants allowing THAT
operation give: the widest of their scopes and the characteristics every one of them
hides (or makes read-only). A role that may read every account lends its scope to reading
only; the team scope of the role that may update accounts stays the scope of updating.

A model that declares no role (a bare test pack, say) is open: permissions start with
the first role declared. The system actor (migrations, imports of existing data, demo
data) is never restricted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import ENTITY_OPERATIONS, SCOPES, EntityPermission, Model

from engine.core.context import Actor
from engine.core.errors import EngineError

ALL_OPERATIONS = frozenset(ENTITY_OPERATIONS)
SHOWING = frozenset({"read", "export"})
"""Operations whose result is records shown to the actor: their own grants say what is hidden."""


class PermissionDenied(EngineError):
    """The actor's roles do not allow this operation on this entity (or this characteristic)."""

    def __init__(self, entity: str, operation: str, detail: str | None = None):
        self.entity, self.operation, self.detail = entity, operation, detail
        super().__init__(f"not allowed to {operation.replace('_', ' ')} {entity}" + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class OperationGrant:
    """What one operation on one entity allows, every grant of the actor allowing it merged."""

    scope: str
    """The widest scope of those grants (SCOPES are nested: own within team within all)."""
    hidden: frozenset[str]
    """Characteristics every one of those grants hides."""
    protected: frozenset[str]
    """Characteristics every one of those grants hides or makes read-only: not to be set."""


def merge_grants(grants: Sequence[EntityPermission], operation: str) -> OperationGrant | None:
    """What `grants` allow for `operation` (None when none of them allows it)."""
    allowing = [g for g in grants if operation in g.operations]
    if not allowing:
        return None
    return OperationGrant(
        scope=max((g.scope for g in allowing), key=SCOPES.index),
        hidden=frozenset.intersection(*(g.hidden for g in allowing)),
        protected=frozenset.intersection(*(g.hidden | g.readonly for g in allowing)),
    )


@dataclass(frozen=True)
class Access:
    """What one actor may do with one entity, asked for one `operation`.

    `scope`, `hidden`, `protected` and `readonly` are those of `operation`;
    `allows`/`require` answer for any operation, and `for_operation` gives the same
    actor's access for another one.
    """

    entity: str
    operation: str
    grants: Mapping[str, OperationGrant] = field(default_factory=lambda: MappingProxyType({}))
    """Operation -> what it allows; an operation not here is refused."""
    unrestricted: bool = False

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self.grants)

    def allows(self, operation: str) -> bool:
        return operation in self.grants

    def require(self, operation: str) -> None:
        if operation not in self.grants:
            raise PermissionDenied(self.entity, operation)

    def for_operation(self, operation: str) -> Access:
        if operation == self.operation:
            return self
        return Access(self.entity, operation, self.grants, self.unrestricted)

    @property
    def scope(self) -> str | None:
        """The row scope of `operation`; None when the operation is not allowed (no record)."""
        grant = self.grants.get(self.operation)
        return grant.scope if grant is not None else None

    def scope_of(self, operation: str) -> str | None:
        grant = self.grants.get(operation)
        return grant.scope if grant is not None else None

    @property
    def hidden(self) -> frozenset[str]:
        """What the actor does not see doing `operation`: a write shows its result as reading does."""
        return self.hidden_for(self.operation)

    def hidden_for(self, operation: str) -> frozenset[str]:
        if operation not in SHOWING and "read" in self.grants:
            operation = "read"
        grant = self.grants.get(operation)
        return grant.hidden if grant is not None else frozenset()

    @property
    def protected(self) -> frozenset[str]:
        """Characteristics the actor may not set doing `operation`: hidden or read-only.

        Asked for a reading operation, the narrowest answer: what any write they may do
        protects (a form opened for reading then saved never allows more than the save)."""
        return self.protected_for(self.operation)

    def protected_for(self, operation: str) -> frozenset[str]:
        if operation in SHOWING:
            writes = [g.protected for op, g in self.grants.items() if op not in SHOWING]
            return self.hidden_for(operation).union(*writes)
        grant = self.grants.get(operation)
        return grant.protected | self.hidden_for(operation) if grant is not None else frozenset()

    @property
    def readonly(self) -> frozenset[str]:
        """Characteristics the actor sees but may not set doing `operation`."""
        return self.readonly_for(self.operation)

    def readonly_for(self, operation: str) -> frozenset[str]:
        return self.protected_for(operation) - self.hidden_for(operation)

    def visible(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record without the characteristics this actor may not see."""
        hidden = self.hidden
        if not hidden:
            return dict(record)
        return {k: v for k, v in record.items() if k not in hidden}


_EVERYTHING = MappingProxyType({op: OperationGrant("all", frozenset(), frozenset()) for op in ENTITY_OPERATIONS})
_NOTHING: Mapping[str, OperationGrant] = MappingProxyType({})


class Permissions:
    def __init__(self, model: Model, user_table: sa.Table | None):
        self.model = model
        self.enforced = bool(model.roles)
        self.user_table = user_table
        self._owner_fields = {
            name: tuple(f.name for f in entity.fields if f.type == "link" and f.entity == "user")
            for name, entity in model.entities.items()
        }
        self._merged: dict[tuple[frozenset[str], str], Mapping[str, OperationGrant]] = {}

    def access(self, actor: Actor | None, entity: str, operation: str = "read") -> Access:
        """The actor's access to `entity` for `operation` (reading, unless told)."""
        if actor is None or actor.system or not self.enforced:
            return Access(entity, operation, _EVERYTHING, unrestricted=True)
        roles = [self.model.roles[r] for r in actor.roles if r in self.model.roles]
        if any(role.admin for role in roles):
            return Access(entity, operation, _EVERYTHING, unrestricted=True)
        key = (frozenset(r.name for r in roles), entity)
        grants = self._merged.get(key)
        if grants is None:
            held = [role.entities[entity] for role in roles if entity in role.entities]
            merged = {op: merge_grants(held, op) for op in ENTITY_OPERATIONS}
            grants = self._merged[key] = MappingProxyType({op: g for op, g in merged.items() if g is not None})
        return Access(entity, operation, grants or _NOTHING)

    def scope_condition(self, access: Access, actor: Actor | None, table: sa.Table) -> sa.ColumnElement[bool] | None:
        """The WHERE condition keeping the records in the scope of `access.operation` (None: every record)."""
        if access.unrestricted or actor is None:
            return None
        scope = access.scope
        if scope == "all":
            return None
        if scope is None:
            return sa.false()
        owners = [table.c.created_by] + [table.c[name] for name in self._owner_fields[access.entity]]
        if scope == "team" and actor.team and self.user_table is not None and "team" in self.user_table.c:
            teammates = sa.select(self.user_table.c.id).where(self.user_table.c.team == actor.team)
            return sa.or_(*(column.in_(teammates) for column in owners))
        if actor.user_id is None:
            return sa.false()
        return sa.or_(*(column == actor.user_id for column in owners))

    def check_fields(self, access: Access, names: Iterable[str], operation: str) -> None:
        """Refuse naming a hidden characteristic (in a filter, a sort, a group, a history)."""
        hidden = [n for n in names if n in access.hidden]
        if hidden:
            raise PermissionDenied(access.entity, operation, f"no access to {', '.join(hidden)}")
