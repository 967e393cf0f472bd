"""Turn checked, merged specs into the frozen `Model`, filling every default.

Defaults filled here: `string` max_length 255, decimal scale 2 / precision 18, value
order (position x 10), status sequence, the initial status (flagged, or the lowest
sequence), the synthesized `status` field, and each entity's `list` and `form` views;
roles get their `"*"` entry expanded (`metamodel.building.role_build`). The relation parts (the
`max` of lines and links, an owned entity's `parent_id` and `position`, reverse relations,
form panels, the paths of views) come from `metamodel.relations.build`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from metamodel.errors import Problem
from metamodel.merge import EntitySpec, ListSpec, Merged, ViewSpec, WorkflowSpec, former_names
from metamodel.identifiers import join_table_name
from metamodel.model import (
    MAX_LINES,
    MAX_LINKS,
    ActionDef,
    DuplicateRuleDef,
    EntityDef,
    FieldDef,
    Model,
    PackInfo,
    PluginReference,
    SectionDef,
    Source,
    StatusDef,
    Text,
    TransitionDef,
    ValueDef,
    ValueList,
    ViewDef,
    WorkflowDef,
)
from metamodel.relations.build import owned_system_fields, with_relations
from metamodel.relations.reverse import declared_reverse
from metamodel.building.role_build import build_role
from metamodel.sources import Origin, Props
from metamodel.values import DEFAULT_PRECISION, DEFAULT_SCALE, DEFAULT_STRING_LENGTH

STATUS_LABEL = Text("Status", "Statut")
GENERAL_SECTION = Text("General", "Général")
DEFAULT_SORT = ("-created_at",)
DEFAULT_LIST_COLUMNS = 5
COLLECTION_CEILINGS = {"lines": MAX_LINES, "links": MAX_LINKS}
"""The `max` of lines and links that declare none: the hard ceiling."""
EMPTY: Mapping[str, Any] = MappingProxyType({})


def build_model(merged: Merged, packs: tuple[PackInfo, ...], warnings: tuple[Problem, ...] = ()) -> Model:
    lists = {name: _value_list(spec) for name, spec in merged.lists.items()}
    workflows = {name: _workflow(spec) for name, spec in merged.workflows.items()}
    named_views: dict[str, list[ViewSpec]] = {}
    for view in merged.views.values():
        named_views.setdefault(view.props["entity"], []).append(view)
    entities = with_relations(merged, {
        name: _entity(spec, workflows.get(spec.props.get("workflow") or ""), named_views.get(name, ()))
        for name, spec in merged.entities.items()
    })
    standalone = [name for name, spec in merged.entities.items() if not spec.props.get("owned_by")]
    roles = {name: build_role(spec, standalone) for name, spec in merged.roles.items()}
    return Model(
        packs=packs,
        entities=MappingProxyType(entities),
        lists=MappingProxyType(lists),
        workflows=MappingProxyType(workflows),
        roles=MappingProxyType(roles),
        plugin_references=plugin_references(merged),
        warnings=warnings,
    )


def plugin_references(merged: Merged) -> tuple[PluginReference, ...]:
    """Every `format:` and `call:` of the merged definitions, where the winning pack wrote it."""
    found: list[PluginReference] = []
    for spec in merged.entities.values():
        for char in spec.characteristics.values():
            if "format" in char:
                found.append(_reference("format", char["format"], char.origin_of("format"), char["type"]))
    for workflow in merged.workflows.values():
        for transition in workflow.transitions.values():
            for index, action in enumerate(transition.get("actions", ())):
                if "call" in action:
                    origin = transition.origin_of("actions").child(index, "call")
                    found.append(_reference("action", action["call"], origin))
    return tuple(found)


def _reference(kind: str, name: str, origin: Origin, field_type: str | None = None) -> PluginReference:
    where = origin.problem("")
    return PluginReference(kind, name, where.file, where.line, where.path, field_type)


def text(value: Mapping[str, str] | None) -> Text | None:
    return None if value is None else Text(value["en"], value["fr"])


def freeze(value: Any) -> Any:
    """Plain YAML data made immutable: mappings become read-only, lists become tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


# -- lists and workflows ----------------------------------------------------------------
def _value_list(spec: ListSpec) -> ValueList:
    values = [
        ValueDef(
            code=code,
            label=text(value["label"]),
            order=value.typed["order"],
            retired=bool(value.get("retired", False)),
            color=value.get("color"),
        )
        for code, value in spec.values.items()
    ]
    values.sort(key=lambda v: (v.order, v.code))
    return ValueList(name=spec.name, label=text(spec.props["label"]), values=tuple(values), source=spec.origin.source())


def _workflow(spec: WorkflowSpec) -> WorkflowDef:
    initial = spec.props.typed["initial"]
    statuses = [
        StatusDef(
            code=code,
            label=text(status["label"]),
            sequence=status.typed["sequence"],
            initial=code == initial,
            open=status.typed["open"],
            won=bool(status.get("won", False)),
            lost=bool(status.get("lost", False)),
            color=status.get("color"),
            protected=bool(status.get("protected", False)),
            on_enter=_expressions(status.get("on_enter")),
        )
        for code, status in spec.statuses.items()
    ]
    statuses.sort(key=lambda s: (s.sequence, s.code))
    transitions = tuple(_transition(t) for t in spec.transitions.values())
    return WorkflowDef(
        name=spec.name,
        label=text(spec.props["label"]),
        statuses=tuple(statuses),
        transitions=transitions,
        source=spec.origin.source(),
        free=bool(spec.props.get("free", False)),
    )


def _transition(props: Props) -> TransitionDef:
    return TransitionDef(
        name=props["name"],
        label=text(props["label"]),
        from_statuses=props.typed["from"],
        to=props["to"],
        guard=props.get("guard"),
        guard_message=text(props.get("guard_message")),
        roles=tuple(props.get("roles", ())),
        required=tuple(props.get("required", ())),
        actions=tuple(_action(a) for a in props.get("actions", ())),
    )


def _expressions(values: Mapping[str, Any] | None) -> Mapping[str, str]:
    """`set` and `on_enter` values as expression sources: a YAML literal (number, bool, null) becomes its source."""
    return MappingProxyType({k: v if isinstance(v, str) else repr(v) for k, v in (values or {}).items()})


def _action(action: Mapping[str, Any]) -> ActionDef:
    if "set" in action:
        return ActionDef("set", _expressions(action["set"]))
    if "create" in action:
        create = action["create"]
        return ActionDef("create", MappingProxyType({"entity": create["entity"], "values": _expressions(create.get("values"))}))
    if "copy" in action:
        copy = action["copy"] or {}
        return ActionDef("copy", MappingProxyType({
            "entity": copy.get("entity"), "values": _expressions(copy.get("values")),
            "except": tuple(copy.get("except", ())), "link": copy.get("link"),
        }))
    return ActionDef(action["call"], freeze(action.get("params", {})))


# -- entities -----------------------------------------------------------------------------
def _entity(spec: EntitySpec, workflow: WorkflowDef | None, named_views: Any) -> EntityDef:
    fields = [_field(spec.name, name, char) for name, char in spec.characteristics.items()]
    fields.extend(owned_system_fields(spec))
    if workflow is not None:
        fields.append(
            FieldDef(
                name="status",
                type="status",
                label=STATUS_LABEL,
                source=spec.props.origin_of("workflow").source(),
                mandatory=True,
                indexed=True,
                default=workflow.initial.code,
                workflow=workflow.name,
                system=True,
            )
        )
    label = text(spec.props["label"])
    plural = text(spec.props["plural"])
    default_list = _default_list(spec, fields, plural)
    default_form = _default_form(spec, fields, label)
    views = [default_list, default_form]
    for view in named_views:
        views.append(_view(view.name, spec.name, view.props["kind"], view.props, text(view.props["label"]),
                           view.origin.source(), default_list, default_form))
    return EntityDef(
        name=spec.name,
        label=label,
        plural=plural,
        source=spec.origin.source(),
        fields=tuple(fields),
        title=spec.props.get("title"),
        workflow=workflow.name if workflow is not None else None,
        views=tuple(views),
        natural_key=tuple(spec.props.get("natural_key", ())),
        duplicate_rules=tuple(
            DuplicateRuleDef(name=name, label=text(rule["label"]), fields=tuple(rule["match"]), source=rule.origin.source())
            for name, rule in spec.duplicates.items()
        ),
        owned_by=spec.props.get("owned_by"),
    )


def _field(entity: str, name: str, char: Props) -> FieldDef:
    field_type = char["type"]
    typed = char.typed
    max_length = char.get("max_length")
    if max_length is None and field_type == "string":
        max_length = DEFAULT_STRING_LENGTH
    decimal = field_type == "decimal"
    high = typed.get("max")
    if high is None and field_type in COLLECTION_CEILINGS:
        high = COLLECTION_CEILINGS[field_type]
    reverse_name, reverse_label = declared_reverse(char) if "reverse" in char else (None, None)
    return FieldDef(
        name=name,
        type=field_type,
        label=text(char["label"]),
        source=char.origin.source(),
        help=text(char.get("help")),
        mandatory=bool(char.get("mandatory", False)),
        mandatory_when=char.get("mandatory_when"),
        systematic=bool(char.get("systematic", True)),
        readonly=bool(char.get("readonly", False)),
        unique=bool(char.get("unique", False)),
        indexed=bool(char.get("indexed", False)),
        searchable=bool(char.get("searchable", False)),
        historized=bool(char.get("historized", False)),
        min=typed.get("min"),
        max=high,
        min_length=char.get("min_length"),
        max_length=max_length,
        pattern=char.get("pattern"),
        default=typed.get("default"),
        default_expr=char.get("default_expr"),
        list=char.get("list"),
        entity=char.get("entity"),
        scale=char.get("scale", DEFAULT_SCALE) if decimal else None,
        precision=char.get("precision", DEFAULT_PRECISION) if decimal else None,
        widget=char.get("widget"),
        format=char.get("format"),
        renamed_from=former_names(char.get("renamed_from")),
        join_table=join_table_name(entity, name) if field_type == "links" else None,
        reverse_name=reverse_name,
        reverse_label=text(reverse_label),
    )


def _default_columns(fields: list[FieldDef]) -> tuple[str, ...]:
    """The first systematic characteristics holding one value each (no lines or links), then `status`."""
    columns = [f.name for f in fields if f.systematic and not f.system and not f.is_collection][:DEFAULT_LIST_COLUMNS]
    columns.extend(f.name for f in fields if f.type == "status")
    return tuple(columns)


def _default_list(spec: EntitySpec, fields: list[FieldDef], plural: Text) -> ViewDef:
    generated = ViewDef(name="list", entity=spec.name, kind="list", label=plural, source=spec.origin.source(),
                        columns=_default_columns(fields), sort=DEFAULT_SORT)
    layout = spec.views.get("list")
    if layout is None:
        return generated
    return _view("list", spec.name, "list", layout, text(layout.get("label")) or plural, layout.origin.source(), generated, None)


def _default_sections(fields: list[FieldDef]) -> tuple[SectionDef, ...]:
    return (SectionDef(title=GENERAL_SECTION, fields=tuple(f.name for f in fields if f.systematic and f.type != "status")),)


def _default_form(spec: EntitySpec, fields: list[FieldDef], label: Text) -> ViewDef:
    generated = ViewDef(name="form", entity=spec.name, kind="form", label=label, source=spec.origin.source(),
                        sections=_default_sections(fields))
    layout = spec.views.get("form")
    if layout is None:
        return generated
    return _view("form", spec.name, "form", layout, text(layout.get("label")) or label, layout.origin.source(), None, generated)


def _view(name: str, entity: str, kind: str, props: Props, label: Text, source: Source,
          default_list: ViewDef | None, default_form: ViewDef | None) -> ViewDef:
    """A list view or form; one without columns or sections takes them from the defaults given."""
    if kind == "form":
        if "sections" in props:
            sections = tuple(SectionDef(title=text(s["title"]), fields=tuple(s["fields"]), tab=s.get("tab"))
                             for s in props["sections"])
        else:
            sections = default_form.sections if default_form else ()
        return ViewDef(name=name, entity=entity, kind="form", label=label, source=source, sections=sections)
    columns = tuple(props["columns"]) if "columns" in props else (default_list.columns if default_list else ())
    return ViewDef(
        name=name,
        entity=entity,
        kind="list",
        label=label,
        source=source,
        columns=columns,
        filters=tuple(props.get("filters", ())),
        sort=tuple(props.get("sort", DEFAULT_SORT)),
        group_by=tuple(props.get("group_by", ())),
        mass_update=tuple(props.get("mass_update", ())),
        where=freeze(props.typed.get("where", {})),
        page_size=props.get("page_size", 50),
    )
