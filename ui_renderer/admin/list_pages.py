"""Value lists: add a value, change its labels, order and colour, retire it (never delete it)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue

from metamodel.editing.definition_edits import DefinitionEditError, text_data
from metamodel.model import Text, ValueDef, ValueList

from .context import admin, admin_url, definitions, lang, model, origin, page
from .inputs import CODE_LENGTH, FormReader
from .review import edit_refused, review
from .words import say

VALUE_FIELDS = ("code", "label_en", "label_fr", "label", "order", "color", "retired", "values")


def list_or_404(name: str) -> ValueList:
    found = model().lists.get(name)
    if found is None:
        abort(404)
    return found


def users_of(name: str) -> list[tuple[str, str]]:
    """(entity, characteristic) pairs whose values come from list `name`."""
    return [(e.name, f.name) for e in model().entities.values() for f in e.fields if f.list == name]


def _value_values(reader: FormReader) -> dict[str, Any]:
    return {"label": reader.label(), "order": reader.integer("order", minimum=0), "color": reader.color("color")}


def _value_shown(value: ValueDef | None) -> dict[str, Any]:
    if value is None:
        return {}
    return {"code": value.code, "label": text_data(value.label), "order": value.order, "color": value.color,
            "retired": value.retired}


def _submitted() -> dict[str, Any]:
    shown = {key: request.form.get(key) for key in request.form}
    shown["label"] = {"en": request.form.get("label_en", ""), "fr": request.form.get("label_fr", "")}
    shown["retired"] = request.form.get("retired") in ("1", "on")
    return shown


@admin.get("/lists/<name>")
def list_page(name: str) -> ResponseReturnValue:
    value_list = list_or_404(name)
    return page("list.html", value_list=value_list, origin=origin, users=users_of(name),
                values={"order": None})


@admin.post("/lists/<name>/values")
def add_value(name: str) -> ResponseReturnValue:
    value_list = list_or_404(name)
    reader = FormReader(request.form, lang())
    code = reader.identifier("code", length=CODE_LENGTH)
    values = _value_values(reader)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return page("list.html", status=status, value_list=value_list, origin=origin, users=users_of(name),
                    values=_submitted(), **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    try:
        editor.add_value(name, code, values)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_add_value", list=name, code=code)
    return review(editor, summary, admin_url("list_page", name=name), retry, VALUE_FIELDS)


@admin.route("/lists/<name>/values/<code>", methods=["GET", "POST"])
def edit_value(name: str, code: str) -> ResponseReturnValue:
    value_list = list_or_404(name)
    value = value_list.value(code)
    if value is None:
        abort(404)

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        return page("value.html", status=status, value_list=value_list, value=value,
                    values=context.pop("values", None) or _value_shown(value), **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    values = {**_value_values(reader), "retired": reader.flag("retired")}

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, values=_submitted(), **context)

    if reader.errors:
        return retry(errors=reader.errors)
    if values["order"] is None:
        values["order"] = value.order
    editor = definitions().editor()
    try:
        editor.set_value(name, code, values)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_edit_value", list=name, code=code)
    return review(editor, summary, admin_url("list_page", name=name), retry, VALUE_FIELDS)


@admin.route("/lists/new", methods=["GET", "POST"])
def new_list() -> ResponseReturnValue:
    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        return page("new_list.html", status=status, values=context.pop("values", {}), **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    name = reader.identifier("name")
    label = reader.label()
    code = reader.identifier("code", length=CODE_LENGTH)
    value_label = reader.label("value_label")
    shown = {key: request.form.get(key) for key in request.form}

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, values=shown, **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    try:
        editor.new_list(name, Text(**label), [{"code": code, "label": value_label}])
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_new_list", name=name)
    return review(editor, summary, admin_url("list_page", name=name), retry, ("name", "code", "label"))
