"""What changes between two `Model`s, in plain words: the definition half of a plan.

`describe_changes(before, after)` lists what a pack or an overlay revision adds, removes or
changes, the part of "what would installing this change" that the schema plan does not show
(labels, list values, statuses, transitions, views, roles). Each `Change` reads in English
(`str`) or French (`text("fr")`):

    entity lead: characteristic region added (string)
    entité lead : ajout de la caractéristique region (string)

Where a definition was written (`source`) is not a change. A relation is described on the
characteristic that makes it: `entity event: characteristic attendees added (links to contact)`,
`entity event: characteristic account changed (reverse relation event_account renamed events)`,
`entity booking: characteristic backup_room changed (link to room becomes links to room)`;
the default panels it adds to its target's form are not a change of that form. An owned entity
added says whose lines it holds: `entity meal: added (lines of booking.meals, 4 characteristics)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from metamodel.model import OWNED_SYSTEM_FIELDS, EntityDef, FieldDef, Model, RoleDef, ValueList, ViewDef, WorkflowDef

NOUNS: dict[str, tuple[str, str, str]] = {
    # kind -> (English, French, French with its article for "ajout de ...")
    "pack": ("pack", "pack", "du pack"),
    "entity": ("entity", "entité", "de l'entité"),
    "list": ("list", "liste", "de la liste"),
    "workflow": ("workflow", "processus", "du processus"),
    "role": ("role", "rôle", "du rôle"),
    "characteristic": ("characteristic", "caractéristique", "de la caractéristique"),
    "view": ("view", "vue", "de la vue"),
    "duplicate rule": ("duplicate rule", "règle de doublons", "de la règle de doublons"),
    "value": ("value", "valeur", "de la valeur"),
    "status": ("status", "statut", "du statut"),
    "transition": ("transition", "transition", "de la transition"),
    "permissions": ("permissions on", "droits sur", "des droits sur"),
}
ACTIONS = {"added": "ajout", "removed": "suppression", "changed": "modification"}
COUNTED = {  # noun -> (English singular, plural, French singular, plural)
    "characteristic": ("characteristic", "characteristics", "caractéristique", "caractéristiques"),
    "value": ("value", "values", "valeur", "valeurs"),
    "status": ("status", "statuses", "statut", "statuts"),
    "transition": ("transition", "transitions", "transition", "transitions"),
}


@dataclass(frozen=True)
class Change:
    """One change: to a definition (`kind name`), or to a member of it (`member_kind member`)."""

    kind: str
    name: str
    action: str
    """`added`, `removed`, `changed`, or `version` (a pack's new version: `detail` is old -> new)."""
    member_kind: str | None = None
    member: str | None = None
    detail: tuple[str, str] | None = None
    """What to show in brackets, in English and French (a type, a count, the changed properties)."""

    def text(self, lang: str | None = "en") -> str:
        french = lang == "fr"
        noun = NOUNS[self.kind][1 if french else 0]
        detail = f" ({self.detail[1 if french else 0]})" if self.detail else ""
        if self.action == "version":
            return f"{noun} {self.name}{' :' if french else ':'} {self.detail[0] if self.detail else ''}"
        if self.member_kind is None:
            subject = f"{noun} {self.name}"
            if french:
                return f"{subject} : {ACTIONS[self.action]}{detail}"
            return f"{subject}: {self.action}{detail}"
        member_en, _, member_fr = NOUNS[self.member_kind]
        if french:
            return f"{noun} {self.name} : {ACTIONS[self.action]} {member_fr} {self.member}{detail}"
        return f"{noun} {self.name}: {member_en} {self.member} {self.action}{detail}"

    def __str__(self) -> str:
        return self.text("en")


def describe_changes(before: Model, after: Model, *, quiet_packs: Iterable[str] = ()) -> list[Change]:
    """Every change, one each; a new version of a pack in `quiet_packs` is not reported (the
    admin overlay's version is its revision number: it changes every time)."""
    changes: list[Change] = []
    changes += _packs(before, after, frozenset(quiet_packs))
    changes += _named("entity", before.entities, after.entities, lambda entity: _entity_added(entity, after),
                      lambda name, old, new: _entity_changes(name, old, new, before, after))
    changes += _named("list", before.lists, after.lists, _list_added, _list_changes)
    changes += _named("workflow", before.workflows, after.workflows, _workflow_added, _workflow_changes)
    changes += _named("role", before.roles, after.roles, lambda role: None, _role_changes)
    return changes


def _packs(before: Model, after: Model, quiet: frozenset[str]) -> list[Change]:
    old = {p.name: p.version for p in before.packs if p.name not in quiet}
    new = {p.name: p.version for p in after.packs if p.name not in quiet}
    changes = [Change("pack", f"{name} {version}", "added") for name, version in new.items() if name not in old]
    changes += [Change("pack", name, "version", detail=(f"{old[name]} -> {version}",) * 2)
                for name, version in new.items() if name in old and old[name] != version]
    changes += [Change("pack", f"{name} {version}", "removed") for name, version in old.items() if name not in new]
    return changes


def _named(
    kind: str, before: Mapping[str, Any], after: Mapping[str, Any],
    added: Callable[[Any], tuple[str, str] | None], changes: Callable[[str, Any, Any], list[Change]],
) -> list[Change]:
    found: list[Change] = []
    for name, item in after.items():
        if name not in before:
            found.append(Change(kind, name, "added", detail=added(item)))
        else:
            found += changes(name, before[name], item)
    found += [Change(kind, name, "removed") for name in before if name not in after]
    return found


def _entity_added(entity: EntityDef, model: Model) -> tuple[str, str]:
    """Its characteristics counted; an owned entity says whose lines its records are (its
    `parent_id` and `position`, the engine's, are not counted)."""
    if entity.owned_by is None:
        return _count(len(entity.fields), "characteristic")
    count = _count(len([f for f in entity.fields if f.name not in OWNED_SYSTEM_FIELDS]), "characteristic")
    owner = model.owner_field(entity.name)
    where = f"{entity.owned_by}.{owner.name}" if owner is not None else entity.owned_by
    return f"lines of {where}, {count[0]}", f"lignes de {where}, {count[1]}"


def _entity_changes(name: str, before: EntityDef, after: EntityDef, old_model: Model, new_model: Model) -> list[Change]:
    changes = _property_changes("entity", name, before, after, skip=("fields", "views", "duplicate_rules", "relations"))
    changes += _members("entity", name, "characteristic", before.fields, after.fields, _field_detail, skip=REVERSE_KEYS,
                        changed_detail=_field_change_detail)
    changes += _reverse_changes(name, before, after, old_model, new_model)
    changes += _members("entity", name, "view", before.views, after.views, lambda v: (v.kind, v.kind),
                        skip_of=_default_panels)
    changes += _members("entity", name, "duplicate rule", before.duplicate_rules, after.duplicate_rules,
                        lambda r: None)
    return changes


REVERSE_KEYS = ("reverse_name", "reverse_label")
"""Said in words by `_reverse_changes` rather than listed."""
RELATION_WORDS = {"link": ("link to", "lien vers"), "links": ("links to", "liens vers"), "lines": ("lines of", "lignes de")}


def _field_detail(f: FieldDef) -> tuple[str, str]:
    """The type, and for a relation its target: `links to contact`."""
    words = RELATION_WORDS.get(f.type)
    if words is None or f.entity is None:
        return f.type, f.type
    return f"{words[0]} {f.entity}", f"{words[1]} {f.entity}"


def _field_change_detail(old: FieldDef, new: FieldDef, changed: list[str]) -> tuple[str, str]:
    """The changed properties; a change of type or target involving a relation in words
    (`link to room becomes links to room`), without what follows from it (its join table, and
    the default `max` of the new kind)."""
    if not ({"type", "entity"} & set(changed) and (old.type in RELATION_WORDS or new.type in RELATION_WORDS)):
        return (", ".join(changed),) * 2
    follows = {"type", "entity", "join_table", "list"} | ({"min", "max"} if old.type != new.type else set())
    rest = ", ".join(c for c in changed if c not in follows)
    (old_en, old_fr), (new_en, new_fr) = _field_detail(old), _field_detail(new)
    return (f"{old_en} becomes {new_en}" + (f"; {rest}" if rest else ""),
            f"{old_fr} devient {new_fr}" + (f" ; {rest}" if rest else ""))


def _default_panels(old: ViewDef, new: ViewDef) -> tuple[str, ...]:
    """Default panels follow the links onto the entity: their changes are said at those links."""
    if not old.declared_related and not new.declared_related:
        return ("related", "declared_related")
    return ("declared_related",)


def _reverse_changes(name: str, before: EntityDef, after: EntityDef, old_model: Model, new_model: Model) -> list[Change]:
    """A link or links kept whose reverse relation is renamed or relabelled."""
    changes: list[Change] = []
    for f in after.fields:
        if f.name not in before.fields_by_name or f.type not in ("link", "links"):
            continue
        old = old_model.reverse_relation(name, f.name) if before.field(f.name).type in ("link", "links") else None
        new = new_model.reverse_relation(name, f.name)
        if old is None or new is None:
            continue
        if old.name != new.name:
            detail = (f"reverse relation {old.name} renamed {new.name}", f"relation inverse {old.name} renommée {new.name}")
        elif old.label != new.label:
            detail = (f"label of the reverse relation {new.name}", f"libellé de la relation inverse {new.name}")
        else:
            continue
        changes.append(Change("entity", name, "changed", "characteristic", f.name, detail))
    return changes


def _list_added(value_list: ValueList) -> tuple[str, str]:
    return _count(len(value_list.values), "value")


def _list_changes(name: str, before: ValueList, after: ValueList) -> list[Change]:
    changes = _property_changes("list", name, before, after, skip=("values",))
    changes += _members("list", name, "value", before.values, after.values, lambda v: None, key="code")
    return changes


def _workflow_added(workflow: WorkflowDef) -> tuple[str, str]:
    statuses, transitions = _count(len(workflow.statuses), "status"), _count(len(workflow.transitions), "transition")
    return f"{statuses[0]}, {transitions[0]}", f"{statuses[1]}, {transitions[1]}"


def _workflow_changes(name: str, before: WorkflowDef, after: WorkflowDef) -> list[Change]:
    changes = _property_changes("workflow", name, before, after, skip=("statuses", "transitions"))
    changes += _members("workflow", name, "status", before.statuses, after.statuses, lambda s: None, key="code")
    changes += _members("workflow", name, "transition", before.transitions, after.transitions,
                        lambda t: (f"to {t.to}", f"vers {t.to}"))
    return changes


def _role_changes(name: str, before: RoleDef, after: RoleDef) -> list[Change]:
    changes = _property_changes("role", name, before, after, skip=("entities",))
    for entity, permission in after.entities.items():
        if entity not in before.entities:
            operations = ", ".join(sorted(permission.operations))
            changes.append(Change("role", name, "added", "permissions", entity,
                                  (operations or "none", operations or "aucun")))
        else:
            changed = _changed_properties(before.entities[entity], permission, skip=())
            if changed:
                changes.append(Change("role", name, "changed", "permissions", entity, (", ".join(changed),) * 2))
    changes += [Change("role", name, "removed", "permissions", entity)
                for entity in before.entities if entity not in after.entities]
    return changes


def _members(
    kind: str, name: str, member_kind: str, before: Iterable[Any], after: Iterable[Any],
    detail: Callable[[Any], tuple[str, str] | None], key: str = "name", skip: Iterable[str] = (),
    skip_of: Callable[[Any, Any], Iterable[str]] | None = None,
    changed_detail: Callable[[Any, Any, list[str]], tuple[str, str]] | None = None,
) -> list[Change]:
    """Members added, changed (the properties that differ, but `skip` and those `skip_of(old, new)`
    names; said by `changed_detail(old, new, properties)` when given) and removed."""
    old = {getattr(item, key): item for item in before}
    new = {getattr(item, key): item for item in after}
    changes: list[Change] = []
    for member, item in new.items():
        if member not in old:
            changes.append(Change(kind, name, "added", member_kind, member, detail(item)))
            continue
        skipped = (*skip, *(skip_of(old[member], item) if skip_of else ()))
        changed = _changed_properties(old[member], item, skip=skipped)
        if changed:
            said = changed_detail(old[member], item, changed) if changed_detail else (", ".join(changed),) * 2
            changes.append(Change(kind, name, "changed", member_kind, member, said))
    changes += [Change(kind, name, "removed", member_kind, member) for member in old if member not in new]
    return changes


def _property_changes(kind: str, name: str, before: Any, after: Any, skip: Iterable[str]) -> list[Change]:
    changed = _changed_properties(before, after, skip)
    return [Change(kind, name, "changed", detail=(", ".join(changed),) * 2)] if changed else []


def _changed_properties(before: Any, after: Any, skip: Iterable[str]) -> list[str]:
    skipped = set(skip) | {"source"}
    return [
        f.name for f in dataclasses.fields(before)
        if f.name not in skipped and f.compare and _plain(getattr(before, f.name)) != _plain(getattr(after, f.name))
    ]


def _plain(value: Any) -> Any:
    """`value` without the places it was written, so that moving a definition is no change."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _plain(getattr(value, f.name))) for f in dataclasses.fields(value)
                     if f.compare and f.name != "source")
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(map(repr, value)))
    return value


def _count(number: int, noun: str) -> tuple[str, str]:
    en_one, en_many, fr_one, fr_many = COUNTED[noun]
    return f"{number} {en_one if number == 1 else en_many}", f"{number} {fr_one if number <= 1 else fr_many}"
