"""What every record page shares: the engine and the acting user of the request, what their
roles allow, the page language, URLs that keep it, and the HTML response.

Per-request values live on `flask.g` and are worked out once; per-app ones (layouts, URL
prefixes) live in `app.extensions` and never depend on the records.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping, TypeVar
from urllib.parse import urlencode

from flask import abort, current_app, g, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.routing import BuildError

from engine import NotFoundError
from metamodel.model import LANGUAGES, EntityDef

from ui_renderer.core.actor import current_actor
from .links import LinkReader
from ui_renderer.core.language import request_language
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import FormCache, FormLayout

T = TypeVar("T")
_MISSING = object()


def per_request(key: str, make: Callable[[], T]) -> T:
    """`make()`, called once per request."""
    found = g.get(key, _MISSING)
    if found is _MISSING:
        found = make()
        setattr(g, key, found)
    return found


def per_app(key: str, make: Callable[[], T]) -> T:
    """`make()`, called once per app: for what depends neither on the request nor on the records."""
    found = current_app.extensions.get(key, _MISSING)
    if found is _MISSING:
        found = current_app.extensions[key] = make()
    return found


# -- the engine, the actor and what they may do --------------------------------------------


def engine() -> Any:
    return current_app.extensions["ossature"]


def form_cache() -> FormCache:
    eng = engine()
    cache = current_app.extensions.get("ossature_forms")
    if cache is None or cache.engine is not eng:
        cache = current_app.extensions["ossature_forms"] = FormCache(eng)
    return cache


def acting() -> Any:
    """The actor of this request (`actor.current_actor()`)."""
    return per_request("form_actor", current_actor)


def links() -> LinkReader:
    """This request's reader of linked records, as the acting user."""
    return per_request("form_links", lambda: LinkReader(engine(), form_cache().templates, acting()))


def access_of(entity: str) -> Any | None:
    """What the current actor's roles allow on `entity` (None when the engine enforces no permissions)."""
    known: dict[str, Any] = per_request("form_access", dict)
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


def record_allows(entity: str, record_id: int, operation: str) -> bool:
    """Whether the actor may `operation` this record: the operation is theirs and the record is in
    its scope (one query, only for an actor whose scope of `operation` is not every record)."""
    access = access_of(entity)
    if access is None or getattr(access, "unrestricted", False):
        return True
    if not access.allows(operation):
        return False
    if access.scope_of(operation) == "all":
        return True
    return record_id in engine().records.in_scope(entity, [record_id], operation, actor=acting())


def actor_layout(entity: str, lang: str, operation: str = "update", record_id: int | None = None) -> FormLayout:
    """The form as the actor may use it: hidden characteristics left out, those they may not set
    (or every one, when they may not `operation` at all, or not on the record `record_id`) read-only."""
    access = access_of(entity)
    cache = form_cache()
    if access is None or getattr(access, "unrestricted", False):
        return cache.layout(entity, lang)
    locked = frozenset(access.readonly_for(operation))
    if not access.allows(operation) or (record_id is not None and not record_allows(entity, record_id, operation)):
        locked = frozenset(f.name for f in engine().model.entity(entity).fields)
    return cache.layout(entity, lang, frozenset(access.hidden), locked)


def entity_or_404(name: str) -> EntityDef:
    """The entity of a record page; 404 for an unknown one or an owned one (`lines` of another
    entity have no pages of their own: they are edited in their owner's form)."""
    entity = engine().model.entities.get(name)
    if entity is None or entity.owned_by is not None:
        abort(404)
    return entity


# -- language and URLs ---------------------------------------------------------------------


def page_language() -> str:
    return per_request("form_lang", request_language)


def lang_args() -> dict[str, str]:
    """`lang` when the URL chose one, so that links and redirects keep it."""
    return per_request("form_lang_args", _chosen_language)


def _chosen_language() -> dict[str, str]:
    lang = request.args.get("lang") if "lang" in request.args else None
    return {"lang": lang} if lang in LANGUAGES else {}


def page_url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, **values, **lang_args())


def with_lang(path: str, **query: Any) -> str:
    """`path` with `query` and the language the URL chose."""
    args = {**query, **lang_args()}
    return path + ("?" + urlencode(args, doseq=True) if args else "")


def entity_url(endpoint: str, entity: str) -> str:
    """An entity's page without a record (new, trash); its path is built once per app."""
    paths: dict[tuple[str, str], str] = per_app("ossature_form_entity_paths", dict)
    path = paths.get((endpoint, entity))
    if path is None:
        path = paths[endpoint, entity] = url_for(endpoint, entity=entity)
    return with_lang(path)


def record_path(entity: str, record_id: int) -> str:
    """A record's form path; its prefix is built once per entity (pages link to many records)."""
    prefixes: dict[str, str] = per_app("ossature_form_paths", dict)
    prefix = prefixes.get(entity)
    if prefix is None:
        prefix = prefixes[entity] = url_for("forms.edit", entity=entity, record_id=0)[:-1]
    return f"{prefix}{int(record_id)}"


def edit_url(entity: str, record_id: int) -> str:
    return with_lang(record_path(entity, record_id))


class RecordUrls:
    """The URLs of one record's pages: they all extend the form's path."""

    def __init__(self, entity: str, record_id: int):
        self.base = record_path(entity, record_id)

    def page(self, tail: str = "", **query: Any) -> str:
        return with_lang(self.base + tail, **query)


def list_url(entity: str) -> str | None:
    """The entity's list page, when the list blueprint is registered."""
    paths: dict[str, str | None] = per_app("ossature_form_list_paths", dict)
    if entity not in paths:
        paths[entity] = _list_path(entity)
    path = paths[entity]
    return with_lang(path) if path is not None else None


def _list_path(entity: str) -> str | None:
    for endpoint in ("lists.index", "lists.list_view", "lists.list_page"):
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, entity=entity)
            except BuildError:
                continue
    return None


# -- responses -----------------------------------------------------------------------------


_TEMPLATE_WORDS: dict[str, SimpleNamespace] = {}


def template_words(lang: str) -> SimpleNamespace:
    """The UI words as attributes: templates read dozens of them, and attribute lookups are cheap."""
    found = _TEMPLATE_WORDS.get(lang)
    if found is None:
        found = _TEMPLATE_WORDS[lang] = SimpleNamespace(**words(lang))
    return found


def static_urls() -> SimpleNamespace:
    """The record pages' stylesheet and script."""
    return per_app("ossature_form_static", lambda: SimpleNamespace(
        css=url_for("static", filename="forms.css"), js=url_for("static", filename="form.js")
    ))


def html(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    lang = page_language()
    body = render_template(template, ui=template_words(lang), static=static_urls(), **context)
    return body, status, {"Vary": "Accept-Language", "Content-Language": lang}


def posted_version() -> int | None:
    text = request.form.get("_version", "")
    return int(text) if text.isdigit() else None


def rule_messages(errors: Mapping[str, Iterable[Any]], lang: str) -> dict[str, list[str]]:
    return {name: [e.message(lang) for e in errs] for name, errs in errors.items()}


def live_record(entity: str, record_id: int) -> dict[str, Any]:
    """The live record as the actor may see it; else the request ends with a 404 page that says
    whether the record is in the trash."""
    records = engine().records
    try:
        return records.get(entity, record_id, actor=acting())
    except NotFoundError:
        pass
    try:
        trashed = records.get(entity, record_id, include_deleted=True, actor=acting())
    except NotFoundError:
        trashed = None
    abort(make_response(html(
        "form_missing.html", 404, entity=engine().model.entity(entity), record=trashed,
        title=form_cache().title(entity, trashed, page_language()) if trashed else None,
        restore_url=page_url("forms.restore", entity=entity, record_id=record_id),
        trash_url=entity_url("forms.trash", entity), list_url=list_url(entity),
    )))


def denied(error: Exception) -> ResponseReturnValue:
    """The actor's roles do not allow what the page asked for."""
    name = request.view_args.get("entity", "") if request.view_args else ""
    definition = engine().model.entities.get(name)
    if definition is None:
        return words(page_language())["f_denied"], 403
    return html(
        "form_missing.html", 403, entity=definition, record=None, title=None, denied=True, list_url=list_url(name)
    )
