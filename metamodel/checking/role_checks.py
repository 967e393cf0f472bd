"""Rules of roles, checked on the merged definitions once the schemas passed.

A role names entities and their characteristics, so what it names must exist in the
merged model; and once any pack declares a role, the roles that workflow transitions
name must be declared too, so that a typo in `roles: [salse]` is an error, not a
transition nobody may take.
"""

from __future__ import annotations

from typing import Iterable

from metamodel.errors import Problem
from metamodel.merge import EntitySpec, Merged, RoleSpec
from metamodel.model import ENTITY_OPERATIONS, SYSTEM_COLUMNS
from metamodel.sources import Props
from metamodel.suggestions import did_you_mean as _did_you_mean

WILDCARD = "*"
"""The entry for every entity a role does not name."""
ALL_OPERATIONS = "all"
CREATING_OPERATIONS = frozenset({"create", "import"})
FIELD_LISTS = ("hidden", "readonly")


def operations_of(entry: Props) -> frozenset[str]:
    """The entry's `can` (a list, or "all"), with "all" expanded to every operation."""
    named = entry.get("can", ())
    if named == ALL_OPERATIONS or ALL_OPERATIONS in named:
        return frozenset(ENTITY_OPERATIONS)
    return frozenset(named)


def check_roles(merged: Merged) -> list[Problem]:
    problems: list[Problem] = []
    for role in merged.roles.values():
        problems.extend(_role_problems(role, merged))
    if merged.roles:
        problems.extend(_transition_role_problems(merged))
    return problems


def _role_problems(role: RoleSpec, merged: Merged) -> Iterable[Problem]:
    if role.props.get("admin") and role.entities:
        first = next(iter(role.entities.values()))
        yield first.origin.problem(
            f"role '{role.name}' is an admin role, which may do everything: entity entries do not apply", at_key=True)
        return
    for name, entry in role.entities.items():
        yield from _listed_twice(entry, "can")
        if name == WILDCARD:
            continue
        entity = merged.entities.get(name)
        if entity is None:
            hint = _did_you_mean(name, list(merged.entities))
            yield entry.origin.problem(f"unknown entity '{name}'{hint}", at_key=True)
            continue
        yield from _field_list_problems(entry, entity)


def _listed_twice(entry: Props, key: str) -> Iterable[Problem]:
    names = entry.get(key, ())
    if not isinstance(names, list):
        return
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield entry.origin_of(key).child(index).problem(f"'{name}' is listed twice")
        seen.add(name)


def _field_list_problems(entry: Props, entity: EntitySpec) -> Iterable[Problem]:
    hidden = set(entry.get("hidden", ()))
    creates = bool(operations_of(entry) & CREATING_OPERATIONS)
    for key in FIELD_LISTS:
        yield from _listed_twice(entry, key)
        for index, name in enumerate(entry.get(key, ())):
            here = entry.origin_of(key).child(index)
            char = entity.characteristics.get(name)
            if char is None:
                yield here.problem(_not_a_characteristic(name, entity.name))
            elif key == "readonly" and name in hidden:
                yield here.problem(f"'{name}' is also hidden: a hidden characteristic cannot be changed anyway")
            elif creates and _needed_on_create(char):
                yield here.problem(
                    f"'{name}' is mandatory and has no default: a role that may create {entity.name} records"
                    f" must be able to set it")


def _not_a_characteristic(name: str, entity: str) -> str:
    if name in SYSTEM_COLUMNS or name == "status":
        return f"'{name}' is a system column: only characteristics can be hidden or readonly"
    return f"'{name}' is not a characteristic of entity '{entity}'"


def _needed_on_create(char: Props) -> bool:
    return bool(char.get("mandatory")) and "default" not in char and "default_expr" not in char


def _transition_role_problems(merged: Merged) -> Iterable[Problem]:
    known = list(merged.roles)
    for workflow in merged.workflows.values():
        for transition in workflow.transitions.values():
            for index, name in enumerate(transition.get("roles", ())):
                if name not in merged.roles:
                    here = transition.origin_of("roles").child(index)
                    yield here.problem(f"unknown role '{name}'{_did_you_mean(name, known)}")
