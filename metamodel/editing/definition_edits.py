"""Edits of the admin overlay: an administrator's change turned into overlay documents.

The admin overlay is a pack of YAML documents layered last (metamodel/reading/overlay.py). An edit
made on the admin pages ("add a characteristic to contact", "retire a value", "add a status")
becomes a change to those documents, written in the definition language a consultant would
write by hand, so that the overlay exported as a pack reads like any other pack:

- a definition declared by an earlier pack is changed through one `extends:` document per
  definition (`entities/contact.yaml` with `extends: contact`), holding new members
  (characteristics, values, statuses, transitions) and overrides of earlier ones;
- a member the overlay itself added is edited where it is declared (its type can change
  then: the migration planner converts the values or says which do not convert);
- a characteristic of an earlier pack has its properties overridden, only those that differ
  written; a new type, list or target entity declares it again in full (`redeclare: true`),
  and removing it lists it under `remove_characteristics` (the migration archives its values).

`OverlayEditor` works on parsed documents and the current `Model`; it only edits data, and
the caller validates the result by loading it (`engine.installation.definitions.Installation.plan_overlay`).
An edit that the language cannot express raises `DefinitionEditError`, naming the form field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from metamodel.merge import KIND_OF_FOLDER, former_names, layout_without, names_without, paths_without
from metamodel.model import ENTITY_OPERATIONS, SYSTEM_COLUMNS, FieldDef, Model, RelatedPanelDef, Text
from metamodel.relations.build import _panel
from metamodel.relations.reverse import default_name

Data = dict[str, Any]

CHARACTERISTIC_KEYS = (
    "type", "label", "mandatory", "systematic", "historized", "indexed", "min", "max", "max_length", "list", "entity",
)
"""What the characteristic form edits; a declaration's other keys (help, default...) are kept."""
FIXED_KEYS = ("type", "list", "entity")
"""What an override cannot change (metamodel/merge.py): a new value redeclares the characteristic."""
KEPT_ON_REDECLARE = ("help", "mandatory_when", "readonly", "unique", "searchable")
"""What the form does not edit and a redeclaration keeps whatever the new type."""
KEPT_FOR_SAME_VALUES = ("min_length", "pattern", "widget", "format", "scale", "precision", "default", "default_expr")
"""What a redeclaration keeps only when the type and list stay (a default code may not be in another list)."""
FLAG_DEFAULTS = {"mandatory": False, "systematic": True, "historized": False, "indexed": False}
REVERSED_TYPES = ("link", "links")
"""Types whose `reverse:` a redeclaration keeps, and the form edits."""
PANEL_KEYS = ("relation", "columns", "sort", "size")
"""A related panel of a form, as `views.form.related` writes it."""
STATUS_KEYS = ("label", "sequence", "color", "open", "won", "lost")
TRANSITION_KEYS = ("label", "from", "to", "roles")
VALUE_KEYS = ("label", "order", "color", "retired")

MESSAGES: dict[str, tuple[str, str]] = {
    "exists": ("'{name}' already exists in {owner}.", "« {name} » existe déjà dans {owner}."),
    "unknown": ("'{name}' does not exist in {owner}.", "« {name} » n'existe pas dans {owner}."),
    "protected": (
        "The status '{name}' is protected (processes depend on it): it cannot be removed.",
        "Le statut « {name} » est protégé (des traitements en dépendent) : il ne peut pas être supprimé.",
    ),
    "admin_role": (
        "The role '{name}' is an administrator role: it may do everything and names no entity.",
        "Le rôle « {name} » est un rôle d'administration : il peut tout faire et ne nomme aucune entité.",
    ),
}


class DefinitionEditError(ValueError):
    """An edit the definition language cannot express; `field` is the form field it is about."""

    def __init__(self, field: str, reason: str, **params: Any):
        self.field, self.reason, self.params = field, reason, params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        english, french = MESSAGES[self.reason]
        return (french if lang == "fr" else english).format(**self.params)


# -- documents as data --------------------------------------------------------------------


def parse_documents(texts: Mapping[str, str]) -> dict[str, Data]:
    """The overlay's documents (name -> YAML text) as data."""
    return {name: yaml.safe_load(text) or {} for name, text in texts.items()}


def dump_document(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def text_data(text: Text) -> dict[str, str]:
    return {"en": text.en, "fr": text.fr}


def yaml_value(value: Any) -> Any:
    """A value of a `Model` object written as the definition language writes it."""
    if isinstance(value, Text):
        return text_data(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (tuple, frozenset, set)):
        return list(value)
    return value


def field_values(f: FieldDef) -> dict[str, Any]:
    """The characteristic as the form edits it."""
    return {key: yaml_value(getattr(f, key)) for key in CHARACTERISTIC_KEYS}


def reverse_entry(f: FieldDef) -> Any:
    """The `reverse:` of link or links `f` as declared (a name, or {name, label}), None when it
    takes the defaults."""
    if f.reverse_label is not None:
        return {**({"name": f.reverse_name} if f.reverse_name else {}), "label": text_data(f.reverse_label)}
    return f.reverse_name


def default_panel(model: Model, entity: str, relation: str) -> RelatedPanelDef:
    """The panel of reverse relation `relation` of `entity` as it is without `columns`, `sort`
    or `size` (those of the relation's source entity's list): what an edit need not write."""
    return _panel(model.relation(entity, relation), {}, model.entities)


def declaration_of(f: FieldDef) -> Data:
    """Characteristic `f` as a full declaration, as the definition language writes it (no default
    value, no default flag)."""
    values = {k: v for k, v in field_values(f).items()
              if v is not None and not (k in FLAG_DEFAULTS and v == FLAG_DEFAULTS[k])}
    return _ordered({**values, **redeclaration(f, {})}, CHARACTERISTIC_KEYS)


def redeclaration(f: FieldDef, values: Mapping[str, Any]) -> Data:
    """What the form does not edit of characteristic `f`, for declaring it again with `values`:
    its help, uniqueness..., and its type's own rules (pattern, scale, default...) while the
    type and list stay."""
    same = values.get("type", f.type) == f.type and values.get("list", f.list) == f.list
    keys = KEPT_ON_REDECLARE + (KEPT_FOR_SAME_VALUES if same else ())
    kept = {key: yaml_value(getattr(f, key)) for key in keys if getattr(f, key) not in (None, False)}
    reverse = reverse_entry(f)
    if reverse is not None and values.get("type", f.type) in REVERSED_TYPES:
        kept["reverse"] = reverse
    return kept


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


class OverlayEditor:
    """The overlay's documents being edited, against the `Model` they currently make.

    One editor carries one administrator change (it may touch several documents: a new
    characteristic also goes into the list view and a form section)."""

    def __init__(self, texts: Mapping[str, str], model: Model):
        self.model = model
        self.original = dict(texts)
        self.docs = parse_documents(texts)

    # -- the documents -------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """Every document after the edit; a document left with nothing but `extends:` is dropped."""
        kept = {name: data for name, data in self.docs.items() if set(data) - {"extends"}}
        return {name: self.original[name] if self._unchanged(name, data) else dump_document(data)
                for name, data in kept.items()}

    def changes(self) -> dict[str, str | None]:
        """The documents this edit writes (None: removed), to be laid on the revision it was made from."""
        after = self.texts()
        changed: dict[str, str | None] = {n: t for n, t in after.items() if self.original.get(n) != t}
        changed.update({name: None for name in self.original if name not in after})
        return changed

    def _unchanged(self, name: str, data: Data) -> bool:
        return name in self.original and (yaml.safe_load(self.original[name]) or {}) == data

    def document(self, folder: str, name: str) -> Data:
        """The overlay document of definition `name` (`extends:` or declaring it); made when missing."""
        kind = KIND_OF_FOLDER[folder]
        for doc_name, data in self.docs.items():
            if doc_name.startswith(folder + "/") and name in (data.get("extends"), data.get(kind)):
                return data
        doc_name = self._free_name(folder, name)
        self.docs[doc_name] = {"extends": name}
        return self.docs[doc_name]

    # -- characteristics -----------------------------------------------------------------

    def added_here(self, entity: str, name: str) -> bool:
        """Is characteristic `name` declared (with its type) by the overlay, new or redeclared?"""
        return "type" in self._characteristic_entry(entity, name)

    def _characteristic_entry(self, entity: str, name: str) -> Data:
        entry = (self.document("entities", entity).get("characteristics") or {}).get(name)
        return entry if isinstance(entry, dict) else {}

    def set_characteristic(self, entity: str, name: str, values: Mapping[str, Any], *, new: bool) -> None:
        """Declare characteristic `name` (`new`) or change it. `values` holds keys of
        CHARACTERISTIC_KEYS, and for a link or links `reverse` (as `reverse_entry` gives it);
        None means no value (a bound removed, the default reverse relation)."""
        definition = self.model.entity(entity)
        exists = name in definition.fields_by_name
        if new and exists:
            raise DefinitionEditError("name", "exists", name=name, owner=entity)
        if not new and not exists:
            raise DefinitionEditError("name", "unknown", name=name, owner=entity)
        doc = self.document("entities", entity)
        characteristics = doc.setdefault("characteristics", {})
        current = None if new else definition.field(name)
        declared_here = new or self.added_here(entity, name)
        if current is not None and not declared_here and any(
                key in values and not _same(values[key], getattr(current, key)) for key in FIXED_KEYS):
            characteristics[name] = {"redeclare": True, **redeclaration(current, values)}
            declared_here = True
        new_type, new_target = values.get("type", current and current.type), values.get("entity", current and current.entity)
        if current is not None and current.type in REVERSED_TYPES and (
                new_type not in REVERSED_TYPES or new_target != current.entity):
            self._panels_without(entity, name, None, only_its_own=True)  # its relation leaves the target
        elif current is not None and "reverse" in values:
            self._follow_reverse(entity, current, values["reverse"])
        if declared_here:
            entry = dict(characteristics.get(name) or {})
            for key, value in values.items():
                if value is None or (key in FLAG_DEFAULTS and value == FLAG_DEFAULTS[key]):
                    entry.pop(key, None)
                else:
                    entry[key] = value
            characteristics[name] = _ordered(entry, ("redeclare", *CHARACTERISTIC_KEYS))
            return
        assert current is not None
        now = {**field_values(current), "reverse": reverse_entry(current)}
        entry = dict(characteristics.get(name) or {})
        for key, value in values.items():
            if not _same(value, now.get(key)):
                entry[key] = value
        if entry:
            characteristics[name] = entry
        else:
            characteristics.pop(name, None)
        if not characteristics:
            doc.pop("characteristics")

    def rename_characteristic(self, entity: str, name: str, new_name: str) -> None:
        """Rename a characteristic (the migration moves its column and values): declared again
        under `new_name` with `renamed_from: name`, and the earlier pack's one removed; it keeps
        its places in the views and roles."""
        definition = self.model.entity(entity)
        if name not in definition.fields_by_name or name == "status":
            raise DefinitionEditError("name", "unknown", name=name, owner=entity)
        if new_name in definition.fields_by_name or new_name in SYSTEM_COLUMNS or new_name == "status":
            raise DefinitionEditError("new_name", "exists", name=new_name, owner=entity)
        entry = self._characteristic_entry(entity, name)
        declared_here = "type" in entry and not entry.get("redeclare")
        if "type" in entry:
            declaration = {k: v for k, v in entry.items() if k not in ("redeclare", "renamed_from")}
        else:
            declaration = declaration_of(definition.field(name))
        # every former name, so that the places of the earlier pack's name follow, and the values
        # move from whichever column a database has (this one's, or one where the pack is new)
        former = [*former_names(entry.get("renamed_from")), name]
        self._drop_characteristic(entity, name, from_pack=not declared_here, successor=new_name)
        doc = self.document("entities", entity)
        doc.setdefault("characteristics", {})[new_name] = {
            **declaration, "renamed_from": former if len(former) > 1 else name}

    def remove_characteristic(self, entity: str, name: str) -> None:
        """Remove a characteristic (the migration archives its values) and the overlay's mentions
        of it in the entity's views and the roles; one of an earlier pack is listed under
        `remove_characteristics` (the merge takes it out of that pack's views and roles). The
        lines of an owned entity the overlay declared take it along (its table is archived with
        them); one a pack declares stays, and the loader says it needs its owner's lines."""
        definition = self.model.entity(entity)
        if name not in definition.fields_by_name or name == "status":
            raise DefinitionEditError("name", "unknown", name=name, owner=entity)
        entry = self._characteristic_entry(entity, name)
        self._drop_characteristic(entity, name, from_pack="type" not in entry or bool(entry.get("redeclare")))
        owned = definition.field(name).entity if definition.field(name).type == "lines" else None
        for doc_name, data in list(self.docs.items()):
            if owned is not None and doc_name.startswith("entities/") and data.get("entity") == owned:
                del self.docs[doc_name]

    def _drop_characteristic(self, entity: str, name: str, *, from_pack: bool, successor: str | None = None) -> None:
        """Take characteristic `name` out of the overlay: its entry, and (`from_pack`) the earlier
        pack's declaration through `remove_characteristics`; in the overlay's views and roles,
        `successor` takes its places, or it leaves them."""
        doc = self.document("entities", entity)
        (doc.get("characteristics") or {}).pop(name, None)
        _drop_empty(doc, "characteristics")
        if from_pack:
            doc.setdefault("remove_characteristics", []).append(name)
            ordered = _ordered(doc, ("extends", "remove_characteristics"))
            doc.clear()
            doc.update(ordered)
        views = doc.get("views") or {}
        for kind, layout in list(views.items()):
            views[kind] = layout_without(layout, name, successor)
            self._drop_empty_layout(entity, kind)
        self._panels_without(entity, name, successor)
        named = {v.name for v in self.model.entity(entity).views} - {"list", "form"}
        for doc_name, data in list(self.docs.items()):
            if doc_name.startswith("views/") and data.get("extends") in named:
                self.docs[doc_name] = layout_without(data, name, successor)
        for doc_name, data in self.docs.items():
            permission = (data.get("entities") or {}).get(entity) if doc_name.startswith("roles/") else None
            if isinstance(permission, dict):
                for key in ("hidden", "readonly"):
                    if name in permission.get(key, ()):
                        permission[key] = names_without(permission[key], name, successor)
                        _drop_empty(permission, key)

    def new_owned_entity(self, name: str, owner: str, label: Mapping[str, str], plural: Mapping[str, str],
                         characteristics: Mapping[str, Mapping[str, Any]]) -> None:
        """Declare entity `name` owned by `owner` (the records of its `lines` characteristic, added
        by the same edit: an owned entity without its owner's lines does not load), with its first
        `characteristics` (name -> values, as `set_characteristic` takes them)."""
        if name in self.model.entities:
            raise DefinitionEditError("owned_name", "exists", name=name, owner="entities")
        if owner not in self.model.entities:
            raise DefinitionEditError("owned_name", "unknown", name=owner, owner="entities")
        declared = {
            field: _ordered({k: v for k, v in values.items()
                             if v is not None and not (k in FLAG_DEFAULTS and v == FLAG_DEFAULTS[k])},
                            CHARACTERISTIC_KEYS)
            for field, values in characteristics.items()
        }
        self.docs[self._free_name("entities", name)] = {
            "entity": name, "label": dict(label), "plural": dict(plural), "owned_by": owner,
            "characteristics": declared,
        }

    # -- the entity's views ----------------------------------------------------------------

    def set_list_view(self, entity: str, columns: Sequence[str], filters: Sequence[str], mass_update: Sequence[str],
                      view: str = "list") -> None:
        """A list view's columns, filters and mass-update fields (others kept): the entity's own
        (`list`) in its entity document, a named view in an `extends:` document of views/."""
        current = self.model.entity(entity).view(view)
        wanted = {"columns": list(columns), "filters": list(filters), "mass_update": list(mass_update)}
        layout = self._layout(entity, "list") if view == "list" else self.document("views", view)
        for key, names in wanted.items():
            if names != list(getattr(current, key)):
                layout[key] = names
        if view == "list":
            self._drop_empty_layout(entity, "list")

    def set_related(self, entity: str, panels: Sequence[Mapping[str, Any]] | None, view: str = "form") -> None:
        """The related panels of the entity's form (or of its named form view `view`), in order
        (`related:`): each a reverse relation with, when they differ from its defaults
        (`default_panel`), its columns, sort and size; `[]` shows none; None drops the overlay's
        choice (the packs' panels, or the defaults)."""
        layout = self._layout(entity, "form") if view == "form" else self.document("views", view)
        if panels is None:
            layout.pop("related", None)
        else:
            entries = []
            for panel in panels:
                default = default_panel(self.model, entity, panel["relation"])
                entry = {"relation": panel["relation"]}
                for key in ("columns", "sort", "size"):
                    value = panel.get(key)
                    if value is not None and yaml_value(value) != yaml_value(getattr(default, key)):
                        entry[key] = yaml_value(value)
                entries.append(entry)
            layout["related"] = entries
        if view == "form":
            self._drop_empty_layout(entity, "form")

    def _edit_panels(self, edit: Callable[[str, Data], Data | None]) -> None:
        """Every form that declares related panels, each panel `edit`ed (`edit(entity, entry)`:
        the entry changed, or None to drop it); a form whose panels change gets them all in
        the overlay (`related:` replaces the list a pack gives)."""
        for target in self.model.entities.values():
            for view in target.views:
                if view.kind != "form" or not view.declared_related:
                    continue
                layout = self._layout(target.name, "form") if view.name == "form" else self.document("views", view.name)
                entries = layout.get("related")
                if entries is None:
                    entries = [self._panel_entry(target.name, panel) for panel in view.related]
                edited = [e for e in (edit(target.name, dict(entry)) for entry in entries) if e is not None]
                if edited != entries:
                    layout["related"] = edited
                if view.name == "form":
                    self._drop_empty_layout(target.name, "form")

    def _panel_entry(self, entity: str, panel: RelatedPanelDef) -> Data:
        """Panel `panel` of `entity`'s form as `related:` writes it (what differs from its defaults)."""
        default = default_panel(self.model, entity, panel.relation)
        entry: Data = {"relation": panel.relation}
        for key in ("columns", "sort", "size"):
            if yaml_value(getattr(panel, key)) != yaml_value(getattr(default, key)):
                entry[key] = yaml_value(getattr(panel, key))
        return entry

    def _panels_without(self, entity: str, name: str, successor: str | None, only_its_own: bool = False) -> None:
        """Characteristic `name` of `entity` out of the panels showing `entity`'s records (or
        `successor` in its places): the panel of the relation it makes goes, its columns and sort
        keys (and the paths through it) go; `only_its_own`: only that panel (a link retargeted
        or retyped: its relation leaves its former target, its values stay)."""
        made = self.model.reverse_relation(entity, name) if name in self.model.entity(entity).fields_by_name else None

        def edit(target: str, entry: Data) -> Data | None:
            relation = self.model.entity(target).relation(entry["relation"])
            if relation.source_entity != entity:
                return entry
            if made is not None and relation.name == made.name and successor is None:
                return None
            if only_its_own:
                return entry
            for key in ("columns", "sort"):
                if key in entry:
                    entry[key] = paths_without(list(entry[key]), name, successor)
                    if not entry[key]:
                        del entry[key]
            return entry

        self._edit_panels(edit)

    def _follow_reverse(self, entity: str, current: FieldDef, reverse: Any) -> None:
        """A reverse relation renamed (`reverse` as declared): the panels naming it follow."""
        old = self.model.reverse_relation(entity, current.name)
        if old is None:
            return
        declared = reverse.get("name") if isinstance(reverse, dict) else reverse
        # no name declared: the default, made from the characteristic's oldest name
        new = declared or default_name(entity, (*current.renamed_from, current.name)[0])
        if new == old.name:
            return
        target = old.entity

        def edit(panel_entity: str, entry: Data) -> Data:
            if panel_entity == target and entry["relation"] == old.name:
                entry["relation"] = new
            return entry

        self._edit_panels(edit)

    def show_in_list(self, entity: str, name: str) -> None:
        """Add characteristic `name` as the last column of the entity's list."""
        columns = list(self.model.entity(entity).view("list").columns)
        layout = self._layout(entity, "list")
        layout["columns"] = [c for c in layout.get("columns", columns) if c != name] + [name]

    def place_on_form(self, entity: str, name: str, section: int) -> None:
        """Add characteristic `name` at the end of form section number `section` (from 0)."""
        definition = self.model.entity(entity)
        layout = self._layout(entity, "form")
        sections = layout.get("sections") or [
            {"title": text_data(s.title), "fields": list(s.fields), **({"tab": s.tab} if s.tab else {})}
            for s in definition.view("form").sections
        ]
        if not 0 <= section < len(sections):
            raise DefinitionEditError("section", "unknown", name=str(section + 1), owner=entity)
        sections[section]["fields"] = [f for f in sections[section]["fields"] if f != name] + [name]
        layout["sections"] = sections

    def _layout(self, entity: str, kind: str) -> Data:
        doc = self.document("entities", entity)
        return doc.setdefault("views", {}).setdefault(kind, {})

    def _drop_empty_layout(self, entity: str, kind: str) -> None:
        doc = self.document("entities", entity)
        views = doc.get("views") or {}
        if kind in views and not views[kind]:
            del views[kind]
        if "views" in doc and not doc["views"]:
            del doc["views"]

    # -- value lists ---------------------------------------------------------------------

    def new_list(self, name: str, label: Text, values: Iterable[Mapping[str, Any]]) -> None:
        if name in self.model.lists:
            raise DefinitionEditError("name", "exists", name=name, owner="lists")
        self.docs[self._free_name("lists", name)] = {
            "list": name, "label": text_data(label), "values": [_ordered(dict(v), ("code", *VALUE_KEYS)) for v in values],
        }

    def add_value(self, list_name: str, code: str, values: Mapping[str, Any]) -> None:
        value_list = self.model.value_list(list_name)
        if value_list.value(code) is not None:
            raise DefinitionEditError("code", "exists", name=code, owner=list_name)
        entry = {"code": code, **{k: v for k, v in values.items() if v is not None and v is not False}}
        self.document("lists", list_name).setdefault("values", []).append(_ordered(entry, ("code", *VALUE_KEYS)))

    def set_value(self, list_name: str, code: str, values: Mapping[str, Any]) -> None:
        """Change a value's label, order, colour or retired flag (a value is retired, never deleted)."""
        value_list = self.model.value_list(list_name)
        current = value_list.value(code)
        if current is None:
            raise DefinitionEditError("code", "unknown", name=code, owner=list_name)
        doc = self.document("lists", list_name)
        entry = next((v for v in doc.get("values") or [] if v.get("code") == code), None)
        if entry is not None:
            _update(entry, _changed(entry, values, lambda key: getattr(current, key)), defaults={"retired": False})
            return
        overrides = doc.setdefault("overrides", {})
        change = dict(overrides.get(code) or {})
        for key, value in values.items():
            if not _same(value, yaml_value(getattr(current, key))):
                change[key] = value
        if change:
            overrides[code] = change
        else:
            overrides.pop(code, None)
        if not overrides:
            doc.pop("overrides")

    # -- workflows -----------------------------------------------------------------------

    def _workflow_entry(self, workflow: str, key: str, ident: str, name: str) -> Data | None:
        return next((e for e in self.document("workflows", workflow).get(key) or [] if e.get(ident) == name), None)

    def add_status(self, workflow: str, code: str, values: Mapping[str, Any]) -> None:
        if self.model.workflow(workflow).status(code) is not None:
            raise DefinitionEditError("code", "exists", name=code, owner=workflow)
        doc = self.document("workflows", workflow)
        entry = {"code": code, **{k: v for k, v in values.items() if v is not None}}
        doc.setdefault("statuses", []).append(_ordered(_status_flags(entry), ("code", *STATUS_KEYS)))

    def set_status(self, workflow: str, code: str, values: Mapping[str, Any]) -> None:
        current = self.model.workflow(workflow).status(code)
        if current is None:
            raise DefinitionEditError("code", "unknown", name=code, owner=workflow)
        entry = self._workflow_entry(workflow, "statuses", "code", code)
        if entry is not None:
            changed = _changed(entry, values, lambda key: getattr(current, key))
            merged = {k: v for k, v in {**entry, **changed}.items() if v is not None}
            entry.clear()
            entry.update(_ordered(_status_flags(merged), ("code", *STATUS_KEYS)))
            return
        self._override(workflow, "override_statuses", code, values, lambda key: getattr(current, key))

    def remove_status(self, workflow: str, code: str) -> None:
        """Remove a status; records still in it are listed by the migration plan for clean-up."""
        current = self.model.workflow(workflow).status(code)
        if current is None:
            raise DefinitionEditError("code", "unknown", name=code, owner=workflow)
        if current.protected:
            raise DefinitionEditError("code", "protected", name=code)
        doc = self.document("workflows", workflow)
        entry = self._workflow_entry(workflow, "statuses", "code", code)
        if entry is not None:
            doc["statuses"].remove(entry)
            for transition in list(doc.get("transitions") or []):  # the overlay's own transitions follow it
                sources = transition.get("from")
                if transition.get("to") == code:
                    doc["transitions"].remove(transition)
                elif isinstance(sources, list) and code in sources:
                    transition["from"] = [c for c in sources if c != code]
                    if not transition["from"]:
                        doc["transitions"].remove(transition)
            _drop_empty(doc, "statuses", "transitions")
            return
        (doc.get("override_statuses") or {}).pop(code, None)
        _drop_empty(doc, "override_statuses")
        doc.setdefault("remove_statuses", []).append(code)

    def add_transition(self, workflow: str, name: str, values: Mapping[str, Any]) -> None:
        if any(t.name == name for t in self.model.workflow(workflow).transitions):
            raise DefinitionEditError("name", "exists", name=name, owner=workflow)
        entry = {"name": name, **{k: v for k, v in values.items() if v not in (None, [])}}
        self.document("workflows", workflow).setdefault("transitions", []).append(
            _ordered(entry, ("name", *TRANSITION_KEYS)))

    def set_transition(self, workflow: str, name: str, values: Mapping[str, Any]) -> None:
        current = next((t for t in self.model.workflow(workflow).transitions if t.name == name), None)
        if current is None:
            raise DefinitionEditError("name", "unknown", name=name, owner=workflow)
        entry = self._workflow_entry(workflow, "transitions", "name", name)
        if entry is not None:
            _update(entry, values, defaults={"roles": []})
            return
        attributes = {"from": "from_statuses"}
        self._override(workflow, "override_transitions", name, values,
                       lambda key: getattr(current, attributes.get(key, key)))

    def remove_transition(self, workflow: str, name: str) -> None:
        if not any(t.name == name for t in self.model.workflow(workflow).transitions):
            raise DefinitionEditError("name", "unknown", name=name, owner=workflow)
        doc = self.document("workflows", workflow)
        entry = self._workflow_entry(workflow, "transitions", "name", name)
        if entry is not None:
            doc["transitions"].remove(entry)
            _drop_empty(doc, "transitions")
            return
        (doc.get("override_transitions") or {}).pop(name, None)
        _drop_empty(doc, "override_transitions")
        doc.setdefault("remove_transitions", []).append(name)

    def _override(self, workflow: str, key: str, name: str, values: Mapping[str, Any], current: Any) -> None:
        doc = self.document("workflows", workflow)
        overrides = doc.setdefault(key, {})
        change = dict(overrides.get(name) or {})
        for prop, value in values.items():
            if not _same(value, yaml_value(current(prop))):
                change[prop] = value
        if change:
            overrides[name] = change
        else:
            overrides.pop(name, None)
        _drop_empty(doc, key)

    # -- roles ---------------------------------------------------------------------------

    def set_permission(
        self, role: str, entity: str, operations: Iterable[str], scope: str,
        hidden: Iterable[str] = (), readonly: Iterable[str] = (),
    ) -> None:
        """What `role` may do with `entity`: the entry replaces the earlier one as a whole."""
        definition = self.model.role(role)
        if definition.admin:
            raise DefinitionEditError("role", "admin_role", name=role)
        chosen = set(operations)
        entry: Data = {"can": [op for op in ENTITY_OPERATIONS if op in chosen], "scope": scope}
        fields = [f.name for f in self.model.entity(entity).fields]
        for key, names in (("hidden", set(hidden)), ("readonly", set(readonly))):
            if names:
                entry[key] = [n for n in fields if n in names]
        self.document("roles", role).setdefault("entities", {})[entity] = entry

    def _free_name(self, folder: str, name: str) -> str:
        doc_name, number = f"{folder}/{name}.yaml", 2
        while doc_name in self.docs:
            doc_name, number = f"{folder}/{name}_{number}.yaml", number + 1
        return doc_name


# -- small helpers --------------------------------------------------------------------------


def _ordered(entry: Mapping[str, Any], order: Sequence[str]) -> Data:
    """`entry` with its keys in the order the documentation writes them (others after)."""
    return {**{k: entry[k] for k in order if k in entry}, **{k: v for k, v in entry.items() if k not in order}}


def _update(entry: Data, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is None or (key in defaults and value == defaults[key]):
            entry.pop(key, None)
        else:
            entry[key] = value


def _changed(entry: Data, values: Mapping[str, Any], current: Any) -> dict[str, Any]:
    """The values an edit writes into a declaration: those it already holds, and those that
    differ from the model (an implicit order or sequence stays implicit)."""
    return {k: v for k, v in values.items() if k in entry or not _same(v, yaml_value(current(k)))}


def _drop_empty(doc: Data, *keys: str) -> None:
    for key in keys:
        if key in doc and not doc[key]:
            del doc[key]


def _status_flags(entry: Data) -> Data:
    """Only the flags that say something: `open` is implied unless the status is won or lost."""
    won, lost = bool(entry.get("won")), bool(entry.get("lost"))
    flags = {"won": True} if won else {"lost": True} if lost else {}
    if entry.get("open") is False and not (won or lost):
        flags["open"] = False
    return {**{k: v for k, v in entry.items() if k not in ("open", "won", "lost")}, **flags}
