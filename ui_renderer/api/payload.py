"""Reading what a caller sends: the JSON body and the query string, checked before the engine sees them.

The engine judges values by their characteristics' rules; here go the checks that
protect the database itself, whatever the field: text with NUL characters or lone
surrogates (PostgreSQL and the drivers refuse them), whole numbers beyond 64 bits and
decimals beyond their precision (they would overflow a column or a bound parameter).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping, Sequence

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

import sqlalchemy as sa

from engine.records.queries import TOTAL_CAP, ListRequest, QueryError
from engine.storage.column_types import column_type
from metamodel.model import EntityDef, FieldDef
from ui_renderer.core.language import request_language

from .errors import ApiError, field_error, query_error
from .messages import text

INT64_MAX = 2**63 - 1
ID_MAX = 2**31 - 1
INT32_MAX = 2**31 - 1
MAX_PAGE = 1_000_000
DEFAULT_PRECISION = 18
PAGE_ARGUMENTS = frozenset({"after", "total"})
"""List arguments of one page only, which a selection (a mass update's or an export's filter) ignores."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(lang: str) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty)."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", errors=field_error("body", "json", "bad_json", lang)) from None
    if not isinstance(body, dict):
        raise ApiError(400, "not_object", errors=field_error("body", "json", "not_object", lang))
    try:
        bad = dict(_unsafe_paths(body, "body"))
    except RecursionError:
        raise ApiError(400, "bad_json", errors=field_error("body", "json", "bad_json", lang)) from None
    if bad:
        errors: dict[str, list[dict[str, str]]] = {}
        for path, key in sorted(bad.items()):
            rule = "characters" if key == "bad_text" else "range"
            errors.update(field_error(path.removeprefix("body."), rule, key, lang))
        raise ApiError(422, "invalid", errors=errors)
    return body


def _unsafe_paths(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Where a JSON value holds text or numbers no database should be given: (path, message key)."""
    if isinstance(value, str):
        if not safe_text(value):
            yield path, "bad_text"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > INT64_MAX:
            yield path, "bad_number"
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, "bad_number"
    elif isinstance(value, dict):
        for key, item in value.items():
            if safe_text(key):
                yield from _unsafe_paths(item, f"{path}.{key}")
            else:
                yield path, "bad_text"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unsafe_paths(item, f"{path}.{index}")


def safe_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_values(entity: EntityDef, values: Mapping[str, Any], lang: str) -> None:
    """Refuse numbers a characteristic's column cannot hold (422, by field)."""
    errors = number_errors(entity, values, lang)
    if errors:
        raise ApiError(422, "invalid", errors=errors)


def number_errors(entity: EntityDef, values: Any, lang: str) -> dict[str, list[dict[str, str]]]:
    """The characteristics given a number their column cannot hold."""
    errors: dict[str, list[dict[str, str]]] = {}
    for name, value in (values.items() if isinstance(values, Mapping) else ()):
        definition = entity.fields_by_name.get(name)
        if definition is None:
            continue
        if definition.type == "lines" and isinstance(value, list):
            owned = current_app.extensions["ossature"].model.entity(definition.entity)
            for index, line in enumerate(value):
                for key, problems in number_errors(owned, line, lang).items():
                    errors[f"{name}.{index}.{key}"] = problems
        elif not number_fits(definition, value):
            errors.update(field_error(name, "type", "bad_number", lang))
    return errors


def integer_limit(definition: FieldDef) -> int:
    """The largest whole number the characteristic's column holds (32 bits when its bounds allow it)."""
    return INT32_MAX if isinstance(column_type(definition), sa.Integer) and not isinstance(
        column_type(definition), sa.BigInteger) else INT64_MAX


def number_fits(definition: FieldDef, value: Any) -> bool:
    """Whether a value given for an integer, link or decimal characteristic stays within its column."""
    if definition.type in ("integer", "link"):
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return abs(value) <= (ID_MAX if definition.type == "link" else integer_limit(definition))
        return True
    if definition.type == "decimal" and isinstance(value, (int, float, str, Decimal)) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            return True  # not a number at all: the engine says so
        if not number.is_finite():
            return True
        return number.is_zero() or number.adjusted() < (definition.precision or DEFAULT_PRECISION)
    return True


def query_args() -> dict[str, list[str]]:
    """The query string as `name -> [values]`, refusing text no database should be given.

    An empty value is no value (`?sort=` is `sort` not given), as the document says
    (`allowEmptyValue`)."""
    args: dict[str, list[str]] = {}
    for name, values in request.args.to_dict(flat=False).items():
        if not safe_text(name) or not all(safe_text(v) for v in values):
            raise query_error(name if safe_text(name) else "query", text("bad_text", request_language()))
        given = [v for v in values if v != ""]
        if given:
            args[name] = given
    return args


def list_request(engine: Any, entity: str, args: Mapping[str, Sequence[str]], *, page: bool = False) -> ListRequest:
    """A checked ListRequest; 400 for a parameter the engine or the database would refuse.

    `page`: the request reads one page (`GET /<entity>`), which may start after a cursor (`after`)
    and count its matches as it asks (`total`, capped at the app's `API_TOTAL_CAP`); a selection
    (a mass update's or an export's filter) is the whole list, counted whole: both are ignored there."""
    if not page and not PAGE_ARGUMENTS.isdisjoint(args):
        args = {name: values for name, values in args.items() if name not in PAGE_ARGUMENTS}
    try:
        parsed = engine.records.list_request(entity, args)
    except ArithmeticError:
        raise query_error(_culprit(engine, entity, args), text("bad_number", request_language())) from None
    if page and parsed.total == "capped":
        parsed = parsed.replace(total_cap=current_app.config.get("API_TOTAL_CAP") or TOTAL_CAP)
    if parsed.page > MAX_PAGE:
        raise query_error("page", text("expected_whole_number", request_language(), maximum=MAX_PAGE))
    def field(name: str) -> FieldDef:  # a characteristic, or the one a path through links ends on
        return engine.model.path(entity, name).field

    for name, values in parsed.equals.items():
        if not all(number_fits(field(name), v) for v in values):
            raise query_error(f"f_{name}", text("bad_number", request_language()))
    for name, bounds in parsed.ranges.items():
        for bound, value in zip(("min", "max"), bounds):
            if value is not None and not number_fits(field(name), value):
                raise query_error(f"f_{name}_{bound}", text("bad_number", request_language()))
    return parsed


def _culprit(engine: Any, entity: str, args: Mapping[str, Sequence[str]]) -> str:
    for name, values in args.items():
        try:
            engine.records.list_request(entity, {name: values})
        except (ArithmeticError, QueryError):
            return name
    return "query"


def parse_as_of(raw: str, lang: str) -> dt.datetime | dt.date:
    try:
        if "T" in raw or " " in raw.strip():
            return dt.datetime.fromisoformat(raw.strip())
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(400, "bad_as_of", errors=field_error("as_of", "query", "bad_as_of", lang)) from None
