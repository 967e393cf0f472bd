"""Semantic rules checked on the merged definitions, after the schemas passed.

Each problem points at the file and line where the offending value was written, which
after layering may be a customer pack's `extends:` document. Checks skip what an
earlier problem already explains (an unknown list is reported once, not again for
the default that cannot be checked against it).

The checks also leave their results on the specs for `build`: typed bounds and
defaults (`Props.typed`), the expanded `from` of transitions and the initial status.
"""

from __future__ import annotations

import re
import string
from typing import Any, Collection, Iterable, Iterator

from metamodel.errors import Problem
from metamodel.expressions import ExpressionError, compile_expression
from metamodel.identifiers import IDENTIFIER_RE, reserved_entity_reason, reserved_field_reason
from metamodel.merge import EntitySpec, ListSpec, Merged, ViewSpec, WorkflowSpec
from metamodel.model import FIELD_TYPES, LIST_TYPES, NUMBER_TYPES, SYSTEM_COLUMNS, TEMPORAL_TYPES, TEXT_TYPES
from metamodel.sources import Origin, Props
from metamodel.values import (
    DEFAULT_PRECISION,
    DEFAULT_SCALE,
    DEFAULT_STRING_LENGTH,
    BadValue,
    an,
    show,
    typed,
)

DECLARABLE_TYPES = FIELD_TYPES - {"status"}
BOUNDED_TYPES = NUMBER_TYPES | TEMPORAL_TYPES
PATTERN_TYPES = frozenset({"string", "phone", "url", "email"})
APPLIES_TO: dict[str, frozenset[str]] = {
    "min": BOUNDED_TYPES,
    "max": BOUNDED_TYPES,
    "min_length": TEXT_TYPES,
    "max_length": TEXT_TYPES,
    "pattern": PATTERN_TYPES,
    "searchable": TEXT_TYPES,
    "list": LIST_TYPES,
    "entity": frozenset({"link"}),
    "scale": frozenset({"decimal"}),
    "precision": frozenset({"decimal"}),
    "unique": DECLARABLE_TYPES - {"multi_choice"},
    "default": DECLARABLE_TYPES - {"link"},
}
SYSTEM_COLUMN_TYPES = {
    "id": "integer",
    "version": "integer",
    "created_at": "datetime",
    "updated_at": "datetime",
    "deleted_at": "datetime",
    "created_by": "link",
    "updated_by": "link",
}
LIST_VIEW_KEYS = ("columns", "filters", "sort", "group_by", "mass_update", "where", "page_size")
STATUS_MOVES = "the status changes through workflow transitions"


class _AnyName(Collection[str]):
    """Every name: checks the syntax of expressions of a workflow no entity uses yet."""

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def check_merged(merged: Merged) -> list[Problem]:
    checker = _Checker(merged)
    checker.run()
    return checker.problems


class _EntityNames:
    """The names an entity's definitions may refer to."""

    def __init__(self, spec: EntitySpec, workflow: WorkflowSpec | None) -> None:
        self.spec = spec
        self.workflow = workflow
        self.has_status = bool(spec.props.get("workflow"))
        self.fields = set(spec.characteristics)
        if self.has_status:
            self.fields.add("status")
        self.viewable = self.fields | set(SYSTEM_COLUMNS)
        """Fields and system columns: what columns, filters, sorts and expressions may name."""
        self.free_status = workflow is not None and bool(workflow.props.get("free"))

    def field_type(self, name: str) -> str | None:
        if name == "status" and self.has_status:
            return "status"
        char = self.spec.characteristics.get(name)
        if char is not None:
            return char.get("type")
        return SYSTEM_COLUMN_TYPES.get(name)


class _Checker:
    def __init__(self, merged: Merged) -> None:
        self.merged = merged
        self.problems: list[Problem] = []
        self.names: dict[str, _EntityNames] = {}

    def run(self) -> None:
        for spec in self.merged.lists.values():
            self.check_list(spec)
        for spec in self.merged.entities.values():
            workflow = self.merged.workflows.get(spec.props.get("workflow") or "")
            self.names[spec.name] = _EntityNames(spec, workflow)
        for spec in self.merged.workflows.values():
            self.check_workflow(spec)
        for spec in self.merged.entities.values():
            self.check_entity(spec)
        for view in self.merged.views.values():
            self.check_named_view(view)

    def report(self, origin: Origin, message: str, *, at_key: bool = False) -> None:
        self.problems.append(origin.problem(message, at_key=at_key))

    # -- value lists ----------------------------------------------------------------
    def check_list(self, spec: ListSpec) -> None:
        for code, value in spec.values.items():
            value.typed["order"] = value.get("order", spec.implicit_order[code])

    # -- workflows ------------------------------------------------------------------
    def check_workflow(self, spec: WorkflowSpec) -> None:
        statuses = spec.statuses
        by_sequence: dict[int, str] = {}
        initial: list[str] = []
        for code, status in statuses.items():
            sequence = status.get("sequence", spec.implicit_sequence[code])
            status.typed["sequence"] = sequence
            if sequence in by_sequence:
                other = statuses[by_sequence[sequence]]
                self.report(status.origin_of("sequence") if "sequence" in status else status.origin_of("code"),
                            f"sequence {sequence} is already used by status '{by_sequence[sequence]}' ({other.origin.child('code')})")
            else:
                by_sequence[sequence] = code
            won, lost = bool(status.get("won")), bool(status.get("lost"))
            if won and lost:
                self.report(status.origin_of("lost"), "a status cannot be both won and lost")
            if status.get("open") is True and (won or lost):
                self.report(status.origin_of("open"), f"a {'won' if won else 'lost'} status cannot be open")
            status.typed["open"] = status.get("open", not (won or lost))
            if status.get("initial"):
                initial.append(code)
        for code in initial[1:]:
            first = statuses[initial[0]]
            self.report(statuses[code].origin_of("initial"),
                        f"status '{code}' is also initial: a workflow has one initial status ('{initial[0]}' at {first.origin_of('initial')})")
        spec.props.typed["initial"] = initial[0] if initial else min(statuses, key=lambda c: (statuses[c].typed["sequence"], c))

        users = [self.names[e.name] for e in self.merged.entities.values() if e.props.get("workflow") == spec.name]
        open_codes = [c for c in self._ordered_statuses(spec) if statuses[c].typed["open"]]
        for transition in spec.transitions.values():
            self.check_transition(spec, transition, users, open_codes)

    @staticmethod
    def _ordered_statuses(spec: WorkflowSpec) -> list[str]:
        return sorted(spec.statuses, key=lambda c: (spec.statuses[c].typed["sequence"], c))

    def check_transition(self, spec: WorkflowSpec, transition: Props, users: list[_EntityNames], open_codes: list[str]) -> None:
        target = transition["to"]
        if target not in spec.statuses:
            self.report(transition.origin_of("to"), f"unknown status '{target}' in workflow '{spec.name}'")
        sources = transition["from"]
        if sources == "*":
            expanded = [c for c in self._ordered_statuses(spec) if c != target]
        elif sources == "open":
            expanded = [c for c in open_codes if c != target]
        else:
            expanded = []
            for index, code in enumerate(sources):
                if code not in spec.statuses:
                    self.report(transition.origin_of("from").child(index), f"unknown status '{code}' in workflow '{spec.name}'")
                elif code in expanded:
                    self.report(transition.origin_of("from").child(index), f"status '{code}' is listed twice")
                else:
                    expanded.append(code)
        transition.typed["from"] = tuple(expanded)

        for index, name in enumerate(transition.get("required", ())):
            missing = [u.spec.name for u in users if name not in u.spec.characteristics]
            if missing:
                self.report(transition.origin_of("required").child(index),
                            f"'{name}' is not a characteristic of {_entities(missing)}")
        if "guard" in transition:
            self.check_workflow_expression(transition["guard"], transition.origin_of("guard"), users)
        for index, action in enumerate(transition.get("actions", ())):
            self.check_action(action, transition.origin_of("actions").child(index), users)

    def check_workflow_expression(self, source: str, origin: Origin, users: list[_EntityNames]) -> None:
        """Compile `source` against each entity using the workflow; report the first failure."""
        targets: list[tuple[str | None, Collection[str]]] = [(u.spec.name, u.viewable) for u in users] or [(None, _AnyName())]
        for entity, names in targets:
            try:
                compile_expression(source, names)
            except ExpressionError as exc:
                suffix = f" (entity '{entity}')" if entity and len(targets) > 1 else ""
                self.report(origin, exc.message + suffix)
                return

    def check_action(self, action: dict[str, Any], origin: Origin, users: list[_EntityNames]) -> None:
        kinds = [k for k in ("set", "create", "call") if k in action]
        if len(kinds) != 1:
            self.report(origin, "an action has exactly one of set, create or call"
                        + (f" (found {', '.join(kinds)})" if kinds else ""))
            return
        if "params" in action and kinds != ["call"]:
            self.report(origin.child("params"), "params only go with a call action", at_key=True)
        if "set" in action:
            for field_name, value in action["set"].items():
                here = origin.child("set", field_name)
                missing = [u.spec.name for u in users if field_name not in u.spec.characteristics]
                if field_name == "status" or field_name in SYSTEM_COLUMNS:
                    self.report(here, f"'{field_name}' cannot be set by an action", at_key=True)
                elif missing:
                    self.report(here, f"'{field_name}' is not a characteristic of {_entities(missing)}", at_key=True)
                elif isinstance(value, str):
                    self.check_workflow_expression(value, here, users)
        elif "create" in action:
            create = action["create"]
            target = self.names.get(create["entity"])
            if target is None:
                self.report(origin.child("create", "entity"), f"unknown entity '{create['entity']}'")
                return
            for field_name, value in (create.get("values") or {}).items():
                here = origin.child("create", "values", field_name)
                if field_name not in target.spec.characteristics:
                    self.report(here, f"'{field_name}' is not a characteristic of entity '{target.spec.name}'", at_key=True)
                elif isinstance(value, str):
                    self.check_workflow_expression(value, here, users)

    # -- entities -------------------------------------------------------------------
    def check_entity(self, spec: EntitySpec) -> None:
        names = self.names[spec.name]
        reason = reserved_entity_reason(spec.name)
        if reason:
            self.report(spec.origin, f"'{spec.name}' {reason}")
        workflow = spec.props.get("workflow")
        if workflow and workflow not in self.merged.workflows:
            self.report(spec.props.origin_of("workflow"), f"unknown workflow '{workflow}'")
        for name, char in spec.characteristics.items():
            self.check_characteristic(spec, name, char, names)
        if "title" in spec.props:
            self.check_title(spec.props["title"], spec.props.origin_of("title"), names)
        views = spec.views
        if "list" in views:
            self.check_list_layout(views["list"], names)
        if "form" in views:
            self.check_form_layout(views["form"], names)

    def check_title(self, title: str, origin: Origin, names: _EntityNames) -> None:
        try:
            parts = list(string.Formatter().parse(title))
        except ValueError as exc:
            self.report(origin, f"invalid title template: {exc}")
            return
        for _, field_name, format_spec, conversion in parts:
            if field_name is None:
                continue
            if not IDENTIFIER_RE.fullmatch(field_name):
                self.report(origin, f"placeholder '{{{field_name}}}' must be a plain field name")
            elif format_spec or conversion:
                self.report(origin, f"placeholder '{{{field_name}}}' cannot have a conversion or format")
            elif field_name not in names.viewable:
                self.report(origin, f"unknown field '{field_name}' in title placeholder")

    def check_characteristic(self, entity: EntitySpec, name: str, char: Props, names: _EntityNames) -> None:
        field_type = char["type"]
        reason = reserved_field_reason(name)
        if reason:
            self.report(char.origin, f"'{name}' {reason}", at_key=True)
        for key in char.values:
            types = APPLIES_TO.get(key)
            if types is not None and field_type not in types:
                self.report(char.origin_of(key), f"'{key}' does not apply to {an(field_type)} characteristic", at_key=True)
        references_ok = self.check_references(char, field_type)
        renamed = char.get("renamed_from")
        if renamed is not None:
            if renamed in entity.characteristics:
                self.report(char.origin_of("renamed_from"), f"'{renamed}' is still declared: a renamed characteristic must disappear")
            elif reserved_field_reason(renamed):
                self.report(char.origin_of("renamed_from"), f"'{renamed}' {reserved_field_reason(renamed)}")
        scale, precision = self.check_digits(char, field_type)
        bounds_ok = self.check_bounds(char, field_type, scale, precision) if field_type in BOUNDED_TYPES else True
        lengths_ok = self.check_lengths(char, field_type) if field_type in TEXT_TYPES else True
        pattern = self.check_pattern(char) if "pattern" in char and field_type in PATTERN_TYPES else None
        for key in ("mandatory_when", "default_expr"):
            if key in char:
                try:
                    compile_expression(char[key], names.viewable)
                except ExpressionError as exc:
                    self.report(char.origin_of(key), exc.message)
        if "default" in char and "default_expr" in char:
            later = max(("default", "default_expr"), key=lambda k: char.origin_of(k).layer)
            self.report(char.origin_of(later), "default and default_expr cannot both be set")
        elif "default" in char and field_type in APPLIES_TO["default"] and references_ok and bounds_ok and lengths_ok:
            self.check_default(char, field_type, scale, precision, pattern)

    def check_references(self, char: Props, field_type: str) -> bool:
        if field_type in LIST_TYPES:
            list_name = char.get("list")
            if list_name is None:
                self.report(char.origin, f"{an(field_type)} characteristic needs 'list' (a value list)")
                return False
            if list_name not in self.merged.lists:
                self.report(char.origin_of("list"), f"unknown value list '{list_name}'")
                return False
        elif field_type == "link":
            target = char.get("entity")
            if target is None:
                self.report(char.origin, "a link characteristic needs 'entity' (the target entity)")
                return False
            if target not in self.merged.entities:
                self.report(char.origin_of("entity"), f"unknown entity '{target}'")
                return False
        return True

    def check_digits(self, char: Props, field_type: str) -> tuple[int, int]:
        scale = char.get("scale", DEFAULT_SCALE)
        precision = char.get("precision", DEFAULT_PRECISION)
        if field_type == "decimal" and precision <= scale:
            key = "precision" if "precision" in char else "scale"
            self.report(char.origin_of(key), f"precision {precision} must be greater than scale {scale}")
            return scale, max(precision, scale + 1)
        return scale, precision

    def check_bounds(self, char: Props, field_type: str, scale: int, precision: int) -> bool:
        ok = True
        for key in ("min", "max"):
            if key in char:
                try:
                    char.typed[key] = typed(field_type, char[key], scale=scale, precision=precision)
                except BadValue as exc:
                    self.report(char.origin_of(key), str(exc))
                    ok = False
        low, high = char.typed.get("min"), char.typed.get("max")
        if ok and low is not None and high is not None and low > high:
            if char.origin_of("min").layer > char.origin_of("max").layer:
                self.report(char.origin_of("min"), f"{show(char['min'])} is greater than max {show(char['max'])}")
            else:
                self.report(char.origin_of("max"), f"{show(char['max'])} is less than min {show(char['min'])}")
            ok = False
        return ok

    def check_lengths(self, char: Props, field_type: str) -> bool:
        low = char.get("min_length")
        high = char.get("max_length")
        default_high = high is None and field_type == "string"
        if default_high:
            high = DEFAULT_STRING_LENGTH
        if low is not None and high is not None and low > high:
            if default_high:
                self.report(char.origin_of("min_length"), f"{low} is greater than max_length {high} (the default for string)")
            elif char.origin_of("min_length").layer > char.origin_of("max_length").layer:
                self.report(char.origin_of("min_length"), f"{low} is greater than max_length {high}")
            else:
                self.report(char.origin_of("max_length"), f"{high} is less than min_length {low}")
            return False
        return True

    def check_pattern(self, char: Props) -> re.Pattern[str] | None:
        try:
            return re.compile(char["pattern"])
        except (re.error, RecursionError, OverflowError) as exc:
            self.report(char.origin_of("pattern"), f"invalid regular expression: {exc}")
            return None

    def check_default(self, char: Props, field_type: str, scale: int, precision: int, pattern: re.Pattern[str] | None) -> None:
        origin = char.origin_of("default")
        raw = char["default"]
        try:
            value = typed(field_type, raw, scale=scale, precision=precision)
        except BadValue as exc:
            self.report(origin, str(exc))
            return
        low, high = char.typed.get("min"), char.typed.get("max")
        if low is not None and value < low:
            self.blame(char, "default", "min", f"{show(raw)} is less than min {show(char['min'])}",
                       f"{show(char['min'])} is greater than the default {show(raw)}")
            return
        if high is not None and value > high:
            self.blame(char, "default", "max", f"{show(raw)} is greater than max {show(char['max'])}",
                       f"{show(char['max'])} is less than the default {show(raw)}")
            return
        if field_type in TEXT_TYPES:
            max_length = char.get("max_length", DEFAULT_STRING_LENGTH if field_type == "string" else None)
            if len(value) < char.get("min_length", 0):
                self.blame(char, "default", "min_length", f"{show(raw)} is shorter than min_length {char['min_length']}",
                           f"{char['min_length']} is longer than the default {show(raw)}")
                return
            if max_length is not None and len(value) > max_length:
                self.blame(char, "default", "max_length", f"{show(raw)} is longer than max_length {max_length}",
                           f"{max_length} is shorter than the default {show(raw)}")
                return
            if pattern is not None and not pattern.fullmatch(value):
                self.blame(char, "default", "pattern", f"{show(raw)} does not match the pattern {char['pattern']}",
                           f"the default {show(raw)} does not match this pattern")
                return
            if "pattern" in char and pattern is None:
                return
        if field_type in LIST_TYPES:
            value_list = self.merged.lists[char["list"]]
            codes = value if isinstance(value, tuple) else (value,)
            seen: set[str] = set()
            for index, code in enumerate(codes):
                here = origin.child(index) if isinstance(value, tuple) else origin
                entry = value_list.values.get(code)
                if entry is None:
                    self.report(here, f"'{code}' is not a value of list '{value_list.name}'")
                    return
                if entry.get("retired"):
                    retired_at = entry.origin_of("retired")
                    if retired_at.layer > origin.layer:
                        self.report(retired_at, f"'{code}' cannot be retired: it is the default of a characteristic ({origin})")
                    else:
                        self.report(here, f"'{code}' is retired in list '{value_list.name}'")
                    return
                if code in seen:
                    self.report(here, f"'{code}' is listed twice")
                    return
                seen.add(code)
        char.typed["default"] = value

    def blame(self, char: Props, key: str, other: str, message: str, other_message: str) -> None:
        """Report a conflict between two properties at the one a later pack wrote."""
        if other in char and char.origin_of(other).layer > char.origin_of(key).layer:
            self.report(char.origin_of(other), other_message)
        else:
            self.report(char.origin_of(key), message)

    # -- views ----------------------------------------------------------------------
    def check_field_list(self, layout: Props, key: str, allowed: Collection[str], names: _EntityNames,
                         *, strip_minus: bool = False) -> None:
        if key not in layout:
            return
        origin = layout.origin_of(key)
        seen: dict[str, int] = {}
        for index, entry in enumerate(layout[key]):
            name = entry[1:] if strip_minus and entry.startswith("-") else entry
            if name in seen:
                self.report(origin.child(index), f"'{name}' is listed twice (also at {key}.{seen[name]})")
                continue
            seen[name] = index
            problem = self.field_refusal(name, allowed, names, key)
            if problem:
                self.report(origin.child(index), problem)

    def field_refusal(self, name: str, allowed: Collection[str], names: _EntityNames, key: str) -> str | None:
        if name in allowed:
            return None
        entity = names.spec.name
        if name == "status" and names.has_status:
            return f"status cannot be in {key}: {STATUS_MOVES} (unless the workflow is free)"
        if name in SYSTEM_COLUMNS:
            return f"'{name}' is a system column and cannot be in {key}"
        if name in names.spec.characteristics:
            char = names.spec.characteristics[name]
            if char.get("readonly"):
                return f"'{name}' is readonly and cannot be in {key}"
            if char.get("unique"):
                return f"'{name}' is unique and cannot be in {key}"
        return f"unknown field '{name}' in entity '{entity}'"

    def editable(self, names: _EntityNames) -> set[str]:
        return {n for n, c in names.spec.characteristics.items() if not c.get("readonly")} | (
            {"status"} if names.free_status else set())

    def check_list_layout(self, layout: Props, names: _EntityNames) -> None:
        for key in ("columns", "filters", "group_by"):
            self.check_field_list(layout, key, names.viewable, names)
        self.check_field_list(layout, "sort", names.viewable, names, strip_minus=True)
        mass = {n for n in self.editable(names) if not (n in names.spec.characteristics and names.spec.characteristics[n].get("unique"))}
        self.check_field_list(layout, "mass_update", mass, names)
        if "where" in layout:
            self.check_where(layout, names)

    def check_form_layout(self, layout: Props, names: _EntityNames) -> None:
        if "sections" not in layout:
            return
        allowed = set(names.spec.characteristics) | ({"status"} if names.free_status else set())
        seen: dict[str, str] = {}
        origin = layout.origin_of("sections")
        for section_index, section in enumerate(layout["sections"]):
            for index, name in enumerate(section["fields"]):
                here = origin.child(section_index, "fields", index)
                where = f"sections.{section_index}.fields.{index}"
                if name in seen:
                    self.report(here, f"'{name}' is listed twice (also at {seen[name]})")
                    continue
                seen[name] = where
                problem = self.field_refusal(name, allowed, names, "a form")
                if problem:
                    self.report(here, problem)

    def check_where(self, layout: Props, names: _EntityNames) -> None:
        origin = layout.origin_of("where")
        result: dict[str, Any] = {}
        for name, condition in layout["where"].items():
            here = origin.child(name)
            if name not in names.viewable:
                self.report(here, f"unknown field '{name}' in entity '{names.spec.name}'", at_key=True)
                continue
            try:
                result[name] = self.where_condition(name, condition, names)
            except BadValue as exc:
                self.report(here, str(exc))
        layout.typed["where"] = result

    def where_condition(self, name: str, condition: Any, names: _EntityNames) -> Any:
        field_type = names.field_type(name) or "string"
        char = names.spec.characteristics.get(name)
        scale = char.get("scale", DEFAULT_SCALE) if char else DEFAULT_SCALE
        if isinstance(condition, dict):
            if field_type not in BOUNDED_TYPES:
                raise BadValue(f"a {{min, max}} range does not apply to {an(field_type)} field")
            return {k: typed(field_type, v, scale=scale) for k, v in condition.items()}
        values = condition if isinstance(condition, list) else [condition]
        converted = [self.where_value(name, field_type, v, names, scale) for v in values]
        return tuple(converted) if isinstance(condition, list) else converted[0]

    def where_value(self, name: str, field_type: str, value: Any, names: _EntityNames, scale: int) -> Any:
        if field_type in LIST_TYPES:
            list_name = names.spec.characteristics[name].get("list")
            value_list = self.merged.lists.get(list_name or "")
            if value_list is not None and value not in value_list.values:
                raise BadValue(f"{show(value)} is not a value of list '{value_list.name}'")
            return value
        if field_type == "status":
            if names.workflow is not None and value not in names.workflow.statuses:
                raise BadValue(f"{show(value)} is not a status of workflow '{names.workflow.name}'")
            return value
        if field_type == "link":
            return value
        return typed(field_type, value, scale=scale)

    def check_named_view(self, view: ViewSpec) -> None:
        props = view.props
        names = self.names.get(props["entity"])
        if names is None:
            self.report(props.origin_of("entity"), f"unknown entity '{props['entity']}'")
            return
        if view.name in ("list", "form"):
            self.report(view.origin, f"'{view.name}' is the name of the entity's default {view.name} view")
        kind = props["kind"]
        if kind == "list":
            if "sections" in props:
                self.report(props.origin_of("sections"), "'sections' does not apply to a list view", at_key=True)
            self.check_list_layout(props, names)
        else:
            for key in LIST_VIEW_KEYS:
                if key in props:
                    self.report(props.origin_of(key), f"'{key}' does not apply to a form view", at_key=True)
            self.check_form_layout(props, names)


def _entities(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ("entity " if len(listed) == 1 else "entities ") + ", ".join(f"'{n}'" for n in listed)
