"""What a list view looks like in one language, compiled once from the `Model`.

A `ViewLayout` holds, for one (entity, list view, language): the columns with a cell
renderer each (labels of choice values and statuses looked up in dicts built here, not
per cell), the filters, the fields one may group by and the fields of the mass update.
Layouts are cached per app (`LayoutCache`): the `Model` never changes while an app runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from html import escape as esc
from typing import Any, Callable, Mapping, NamedTuple

from markupsafe import Markup

from engine import Engine
from metamodel.field_paths import is_path
from metamodel.model import EntityDef, FieldDef, Model, Text, ViewDef

from ui_renderer.core.language import sort_key
from ui_renderer.core.i18n import SYSTEM_COLUMN_LABELS, format_date, format_datetime, format_decimal, format_integer, words

CellRenderer = Callable[[Any, Mapping[int, str]], str]
"""(value, titles of the linked records) -> the cell's HTML, escaped."""

GROUPABLE_TYPES = frozenset({"choice", "status", "link", "boolean"})
UNSORTABLE_TYPES = frozenset({"multi_choice", "text", "rich_text", "links", "lines"})
PATH_SEPARATOR = " › "
"""Between the labels of a path's steps and field in a header, a filter or a chip ("Room › Site › Name")."""
SORTABLE_SYSTEM = frozenset({"id", "created_at", "updated_at"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
RANGE_INPUTS = {"integer": "number", "decimal": "number", "date": "date", "datetime": "datetime-local"}
TEXT_INPUTS = {"string": "text", "email": "email", "phone": "tel", "url": "url"}
TEXT_PREVIEW = 80
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
NEUTRAL_COLOR = "#64748b"


@dataclass(frozen=True)
class Column:
    name: str
    """A characteristic, a system column or a path through links (`room.site.name`)."""
    label: str
    type: str
    """The type of the characteristic shown (a path's: that of the field it ends on)."""
    css: str
    sortable: bool
    target: str | None
    """The linked entity, for link and links columns (its titles are read for the whole page at once)."""
    render: CellRenderer
    weight: float = 1.4
    """Relative width, for tables whose columns must line up (grouped lists)."""


class Option(NamedTuple):
    """A choice offered in an input (templates unpack it: `for value, label in options`)."""

    value: str
    label: str


@dataclass(frozen=True)
class InputSpec:
    """How one characteristic is entered: in a filter or as a mass update value."""

    name: str
    label: str
    type: str
    kind: str
    """`choices` (check boxes), `select`, `link`, `links` (records picked, a mass update's new members),
    `boolean`, `range`, `contains`, `input` or `textarea`."""
    options: tuple[Option, ...] = ()
    input_type: str = "text"
    step: str | None = None
    min: str | None = None
    max: str | None = None
    max_length: int | None = None
    mandatory: bool = False
    target: str | None = None


@dataclass(frozen=True)
class ViewLayout:
    entity: EntityDef
    view: ViewDef
    lang: str
    label: str
    columns: tuple[Column, ...]
    record_column: int
    """The column whose cell links to the record's form."""
    filters: tuple[InputSpec, ...]
    group_fields: tuple[Option, ...]
    mass_update: tuple[InputSpec, ...]
    has_workflow: bool
    value_label: Callable[[str, Any, Mapping[int, str]], str]
    """(field, value, titles of linked records) -> the value as words (group headings, filter chips)."""
    value_rank: Callable[[str, Any, str], tuple[int, Any]]
    """(field, value, its label) -> where the value comes in its list (status sequence, list order)."""
    column_widths: tuple[str, ...]
    """Each column's share of the width (grouped lists: every group's table lines up)."""
    field: Callable[[str], FieldDef]
    """The characteristic a name (or a path's text) shows: a path's end field."""
    field_label: Callable[[str], str]
    """The words naming a characteristic or a path ("Room › Site › Name")."""
    target: Callable[[str], str | None]
    """The entity a link or links characteristic (or a path ending on one) names records of."""


class LayoutCache:
    """One `ViewLayout` per (entity, view, language, record URL suffix), built on first use."""

    def __init__(self, engine: Engine):
        self.model = engine.model
        self._layouts: dict[tuple[str, str, str, str], ViewLayout] = {}

    def get(self, entity: str, view: str, lang: str, record_base: Callable[[str], str], suffix: str = "") -> ViewLayout:
        """`suffix` ends every record URL (the page's `?lang=`, when the URL names the language)."""
        key = (entity, view, lang, suffix)
        layout = self._layouts.get(key)
        if layout is None:
            definition = self.model.entity(entity)
            layout = self._layouts[key] = build_layout(
                self.model, definition, definition.view(view), lang, record_base, suffix
            )
        return layout


def build_layout(
    model: Model, entity: EntityDef, view: ViewDef, lang: str, record_base: Callable[[str], str], suffix: str = ""
) -> ViewLayout:
    """`record_base(entity)` is the URL prefix of that entity's records (`/lead/`): ids are appended."""
    labels = _ValueLabels(model, entity, lang)
    columns = tuple(_column(model, entity, name, lang, labels, record_base, suffix) for name in view.columns)
    record_column = _record_column(entity, columns)
    filters = tuple(
        _input_spec(model, labels.field(name), lang, for_filter=True, name=name, label=labels.field_label(name),
                    target=labels.target(name))
        for name in view.filters
        if labels.knows(name) and labels.field(name).type != "lines"
    )
    group_fields = tuple(
        Option(name, labels.field_label(name))
        for name in view.group_by
        if labels.knows(name) and labels.field(name).type in GROUPABLE_TYPES
    )
    mass_update = tuple(
        _input_spec(model, entity.field(name), lang, for_filter=False)
        for name in view.mass_update
        if name in entity.fields_by_name
    )
    return ViewLayout(
        entity=entity,
        view=view,
        lang=lang,
        label=view.label.get(lang),
        columns=columns,
        record_column=record_column,
        filters=filters,
        group_fields=group_fields,
        mass_update=mass_update,
        has_workflow=entity.workflow is not None,
        value_label=labels.label,
        value_rank=labels.rank,
        column_widths=_widths(columns),
        field=labels.field,
        field_label=labels.field_label,
        target=labels.target,
    )


def _record_column(entity: EntityDef, columns: tuple[Column, ...]) -> int:
    """The column that links to the record: the first one that is part of the record's title
    (a subject, a last name), else the first one that is not already a link of its own."""
    in_title = set(re.findall(r"{(\w+)", entity.title or ""))
    for i, column in enumerate(columns):
        if column.name in in_title and column.type != "link":
            return i
    return next((i for i, c in enumerate(columns) if c.type not in ("link", "links", "email", "url", "phone")), 0)


def column_label(entity: EntityDef, name: str, lang: str) -> str:
    if name in entity.fields_by_name:
        return entity.field(name).label.get(lang)
    return SYSTEM_COLUMN_LABELS.get(name, Text(name, name)).get(lang)


# -- value labels -------------------------------------------------------------------------------


class _ValueLabels:
    """Words for the values of choice, status, boolean and link fields, the entity's own or at
    the end of a path (`room.access_mode`: known by the path's text, resolved when first asked)."""

    def __init__(self, model: Model, entity: EntityDef, lang: str):
        self.model = model
        self.entity = entity
        self.lang = lang
        self.ui = words(lang)
        self._fields: dict[str, FieldDef] = dict(entity.fields_by_name)
        self._labels: dict[str, str] = {}
        self._codes: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._orders: dict[str, dict[str, int]] = {}

    def knows(self, name: str) -> bool:
        """Whether `name` is a characteristic of the entity or a path the model reads from it."""
        if name in self._fields:
            return True
        if not is_path(name):
            return False
        try:
            self.field(name)
        except ValueError:  # metamodel.field_paths.PathError
            return False
        return True

    def field(self, name: str) -> FieldDef:
        found = self._fields.get(name)
        if found is None:
            found = self._fields[name] = self.model.path(self.entity.name, name).field
        return found

    def target(self, name: str) -> str | None:
        """The entity whose records a link or links `name` names: a path may end on a record's
        `created_by` or `updated_by`, which name users."""
        f = self.field(name) if self.knows(name) else None
        if f is None or f.type not in ("link", "links"):
            return None
        if f.entity is None and f.name in ("created_by", "updated_by") and "user" in self.model.entities:
            return "user"
        return f.entity

    def field_label(self, name: str) -> str:
        """A characteristic's label; a path's, the labels of its steps and field ("Room › Site › Name")."""
        found = self._labels.get(name)
        if found is None:
            if is_path(name):
                path = self.model.path(self.entity.name, name)
                found = PATH_SEPARATOR.join(f.label.get(self.lang) for f in (*path.steps, path.field))
            else:
                found = column_label(self.entity, name, self.lang)
            self._labels[name] = found
        return found

    def codes(self, name: str) -> dict[str, tuple[str, str | None]]:
        """(label, color) per code of a choice, multi_choice or status `name` (empty for other types)."""
        found = self._codes.get(name)
        if found is None:
            f = self.field(name) if self.knows(name) else None
            found = {}
            if f is not None and f.list:
                found = {v.code: (v.label.get(self.lang), v.color) for v in self.model.value_list(f.list).values}
            elif f is not None and f.type == "status" and f.workflow:
                found = {s.code: (s.label.get(self.lang), s.color) for s in self.model.workflow(f.workflow).statuses}
            self._codes[name] = found
            self._orders[name] = {code: i for i, code in enumerate(found)}
        return found

    def rank(self, name: str, value: Any, label: str) -> tuple[int, Any]:
        """Sort key of a value: list and workflow order for codes, yes before no, titles A to Z, empty last."""
        if value is None:
            return (2, "")
        self.codes(name)
        order = self._orders.get(name, {})
        if value in order:
            return (0, order[value])
        if isinstance(value, bool):
            return (0, not value)
        return (1, sort_key(label))

    def label(self, name: str, value: Any, titles: Mapping[int, str]) -> str:
        if value is None:
            return self.ui["none"]
        definition = self.field(name) if self.knows(name) else None
        kind = definition.type if definition else None
        if kind == "boolean":
            return self.ui["yes"] if value else self.ui["no"]
        if kind in ("link", "links"):
            return titles.get(value, f"#{value}")
        codes = self.codes(name)
        if kind == "multi_choice":
            listed = [value] if isinstance(value, str) else value  # one code (a filter chip) or a list of them
            return ", ".join(codes.get(code, (code, None))[0] for code in listed)
        if codes:
            return codes.get(value, (str(value), None))[0]
        if isinstance(value, dt.datetime):
            return format_datetime(value, self.lang)
        if isinstance(value, dt.date):
            return format_date(value, self.lang)
        if isinstance(value, Decimal):
            return format_decimal(value, definition.scale if definition else None, self.lang)
        return str(value)


# -- columns ------------------------------------------------------------------------------------


def _column(
    model: Model, entity: EntityDef, name: str, lang: str, labels: _ValueLabels,
    record_base: Callable[[str], str], suffix: str,
) -> Column:
    """A column of the view: a characteristic, a path through links (rendered as the field it
    ends on, headed by the labels of its steps), or a system column."""
    label = labels.field_label(name)
    definition = labels.field(name) if labels.knows(name) else None
    if definition is None:
        kind = {"created_at": "datetime", "updated_at": "datetime", "deleted_at": "datetime",
                "created_by": "link", "updated_by": "link"}.get(name, "integer")
        target = "user" if kind == "link" and "user" in model.entities else None
        if kind == "link" and target is None:
            kind = "integer"
        sortable = name in SORTABLE_SYSTEM
        render = _renderer(kind, None, name, lang, labels, record_base(target) if target else "", suffix)
        return Column(name, label, kind, _css(kind), sortable, target, render, COLUMN_WEIGHTS.get(kind, 1.4))
    target = labels.target(name)
    kind = "integer" if definition.type in ("link", "links") and target is None else definition.type
    render = _renderer(kind, definition, name, lang, labels, record_base(target) if target else "", suffix)
    sortable = kind not in UNSORTABLE_TYPES
    weight = 1.0 if definition.widget == "stars" else COLUMN_WEIGHTS.get(kind, 1.4)
    return Column(name, label, kind, _css(kind), sortable, target, render, weight)


COLUMN_WEIGHTS = {
    "boolean": 0.7, "integer": 0.7, "decimal": 1.0, "date": 1.0, "datetime": 1.6, "choice": 1.1, "status": 1.4,
    "link": 1.4, "links": 2.0, "phone": 1.2, "email": 1.8, "url": 1.6, "text": 2.0, "rich_text": 2.0, "multi_choice": 1.6,
}


def _widths(columns: tuple[Column, ...]) -> tuple[str, ...]:
    weights = [c.weight for c in columns]
    total = sum(weights) or 1.0
    return tuple(f"{100 * w / total:.1f}%" for w in weights)


def _css(kind: str) -> str:
    if kind in NUMBER_TYPES:
        return "number"
    if kind in ("date", "datetime"):
        return "date"
    return kind


def _badge(label: str, color: str | None) -> str:
    shade = color if color and COLOR.match(color) else NEUTRAL_COLOR
    return f'<span class="badge" style="--badge: {shade}">{esc(label)}</span>'


def _renderer(
    kind: str, definition: FieldDef | None, name: str, lang: str, labels: _ValueLabels, link_base: str, suffix: str
) -> CellRenderer:
    """A function writing one cell's HTML as a plain string: cells are joined into a row
    and marked safe once per row, which keeps a page of 50 rows cheap. `name`: the column's
    (a path's text for a path: its codes are those of the field it ends on)."""
    ui = labels.ui
    if kind in ("choice", "status") and definition is not None:
        cells = {
            code: (_badge(text, color) if kind == "status" or color else esc(text))
            for code, (text, color) in labels.codes(name).items()
        }
        return lambda value, _titles: "" if value is None else cells.get(value) or esc(str(value))
    if kind == "multi_choice" and definition is not None:
        names = {code: text for code, (text, _) in labels.codes(name).items()}
        return lambda value, _titles: esc(", ".join(names.get(code, code) for code in value or ()))
    if kind in ("link", "links"):
        base, end = esc(link_base), esc(suffix)

        def link(value: int, titles: Mapping[int, str]) -> str:
            return f'<a href="{base}{value}{end}">{esc(titles.get(value) or f"#{value}")}</a>'

        if kind == "links":  # the members' titles, A to Z
            return lambda value, titles: ", ".join(
                link(v, titles) for v in sorted(value or (), key=lambda v: sort_key(titles.get(v) or f"#{v}")))
        return lambda value, titles: "" if value is None else link(value, titles)
    if kind == "boolean":
        yes, no = esc(ui["yes"]), esc(ui["no"])
        return lambda value, _titles: "" if value is None else (yes if value else no)
    if kind == "integer":
        if definition is not None and definition.widget == "stars" and isinstance(definition.max, int) and definition.max <= 10:
            return _stars(definition.max)
        return lambda value, _titles: "" if value is None else format_integer(value, lang)
    if kind == "decimal":
        scale = definition.scale if definition else None
        return lambda value, _titles: "" if value is None else esc(format_decimal(value, scale, lang))
    if kind == "date":
        return lambda value, _titles: "" if value is None else esc(format_date(value, lang))
    if kind == "datetime":
        return lambda value, _titles: "" if value is None else esc(format_datetime(value, lang))
    if kind == "email":
        return lambda value, _titles: "" if not value else f'<a href="mailto:{esc(value)}">{esc(value)}</a>'
    if kind == "url":
        return lambda value, _titles: "" if not value else (
            f'<a href="{esc(value)}" rel="noopener noreferrer">{esc(value)}</a>'
            if value.lower().startswith(("http://", "https://")) else esc(value)
        )
    if kind == "phone":
        return lambda value, _titles: "" if not value else (
            f'<a href="tel:{esc(re.sub(r"[^0-9+]", "", value))}">{esc(value)}</a>'
        )
    if kind in ("text", "rich_text"):
        def preview(value: Any, _titles: Mapping[int, str]) -> str:
            if not value:
                return ""
            text = Markup(value).striptags() if kind == "rich_text" else " ".join(value.split())
            return esc(text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1].rstrip() + "…")
        return preview
    return lambda value, _titles: "" if value is None else esc(str(value))


def _stars(out_of: int) -> CellRenderer:
    cells = {
        n: f'<span class="stars" title="{n}/{out_of}" aria-label="{n}/{out_of}">{"★" * n}{"☆" * (out_of - n)}</span>'
        for n in range(out_of + 1)
    }
    return lambda value, _titles: "" if value is None else cells.get(value) or esc(str(value))


# -- inputs (filters and mass update) -----------------------------------------------------------


def _input_spec(
    model: Model, f: FieldDef, lang: str, *, for_filter: bool, name: str | None = None, label: str | None = None,
    target: str | None = None,
) -> InputSpec:
    """How `f` is entered; `name`, `label` and `target`: a path's (`room.site`, "Room › Site", `site`)
    when `f` ends one. A `links` filter picks records as a link filter does (the rows holding any of them)."""
    common = {"name": name or f.name, "label": label or f.label.get(lang), "type": f.type, "mandatory": f.mandatory}
    target = target or f.entity
    if f.type in ("choice", "multi_choice"):
        values = model.value_list(f.list).values
        shown = values if for_filter else tuple(v for v in values if not v.retired)
        options = tuple(Option(v.code, v.label.get(lang)) for v in shown)
        kind = "choices" if for_filter or f.type == "multi_choice" else "select"
        return InputSpec(kind=kind, options=options, **common)
    if f.type == "status":
        options = tuple(Option(s.code, s.label.get(lang)) for s in model.workflow(f.workflow).statuses)
        return InputSpec(kind="choices" if for_filter else "select", options=options, **common)
    if f.type == "link" or (f.type == "links" and for_filter):
        return InputSpec(kind="link", target=target, input_type="number", step="1", min="1", **common)
    if f.type == "links":  # the new set of members: picked among the records, or typed as numbers
        return InputSpec(kind="links", target=target, **common)
    if f.type == "boolean":
        return InputSpec(kind="boolean", **common)
    if f.type in RANGE_INPUTS:
        step = "1" if f.type == "integer" else (f"{Decimal(1).scaleb(-(f.scale if f.scale is not None else 2))}"
                                                if f.type == "decimal" else None)
        bounds = {"min": _input_value(f.min), "max": _input_value(f.max)}
        return InputSpec(
            kind="range" if for_filter else "input", input_type=RANGE_INPUTS[f.type], step=step, **bounds, **common
        )
    if for_filter:
        return InputSpec(kind="contains", input_type="search", **common)
    if f.type in ("text", "rich_text"):
        return InputSpec(kind="textarea", max_length=f.max_length, **common)
    return InputSpec(kind="input", input_type=TEXT_INPUTS.get(f.type, "text"), max_length=f.max_length, **common)


def _input_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
