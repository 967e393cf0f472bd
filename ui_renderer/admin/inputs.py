"""Reading the administration forms: each input checked, each mistake kept under its field's name.

What the definition language itself refuses (a maximum below the minimum, an unknown role)
is found when the changed definitions are loaded; these are the mistakes a form can see alone.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from metamodel.model import NUMBER_TYPES, OWNED_SYSTEM_FIELDS, SYSTEM_COLUMNS, TEMPORAL_TYPES, TEXT_TYPES

from .words import say

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
COLOR = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
NAME_LENGTH = 40
CODE_LENGTH = 60
DECLARABLE_TYPES = (
    "string", "text", "rich_text", "email", "phone", "url", "integer", "decimal", "date", "datetime", "boolean",
    "choice", "multi_choice", "link", "links", "lines",
)
"""The types a characteristic may be declared with (`status` is the loader's own)."""
LIST_CHOICE_TYPES = frozenset({"choice", "multi_choice"})
LINKED_TYPES = frozenset({"link", "links"})
"""Types naming another entity by the `entity` input, and making a reverse relation on it."""
COUNTED_TYPES = frozenset({"links", "lines"})
"""Types whose min and max count members or lines (whole numbers)."""
LINE_FIELD_TYPES = ("string", "text", "integer", "decimal", "date", "datetime", "boolean", "email", "phone", "url")
"""The types offered for the first characteristic of a new owned entity (more are added on its page)."""


class FormReader:
    """Values read from a submitted form; `errors` maps a field name to what is wrong with it."""

    def __init__(self, form: Mapping[str, Any], lang: str):
        self.form = form
        self.lang = lang
        self.errors: dict[str, str] = {}

    def fail(self, field: str, key: str, **params: Any) -> None:
        self.errors.setdefault(field, say(self.lang, key, **params))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = str(self.form.get(name, "")).strip()
        if not value:
            if required:
                self.fail(name, "required")
            return None
        return value

    def identifier(self, name: str, *, length: int = NAME_LENGTH) -> str | None:
        value = self.text(name, required=True)
        if value is not None and (not IDENTIFIER.fullmatch(value) or len(value) > length):
            self.fail(name, "bad_identifier", max=length)
            return None
        return value

    def label(self, prefix: str = "label") -> dict[str, str] | None:
        en, fr = self.text(f"{prefix}_en", required=True), self.text(f"{prefix}_fr", required=True)
        return {"en": en, "fr": fr} if en and fr else None

    def flag(self, name: str) -> bool:
        return str(self.form.get(name, "")).lower() in ("1", "on", "true", "yes")

    def integer(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.fail(name, "bad_integer")
            return None
        if minimum is not None and number < minimum:
            self.fail(name, "bad_positive" if minimum == 1 else "bad_integer")
            return None
        return number

    def bound(self, name: str, field_type: str) -> Any:
        """A min or max typed as the definition language writes it: a number, or an ISO text."""
        value = self.text(name)
        if value is None:
            return None
        if field_type == "integer":
            return self.integer(name)
        if field_type == "decimal":
            try:
                number = Decimal(value.replace(",", "."))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                self.fail(name, "bad_number")
                return None
            return int(number) if number == number.to_integral_value() else float(number)
        try:
            if field_type == "date":
                return dt.date.fromisoformat(value).isoformat()
            return dt.datetime.fromisoformat(value).isoformat()
        except ValueError:
            self.fail(name, "bad_date" if field_type == "date" else "bad_datetime")
            return None

    def choice(self, name: str, options: Iterable[str], *, required: bool = False) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in set(options):
            self.fail(name, "bad_choice")
            return None
        return value

    def choices(self, name: str, options: Iterable[str]) -> list[str]:
        """The ticked values among `options`, in the order of `options`."""
        allowed = list(options)
        chosen = set(self.form.getlist(name)) if hasattr(self.form, "getlist") else set(self.form.get(name) or ())
        if chosen - set(allowed):
            self.fail(name, "bad_choice")
        return [option for option in allowed if option in chosen]

    def color(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not COLOR.fullmatch(value):
            self.fail(name, "bad_color")
            return None
        return value


def read_characteristic(
    reader: FormReader, *, field_type: str, lists: Iterable[str], entities: Iterable[str],
) -> dict[str, Any]:
    """The characteristic's properties (metamodel.editing.definition_edits.CHARACTERISTIC_KEYS, and
    `reverse`); a property that does not apply to the type is None. A `lines` characteristic's
    entity is not read here: it is the owned entity made with it, or its own."""
    values: dict[str, Any] = {
        "type": field_type,
        "label": reader.label(),
        "mandatory": reader.flag("mandatory"),
        "systematic": reader.flag("systematic"),
        "historized": reader.flag("historized"),
        "indexed": reader.flag("indexed"),
        "min": None, "max": None, "max_length": None, "list": None, "entity": None, "reverse": None,
    }
    if field_type in NUMBER_TYPES | TEMPORAL_TYPES:
        values["min"] = reader.bound("min", field_type)
        values["max"] = reader.bound("max", field_type)
    if field_type in COUNTED_TYPES:
        values["min"] = reader.integer("min", minimum=0)
        values["max"] = reader.integer("max", minimum=1)
    if field_type in TEXT_TYPES:
        values["max_length"] = reader.integer("max_length", minimum=1)
    if field_type in LIST_CHOICE_TYPES:
        values["list"] = reader.choice("list", lists)
        if values["list"] is None:
            reader.fail("list", "need_list")
    if field_type in LINKED_TYPES:
        values["entity"] = reader.choice("entity", entities)
        if values["entity"] is None:
            reader.fail("entity", "need_entity")
        values["reverse"] = read_reverse(reader)
    return values


def read_reverse(reader: FormReader) -> Any:
    """The `reverse:` of a link or links as the definition language writes it: None (the
    default name and label), a name, or {name?, label} when a label is given in both languages."""
    name = reader.text("reverse_name")
    if name is not None and (not IDENTIFIER.fullmatch(name) or len(name) > NAME_LENGTH):
        reader.fail("reverse_name", "bad_identifier", max=NAME_LENGTH)
        name = None
    en, fr = reader.text("reverse_label_en"), reader.text("reverse_label_fr")
    if bool(en) != bool(fr):
        reader.fail("reverse_label_fr" if en else "reverse_label_en", "required")
        return name
    if en and fr:
        return {**({"name": name} if name else {}), "label": {"en": en, "fr": fr}}
    return name


def read_owned_entity(reader: FormReader, taken: Iterable[str]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """A new owned entity for a `lines` characteristic: its name, {label, plural}, and its first
    characteristic {name: values}; None (the errors noted) when something is missing."""
    name = reader.identifier("owned_name")
    if name is not None and name in set(taken):
        reader.fail("owned_name", "entity_exists", name=name)
        name = None
    label, plural = reader.label("owned_label"), reader.label("owned_plural")
    first = read_new_name(reader, "first_name")
    if first in OWNED_SYSTEM_FIELDS:  # the engine's own on every owned entity
        reader.fail("first_name", "reserved_name", name=first)
        first = None
    first_type = reader.choice("first_type", LINE_FIELD_TYPES, required=True)
    first_label = reader.label("first_label")
    if None in (name, label, plural, first, first_type, first_label):
        return None
    assert name is not None and first is not None
    return name, {"label": label, "plural": plural}, {
        first: {"type": first_type, "label": first_label, "mandatory": reader.flag("first_mandatory")}}


def read_new_name(reader: FormReader, field: str = "name") -> str | None:
    name = reader.identifier(field)
    if name is not None and name in SYSTEM_COLUMNS + ("status",):
        reader.fail(field, "reserved_name", name=name)
        return None
    return name


def read_positions(reader: FormReader, prefix: str, names: Iterable[str]) -> list[str]:
    """Names given a position (`prefix`-NAME = 1, 2...), in position order (ties: given order)."""
    placed: list[tuple[int, int, str]] = []
    for index, name in enumerate(names):
        position = reader.integer(f"{prefix}-{name}", minimum=1)
        if position is not None:
            placed.append((position, index, name))
    return [name for _position, _index, name in sorted(placed)]
