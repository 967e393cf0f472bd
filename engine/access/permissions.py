"""Who may do what: the roles of the `Model` applied to an actor, enforced once, here.

Every path that reads or changes records (lists and their group counts, forms, the API,
mass update, history, export, import) asks the same `Access` object, so no path can show
a hidden characteristic or a record outside the actor's scope.

A model that declares no role (a bare test pack, say) is open: permissions start with
the first role declared. The system actor (migrations, imports of existing data, demo
data) is never restricted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from metamodel.model import ENTITY_OPERATIONS, SCOPES, Model

from engine.core.context import Actor
from engine.core.errors import EngineError

ALL_OPERATIONS = frozenset(ENTITY_OPERATIONS)


class PermissionDenied(EngineError):
    """The actor's roles do not allow this operation on this entity (or this characteristic)."""

    def __init__(self, entity: str, operation: str, detail: str | None = None):
        self.entity, self.operation, self.detail = entity, operation, detail
        super().__init__(f"not allowed to {operation.replace('_', ' ')} {entity}" + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class Access:
    """What one actor may do with one entity, all their roles merged."""

    entity: str
    operations: frozenset[str]
    scope: str
    hidden: frozenset[str]
    readonly: frozenset[str]
    unrestricted: bool = False

    def allows(self, operation: str) -> bool:
        return operation in self.operations

    def require(self, operation: str) -> None:
        if operation not in self.operations:
            raise PermissionDenied(self.entity, operation)

    def visible(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record without the characteristics this actor may not see."""
        if not self.hidden:
            return dict(record)
        return {k: v for k, v in record.items() if k not in self.hidden}

    @property
    def protected(self) -> frozenset[str]:
        """Characteristics the actor may not set: hidden or read-only."""
        return self.hidden | self.readonly


class Permissions:
    def __init__(self, model: Model, user_table: sa.Table | None):
        self.model = model
        self.enforced = bool(model.roles)
        self.user_table = user_table
        self._owner_fields = {
            name: tuple(f.name for f in entity.fields if f.type == "link" and f.entity == "user")
            for name, entity in model.entities.items()
        }

    def access(self, actor: Actor | None, entity: str) -> Access:
        if actor is None or actor.system or not self.enforced:
            return Access(entity, ALL_OPERATIONS, "all", frozenset(), frozenset(), unrestricted=True)
        roles = [self.model.roles[r] for r in actor.roles if r in self.model.roles]
        if any(role.admin for role in roles):
            return Access(entity, ALL_OPERATIONS, "all", frozenset(), frozenset(), unrestricted=True)
        grants = [role.entities[entity] for role in roles if entity in role.entities]
        if not grants:
            return Access(entity, frozenset(), "own", frozenset(), frozenset())
        operations = frozenset().union(*(g.operations for g in grants))
        scope = max((g.scope for g in grants), key=SCOPES.index)
        readers = [g for g in grants if "read" in g.operations] or grants
        writers = [g for g in grants if g.operations & {"create", "update", "mass_update"}] or grants
        hidden = frozenset.intersection(*(g.hidden for g in readers))
        readonly = frozenset.intersection(*(g.readonly | g.hidden for g in writers)) - hidden
        return Access(entity, operations, scope, hidden, readonly)

    def scope_condition(self, access: Access, actor: Actor | None, table: sa.Table) -> sa.ColumnElement[bool] | None:
        """The WHERE condition keeping the records in the actor's scope (None: every record)."""
        if access.unrestricted or access.scope == "all" or actor is None:
            return None
        owners = [table.c.created_by] + [table.c[name] for name in self._owner_fields[access.entity]]
        if access.scope == "team" and actor.team and self.user_table is not None and "team" in self.user_table.c:
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
