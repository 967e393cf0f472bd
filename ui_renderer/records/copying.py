"""The "Copy" button of a record's page: a new record with this one's values and lines.

The copy is made by engine.records.copy, so it goes through every rule a created record does.
What a copy never takes (a unique value, the natural key: see metamodel/checking/copying.py) may be
mandatory: a quote's number, say. Then the copy is not refused outright: a small form asks for
those values (the source's shown to start from), as a transition asks for its required fields,
and the copy is made with them. Any other refusal shows on the source's page, nothing written.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

from flask import abort, redirect, request
from flask.typing import ResponseReturnValue

from engine import RecordValidationError
from engine.access.permissions import PermissionDenied
from metamodel.model import EntityDef

from .common import (
    acting, actor_layout, allows, engine, entity_or_404, form_cache, html, list_url, live_record, page_language,
    page_url, rule_messages,
)
from .form import refused_page
from .form_collections import ERROR_KEY_RE
from .form_state import FormState, editable_widgets, field_renderer, prepare_links, read_values
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import FormLayout, Widget, form_values


def copy(entity: str, record_id: int) -> ResponseReturnValue:
    """POST: make the copy (with the values the form asked for, when it was asked) and open it."""
    definition = entity_or_404(entity)
    if not allows(entity, "create"):
        abort(403)
    source = live_record(entity, record_id)
    lang = page_language()
    ui = words(lang)
    layout = actor_layout(entity, lang, "create")
    asked = editable_widgets(layout, request.form.getlist("_asked")) if request.form.get("_prompt") == "1" else []
    state = FormState(values={})
    values = read_values(asked, request.form, lang, state)
    if state.errors:
        return ask(definition, source, layout, asked, state, status=422)
    try:
        created = engine().records.copy(entity, record_id, acting(), values or None)
    except RecordValidationError as error:
        fillable = editable_widgets(layout, error.errors)
        if not fillable:
            return refused_page(definition, source, ui["f_copy_refused"].format(reason=labelled(layout, error, lang)))
        shown = [*asked, *(w for w in fillable if w not in asked)]
        if asked:  # the values given are refused: say why, at each field
            state.add_errors(layout, rule_messages(error.errors, lang), [w.name for w in shown])
            return ask(definition, source, layout, shown, state, status=422)
        return ask(definition, source, layout, shown, state)
    except PermissionDenied:
        return refused_page(definition, source, ui["f_copy_denied"].format(entity=definition.label.get(lang)))
    return redirect(page_url("forms.edit", entity=entity, record_id=created["id"], copied=record_id), 303)


def ask(
    entity: EntityDef, source: Mapping[str, Any], layout: FormLayout, widgets: list[Widget], state: FormState,
    *, status: int = 200,
) -> ResponseReturnValue:
    """The small form asking for the values the copy needs, started from the source's."""
    lang = page_language()
    ui = words(lang)
    original = form_values(layout, source)
    for w in widgets:
        state.values.setdefault(w.name, original.get(w.name))
    title = form_cache().title(entity.name, source, lang)
    rows = [SimpleNamespace(widget=w, asked=True, rule=None) for w in widgets]
    back = page_url("forms.edit", entity=entity.name, record_id=source["id"])
    return html(
        "form_transition.html", status, entity=entity, record=source, layout=layout, rows=rows, state=state,
        field=field_renderer(state, prepare_links(widgets, state), {}, None),
        heading=ui["f_copy_title"].format(title=title), title=title, intro=ui["f_copy_fill"].format(title=title),
        action=page_url("forms.copy", entity=entity.name, record_id=source["id"]), hidden={},
        version=source["version"], back_url=back, list_url=list_url(entity.name), apply_label=ui["f_copy"],
    )


def labelled(layout: FormLayout, error: RecordValidationError, lang: str) -> str:
    """The engine's errors, each after where it is: the label of its characteristic, or "Parts,
    line 1 › Serial" for a line's (`parts.0.serial`); a name the form does not know as it is."""
    return " ".join(f"{where(layout, key, lang)}: {text}" for key, texts in rule_messages(error.errors, lang).items() for text in texts)


def where(layout: FormLayout, key: str, lang: str) -> str:
    if key in layout.widgets:
        return layout.widgets[key].label
    match = ERROR_KEY_RE.match(key)
    widget = layout.widgets.get(match.group(1)) if match else None
    if match is None or widget is None:
        return key
    ui, number = words(lang), int(match.group(2)) + 1
    column = form_cache().layout(widget.target or "", lang).widgets.get(match.group(3) or "") if widget.target else None
    if column is None:
        return ui["f_lines_line"].format(field=widget.label, number=number)
    return ui["f_lines_cell"].format(field=widget.label, number=number, column=column.label)
