"""The immutable `Model`: what the definition packs say, once loaded, checked and merged.

Everything downstream (engine, renderer, API) reads these objects and nothing else.
They are frozen dataclasses built once by `metamodel.loader.load_model`; lookups by
name go through read-only mappings so that a `Model` answers every question about an
entity the way Django's `Model._meta` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from metamodel.errors import Problem

LANGUAGES = ("en", "fr")

TEXT_TYPES = frozenset({"string", "text", "rich_text", "email", "phone", "url"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})
LIST_TYPES = frozenset({"choice", "multi_choice"})
FIELD_TYPES = TEXT_TYPES | NUMBER_TYPES | TEMPORAL_TYPES | LIST_TYPES | {"boolean", "link", "status"}
"""`status` is not declared by authors: the loader adds it to entities that name a workflow."""

MATCHABLE_TYPES = frozenset({"string", "text", "email", "phone", "url", "integer", "choice", "link", "date"})
"""Types a natural key or a duplicate rule may name: values that compare as one token."""

SYSTEM_COLUMNS = ("id", "created_at", "created_by", "updated_at", "updated_by", "version", "deleted_at")
"""Columns every entity table has; they may be named in views but never declared."""


@dataclass(frozen=True)
class Source:
    """Where a definition came from, for error messages: `file:line`."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Text:
    """A label in every supported language."""

    en: str
    fr: str

    def get(self, lang: str | None = None) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class FieldDef:
    """A characteristic of an entity."""

    name: str
    type: str
    label: Text
    source: Source
    help: Text | None = None
    mandatory: bool = False
    mandatory_when: str | None = None
    systematic: bool = True
    readonly: bool = False
    unique: bool = False
    indexed: bool = False
    searchable: bool = False
    historized: bool = False
    min: Any = None
    """Lower bound of the value (numbers, dates), typed like the field."""
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    default: Any = None
    """Literal default, typed like the field (a list of codes for multi_choice)."""
    default_expr: str | None = None
    list: str | None = None
    """Value list name, for choice and multi_choice."""
    entity: str | None = None
    """Target entity, for link."""
    workflow: str | None = None
    """Workflow name, for the synthesized `status` field."""
    scale: int | None = None
    precision: int | None = None
    widget: str | None = None
    format: str | None = None
    """A field format registered by a plugin (e.g. `siret` on a string): an extra check."""
    renamed_from: tuple[str, ...] = ()
    """Former names, oldest first (a definition may give one name or a list)."""

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES


@dataclass(frozen=True)
class ValueDef:
    code: str
    label: Text
    order: int
    retired: bool = False
    color: str | None = None


@dataclass(frozen=True)
class ValueList:
    name: str
    label: Text
    values: tuple[ValueDef, ...]
    """Sorted by `order`, then code."""
    source: Source

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.values)

    @property
    def active_codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.values if not v.retired)

    def value(self, code: str) -> ValueDef | None:
        return next((v for v in self.values if v.code == code), None)


@dataclass(frozen=True)
class StatusDef:
    code: str
    label: Text
    sequence: int
    initial: bool = False
    open: bool = True
    won: bool = False
    lost: bool = False
    color: str | None = None
    protected: bool = False
    on_enter: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Field -> expression, set whenever a record enters this status (e.g. a probability)."""


@dataclass(frozen=True)
class ActionDef:
    """One action of a transition, run in the transition's transaction.

    `kind` is `set` (params: field -> expression), `create` (params: `entity` and
    `values`, field -> expression) or the name of a plugin action (params as written).
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class TransitionDef:
    name: str
    label: Text
    from_statuses: tuple[str, ...]
    """Expanded status codes (`*` and `open` are resolved by the loader)."""
    to: str
    guard: str | None = None
    guard_message: Text | None = None
    roles: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    actions: tuple[ActionDef, ...] = ()


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    label: Text
    statuses: tuple[StatusDef, ...]
    """Sorted by sequence."""
    transitions: tuple[TransitionDef, ...]
    source: Source
    free: bool = False

    @property
    def initial(self) -> StatusDef:
        return next((s for s in self.statuses if s.initial), self.statuses[0])

    @property
    def open_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.statuses if s.open)

    def status(self, code: str) -> StatusDef | None:
        return next((s for s in self.statuses if s.code == code), None)


@dataclass(frozen=True)
class SectionDef:
    title: Text
    fields: tuple[str, ...]
    tab: str | None = None


@dataclass(frozen=True)
class ViewDef:
    """A list view (`kind == "list"`) or a form layout (`kind == "form"`) of one entity."""

    name: str
    entity: str
    kind: str
    label: Text
    source: Source
    columns: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    """Field names, `-` prefixed for descending."""
    group_by: tuple[str, ...] = ()
    mass_update: tuple[str, ...] = ()
    where: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Fixed filter: field name -> value, a list of values, or {min, max}."""
    page_size: int = 50
    sections: tuple[SectionDef, ...] = ()


@dataclass(frozen=True)
class DuplicateRuleDef:
    """Records whose normalised values are equal in every field of `fields` are probable duplicates."""

    name: str
    label: Text
    fields: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class EntityDef:
    name: str
    label: Text
    plural: Text
    source: Source
    fields: tuple[FieldDef, ...]
    """Declared order; includes the synthesized `status` field when a workflow is named."""
    title: str | None = None
    """Template such as "{first_name} {last_name}"."""
    workflow: str | None = None
    views: tuple[ViewDef, ...] = ()
    """The entity's views: its default `list` and `form` always exist (the loader fills them)."""
    natural_key: tuple[str, ...] = ()
    """Characteristics identifying a record for import (upsert key, link resolution). Not a
    uniqueness constraint: two records may share it, import then reports the ambiguity."""
    duplicate_rules: tuple[DuplicateRuleDef, ...] = ()
    """Declared order."""
    fields_by_name: Mapping[str, FieldDef] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields_by_name", MappingProxyType({f.name: f for f in self.fields}))

    def field(self, name: str) -> FieldDef:
        return self.fields_by_name[name]

    def view(self, name: str) -> ViewDef:
        return next(v for v in self.views if v.name == name)

    def duplicate_rule(self, name: str) -> DuplicateRuleDef:
        """The rule called `name`; KeyError when the entity has none of that name."""
        for rule in self.duplicate_rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    @property
    def historized_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.historized)


SCOPES = ("own", "team", "all")
"""Row scopes, narrowest first: records assigned to or created by the user, those of the
user's team, every record."""

ENTITY_OPERATIONS = ("read", "create", "update", "delete", "export", "import", "mass_update")


@dataclass(frozen=True)
class EntityPermission:
    """What a role may do with one entity's records."""

    operations: frozenset[str] = frozenset()
    """A subset of ENTITY_OPERATIONS."""
    scope: str = "all"
    hidden: frozenset[str] = frozenset()
    """Characteristics the role never sees (absent from lists, forms, API, exports, history)."""
    readonly: frozenset[str] = frozenset()
    """Characteristics the role sees but cannot change."""


@dataclass(frozen=True)
class RoleDef:
    name: str
    label: Text
    source: Source
    entities: Mapping[str, EntityPermission] = field(default_factory=lambda: MappingProxyType({}))
    """Entity name -> permission; an entity not named here is out of reach for the role."""
    admin: bool = False
    """Administrators may do everything, on every record."""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    path: str
    label: Text | None = None
    requires: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class PluginReference:
    """A name the definitions expect a plugin to provide, and where it is written.

    The metamodel knows no plugin: `engine.installation.plugin_check` compares these with
    what the installed plugins register, so that a missing one is refused at load time.
    """

    kind: str
    """`format` (a characteristic's `format:`) or `action` (a transition's `call:`)."""
    name: str
    file: str
    line: int
    path: str
    """Where in the document, e.g. `characteristics.siret.format` or `transitions.1.actions.0.call`."""
    field_type: str | None = None
    """For a format: the type of the characteristic it is set on."""

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.path, message)


@dataclass(frozen=True)
class Model:
    """The registry of every definition, merged across packs. Built once; never mutated."""

    packs: tuple[PackInfo, ...]
    entities: Mapping[str, EntityDef]
    lists: Mapping[str, ValueList]
    workflows: Mapping[str, WorkflowDef]
    roles: Mapping[str, RoleDef] = field(default_factory=lambda: MappingProxyType({}))
    plugin_references: tuple[PluginReference, ...] = field(default=(), compare=False)
    """Every field format and plugin action the definitions name, with where."""
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    """What loads but may fail on some records (an optional field in arithmetic without a guard):
    `ossature validate` shows them; they never stop a load."""

    def entity(self, name: str) -> EntityDef:
        return self.entities[name]

    def value_list(self, name: str) -> ValueList:
        return self.lists[name]

    def workflow(self, name: str) -> WorkflowDef:
        return self.workflows[name]

    def role(self, name: str) -> RoleDef:
        return self.roles[name]
