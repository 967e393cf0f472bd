"""The record form: create and edit, the notices after a change, stale-version conflicts,
and the title lookup behind large link inputs.

Forms post plain HTML form fields and work without JavaScript. An edit form carries the
version it was read at: a stale save is a conflict page, never a silent overwrite. Only
the values the user actually changed are sent to the engine, so a save never rewrites a
field with the same value reformatted.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from flask import abort, jsonify, redirect, request
from markupsafe import Markup, escape
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from engine import ConflictError, RecordValidationError
from metamodel.model import EntityDef

from .common import (
    RecordUrls, acting, actor_layout, allows, engine, entity_or_404, entity_url, form_cache, html, links, list_url,
    live_record, page_language, page_url, posted_version, record_allows, rule_messages,
)
from .form_state import (
    FormState, as_form, comparable, field_renderer, is_blank, prepare_links, read_values, readonly_values,
)
from .form_collections import (
    CollectionRenderer, Editor, apply_row_action, cell_widgets, changed as collection_changes, editors, member_titles,
    place_errors, prefill_members, read_collections, readonly_lines, record_values, titled_link_cells,
)
from .related_panels import prefilled, related_panels
from .status import workflow_panel
from ui_renderer.core.i18n import format_datetime, words
from ui_renderer.core.titles_apart import told_apart
from ui_renderer.core.widgets import FieldRenderer, FormLayout, LinkWidgets, default_values, display, form_values


def new(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    layout = actor_layout(entity, lang, "create")
    if not allows(entity, "create"):
        abort(403)
    found = editors(layout, "create")
    if request.method == "GET":
        state = FormState(values=default_values(layout), shown=shown_on_demand(layout))
        for editor in found.values():
            state.values[editor.name] = []
        prefill(layout, state, lang, found)
        return render_form(definition, None, state)
    state, inputs = read_posted(layout, default_values(layout), found)
    if still_filling(state):
        return render_form(definition, None, state, status=422 if state.errors else 200)
    try:
        created = engine().records.create(entity, inputs, acting())
    except RecordValidationError as error:
        refused(layout, state, found, error, inputs, lang)
        return render_form(definition, None, state, status=422)
    return redirect(page_url("forms.edit", entity=entity, record_id=created["id"], created=1), 303)


def edit(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    layout = actor_layout(entity, lang)
    current = live_record(entity, record_id)
    found = editors(layout, "update", record_id)
    original = form_values(layout, current)
    record_values(found, current, original)
    if request.method == "GET":
        return render_form(definition, current, FormState(values=dict(original), shown=shown_on_demand(layout)))
    state, inputs = read_posted(layout, original, found)
    version = posted_version()
    if still_filling(state):
        return render_form(definition, current, state, status=422 if state.errors else 200, version=version)
    changes = {
        name: value for name, value in inputs.items()
        if name not in found and comparable(value) != comparable(original.get(name))
    }
    changes.update(collection_changes(found, {n: v for n, v in inputs.items() if n in found}, current))
    if not changes and version == current["version"]:
        return redirect(page_url("forms.edit", entity=entity, record_id=record_id, unchanged=1), 303)
    try:
        engine().records.update(entity, record_id, changes, acting(), version=version)
    except RecordValidationError as error:
        refused(layout, state, found, error, inputs, lang)
        return render_form(definition, current, state, status=422, version=version)
    except ConflictError as error:
        return conflict_page(definition, layout, error.current, version, inputs, state)
    return redirect(page_url("forms.edit", entity=entity, record_id=record_id, saved=1), 303)


def refused(
    layout: FormLayout, state: FormState, found: Mapping[str, Editor], error: RecordValidationError,
    inputs: Mapping[str, Any], lang: str,
) -> None:
    """The engine's errors next to their fields, those of lines at their cell or row."""
    messages, placed = place_errors(found, rule_messages(error.errors, lang), state, lang)
    state.add_errors(layout, messages, [*inputs, *placed])


def lookup(entity: str) -> ResponseReturnValue:
    """[{id, title}] of the live records whose title matches `q`: suggestions for link inputs.
    Records sharing a title (two contacts named Margaux Martin) also get a `label` telling them
    apart, "Margaux Martin #12", which the member picker shows."""
    entity_or_404(entity)
    found = links().search(entity, request.args.get("q", "").strip())
    labels = dict(told_apart((int(o.value), o.label) for o in found))
    return jsonify([
        {"id": int(o.value), "title": o.label, **({"label": labels[int(o.value)]} if labels[int(o.value)] != o.label else {})}
        for o in found
    ])


def prefill(layout: FormLayout, state: FormState, lang: str, found: Mapping[str, Editor]) -> None:
    """The values `?prefill.<field>=<value>` starts a new record's form with (a related panel's
    "New" sets its link, or a member of its `links`: `?prefill.attendees=12`): read as posted
    values of the characteristics the actor may set, so a link naming no record is the same
    error under the field; other names are ignored."""
    asked = prefilled(request.args)
    widgets = [w for w in layout.editable(state.shown) if w.name in asked and w.kind != "multi_choice"]
    for w in widgets:
        if w.kind == "boolean" and asked[w.name] not in ("true", "1", "on"):
            asked[w.name] = ""
    read_values(widgets, MultiDict(asked), lang, state)
    prefill_members(found, asked, lang, state)


def read_posted(
    layout: FormLayout, values: Mapping[str, Any], found: Mapping[str, Editor]
) -> tuple[FormState, dict[str, Any]]:
    """The posted form over `values`: what the page shows again, and the inputs for the engine
    (a lines editor's button posted without JavaScript is applied to the rows shown again)."""
    state = FormState(values=dict(values), shown=shown_on_demand(layout, request.form))
    lang = page_language()
    inputs = read_values(layout.editable(state.shown), request.form, lang, state)
    inputs.update(read_collections(found, request.form, lang, state))
    apply_row_action(request.form.get("_action", ""), found, state)
    return state, inputs


def still_filling(state: FormState) -> bool:
    """The user asked for another characteristic, a row or a member, or a link names no single
    record: no save yet."""
    action = request.form.get("_action", "")
    return action == "add" or action.startswith(("line:", "pick:")) or bool(state.errors)


def shown_on_demand(layout: FormLayout, form: MultiDict | None = None) -> set[str]:
    asked = set(request.args.getlist("add"))
    if form is not None:
        asked.update(form.getlist("_shown"))
        if form.get("_action") == "add":
            asked.add(form.get("_add", ""))
    return {n for n in asked if n in layout.on_demand}


def render_form(
    entity: EntityDef,
    record: dict[str, Any] | None,
    state: FormState,
    *,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
    problem: str | None = None,
    version: int | None = None,
) -> ResponseReturnValue:
    lang = page_language()
    record_id = record["id"] if record is not None else None
    layout = actor_layout(entity.name, lang, "update" if record is not None else "create", record_id)
    ui = words(lang)
    if record is not None:
        state.shown.update(n for n in layout.on_demand if not is_blank(state.values.get(n)))
    found = prepare_links(layout.editable(layout.on_demand), state)
    collections = editors(layout, "update" if record is not None else "create", record_id)
    cells = cell_widgets(collections, state.values)
    titled_link_cells(cells, state.values)
    for prefix, column in cells:
        prepare_links([column], state, prefix, found)
    erring = {key.split("-", 1)[0] for key in state.errors}  # a cell's error (meals-n2-dish) marks its lines' tab
    tab_errors = {
        tab.key for tab in layout.tabs
        if any(w.name in erring for section in tab.sections for w in section.widgets)
    }
    urls = {"trash": entity_url("forms.trash", entity.name)}
    record_urls = None
    if record is None:
        heading = ui["f_new_title"].format(entity=entity.label.get(lang))
        action = entity_url("forms.new", entity.name)
    else:
        heading = form_cache().title(entity.name, record, lang)
        record_urls = RecordUrls(entity.name, record["id"])
        action = urls["edit"] = record_urls.page()
        urls["history"] = record_urls.page("/history")
        urls["delete"] = record_urls.page("/delete")
        urls["copy"] = record_urls.page("/copy")
    return html(
        "form.html",
        status,
        entity=entity,
        layout=layout,
        record=record,
        state=state,
        field=form_renderer(state, found, layout, record, collections, lang),
        addable=[layout.widgets[n] for n in layout.on_demand if n not in state.shown],
        tab_errors=tab_errors,
        heading=heading,
        action=action,
        urls=urls,
        can_save=allows(entity.name, "create") if record_id is None else record_allows(entity.name, record_id, "update"),
        can_delete=record_id is not None and record_allows(entity.name, record_id, "delete"),
        can_copy=record_id is not None and allows(entity.name, "create"),
        version=version if version is not None else (record or {}).get("version"),
        workflow=workflow_panel(entity, record, lang, record_urls) if record_urls is not None else None,
        related=related_panels(entity, record["id"], lang) if record is not None and status == 200 else [],
        notice=done_notice(entity, record, lang) if record is not None and status == 200 else None,
        conflict=conflict,
        problem=problem,
        list_url=list_url(entity.name),
        last_change=format_datetime(record["updated_at"], lang) if record and record.get("updated_at") else None,
    )


def form_renderer(
    state: FormState, found: LinkWidgets, layout: FormLayout, record: dict[str, Any] | None,
    collections: Mapping[str, Editor], lang: str,
) -> FieldRenderer:
    """The rows of the form, the editors of its `links` and `lines` in place of their read-only rows."""
    plain = field_renderer(state, found, readonly_values(layout, record, lang), record)
    shown = readonly_lines(layout, collections, record)
    if not collections and not shown:
        return plain
    return CollectionRenderer(
        **{f.name: getattr(plain, f.name) for f in fields(FieldRenderer)},
        editors=collections, titles=member_titles(collections, state.values, shown, record), lang=lang,
        shown_lines=shown,
    )


def refused_page(entity: EntityDef, record: dict[str, Any], problem: str) -> ResponseReturnValue:
    """The record's form as it is now, with why the change just asked for was not made."""
    layout = actor_layout(entity.name, page_language())
    values = form_values(layout, record)
    record_values(editors(layout, "update", record["id"]), record, values)  # its lines and members as rows
    return render_form(entity, record, FormState(values=values), status=409, problem=problem)


def done_notice(entity: EntityDef, record: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    """What the redirect after a change reports (`?done=<transition>`, `?saved=1`, ...)."""
    args = request.args
    if not args:
        return None
    ui = words(lang)
    done = args.get("done") if "done" in args else None
    if done and entity.workflow:
        return {"text": transition_notice(entity, record, done, lang), "created": created_records(entity, record, lang)}
    for key, word in (("created", "f_created"), ("saved", "f_saved"), ("unchanged", "f_nothing_changed")):
        if key in args and args[key] == "1":
            return {"text": ui[word], "created": []}
    if "restored" in args and args["restored"] == "1":
        return {"text": ui["f_restored_notice"].format(title=form_cache().title(entity.name, record, lang)), "created": []}
    copied = args.get("copied", "")
    if copied.isdigit():
        source = int(copied)
        title = links().titles(entity.name, [source]).get(source, f"#{source}")
        link = Markup('<a href="{}">{}</a>').format(page_url("forms.edit", entity=entity.name, record_id=source), title)
        return {"text": Markup(escape(ui["f_copied_notice"])).format(title=link), "created": []}
    merged = args.get("merged", "")
    if merged.isdigit():
        title = form_cache().title(entity.name, record, lang)
        return {"text": ui["dup_merged_notice"].format(id=merged, title=title), "created": []}
    return None


def transition_notice(entity: EntityDef, record: Mapping[str, Any], done: str, lang: str) -> str:
    """"Done: <transition>. The status is now <status>." (or, after a free move, just the status)."""
    ui = words(lang)
    definition = engine().model.workflow(entity.workflow)
    transition = next((t for t in definition.transitions if t.name == done), None)
    status = definition.status(record.get("status") or "")
    status_label = status.label.get(lang) if status else record.get("status")
    if transition is None:
        return ui["f_moved"].format(status=status_label)
    return ui["f_done"].format(transition=transition.label.get(lang), status=status_label)


def created_records(entity: EntityDef, record: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    """The records a transition created (`?created=<link field>`), with links to them."""
    created = []
    for name in request.args.getlist("created"):
        f = entity.fields_by_name.get(name)
        if f is None or f.type != "link" or record.get(name) is None:
            continue
        title = links().titles(f.entity, [record[name]]).get(record[name], f"#{record[name]}")
        created.append({
            "entity": engine().model.entity(f.entity).label.get(lang), "title": title,
            "url": page_url("forms.edit", entity=f.entity, record_id=record[name]),
        })
    return created


# -- conflicts -------------------------------------------------------------------------------


def conflict_page(
    entity: EntityDef, layout: FormLayout, current: dict[str, Any], version: int | None, inputs: Mapping[str, Any],
    state: FormState,
) -> ResponseReturnValue:
    """What changed since the form was read, beside the user's own edits.

    The form now holds the current values with the user's edits on top: saving again keeps
    the other person's changes to everything the user did not touch.
    """
    read = values_at_version(entity.name, current, version)
    opened = form_values(layout, read)
    found = editors(layout, "update", current["id"])
    mine = {
        name for name, value in inputs.items() if name not in found and comparable(value) != comparable(opened.get(name))
    }
    mine.update(collection_changes(found, {n: v for n, v in inputs.items() if n in found}, read))
    rows = conflict_rows(layout, read, current, {name: inputs[name] for name in mine}, page_language())
    merged = FormState(values=form_values(layout, current), shown=state.shown, labels=state.labels)
    record_values(found, current, merged.values)
    merged.values.update({name: state.values[name] for name in mine})
    for name in mine & set(found):  # the user's rows and members, their cells with them
        merged.values.update({key: value for key, value in state.values.items() if key.startswith(name + "-")})
    return render_form(entity, current, merged, status=409, conflict=rows, version=current["version"])


def values_at_version(entity: str, current: Mapping[str, Any], version: int | None) -> dict[str, Any]:
    """The record as it was at `version`: the current values rewound through the audit log."""
    values = dict(current)
    if version is None:
        return values
    for entry in reversed(engine().records.audit_log(entity, current["id"], actor=acting())):
        if entry["version"] <= version:
            break
        if entry["action"] == "merge":
            continue  # it names records, not characteristics
        for name, (old, _new) in (entry.get("changes") or {}).items():
            values[name] = old
    return values


def conflict_rows(
    layout: FormLayout, read: Mapping[str, Any], current: Mapping[str, Any], edits: Mapping[str, Any], lang: str
) -> list[dict[str, Any]]:
    """Per characteristic changed by someone else or by the user: the value read, now, and the user's edit."""
    link_ids: dict[str, set[int]] = {}
    for name, w in layout.widgets.items():
        if w.kind in ("link", "links"):
            for source in (read, current, edits):
                value = source.get(name)
                for one in value if isinstance(value, list) else [value]:
                    if one not in (None, "") and str(one).isdigit():
                        link_ids.setdefault(w.target or "", set()).add(int(one))
    link_titles = {target: links().titles(target, ids) for target, ids in link_ids.items()}
    rows = []
    for name, w in layout.widgets.items():
        theirs = as_form(w, read.get(name)) != as_form(w, current.get(name))
        mine = name in edits
        if not (theirs or mine):
            continue
        found = link_titles.get(w.target or "", {})
        rows.append({
            "label": w.label,
            "read": display(w, read.get(name), lang, found),
            "now": display(w, current.get(name), lang, found),
            "yours": display(w, edits[name], lang, found) if mine else None,
            "theirs": theirs,
            "mine": mine,
        })
    return rows
