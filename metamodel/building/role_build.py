"""Turn checked role specs into `RoleDef`s that name only concrete entities.

The `"*"` entry is expanded here, against every entity of the merged model that the
role does not name (an entry with `can: []` names an entity to keep it out of reach).
Entities left with no operation are dropped: a `RoleDef` lists what the role may reach.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable

from metamodel.merge import RoleSpec
from metamodel.model import EntityPermission, RoleDef, Text
from metamodel.checking.role_checks import WILDCARD, operations_of
from metamodel.sources import Props


def build_role(spec: RoleSpec, entity_names: Iterable[str]) -> RoleDef:
    label = spec.props["label"]
    admin = bool(spec.props.get("admin", False))
    permissions: dict[str, EntityPermission] = {}
    if not admin:
        for name, entry in spec.entities.items():
            if name != WILDCARD:
                permissions[name] = _permission(entry)
        wildcard = spec.entities.get(WILDCARD)
        if wildcard is not None:
            for name in entity_names:
                if name not in spec.entities:
                    permissions[name] = _permission(wildcard)
    return RoleDef(
        name=spec.name,
        label=Text(label["en"], label["fr"]),
        source=spec.origin.source(),
        entities=MappingProxyType({name: p for name, p in permissions.items() if p.operations}),
        admin=admin,
    )


def _permission(entry: Props) -> EntityPermission:
    return EntityPermission(
        operations=operations_of(entry),
        scope=entry.get("scope", "all"),
        hidden=frozenset(entry.get("hidden", ())),
        readonly=frozenset(entry.get("readonly", ())),
    )
