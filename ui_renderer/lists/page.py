"""One list page: the request's rows rendered through the view's layout, and every URL it links to.

The URL holds the whole state of the page (`ListRequest.to_args`), so every link here
(sort a column, change tab, remove a filter, next page) is the current request with one
thing changed. Defaults (open tab, the view's sort and page size) are left out of URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape as esc
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlencode

from markupsafe import Markup

from engine.records.queries import TABS, ListRequest, ListResult

from ui_renderer.core.i18n import count_words, format_integer, words
from .layout import Column, InputSpec, Option, ViewLayout
from ui_renderer.core.record_titles import RecordTitles
from ui_renderer.core.titles_apart import told_apart, told_apart_or_none

PAGE_SIZES = (10, 25, 50, 100, 200)
PAGE_WINDOW = 2
"""Page links shown on each side of the current page."""


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    """`id:version`: what a selected check box sends, so a mass update can refuse stale records."""
    cells: Markup
    """The row's `<td>` cells (with its selection box when the view has a mass update),
    rendered at once: no per-cell template work."""


@dataclass(frozen=True)
class Section:
    """Rows of one group (or all rows when the list is not grouped)."""

    label: str | None
    count: int | None
    rows: list[Row]
    value: str = ""


@dataclass(frozen=True)
class GroupCount:
    label: str
    count: int
    url: str | None
    """The list filtered to that group (None for the empty group, which no filter can name)."""


@dataclass(frozen=True)
class Header:
    column: Column
    url: str | None
    direction: str | None
    """`ascending`/`descending` when the list is sorted by this column first."""


@dataclass(frozen=True)
class FilterState:
    spec: InputSpec
    selected: frozenset[str]
    text: str = ""
    low: str = ""
    high: str = ""
    options: tuple[Option, ...] | None = None
    """Link filters: the target's records (None when there are too many: an id input instead)."""
    chosen_titles: str = ""
    """Link filters entered by record number: the titles of the chosen records."""
    active: bool = False


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str


@dataclass(frozen=True)
class PageLink:
    number: int | None
    """None for the gap ("…") between distant pages."""
    url: str
    current: bool = False


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    current: bool


class ListUrls:
    """URLs of the list with a changed request; `extra` (e.g. the language) rides along."""

    def __init__(self, base: str, layout: ViewLayout, extra: Sequence[tuple[str, str]] = ()):
        self.base = base
        self.default_sort = ",".join(layout.view.sort)
        self.default_size = str(layout.view.page_size)
        self.extra = list(extra)
        self._last: tuple[ListRequest, dict[str, list[str]]] | None = None

    def pairs(self, request: ListRequest, *, drop: Iterable[str] = ()) -> list[tuple[str, str]]:
        dropped = set(drop)
        pairs: list[tuple[str, str]] = []
        for key, values in request.to_args().items():
            if key in dropped or self._is_default(key, values):
                continue
            pairs.extend((key, value) for value in values)
        return pairs + self.extra

    def url(self, request: ListRequest) -> str:
        pairs = self.pairs(request)
        return f"{self.base}?{urlencode(pairs)}" if pairs else self.base

    def variant(self, request: ListRequest, **changes: str | None) -> str:
        """The URL of `request` with a few arguments changed (None drops one), without building
        a new ListRequest: the sort headers, tabs and page links of a page are many."""
        if self._last is None or self._last[0] is not request:
            self._last = (request, request.to_args())
        args = dict(self._last[1])
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = [value]
        pairs: list[tuple[str, str]] = []
        for key in sorted(args, key=_argument_rank):
            values = args[key]
            if not self._is_default(key, values):
                pairs.extend((key, value) for value in values)
        pairs += self.extra
        return f"{self.base}?{urlencode(pairs)}" if pairs else self.base

    def _is_default(self, key: str, values: list[str]) -> bool:
        if key == "tab":
            return values == ["open"]
        if key == "size":
            return values == [self.default_size]
        if key == "sort":
            return values == [self.default_sort]
        return False


_ARGUMENT_ORDER = {"view": 0, "q": 1, "sort": 2, "tab": 3, "group": 5, "page": 6, "size": 7, "after": 8, "total": 9}


def _argument_rank(key: str) -> int:
    """`ListRequest.to_args` order (filters between tab and group), so URLs stay the same however built."""
    return _ARGUMENT_ORDER.get(key, 4)


def query_request(request: ListRequest) -> ListRequest:
    """The request sent to the engine: a grouped list is sorted by its group first, so each
    group's rows on a page are together (a cursor of the URL's sort then means nothing: the page
    is read by its number); the page shows its total and page numbers, so every match is counted."""
    if request.total != "exact":
        request = request.replace(total="exact")
    if request.group and (not request.sort or request.sort[0].lstrip("-") != request.group):
        return request.replace(sort=(request.group, *request.sort), after=None)
    return request


def next_page_url(urls: ListUrls, request: ListRequest, result: ListResult) -> str | None:
    """The next page, if there is one: read from the last row of this one (`after=`: as fast
    however deep) when this page was read in the order the URL says, by its number otherwise (a
    grouped list is read in another order). The number rides along, for display and jumps."""
    if result.next_after is None:
        return None
    cursor = result.next_after if query_request(request).sort == request.sort else None
    return urls.variant(request, page=str(request.page + 1), after=cursor)


def build_list_page(
    layout: ViewLayout,
    request: ListRequest,
    result: ListResult,
    urls: ListUrls,
    titles: RecordTitles,
    record_url: str,
    record_suffix: str = "",
) -> dict[str, Any]:
    """The template context of a list page (besides `layout`).

    The linked records offered in selects are read first: the titles of the rows' links
    then come from what was read, when the linked entity is small enough to offer whole.
    """
    lang = layout.lang
    ui = words(lang)
    if request.after is not None:  # every link but "next" reads its page by number
        request = request.replace(after=None)
    filters = _filter_states(layout, request, titles)
    link_choices = {spec.name: told_apart_or_none(titles.choices(spec.target)) for spec in layout.mass_update
                    if spec.kind in ("link", "links")}
    column_titles = _column_titles(layout.columns, result.rows, titles)
    group_titles = _group_titles(layout, request, result, titles)
    rows = _rows(layout, result.rows, column_titles, record_url, record_suffix)
    start = (request.page - 1) * request.page_size
    return {
        "request": request,
        "result": result,
        "headers": _headers(layout, request, urls),
        "sections": _sections(layout, request, rows, result, group_titles),
        "group_counts": _group_counts(layout, request, result, group_titles, urls),
        "filters": filters,
        "chips": _chips(layout, request, urls, titles),
        "tabs": _tabs(layout, request, urls, ui) if layout.has_workflow else [],
        "pages": _page_links(request, result, urls),
        "previous_url": _page_url(urls, request, request.page - 1) if request.page > 1 else None,
        "next_url": next_page_url(urls, request, result),
        "page_sizes": sorted({*PAGE_SIZES, request.page_size}),
        "count_text": count_words(lang, "records_count", result.total),
        "showing_text": ui["showing"].format(
            first=format_integer(min(start + 1, result.total), lang),
            last=format_integer(min(start + len(result.rows), result.total), lang),
            total=format_integer(result.total, lang),
        ),
        "state_hidden": urls.pairs(request, drop=("q", "group", "size", "page", *_filter_keys(request))),
        "post_hidden": [(k, v) for k, values in request.to_args().items() for v in values],
        "clear_url": urls.url(request.replace(equals={}, contains={}, ranges={}, search="", page=1)),
        "page_keys": ",".join(row.key for row in rows),
        "link_choices": link_choices,
    }


def _filter_keys(request: ListRequest) -> list[str]:
    keys = [f"f_{name}" for name in (*request.equals, *request.contains)]
    for name in request.ranges:
        keys += [f"f_{name}_min", f"f_{name}_max"]
    return keys


# -- rows and groups ------------------------------------------------------------------------------


def _column_titles(columns: Sequence[Column], rows: list[dict[str, Any]], titles: RecordTitles) -> dict[str, Mapping[int, str]]:
    """Titles of every linked record on the page (links' members too): one query per linked
    entity, not per row."""
    wanted: dict[str, set[int]] = {}
    for column in columns:
        if column.target:
            ids = wanted.setdefault(column.target, set())
            if column.type == "links":
                ids.update(member for row in rows for member in row.get(column.name) or ())
            else:
                ids.update(row[column.name] for row in rows if row.get(column.name) is not None)
    read = {target: titles.titles(target, ids) for target, ids in wanted.items()}
    return {column.name: read[column.target] for column in columns if column.target}


_NO_TITLES: Mapping[int, str] = {}


def _rows(
    layout: ViewLayout,
    records: list[dict[str, Any]],
    column_titles: Mapping[str, Mapping[int, str]],
    record_url: str,
    record_suffix: str,
) -> list[Row]:
    renderers = [(c.name, c.render, column_titles.get(c.name, _NO_TITLES)) for c in layout.columns]
    openings = [f'<td class="{c.css}">' for c in layout.columns]
    linked = layout.record_column
    base, suffix = esc(record_url), esc(record_suffix)
    selectable = bool(layout.mass_update)
    rows = []
    for record in records:
        cells = [render(record.get(name), known) for name, render, known in renderers]
        record_id = record["id"]
        key = f"{record_id}:{record['version']}"
        if cells:
            cells[linked] = (
                f'<a class="record-link" id="row-{record_id}" href="{base}{record_id}{suffix}">{cells[linked] or f"#{record_id}"}</a>'
            )
        html = "".join([f"{opening}{cell}</td>" for opening, cell in zip(openings, cells)])
        if selectable:
            html = (f'<td class="select"><input type="checkbox" name="id" value="{key}" '
                    f'aria-labelledby="row-{record_id}"></td>{html}')
        rows.append(Row(record_id, key, Markup(html)))
    return rows


def _group_titles(layout: ViewLayout, request: ListRequest, result: ListResult, titles: RecordTitles) -> Mapping[int, str]:
    if not request.group or result.groups is None:
        return _NO_TITLES
    target = layout.target(request.group)
    if target is None:
        return _NO_TITLES
    return titles.titles(target, (g.value for g in result.groups))


def _sections(
    layout: ViewLayout, request: ListRequest, rows: list[Row], result: ListResult, group_titles: Mapping[int, str]
) -> list[Section]:
    """The page's rows by group, groups in their natural order (status sequence, list order, title)."""
    if not request.group or result.groups is None:
        return [Section(None, None, rows)]
    name = request.group
    counts = {g.value: g.count for g in result.groups}
    by_value: dict[Any, Section] = {}
    for row, record in zip(rows, result.rows):
        value = record.get(name)
        section = by_value.get(value)
        if section is None:
            label = layout.value_label(name, value, group_titles)
            section = by_value[value] = Section(label, counts.get(value, 0), [], _arg(value))
        section.rows.append(row)
    ordered = sorted(by_value.items(), key=lambda item: layout.value_rank(name, item[0], item[1].label or ""))
    return [section for _, section in ordered]


def _group_counts(
    layout: ViewLayout, request: ListRequest, result: ListResult, group_titles: Mapping[int, str], urls: ListUrls
) -> list[GroupCount]:
    if not request.group or result.groups is None:
        return []
    name = request.group
    ranked = []
    for group in result.groups:
        label = layout.value_label(name, group.value, group_titles)
        url = None
        if group.value is not None:
            url = urls.url(request.replace(equals={**request.equals, name: (group.value,)}, group=None, page=1))
        ranked.append((layout.value_rank(name, group.value, label), GroupCount(label, group.count, url)))
    return [count for _, count in sorted(ranked, key=lambda pair: pair[0])]


# -- header, tabs, pages ------------------------------------------------------------------------


def _headers(layout: ViewLayout, request: ListRequest, urls: ListUrls) -> list[Header]:
    first = request.sort[0] if request.sort else ""
    headers = []
    for column in layout.columns:
        direction = None
        if first.lstrip("-") == column.name:
            direction = "descending" if first.startswith("-") else "ascending"
        url = None
        if column.sortable:
            order = f"-{column.name}" if direction == "ascending" else column.name
            url = urls.variant(request, sort=order, page=None)
        headers.append(Header(column, url, direction))
    return headers


def _tabs(layout: ViewLayout, request: ListRequest, urls: ListUrls, ui: Mapping[str, str]) -> list[Tab]:
    return [Tab(ui[f"tab_{tab}"], urls.variant(request, tab=tab, page=None), tab == request.tab) for tab in TABS]


def _page_url(urls: ListUrls, request: ListRequest, number: int) -> str:
    return urls.variant(request, page=str(number) if number != 1 else None)


def _page_links(request: ListRequest, result: ListResult, urls: ListUrls) -> list[PageLink]:
    last = result.pages
    if last <= 1:
        return []
    wanted = {1, last, *range(max(1, request.page - PAGE_WINDOW), min(last, request.page + PAGE_WINDOW) + 1)}
    links: list[PageLink] = []
    previous = 0
    for number in sorted(wanted):
        if number - previous > 1:
            links.append(PageLink(None, ""))
        links.append(PageLink(number, _page_url(urls, request, number), number == request.page))
        previous = number
    return links


# -- filters --------------------------------------------------------------------------------------


def _filter_states(layout: ViewLayout, request: ListRequest, titles: RecordTitles) -> list[FilterState]:
    states = []
    for spec in layout.filters:
        name = spec.name
        if spec.kind in ("choices", "boolean", "link"):
            selected = frozenset(_arg(v) for v in request.equals.get(name, ()))
            options, chosen_titles = None, ""
            if spec.kind == "link" and spec.target:  # (a path may end on the link of a system column)
                choices = titles.choices(spec.target)
                if choices is not None:
                    options = tuple(Option(str(i), t) for i, t in told_apart(choices))
                elif selected:
                    known = titles.titles(spec.target, request.equals[name])
                    chosen_titles = ", ".join(known.get(i, f"#{i}") for i in request.equals[name])
            first = min(selected, default="")
            states.append(FilterState(spec, selected, text=first, options=options, chosen_titles=chosen_titles,
                                      active=bool(selected)))
        elif spec.kind == "range":
            low, high = request.ranges.get(name, (None, None))
            states.append(FilterState(spec, frozenset(), low=_input(low), high=_input(high),
                                      active=low is not None or high is not None))
        else:
            text = request.contains.get(name, "")
            states.append(FilterState(spec, frozenset(), text=text, active=bool(text)))
    return states


def _chips(layout: ViewLayout, request: ListRequest, urls: ListUrls, titles: RecordTitles) -> list[Chip]:
    """The active filters in words, each with a link that removes it."""
    ui = words(layout.lang)
    chips = []
    base = request.replace(page=1)
    for name, values in request.equals.items():
        target = layout.target(name)
        known = titles.titles(target, values) if target else _NO_TITLES
        shown = ", ".join(layout.value_label(name, v, known) for v in values)
        rest = {k: v for k, v in request.equals.items() if k != name}
        chips.append(Chip(f"{layout.field_label(name)}: {shown}", urls.url(base.replace(equals=rest))))
    for name, text in request.contains.items():
        rest = {k: v for k, v in request.contains.items() if k != name}
        label = f"{layout.field_label(name)} {ui['contains']} “{text}”"
        chips.append(Chip(label, urls.url(base.replace(contains=rest))))
    for name, (low, high) in request.ranges.items():
        parts = []
        if low is not None:
            parts.append(f"≥ {layout.value_label(name, low, _NO_TITLES)}")
        if high is not None:
            parts.append(f"≤ {layout.value_label(name, high, _NO_TITLES)}")
        rest = {k: v for k, v in request.ranges.items() if k != name}
        chips.append(Chip(f"{layout.field_label(name)} {' '.join(parts)}",
                          urls.url(base.replace(ranges=rest))))
    if request.search:
        chips.append(Chip(f"{ui['search']}: “{request.search}”", urls.url(base.replace(search=""))))
    return chips


def _arg(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _input(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%dT%H:%M")
    return _arg(value)
