"""The related panels under a record's form: the records of its reverse relations.

One panel per `RelatedPanelDef` of the entity's form (the declared ones, or one per reverse
relation; `related: []` none), in order: the relation's label, the count, a table of the
panel's columns rendered as list pages render them (ui_renderer/lists/layout.py), each row
linking to its record, the panel's sort, paging by `?p_<relation>=N` (the other panels stay
on their page) and a "New" button opening the source entity's form with the link pre-filled
(`?prefill.<link>=<id>`, read as any input of that form).

Only what the actor may read: a panel of an entity they may not read, or through a link
hidden from them, is left out; rows out of their scope are neither shown nor counted. Each
panel costs a constant number of queries (the engine's page and count, its links' members,
one title read per linked entity), whatever its rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from html import escape as esc
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlencode

from flask import current_app, request
from markupsafe import Markup

from engine.access.permissions import PermissionDenied
from engine.records.queries import ListRequest
from engine.records.related import related_list
from metamodel.model import EntityDef, RelatedPanelDef, RelationDef

from ui_renderer.core.i18n import register_words
from .common import acting, actor_layout, allows, engine, entity_url, hidden_of, links, per_app, record_path, with_lang
from .form_collections import editors

COLUMN_LAYOUTS = "column_layouts"
"""`app.extensions` key of the function compiling list columns (labels, cell renderers):
`ui_renderer.lists.layout.build_layout`, which record pages call without importing it (list pages
sit above record pages: `create_app` puts it there). Not an "ossature..." key: those are derived
from the engine and dropped when the definitions change (ui_renderer/core/live_app.py)."""
PAGE_ARGUMENT = "p_"
"""`?p_<relation>=N`: the page a panel shows."""
KEPT_ARGUMENTS = frozenset({"lang", "add"})
"""The record page's arguments a panel's paging links keep, besides the other panels' pages."""
PREFILL_ARGUMENT = "prefill."
"""`/<entity>/new?prefill.<field>=<value>`: a value the new record's form starts with."""

register_words({
    "en": {"rel_panels": "Related records", "rel_new": "New", "rel_none": "None yet.",
           "rel_previous": "Previous", "rel_next": "Next", "rel_page": "Page {page} of {pages}"},
    "fr": {"rel_panels": "Fiches liées", "rel_new": "Nouveau", "rel_none": "Aucune pour l'instant.",
           "rel_previous": "Précédente", "rel_next": "Suivante", "rel_page": "Page {page} sur {pages}"},
})


@dataclass(frozen=True)
class Header:
    label: str
    css: str


@dataclass(frozen=True)
class Panel:
    """One related panel as the form template shows it."""

    relation: str
    label: str
    total: int
    headers: tuple[Header, ...]
    rows: tuple[Markup, ...]
    """Each row's cells (`<td>`s), the record column linking to the row's record."""
    page: int
    pages: int
    previous_url: str | None
    next_url: str | None
    new_url: str | None


def related_panels(entity: EntityDef, record_id: int, lang: str) -> list[Panel]:
    """The panels of the record's form the actor may read, in the form's order (the page has
    just read the record as the actor: the panels do not read it again)."""
    model = engine().model
    panels = []
    for panel in entity.view("form").related:
        relation = model.relation(entity.name, panel.relation)
        source = relation.source_entity
        if not allows(source, "read") or relation.source_field in hidden_of(source):
            continue
        try:
            panels.append(_panel(entity, record_id, relation, panel, lang))
        except PermissionDenied:  # a sort or column through what the actor may not read further on
            continue
    return panels


def _panel(entity: EntityDef, record_id: int, relation: RelationDef, panel: RelatedPanelDef, lang: str) -> Panel:
    hidden = hidden_of(relation.source_entity)
    columns = tuple(name for name in panel.columns if _first_step(name) not in hidden)
    sort = tuple(key for key in panel.sort if _first_step(key.lstrip("-")) not in hidden)
    page = _page_asked(relation.name)
    asked = ListRequest(sort=sort, page_size=panel.size, page=page, tab="all")
    result = related_list(engine().records, entity.name, record_id, relation.name, asked, acting(), fields=columns,
                          record_read=True)
    total = result.total or 0
    pages = max(1, -(-total // panel.size))
    if page > pages:  # past the last page (records went since the link was made): the last one
        page = pages
        result = related_list(engine().records, entity.name, record_id, relation.name, asked.replace(page=page),
                              acting(), fields=columns, record_read=True)
    layout = _layout(relation, columns, lang)
    return Panel(
        relation=relation.name,
        label=relation.label.get(lang),
        total=total,
        headers=tuple(Header(c.label, c.css) for c in layout.columns),
        rows=tuple(_rows(layout, result.rows)),
        page=page,
        pages=pages,
        previous_url=_page_url(relation.name, page - 1) if page > 1 else None,
        next_url=_page_url(relation.name, page + 1) if page < pages else None,
        new_url=_new_url(relation, record_id, lang),
    )


def _first_step(name: str) -> str:
    """The characteristic of the source entity a column or sort key reads (a path's first link):
    one hidden from the actor is left out, as the panel would tell its values."""
    return name.split(".", 1)[0]


def _page_asked(relation: str) -> int:
    text = request.args.get(PAGE_ARGUMENT + relation, "")
    return int(text) if text.isdigit() and 0 < int(text) < 1_000_000 else 1


def _page_url(relation: str, page: int) -> str:
    """This page's URL with the panel on `page`, the other panels' pages, the language and the
    characteristics shown on demand kept (not the notices of a change just made)."""
    args = [(key, value) for key, value in request.args.items(multi=True)
            if key in KEPT_ARGUMENTS or (key.startswith(PAGE_ARGUMENT) and key != PAGE_ARGUMENT + relation)]
    if page > 1:
        args.append((PAGE_ARGUMENT + relation, str(page)))
    return request.path + ("?" + urlencode(args) if args else "") + f"#related-{relation}"


def _new_url(relation: RelationDef, record_id: int, lang: str) -> str | None:
    """The source entity's new form with the link set to this record, when the actor may create
    such records and set that link, or add a member to that `links` (`?prefill.attendees=12`)."""
    if relation.kind not in ("link", "links") or not allows(relation.source_entity, "create"):
        return None
    layout = actor_layout(relation.source_entity, lang, "create")
    if relation.kind == "links":
        if relation.source_field not in editors(layout, "create"):
            return None
    else:
        widget = layout.widgets.get(relation.source_field)
        if widget is None or widget.readonly:
            return None
    base = entity_url("forms.new", relation.source_entity).split("?", 1)[0]
    return with_lang(base, **{PREFILL_ARGUMENT + relation.source_field: record_id})


def _layout(relation: RelationDef, columns: tuple[str, ...], lang: str) -> Any:
    """The panel's columns compiled as a list view's (labels and cell renderers), once per app."""
    suffix = with_lang("")
    layouts: dict[tuple[Any, ...], Any] = per_app("ossature_related_layouts", dict)
    key = (relation.source_entity, columns, lang, suffix)
    found = layouts.get(key)
    if found is None:
        model = engine().model
        source = model.entity(relation.source_entity)
        view = dataclasses.replace(source.view("list"), columns=columns, filters=(), group_by=(), mass_update=())
        found = layouts[key] = _build_layout()(model, source, view, lang, _record_base, suffix)
    return found


def _build_layout() -> Callable[..., Any]:
    build = current_app.extensions.get(COLUMN_LAYOUTS)
    if build is None:
        raise RuntimeError(f"related panels: no column layouts (app.extensions[{COLUMN_LAYOUTS!r}]); "
                           "create_app sets them")
    return build


def _record_base(entity: str) -> str:
    return record_path(entity, 0)[:-1]


def _rows(layout: Any, records: Sequence[Mapping[str, Any]]) -> list[Markup]:
    """The rows' cells; the titles of every linked record read once per linked entity."""
    titles = _titles(layout.columns, records)
    record_base, suffix = esc(_record_base(layout.entity.name)), esc(with_lang(""))
    rows = []
    for record in records:
        cells = [c.render(record.get(c.name), titles.get(c.name, {})) for c in layout.columns]
        record_id = int(record["id"])
        link = f'<a class="record-link" href="{record_base}{record_id}{suffix}">'
        if cells:
            cells[layout.record_column] = f"{link}{cells[layout.record_column] or f'#{record_id}'}</a>"
        else:
            cells = [f"{link}#{record_id}</a>"]
        css = [c.css for c in layout.columns] or ["integer"]
        rows.append(Markup("".join(f'<td class="{k}">{cell}</td>' for k, cell in zip(css, cells))))
    return rows


def _titles(columns: Sequence[Any], records: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[int, str]]:
    wanted: dict[str, set[int]] = {}
    for column in columns:
        if column.target:
            ids = wanted.setdefault(column.target, set())
            for record in records:
                value = record.get(column.name)
                if column.type == "links":
                    ids.update(value or ())
                elif value is not None:
                    ids.add(value)
    read = {target: links().titles(target, ids) for target, ids in wanted.items() if ids}
    return {c.name: read.get(c.target, {}) for c in columns if c.target}


def prefilled(values: Mapping[str, str]) -> dict[str, str]:
    """The `?prefill.<field>=<value>` arguments of this request, by field."""
    return {key[len(PREFILL_ARGUMENT):]: value for key, value in values.items()
            if key.startswith(PREFILL_ARGUMENT) and value}
