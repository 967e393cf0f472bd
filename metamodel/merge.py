"""Layering: the base pack, then each customer pack in order, merged into one set of specs.

A later pack adds definitions and overrides properties of earlier ones; an entity
extension may also remove characteristics or declare one again (`redeclare: true`, to
change its type, list or target entity), a workflow extension statuses and transitions.
Adding what already exists, extending what does not, changing a characteristic's type,
list or target entity without `redeclare`, and removing or unprotecting a protected status
are conflicts that name both files. A role extension replaces, adds or removes (null) whole
entity entries; a named view extension replaces the keys it gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from metamodel.errors import Problem
from metamodel.sources import Origin, Props
from metamodel.suggestions import did_you_mean
from metamodel.yaml_source import Document

FOLDERS = ("lists", "workflows", "entities", "views", "roles")
"""Pack subfolders, in the order their documents are merged."""

KIND_OF_FOLDER = {"entities": "entity", "lists": "list", "workflows": "workflow", "views": "view", "roles": "role"}
"""The document kind (schema name, and the key that names the definition) of each folder."""
FIXED_CHARACTERISTIC_KEYS = ("list", "entity")
EXCLUSIVE_DEFAULTS = {"default": "default_expr", "default_expr": "default"}
REDECLARE_HINT = "; to change it, declare it again in full with `redeclare: true`"
LAYOUT_NAME_LISTS = ("columns", "filters", "group_by", "mass_update")


@dataclass(eq=False)
class PackDocuments:
    """One pack's schema-valid documents, by folder, in file order."""

    layer: int
    folders: dict[str, list[Document]] = field(default_factory=dict)


@dataclass(eq=False)
class EntitySpec:
    name: str
    origin: Origin
    """The `entity:` value of the declaring document."""
    props: Props
    characteristics: dict[str, Props]
    views: dict[str, Props]
    duplicates: dict[str, Props] = field(default_factory=dict)
    """Duplicate rules by name, each with the origin of the pack that declared it."""
    removed_characteristics: dict[str, Origin] = field(default_factory=dict)
    """Characteristics a later pack removed, and where: so that what still names them can say so."""


@dataclass(eq=False)
class ListSpec:
    name: str
    origin: Origin
    props: Props
    values: dict[str, Props]
    implicit_order: dict[str, int]


@dataclass(eq=False)
class WorkflowSpec:
    name: str
    origin: Origin
    props: Props
    statuses: dict[str, Props]
    implicit_sequence: dict[str, int]
    transitions: dict[str, Props]
    removed_statuses: dict[str, Origin] = field(default_factory=dict)
    """Codes a later pack removed, and where: so that what still names them can say so."""


@dataclass(eq=False)
class ViewSpec:
    name: str
    origin: Origin
    props: Props


@dataclass(eq=False)
class RoleSpec:
    name: str
    origin: Origin
    props: Props
    entities: dict[str, Props]
    """Entity name (or "*") -> its entry, each with the origin of the pack that wrote it last."""


@dataclass(eq=False)
class Merged:
    entities: dict[str, EntitySpec] = field(default_factory=dict)
    lists: dict[str, ListSpec] = field(default_factory=dict)
    workflows: dict[str, WorkflowSpec] = field(default_factory=dict)
    views: dict[str, ViewSpec] = field(default_factory=dict)
    roles: dict[str, RoleSpec] = field(default_factory=dict)


def merge_packs(packs: Iterable[PackDocuments]) -> tuple[Merged, list[Problem]]:
    merger = _Merger()
    for pack in packs:
        for folder in FOLDERS:
            documents = pack.folders.get(folder, [])
            for doc in documents:
                if "extends" not in doc.data:
                    merger.declare(folder, doc, pack.layer)
            for doc in documents:
                if "extends" in doc.data:
                    merger.extend(folder, doc, pack.layer)
    return merger.merged, merger.problems


class _Merger:
    def __init__(self) -> None:
        self.merged = Merged()
        self.problems: list[Problem] = []

    def _registry(self, folder: str) -> dict[str, Any]:
        return getattr(self.merged, folder)

    # -- declarations ---------------------------------------------------------------
    def declare(self, folder: str, doc: Document, layer: int) -> None:
        kind = KIND_OF_FOLDER[folder]
        name = doc.data[kind]
        origin = Origin(doc, (kind,), layer)
        registry = self._registry(folder)
        if name in registry:
            self.problems.append(origin.problem(f"{kind} '{name}' already declared in {registry[name].origin}"))
            return
        root = Props(doc.data, Origin(doc, (), layer))
        if folder == "entities":
            registry[name] = self._entity(name, origin, root, doc, layer)
        elif folder == "lists":
            spec = ListSpec(name, origin, root, {}, {})
            self._add_values(spec, doc, layer, doc.data["values"], appended=False)
            registry[name] = spec
        elif folder == "workflows":
            workflow = WorkflowSpec(name, origin, root, {}, {}, {})
            self._add_statuses(workflow, doc, layer, doc.data["statuses"], appended=False)
            self._add_transitions(workflow, doc, layer, doc.data.get("transitions", ()))
            registry[name] = workflow
        elif folder == "roles":
            entries = {
                entity: Props(entry, Origin(doc, ("entities", entity), layer))
                for entity, entry in (doc.data.get("entities") or {}).items()
            }
            registry[name] = RoleSpec(name, origin, root, entries)
        else:
            registry[name] = ViewSpec(name, origin, root)

    def _entity(self, name: str, origin: Origin, root: Props, doc: Document, layer: int) -> EntitySpec:
        for char_name, entry in doc.data["characteristics"].items():
            if "redeclare" in entry:
                self.problems.append(Origin(doc, ("characteristics", char_name, "redeclare"), layer).problem(
                    "only an `extends:` document can redeclare a characteristic"))
        characteristics = {
            char_name: Props(entry, Origin(doc, ("characteristics", char_name), layer))
            for char_name, entry in doc.data["characteristics"].items()
        }
        views = {
            kind: Props(layout, Origin(doc, ("views", kind), layer))
            for kind, layout in (doc.data.get("views") or {}).items()
        }
        duplicates = {
            rule: Props(entry, Origin(doc, ("duplicates", rule), layer))
            for rule, entry in (doc.data.get("duplicates") or {}).items()
        }
        return EntitySpec(name, origin, root, characteristics, views, duplicates)

    def _add_values(self, spec: ListSpec, doc: Document, layer: int, entries: list[dict[str, Any]], *, appended: bool) -> None:
        """Declared values default to position x 10; values added by an extension go after the last one."""
        last = max((v.get("order", spec.implicit_order[c]) for c, v in spec.values.items()), default=0)
        for index, entry in enumerate(entries):
            code = entry["code"]
            origin = Origin(doc, ("values", index), layer)
            existing = spec.values.get(code)
            if existing is not None:
                self.problems.append(origin.child("code").problem(f"value '{code}' already declared in {existing.origin.child('code')}"))
                continue
            spec.values[code] = Props(entry, origin)
            spec.implicit_order[code] = last + 10 if appended else 10 * (index + 1)
            last = max(last, entry.get("order", spec.implicit_order[code]))

    def _add_statuses(self, spec: WorkflowSpec, doc: Document, layer: int, entries: list[dict[str, Any]], *, appended: bool) -> None:
        """Like values: position x 10 when declared, after the last status when added."""
        last = max((s.get("sequence", spec.implicit_sequence[c]) for c, s in spec.statuses.items()), default=0)
        for index, entry in enumerate(entries):
            code = entry["code"]
            origin = Origin(doc, ("statuses", index), layer)
            existing = spec.statuses.get(code)
            if existing is not None:
                self.problems.append(origin.child("code").problem(f"status '{code}' already declared in {existing.origin.child('code')}"))
                continue
            spec.statuses[code] = Props(entry, origin)
            spec.removed_statuses.pop(code, None)
            spec.implicit_sequence[code] = last + 10 if appended else 10 * (index + 1)
            last = max(last, entry.get("sequence", spec.implicit_sequence[code]))

    def _add_transitions(self, spec: WorkflowSpec, doc: Document, layer: int, entries: Iterable[dict[str, Any]]) -> None:
        for index, entry in enumerate(entries):
            name = entry["name"]
            origin = Origin(doc, ("transitions", index), layer)
            existing = spec.transitions.get(name)
            if existing is not None:
                self.problems.append(origin.child("name").problem(f"transition '{name}' already declared in {existing.origin.child('name')}"))
                continue
            spec.transitions[name] = Props(entry, origin)

    # -- extensions -----------------------------------------------------------------
    def extend(self, folder: str, doc: Document, layer: int) -> None:
        """Apply an `extends:` document."""
        name = doc.data["extends"]
        spec = self._registry(folder).get(name)
        origin = Origin(doc, (), layer)
        if spec is None:
            self.problems.append(origin.child("extends").problem(
                f"unknown {KIND_OF_FOLDER[folder]} '{name}': no earlier pack declares it"
                f"{did_you_mean(name, self._registry(folder))}"))
            return
        for key in ("label", "plural", "title", "workflow", "natural_key"):
            if key in doc.data:
                spec.props.set(key, doc.data[key], origin.child(key))
        if folder == "entities":
            self._extend_entity(spec, doc, origin)
        elif folder == "lists":
            self._extend_list(spec, doc, origin)
        elif folder == "roles":
            self._extend_role(spec, doc, origin)
        elif folder == "views":
            self._extend_view(spec, doc, origin)
        else:
            self._extend_workflow(spec, doc, origin)

    def _extend_entity(self, spec: EntitySpec, doc: Document, origin: Origin) -> None:
        """Removals first (so that a removed name can be declared again), then declarations,
        redeclarations and overrides of characteristics, then views and duplicate rules."""
        removed = self._remove_characteristics(spec, doc.data.get("remove_characteristics") or [], origin)
        declared = doc.data.get("characteristics") or {}
        renames = {old: name for name, entry in declared.items() for old in former_names(entry.get("renamed_from"))}
        for name, here in removed.items():
            self._take_out_of_views(spec, name, renames.get(name), here)
        for char_name, entry in declared.items():
            here = origin.child("characteristics", char_name)
            existing = spec.characteristics.get(char_name)
            if "type" in entry:
                self._declare_characteristic(spec, char_name, entry, existing, here)
                continue
            if existing is None:
                self.problems.append(here.problem(
                    f"unknown characteristic '{char_name}' of entity '{spec.name}' (declared in {spec.origin})"
                    f"{removed_by(spec, char_name) or did_you_mean(char_name, spec.characteristics)}; "
                    f"give it a type to add it"))
                continue
            self._override(existing, entry, here, char_name)
        for kind, layout in (doc.data.get("views") or {}).items():
            here = origin.child("views", kind)
            current = spec.views.get(kind)
            if current is None:
                spec.views[kind] = Props(layout, here)
            else:
                for key, value in layout.items():
                    current.set(key, value, here.child(key))
        for rule, entry in (doc.data.get("duplicates") or {}).items():
            here = origin.child("duplicates", rule)
            existing_rule = spec.duplicates.get(rule)
            if existing_rule is not None:
                self.problems.append(here.problem(f"duplicate rule '{rule}' already declared in {existing_rule.origin}", at_key=True))
                continue
            spec.duplicates[rule] = Props(entry, here)

    def _declare_characteristic(self, spec: EntitySpec, char_name: str, entry: dict[str, Any], existing: Props | None,
                                here: Origin) -> None:
        """A characteristic with its `type`: new, or (`redeclare: true`) replacing an earlier
        declaration as a whole, in its place; the migration converts the stored values."""
        if entry.get("redeclare"):
            if existing is None:
                self.problems.append(here.child("redeclare").problem(
                    f"nothing to redeclare: no earlier pack declares '{char_name}' of entity '{spec.name}'"
                    f"{removed_by(spec, char_name)}; leave `redeclare` out to add it"))
                return
            spec.characteristics[char_name] = Props({k: v for k, v in entry.items() if k != "redeclare"}, here)
        elif existing is None:
            spec.characteristics[char_name] = Props(entry, here)
            spec.removed_characteristics.pop(char_name, None)
        elif entry["type"] != existing.get("type"):
            self.problems.append(here.child("type").problem(
                f"cannot change the type of '{char_name}' from {existing.get('type')} to {entry['type']}"
                f" (declared in {existing.origin}){REDECLARE_HINT}"))
        else:
            self.problems.append(here.problem(f"already declared in {existing.origin}{REDECLARE_HINT}"))

    def _remove_characteristics(self, spec: EntitySpec, names: list[str], origin: Origin) -> dict[str, Origin]:
        """Take `names` out of the entity; returns those removed, each with where."""
        removed: dict[str, Origin] = {}
        for index, name in enumerate(names):
            here = origin.child("remove_characteristics", index)
            if name in names[:index]:
                self.problems.append(here.problem(f"'{name}' is listed twice"))
            elif name not in spec.characteristics:
                self.problems.append(here.problem(
                    f"unknown characteristic '{name}' of entity '{spec.name}' (declared in {spec.origin})"
                    f"{removed_by(spec, name) or did_you_mean(name, spec.characteristics)}"))
            else:
                del spec.characteristics[name]
                spec.removed_characteristics[name] = removed[name] = here
        return removed

    def _take_out_of_views(self, spec: EntitySpec, name: str, successor: str | None, here: Origin) -> None:
        """A removed characteristic leaves the entity's views (its own and the named views of
        earlier packs: columns, sort, sections... but not a `where` condition, which would change
        what the view shows) and the roles' hidden and readonly lists. A `successor` declared with
        `renamed_from: name` takes its places instead, there and in the `where` conditions, the
        title, the natural key and the duplicate rules. What else names it (an expression; a
        title, natural key or duplicate rule when it is removed) is reported by the checks."""
        named = [v.props for v in self.merged.views.values() if v.props.get("entity") == spec.name]
        for layout in [*spec.views.values(), *named]:
            _replace_in_layout(layout, name, successor, here)
        for role in self.merged.roles.values():
            entry = role.entities.get(spec.name)
            if entry is not None:
                _replace_in_names(entry, ("hidden", "readonly"), name, successor, here)
        if successor is None:
            return
        title = spec.props.get("title")
        if isinstance(title, str) and (f"{{{name}}}" in title or f"{{{name}." in title):
            renamed = title.replace(f"{{{name}}}", f"{{{successor}}}").replace(f"{{{name}.", f"{{{successor}.")
            spec.props.set("title", renamed, here)
        _replace_in_names(spec.props, ("natural_key",), name, successor, here)
        for rule in spec.duplicates.values():
            _replace_in_names(rule, ("match",), name, successor, here)

    def _override(self, existing: Props, entry: dict[str, Any], here: Origin, char_name: str) -> None:
        for key, value in entry.items():
            if key in FIXED_CHARACTERISTIC_KEYS:
                if value != existing.get(key):
                    self.problems.append(here.child(key).problem(
                        f"cannot change the {key} of '{char_name}' from {existing.get(key)} to {value}"
                        f" (declared in {existing.origin}){REDECLARE_HINT}"))
                continue
            existing.set(key, value, here.child(key))
            other = EXCLUSIVE_DEFAULTS.get(key)
            if value is not None and other is not None and other in existing and other not in entry:
                existing.set(other, None, here.child(key))

    @staticmethod
    def _extend_view(spec: ViewSpec, doc: Document, origin: Origin) -> None:
        """Each key given replaces the earlier one (the view's entity and kind stay)."""
        for key, value in doc.data.items():
            if key not in ("extends", "$schema", "label"):
                spec.props.set(key, value, origin.child(key))

    def _extend_list(self, spec: ListSpec, doc: Document, origin: Origin) -> None:
        self._add_values(spec, doc, origin.layer, doc.data.get("values") or [], appended=True)
        for code, changes in (doc.data.get("overrides") or {}).items():
            here = origin.child("overrides", code)
            value = spec.values.get(code)
            if value is None:
                self.problems.append(here.problem(f"unknown value '{code}' in list '{spec.name}' (declared in {spec.origin})", at_key=True))
                continue
            for key, new in changes.items():
                value.set(key, new, here.child(key))

    def _extend_role(self, spec: RoleSpec, doc: Document, origin: Origin) -> None:
        """Later packs win entry by entry: an entry replaces the earlier one as a whole, null removes it."""
        for entity, entry in (doc.data.get("entities") or {}).items():
            here = origin.child("entities", entity)
            if entry is not None:
                spec.entities[entity] = Props(entry, here)
            elif entity in spec.entities:
                del spec.entities[entity]
            else:
                self.problems.append(here.problem(
                    f"role '{spec.name}' has no entry for '{entity}' to remove (declared in {spec.origin})", at_key=True))

    def _extend_workflow(self, spec: WorkflowSpec, doc: Document, origin: Origin) -> None:
        """Removals first (so a removed code or name can be declared again), then overrides, then additions."""
        data = doc.data
        self._remove_transitions(spec, data.get("remove_transitions") or [], origin)
        self._remove_statuses(spec, data.get("remove_statuses") or [], origin)
        self._override_statuses(spec, data.get("override_statuses") or {}, origin)
        self._override_transitions(spec, data.get("override_transitions") or {}, origin)
        self._add_statuses(spec, doc, origin.layer, data.get("statuses") or [], appended=True)
        self._add_transitions(spec, doc, origin.layer, data.get("transitions") or [])
        self._move_initial_flag(spec, origin.layer)

    def _remove_transitions(self, spec: WorkflowSpec, names: list[str], origin: Origin) -> None:
        for index, name in enumerate(names):
            here = origin.child("remove_transitions", index)
            if name in names[:index]:
                self.problems.append(here.problem(f"'{name}' is listed twice"))
            elif name not in spec.transitions:
                self.problems.append(here.problem(f"unknown transition '{name}' in workflow '{spec.name}' (declared in {spec.origin})"))
            else:
                del spec.transitions[name]

    def _remove_statuses(self, spec: WorkflowSpec, codes: list[str], origin: Origin) -> None:
        for index, code in enumerate(codes):
            here = origin.child("remove_statuses", index)
            status = spec.statuses.get(code)
            if code in codes[:index]:
                self.problems.append(here.problem(f"'{code}' is listed twice"))
            elif status is None:
                self.problems.append(here.problem(f"unknown status '{code}' in workflow '{spec.name}' (declared in {spec.origin})"))
            elif status.get("protected"):
                self.problems.append(here.problem(
                    f"'{code}' is protected (declared in {status.origin_of('protected')}) and cannot be removed"))
            else:
                del spec.statuses[code]
                del spec.implicit_sequence[code]
                spec.removed_statuses[code] = here
                self._drop_status_from_transitions(spec, code, here)

    @staticmethod
    def _drop_status_from_transitions(spec: WorkflowSpec, code: str, here: Origin) -> None:
        """Transitions into a removed status go; it leaves the `from` lists (a list left empty takes its transition along)."""
        for name, transition in list(spec.transitions.items()):
            sources = transition["from"]
            if transition["to"] == code:
                del spec.transitions[name]
            elif isinstance(sources, list) and code in sources:
                remaining = [c for c in sources if c != code]
                if remaining:
                    transition.set("from", remaining, here)
                else:
                    del spec.transitions[name]

    def _override_statuses(self, spec: WorkflowSpec, overrides: dict[str, dict[str, Any]], origin: Origin) -> None:
        for code, changes in overrides.items():
            here = origin.child("override_statuses", code)
            status = spec.statuses.get(code)
            if status is None:
                self.problems.append(here.problem(
                    f"unknown status '{code}' in workflow '{spec.name}' (declared in {spec.origin})", at_key=True))
                continue
            for key, value in changes.items():
                if key == "protected":
                    self.problems.append(here.child(key).problem(self._protected_refusal(code, status), at_key=True))
                else:
                    status.set(key, value, here.child(key))

    @staticmethod
    def _protected_refusal(code: str, status: Props) -> str:
        if status.get("protected"):
            return (f"'{code}' is protected (declared in {status.origin_of('protected')}) and stays protected:"
                    " only the pack that declares a status sets this flag")
        return f"only the pack that declares status '{code}' ({status.origin.child('code')}) can set its protected flag"

    def _override_transitions(self, spec: WorkflowSpec, overrides: dict[str, dict[str, Any]], origin: Origin) -> None:
        for name, changes in overrides.items():
            here = origin.child("override_transitions", name)
            transition = spec.transitions.get(name)
            if transition is None:
                self.problems.append(here.problem(
                    f"unknown transition '{name}' in workflow '{spec.name}' (declared in {spec.origin})", at_key=True))
                continue
            for key, value in changes.items():
                transition.set(key, value, here.child(key))
            if "guard" in changes and changes["guard"] is None and "guard_message" not in changes:
                transition.set("guard_message", None, here.child("guard"))

    @staticmethod
    def _move_initial_flag(spec: WorkflowSpec, layer: int) -> None:
        """A status this pack makes initial replaces the initial status of earlier packs."""
        flagged_here = [s for s in spec.statuses.values() if s.get("initial") and s.origin_of("initial").layer == layer]
        if not flagged_here:
            return
        for status in spec.statuses.values():
            if status.get("initial") and status.origin_of("initial").layer < layer:
                status.set("initial", None, flagged_here[0].origin_of("initial"))


def removed_by(spec: EntitySpec, name: str) -> str:
    """` (removed by FILE:LINE)` when a later pack removed characteristic `name`, else nothing."""
    removed = spec.removed_characteristics.get(name)
    return f" (removed by {removed})" if removed is not None else ""


def former_names(renamed_from: str | list[str] | None) -> tuple[str, ...]:
    """A characteristic's `renamed_from` as its former names, oldest first."""
    if renamed_from is None:
        return ()
    return (renamed_from,) if isinstance(renamed_from, str) else tuple(renamed_from)


def names_without(names: list[str], name: str, successor: str | None = None) -> list[str]:
    """`names` with `name` replaced by `successor`, or left out when there is none."""
    return [successor if n == name else n for n in names if n != name or successor]


def _replace_in_names(props: Props, keys: Iterable[str], name: str, successor: str | None, here: Origin) -> None:
    """`name` replaced (or taken out) in the name lists `keys` of `props` (a list left empty goes)."""
    for key in keys:
        names = props.get(key)
        if isinstance(names, list) and name in names:
            props.set(key, names_without(names, name, successor) or None, here)


def paths_without(names: list[str], name: str, successor: str | None = None) -> list[str]:
    """`names` (fields or paths through links, `-` prefixed or not) with characteristic `name`
    replaced by `successor` where it is the field or the path's first link, or left out."""
    kept = []
    for entry in names:
        sign = "-" if entry.startswith("-") else ""
        head, dot, rest = entry.lstrip("-").partition(".")
        if head != name:
            kept.append(entry)
        elif successor:
            kept.append(f"{sign}{successor}{dot}{rest}")
    return kept


def layout_without(layout: dict[str, Any], name: str, successor: str | None = None) -> dict[str, Any]:
    """A list or form layout without characteristic `name` (or with `successor` in its places,
    its `where` condition included): its columns, filters, groups, mass-update fields, sort and
    form sections (a list or section left empty goes). A path through `name` (`account.sector`
    when `account` goes) goes with it, or starts from `successor`."""
    result = dict(layout)
    for key in (*LAYOUT_NAME_LISTS, "sort"):
        if isinstance(result.get(key), list):
            result[key] = paths_without(result[key], name, successor)
    if isinstance(result.get("sections"), list):
        sections = [{**s, "fields": names_without(list(s.get("fields", ())), name, successor)} for s in result["sections"]]
        result["sections"] = [s for s in sections if s["fields"]]
    if successor and isinstance(result.get("where"), dict):
        result["where"] = {(paths_without([key], name, successor) or [key])[0]: value
                           for key, value in result["where"].items()}
    return {key: value for key, value in result.items() if value != [] or layout.get(key) == []}


def _replace_in_layout(layout: Props, name: str, successor: str | None, here: Origin) -> None:
    kept = layout_without(layout.values, name, successor)
    for key in list(layout.values):
        if kept.get(key) != layout.get(key):
            layout.set(key, kept.get(key), here)
