"""List queries: filter, quick search, sort, group and page the records of an entity.

A `ListRequest` is the whole state of a list page (what the URL says, so a view can
be bookmarked). It is parsed from query-string arguments and checked against the
`Model`: a field name that the entity does not have is refused, so identifiers in the
SQL only ever come from validated definitions and every value is a bound parameter.

A name may be a path through links (`room.site.name`, `?f_room.site.name=Lyon`): it is checked
by `Model.path` and read as the column of a join (engine/records/paths.py `PathJoins`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from metamodel.field_paths import PathError, is_path
from metamodel.model import EntityDef, FieldDef, Model, ViewDef, WorkflowDef

from engine.core.errors import EngineError, RuleError
from engine.storage.keyset import key_items
from .field_rules import FieldRules
from .list_cursor import CursorError, encode_cursor, read_cursor
from .paths import PathJoins
from .search import search_condition

MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000_000
TABS = ("open", "history", "all")
RANGE_TYPES = frozenset({"integer", "decimal", "date", "datetime"})
CONTAINS_TYPES = frozenset({"string", "text", "rich_text", "email", "phone", "url"})
SORTABLE_SYSTEM = ("id", "created_at", "updated_at")
TOTALS = ("exact", "capped", "none")
"""How a list counts its matches (`ListRequest.total`)."""
TOTAL_CAP = 10_000
"""The most matches a `capped` total counts by default: past it, the answer says "more than"."""


MESSAGES: dict[str, dict[str, str]] = {
    "unknown_view": {"en": "{entity} has no list view '{view}'", "fr": "{entity} n'a pas de vue liste « {view} »"},
    "tab": {"en": "expected one of {tabs}", "fr": "valeurs possibles : {tabs}"},
    "total": {"en": "expected one of {totals}", "fr": "valeurs possibles : {totals}"},
    "not_range": {"en": "{name} is not a number or a date", "fr": "{name} n'est ni un nombre ni une date"},
    "group": {"en": "cannot group by {name} ({type})", "fr": "impossible de regrouper par {name} ({type})"},
    "page": {"en": "expected a whole number", "fr": "un nombre entier est attendu"},
    "unknown_field": {"en": "{entity} has no characteristic '{name}'",
                      "fr": "{entity} n'a pas de caractéristique « {name} »"},
    "sort": {"en": "cannot sort by {name} ({type})", "fr": "impossible de trier par {name} ({type})"},
    "lines": {"en": "{name} holds lines: a list cannot be filtered by them",
              "fr": "{name} contient des lignes : une liste ne peut pas être filtrée par elles"},
    "no_joins": {"en": "{name} reads other records (a path or links), which this list cannot read yet",
                 "fr": "{name} lit d'autres enregistrements (un chemin ou des liens), ce que cette liste ne sait pas encore lire"},
    "path": {"en": "{detail}", "fr": "chemin illisible : {detail}"},
    "cursor": {"en": "not a position in this list (made for another sort, or damaged): start again from page 1",
               "fr": "pas une position dans cette liste (faite pour un autre tri, ou abîmée) : repartez de la page 1"},
}


class QueryError(EngineError):
    """A list request names something the entity does not have, or a value of the wrong type.
    `parameter` is the query argument at fault; the message comes in English and French."""

    MESSAGES = MESSAGES

    def __init__(self, parameter: str, reason: str, *, rule_error: RuleError | None = None, **params: Any):
        self.parameter, self.reason, self.params, self.rule_error = parameter, reason, params, rule_error
        super().__init__(self.describe("en"))

    def message(self, lang: str | None = "en") -> str:
        if self.rule_error is not None:
            return self.rule_error.message(lang)
        texts = self.MESSAGES[self.reason]
        return texts.get(lang or "en", texts["en"]).format(**self.params)

    def describe(self, lang: str | None = "en") -> str:
        """The parameter and what is wrong with it."""
        return f"{self.parameter}: {self.message(lang)}"


@dataclass(frozen=True)
class ListRequest:
    view: str = "list"
    search: str = ""
    sort: tuple[str, ...] = ()
    tab: str = "open"
    equals: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Field -> accepted values (choice, status, link, boolean, multi_choice: any of them)."""
    contains: Mapping[str, str] = field(default_factory=dict)
    ranges: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    group: str | None = None
    page: int = 1
    page_size: int = 50
    after: tuple[Any, ...] | None = None
    """Keyset paging: the sort-key values (ended by the id) of the row the page starts after;
    the page is then read from there rather than `page` pages in (which stays for display)."""
    total: str = "exact"
    """How the matches are counted (`TOTALS`): `exact`, every one; `capped`, at most `total_cap`
    (the result then says whether more match); `none`, not at all (the total is None). Counting
    every match is most of a page's cost when many match."""
    total_cap: int = TOTAL_CAP
    """The most matches a `capped` total counts (a setting of the caller, not of the URL)."""
    after_walk: bool | None = None
    """The plan the page before was read by, as its cursor says: without a total to count, the
    page takes it rather than counting again to choose one (engine/records/query_plan.py)."""

    def to_args(self) -> dict[str, list[str]]:
        """The request as query-string arguments (the inverse of `parse_list_request`)."""
        args: dict[str, list[str]] = {}
        if self.view != "list":
            args["view"] = [self.view]
        if self.search:
            args["q"] = [self.search]
        if self.sort:
            args["sort"] = [",".join(self.sort)]
        args["tab"] = [self.tab]
        for name, values in self.equals.items():
            args[f"f_{name}"] = [_arg(v) for v in values]
        for name, text in self.contains.items():
            args[f"f_{name}"] = [text]
        for name, (low, high) in self.ranges.items():
            if low is not None:
                args[f"f_{name}_min"] = [_arg(low)]
            if high is not None:
                args[f"f_{name}_max"] = [_arg(high)]
        if self.group:
            args["group"] = [self.group]
        if self.page != 1:
            args["page"] = [str(self.page)]
        args["size"] = [str(self.page_size)]
        if self.after is not None:
            args["after"] = [encode_cursor(self.sort, self.after, walk=self.after_walk)]
        if self.total != "exact":
            args["total"] = [self.total]
        return args

    def replace(self, **changes: Any) -> ListRequest:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Group:
    value: Any
    count: int


@dataclass(frozen=True)
class ListResult:
    request: ListRequest
    rows: list[dict[str, Any]]
    total: int | None
    """The records matching; None when the request asked for no total (`total="none"`)."""
    groups: list[Group] | None
    next_after: str | None = None
    """The `after=` argument of the next page (keyset paging), None when this page is the last."""
    total_capped: bool = False
    """More than `total` records match (`total` is then the request's `total_cap`)."""

    @property
    def pages(self) -> int | None:
        """The number of pages (of the counted matches when the total is capped); None without a total."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.request.page_size))


def parse_list_request(
    entity: EntityDef, args: Mapping[str, Sequence[str]], rules: Mapping[str, FieldRules], *,
    model: Model | None = None,
) -> ListRequest:
    """Read query-string arguments (`name -> [values]`) into a checked ListRequest. With the
    `model`, a name may be a path through links (without it, a path is an unknown name)."""
    rules = _PathRules(entity, rules, model)

    def first(name: str, default: str = "") -> str:
        values = args.get(name) or []
        return values[0] if values else default

    view_name = first("view", "list")
    views = {v.name: v for v in entity.views if v.kind == "list"}
    if view_name not in views:
        raise QueryError("view", "unknown_view", entity=entity.name, view=view_name)
    view = views[view_name]
    sort = tuple(s for s in first("sort").split(",") if s) or view.sort
    for item in sort:
        _sortable(entity, item.lstrip("-"), "sort", model)
    tab = first("tab", "open")
    if tab not in TABS:
        raise QueryError("tab", "tab", tabs=", ".join(TABS))
    equals: dict[str, tuple[Any, ...]] = {}
    contains: dict[str, str] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    for key, values in args.items():
        if not key.startswith("f_"):
            continue
        name, bound = key[2:], None
        if name.endswith(("_min", "_max")) and name not in entity.fields_by_name and not _resolves(entity, name, model):
            name, bound = name[:-4], name[-3:]
        definition = _field(entity, name, key, model)
        values = [v for v in values if v != ""]
        if not values:
            continue
        if definition.type == "lines":
            raise QueryError(key, "lines", name=name)
        if bound:
            if definition.type not in RANGE_TYPES:
                raise QueryError(key, "not_range", name=name)
            low, high = ranges.get(name, (None, None))
            value = _load(rules[name], values[0], key, check=False)
            ranges[name] = (value, high) if bound == "min" else (low, value)
        elif definition.type in CONTAINS_TYPES:
            contains[name] = values[0]
        elif definition.type == "multi_choice":
            equals[name] = tuple(values)
        elif definition.type == "links":
            equals[name] = tuple(_record_id(definition, v, key) for v in values)
        else:
            equals[name] = tuple(_load(rules[name], v, key, check=False) for v in values)
    group = first("group") or None
    if group is not None:
        definition = _field(entity, group, "group", model)
        if definition.type not in ("choice", "status", "link", "boolean"):
            raise QueryError("group", "group", name=group, type=definition.type)
    try:
        page = min(MAX_PAGE, max(1, int(first("page", "1"))))
        page_size = min(MAX_PAGE_SIZE, max(1, int(first("size", str(view.page_size)))))
    except ValueError:
        raise QueryError("page", "page") from None
    total = first("total", "exact")
    if total not in TOTALS:
        raise QueryError("total", "total", totals=", ".join(TOTALS))
    after, after_walk = None, None
    if first("after"):
        try:
            cursor = read_cursor(first("after"), entity, sort, [name for name, _ in key_items(sort)], model=model)
        except CursorError:
            raise QueryError("after", "cursor") from None
        after, after_walk = cursor.values, cursor.walk
    return ListRequest(
        view_name, first("q").strip(), sort, tab, equals, contains, ranges, group, page, page_size, after, total,
        after_walk=after_walk,
    )


def next_cursor(request: ListRequest, last_row: Mapping[str, Any], *, walk: bool | None = None) -> str:
    """The `after=` argument of the page that follows the one ending with `last_row` (`walk`: the
    plan this page was read by, for the next one to take)."""
    return encode_cursor(request.sort, [last_row[name] for name, _ in key_items(request.sort)], walk=walk)


def request_fields(request: ListRequest) -> set[str]:
    """Every characteristic a request filters, sorts or groups by."""
    names = {s.lstrip("-") for s in request.sort} | set(request.equals) | set(request.contains) | set(request.ranges)
    return names | ({request.group} if request.group else set())


def build_conditions(
    table: sa.Table, entity: EntityDef, view: ViewDef, request: ListRequest, workflow: WorkflowDef | None,
    *, hidden: frozenset[str] = frozenset(), joins: PathJoins | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause of a list request: live records, the view's fixed filter, the tab,
    the filters and the quick search. A path (in the request or the view's `where`) is read
    through `joins`, which then make the FROM clause (`joins.select_from(*conditions)`)."""

    def column(name: str) -> sa.ColumnElement[Any]:
        if not is_path(name):
            return table.c[name]
        if joins is None:
            raise QueryError(name, "no_joins", name=name)
        return joins.column(name)

    def field_type(name: str) -> str:
        if not is_path(name):
            return entity.field(name).type
        if joins is None:
            raise QueryError(name, "no_joins", name=name)
        return joins.path(name).field.type

    conditions: list[sa.ColumnElement[bool]] = [table.c.deleted_at.is_(None)]
    def members(name: str, values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """A `links` characteristic holds any of `values` (ids): a row of its join table."""
        if joins is None:
            raise QueryError(name, "no_joins", name=name)
        join = joins.reader.tables.join_table(entity.name, name)
        return sa.exists().where(join.c.source_id == table.c.id, join.c.target_id.in_(list(values)))

    for name, fixed in view.where.items():
        if field_type(name) == "links":
            conditions.append(members(name, fixed if isinstance(fixed, (list, tuple)) else [fixed]))
        else:
            conditions.append(_fixed_condition(column(name), fixed))
    if workflow is not None and request.tab != "all":
        open_codes = sorted(workflow.open_codes)
        status = table.c.status
        conditions.append(status.in_(open_codes) if request.tab == "open" else status.not_in(open_codes))
    for name, values in request.equals.items():
        if field_type(name) == "multi_choice":
            conditions.append(sa.or_(*(_json_array_contains(column(name), v) for v in values)))
        elif field_type(name) == "links":
            conditions.append(members(name, values))
        else:
            conditions.append(column(name).in_(values))
    for name, text in request.contains.items():
        conditions.append(column(name).ilike(f"%{_escape_like(text)}%", escape="\\"))
    for name, (low, high) in request.ranges.items():
        if low is not None:
            conditions.append(column(name) >= low)
        if high is not None:
            conditions.append(column(name) <= high)
    if request.search:
        conditions.append(search_condition(table, entity, request.search, hidden=hidden))
    return conditions


def order_by(table: sa.Table, request: ListRequest) -> list[sa.ColumnElement[Any]]:
    clauses = [table.c[s[1:]].desc() if s.startswith("-") else table.c[s].asc() for s in request.sort]
    return clauses + [table.c.id.desc() if request.sort[:1] and request.sort[0].startswith("-") else table.c.id.asc()]


def _fixed_condition(column: sa.Column, fixed: Any) -> sa.ColumnElement[bool]:
    if isinstance(fixed, Mapping):
        parts = []
        if fixed.get("min") is not None:
            parts.append(column >= fixed["min"])
        if fixed.get("max") is not None:
            parts.append(column <= fixed["max"])
        return sa.and_(*parts) if parts else sa.true()
    if isinstance(fixed, (list, tuple)):
        return column.in_(list(fixed))
    return column == fixed


def _json_array_contains(column: sa.Column, code: str) -> sa.ColumnElement[bool]:
    """Whether a multi_choice JSON array holds `code` (codes are identifiers: no quoting issue)."""
    return sa.cast(column, sa.Text).like(f'%"{_escape_like(code)}"%', escape="\\")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _field(entity: EntityDef, name: str, parameter: str, model: Model | None = None) -> FieldDef:
    """The characteristic `name` names: the entity's own, or the end of a path (with the model)."""
    definition = entity.fields_by_name.get(name)
    if definition is None and model is not None and is_path(name):
        try:
            return model.path(entity.name, name).field
        except PathError as error:
            raise QueryError(parameter, "path", detail=error.message) from None
    if definition is None:
        raise QueryError(parameter, "unknown_field", entity=entity.name, name=name)
    return definition


def _resolves(entity: EntityDef, name: str, model: Model | None) -> bool:
    """Whether `name` is a path the model reads from `entity`."""
    if model is None or not is_path(name):
        return False
    try:
        model.path(entity.name, name)
    except PathError:
        return False
    return True


class _PathRules(dict):  # type: ignore[type-arg]
    """The entity's `FieldRules`, and those of the characteristic a path ends on, made when asked."""

    def __init__(self, entity: EntityDef, rules: Mapping[str, FieldRules], model: Model | None):
        super().__init__(rules)
        self.entity, self.model = entity, model

    def __missing__(self, name: str) -> FieldRules:
        if self.model is None or not is_path(name):
            raise KeyError(name)
        found = self[name] = FieldRules(self.model.path(self.entity.name, name).field, self.model)
        return found


def _sortable(entity: EntityDef, name: str, parameter: str, model: Model | None = None) -> None:
    if name in SORTABLE_SYSTEM:
        return
    definition = _field(entity, name, parameter, model)
    if definition.type in ("multi_choice", "rich_text", "text", "links", "lines"):
        raise QueryError(parameter, "sort", name=name, type=definition.type)


def _record_id(definition: FieldDef, raw: str, parameter: str) -> int:
    """A record id given to filter a `links` characteristic (a whole number)."""
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not 0 < value < 2**63:
        raise QueryError(parameter, "type", rule_error=RuleError(definition.name, "type", {"type": "link"}))
    return value


def _load(rules: FieldRules, raw: str, parameter: str, *, check: bool) -> Any:
    try:
        return rules.load(raw) if check else rules.coerce(raw)
    except RuleError as error:
        raise QueryError(parameter, error.rule, rule_error=error) from None


def _arg(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

