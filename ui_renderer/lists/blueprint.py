"""The generated list pages: `/<entity>/` for every entity, and mass updates from them.

Nothing here is written per entity: columns, filters, groups and mass update fields
come from the entity's list views in the `Model`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import Engine, RecordValidationError
from engine.jobs.mass_update_job import submit_mass_update
from engine.records.queries import ListRequest, QueryError

from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language
from ui_renderer.core.titles_apart import told_apart_or_none
from ui_renderer.core.i18n import count_words, format_integer, words
from .actions import list_actions
from .layout import LayoutCache, ViewLayout
from .page import ListUrls, build_list_page, query_request
from .mass_update_form import EnteredValues, Selection, list_args, read_selection, read_values
from ui_renderer.core.record_titles import RecordTitles, TitleTemplate

lists = Blueprint("lists", __name__)

LAYOUTS = "ossature.list_layouts"
TITLE_TEMPLATES = "ossature.title_templates"


def _engine() -> Engine:
    return current_app.extensions["ossature"]


def _layouts() -> LayoutCache:
    cache = current_app.extensions.get(LAYOUTS)
    if cache is None:
        cache = current_app.extensions[LAYOUTS] = LayoutCache(_engine())
    return cache


def _titles() -> RecordTitles:
    templates: dict[str, TitleTemplate] = current_app.extensions.setdefault(TITLE_TEMPLATES, {})
    return RecordTitles(_engine(), templates, current_actor())


def _language_args() -> list[tuple[str, str]]:
    """The language chosen in the URL (`?lang=`) rides along every link of the page."""
    asked = request.args.get("lang")
    return [("lang", asked)] if asked == request_language() else []


def _suffix() -> str:
    extra = _language_args()
    return f"?lang={extra[0][1]}" if extra else ""


def _entity_or_404(entity: str) -> None:
    """404 for an unknown entity, and for an owned one: its records are lines of their owner's."""
    definition = _engine().model.entities.get(entity)
    if definition is None or definition.owned_by is not None:
        abort(404)


def _record_base(entity: str) -> str:
    return url_for("lists.index", entity=entity)


def _layout(entity: str, view: str, lang: str) -> ViewLayout:
    return _layouts().get(entity, view, lang, _record_base, _suffix())


def _list_urls(entity: str, layout: ViewLayout) -> ListUrls:
    return ListUrls(_record_base(entity), layout, _language_args())


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    lang = request_language()
    html = render_template(template, ui=words(lang), **context)
    return html, status, {"Vary": "Accept-Language", "Content-Language": lang}


def _views(entity: str, current: str, lang: str) -> list[dict[str, Any]]:
    definition = _engine().model.entity(entity)
    base = _record_base(entity)
    extra = _language_args()
    views = []
    for view in definition.views:
        if view.kind != "list":
            continue
        pairs = ([("view", view.name)] if view.name != "list" else []) + extra
        query = urlencode(pairs)
        views.append({"label": view.label.get(lang), "url": f"{base}?{query}" if query else base,
                      "current": view.name == current})
    return views


def _bad_request(entity: str, error: QueryError) -> ResponseReturnValue:
    definition = _engine().model.entity(entity)
    return _page(
        "list_error.html",
        400,
        entity=definition,
        parameter=error.parameter,
        message=error.describe(request_language()),
        default_url=_record_base(entity) + _suffix(),
    )


# -- the list ---------------------------------------------------------------------------------------


@lists.get("/<entity>/")
def index(entity: str) -> ResponseReturnValue:
    _entity_or_404(entity)
    engine = _engine()
    lang = request_language()
    try:
        list_request = engine.records.list_request(entity, request.args.to_dict(flat=False))
    except QueryError as error:
        return _bad_request(entity, error)
    layout = _layout(entity, list_request.view, lang)
    shown = [c.name for c in layout.columns] + ([list_request.group] if list_request.group else [])
    result = engine.records.list(entity, query_request(list_request), actor=current_actor(), fields=shown)
    urls = _list_urls(entity, layout)
    context = build_list_page(layout, list_request, result, urls, _titles(), _record_base(entity), _suffix())
    actions = list_actions(engine, entity, current_actor(), request.args.to_dict(flat=False), lang, _suffix())
    return _page(
        "list.html",
        layout=layout,
        views=_views(entity, list_request.view, lang),
        new_url=_record_base(entity) + "new" + _suffix(),
        list_url=_record_base(entity),
        mass_update_url=url_for("lists.mass_update_preview", entity=entity) + _suffix(),
        actions=actions,
        refresh_url=urls.url(list_request),
        **context,
    )


# -- mass update ----------------------------------------------------------------------------------


def _mass_update_context(
    entity: str, layout: ViewLayout, selection: Selection, entered: EnteredValues, titles: RecordTitles
) -> dict[str, Any]:
    lang = layout.lang
    urls = _list_urls(entity, layout)
    link_choices = {spec.name: told_apart_or_none(titles.choices(spec.target)) for spec in layout.mass_update
                    if spec.kind in ("link", "links")}
    matched = _matched(entity, selection)
    if selection.all_matching:
        selection_text = words(lang)["selection_all"].format(count=matched)
    else:
        selection_text = count_words(lang, "selection_ids", matched)
    threshold = _engine().jobs.threshold
    background = matched > threshold
    return {
        "layout": layout,
        "entity": layout.entity,
        "selection": selection,
        "selection_text": selection_text,
        "matched": matched,
        "background_text": (words(lang)["mass_update_background"].format(threshold=format_integer(threshold, lang))
                            if background else None),
        "entered": entered,
        "link_choices": link_choices,
        "back_url": urls.url(selection.request),
        "preview_url": url_for("lists.mass_update_preview", entity=entity) + _suffix(),
        "apply_url": url_for("lists.mass_update_apply", entity=entity) + _suffix(),
    }


def _matched(entity: str, selection: Selection) -> int:
    """How many records the selection names: the ticked ones, or a count of "all matching"."""
    if not selection.all_matching:
        return len(selection.versions)
    return _engine().records.list(entity, selection.request.replace(page=1, page_size=1), actor=current_actor()).total


def _read_mass_update(entity: str) -> tuple[ViewLayout, Selection, EnteredValues]:
    """The posted form; QueryError when the list arguments it carries are bad."""
    _entity_or_404(entity)
    list_request: ListRequest = _engine().records.list_request(entity, list_args(request.form))
    layout = _layout(entity, list_request.view, request_language())
    if not layout.mass_update:
        abort(404)
    return layout, read_selection(request.form, list_request), read_values(request.form, layout)


def _refusal_problem(layout: ViewLayout, selection: Selection, entered: EnteredValues) -> str | None:
    ui = words(layout.lang)
    if selection.empty:
        return ui["no_selection"]
    if not entered.chosen:
        return ui["no_field"]
    return None


def _field_errors(layout: ViewLayout, error: RecordValidationError) -> dict[str, list[str]]:
    return {name: [e.message(layout.lang) for e in problems] for name, problems in error.errors.items()}


@lists.get("/<entity>/mass-update")
@lists.get("/<entity>/mass-update/apply")
def mass_update_elsewhere(entity: str) -> ResponseReturnValue:
    """A mass update page reached by a link (the language switch, a bookmark) shows the list:
    the selection only ever travels in the posted form."""
    _entity_or_404(entity)
    return redirect(_record_base(entity) + _suffix())


@lists.post("/<entity>/mass-update")
def mass_update_preview(entity: str) -> ResponseReturnValue:
    try:
        layout, selection, entered = _read_mass_update(entity)
    except QueryError as error:
        return _bad_request(entity, error)
    titles = _titles()
    context = _mass_update_context(entity, layout, selection, entered, titles)
    problem = _refusal_problem(layout, selection, entered)
    if problem:
        return _page("mass_update.html", 400, problem=problem, errors={}, will_change=None, **context)
    try:
        will_change = _engine().records.preview_mass_update(
            entity, selection.target, entered.values(layout.mass_update), current_actor()
        )
    except RecordValidationError as error:
        return _page("mass_update.html", 400, problem=words(layout.lang)["invalid_values"],
                     errors=_field_errors(layout, error), will_change=None, **context)
    will_change_text = count_words(layout.lang, "will_change", will_change, matched=context["matched"])
    return _page("mass_update.html", problem=None, errors={}, will_change=will_change,
                 will_change_text=will_change_text, **context)


def _with_job(list_url: str, job_id: int) -> str:
    """The list's URL naming the job just queued: the list then shows its progress."""
    return f"{list_url}{'&' if '?' in list_url else '?'}job={job_id}"


@lists.post("/<entity>/mass-update/apply")
def mass_update_apply(entity: str) -> ResponseReturnValue:
    try:
        layout, selection, entered = _read_mass_update(entity)
    except QueryError as error:
        return _bad_request(entity, error)
    titles = _titles()
    problem = _refusal_problem(layout, selection, entered)
    if problem:
        context = _mass_update_context(entity, layout, selection, entered, titles)
        return _page("mass_update.html", 400, problem=problem, errors={}, will_change=None, **context)
    engine = _engine()
    values = entered.values(layout.mass_update)
    try:
        if _matched(entity, selection) > engine.jobs.threshold:
            job_id = submit_mass_update(engine, entity, selection.target, values, current_actor(),
                                        versions=selection.expected_versions)
            return redirect(_with_job(_list_urls(entity, layout).url(selection.request), job_id), 303)
        result = engine.records.mass_update(
            entity, selection.target, values, current_actor(), versions=selection.expected_versions,
        )
    except RecordValidationError as error:
        context = _mass_update_context(entity, layout, selection, entered, titles)
        return _page("mass_update.html", 400, problem=words(layout.lang)["invalid_values"],
                     errors=_field_errors(layout, error), will_change=None, **context)
    refused_titles = titles.titles(entity, result.refused)
    refusals = [
        {"title": refused_titles.get(record_id, f"#{record_id}"), "url": _record_base(entity) + str(record_id) + _suffix(),
         "message": message}
        for record_id, message in sorted(result.refused.items())
    ]
    lang = layout.lang
    return _page(
        "mass_update_done.html",
        layout=layout,
        entity=layout.entity,
        result=result,
        changed_text=count_words(lang, "changed", result.changed),
        matched_text=words(lang)["matched"].format(matched=result.matched),
        refusals=refusals,
        back_url=_list_urls(entity, layout).url(selection.request),
    )
