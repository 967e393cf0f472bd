"""The relation parts of the `Model`, built once the entities are: what `metamodel.building.build` delegates.

- an owned entity's system characteristics, `parent_id` (a link to its owner) and `position`;
- each entity's reverse relations (`RelationDef`, from `relations.reverse`);
- the related panels of forms: the declared ones, or one per reverse relation with the
  source entity's list columns (without the relation's own link) and sort, `DEFAULT_PANEL_SIZE`
  rows; `related: []` gives none;
- the paths each list view and panel names, resolved (`ViewDef.paths`, `RelatedPanelDef.paths`).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from metamodel.merge import EntitySpec, Merged
from metamodel.model import (
    PARENT_FIELD,
    POSITION_FIELD,
    EntityDef,
    FieldDef,
    PathDef,
    RelatedPanelDef,
    RelationDef,
    Text,
    ViewDef,
    resolve_path,
)
from metamodel.relations.reverse import ReverseSpec, reverse_specs

DEFAULT_PANEL_SIZE = 10
MAX_PANEL_SIZE = 100
"""The schema's bound of a panel's `size`."""
PARENT_LABEL = Text("Belongs to", "Appartient à")
POSITION_LABEL = Text("Position", "Position")


def owned_system_fields(spec: EntitySpec) -> list[FieldDef]:
    """`parent_id` and `position` of an owned entity (none for another entity). Set by the engine
    only: readonly, mandatory, never offered on a form. `parent_id` is indexed (lines are read by
    owner); the engine orders them by (`parent_id`, `position`)."""
    owner = spec.props.get("owned_by")
    if not owner:
        return []
    source = spec.props.origin_of("owned_by").source()
    common: dict[str, Any] = {"source": source, "mandatory": True, "readonly": True, "systematic": False, "system": True}
    return [
        FieldDef(name=PARENT_FIELD, type="link", label=PARENT_LABEL, entity=owner, indexed=True, **common),
        FieldDef(name=POSITION_FIELD, type="integer", label=POSITION_LABEL, min=0, **common),
    ]


def with_relations(merged: Merged, entities: Mapping[str, EntityDef]) -> dict[str, EntityDef]:
    """`entities` with their reverse relations, their forms' related panels and the paths of their views."""
    relations = {target: tuple(_relation(r) for r in found) for target, found in reverse_specs(merged).items()}
    declared = _declared_panels(merged)
    completed: dict[str, EntityDef] = {}
    for name, entity in entities.items():
        own = relations.get(name, ())
        views = tuple(_complete(view, own, declared.get((name, view.name)), entities) for view in entity.views)
        completed[name] = dataclasses.replace(entity, views=views, relations=own)
    return completed


def _relation(spec: ReverseSpec) -> RelationDef:
    return RelationDef(
        name=spec.name,
        label=Text(spec.label["en"], spec.label["fr"]),
        entity=spec.target,
        source_entity=spec.source_entity,
        source_field=spec.source_field,
        kind=spec.kind,
        source=spec.origin.source(),
    )


def _declared_panels(merged: Merged) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(entity, form view name) -> its declared `related` entries, for the forms that declare them."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for spec in merged.entities.values():
        form = spec.views.get("form")
        if form is not None and "related" in form:
            found[(spec.name, "form")] = form["related"]
    for view in merged.views.values():
        if view.props.get("kind") == "form" and "related" in view.props:
            found[(view.props["entity"], view.name)] = view.props["related"]
    return found


def _complete(view: ViewDef, relations: tuple[RelationDef, ...], declared: list[dict[str, Any]] | None,
              entities: Mapping[str, EntityDef]) -> ViewDef:
    if view.kind == "list":
        named = (*view.columns, *view.filters, *(s.lstrip("-") for s in view.sort), *view.group_by, *view.where)
        return dataclasses.replace(view, paths=_paths(entities, view.entity, named))
    by_name = {r.name: r for r in relations}
    if declared is None:
        panels = tuple(_panel(r, {}, entities) for r in relations)
    else:
        panels = tuple(_panel(by_name[entry["relation"]], entry, entities) for entry in declared)
    return dataclasses.replace(view, related=panels, declared_related=declared is not None)


def _panel(relation: RelationDef, entry: Mapping[str, Any], entities: Mapping[str, EntityDef]) -> RelatedPanelDef:
    source_list = entities[relation.source_entity].view("list")
    if "columns" in entry:
        columns = tuple(entry["columns"])
    else:
        own = relation.source_field
        columns = tuple(c for c in source_list.columns if c != own and not c.startswith(own + ".")) or source_list.columns
    sort = tuple(entry.get("sort", source_list.sort))
    named = (*columns, *(s.lstrip("-") for s in sort))
    return RelatedPanelDef(relation=relation.name, columns=columns, sort=sort,
                           size=entry.get("size", DEFAULT_PANEL_SIZE),
                           paths=_paths(entities, relation.source_entity, named))


def _paths(entities: Mapping[str, EntityDef], entity: str, names: Iterable[str]) -> Mapping[str, PathDef]:
    return MappingProxyType({name: resolve_path(entities, entity, name) for name in dict.fromkeys(names) if "." in name})

