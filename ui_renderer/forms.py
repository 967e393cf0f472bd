"""The generated record pages: the form (create, edit), workflow actions, lead conversion,
history and trash. Every page comes from the `Model`; nothing here knows an entity by name.

Forms post plain HTML form fields and work without JavaScript. An edit form carries the
version it was read at: a stale save is a conflict page, never a silent overwrite. Only
the values the user actually changed are sent to the engine, so a save never rewrites a
field with the same value reformatted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from flask import (
    Blueprint, abort, current_app, g, get_template_attribute, jsonify, redirect, render_template, request, url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from engine import ConflictError, NotFoundError, RecordValidationError, StateError, TransitionError
from engine.permissions import PermissionDenied
from metamodel.model import LANGUAGES, EntityDef, StatusDef, TransitionDef, WorkflowDef
from plugins.lead_conversion import PARTS, RESULT_FIELDS, link_field

from .actor import current_actor
from .home import request_language
from .i18n import format_datetime, words
from .i18n_form import human_duration
from .widgets import (
    LINK_SELECT_LIMIT,
    FieldRenderer,
    FormCache,
    FormLayout,
    LinkWidgets,
    Option,
    Widget,
    default_values,
    display,
    form_text,
    form_values,
    link_text,
    resolve_link,
)

forms = Blueprint("forms", __name__)

CONVERT_ACTION = "convert_lead"
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
NEUTRAL_COLOR = "#64748b"
TRASH_PAGE = 200


# -- shared helpers ----------------------------------------------------------------------


def engine() -> Any:
    return current_app.extensions["ossature"]


def form_cache() -> FormCache:
    eng = engine()
    cache = current_app.extensions.get("ossature_forms")
    if cache is None or cache.engine is not eng:
        cache = current_app.extensions["ossature_forms"] = FormCache(eng)
    return cache


def acting() -> Any:
    """The actor of this request (`actor.current_actor()`), worked out once per request."""
    actor = g.get("form_actor")
    if actor is None:
        actor = g.form_actor = current_actor()
    return actor


def access_of(entity: str) -> Any | None:
    """What the current actor's roles allow on `entity` (None when the engine enforces no permissions)."""
    known = g.setdefault("form_access", {})
    if entity not in known:
        permissions = getattr(engine().records, "permissions", None)
        known[entity] = permissions.access(acting(), entity) if permissions is not None else None
    return known[entity]


def hidden_of(entity: str) -> frozenset[str]:
    access = access_of(entity)
    return frozenset(access.hidden) if access is not None else frozenset()


def allows(entity: str, operation: str) -> bool:
    access = access_of(entity)
    return access is None or access.allows(operation)


def actor_layout(entity: str, lang: str, operation: str = "update") -> FormLayout:
    """The form as the actor may use it: hidden characteristics left out, those they may not set
    (or every one, when they may not `operation` at all) read-only."""
    access = access_of(entity)
    cache = form_cache()
    if access is None or getattr(access, "unrestricted", False):
        return cache.layout(entity, lang)
    locked = frozenset(access.readonly)
    if not access.allows(operation):
        locked = frozenset(f.name for f in engine().model.entity(entity).fields)
    return cache.layout(entity, lang, frozenset(access.hidden), locked)


def entity_or_404(name: str) -> EntityDef:
    entity = engine().model.entities.get(name)
    if entity is None:
        abort(404)
    return entity


def page_language() -> str:
    """The request's language, worked out once per request."""
    lang = g.get("form_lang")
    if lang is None:
        lang = g.form_lang = request_language()
    return lang


def lang_args() -> dict[str, str]:
    """`lang` when the URL chose one, so that links and redirects keep it."""
    chosen = g.get("form_lang_args")
    if chosen is None:
        lang = request.args.get("lang") if "lang" in request.args else None
        chosen = g.form_lang_args = {"lang": lang} if lang in LANGUAGES else {}
    return chosen


def page_url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, **values, **lang_args())


class RecordUrls:
    """The URLs of one record's pages, from a single `url_for`: they all extend the form's path."""

    def __init__(self, entity: str, record_id: int):
        self.base = url_for("forms.edit", entity=entity, record_id=record_id)
        self.lang = lang_args()

    def page(self, tail: str = "", **query: Any) -> str:
        args = {**query, **self.lang}
        return self.base + tail + ("?" + urlencode(args, doseq=True) if args else "")


def edit_url(entity: str, record_id: int) -> str:
    """A record's form URL; the path prefix is resolved once per entity (forms link to many records)."""
    prefixes = current_app.extensions.setdefault("ossature_form_paths", {})
    prefix = prefixes.get(entity)
    if prefix is None:
        prefix = prefixes[entity] = url_for("forms.edit", entity=entity, record_id=0)[:-1]
    args = lang_args()
    return f"{prefix}{int(record_id)}" + (f"?{urlencode(args)}" if args else "")


def list_url(entity: str) -> str | None:
    """The entity's list page, when the list blueprint is registered."""
    for endpoint in ("lists.index", "lists.list_view", "lists.list_page"):
        if endpoint in current_app.view_functions:
            try:
                return page_url(endpoint, entity=entity)
            except BuildError:
                continue
    return None


_TEMPLATE_WORDS: dict[str, SimpleNamespace] = {}


def template_words(lang: str) -> SimpleNamespace:
    """The UI words as attributes: templates read dozens of them, and attribute lookups are cheap."""
    found = _TEMPLATE_WORDS.get(lang)
    if found is None:
        found = _TEMPLATE_WORDS[lang] = SimpleNamespace(**words(lang))
    return found


def static_urls() -> SimpleNamespace:
    """The record pages' stylesheet and script, resolved once per app."""
    found = current_app.extensions.get("ossature_form_static")
    if found is None:
        found = current_app.extensions["ossature_form_static"] = SimpleNamespace(
            css=url_for("static", filename="forms.css"), js=url_for("static", filename="form.js")
        )
    return found


def html(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    lang = page_language()
    body = render_template(template, ui=template_words(lang), static=static_urls(), **context)
    return body, status, {"Vary": "Accept-Language", "Content-Language": lang}


def posted_version() -> int | None:
    text = request.form.get("_version", "")
    return int(text) if text.isdigit() else None


def rule_messages(errors: Mapping[str, Iterable[Any]], lang: str) -> dict[str, list[str]]:
    return {name: [e.message(lang) for e in errs] for name, errs in errors.items()}


# -- form state: what the page shows, whether read from a record or posted ---------------------


@dataclass
class FormState:
    values: dict[str, Any]
    """Form strings per characteristic (multi_choice: a list of codes); prefixed names in dialogs."""
    errors: dict[str, list[str]] = field(default_factory=dict)
    other_errors: list[str] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)
    """On-demand characteristics shown."""
    labels: dict[str, str] = field(default_factory=dict)
    """Field key -> label, for the error summary."""

    def add_errors(self, layout: FormLayout, messages: Mapping[str, list[str]], visible: Iterable[str], prefix: str = "") -> None:
        """Errors next to their fields; those of fields the page does not show go on top."""
        visible = set(visible)
        for name, texts in messages.items():
            bare = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if bare in layout.on_demand:
                self.shown.add(bare)
                visible.add(name)
            if name in visible:
                self.errors.setdefault(name, []).extend(texts)
                if bare in layout.widgets:
                    self.labels[name] = layout.widgets[bare].label
            else:
                widget = layout.widgets.get(bare)
                label = widget.label if widget else bare
                self.other_errors.extend(f"{label}: {text}" for text in texts)


def read_widget(w: Widget, form: MultiDict, name: str) -> Any:
    """One posted value as the form shows it again."""
    if w.kind == "multi_choice":
        return [code for code in form.getlist(name) if code]
    if w.kind == "boolean":
        return "true" if form.get(name) else "false"
    return form.get(name, "").replace("\r\n", "\n")


def read_values(
    cache: FormCache, widgets: Iterable[Widget], form: MultiDict, lang: str, state: FormState, prefix: str = ""
) -> dict[str, Any]:
    """Posted values of `widgets` for the engine: strings and lists, links resolved to ids.

    The raw input goes to `state.values` (shown again if the save fails); a link search that
    names no single record is an error in `state.errors`.
    """
    inputs: dict[str, Any] = {}
    for w in widgets:
        key = prefix + w.name
        raw = read_widget(w, form, key)
        state.values[key] = raw
        if w.kind == "link":
            record_id, problem = resolve_link(cache, w.target or "", raw, lang)
            if problem:
                state.errors.setdefault(key, []).append(problem)
                state.labels[key] = w.label
                continue
            inputs[w.name] = "" if record_id is None else str(record_id)
        else:
            inputs[w.name] = raw
    return inputs


def comparable(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def prepare_links(
    cache: FormCache, widgets: Iterable[Widget], state: FormState, lang: str, prefix: str = ""
) -> LinkWidgets:
    """Options of small link targets (one query per target entity), titles for search inputs."""
    titles = cache.titles()
    links = LinkWidgets()
    found: dict[str, list[Option] | None] = {}
    for w in widgets:
        if w.kind != "link" or w.readonly:
            continue
        key = prefix + w.name
        if w.target not in found:
            found[w.target] = cache.choices(w.target, LINK_SELECT_LIMIT)
        choices = found[w.target]
        value = state.values.get(key, "")
        if choices is None:
            links.searches.add(key)
            if isinstance(value, str) and value.isdigit():
                title = titles.titles(w.target, [int(value)]).get(int(value))
                state.values[key] = link_text(title, value) if title else value
            continue
        options = list(choices)
        if isinstance(value, str) and value.isdigit() and all(o.value != value for o in options):
            title = titles.titles(w.target, [int(value)]).get(int(value), f"#{value}")
            options.append(Option(value, title, retired=True))
        links.options[key] = options
    return links


def field_renderer(
    state: FormState, links: LinkWidgets, readonly: Mapping[str, tuple[str, str | None]], record: Mapping[str, Any] | None,
) -> FieldRenderer:
    lookups: dict[str, str] = {}

    def lookup_url(target: str) -> str:
        if target not in lookups:
            lookups[target] = url_for("forms.lookup", entity=target)
        return lookups[target]

    return FieldRenderer(state.values, state.errors, links, readonly, record, words(page_language()), lookup_url, edit_url)


def readonly_values(
    cache: FormCache, layout: FormLayout, record: Mapping[str, Any] | None, lang: str
) -> dict[str, tuple[str, str | None]]:
    """Read-only characteristics with a value: (text, URL of the linked record or None)."""
    if not record:
        return {}
    shown: dict[str, tuple[str, str | None]] = {}
    links: dict[str, list[str]] = {}
    for name in layout.on_form:
        w = layout.widgets[name]
        value = record.get(name)
        if not w.readonly or value is None or value == "" or value == []:
            continue
        if w.kind == "link":
            links.setdefault(w.target or "", []).append(name)
        else:
            shown[name] = (display(w, value, lang), None)
    for target, names in links.items():
        titles = cache.titles_of(target, [record[n] for n in names])
        for name in names:
            value = record[name]
            shown[name] = (titles.get(value) or f"#{value}", edit_url(target, value))
    return shown


# -- the form page -----------------------------------------------------------------------


def status_color(color: str | None) -> str:
    return color if color and COLOR_RE.match(color) else NEUTRAL_COLOR


def has_convert_action(transition: TransitionDef) -> bool:
    return any(action.kind == CONVERT_ACTION for action in transition.actions)


def workflow_panel(
    entity: EntityDef, record: Mapping[str, Any], lang: str, urls: RecordUrls | None = None
) -> SimpleNamespace | None:
    """The status bar and the transitions available now (refused ones with their reason)."""
    flow = engine().records.workflow_of(entity.name, required=False)
    if flow is None:
        return None
    definition = flow.definition
    current = definition.status(record.get("status") or "")
    actions = []
    urls = urls or RecordUrls(entity.name, record["id"])
    for transition, refusal in flow.available(record, acting()):
        target = definition.status(transition.to)
        convert = has_convert_action(transition)
        url = (
            urls.page("/convert", transition=transition.name) if convert
            else urls.page("/transition/" + quote(transition.name))
        )
        actions.append(SimpleNamespace(
            name=transition.name, label=transition.label.get(lang),
            to=target.label.get(lang) if target else transition.to,
            color=status_color(target.color if target else None),
            refused=refusal.message(lang) if refusal else None, convert=convert, url=url,
        ))
    moves = []
    if definition.free:
        moves = [Option(s.code, s.label.get(lang)) for s in definition.statuses if current is None or s.code != current.code]
    return SimpleNamespace(
        status_bar=status_bar(entity.name, definition, lang, current), actions=actions,
        free=definition.free, moves=moves,
        current=current.label.get(lang) if current else record.get("status"),
        won=bool(current and current.won), lost=bool(current and current.lost), move_url=urls.page("/move"),
    )


def status_bar(entity: str, definition: WorkflowDef, lang: str, current: StatusDef | None) -> Markup:
    """The status bar's HTML: the same for every record in the same status, so rendered once."""
    bars = current_app.extensions.setdefault("ossature_status_bars", {})
    key = (entity, lang, current.code if current else None)
    found = bars.get(key)
    if found is None:
        steps = []
        for status in definition.statuses:
            if current is not None and status.code == current.code:
                state = "current"
            elif current is not None and status.open and status.sequence < current.sequence:
                state = "done"
            else:
                state = "todo"
            steps.append(SimpleNamespace(
                label=status.label.get(lang), color=status_color(status.color), state=state, won=status.won, lost=status.lost,
            ))
        found = bars[key] = Markup(get_template_attribute("_form_macros.html", "status_bar")(steps))
    return found


def done_notice(entity: EntityDef, record: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    """What `?done=<transition>` reports after a redirect: the new status and the records created."""
    args = request.args
    if not args:
        return None
    ui = words(lang)
    done = args.get("done") if "done" in args else None
    if done and entity.workflow:
        definition = engine().model.workflow(entity.workflow)
        transition = next((t for t in definition.transitions if t.name == done), None)
        status = definition.status(record.get("status") or "")
        if transition is None:
            text = ui["f_moved"].format(status=status.label.get(lang) if status else record.get("status"))
        else:
            text = ui["f_done"].format(
                transition=transition.label.get(lang), status=status.label.get(lang) if status else record.get("status")
            )
        created = []
        titles = form_cache().titles()
        for name in request.args.getlist("created"):
            f = entity.fields_by_name.get(name)
            if f is None or f.type != "link" or record.get(name) is None:
                continue
            title = titles.titles(f.entity, [record[name]]).get(record[name], f"#{record[name]}")
            target = engine().model.entity(f.entity)
            created.append({
                "entity": target.label.get(lang), "title": title,
                "url": page_url("forms.edit", entity=f.entity, record_id=record[name]),
            })
        return {"text": text, "created": created}
    for key, word in (("created", "f_created"), ("saved", "f_saved"), ("unchanged", "f_nothing_changed")):
        if key in args and args[key] == "1":
            return {"text": ui[word], "created": []}
    if "restored" in args and args["restored"] == "1":
        return {"text": ui["f_restored_notice"].format(title=form_cache().title(entity.name, record, lang)), "created": []}
    return None


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
    cache = form_cache()
    layout = actor_layout(entity.name, lang, "update" if record is not None else "create")
    ui = words(lang)
    if record is not None:
        state.shown.update(n for n in layout.on_demand if state.values.get(n) not in (None, "", []))
    links = prepare_links(cache, layout.editable(layout.on_demand), state, lang)
    tab_errors = {
        tab.key for tab in layout.tabs
        if any(w.name in state.errors for section in tab.sections for w in section.widgets)
    }
    urls = {"trash": page_url("forms.trash", entity=entity.name)}
    record_urls = None
    if record is None:
        heading = ui["f_new_title"].format(entity=entity.label.get(lang))
        action = page_url("forms.new", entity=entity.name)
    else:
        heading = cache.title(entity.name, record, lang)
        record_urls = RecordUrls(entity.name, record["id"])
        action = urls["edit"] = record_urls.page()
        urls["history"] = record_urls.page("/history")
        urls["delete"] = record_urls.page("/delete")
    return html(
        "form.html",
        status,
        entity=entity,
        layout=layout,
        record=record,
        state=state,
        field=field_renderer(state, links, readonly_values(cache, layout, record, lang), record),
        addable=[layout.widgets[n] for n in layout.on_demand if n not in state.shown],
        tab_errors=tab_errors,
        heading=heading,
        action=action,
        urls=urls,
        can_save=allows(entity.name, "update" if record is not None else "create"),
        can_delete=record is not None and allows(entity.name, "delete"),
        version=version if version is not None else (record or {}).get("version"),
        workflow=workflow_panel(entity, record, lang, record_urls) if record is not None else None,
        notice=done_notice(entity, record, lang) if record is not None and status == 200 else None,
        conflict=conflict,
        problem=problem,
        list_url=list_url(entity.name),
        last_change=format_datetime(record["updated_at"], lang) if record and record.get("updated_at") else None,
    )


def shown_on_demand(layout: FormLayout, form: MultiDict | None = None) -> set[str]:
    asked = set(request.args.getlist("add"))
    if form is not None:
        asked.update(form.getlist("_shown"))
        if form.get("_action") == "add":
            asked.add(form.get("_add", ""))
    return {n for n in asked if n in layout.on_demand}


@forms.route("/<entity>/new", methods=["GET", "POST"])
def new(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    cache = form_cache()
    layout = actor_layout(entity, lang, "create")
    if not allows(entity, "create"):
        abort(403)
    if request.method == "GET":
        state = FormState(values=default_values(layout), shown=shown_on_demand(layout))
        return render_form(definition, None, state)
    state = FormState(values=default_values(layout), shown=shown_on_demand(layout, request.form))
    inputs = read_values(cache, layout.editable(state.shown), request.form, lang, state)
    if request.form.get("_action") == "add" or state.errors:
        return render_form(definition, None, state, status=422 if state.errors else 200)
    try:
        created = engine().records.create(entity, inputs, acting())
    except RecordValidationError as error:
        state.add_errors(layout, rule_messages(error.errors, lang), inputs)
        return render_form(definition, None, state, status=422)
    return redirect(page_url("forms.edit", entity=entity, record_id=created["id"], created=1), 303)


@forms.route("/<entity>/<int:record_id>", methods=["GET", "POST"])
def edit(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    cache = form_cache()
    layout = actor_layout(entity, lang)
    current = record_for_page(entity, record_id)
    if not isinstance(current, dict):
        return current
    original = form_values(layout, current)
    if request.method == "GET":
        state = FormState(values=dict(original), shown=shown_on_demand(layout))
        return render_form(definition, current, state)
    state = FormState(values=dict(original), shown=shown_on_demand(layout, request.form))
    inputs = read_values(cache, layout.editable(state.shown), request.form, lang, state)
    if request.form.get("_action") == "add" or state.errors:
        return render_form(definition, current, state, status=422 if state.errors else 200, version=posted_version())
    version = posted_version()
    changes = {name: value for name, value in inputs.items() if comparable(value) != comparable(original.get(name))}
    if not changes and version == current["version"]:
        return redirect(page_url("forms.edit", entity=entity, record_id=record_id, unchanged=1), 303)
    try:
        engine().records.update(entity, record_id, changes, acting(), version=version)
    except RecordValidationError as error:
        state.add_errors(layout, rule_messages(error.errors, lang), inputs)
        return render_form(definition, current, state, status=422, version=version)
    except ConflictError as error:
        read = values_at_version(entity, error.current, version)
        opened = form_values(layout, read)
        mine = {name for name, value in inputs.items() if comparable(value) != comparable(opened.get(name))}
        rows = conflict_rows(layout, read, error.current, {name: inputs[name] for name in mine}, lang)
        # the form now holds the current values with the user's own edits on top: saving again keeps
        # the other person's changes to everything the user did not touch
        merged = FormState(values=form_values(layout, error.current), shown=state.shown, labels=state.labels)
        merged.values.update({name: state.values[name] for name in mine})
        return render_form(definition, error.current, merged, status=409, conflict=rows, version=error.current["version"])
    return redirect(page_url("forms.edit", entity=entity, record_id=record_id, saved=1), 303)


def record_for_page(entity: str, record_id: int) -> dict[str, Any] | ResponseReturnValue:
    """The live record, or a 404 page that says whether it is in the trash."""
    try:
        return engine().records.get(entity, record_id, actor=acting())
    except NotFoundError:
        pass
    lang = page_language()
    try:
        trashed = engine().records.get(entity, record_id, include_deleted=True, actor=acting())
    except NotFoundError:
        trashed = None
    definition = engine().model.entity(entity)
    return html(
        "form_missing.html", 404, entity=definition, record=trashed,
        title=form_cache().title(entity, trashed, lang) if trashed else None,
        restore_url=page_url("forms.restore", entity=entity, record_id=record_id),
        trash_url=page_url("forms.trash", entity=entity), list_url=list_url(entity),
    )


@forms.errorhandler(PermissionDenied)
@forms.errorhandler(403)
def denied(error: Exception) -> ResponseReturnValue:
    """The actor's roles do not allow what the page asked for."""
    name = request.view_args.get("entity", "") if request.view_args else ""
    definition = engine().model.entities.get(name)
    if definition is None:
        return words(page_language())["f_denied"], 403
    return html("form_missing.html", 403, entity=definition, record=None, title=None, denied=True, list_url=list_url(name))


# -- conflicts -------------------------------------------------------------------------------


def values_at_version(entity: str, current: Mapping[str, Any], version: int | None) -> dict[str, Any]:
    """The record as it was at `version`: the current values rewound through the audit log."""
    values = dict(current)
    if version is None:
        return values
    for entry in reversed(engine().records.audit_log(entity, current["id"], actor=acting())):
        if entry["version"] <= version:
            break
        for name, (old, _new) in (entry.get("changes") or {}).items():
            values[name] = old
    return values


def conflict_rows(
    layout: FormLayout, read: Mapping[str, Any], current: Mapping[str, Any], edits: Mapping[str, Any], lang: str
) -> list[dict[str, Any]]:
    """Per characteristic changed by someone else or by the user: the value read, now, and the user's edit."""
    titles = form_cache().titles()
    link_ids: dict[str, set[int]] = {}
    for name, w in layout.widgets.items():
        if w.kind == "link":
            for source in (read, current, edits):
                value = source.get(name)
                if value not in (None, "") and str(value).isdigit():
                    link_ids.setdefault(w.target or "", set()).add(int(value))
    link_titles = {target: titles.titles(target, ids) for target, ids in link_ids.items()}
    rows = []
    for name, w in layout.widgets.items():
        theirs = _as_form(w, read.get(name)) != _as_form(w, current.get(name))
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


def _as_form(w: Widget, value: Any) -> Any:
    return comparable(list(value or []) if w.kind == "multi_choice" else form_text(w.field, value))


# -- trash ------------------------------------------------------------------------------------


@forms.post("/<entity>/<int:record_id>/delete")
def delete(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    try:
        engine().records.delete(entity, record_id, acting(), version=posted_version())
    except NotFoundError:
        abort(404)
    except StateError:
        return redirect(page_url("forms.trash", entity=entity), 303)
    except ConflictError as error:
        layout = actor_layout(entity, lang)
        state = FormState(values=form_values(layout, error.current))
        return render_form(definition, error.current, state, status=409, problem=words(lang)["f_stale_action"])
    return redirect(page_url("forms.trash", entity=entity, deleted=record_id), 303)


@forms.post("/<entity>/<int:record_id>/restore")
def restore(entity: str, record_id: int) -> ResponseReturnValue:
    entity_or_404(entity)
    lang = page_language()
    try:
        engine().records.restore(entity, record_id, acting())
    except NotFoundError:
        abort(404)
    except StateError:
        return redirect(page_url("forms.edit", entity=entity, record_id=record_id), 303)
    except RecordValidationError as error:
        return trash_page(entity, status=409, problem=error.describe(lang))
    return redirect(page_url("forms.edit", entity=entity, record_id=record_id, restored=1), 303)


@forms.get("/<entity>/trash")
def trash(entity: str) -> ResponseReturnValue:
    entity_or_404(entity)
    return trash_page(entity)


def trashed_records(entity: str) -> list[dict[str, Any]]:
    """The most recently trashed records first (title columns, id and when)."""
    eng = engine()
    titles = form_cache().titles()
    template = titles.template(entity)
    table = eng.records.table(entity)
    columns = [table.c.id, table.c.deleted_at, *(table.c[n] for n in template.columns if n != "id")]
    query = (
        sa.select(*columns).where(table.c.deleted_at.is_not(None))
        .order_by(table.c.deleted_at.desc(), table.c.id.desc()).limit(TRASH_PAGE)
    )
    with eng.db.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def trash_page(entity: str, *, status: int = 200, problem: str | None = None) -> ResponseReturnValue:
    lang = page_language()
    cache = form_cache()
    definition = engine().model.entity(entity)
    rows = [
        {
            "id": row["id"], "title": cache.title(entity, row, lang), "deleted_at": format_datetime(row["deleted_at"], lang),
            "restore_url": page_url("forms.restore", entity=entity, record_id=row["id"]),
        }
        for row in trashed_records(entity)
    ]
    notice = None
    deleted = request.args.get("deleted", "")
    if deleted.isdigit():
        trashed = next((r for r in rows if r["id"] == int(deleted)), None)
        if trashed:
            notice = {"text": words(lang)["f_deleted_notice"].format(title=trashed["title"]), "restore_url": trashed["restore_url"]}
    return html(
        "trash.html", status, entity=definition, rows=rows, notice=notice, problem=problem,
        list_url=list_url(entity), total=engine().records.count(entity, include_deleted=True) - engine().records.count(entity),
    )


# -- workflow --------------------------------------------------------------------------------


def transition_or_404(entity: EntityDef, name: str) -> TransitionDef:
    if not entity.workflow:
        abort(404)
    transition = next((t for t in engine().model.workflow(entity.workflow).transitions if t.name == name), None)
    if transition is None:
        abort(404)
    return transition


@forms.route("/<entity>/<int:record_id>/transition/<name>", methods=["GET", "POST"])
def transition(entity: str, record_id: int, name: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    chosen = transition_or_404(definition, name)
    if has_convert_action(chosen):
        return redirect(page_url("forms.convert", entity=entity, record_id=record_id, transition=name), 303)
    current = record_for_page(entity, record_id)
    if not isinstance(current, dict):
        return current
    lang = page_language()
    label = chosen.label.get(lang)
    url = page_url("forms.transition", entity=entity, record_id=record_id, name=name)
    prompt_fields = list(chosen.required)
    if request.method == "GET":
        return prompt_page(definition, current, label, url, prompt_fields, FormState(values={}), asked=False)
    return apply_change(
        definition, current, label, url, prompt_fields,
        lambda values, version: engine().records.transition(
            entity, record_id, name, acting(), values=values, version=version
        ),
        done=name,
    )


@forms.post("/<entity>/<int:record_id>/move")
def move(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    if not definition.workflow:
        abort(404)
    workflow = engine().model.workflow(definition.workflow)
    status = workflow.status(request.form.get("status", ""))
    if status is None:
        abort(400)
    current = record_for_page(entity, record_id)
    if not isinstance(current, dict):
        return current
    lang = page_language()
    url = page_url("forms.move", entity=entity, record_id=record_id)
    prompt_fields = list(dict.fromkeys(f for t in workflow.transitions if t.to == status.code for f in t.required))
    return apply_change(
        definition, current, status.label.get(lang), url, prompt_fields,
        lambda values, version: engine().records.move_to(
            entity, record_id, status.code, acting(), values=values, version=version
        ),
        done=f"move:{status.code}", hidden={"status": status.code}, move=True,
    )


def apply_change(
    entity: EntityDef,
    current: dict[str, Any],
    label: str,
    url: str,
    prompt_fields: list[str],
    change: Any,
    *,
    done: str,
    hidden: Mapping[str, str] | None = None,
    move: bool = False,
) -> ResponseReturnValue:
    """Apply a transition or a free move; ask for its empty required fields first."""
    lang = page_language()
    cache = form_cache()
    layout = actor_layout(entity.name, lang)
    asked = request.form.get("_prompt") == "1"
    state = FormState(values={})
    values: dict[str, Any] = {}
    widgets = [layout.widgets[n] for n in prompt_fields if n in layout.widgets and not layout.widgets[n].readonly]
    if asked:
        values = read_values(cache, widgets, request.form, lang, state)
    else:
        missing = [w for w in widgets if current.get(w.name) in (None, "", [])]
        if missing:
            return prompt_page(entity, current, label, url, prompt_fields, state, asked=False, hidden=hidden, move=move)
    if state.errors:
        return prompt_page(entity, current, label, url, prompt_fields, state, asked=True, hidden=hidden, move=move, status=422)
    try:
        change(values or None, posted_version())
    except TransitionError as error:
        if error.reason == "required":
            state.add_errors(layout, rule_messages(error.errors, lang), [w.name for w in widgets])
            return prompt_page(entity, current, label, url, prompt_fields, state, asked=asked, hidden=hidden, move=move,
                               status=422 if asked else 200)
        problem = words(lang)["f_transition_refused"].format(transition=label, reason=error.message(lang))
        return refused_page(entity, current, problem)
    except RecordValidationError as error:
        if asked:
            state.add_errors(layout, rule_messages(error.errors, lang), [w.name for w in widgets])
            return prompt_page(entity, current, label, url, prompt_fields, state, asked=True, hidden=hidden, move=move, status=422)
        problem = words(lang)["f_transition_refused"].format(transition=label, reason=error.describe(lang))
        return refused_page(entity, current, problem)
    except ConflictError as error:
        return refused_page(entity, error.current, words(lang)["f_stale_action"])
    return redirect(page_url("forms.edit", entity=entity.name, record_id=current["id"], done=done), 303)


def refused_page(entity: EntityDef, record: dict[str, Any], problem: str) -> ResponseReturnValue:
    layout = actor_layout(entity.name, page_language())
    state = FormState(values=form_values(layout, record))
    return render_form(entity, record, state, status=409, problem=problem)


def prompt_page(
    entity: EntityDef,
    record: dict[str, Any],
    label: str,
    url: str,
    prompt_fields: list[str],
    state: FormState,
    *,
    asked: bool,
    hidden: Mapping[str, str] | None = None,
    move: bool = False,
    status: int = 200,
) -> ResponseReturnValue:
    """The small form asking for a transition's required fields (or confirming it)."""
    lang = page_language()
    cache = form_cache()
    layout = actor_layout(entity.name, lang)
    widgets = [layout.widgets[n] for n in prompt_fields if n in layout.widgets and not layout.widgets[n].readonly]
    original = form_values(layout, record)
    for w in widgets:
        state.values.setdefault(w.name, original[w.name])
    links = prepare_links(cache, widgets, state, lang)
    ui = words(lang)
    if widgets:
        intro = ui["f_move_fill" if move else "f_transition_fill"].format(transition=label, status=label)
    else:
        intro = ui["f_transition_confirm"].format(transition=label)
    return html(
        "form_transition.html", status, entity=entity, record=record, layout=layout, widgets=widgets,
        state=state, field=field_renderer(state, links, {}, record),
        heading=ui["f_transition_title"].format(transition=label, title=cache.title(entity.name, record, lang)),
        title=cache.title(entity.name, record, lang),
        intro=intro, action=url, hidden=hidden or {}, version=request.form.get("_version") or record["version"],
        back_url=page_url("forms.edit", entity=entity.name, record_id=record["id"]), list_url=list_url(entity.name),
    )


# -- conversion ------------------------------------------------------------------------------


@dataclass
class Part:
    """One record a conversion creates or picks: account, contact or opportunity."""

    name: str
    entity: EntityDef
    label: str
    widgets: list[Widget]
    prefill: dict[str, Any]
    mode: str = "new"
    existing: str = ""
    choices: list[Option] | None = None
    search: bool = False
    errors: list[str] = field(default_factory=list)
    hint: str | None = None


def convert_transition(entity: EntityDef, name: str | None) -> TransitionDef:
    if not entity.workflow:
        abort(404)
    transitions = [t for t in engine().model.workflow(entity.workflow).transitions if has_convert_action(t)]
    chosen = next((t for t in transitions if t.name == name), None) if name else next(iter(transitions), None)
    if chosen is None:
        abort(404)
    return chosen


def part_widgets(cache: FormCache, part: EntityDef, mapping: Mapping[str, str], lead: EntityDef, lang: str) -> list[Widget]:
    """The mapped characteristics, then the other mandatory ones; links the conversion sets itself are left out."""
    layout = actor_layout(part.name, lang, "create")
    automatic = {lead.name, *PARTS}
    names = [n for n in mapping if n in layout.widgets]
    names += [f.name for f in part.fields if f.mandatory and f.name not in names]
    return [
        layout.widgets[n] for n in names
        if not layout.widgets[n].readonly and not (layout.widgets[n].kind == "link" and layout.widgets[n].target in automatic)
    ]


@forms.route("/<entity>/<int:record_id>/convert", methods=["GET", "POST"])
def convert(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    chosen = convert_transition(definition, request.args.get("transition") or request.form.get("transition"))
    lead = record_for_page(entity, record_id)
    if not isinstance(lead, dict):
        return lead
    lang = page_language()
    cache = form_cache()
    model = engine().model
    params = next(a.params for a in chosen.actions if a.kind == CONVERT_ACTION)
    layout = actor_layout(entity, lang)
    state = FormState(values={})
    parts: list[Part] = []
    for name in PARTS:
        if name not in model.entities:
            continue
        part_def = model.entity(name)
        mapping = dict(params.get(name) or {})
        widgets = part_widgets(cache, part_def, mapping, definition, lang)
        prefill = {
            f"{name}.{w.name}": (list(lead.get(mapping[w.name]) or []) if w.kind == "multi_choice"
                                 else form_text(w.field, lead.get(mapping[w.name])))
            if w.name in mapping else ("false" if w.kind == "boolean" else "")
            for w in widgets
        }
        parts.append(Part(name, part_def, part_def.label.get(lang), widgets, prefill))
    required = [layout.widgets[n] for n in chosen.required if n in layout.widgets and not layout.widgets[n].readonly]
    missing = [w for w in required if lead.get(w.name) in (None, "", [])]
    form = request.form if request.method == "POST" else (request.args if request.args.get("_reload") else None)
    if form is None:
        initial_convert_state(cache, parts, lead, state, lang)
    else:
        read_convert_state(cache, parts, missing, form, state, lang)
    for part in parts:
        fill_part_choices(cache, parts, part, lang)
    if request.method == "POST" and not state.errors and not any(p.errors for p in parts):
        outcome = apply_conversion(definition, lead, chosen, parts, missing, state, lang)
        if outcome is not None:
            return outcome
    return convert_page(definition, lead, chosen, parts, missing, state, status=422 if request.method == "POST" else 200)


def initial_convert_state(cache: FormCache, parts: list[Part], lead: Mapping[str, Any], state: FormState, lang: str) -> None:
    for part in parts:
        state.values.update(part.prefill)
    account = next((p for p in parts if p.name == "account"), None)
    if account is None:
        return
    first_title_field = next(iter(cache.titles().template("account").columns), None)
    value = state.values.get(f"account.{first_title_field}")
    if first_title_field and isinstance(value, str) and value.strip():
        matches = cache.where("account", first_title_field, value.strip(), limit=2)
        if len(matches) == 1:
            account.mode, account.existing = "existing", matches[0].value
            account.hint = words(lang)["f_convert_match"].format(entity=account.label.lower())


def read_convert_state(
    cache: FormCache, parts: list[Part], missing: list[Widget], form: MultiDict, state: FormState, lang: str
) -> None:
    read_values(cache, missing, form, lang, state)
    for part in parts:
        read_values(cache, part.widgets, form, lang, state, prefix=f"{part.name}.")
        if part.name == "opportunity":
            part.mode = "new" if form.get("opportunity_create") else "none"
            continue
        part.mode = "existing" if form.get(f"{part.name}_mode") == "existing" else "new"
        part.existing = form.get(f"{part.name}_id", "").strip()


def fill_part_choices(cache: FormCache, parts: list[Part], part: Part, lang: str) -> None:
    """The records one may pick for a part: any account; the chosen account's contacts."""
    if part.name == "opportunity":
        return
    if part.name == "account":
        choices = cache.choices("account", LINK_SELECT_LIMIT)
        if choices is None:
            part.search = True
            if part.existing.isdigit():
                title = cache.titles().titles("account", [int(part.existing)]).get(int(part.existing))
                part.existing = link_text(title, part.existing) if title else part.existing
        else:
            part.choices = choices
        return
    account = next((p for p in parts if p.name == "account"), None)
    account_id = existing_id(cache, account, lang) if account is not None and account.mode == "existing" else None
    link = link_field(part.entity, "account")
    part.choices = cache.where(part.name, link, account_id) if account_id is not None and link else None


def existing_id(cache: FormCache, part: Part, lang: str) -> int | None:
    record_id, _problem = resolve_link(cache, part.name, part.existing, lang)
    return record_id


def apply_conversion(
    definition: EntityDef, lead: dict[str, Any], chosen: TransitionDef, parts: list[Part], missing: list[Widget],
    state: FormState, lang: str,
) -> ResponseReturnValue | None:
    """Run the transition with the dialog's inputs; None when it was refused (errors are in `state`)."""
    cache = form_cache()
    ui = words(lang)
    inputs: dict[str, Any] = {}
    for part in parts:
        prefix = f"{part.name}."
        if part.mode == "none":
            inputs[part.name] = None
        elif part.mode == "existing":
            record_id, problem = resolve_link(cache, part.name, part.existing, lang)
            if record_id is None:
                part.errors.append(problem or ui["f_link_none"].format(entity=part.label, value=part.existing))
                continue
            inputs[part.name] = {"id": record_id}
        else:
            inputs[part.name] = {"values": {
                w.name: state.values[prefix + w.name] if w.kind != "link" else resolved_link(cache, w, state.values[prefix + w.name], lang)
                for w in part.widgets
            }}
    if any(p.errors for p in parts):
        return None
    values = {w.name: state.values.get(w.name, "") for w in missing} or None
    layout = actor_layout(definition.name, lang)
    try:
        updated = engine().records.transition(
            definition.name, lead["id"], chosen.name, acting(), values=values, inputs=inputs, version=posted_version()
        )
    except RecordValidationError as error:
        apply_convert_errors(layout, parts, missing, rule_messages(error.errors, lang), state)
        return None
    except TransitionError as error:
        if error.errors:
            apply_convert_errors(layout, parts, missing, rule_messages(error.errors, lang), state)
        else:
            state.other_errors.append(error.message(lang))
        return None
    except ConflictError:
        state.other_errors.append(ui["f_stale_action"])
        return None
    created = [
        name for name in RESULT_FIELDS.values()
        if name in definition.fields_by_name and updated.get(name) is not None and lead.get(name) != updated.get(name)
    ]
    return redirect(page_url("forms.edit", entity=definition.name, record_id=lead["id"], done=chosen.name, created=created), 303)


def resolved_link(cache: FormCache, w: Widget, text: str, lang: str) -> str:
    record_id, _problem = resolve_link(cache, w.target or "", text, lang)
    return "" if record_id is None else str(record_id)


def apply_convert_errors(
    layout: FormLayout, parts: list[Part], missing: list[Widget], messages: Mapping[str, list[str]], state: FormState
) -> None:
    by_part = {p.name: p for p in parts}
    visible = {w.name for w in missing} | {f"{p.name}.{w.name}" for p in parts for w in p.widgets}
    rest: dict[str, list[str]] = {}
    for key, texts in messages.items():
        if key in by_part:
            by_part[key].errors.extend(texts)
        elif key in visible:
            state.errors.setdefault(key, []).extend(texts)
        elif "." in key and key.split(".", 1)[0] in by_part:
            part = by_part[key.split(".", 1)[0]]
            widget = actor_layout(part.name, layout.lang, "create").widgets.get(key.split(".", 1)[1])
            part.errors.extend(f"{widget.label if widget else key}: {t}" for t in texts)
        else:
            rest[key] = texts
    state.add_errors(layout, rest, ())


def convert_page(
    definition: EntityDef, lead: dict[str, Any], chosen: TransitionDef, parts: list[Part], missing: list[Widget],
    state: FormState, *, status: int,
) -> ResponseReturnValue:
    lang = page_language()
    cache = form_cache()
    links = prepare_links(cache, missing, state, lang)
    for part in parts:
        part_links = prepare_links(cache, part.widgets, state, lang, prefix=f"{part.name}.")
        links.options.update(part_links.options)
        links.searches.update(part_links.searches)
    title = cache.title(definition.name, lead, lang)
    return html(
        "convert.html", status, entity=definition, record=lead, transition=chosen, parts=parts, missing=missing,
        state=state, field=field_renderer(state, links, {}, None),
        heading=words(lang)["f_convert_title"].format(title=title), title=title,
        action=page_url("forms.convert", entity=definition.name, record_id=lead["id"], transition=chosen.name),
        reload_action=url_for("forms.convert", entity=definition.name, record_id=lead["id"]),
        version=request.form.get("_version") or lead["version"],
        back_url=page_url("forms.edit", entity=definition.name, record_id=lead["id"]), list_url=list_url(definition.name),
        lang_arg=lang_args().get("lang"),
    )


# -- history -----------------------------------------------------------------------------------


@forms.get("/<entity>/<int:record_id>/history")
def history(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    cache = form_cache()
    records = engine().records
    try:
        record = records.get(entity, record_id, include_deleted=True, actor=acting())
    except NotFoundError:
        abort(404)
    layout = actor_layout(entity, lang)
    ui = words(lang)
    actor = acting()
    audit = records.audit_log(entity, record_id, actor=actor)
    titles = cache.titles()
    link_ids: dict[str, set[int]] = {}
    actor_ids: set[int] = set()
    hidden = hidden_of(entity)
    periods = {
        f.name: records.history(entity, record_id, f.name, actor=actor)
        for f in definition.historized_fields if f.name not in hidden
    }
    for entry in audit:
        if entry["actor_id"] is not None:
            actor_ids.add(entry["actor_id"])
        for name, pair in (entry.get("changes") or {}).items():
            w = layout.widgets.get(name)
            if w is not None and w.kind == "link":
                link_ids.setdefault(w.target or "", set()).update(int(v) for v in pair if v is not None)
    for name, rows in periods.items():
        w = layout.widgets[name]
        for period in rows:
            if period["changed_by"] is not None:
                actor_ids.add(period["changed_by"])
            if w.kind == "link" and period["value"] is not None:
                link_ids.setdefault(w.target or "", set()).add(int(period["value"]))
    statuses = records.status_history(entity, record_id, actor=actor) if definition.workflow else []
    actor_ids.update(p["changed_by"] for p in statuses if p["changed_by"] is not None)
    found = {target: titles.titles(target, ids) for target, ids in link_ids.items()}
    people = titles.titles("user", actor_ids) if "user" in engine().model.entities and actor_ids else {}

    def who(actor_id: int | None) -> str:
        return ui["f_system"] if actor_id is None else people.get(actor_id, f"#{actor_id}")

    entries = []
    for entry in reversed(audit):
        changes = []
        for name, (old, new_value) in (entry.get("changes") or {}).items():
            w = layout.widgets.get(name)
            if w is None:
                changes.append({"label": name, "old": str(old), "new": str(new_value)})
                continue
            targets = found.get(w.target or "", {})
            changes.append({"label": w.label, "old": display(w, old, lang, targets), "new": display(w, new_value, lang, targets)})
        entries.append({
            "when": format_datetime(entry["changed_at"], lang), "who": who(entry["actor_id"]),
            "action": ui.get(f"f_action_{entry['action']}", entry["action"]), "kind": entry["action"],
            "version": entry["version"], "changes": changes,
        })
    timelines = []
    for name, rows in periods.items():
        w = layout.widgets[name]
        targets = found.get(w.target or "", {})
        timelines.append({"label": w.label, "periods": [
            {
                "from": format_datetime(p["valid_from"], lang),
                "to": format_datetime(p["valid_to"], lang) if p["valid_to"] else ui["f_now"],
                "value": display(w, p["value"], lang, targets), "who": who(p["changed_by"]), "current": p["valid_to"] is None,
            }
            for p in reversed(rows)
        ]})
    status_rows, totals = status_tables(definition, record_id, statuses, who, lang)
    return html(
        "history.html", entity=definition, record=record, entries=entries, timelines=timelines,
        status_rows=status_rows, totals=totals, heading=ui["f_history_title"].format(title=cache.title(entity, record, lang)),
        title=cache.title(entity, record, lang),
        edit_url=page_url("forms.edit", entity=entity, record_id=record_id), list_url=list_url(entity),
        in_trash=record["deleted_at"] is not None,
    )


def status_tables(
    definition: EntityDef, record_id: int, statuses: list[dict[str, Any]], who: Any, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Status periods (newest first) and the total time spent in each status."""
    if not definition.workflow:
        return [], []
    records = engine().records
    workflow = engine().model.workflow(definition.workflow)
    now = records.clock()
    ui = words(lang)

    def label(code: str | None) -> tuple[str, str]:
        status = workflow.status(code or "")
        return (status.label.get(lang), status_color(status.color)) if status else (code or ui["f_none"], NEUTRAL_COLOR)

    transitions = {t.name: t.label.get(lang) for t in workflow.transitions}
    rows = []
    for period in reversed(statuses):
        text, color = label(period["status"])
        end = period["left_at"] or now
        moved = period["transition"] or ""
        rows.append({
            "status": text, "color": color, "entered": format_datetime(period["entered_at"], lang),
            "left": format_datetime(period["left_at"], lang) if period["left_at"] else ui["f_now"],
            "duration": human_duration(end - period["entered_at"], lang),
            "transition": transitions.get(moved, moved.replace("move:", "→ ") if moved else ""),
            "who": who(period["changed_by"]), "current": period["left_at"] is None,
        })
    spent = records.time_in_status(definition.name, record_id, now=now, actor=acting())
    totals = []
    for status in workflow.statuses:
        if status.code in spent:
            totals.append({
                "status": status.label.get(lang), "color": status_color(status.color),
                "duration": human_duration(spent[status.code], lang),
                "share": _share(spent[status.code], spent.values()),
            })
    return rows, totals


def _share(part: dt.timedelta, whole: Iterable[dt.timedelta]) -> int:
    total = sum((d.total_seconds() for d in whole), 0.0)
    return round(100 * part.total_seconds() / total) if total > 0 else 0


# -- link lookup ---------------------------------------------------------------------------------


@forms.get("/<entity>/lookup")
def lookup(entity: str) -> ResponseReturnValue:
    """[{id, title}] of the live records whose title matches `q`: suggestions for link inputs."""
    entity_or_404(entity)
    found = form_cache().search(entity, request.args.get("q", "").strip())
    return jsonify([{"id": int(o.value), "title": o.label} for o in found])
