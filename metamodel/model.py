"""The immutable `Model`: what the definition packs say, once loaded, checked and merged.

Everything downstream (engine, renderer, API) reads these objects and nothing else.
They are frozen dataclasses built once by `metamodel.building.loader.load_model`; lookups by
name go through read-only mappings so that a `Model` answers every question about an
entity the way Django's `Model._meta` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from metamodel.errors import Problem
from metamodel.field_paths import COLLECTION_TYPES, PathError as PathError, Step, walk_path
from metamodel.suggestions import did_you_mean

LANGUAGES = ("en", "fr")

TEXT_TYPES = frozenset({"string", "text", "rich_text", "email", "phone", "url"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})
LIST_TYPES = frozenset({"choice", "multi_choice"})
FIELD_TYPES = TEXT_TYPES | NUMBER_TYPES | TEMPORAL_TYPES | LIST_TYPES | {"boolean", "link", "status"}
"""Types holding one value per record, stored in a column of the entity's table. `status` is not
declared by authors: the loader adds it to entities that name a workflow."""
CHARACTERISTIC_TYPES = FIELD_TYPES | COLLECTION_TYPES
"""Every type a characteristic may have: FIELD_TYPES, and `lines` and `links`, which hold several
records and have no column (`lines` are rows of the owned entity's table, with `parent_id` and
`position`; `links` rows of a join table, `FieldDef.join_table`)."""
RELATION_TYPES = frozenset({"link", "links", "lines"})
"""Characteristics naming records of another entity (`entity:`): one (link), a set (links), owned lines."""

MAX_LINES = 1_000
"""Lines a record may own at most (the hard ceiling and the default `max` of a `lines`)."""
MAX_LINKS = 10_000
"""Members a `links` characteristic may hold at most (the hard ceiling and its default `max`)."""
PARENT_FIELD = "parent_id"
"""System characteristic of an owned entity: a link to the record that owns the line."""
POSITION_FIELD = "position"
"""System characteristic of an owned entity: the line's place among its owner's lines (ascending)."""
OWNED_SYSTEM_FIELDS = (PARENT_FIELD, POSITION_FIELD)

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
    """Lower bound of the value (numbers, dates), typed like the field; for `lines` and `links`,
    the fewest lines or members (an int)."""
    max: Any = None
    """Upper bound, as `min`; for `lines` and `links` the most lines or members, always set
    (MAX_LINES or MAX_LINKS when not declared)."""
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    default: Any = None
    """Literal default, typed like the field (a list of codes for multi_choice)."""
    default_expr: str | None = None
    list: str | None = None
    """Value list name, for choice and multi_choice."""
    entity: str | None = None
    """Target entity, for link and links; the owned entity whose records are the lines, for lines."""
    workflow: str | None = None
    """Workflow name, for the synthesized `status` field."""
    scale: int | None = None
    precision: int | None = None
    widget: str | None = None
    format: str | None = None
    """A field format registered by a plugin (e.g. `siret` on a string): an extra check."""
    renamed_from: tuple[str, ...] = ()
    """Former names, oldest first (a definition may give one name or a list)."""
    join_table: str | None = None
    """For links: the join table holding the members, `<entity>__<field>` (at most
    `identifiers.MAX_TABLE_NAME_LENGTH` characters; the engine may prefix it like entity tables)."""
    reverse_name: str | None = None
    """For link and links: the reverse relation's name as the definitions give it (`reverse:`),
    None when it takes the default. The relation itself, defaults filled, is
    `Model.reverse_relation(entity, field)`."""
    reverse_label: Text | None = None
    """For link and links: the reverse relation's label as declared, None for the default."""
    system: bool = False
    """Added by the loader, never declared: `status` (an entity with a workflow), `parent_id` and
    `position` (an owned entity), and the system columns a path may end on."""

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def is_collection(self) -> bool:
        """Holds several records (`lines`, `links`): no column of its own in the entity's table."""
        return self.type in COLLECTION_TYPES


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
    `values`, field -> expression), `copy` (params: `entity`, `values`, `except`, `link`:
    metamodel/checking/copying.py) or the name of a plugin action (params as written).
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
class PathDef:
    """A path through links, resolved: `Model.path("booking", "room.site.name")`.

    `steps` are the link characteristics followed, in order (`room` of booking, `site` of
    room); `field` is the characteristic read at the end (`name` of site: a `link` there means
    the linked record, its id and title). `entities[i]` is the entity the i-th name is read on:
    `("booking", "room", "site")`, one more than `steps`, its last holding `field`. A plain
    name is a path with no step.

    Values: an expression reading `room.site.name` is given it under that very key in the flat
    mapping it evaluates (`{"room": 12, "room.site.name": "Lyon"}`, see
    `metamodel.expressions.sandbox.Expression`); a list reads it as the column of a join per step. When
    a link on the way is empty, or names a record the actor may not read, the value is None
    (never the hidden value).
    """

    text: str
    steps: tuple[FieldDef, ...]
    field: FieldDef
    entities: tuple[str, ...]

    @property
    def entity(self) -> str:
        """The entity the path is read from."""
        return self.entities[0]

    @property
    def target(self) -> str:
        """The entity holding `field`."""
        return self.entities[-1]

    @property
    def depth(self) -> int:
        """Links followed: 0 for a plain name, at most `field_paths.MAX_PATH_DEPTH`."""
        return len(self.steps)


@dataclass(frozen=True)
class RelationDef:
    """A reverse relation: the records of `source_entity` whose `source_field` (a `link`, or a
    `links` holding it) names a record of `entity`. `event.account` makes `event_account` on
    account (or the name its `reverse:` gives)."""

    name: str
    label: Text
    entity: str
    """The entity whose records show the relation (the target of `source_field`)."""
    source_entity: str
    source_field: str
    kind: str
    """`link` or `links`: the type of `source_field`."""
    source: Source
    """Where it is declared: the `reverse:` key, else the characteristic."""


@dataclass(frozen=True)
class RelatedPanelDef:
    """A panel of related records on a form: the records of one reverse relation."""

    relation: str
    """A name of `Model.relations(entity)`."""
    columns: tuple[str, ...]
    """Fields or paths of the relation's source entity (its list columns by default, without
    the relation's own link)."""
    sort: tuple[str, ...]
    """As a list view's `sort` (the source entity's list sort by default)."""
    size: int
    """Rows per page of the panel."""
    paths: Mapping[str, PathDef] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    """The paths among `columns` and `sort`, by text, read from the source entity."""


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
    related: tuple[RelatedPanelDef, ...] = ()
    """Forms: the panels of related records under the form, in order. The declared ones, or by
    default one per reverse relation of the entity (`Model.relations`); `related: []` gives none."""
    declared_related: bool = False
    """Forms: the panels are declared (`related:`); False: they are the defaults, which follow the
    entity's reverse relations."""
    paths: Mapping[str, PathDef] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    """Lists: every path through links the view names (in `columns`, `filters`, `sort`,
    `group_by` or `where` keys), by its text: what the list query joins. A name absent from
    it is a field of the entity itself (`"." in name` tells the same)."""


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
    owned_by: str | None = None
    """The owner of an owned entity (`owned_by:`): its records are the lines of one record of
    the owner (its `parent_id`), edited with it on the owner's form, never on their own (no
    list, menu, workflow or link to them)."""
    relations: tuple[RelationDef, ...] = ()
    """Reverse relations onto this entity, in the order of the entities and characteristics
    declaring them (`Model.relations`)."""
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

    @property
    def column_fields(self) -> tuple[FieldDef, ...]:
        """The fields stored in a column of the entity's table (all but `lines` and `links`)."""
        return tuple(f for f in self.fields if not f.is_collection)

    @property
    def line_columns(self) -> tuple[str, ...]:
        """An owned entity's characteristics as the owner's line editor shows them: the fields of
        its form, in order."""
        return tuple(name for section in self.view("form").sections for name in section.fields)

    def relation(self, name: str) -> RelationDef:
        """The reverse relation called `name`; UnknownRelation (a KeyError) when there is none."""
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise UnknownRelation(self.name, name, [r.name for r in self.relations])


class UnknownRelation(KeyError):
    """`Model.relation(entity, name)` with a name the entity has no reverse relation of."""

    def __init__(self, entity: str, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.message = f"entity '{entity}' has no relation '{name}'{did_you_mean(name, known)}"

    def __str__(self) -> str:
        return self.message


def _system_field(name: str, field_type: str, en: str, fr: str) -> FieldDef:
    return FieldDef(name=name, type=field_type, label=Text(en, fr), source=Source("", 0), readonly=True,
                    systematic=False, system=True)


SYSTEM_FIELDS: Mapping[str, FieldDef] = MappingProxyType({
    "id": _system_field("id", "integer", "Id", "Identifiant"),
    "created_at": _system_field("created_at", "datetime", "Created", "Créé le"),
    "created_by": _system_field("created_by", "link", "Created by", "Créé par"),
    "updated_at": _system_field("updated_at", "datetime", "Updated", "Modifié le"),
    "updated_by": _system_field("updated_by", "link", "Updated by", "Modifié par"),
    "version": _system_field("version", "integer", "Version", "Version"),
    "deleted_at": _system_field("deleted_at", "datetime", "Deleted", "Supprimé le"),
})
"""The system columns as fields (`entity` None: a path ends on them, it does not follow them)."""


def resolve_path(entities: Mapping[str, EntityDef], entity: str, text: str) -> PathDef:
    """Path `text` read from `entity` (see `PathDef`); PathError names the step it cannot read.
    `Model.path` caches it."""
    if entity not in entities:
        raise KeyError(entity)

    def field_of(owner: str, name: str) -> FieldDef | None:
        definition = entities.get(owner)
        found = definition.fields_by_name.get(name) if definition is not None else None
        return found if found is not None else SYSTEM_FIELDS.get(name)

    def lookup(owner: str, name: str) -> Step | None:
        found = field_of(owner, name)
        return None if found is None else Step(owner, name, found.type, found.entity if found.type == "link" else None)

    def known(owner: str) -> list[str]:
        definition = entities.get(owner)
        return [*(definition.fields_by_name if definition else ()), *SYSTEM_FIELDS]

    steps = walk_path(text, entity, lookup, known)
    fields = tuple(field_of(s.entity, s.name) for s in steps)
    return PathDef(text, fields[:-1], fields[-1], tuple(s.entity for s in steps))  # type: ignore[arg-type]


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
    _paths: dict[tuple[str, str], PathDef] = field(default_factory=dict, init=False, compare=False, repr=False)

    def entity(self, name: str) -> EntityDef:
        return self.entities[name]

    def value_list(self, name: str) -> ValueList:
        return self.lists[name]

    def workflow(self, name: str) -> WorkflowDef:
        return self.workflows[name]

    def role(self, name: str) -> RoleDef:
        return self.roles[name]

    # -- relations ----------------------------------------------------------------------
    def relations(self, entity: str) -> tuple[RelationDef, ...]:
        """The reverse relations onto `entity`: one per `link` or `links` of another entity (or of
        itself) targeting it, in declaration order. Owned entities have none, nor do the links
        of owned entities make any."""
        return self.entities[entity].relations

    def relation(self, entity: str, name: str) -> RelationDef:
        """The reverse relation `name` of `entity`; UnknownRelation (a KeyError, whose message
        has a "did you mean") when there is none."""
        return self.entities[entity].relation(name)

    def reverse_relation(self, entity: str, field_name: str) -> RelationDef | None:
        """The reverse relation made by characteristic `field_name` of `entity` (a link or links),
        or None (another type, or an owned entity's link)."""
        target = self.entities[entity].field(field_name).entity
        if target is None or target not in self.entities:
            return None
        return next((r for r in self.entities[target].relations
                     if r.source_entity == entity and r.source_field == field_name), None)

    def owner_field(self, entity: str) -> FieldDef | None:
        """For an owned entity, the owner's `lines` characteristic whose lines its records are;
        None for any other entity."""
        owner = self.entities[entity].owned_by
        if owner is None:
            return None
        return next(f for f in self.entities[owner].fields if f.type == "lines" and f.entity == entity)

    def path(self, entity: str, text: str) -> PathDef:
        """Path `text` (`room.site.name`, or a plain name) read from `entity`, resolved once and
        cached. PathError (a ValueError with `message` and `step`, the index of the name it
        cannot read) for an unknown name ("did you mean"), a step that is not a link, a path
        deeper than MAX_PATH_DEPTH or ending on lines/links; KeyError for an unknown entity.
        Paths in views, titles and expressions were checked when the pack loaded."""
        key = (entity, text)
        found = self._paths.get(key)
        if found is None:
            found = self._paths[key] = resolve_path(self.entities, entity, text)
        return found
