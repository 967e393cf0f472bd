"""Per-characteristic rules: coercion of an input value to its type, then every value rule.

One `FieldRules` per characteristic, compiled once from its `FieldDef`. Both the
marshmallow schemas (single records from forms and the API) and the bulk path
(`create_many`, imports) call the same `load`, so a value is judged the same way
whichever door it came through.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

import nh3

from metamodel.model import FieldDef, Model

from engine.core.errors import EngineError, RuleError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ().\-/]{1,28}[0-9]$")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TRUE_STRINGS = frozenset({"true", "1", "on", "yes", "y", "oui", "t"})
FALSE_STRINGS = frozenset({"false", "0", "off", "no", "n", "non", "f", ""})

Check = Callable[[Any], "RuleError | None"]


class FieldRules:
    """Loads one characteristic's values: `load(value)` returns the typed value or raises RuleError."""

    def __init__(self, field: FieldDef, model: Model, formats: Mapping[str, Any] | None = None):
        self.field = field
        self.name = field.name
        self._coerce = _coercer(field, model)
        self._checks: list[Check] = _value_checks(field)
        if field.format:
            self._checks.append(_format_check(field, (formats or {}).get(field.format)))
        self.choices: frozenset[str] | None = None
        self.active_choices: frozenset[str] | None = None
        if field.list:
            values = model.value_list(field.list)
            self.choices, self.active_choices = values.codes, values.active_codes
        elif field.type == "status":
            codes = frozenset(s.code for s in model.workflow(field.workflow).statuses)
            self.choices = self.active_choices = codes

    def load(self, value: Any) -> Any:
        """Coerce and check `value`; empty input ("", None, []) becomes None."""
        if value is None or value == "" or value == []:
            return None
        value = self._coerce(value)
        if value == "":
            return None
        for check in self._checks:
            error = check(value)
            if error is not None:
                raise error
        return value

    def coerce(self, value: Any) -> Any:
        """The typed value without the value rules (for filters: a bound need not be valid)."""
        if value is None or value == "" or value == []:
            return None
        return self._coerce(value)

    def check_retired(self, value: Any) -> None:
        """A retired list value stays valid where it is, but cannot be newly chosen."""
        if self.active_choices is None or value is None:
            return
        for code in value if isinstance(value, list) else (value,):
            if code not in self.active_choices:
                raise RuleError(self.name, "retired", {"value": code})

    def type_error(self) -> RuleError:
        return RuleError(self.name, "type", {"type": self.field.type})


def _coercer(f: FieldDef, model: Model) -> Callable[[Any], Any]:
    def fail() -> RuleError:
        return RuleError(f.name, "type", {"type": f.type})

    t = f.type
    if t in ("string", "text", "email", "phone", "url"):
        def to_text(v: Any) -> str:
            if not isinstance(v, str):
                raise fail()
            _check_storable(f.name, v)
            return v.strip() if t != "text" else v
        return to_text
    if t == "rich_text":
        def to_rich_text(v: Any) -> str:
            if not isinstance(v, str):
                raise fail()
            _check_storable(f.name, v)
            return nh3.clean(v)
        return to_rich_text
    if t in ("integer", "link"):
        def to_int(v: Any) -> int:
            if isinstance(v, bool):
                raise fail()
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            elif isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d{1,19}\s*", v):
                v = int(v)
            if not isinstance(v, int) or not INT64_MIN <= v <= INT64_MAX:
                raise fail()  # beyond what any database column holds
            return v
        return to_int
    if t == "decimal":
        scale = f.scale if f.scale is not None else 2
        precision = f.precision or 18
        def to_decimal(v: Any) -> Decimal:
            if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
                raise fail()
            try:
                d = Decimal(str(v).strip().replace(",", ".")) if not isinstance(v, Decimal) else v
            except InvalidOperation:
                raise fail() from None
            if not d.is_finite():
                raise fail()
            exponent = d.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > scale:
                raise RuleError(f.name, "scale", {"scale": scale})
            if d.adjusted() >= precision - scale:
                raise RuleError(f.name, "precision", {"precision": precision})
            return d.quantize(Decimal(1).scaleb(-scale))
        return to_decimal
    if t == "date":
        def to_date(v: Any) -> dt.date:
            if isinstance(v, dt.datetime):
                raise fail()
            if isinstance(v, dt.date):
                return v
            if isinstance(v, str):
                try:
                    return dt.date.fromisoformat(v.strip())
                except ValueError:
                    raise fail() from None
            raise fail()
        return to_date
    if t == "datetime":
        def to_datetime(v: Any) -> dt.datetime:
            if isinstance(v, str):
                try:
                    v = dt.datetime.fromisoformat(v.strip())
                except ValueError:
                    raise fail() from None
            if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                v = dt.datetime.combine(v, dt.time())
            if not isinstance(v, dt.datetime):
                raise fail()
            if v.tzinfo is not None:
                v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return v
        return to_datetime
    if t == "boolean":
        def to_bool(v: Any) -> bool:
            if isinstance(v, bool):
                return v
            if isinstance(v, int) and v in (0, 1):
                return bool(v)
            if isinstance(v, str):
                s = v.strip().lower()
                if s in TRUE_STRINGS:
                    return True
                if s in FALSE_STRINGS:
                    return False
            raise fail()
        return to_bool
    if t in ("choice", "status"):
        codes = (
            model.value_list(f.list).codes
            if f.list
            else frozenset(s.code for s in model.workflow(f.workflow).statuses)
        )
        rule = "choice" if t == "choice" else "status"
        def to_code(v: Any) -> str:
            if not isinstance(v, str):
                raise fail()
            if v not in codes:
                raise RuleError(f.name, rule, {"value": v})
            return v
        return to_code
    if t == "multi_choice":
        codes = model.value_list(f.list).codes
        def to_codes(v: Any) -> list[str]:
            # A list of codes and nothing else: a string ("vip", "a,b") is a type error, not a
            # list to guess (forms post lists; imports split their cells themselves)
            if not isinstance(v, (list, tuple)) or not all(isinstance(c, str) for c in v):
                raise fail()
            seen: dict[str, None] = {}
            for code in v:
                if code not in codes:
                    raise RuleError(f.name, "choice", {"value": code})
                seen[code] = None
            return list(seen)
        return to_codes
    raise ValueError(f"no coercion for characteristic type {t!r}")


def _check_storable(name: str, text: str) -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them)."""
    if "\x00" in text:
        raise RuleError(name, "characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RuleError(name, "characters") from None


def _value_checks(f: FieldDef) -> list[Check]:
    checks: list[Check] = []
    name = f.name
    if f.min is not None:
        low = f.min
        checks.append(lambda v: RuleError(name, "min", {"min": low}) if v < low else None)
    if f.max is not None:
        high = f.max
        checks.append(lambda v: RuleError(name, "max", {"max": high}) if v > high else None)
    if f.min_length is not None:
        n_min = f.min_length
        checks.append(lambda v: RuleError(name, "min_length", {"min_length": n_min}) if len(v) < n_min else None)
    if f.max_length is not None:
        n_max = f.max_length
        checks.append(lambda v: RuleError(name, "max_length", {"max_length": n_max}) if len(v) > n_max else None)
    format_re = {"email": EMAIL_RE, "url": URL_RE, "phone": PHONE_RE}.get(f.type)
    if format_re is not None:
        rule = f.type
        checks.append(lambda v: None if format_re.match(v) else RuleError(name, rule))
    if f.pattern:
        pattern = re.compile(f.pattern)
        checks.append(lambda v: None if pattern.fullmatch(v) else RuleError(name, "pattern", {"pattern": f.pattern}))
    return checks


def _format_check(f: FieldDef, fmt: Any) -> Check:
    """The extra check of a format registered by a plugin (`format: siret`)."""
    if fmt is None:
        raise EngineError(f"{f.source}: characteristics.{f.name}.format: no installed plugin provides the format '{f.format}'")
    if f.type not in fmt.base_types:
        raise EngineError(
            f"{f.source}: characteristics.{f.name}.format: '{f.format}' applies to "
            f"{', '.join(sorted(fmt.base_types))}, not to {f.type}"
        )
    name = f.name
    params = {"message_en": fmt.describe("en"), "message_fr": fmt.describe("fr")}
    return lambda v: None if fmt.check(v) else RuleError(name, "format", params)
