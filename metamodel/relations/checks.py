"""The rules of lines, many-to-many links and reverse relations, on the merged definitions.

Each problem names the file and line of what breaks the rule, in words an administrator
understands. What `metamodel.checking.checks` already reports (an unknown target entity, a property
that does not apply to a type) is not reported again here. Paths and form panels are checked
with the views, in `metamodel.checking.checks`.

Lines (`lines: {type: lines, entity: quote_line}` on the owner, `owned_by: quote` on the owned
entity): the owner exists and is not itself owned (one level of lines); exactly one `lines`
characteristic of the owner names the owned entity, and a `lines` names only an entity owned by
its entity; an owned entity has no workflow, list layout, form panels, duplicate rules, named
views, role entries, reverse relations nor `lines` of its own, declares no `parent_id` or
`position`, and no `link`, `links` or workflow `create` names it.
"""

from __future__ import annotations

from typing import Callable

from metamodel.errors import Problem
from metamodel.identifiers import MAX_TABLE_NAME_LENGTH, join_table_name
from metamodel.merge import EntitySpec, Merged
from metamodel.model import MAX_LINES, MAX_LINKS, OWNED_SYSTEM_FIELDS, SYSTEM_COLUMNS
from metamodel.relations.reverse import ReverseSpec, reverse_specs
from metamodel.sources import Origin, Props
from metamodel.suggestions import did_you_mean
from metamodel.values import an, show

Report = Callable[..., None]
"""`report(origin, message, at_key=False)`."""

COUNTED = {"lines": ("lines", MAX_LINES), "links": ("members", MAX_LINKS)}
"""Collection type -> (what its min and max count, its hard ceiling)."""


def owned_refusal(merged: Merged, entity: str, what: str) -> str | None:
    """Why `what` (e.g. "a link") cannot name `entity`, or None when it is not owned."""
    spec = merged.entities.get(entity)
    owner = spec.props.get("owned_by") if spec is not None else None
    if not owner:
        return None
    return (f"'{entity}' is owned by '{owner}': its records are lines of {an(owner)} record, edited with it; "
            f"{what} cannot name them (name '{owner}' instead)")


def check_relations(merged: Merged, relations: dict[str, list[ReverseSpec]] | None = None) -> list[Problem]:
    """Every problem of lines, links and reverse names; `relations` are `reverse_specs(merged)` when
    the caller has them already."""
    problems: list[Problem] = []
    report = lambda origin, message, at_key=False: problems.append(origin.problem(message, at_key=at_key))  # noqa: E731
    owned = {name for name, spec in merged.entities.items() if spec.props.get("owned_by")}
    lines_of: dict[str, list[tuple[EntitySpec, str, Props]]] = {}
    join_tables: dict[str, tuple[str, Origin]] = {}
    for spec in merged.entities.values():
        if spec.name in owned:
            _check_owned(merged, spec, report)
        for name, char in spec.characteristics.items():
            field_type = char.get("type")
            target = char.get("entity")
            if field_type in COUNTED:
                _check_counts(char, field_type, report)
            if field_type == "lines" and target in merged.entities:
                lines_of.setdefault(target, []).append((spec, name, char))
            elif field_type in ("link", "links") and target in owned:
                what = "a link" if field_type == "link" else "a links characteristic"
                report(char.origin_of("entity"), owned_refusal(merged, target, what))
            if field_type == "links":
                _check_join_table(merged, spec, name, char, join_tables, report)
    for target, declaring in lines_of.items():
        _check_lines(merged, target, declaring, report)
    for spec in merged.entities.values():
        owner = spec.props.get("owned_by")
        if owner and owner in merged.entities and owner != spec.name and spec.name not in lines_of:
            _owner_without_lines(spec, owner, report)
    _check_reverse_names(merged, reverse_specs(merged) if relations is None else relations, report)
    _check_other_documents(merged, owned, report)
    return problems


# -- owned entities ------------------------------------------------------------------------
def _check_owned(merged: Merged, spec: EntitySpec, report: Report) -> None:
    owner = spec.props["owned_by"]
    here = spec.props.origin_of("owned_by")
    owner_spec = merged.entities.get(owner)
    if owner_spec is None:
        report(here, f"unknown entity '{owner}'{did_you_mean(owner, merged.entities)}")
    elif owner == spec.name:
        report(here, f"entity '{owner}' cannot own its own records")
    elif owner_spec.props.get("owned_by"):
        report(here, f"'{owner}' is itself owned by '{owner_spec.props['owned_by']}': lines are one level deep, "
                     f"lines cannot have lines")
    lines = f"its records are the lines of '{owner}'"
    if spec.props.get("workflow"):
        report(spec.props.origin_of("workflow"), f"an owned entity has no workflow: {lines} and follow it")
    if "list" in spec.views:
        report(spec.views["list"].origin, f"an owned entity has no list of its own: {lines}, edited on its form "
                                          f"with the columns of this entity's form (views.form)", at_key=True)
    form = spec.views.get("form")
    if form is not None and "related" in form:
        report(form.origin_of("related"), f"an owned entity has no page of its own, hence no related panels: {lines}",
               at_key=True)
    if spec.duplicates:
        first = next(iter(spec.duplicates.values()))
        report(first.origin, f"an owned entity has no duplicate rules: {lines}", at_key=True)
    for name, char in spec.characteristics.items():
        if name in OWNED_SYSTEM_FIELDS:
            report(char.origin, f"'{name}' is reserved for a system column of owned entities", at_key=True)
        if char.get("type") == "lines":
            report(char.origin_of("type"), f"lines cannot have lines: '{spec.name}' is itself owned by '{owner}' "
                                           f"(one level of lines)")
        if "reverse" in char:
            report(char.origin_of("reverse"), f"the links of an owned entity make no reverse relation: {lines}, "
                                              f"which have no page of their own", at_key=True)


def _check_lines(merged: Merged, target: str, declaring: list[tuple[EntitySpec, str, Props]], report: Report) -> None:
    """Each owned entity is the lines of one characteristic, of its owner."""
    target_spec = merged.entities[target]
    owner = target_spec.props.get("owned_by")
    matching = []
    for spec, name, char in declaring:
        if owner == spec.name:
            matching.append((spec, name, char))
        elif not owner:
            report(char.origin_of("entity"), f"'{target}' is not an owned entity ({target_spec.origin}): lines are the "
                                             f"records of an entity declared with `owned_by: {spec.name}`")
        else:
            report(char.origin_of("entity"), f"'{target}' is owned by '{owner}' "
                                             f"({target_spec.props.origin_of('owned_by')}): its records are the lines "
                                             f"of one entity only")
    first = matching[0] if matching else None
    for spec, name, char in matching[1:]:
        report(char.origin_of("entity"), f"'{target}' already holds the lines of characteristic '{first[1]}' "
                                         f"({first[2].origin}): an owned entity is the lines of one characteristic only")


def _owner_without_lines(spec: EntitySpec, owner: str, report: Report) -> None:
    report(spec.props.origin_of("owned_by"),
           f"entity '{owner}' has no lines characteristic for '{spec.name}': declare one in '{owner}', e.g. "
           f"`lines: {{type: lines, entity: {spec.name}, label: ...}}`")


def _check_counts(char: Props, field_type: str, report: Report) -> None:
    """`min` and `max` of lines and links: whole numbers of lines or members, within the ceiling."""
    noun, ceiling = COUNTED[field_type]
    ok = True
    for key, lowest in (("min", 0), ("max", 1)):
        if key not in char:
            continue
        value = char[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < lowest:
            report(char.origin_of(key), f"{show(value)} is not a number of {noun}: a whole number from {lowest}")
            ok = False
        elif value > ceiling:
            report(char.origin_of(key), f"{int(value):,} is more than the limit of {ceiling:,} {noun}")
            ok = False
        else:
            char.typed[key] = int(value)
    low, high = char.typed.get("min"), char.typed.get("max")
    if ok and low is not None and high is not None and low > high:
        if char.origin_of("min").layer > char.origin_of("max").layer:
            report(char.origin_of("min"), f"{low} is greater than max {high}")
        else:
            report(char.origin_of("max"), f"{high} is less than min {low}")


def _check_join_table(merged: Merged, spec: EntitySpec, name: str, char: Props,
                      seen: dict[str, tuple[str, Origin]], report: Report) -> None:
    table = join_table_name(spec.name, name)
    its = f"the join table of '{name}', '{table}',"
    if len(table) > MAX_TABLE_NAME_LENGTH:
        report(char.origin, f"{its} would have {len(table)} characters, more than "
                            f"{MAX_TABLE_NAME_LENGTH}: shorten the characteristic's name", at_key=True)
    elif table in merged.entities:
        report(char.origin, f"{its} has the name of entity '{table}' "
                            f"({merged.entities[table].origin}): rename one of them", at_key=True)
    elif table in seen:
        other, origin = seen[table]
        report(char.origin, f"{its} is also the one of '{other}' ({origin}): rename one of them", at_key=True)
    else:
        seen[table] = (f"{spec.name}.{name}", char.origin)


# -- reverse relations ---------------------------------------------------------------------
def _check_reverse_names(merged: Merged, found: dict[str, list[ReverseSpec]], report: Report) -> None:
    """A reverse relation's name is neither a field of its target nor another relation's name."""
    for target, relations in found.items():
        spec = merged.entities[target]
        taken: dict[str, ReverseSpec] = {}
        for relation in relations:
            clash = _field_clash(spec, relation.name)
            if clash:
                report(relation.origin, f"{_makes(relation)}, which is the name of {clash}: "
                                        f"{_rename(relation)}", at_key=not relation.declared)
            elif relation.name in taken:
                other = taken[relation.name]
                report(relation.origin, f"{_makes(relation)}, which characteristic '{other.source_field}' of "
                                        f"entity '{other.source_entity}' makes too ({other.origin}): "
                                        f"{_rename(relation)}", at_key=not relation.declared)
            else:
                taken[relation.name] = relation


def _field_clash(spec: EntitySpec, name: str) -> str | None:
    char = spec.characteristics.get(name)
    if char is not None:
        return f"characteristic '{name}' of '{spec.name}' ({char.origin})"
    if name in SYSTEM_COLUMNS or (name == "status" and spec.props.get("workflow")):
        return f"the system column '{name}' of '{spec.name}'"
    return None


def _makes(relation: ReverseSpec) -> str:
    return (f"characteristic '{relation.source_field}' makes the reverse relation '{relation.name}' "
            f"on entity '{relation.target}'")


def _rename(relation: ReverseSpec) -> str:
    if relation.declared:
        return "give the relation another name"
    return "name the relation with `reverse: NAME` on the characteristic"


# -- documents naming owned entities -------------------------------------------------------
def _check_other_documents(merged: Merged, owned: set[str], report: Report) -> None:
    for view in merged.views.values():
        entity = view.props.get("entity")
        if entity in owned:
            owner = merged.entities[entity].props["owned_by"]
            report(view.props.origin_of("entity"),
                   f"'{entity}' is owned by '{owner}': its lines have no views of their own (the owner's form edits "
                   f"them with the columns of their form)")
    for role in merged.roles.values():
        for entity, entry in role.entities.items():
            if entity in owned:
                owner = merged.entities[entity].props["owned_by"]
                report(entry.origin, f"'{entity}' is owned by '{owner}': its lines follow the permissions of "
                                     f"'{owner}' (hide or protect its lines characteristic in the entry of "
                                     f"'{owner}')", at_key=True)


