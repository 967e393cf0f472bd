"""Widgets of the generated forms: one per characteristic, computed once per entity and language.

A `Widget` holds everything a template needs that does not depend on the record (label,
kind, HTML attributes, options); a `FormLayout` arranges an entity's widgets into the
sections and tabs of its form view. Both are built at first use and cached per app
(`FormCache`), so rendering a form only formats the record's values.

Linked records (titles, link options) are data: they are read per request, through the
engine, in `form_links`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from markupsafe import Markup, escape

from metamodel.model import EntityDef, FieldDef, Model

from .i18n import format_date, format_datetime, format_decimal, format_integer, words
from .record_titles import TitleTemplate

STARS_LIMIT = 10
TEXT_INPUT_TYPES = {"string": "text", "email": "email", "phone": "tel", "url": "url"}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    retired: bool = False


@dataclass(frozen=True)
class Widget:
    """How one characteristic is shown and edited; `kind` selects the renderer."""

    name: str
    field: FieldDef
    kind: str
    label: str
    help: str | None
    mandatory: bool
    conditional: bool
    readonly: bool
    on_demand: bool
    input_type: str = "text"
    attrs: Markup = Markup("")
    """min, max, step, maxlength, minlength, required: everything but name and id."""
    options: tuple[Option, ...] = ()
    """Active list values (choice, multi_choice)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Every list value's (or status's) label, retired ones included."""
    stars: tuple[int, ...] = ()
    """Star values, highest first (the CSS paints the checked star and those after it)."""
    target: str | None = None
    label_html: Markup = Markup("")
    """The escaped label with its mandatory marker."""
    options_html: str = ""
    """Every active option of a choice, pre-rendered: a request only marks the selected one."""
    fast: Mapping[str, str] = field(default_factory=dict)
    """The row pre-rendered for the common case (on the main form, shown, no error): either the
    parts around the value ("before", "after"), or whole rows by value ("rows"), or the row of an
    empty choice ("choice")."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    widgets: tuple[Widget, ...]


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class FormLayout:
    """An entity's form in one language: sections outside tabs first, then tabs."""

    entity: EntityDef
    lang: str
    sections: tuple[Section, ...]
    tabs: tuple[Tab, ...]
    widgets: Mapping[str, Widget]
    """Every characteristic of the entity (prompts and dialogs use those off the form too)."""
    on_form: tuple[str, ...]
    on_demand: tuple[str, ...]
    link_targets: Mapping[str, tuple[str, ...]]
    """Target entity -> the editable link characteristics on the form pointing at it."""

    def editable(self, shown: Iterable[str] = ()) -> list[Widget]:
        """The widgets a submitted form carries: systematic ones, plus the on-demand ones shown."""
        shown = set(shown)
        return [
            w for name in self.on_form
            if not (w := self.widgets[name]).readonly and (not w.on_demand or name in shown)
        ]


# -- building ----------------------------------------------------------------------------


def build_widget(f: FieldDef, model: Model, lang: str) -> Widget:
    ui = words(lang)
    marker = ""
    if f.mandatory:
        marker = f' <abbr class="mandatory" title="{escape(ui["f_mandatory"])}">*</abbr>'
    elif f.mandatory_when:
        marker = f' <abbr class="mandatory conditional" title="{escape(ui["f_conditional"])}">*</abbr>'
    common: dict[str, Any] = {
        "label_html": Markup(f"{escape(f.label.get(lang))}{marker}"),
        "name": f.name, "field": f, "label": f.label.get(lang), "help": f.help.get(lang) if f.help else None,
        "mandatory": f.mandatory, "conditional": bool(f.mandatory_when) and not f.mandatory,
        "readonly": f.readonly or f.type == "status", "on_demand": not f.systematic,
    }
    attrs: dict[str, Any] = {"required": f.mandatory}
    t = f.type
    if t == "status":
        statuses = model.workflow(f.workflow).statuses
        return Widget(kind="status", labels={s.code: s.label.get(lang) for s in statuses}, **common)
    if t in ("choice", "multi_choice"):
        values = model.value_list(f.list).values
        options = tuple(Option(v.code, v.label.get(lang)) for v in values if not v.retired)
        labels = {v.code: v.label.get(lang) for v in values}
        if t == "multi_choice":
            attrs["required"] = False
        options_html = "".join(f'<option value="{escape(o.value)}">{escape(o.label)}</option>' for o in options)
        return Widget(kind=t, attrs=_attributes(attrs), options=options, labels=labels, options_html=options_html, **common)
    if t == "link":
        return Widget(kind="link", attrs=_attributes(attrs), target=f.entity, **common)
    if t in ("links", "lines"):
        # Shown, not yet edited on the form (the API, imports and mass updates change them).
        return Widget(kind=t, target=f.entity, **{**common, "readonly": True})
    if t == "boolean":
        return Widget(kind="boolean", **common)
    if t in ("integer", "decimal"):
        low, high = f.min, f.max
        if f.widget == "stars" and t == "integer" and high is not None and 0 <= (high - (low or 0)) <= STARS_LIMIT:
            stars = tuple(range(high, max(low or 0, 1) - 1, -1))
            return Widget(kind="stars", attrs=_attributes(attrs), stars=stars, **common)
        scale = (f.scale if f.scale is not None else 2) if t == "decimal" else 0
        attrs.update(min=low, max=high, step=_step(scale))
        return Widget(kind="number", input_type="number", attrs=_attributes({**attrs, "inputmode": (
            "decimal" if scale else "numeric")}), **common)
    if t in ("date", "datetime"):
        attrs.update(min=form_text(f, f.min), max=form_text(f, f.max))
        return Widget(kind=t, input_type="date" if t == "date" else "datetime-local", attrs=_attributes(attrs), **common)
    attrs.update(maxlength=f.max_length, minlength=f.min_length)
    if t in ("text", "rich_text") or f.widget == "textarea":
        return Widget(kind="rich_text" if t == "rich_text" else "textarea", attrs=_attributes(attrs), **common)
    return Widget(kind="text", input_type=TEXT_INPUT_TYPES.get(t, "text"), attrs=_attributes(attrs), **common)


def build_layout(entity: EntityDef, model: Model, lang: str) -> FormLayout:
    ui = words(lang)
    widgets = {f.name: with_fast_rows(build_widget(f, model, lang), ui) for f in entity.fields}
    form = entity.view("form")
    seen: list[str] = []
    plain: list[Section] = []
    tabs: dict[str, list[Section]] = {}
    for index, section in enumerate(form.sections):
        names = [n for n in section.fields if n in widgets and n not in seen]
        seen.extend(names)
        built = Section(f"section-{index + 1}", section.title.get(lang), tuple(widgets[n] for n in names))
        if section.tab:
            tabs.setdefault(section.tab, []).append(built)
        else:
            plain.append(built)
    extra = [f.name for f in entity.fields if not f.systematic and f.name not in seen and not f.readonly]
    if extra:
        seen.extend(extra)
        more = Section("section-more", words(lang)["f_more"], tuple(widgets[n] for n in extra))
        (tabs[next(reversed(tabs))] if tabs else plain).append(more)
    targets: dict[str, list[str]] = {}
    for name in seen:
        w = widgets[name]
        if w.kind == "link" and not w.readonly:
            targets.setdefault(w.target or "", []).append(name)
    return FormLayout(
        entity=entity,
        lang=lang,
        sections=tuple(plain),
        tabs=tuple(Tab(f"tab-{key}", sections[0].title, tuple(sections)) for key, sections in tabs.items()),
        widgets=widgets,
        on_form=tuple(seen),
        on_demand=tuple(n for n in seen if widgets[n].on_demand and not widgets[n].readonly),
        link_targets={k: tuple(v) for k, v in targets.items()},
    )


def restrict_layout(layout: FormLayout, hidden: frozenset[str], locked: frozenset[str]) -> FormLayout:
    """The layout as one actor's roles allow: `hidden` characteristics left out, `locked` ones read-only."""
    ui = words(layout.lang)
    widgets = dict(layout.widgets)
    for name in locked - hidden:
        if name in widgets and not widgets[name].readonly:
            widgets[name] = with_fast_rows(replace(widgets[name], readonly=True, on_demand=False, fast={}), ui)

    def kept(section: Section) -> Section:
        return replace(section, widgets=tuple(widgets[w.name] for w in section.widgets if w.name not in hidden))

    on_form = tuple(n for n in layout.on_form if n not in hidden)
    return replace(
        layout,
        sections=tuple(kept(s) for s in layout.sections),
        tabs=tuple(replace(t, sections=tuple(kept(s) for s in t.sections)) for t in layout.tabs),
        widgets=widgets,
        on_form=on_form,
        on_demand=tuple(n for n in layout.on_demand if n in on_form and not widgets[n].readonly),
        link_targets={
            target: tuple(n for n in names if n in on_form and not widgets[n].readonly)
            for target, names in layout.link_targets.items()
        },
    )


def _step(scale: int) -> str:
    return "1" if scale <= 0 else "0." + "0" * (scale - 1) + "1"


def _attributes(attrs: Mapping[str, Any]) -> Markup:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        parts.append(f" {key}" if value is True else f' {key}="{escape(value)}"')
    return Markup("".join(parts))


# -- rendering: one characteristic's row on a page -----------------------------------------


@dataclass
class LinkWidgets:
    """Per request: which link characteristics are selects (with their options) and which are searches."""

    options: dict[str, list[Option]] = field(default_factory=dict)
    searches: set[str] = field(default_factory=set)


@dataclass
class FieldRenderer:
    """Renders rows of one page: `renderer(widget)` in a template gives the label, control, help and errors.

    Rows are built in Python from the widgets' pre-rendered parts: a form has dozens of
    characteristics, and this is the hot path of every form page.
    """

    values: Mapping[str, Any]
    """Form strings per field key (multi_choice: lists); keys are prefixed in dialogs ("account.name")."""
    errors: Mapping[str, list[str]]
    links: LinkWidgets
    readonly: Mapping[str, tuple[str, str | None]]
    """Read-only characteristics with a value: (text, URL of the linked record or None)."""
    record: Mapping[str, Any] | None
    """The record as the engine returned it (the source of rich text previews), or None."""
    ui: Mapping[str, str]
    lookup_url: Any
    """target entity -> URL of its lookup endpoint."""
    edit_url: Any
    """(target entity, id) -> URL of that record's form."""

    def __call__(self, w: Widget, prefix: str = "", off: bool = False) -> Markup:
        return Markup(self.row(w, prefix, off))

    def row(self, w: Widget, prefix: str = "", off: bool = False) -> str:
        fast = w.fast
        if fast and not prefix and w.name not in self.errors:
            value = self.values.get(w.name, "")
            if off:
                return fast.get("off") or render_row(w, self, prefix, off)
            if w.readonly:
                return fast["empty"] if w.name not in self.readonly else render_row(w, self)
            if "parts" in fast:
                filled = self._filled(w, fast, value)
                if filled is not None:
                    return filled
            elif "rows" in fast:
                row = fast["rows"].get(value if w.kind == "stars" else ("true" if value == "true" else "false"))
                if row is not None:
                    return row
            elif "choice" in fast:
                if not value:
                    return fast["choice"]
                chosen = f'<option value="{escape(value)}">'
                if chosen in w.options_html:
                    return fast["choice"].replace(chosen, f'<option value="{escape(value)}" selected>', 1)
        return render_row(w, self, prefix, off)

    @staticmethod
    def _filled(w: Widget, fast: Mapping[str, Any], value: str) -> str | None:
        """The pre-rendered row with the value put in (and in the link next to an email, phone or url)."""
        parts = fast["parts"]
        if len(parts) == 2:
            return f"{parts[0]}{escape(value)}{parts[1]}"
        if not value:
            return fast["empty"]
        if w.input_type == "tel":
            fills = [value, value.replace(" ", "")]
        elif w.input_type == "url" and not value.startswith(("http://", "https://")):
            return None
        else:
            fills = [value] * (len(parts) - 1)
        if len(fills) != len(parts) - 1:
            return None
        out = [parts[0]]
        for fill, part in zip(fills, parts[1:]):
            out.append(str(escape(fill)))
            out.append(part)
        return "".join(out)

    def section(self, section: Section, shown: Iterable[str]) -> Markup:
        """A form section: its editable rows (on-demand ones hidden until shown) and the read-only ones that have a value."""
        shown = set(shown)
        values, errors, on_record = self.values, self.errors, self.record is not None
        rows = []
        for w in section.widgets:
            if w.readonly and (not on_record or w.name not in self.readonly):
                continue  # read-only and empty: nothing to read yet
            parts = w.fast.get("parts")
            if parts is not None and len(parts) == 2 and w.name not in errors and (not w.on_demand or w.name in shown):
                rows.append(f"{parts[0]}{escape(values.get(w.name, ''))}{parts[1]}")  # the most common row
            else:
                rows.append(self.row(w, "", w.on_demand and not w.readonly and w.name not in shown))
        return Markup(
            f'<fieldset class="form-section" id="{section.key}"><legend>{escape(section.title)}</legend>'
            f'<div class="field-grid">{"".join(rows)}</div></fieldset>'
        )


WIDE_KINDS = frozenset({"textarea", "rich_text", "multi_choice"})
PLACEHOLDER = "\ue000"


def with_fast_rows(w: Widget, ui: Mapping[str, str]) -> Widget:
    """The widget with its row pre-rendered around a placeholder value (see `Widget.fast`)."""
    if w.kind in ("link", "multi_choice", "rich_text"):
        return w

    def rendered(value: str, off: bool = False, readonly: Mapping[str, Any] | None = None) -> str:
        page = FieldRenderer({w.name: value}, {}, LinkWidgets(), readonly or {}, {}, ui, None, None)
        return render_row(w, page, "", off)

    if w.readonly:
        return replace(w, fast={"empty": rendered("")})
    fast: dict[str, Any] = {"off": rendered("", off=True)} if w.on_demand else {}
    if w.kind == "stars":
        fast["rows"] = {v: rendered(v) for v in ["", "0", *(str(n) for n in w.stars)]}
    elif w.kind == "boolean":
        fast["rows"] = {"true": rendered("true"), "false": rendered("false")}
    elif w.kind == "choice":
        fast["choice"] = rendered("")
    else:
        marker = "https://" + PLACEHOLDER if w.input_type == "url" else PLACEHOLDER
        fast["parts"] = rendered(marker).split(marker)
        if w.input_type in ("email", "tel", "url"):
            fast["empty"] = rendered("")
    return replace(w, fast=fast)


def render_row(w: Widget, page: FieldRenderer, prefix: str = "", off: bool = False) -> str:
    key = escape(prefix + w.name)
    raw_key = prefix + w.name
    value = page.values.get(raw_key, "")
    errs = page.errors.get(raw_key)
    kind = w.kind
    ui = page.ui
    disabled = " disabled" if off else ""
    invalid = f' aria-invalid="true" aria-describedby="err-{key}"' if errs else ""
    classes = (f"field field-{kind}" + (" has-error" if errs else "") + (" field-readonly" if w.readonly else "")
               + (" field-wide" if kind in WIDE_KINDS else ""))
    out = [f'<div class="{classes}" id="row-{key}"{" hidden" if off else ""}>']
    if w.readonly:
        out.append(f'<span class="label" id="label-{key}">{w.label_html}</span><div class="control">')
        out.append(_control(w, key, value, errs, page, disabled, invalid))
        out.append("</div>")
    elif kind == "boolean":
        checked = " checked" if value == "true" else ""
        out.append(
            f'<div class="control"><label class="check" for="f-{key}"><input type="checkbox" id="f-{key}" '
            f'name="{key}" value="true"{checked}{disabled}{invalid}> <span>{escape(w.label)}</span></label></div>'
        )
    elif kind in ("multi_choice", "stars"):
        described = f' aria-describedby="err-{key}"' if errs else ""
        out.append(f'<fieldset class="control-group"{described}><legend class="label">{w.label_html}</legend>')
        out.append(_chips(w, key, value, disabled, ui) if kind == "multi_choice" else _stars(w, key, value, disabled, ui))
        out.append("</fieldset>")
    else:
        out.append(f'<label class="label" for="f-{key}">{w.label_html}</label><div class="control">')
        out.append(_control(w, key, value, errs, page, disabled, invalid))
        out.append("</div>")
    if w.help:
        out.append(f'<p class="help">{escape(w.help)}</p>')
    if errs:
        items = "".join(f"<li>{escape(message)}</li>" for message in errs)
        out.append(f'<ul class="field-errors" id="err-{key}" role="alert">{items}</ul>')
    if w.on_demand and not prefix:
        out.append(f'<input type="hidden" name="_shown" value="{key}"{disabled}>')
    out.append("</div>")
    return "".join(out)


def _control(w: Widget, key: str, value: Any, errs: Any, page: FieldRenderer, disabled: str, invalid: str) -> str:
    kind = w.kind
    ui = page.ui
    if w.readonly:
        shown = page.readonly.get(w.name)
        if not shown:
            inner = f'<span class="value-empty">{escape(ui["f_none"])}</span>'
        elif kind == "status":
            inner = f'<span class="badge">{escape(shown[0])}</span>'
        elif shown[1]:
            inner = f'<a href="{escape(shown[1])}">{escape(shown[0])}</a>'
        else:
            inner = escape(shown[0])
        return f'<div class="readonly-value" id="f-{key}" aria-labelledby="label-{key}">{inner}</div>'
    if kind in ("text", "number", "date", "datetime"):
        tag = f'<input type="{w.input_type}" id="f-{key}" name="{key}" value="{escape(value)}"{w.attrs}{disabled}{invalid}>'
        if kind != "text" or w.input_type == "text":
            return tag
        link = _contact_link(w, value, ui) if value and not errs and page.record is not None else ""
        return f'<div class="with-action">{tag}{link}</div>'
    if kind == "choice":
        options = w.options_html
        chosen = f'<option value="{escape(value)}">'
        if not value:
            pass
        elif chosen in options:
            options = options.replace(chosen, f'<option value="{escape(value)}" selected>', 1)
        else:
            options += (f'<option value="{escape(value)}" selected>'
                        f'{escape(w.labels.get(value, value))} {escape(ui["f_retired"])}</option>')
        return (f'<select id="f-{key}" name="{key}"{w.attrs}{disabled}{invalid}>'
                f'<option value="">{escape(ui["f_none"])}</option>{options}</select>')
    if kind == "link":
        return _link_control(w, key, value, errs, page, disabled, invalid)
    if kind in ("textarea", "rich_text"):
        rows = 6 if kind == "rich_text" else 4
        area = f'<textarea id="f-{key}" name="{key}" rows="{rows}"{w.attrs}{disabled}{invalid}>\n{escape(value)}</textarea>'
        stored = page.record.get(w.name) if page.record is not None and kind == "rich_text" else None
        if stored:
            # rich text as read back from the engine, which cleaned it with nh3 when it was stored
            area += (f'<div class="rich-preview"><span class="rich-preview-label">{escape(ui["f_preview"])}</span>'
                     f"{Markup(stored)}</div>")
        return area
    return ""


@lru_cache(maxsize=256)
def _options_html(options: tuple[Option, ...]) -> str:
    """Link options rendered once for as long as the target's records stay the same."""
    return "".join(f'<option value="{escape(o.value)}">{escape(o.label)}</option>' for o in options)


def _contact_link(w: Widget, value: str, ui: Mapping[str, str]) -> str:
    if w.input_type == "email":
        href, icon, word = f"mailto:{value}", "✉", ui["f_write_email"]
    elif w.input_type == "tel":
        href, icon, word = "tel:" + value.replace(" ", ""), "☎", ui["f_call"]
    elif value.startswith(("http://", "https://")):
        return (f'<a class="field-action" href="{escape(value)}" target="_blank" rel="noopener noreferrer" '
                f'title="{escape(ui["f_visit"])}">↗ {escape(ui["f_visit"])}</a>')
    else:
        return ""
    return f'<a class="field-action" href="{escape(href)}" title="{escape(word)}">{icon} {escape(word)}</a>'


def _link_control(w: Widget, key: str, value: Any, errs: Any, page: FieldRenderer, disabled: str, invalid: str) -> str:
    ui = page.ui
    options = page.links.options.get(str(key))
    if options is not None:
        rendered = _options_html(tuple(options))
        if value:
            rendered = rendered.replace(f'<option value="{escape(value)}">', f'<option value="{escape(value)}" selected>', 1)
        control = (f'<select id="f-{key}" name="{key}"{w.attrs}{disabled}{invalid}>'
                   f'<option value="">{escape(ui["f_none"])}</option>{rendered}</select>')
    else:
        control = (
            f'<input type="search" id="f-{key}" name="{key}" value="{escape(value)}" list="dl-{key}" autocomplete="off" '
            f'placeholder="{escape(ui["f_search_record"])}" data-lookup="{escape(page.lookup_url(w.target))}"'
            f'{w.attrs}{disabled}{invalid}><datalist id="dl-{key}"></datalist>'
        )
    linked = str(value).rsplit("#", 1)[-1].strip() if value and not errs and page.record is not None else ""
    if linked.isdigit():
        control += (f'<a class="field-action" href="{escape(page.edit_url(w.target, int(linked)))}" '
                    f'title="{escape(ui["f_open_link"])}">↗ {escape(ui["f_open_link"])}</a>')
    return f'<div class="with-action">{control}</div>'


def _chips(w: Widget, key: str, value: Any, disabled: str, ui: Mapping[str, str]) -> str:
    chosen = set(value or ())
    out = ['<div class="chips">']
    for o in w.options:
        checked = " checked" if o.value in chosen else ""
        out.append(f'<label class="chip"><input type="checkbox" name="{key}" value="{escape(o.value)}"{checked}{disabled}> '
                   f"<span>{escape(o.label)}</span></label>")
    active = {o.value for o in w.options}
    for code in value or ():
        if code not in active:
            out.append(f'<label class="chip chip-retired"><input type="checkbox" name="{key}" value="{escape(code)}" checked'
                       f"{disabled}> <span>{escape(w.labels.get(code, code))} {escape(ui['f_retired'])}</span></label>")
    out.append("</div>")
    return "".join(out)


def _stars(w: Widget, key: str, value: Any, disabled: str, ui: Mapping[str, str]) -> str:
    top = w.stars[0]
    out = ['<div class="stars"><span class="stars-row">']
    for n in w.stars:
        checked = " checked" if value == str(n) else ""
        words_ = escape(ui["f_stars"].format(count=n, max=top))
        out.append(f'<input type="radio" id="f-{key}-{n}" name="{key}" value="{n}"{checked}{disabled}{w.attrs}>'
                   f'<label for="f-{key}-{n}" title="{words_}"><span class="visually-hidden">{words_}</span></label>')
    out.append("</span>")
    if w.field.min is None or w.field.min <= 0:
        checked = " checked" if value == "0" else ""
        out.append(f'<label class="star-zero"><input type="radio" name="{key}" value="0"{checked}{disabled}> 0</label>')
    if not w.mandatory:
        checked = " checked" if value == "" else ""
        out.append(f'<label class="star-none"><input type="radio" name="{key}" value=""{checked}{disabled}> '
                   f'{escape(ui["f_not_rated"])}</label>')
    out.append("</div>")
    return "".join(out)


# -- values: record -> form strings -> display ---------------------------------------------


def form_text(f: FieldDef, value: Any) -> str:
    """A stored (typed) value as an input's value attribute."""
    if value is None:
        return ""
    t = f.type
    if t == "boolean":
        return "true" if value else "false"
    if t == "datetime":
        if isinstance(value, str):
            value = _parse_datetime(value)
        return value.strftime("%Y-%m-%dT%H:%M") if isinstance(value, dt.datetime) else str(value)
    if t == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def form_values(layout: FormLayout, record: Mapping[str, Any]) -> dict[str, Any]:
    """Every characteristic of `record` as the form shows it (multi_choice: a list of codes)."""
    values: dict[str, Any] = {}
    for name, w in layout.widgets.items():
        value = record.get(name)
        values[name] = list(value or []) if w.kind == "multi_choice" else form_text(w.field, value)
    return values


def default_values(layout: FormLayout) -> dict[str, Any]:
    """A new record's form: literal defaults of systematic characteristics."""
    values = form_values(layout, {})
    for name, w in layout.widgets.items():
        f = w.field
        if f.systematic and f.default is not None:
            values[name] = list(f.default) if w.kind == "multi_choice" else form_text(f, f.default)
        elif f.systematic and w.kind == "boolean":
            values[name] = "false"
    return values


def display(w: Widget, value: Any, lang: str, titles: Mapping[int, str] | None = None) -> str:
    """A value (typed, or as stored in the audit log's JSON) the way a reader expects it."""
    if value is None or value == "" or value == []:
        return words(lang)["f_none"]
    kind = w.kind
    try:
        if kind == "boolean":
            return words(lang)["f_yes" if value in (True, "true", 1) else "f_no"]
        if kind in ("choice", "status"):
            return w.labels.get(value, str(value))
        if kind == "multi_choice":
            return ", ".join(w.labels.get(code, str(code)) for code in value)
        if kind == "link":
            title = (titles or {}).get(int(value))
            return title if title else f"#{value}"
        if kind == "links":
            return ", ".join((titles or {}).get(int(member)) or f"#{member}" for member in value)
        if kind == "lines":  # the lines themselves, or the audit log's summary of their changes
            if isinstance(value, list):
                return words(lang)["f_lines"].format(count=len(value))
            return words(lang)["f_lines_changed"]
        if kind == "date":
            return format_date(value if isinstance(value, dt.date) else dt.date.fromisoformat(value), lang)
        if kind == "datetime":
            return format_datetime(value if isinstance(value, dt.datetime) else _parse_datetime(value), lang)
        if w.field.type == "decimal":
            return format_decimal(Decimal(str(value)), w.field.scale, lang)
        if w.field.type == "integer":
            return format_integer(int(value), lang)
        if kind == "rich_text":
            return Markup(str(value)).striptags() or words(lang)["f_none"]
    except (ValueError, TypeError, InvalidOperation):
        pass
    return str(value)


def _parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# -- per app: what does not depend on the data ---------------------------------------------


class FormCache:
    """Layouts per (entity, language, restriction) and compiled title templates, built at first use.

    Nothing here depends on the records: linked records are read per request, through the
    engine and as the acting user (`form_links.LinkReader`).
    """

    def __init__(self, engine: Any):
        self.engine = engine
        self.model: Model = engine.model
        self._layouts: dict[tuple[str, str, frozenset[str], frozenset[str]], FormLayout] = {}
        self.templates: dict[str, TitleTemplate] = {}

    def layout(
        self, entity: str, lang: str, hidden: frozenset[str] = frozenset(), locked: frozenset[str] = frozenset()
    ) -> FormLayout:
        """The entity's form in `lang`; with `hidden`/`locked`, as an actor's roles restrict it."""
        key = (entity, lang, hidden, locked)
        layout = self._layouts.get(key)
        if layout is None:
            if hidden or locked:
                layout = restrict_layout(self.layout(entity, lang), hidden, locked)
            else:
                layout = build_layout(self.model.entity(entity), self.model, lang)
            self._layouts[key] = layout
        return layout

    def template(self, entity: str) -> TitleTemplate:
        compiled = self.templates.get(entity)
        if compiled is None:
            compiled = self.templates[entity] = TitleTemplate(self.model.entity(entity))
        return compiled

    def title(self, entity: str, record: Mapping[str, Any], lang: str) -> str:
        """The record's title, or "Lead #12" when its title template gives nothing."""
        return self.named(entity, record.get("id"), self.template(entity).render(record), lang)

    def named(self, entity: str, record_id: Any, title: str, lang: str) -> str:
        """`title` as the engine renders it, with "Lead #12" in place of a bare "#12"."""
        if title == f"#{record_id}":
            return words(lang)["f_record_fallback"].format(entity=self.model.entity(entity).label.get(lang), id=record_id)
        return title
