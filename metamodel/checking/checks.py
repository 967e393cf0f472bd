"""Semantic rules checked on the merged definitions, after the schemas passed.

Each problem points at the file and line where the offending value was written, which
after layering may be a customer pack's `extends:` document. Checks skip what an
earlier problem already explains (an unknown list is reported once, not again for
the default that cannot be checked against it).

The checks also leave their results on the specs for `build`: typed bounds and
defaults (`Props.typed`), the expanded `from` of transitions and the initial status.
"""

from __future__ import annotations

import ast
import re
import string
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Collection, Iterable, Iterator

from metamodel.errors import Problem
from metamodel.checking.copying import Slot, copy_plan, left_empty, spec_slots
from metamodel.expressions.empty_operands import unguarded_operands
from metamodel.expressions.kinds import kind_refusal
from metamodel.expressions.sandbox import Expression, ExpressionError, compile_expression
from metamodel.identifiers import reserved_entity_reason, reserved_field_reason
from metamodel.merge import EntitySpec, ListSpec, Merged, ViewSpec, WorkflowSpec, former_names, removed_by
from metamodel.model import (
    CHARACTERISTIC_TYPES,
    LIST_TYPES,
    MATCHABLE_TYPES,
    NUMBER_TYPES,
    OWNED_SYSTEM_FIELDS,
    RELATION_TYPES,
    SYSTEM_COLUMNS,
    TEMPORAL_TYPES,
    TEXT_TYPES,
)
from metamodel.field_paths import COLLECTION_TYPES, PathError, Step
from metamodel.relations.checks import check_relations, owned_refusal
from metamodel.relations.reverse import ReverseSpec, reverse_specs
from metamodel.relations.spec_paths import SpecPaths
from metamodel.checking.role_checks import check_roles
from metamodel.sources import Origin, Props
from metamodel.suggestions import did_you_mean
from metamodel.yaml_source import dotted
from metamodel.values import (
    DEFAULT_PRECISION,
    DEFAULT_SCALE,
    DEFAULT_STRING_LENGTH,
    BadValue,
    length_limit,
    to_decimal,
    to_integer,
    an,
    show,
    typed,
)

DECLARABLE_TYPES = CHARACTERISTIC_TYPES - {"status"}
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
    "entity": RELATION_TYPES,
    "scale": frozenset({"decimal"}),
    "precision": frozenset({"decimal"}),
    "unique": DECLARABLE_TYPES - {"multi_choice"} - COLLECTION_TYPES,
    "default": DECLARABLE_TYPES - {"link"} - COLLECTION_TYPES,
    "default_expr": DECLARABLE_TYPES - COLLECTION_TYPES,
    "format": DECLARABLE_TYPES - {"link", "boolean"} - COLLECTION_TYPES,
    "indexed": DECLARABLE_TYPES - COLLECTION_TYPES,
    "historized": DECLARABLE_TYPES - {"lines"},
    "reverse": frozenset({"link", "links"}),
}
APPLIES_TO["min"] = APPLIES_TO["max"] = BOUNDED_TYPES | COLLECTION_TYPES
"""`min` and `max` of lines and links count lines and members (metamodel.relations.checks)."""
LIST_VIEW_KEYS = ("columns", "filters", "sort", "group_by", "mass_update", "where", "page_size")
FORM_VIEW_KEYS = ("sections", "related")
STATUS_MOVES = "the status changes through workflow transitions"
SEVERAL = "holds several records"
FIELD_PATH_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
"""A field name, or a path through links (`account.sector`)."""
PATH_KEYS = frozenset({"columns", "filters", "sort", "group_by"})
"""The name lists of a list view (or a form panel) that may follow paths through links."""


class _AnyName(Collection[str]):
    """Every name: checks the syntax of expressions of a workflow no entity uses yet."""

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def check_merged(merged: Merged, warnings: list[Problem] | None = None) -> list[Problem]:
    """Every problem of the merged definitions; what loads but may fail on some records is
    added to `warnings` when given."""
    relations = reverse_specs(merged)
    checker = _Checker(merged, relations)
    checker.run()
    if warnings is not None:
        warnings.extend(dict.fromkeys(checker.warnings))
    return checker.problems + check_relations(merged, relations) + check_roles(merged)


def unknown_hint(spec: EntitySpec, name: str, known: Iterable[str]) -> str:
    """Why `name` is not a field of `spec`: removed by a later pack, or a close known name."""
    return removed_by(spec, name) or did_you_mean(name, known)


class _EntityNames:
    """The names an entity's definitions may refer to."""

    def __init__(self, spec: EntitySpec, workflow: WorkflowSpec | None, paths: SpecPaths) -> None:
        self.spec = spec
        self.workflow = workflow
        self.has_status = bool(spec.props.get("workflow"))
        self.owner: str | None = spec.props.get("owned_by") or None
        self.fields = set(spec.characteristics)
        if self.has_status:
            self.fields.add("status")
        if self.owner:
            self.fields.update(OWNED_SYSTEM_FIELDS)
        self.viewable = self.fields | set(SYSTEM_COLUMNS)
        """Fields and system columns: what columns, filters, sorts and expressions may name."""
        self.free_status = workflow is not None and bool(workflow.props.get("free"))
        self.optional = {n for n, c in spec.characteristics.items() if not c.get("mandatory")}
        """Characteristics a record may leave empty (what `empty_operands` warns about)."""
        self.collections = {n: c.get("type") for n, c in spec.characteristics.items() if c.get("type") in COLLECTION_TYPES}
        """`lines` and `links` characteristics, by name: never in a sort or a group, nor at a path's end."""
        self.lines = {n for n, t in self.collections.items() if t == "lines"}
        self.paths = paths

    def field_type(self, name: str) -> str | None:
        """The type of a field of the entity, or of the field a path through links ends on."""
        if "." in name:
            try:
                return self.path(name)[-1].type
            except PathError:
                return None
        return self.paths.field_type(self.spec.name, name)

    def path(self, text: str) -> tuple[Step, ...]:
        """The steps of path `text` read from this entity; PathError when it cannot be read."""
        return self.paths.resolve(self.spec.name, text)

    def path_may_be_empty(self, text: str) -> bool:
        return self.paths.may_be_empty(self.spec.name, text)


class _Checker:
    def __init__(self, merged: Merged, relations: dict[str, list[ReverseSpec]]) -> None:
        self.merged = merged
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.names: dict[str, _EntityNames] = {}
        self.assignments: list[tuple[str, str, Origin, list[_EntityNames]]] = []
        """`set` and `on_enter` values (field, expression, origin, entities), checked against the
        fields once their bounds are typed."""
        self.relations = relations
        """Target entity -> its reverse relations (`relations.reverse.reverse_specs`)."""
        self.paths = SpecPaths(merged)

    def run(self) -> None:
        for spec in self.merged.lists.values():
            self.check_list(spec)
        for spec in self.merged.entities.values():
            workflow = self.merged.workflows.get(spec.props.get("workflow") or "")
            self.names[spec.name] = _EntityNames(spec, workflow, self.paths)
        for spec in self.merged.workflows.values():
            self.check_workflow(spec)
        for spec in self.merged.entities.values():
            self.check_entity(spec)
        for field_name, source, origin, users in self.assignments:
            self.check_constant_assignment(field_name, source, origin, users)
        for view in self.merged.views.values():
            self.check_named_view(view)

    def report(self, origin: Origin, message: str, *, at_key: bool = False) -> None:
        self.problems.append(origin.problem(message, at_key=at_key))

    def lines_read(self, compiled: Expression, users: list[_EntityNames]) -> str | None:
        """Why `compiled` cannot be evaluated: it reads a `lines` characteristic (None when it does not)."""
        for names in users:
            for name in sorted(compiled.names & names.lines):
                return f"'{name}' holds the lines of the record: an expression cannot read them"
        return None

    def warn_empty_operands(self, expression: Expression, origin: Origin, users: list[_EntityNames],
                            settled: Collection[str] = ()) -> None:
        """Warn about each optional field the expression uses where an empty value makes it fail
        (`settled`: fields known to hold a value when it runs, such as a transition's required ones);
        a path may be empty when a link on the way or its last field is optional."""
        optional = {n for u in users for n in u.optional} | {
            p for p in expression.paths if any(u.path_may_be_empty(p) for u in users)}
        optional -= set(settled)
        for name in unguarded_operands(expression.tree, optional):
            self.warnings.append(origin.problem(
                f"'{name}' may be empty (it is not mandatory), and the expression fails on a record without it: "
                f"guard it, e.g. ({name} or 0), or '... if {name} != None else ...'"))

    # -- value lists ----------------------------------------------------------------
    def check_list(self, spec: ListSpec) -> None:
        for code, value in spec.values.items():
            value.typed["order"] = value.get("order", spec.implicit_order[code])

    # -- workflows ------------------------------------------------------------------
    def check_workflow(self, spec: WorkflowSpec) -> None:
        statuses = spec.statuses
        by_sequence: dict[int, str] = {}
        initial: list[str] = []
        # a clash is reported at the status whose sequence a later pack wrote
        for code, status in sorted(statuses.items(), key=lambda item: self.sequence_origin(item[1]).layer):
            sequence = status.get("sequence", spec.implicit_sequence[code])
            status.typed["sequence"] = sequence
            if sequence in by_sequence:
                other = statuses[by_sequence[sequence]]
                self.report(self.sequence_origin(status),
                            f"sequence {sequence} is already used by status '{by_sequence[sequence]}' ({other.origin.child('code')})")
            else:
                by_sequence[sequence] = code
        for code, status in statuses.items():
            won, lost = bool(status.get("won")), bool(status.get("lost"))
            if won and lost:
                self.report(self.later(status, "won", "lost"), "a status cannot be both won and lost")
            if status.get("open") is True and (won or lost):
                flag = "won" if won else "lost"
                if status.origin_of(flag).layer > status.origin_of("open").layer:
                    self.report(status.origin_of(flag), f"an open status cannot be {flag}")
                else:
                    self.report(status.origin_of("open"), f"a {flag} status cannot be open")
            status.typed["open"] = status.get("open", not (won or lost))
            if status.get("initial"):
                initial.append(code)
        for code in initial[1:]:
            first = statuses[initial[0]]
            self.report(statuses[code].origin_of("initial"),
                        f"status '{code}' is also initial: a workflow has one initial status ('{initial[0]}' at {first.origin_of('initial')})")
        spec.props.typed["initial"] = initial[0] if initial else min(statuses, key=lambda c: (statuses[c].typed["sequence"], c))

        users = [self.names[e.name] for e in self.merged.entities.values() if e.props.get("workflow") == spec.name]
        for status in statuses.values():
            for field_name, value in (status.get("on_enter") or {}).items():
                self.check_assignment(field_name, value, status.origin_of("on_enter").child(field_name), users,
                                      setter="entering a status")
        open_codes = [c for c in self._ordered_statuses(spec) if statuses[c].typed["open"]]
        for transition in spec.transitions.values():
            self.check_transition(spec, transition, users, open_codes)

    @staticmethod
    def sequence_origin(status: Props) -> Origin:
        return status.origin_of("sequence") if "sequence" in status else status.origin_of("code")

    @staticmethod
    def later(props: Props, first: str, second: str) -> Origin:
        """Where the later pack wrote one of two conflicting properties (`second` when one pack wrote both)."""
        a, b = props.origin_of(first), props.origin_of(second)
        return a if a.layer > b.layer else b

    @staticmethod
    def _ordered_statuses(spec: WorkflowSpec) -> list[str]:
        return sorted(spec.statuses, key=lambda c: (spec.statuses[c].typed["sequence"], c))

    def check_transition(self, spec: WorkflowSpec, transition: Props, users: list[_EntityNames], open_codes: list[str]) -> None:
        target = transition["to"]
        if target not in spec.statuses:
            self.report(transition.origin_of("to"), unknown_status(spec, target))
        sources = transition["from"]
        if sources == "*":
            expanded = [c for c in self._ordered_statuses(spec) if c != target]
        elif sources == "open":
            expanded = [c for c in open_codes if c != target]
        else:
            expanded = []
            for index, code in enumerate(sources):
                if code not in spec.statuses:
                    self.report(transition.origin_of("from").child(index), unknown_status(spec, code))
                elif code in expanded:
                    self.report(transition.origin_of("from").child(index), f"status '{code}' is listed twice")
                else:
                    expanded.append(code)
        transition.typed["from"] = tuple(expanded)

        for index, name in enumerate(transition.get("required", ())):
            missing = [u.spec.name for u in users if name not in u.spec.characteristics]
            if missing:
                self.report(transition.origin_of("required").child(index),
                            f"'{name}' is not a characteristic of {_entities(missing)}{self.field_hint(name, users, missing)}")
        if "guard" in transition:
            self.check_workflow_expression(transition["guard"], transition.origin_of("guard"), users)
        settled = tuple(transition.get("required", ()))
        for index, action in enumerate(transition.get("actions", ())):
            self.check_action(action, transition.origin_of("actions").child(index), users, settled)

    def check_workflow_expression(self, source: str, origin: Origin, users: list[_EntityNames],
                                  settled: Collection[str] = ()) -> Expression | None:
        """Compile `source` against each entity using the workflow; report the first failure, or
        warn about optional operands and return the compiled expression."""
        targets: list[tuple[str | None, Collection[str], Callable[[str], object] | None]] = [
            (u.spec.name, u.viewable, u.path) for u in users] or [(None, _AnyName(), None)]
        compiled: Expression | None = None
        for entity, names, paths in targets:
            try:
                compiled = compile_expression(source, names, paths)
            except ExpressionError as exc:
                suffix = f" (entity '{entity}')" if entity and len(targets) > 1 else ""
                self.report(origin, exc.message + suffix)
                return None
        if compiled is not None:
            refusal = self.lines_read(compiled, users)
            if refusal:
                self.report(origin, refusal)
                return None
            self.warn_empty_operands(compiled, origin, users, settled)
        return compiled

    def check_action(self, action: dict[str, Any], origin: Origin, users: list[_EntityNames],
                     settled: Collection[str] = ()) -> None:
        kinds = [k for k in ("set", "create", "copy", "call") if k in action]
        if len(kinds) != 1:
            self.report(origin, "an action has exactly one of set, create, copy or call"
                        + (f" (found {', '.join(kinds)})" if kinds else ""))
            return
        if "params" in action and kinds != ["call"]:
            self.report(origin.child("params"), "params only go with a call action", at_key=True)
        if "set" in action:
            for field_name, value in action["set"].items():
                self.check_assignment(field_name, value, origin.child("set", field_name), users, settled=settled)
        elif "create" in action:
            create = action["create"]
            target = self.names.get(create["entity"])
            if target is None:
                self.report(origin.child("create", "entity"),
                            f"unknown entity '{create['entity']}'{did_you_mean(create['entity'], self.names)}")
                return
            refusal = owned_refusal(self.merged, target.spec.name, "an action")
            if refusal:
                self.report(origin.child("create", "entity"), refusal)
                return
            for field_name, value in (create.get("values") or {}).items():
                here = origin.child("create", "values", field_name)
                if field_name not in target.spec.characteristics:
                    hint = unknown_hint(target.spec, field_name, target.spec.characteristics)
                    self.report(here, f"'{field_name}' is not a characteristic of entity '{target.spec.name}'{hint}",
                                at_key=True)
                elif field_name in target.collections:
                    self.report(here, f"'{field_name}' {SEVERAL}: an action cannot set it", at_key=True)
                elif isinstance(value, str):
                    compiled = self.check_workflow_expression(value, here, users, settled)
                    if compiled is not None and not _is_constant(compiled):
                        field_type = target.spec.characteristics[field_name]["type"]
                        self.check_kind(compiled, here, users, lambda names: field_type)
        elif "copy" in action:
            self.check_copy(action["copy"] or {}, origin.child("copy"), users, settled)
        elif action["call"] == "copy":
            self.report(origin.child("call"), "'copy' is the built-in copy action: write `copy: {...}`, not a call")

    def check_copy(self, copy: dict[str, Any], origin: Origin, users: list[_EntityNames],
                   settled: Collection[str] = ()) -> None:
        """A `copy` action: its target entity, `values`, `except` and `link` name what exists, and
        the copy leaves no mandatory characteristic of the new record (or of its lines) empty.
        Without `entity`, each entity using the workflow copies into itself."""
        name = copy.get("entity")
        if name is not None:
            target = self.names.get(name)
            if target is None:
                self.report(origin.child("entity"), f"unknown entity '{name}'{did_you_mean(name, self.names)}")
                return
            refusal = owned_refusal(self.merged, name, "a copy action")
            if refusal:
                self.report(origin.child("entity"), refusal)
                return
        pairs = [(u, target if name is not None else u) for u in users]
        targets = [target] if name is not None else list(users)
        values = copy.get("values") or {}
        skipped = copy.get("except") or []
        for field_name, value in values.items():
            here = origin.child("values", field_name)
            refusal = self.copy_field_refusal(field_name, targets, "set")
            if refusal:
                self.report(here, refusal, at_key=True)
                continue
            compiled = self.check_workflow_expression(value if isinstance(value, str) else repr(value), here, users, settled)
            if compiled is not None:
                for source, into in pairs:
                    if self.check_kind(compiled, here, [source], lambda _: into.spec.characteristics[field_name]["type"]):
                        break
        for index, field_name in enumerate(skipped):
            here = origin.child("except", index)
            refusal = self.copy_field_refusal(field_name, targets, "leave out", lines=True)
            if refusal is None and field_name in skipped[:index]:
                refusal = f"'{field_name}' is listed twice"
            if refusal:
                self.report(here, refusal)
        link = copy.get("link")
        if link is not None:
            self.check_copy_link(link, origin.child("link"), pairs)

        def owned(entity: str) -> dict[str, Slot]:
            spec = self.merged.entities.get(entity)
            return spec_slots(spec.characteristics) if spec is not None else {}

        reported: set[str] = set()
        for source, into in pairs:
            target_slots = spec_slots(into.spec.characteristics, into.spec.props.get("natural_key", ()))
            plan = copy_plan(spec_slots(source.spec.characteristics), target_slots, skipped, owned)
            for missing in left_empty(plan, target_slots, values, owned):
                if missing in reported:
                    continue
                reported.add(missing)
                self.report(origin, f"copying {an(source.spec.name)} record into entity '{into.spec.name}' leaves "
                                    f"'{missing}' empty, and it is mandatory: give it in `values`, a default, or "
                                    f"a characteristic of the same name and type to '{source.spec.name}'")

    def copy_field_refusal(self, field_name: str, targets: list[_EntityNames], verb: str, *,
                           lines: bool = False) -> str | None:
        """Why a copy action cannot `verb` (set, leave out) `field_name` of its target entities."""
        if field_name == "status":
            return "'status' cannot be set by a copy action: the new record starts in its initial status"
        if field_name in SYSTEM_COLUMNS:
            return f"'{field_name}' cannot be set by a copy action: it is a system column"
        for into in targets:
            if field_name not in into.spec.characteristics:
                hint = unknown_hint(into.spec, field_name, into.spec.characteristics)
                return f"'{field_name}' is not a characteristic of entity '{into.spec.name}'{hint}"
            if field_name in into.collections and not (lines and field_name in into.lines):
                return f"'{field_name}' {SEVERAL}: a copy action cannot {verb} it"
            if verb == "set" and into.spec.characteristics[field_name].get("readonly"):
                return (f"'{field_name}' of entity '{into.spec.name}' is read-only: the copy creates the record "
                        f"with the rights of the user running the transition, who cannot set it")
        return None

    def check_copy_link(self, link: str, here: Origin, pairs: list[tuple[_EntityNames, _EntityNames]]) -> None:
        """`link`: a link of every moving entity to the entity the copy creates."""
        for source, into in pairs:
            char = source.spec.characteristics.get(link)
            if char is None:
                hint = unknown_hint(source.spec, link, source.spec.characteristics)
                self.report(here, f"'{link}' is not a characteristic of entity '{source.spec.name}'{hint}")
                return
            if char.get("type") != "link" or char.get("entity") != into.spec.name:
                self.report(here, f"'{link}' of entity '{source.spec.name}' must be a link to entity "
                                  f"'{into.spec.name}' to receive the record the copy creates")
                return

    def check_assignment(self, field_name: str, value: Any, here: Origin, users: list[_EntityNames],
                         *, setter: str = "an action", settled: Collection[str] = ()) -> None:
        """A `set` action or `on_enter` entry: the field exists in every entity using the workflow
        and the expression compiles over each one's fields."""
        missing = [u.spec.name for u in users if field_name not in u.spec.characteristics]
        if field_name == "status" or field_name in SYSTEM_COLUMNS:
            self.report(here, f"'{field_name}' cannot be set by {setter}", at_key=True)
        elif any(field_name in u.collections for u in users):
            self.report(here, f"'{field_name}' {SEVERAL}: {setter} cannot set it", at_key=True)
        elif missing:
            self.report(here, f"'{field_name}' is not a characteristic of {_entities(missing)}"
                              f"{self.field_hint(field_name, users, missing)}", at_key=True)
        else:
            source = value if isinstance(value, str) else repr(value)
            compiled = self.check_workflow_expression(source, here, users, settled)
            if compiled is not None and users:
                if not _is_constant(compiled):
                    self.check_kind(compiled, here, users, lambda names: names.spec.characteristics[field_name]["type"])
                else:
                    self.assignments.append((field_name, source, here, users))

    def check_kind(self, compiled: Expression, here: Origin, users: list[_EntityNames],
                   field_type: Callable[[_EntityNames], str]) -> bool:
        """Report (once) when no value of `compiled`, read over a user's fields, fits the field it
        goes to (`field_type` of that user)."""
        for names in users:
            refusal = kind_refusal(compiled.tree, names.field_type, field_type(names))
            if refusal:
                suffix = f" (entity '{names.spec.name}')" if len(users) > 1 else ""
                self.report(here, refusal + suffix)
                return True
        return False

    def field_hint(self, name: str, users: list[_EntityNames], missing: list[str]) -> str:
        """The hint for a field missing from one entity (none when several entities miss it)."""
        if len(missing) != 1:
            return ""
        spec = self.merged.entities[missing[0]]
        return unknown_hint(spec, name, spec.characteristics)

    def check_constant_assignment(self, field_name: str, source: str, origin: Origin, users: list[_EntityNames]) -> None:
        """An expression that reads no field (`"10"`, `"None"`) has one value: it must fit the field
        (type, bounds, list) in every entity, or every record entering the status would be refused."""
        try:
            value = compile_expression(source, ()).evaluate({})
        except ExpressionError as exc:
            if not exc.message.startswith("unknown name"):
                self.report(origin, exc.message)
            return
        if value is None:
            return
        for names in users:
            char = names.spec.characteristics[field_name]
            refusal = constant_refusal(field_name, char, value, self.merged)
            if refusal:
                suffix = f" (entity '{names.spec.name}')" if len(users) > 1 else ""
                self.report(origin, f"{refusal}{suffix}")
                return

    # -- entities -------------------------------------------------------------------
    def check_entity(self, spec: EntitySpec) -> None:
        names = self.names[spec.name]
        reason = reserved_entity_reason(spec.name)
        if reason:
            self.report(spec.origin, f"'{spec.name}' {reason}")
        workflow = spec.props.get("workflow")
        if workflow and workflow not in self.merged.workflows:
            self.report(spec.props.origin_of("workflow"),
                        f"unknown workflow '{workflow}'{did_you_mean(workflow, self.merged.workflows)}")
        for name, char in spec.characteristics.items():
            self.check_characteristic(spec, name, char, names)
        if "title" in spec.props:
            self.check_title(spec.props["title"], spec.props.origin_of("title"), names)
        views = spec.views
        if "list" in views:
            self.check_list_layout(views["list"], names)
        if "form" in views:
            self.check_form_layout(views["form"], names)
            self.check_related(views["form"], names)
        if "natural_key" in spec.props:
            self.check_matched_fields(spec.props["natural_key"], spec.props.origin_of("natural_key"), names, "natural_key")
        for rule in spec.duplicates.values():
            self.check_matched_fields(rule["match"], rule.origin_of("match"), names, "a duplicate rule")

    def check_matched_fields(self, fields: list[str], origin: Origin, names: _EntityNames, key: str) -> None:
        """A natural key or a duplicate rule's `match`: existing characteristics of comparable types, each once."""
        seen: dict[str, int] = {}
        for index, name in enumerate(fields):
            here = origin.child(index)
            if name in seen:
                self.report(here, f"'{name}' is listed twice (also at {dotted(origin.path[-1:])}.{seen[name]})")
                continue
            seen[name] = index
            field_type = names.field_type(name) if name in names.fields else None
            if name in SYSTEM_COLUMNS:
                self.report(here, f"'{name}' is a system column and cannot be in {key}")
            elif field_type is None:
                self.report(here, f"unknown characteristic '{name}' in entity '{names.spec.name}'"
                                  f"{unknown_hint(names.spec, name, names.spec.characteristics)}")
            elif field_type not in MATCHABLE_TYPES:
                allowed = ", ".join(sorted(MATCHABLE_TYPES))
                self.report(here, f"'{name}' is {an(field_type)} characteristic and cannot be in {key} (allowed types: {allowed})")

    def check_title(self, title: str, origin: Origin, names: _EntityNames) -> None:
        try:
            parts = list(string.Formatter().parse(title))
        except ValueError as exc:
            self.report(origin, f"invalid title template: {exc}")
            return
        for _, field_name, format_spec, conversion in parts:
            if field_name is None:
                continue
            if not FIELD_PATH_RE.fullmatch(field_name):
                self.report(origin, f"placeholder '{{{field_name}}}' must be a plain field name")
            elif format_spec or conversion:
                self.report(origin, f"placeholder '{{{field_name}}}' cannot have a conversion or format")
            elif "." in field_name:
                try:
                    names.path(field_name)
                except PathError as exc:
                    self.report(origin, f"title placeholder: {exc.message}")
            elif field_name in names.collections:
                self.report(origin, f"placeholder '{{{field_name}}}' {SEVERAL}: a title shows one value per placeholder")
            elif field_name not in names.viewable:
                self.report(origin, f"unknown field '{field_name}' in title placeholder"
                                    f"{unknown_hint(names.spec, field_name, names.viewable)}")

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
        for renamed in former_names(char.get("renamed_from")):
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
                    compiled = compile_expression(char[key], names.viewable, names.path)
                except ExpressionError as exc:
                    self.report(char.origin_of(key), exc.message)
                    continue
                refusal = self.lines_read(compiled, [names])
                if refusal:
                    self.report(char.origin_of(key), refusal)
                    continue
                self.warn_empty_operands(compiled, char.origin_of(key), [names])
                if key == "default_expr" and references_ok and bounds_ok and lengths_ok:
                    self.check_default_expr(name, char, compiled, names)
        if "default" in char and "default_expr" in char:
            later = max(("default", "default_expr"), key=lambda k: char.origin_of(k).layer)
            self.report(char.origin_of(later), "default and default_expr cannot both be set")
        elif "default" in char and field_type in APPLIES_TO["default"] and references_ok and bounds_ok and lengths_ok:
            self.check_default(char, field_type, scale, precision, pattern)

    def check_default_expr(self, name: str, char: Props, compiled: Expression, names: _EntityNames) -> None:
        """The default an expression gives must fit the field: a constant one exactly (type, bounds,
        list), one reading fields by the kind of value it can give."""
        origin = char.origin_of("default_expr")
        if not _is_constant(compiled):
            self.check_kind(compiled, origin, [names], lambda _: char["type"])
            return
        try:
            value = compiled.evaluate({})
        except ExpressionError as exc:
            self.report(origin, exc.message)
            return
        refusal = constant_refusal(name, char, value, self.merged) if value is not None else None
        if refusal:
            self.report(origin, refusal)

    def check_references(self, char: Props, field_type: str) -> bool:
        if field_type in LIST_TYPES:
            list_name = char.get("list")
            if list_name is None:
                self.report(char.origin, f"{an(field_type)} characteristic needs 'list' (a value list)")
                return False
            if list_name not in self.merged.lists:
                self.report(char.origin_of("list"), f"unknown value list '{list_name}'{did_you_mean(list_name, self.merged.lists)}")
                return False
        elif field_type in RELATION_TYPES:
            target = char.get("entity")
            if target is None:
                what = "the owned entity whose records are the lines" if field_type == "lines" else "the target entity"
                self.report(char.origin, f"{an(field_type)} characteristic needs 'entity' ({what})")
                return False
            if target not in self.merged.entities:
                self.report(char.origin_of("entity"), f"unknown entity '{target}'{did_you_mean(target, self.merged.entities)}")
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
        limit, column = length_limit(field_type)
        for key in ("min_length", "max_length"):
            if char.get(key, 0) > limit:
                fix = "use type text for longer values" if field_type != "text" and field_type != "rich_text" else "lower it"
                self.report(char.origin_of(key), f"{char[key]} is more than {an(field_type)} characteristic holds "
                                                 f"({limit:,} characters in a {column} column): {fix}")
                return False
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
        if "." in name:
            if key not in PATH_KEYS:
                return f"'{name}' is a path through links: only a characteristic of the entity itself can be in {key}"
            try:
                names.path(name)
            except PathError as exc:
                return exc.message
            return None
        if name in allowed:
            return None
        entity = names.spec.name
        if name in names.lines:
            return f"'{name}' holds lines, which cannot be in {key}: they are edited on the form"
        if name in names.collections:
            return f"'{name}' {SEVERAL} and cannot be in {key}"
        if names.owner and name in OWNED_SYSTEM_FIELDS:
            return f"'{name}' is a system column and cannot be in {key}"
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
        return f"unknown field '{name}' in entity '{entity}'{unknown_hint(names.spec, name, allowed)}"

    def editable(self, names: _EntityNames) -> set[str]:
        return {n for n, c in names.spec.characteristics.items() if not c.get("readonly")} | (
            {"status"} if names.free_status else set())

    def check_list_layout(self, layout: Props, names: _EntityNames) -> None:
        """Columns and filters may name links (their titles; "contains"), sorts and groups one
        value per record; each but mass_update may follow paths through links."""
        shown = names.viewable - names.lines
        single = names.viewable - set(names.collections)
        for key in ("columns", "filters"):
            self.check_field_list(layout, key, shown, names)
        self.check_field_list(layout, "group_by", single, names)
        self.check_field_list(layout, "sort", single, names, strip_minus=True)
        mass = {n for n in self.editable(names) - names.lines
                if not (n in names.spec.characteristics and names.spec.characteristics[n].get("unique"))}
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

    def check_related(self, layout: Props, names: _EntityNames) -> None:
        """A form's `related` panels: reverse relations of the entity, once each, their columns and
        sort checked as list columns of the relation's source entity."""
        if "related" not in layout or names.owner:
            return  # an owned entity's panels are refused by metamodel.relations.checks
        origin = layout.origin_of("related")
        relations = {r.name: r for r in self.relations.get(names.spec.name, ())}
        seen: dict[str, int] = {}
        for index, entry in enumerate(layout["related"]):
            here = origin.child(index)
            name = entry["relation"]
            relation = relations.get(name)
            if relation is None:
                hint = did_you_mean(name, relations) if relations else " (no link or links of an entity names it)"
                self.report(here.child("relation"), f"entity '{names.spec.name}' has no relation '{name}'{hint}")
                continue
            if name in seen:
                self.report(here.child("relation"), f"'{name}' is listed twice (also at related.{seen[name]})")
                continue
            seen[name] = index
            source = self.names[relation.source_entity]
            panel = Props(entry, here)
            self.check_field_list(panel, "columns", source.viewable - source.lines, source)
            self.check_field_list(panel, "sort", source.viewable - set(source.collections), source, strip_minus=True)

    def check_where(self, layout: Props, names: _EntityNames) -> None:
        """Each condition on a field of the entity or a path through links (typed like the field
        the path ends on); a links characteristic holds the record named ("contains")."""
        origin = layout.origin_of("where")
        result: dict[str, Any] = {}
        for name, condition in layout["where"].items():
            here = origin.child(name)
            owner, field_name = names, name
            if "." in name:
                try:
                    last = names.path(name)[-1]
                except PathError as exc:
                    self.report(here, exc.message, at_key=True)
                    continue
                owner, field_name = self.names[last.entity], last.name
            elif name in names.lines:
                self.report(here, f"'{name}' holds lines, which cannot be in where: they are edited on the form",
                            at_key=True)
                continue
            elif name not in names.viewable:
                self.report(here, f"unknown field '{name}' in entity '{names.spec.name}'"
                                  f"{unknown_hint(names.spec, name, names.viewable)}",
                            at_key=True)
                continue
            try:
                result[name] = self.where_condition(field_name, condition, owner)
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
        if field_type == "status" and isinstance(condition, list) and names.workflow is not None:
            kept = [v for v in values if v not in names.workflow.removed_statuses]
            values = kept or values[:1]  # when none is left, the first one explains why
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
            workflow = names.workflow
            if workflow is not None and value not in workflow.statuses:
                removed = workflow.removed_statuses.get(value)
                where = f" (removed by {removed})" if removed is not None else ""
                raise BadValue(f"{show(value)} is not a status of workflow '{workflow.name}'{where}")
            return value
        if field_type in ("link", "links"):
            return value
        return typed(field_type, value, scale=scale)

    def check_named_view(self, view: ViewSpec) -> None:
        props = view.props
        names = self.names.get(props["entity"])
        if names is None:
            self.report(props.origin_of("entity"),
                        f"unknown entity '{props['entity']}'{did_you_mean(props['entity'], self.names)}")
            return
        if view.name in ("list", "form"):
            self.report(view.origin, f"'{view.name}' is the name of the entity's default {view.name} view")
        kind = props["kind"]
        if kind == "list":
            for key in FORM_VIEW_KEYS:
                if key in props:
                    self.report(props.origin_of(key), f"'{key}' does not apply to a list view", at_key=True)
            self.check_list_layout(props, names)
        else:
            for key in LIST_VIEW_KEYS:
                if key in props:
                    self.report(props.origin_of(key), f"'{key}' does not apply to a form view", at_key=True)
            self.check_form_layout(props, names)
            self.check_related(props, names)


def constant_refusal(name: str, char: Props, value: Any, merged: Merged) -> str | None:
    """Why a computed constant cannot go into the field `name`, or None. Checks what a
    constant can break at every save: its type, the column's range, bounds, lengths, list codes."""
    field_type = char["type"]
    if field_type in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            return f"{show(value)} is not a number"
        if field_type == "integer" and not (isinstance(value, int) or float(value).is_integer()):
            return f"{show(value)} is not an integer"
        try:
            if field_type == "integer":
                to_integer(int(value))
            else:
                to_decimal(value if isinstance(value, (int, float)) else str(value),
                           char.get("scale", DEFAULT_SCALE), char.get("precision", DEFAULT_PRECISION))
        except BadValue as exc:
            return str(exc)
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        low, high = char.typed.get("min"), char.typed.get("max")
        if low is not None and high is not None and low > high:
            return None  # already reported at the bounds
        if low is not None and number < low:
            return f"{show(value)} is less than min {show(char['min'])} of '{name}'"
        if high is not None and number > high:
            return f"{show(value)} is greater than max {show(char['max'])} of '{name}'"
    elif field_type == "boolean" and not isinstance(value, bool):
        return f"{show(value)} is not true or false"
    elif field_type in TEXT_TYPES:
        if not isinstance(value, str):
            return f"{show(value)} is not text"
        max_length = char.get("max_length", DEFAULT_STRING_LENGTH if field_type == "string" else None)
        if max_length is not None and len(value) > max_length:
            return f"{show(value)} is longer than max_length {max_length} of '{name}'"
    elif field_type in TEMPORAL_TYPES:
        if isinstance(value, str):
            try:
                typed(field_type, value)
            except BadValue as exc:
                return str(exc)
        elif not isinstance(value, date) or (field_type == "date" and isinstance(value, datetime)):
            return f"{show(value)} is not {'a date' if field_type == 'date' else 'a date and time'}"
    elif field_type in LIST_TYPES:
        value_list = merged.lists.get(char.get("list") or "")
        codes = value if field_type == "multi_choice" and isinstance(value, (list, tuple)) else [value]
        for code in codes:
            if value_list is not None and code not in value_list.values:
                return f"{show(code)} is not a value of list '{value_list.name}'"
    return None


def _is_constant(compiled: Expression) -> bool:
    """Reads no field and calls nothing (`today()` differs from day to day): one value, known now."""
    return not compiled.names and not any(isinstance(node, ast.Call) for node in ast.walk(compiled.tree))


def unknown_status(spec: WorkflowSpec, code: str) -> str:
    removed = spec.removed_statuses.get(code)
    where = f" (removed by {removed})" if removed is not None else ""
    return f"unknown status '{code}' in workflow '{spec.name}'{where}"


def _entities(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ("entity " if len(listed) == 1 else "entities ") + ", ".join(f"'{n}'" for n in listed)
