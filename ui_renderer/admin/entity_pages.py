"""The definitions overview, an entity's page, its characteristics and its list view."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue

from metamodel.editing.definition_edits import CHARACTERISTIC_KEYS, DefinitionEditError, field_values, parse_documents
from metamodel.field_paths import is_path
from metamodel.merge import KIND_OF_FOLDER
from metamodel.model import SYSTEM_COLUMNS, EntityDef, FieldDef

from .context import admin, admin_url, definitions, from_overlay, lang, model, origin, page
from .inputs import (
    DECLARABLE_TYPES, LINE_FIELD_TYPES, FormReader, read_characteristic, read_new_name, read_owned_entity,
    read_positions,
)
from .review import edit_refused, review
from .words import say

REVERSE_FIELDS = ("reverse_name", "reverse_label_en", "reverse_label_fr")
OWNED_FIELDS = ("owned_name", "owned_label_en", "owned_label_fr", "owned_plural_en", "owned_plural_fr",
                "first_name", "first_type", "first_label_en", "first_label_fr")
CHARACTERISTIC_FIELDS = ("name", "type", "label_en", "label_fr", *CHARACTERISTIC_KEYS, "section", "reverse",
                         *REVERSE_FIELDS)
LISTED_SYSTEM_COLUMNS = ("created_at", "updated_at", "created_by", "updated_by")


def overlay_changes() -> set[tuple[str, str]]:
    """(folder, name) of every definition the overlay extends or declares."""
    found = set()
    for doc_name, data in parse_documents(definitions().documents).items():
        folder = doc_name.split("/", 1)[0]
        name = data.get("extends") or data.get(KIND_OF_FOLDER.get(folder, ""))
        if name:
            found.add((folder, name))
    return found


def entity_or_404(name: str) -> EntityDef:
    found = model().entities.get(name)
    if found is None:
        abort(404)
    return found


@admin.get("/")
def overview() -> ResponseReturnValue:
    current = model()
    views = [(entity, view) for entity in current.entities.values() for view in entity.views]
    return page("overview.html", touched=overlay_changes(), origin=origin, views=views)


@admin.get("/entities/<entity>")
def entity_page(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    current = model()
    permissions = [(role, role.entities.get(entity)) for role in current.roles.values()]
    return page("entity.html", entity=definition, origin=origin, from_overlay=from_overlay, permissions=permissions,
                list_view=definition.view("list"), form_view=definition.view("form"),
                relations=current.relations(entity))


# -- characteristics -------------------------------------------------------------------------


def characteristic_or_404(entity: str, name: str) -> tuple[EntityDef, FieldDef]:
    """The entity and its characteristic `name` (the workflow's `status` is not edited here)."""
    definition = entity_or_404(entity)
    field = definition.fields_by_name.get(name)
    if field is None or field.type == "status":
        abort(404)
    return definition, field


def _characteristic_form(entity: EntityDef, field: FieldDef | None, added_here: bool, *, status: int = 200,
                         values: dict[str, Any] | None = None, **context: Any) -> ResponseReturnValue:
    current = model()
    reverse = current.reverse_relation(entity.name, field.name) if field is not None else None
    return page(
        "characteristic.html", status=status, entity=entity, field=field, added_here=added_here, origin=origin,
        values=values if values is not None else (form_values(field) if field else {"systematic": True}),
        types=types_for(field, owned=entity.owned_by is not None),
        lists=sorted(current.lists.values(), key=lambda v: v.label.get(lang())),
        entities=sorted(linkable(), key=lambda e: e.label.get(lang())), line_types=LINE_FIELD_TYPES,
        sections=entity.view("form").sections, reverse=reverse, **context,
    )


def linkable() -> list[EntityDef]:
    """The entities a link or links may name: not the owned ones (their owner is named instead)."""
    return [e for e in model().entities.values() if e.owned_by is None]


def form_values(field: FieldDef) -> dict[str, Any]:
    """The characteristic as the form shows it: its properties, and its reverse relation as declared."""
    values = field_values(field)
    values["reverse_name"] = field.reverse_name
    if field.reverse_label is not None:
        values["reverse_label_en"], values["reverse_label_fr"] = field.reverse_label.en, field.reverse_label.fr
    return values


def types_for(field: FieldDef | None, *, owned: bool = False) -> tuple[str, ...]:
    """The types offered: the declarable ones (not `lines` on an owned entity: lines are one
    level deep), and the field's own (a plugin's type) so that saving the form never changes it
    unasked."""
    declarable = tuple(t for t in DECLARABLE_TYPES if t != "lines") if owned else DECLARABLE_TYPES
    if field is None or field.type in declarable:
        return declarable
    return (*declarable, field.type)


def _submitted(reader: FormReader) -> dict[str, Any]:
    """The form as submitted, to show it again."""
    shown: dict[str, Any] = {key: request.form.get(key) for key in request.form}
    shown["label"] = {"en": request.form.get("label_en", ""), "fr": request.form.get("label_fr", "")}
    for key in ("mandatory", "systematic", "historized", "indexed", "in_list"):
        shown[key] = reader.flag(key)
    return shown


@admin.route("/entities/<entity>/characteristics/new", methods=["GET", "POST"])
def new_characteristic(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    if request.method == "GET":
        return _characteristic_form(definition, None, True, values={"systematic": True, "in_list": True})
    current = model()
    reader = FormReader(request.form, lang())
    name = read_new_name(reader)
    offered = types_for(None, owned=definition.owned_by is not None)
    field_type = reader.choice("type", offered, required=True) or "string"
    values = read_characteristic(reader, field_type=field_type, lists=current.lists,
                                 entities=[e.name for e in linkable()])
    owned = read_owned_entity(reader, current.entities) if field_type == "lines" else None
    # lines are not a list column; an owned entity has no list
    in_list = reader.flag("in_list") and field_type != "lines" and definition.owned_by is None
    section = reader.integer("section", minimum=1)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _characteristic_form(definition, None, True, status=status, values=_submitted(reader), **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    summary = say(lang(), "summary_add_characteristic", entity=entity, name=name)
    try:
        if owned is not None:
            owned_name, texts, first = owned
            editor.new_owned_entity(owned_name, entity, texts["label"], texts["plural"], first)
            values["entity"] = owned_name
            summary = say(lang(), "summary_add_lines", entity=entity, name=name, owned=owned_name)
        editor.set_characteristic(entity, name, values, new=True)
        if in_list:
            editor.show_in_list(entity, name)
        if section is not None:
            editor.place_on_form(entity, name, section - 1)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    return review(editor, summary, admin_url("entity_page", entity=entity), retry,
                  (*CHARACTERISTIC_FIELDS, *OWNED_FIELDS))


@admin.route("/entities/<entity>/characteristics/<name>", methods=["GET", "POST"])
def edit_characteristic(entity: str, name: str) -> ResponseReturnValue:
    definition, field = characteristic_or_404(entity, name)
    editor = definitions().editor()
    added_here = editor.added_here(entity, name)
    if request.method == "GET":
        return _characteristic_form(definition, field, added_here)
    current = model()
    reader = FormReader(request.form, lang())
    field_type = reader.choice("type", types_for(field, owned=definition.owned_by is not None)) or field.type
    values = read_characteristic(reader, field_type=field_type, lists=current.lists,
                                 entities=[e.name for e in linkable()])
    if field_type == "lines":
        values["entity"] = field.entity  # its owned entity: another one is a new characteristic
    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _characteristic_form(definition, field, added_here, status=status, values=_submitted(reader), **context)

    if reader.errors:
        return retry(errors=reader.errors)
    try:
        editor.set_characteristic(entity, name, values, new=False)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_edit_characteristic", entity=entity, name=name)
    return review(editor, summary, admin_url("entity_page", entity=entity), retry, CHARACTERISTIC_FIELDS)


@admin.post("/entities/<entity>/characteristics/<name>/rename")
def rename_characteristic(entity: str, name: str) -> ResponseReturnValue:
    definition, field = characteristic_or_404(entity, name)
    editor = definitions().editor()
    added_here = editor.added_here(entity, name)
    reader = FormReader(request.form, lang())
    new_name = read_new_name(reader, "new_name")

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _characteristic_form(definition, field, added_here, status=status,
                                    new_name=request.form.get("new_name", ""), **context)

    if reader.errors or new_name is None:
        return retry(errors=reader.errors)
    try:
        editor.rename_characteristic(entity, name, new_name)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_rename_characteristic", entity=entity, name=name, new_name=new_name)
    return review(editor, summary, admin_url("entity_page", entity=entity), retry, ("new_name",))


@admin.post("/entities/<entity>/characteristics/<name>/remove")
def remove_characteristic(entity: str, name: str) -> ResponseReturnValue:
    definition, field = characteristic_or_404(entity, name)
    editor = definitions().editor()
    added_here = editor.added_here(entity, name)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _characteristic_form(definition, field, added_here, status=status, **context)

    try:
        editor.remove_characteristic(entity, name)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_remove_characteristic", entity=entity, name=name)
    return review(editor, summary, admin_url("entity_page", entity=entity), retry, CHARACTERISTIC_FIELDS)


# -- the list view ---------------------------------------------------------------------------


def view_names(entity: EntityDef) -> list[str]:
    """What a list view may name: the characteristics, then the system columns people read."""
    names = [f.name for f in entity.fields]
    return names + [c for c in LISTED_SYSTEM_COLUMNS if c in SYSTEM_COLUMNS and c not in names]


@admin.route("/entities/<entity>/list-view", methods=["GET", "POST"])
def list_view(entity: str) -> ResponseReturnValue:
    """The entity's own list view (an owned entity has none: its records are lines)."""
    definition = entity_or_404(entity)
    if definition.owned_by is not None:
        abort(404)
    return _list_view_page(definition, "list")


@admin.route("/entities/<entity>/views/<view>", methods=["GET", "POST"])
def named_view(entity: str, view: str) -> ResponseReturnValue:
    """A named list view (a form view has sections: edited in its pack)."""
    definition = entity_or_404(entity)
    found = next((v for v in definition.views if v.name == view and v.name not in ("list", "form")), None)
    if found is None or found.kind != "list":
        abort(404)
    return _list_view_page(definition, view)


def _list_view_page(definition: EntityDef, view_name: str) -> ResponseReturnValue:
    entity = definition.name
    view = definition.view(view_name)
    names = view_names(definition)
    # paths through links the view names (`account.sector`) are offered too, so saving keeps them
    names += [n for n in dict.fromkeys((*view.columns, *view.filters)) if is_path(n) and n not in names]
    action = admin_url("list_view", entity=entity) if view_name == "list" else admin_url(
        "named_view", entity=entity, view=view_name)

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        shown = context.pop("shown", None) or {
            "columns": {n: i + 1 for i, n in enumerate(view.columns)},
            "filters": {n: i + 1 for i, n in enumerate(view.filters)},
            "mass_update": set(view.mass_update),
        }
        return page("list_view.html", status=status, entity=definition, view=view, action=action, names=names,
                    shown=shown, origin=origin, **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    columns = read_positions(reader, "column", names)
    filters = read_positions(reader, "filter", names)
    mass_update = reader.choices("mass_update", [f.name for f in definition.fields])
    shown = {"columns": {n: i + 1 for i, n in enumerate(columns)}, "filters": {n: i + 1 for i, n in enumerate(filters)},
             "mass_update": set(mass_update)}

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, shown=shown, **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    editor.set_list_view(entity, columns, filters, mass_update, view=view_name)
    summary = (say(lang(), "summary_list_view", entity=entity) if view_name == "list"
               else say(lang(), "summary_named_view", entity=entity, view=view_name))
    return review(editor, summary, admin_url("entity_page", entity=entity), retry,
                  ("columns", "filters", "mass_update"))
