"""vCard import and export of contacts, through vobject (a maintained vCard parser).

Export: one vCard 3.0 (the version every address book reads) per contact, UTF-8, written
as the rows come so a large export never holds every card. Import: a .vcf with one or
many vCards, 3.0 or 4.0, read card by card; each becomes a row of the base pack's contact
characteristics (first_name, last_name, email, phone, mobile, account, street... birthday,
description), as text the importer loads through each characteristic's rules. The
account comes from ORG: the importer resolves it through the account's natural key.

Salutation (N prefix), function (TITLE) and department (ORG unit) are value lists: a card
sets them only when the text matches a value of the base pack's list (its code or its
label in English or French, ignoring case, accents and a final dot), since vCards carry
free text there ("Head of purchasing" is no function code, and must not refuse the card).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import re
import unicodedata
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Sequence

import vobject
from vobject.base import ParseError, VObjectError

from plugins.api import BASE_PACK, ExportFormat, ImportFormat, Model, hookimpl, load_model, plain_text

ENTITIES = frozenset({"contact"})
MEDIA_TYPE = "text/vcard"
UID_FORMAT = "contact-{id}@ossature"

MESSAGES = {
    "parse": {"en": "vCard file, line {line}: {detail}", "fr": "Fichier vCard, ligne {line} : {detail}"},
    "encoding": {"en": "The vCard file is not UTF-8 text.", "fr": "Le fichier vCard n'est pas du texte UTF-8."},
}


class VCardError(ValueError):
    """A .vcf file that cannot be read; names the line when the parser knows it."""

    def __init__(self, reason: str, **params: Any):
        self.reason, self.params = reason, params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        texts = MESSAGES[self.reason]
        return texts.get(lang or "en", texts["en"]).format(**self.params)


# -- export ------------------------------------------------------------------------------------


def write_vcards(stream: BinaryIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """One vCard 3.0 per row, as readable values (labels, the account's name) by characteristic."""
    for row in rows:
        stream.write(contact_card(row).serialize().encode("utf-8"))


def contact_card(row: Mapping[str, Any]) -> vobject.base.Component:
    card = vobject.vCard()
    get = lambda name: _text(row.get(name))  # noqa: E731
    if row.get("id") is not None:
        card.add("uid").value = UID_FORMAT.format(id=row["id"])
    card.add("n").value = vobject.vcard.Name(family=get("last_name"), given=get("first_name"),
                                             prefix=get("salutation"))
    card.add("fn").value = " ".join(p for p in (get("first_name"), get("last_name")) if p) or f"#{row.get('id')}"
    if get("account"):
        card.add("org").value = [get("account")] + ([get("department")] if get("department") else [])
    if get("function"):
        card.add("title").value = get("function")
    for name, types in (("email", ["INTERNET", "WORK"]), ("personal_email", ["INTERNET", "HOME"])):
        if get(name):
            _add(card, "email", get(name), types)
    for name, types in (("phone", ["WORK", "VOICE"]), ("mobile", ["CELL", "VOICE"]), ("home_phone", ["HOME", "VOICE"])):
        if get(name):
            _add(card, "tel", get(name), types)
    for prefix, kind in (("", "WORK"), ("home_", "HOME")):
        parts = {part: get(prefix + part) for part in ("street", "postal_code", "city", "country")}
        if any(parts.values()):
            address = vobject.vcard.Address(street=parts["street"], city=parts["city"], code=parts["postal_code"],
                                            country=parts["country"])
            _add(card, "adr", address, [kind])
    birthday = row.get("birthday")
    if birthday:
        card.add("bday").value = birthday.isoformat() if isinstance(birthday, dt.date) else str(birthday)
    if get("photo"):
        photo = card.add("photo")
        photo.value, photo.value_param = get("photo"), "uri"
    note = plain_text(get("description"))
    if note:
        card.add("note").value = note
    updated = getattr(row, "stored", {}).get("updated_at")
    if isinstance(updated, dt.datetime):
        card.add("rev").value = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return card


def _add(card: vobject.base.Component, name: str, value: Any, types: list[str]) -> None:
    line = card.add(name)
    line.value = value
    line.type_param = types


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- import ------------------------------------------------------------------------------------


def read_vcards(stream: BinaryIO) -> Iterator[dict[str, str]]:
    """One row of contact characteristics per vCard of the file, read card by card."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        for component in vobject.readComponents(text, allowQP=True):
            if component.name == "VCARD":
                yield contact_values(component)
    except UnicodeDecodeError:
        raise VCardError("encoding") from None
    except (ParseError, VObjectError) as error:
        line = getattr(error, "lineNumber", None) or "?"
        detail = getattr(error, "msg", None) or str(error)
        raise VCardError("parse", line=line, detail=detail) from None
    finally:
        if not stream.closed:
            text.detach()  # the caller's stream stays open: it is theirs


def contact_values(card: vobject.base.Component) -> dict[str, str]:
    """A vCard as contact characteristics (text, empty ones left out)."""
    values: dict[str, str] = {}
    name = _first(card, "n")
    if name is not None and not isinstance(name.value, str):
        values["last_name"] = _joined(name.value.family)
        values["first_name"] = _joined(name.value.given)
        salutation = match_value("salutations", _joined(name.value.prefix))
        if salutation:
            values["salutation"] = salutation
    if not values.get("last_name") and not values.get("first_name"):
        full = _first(card, "fn")
        if full is not None:
            values["last_name"] = str(full.value).strip()
    org = _first(card, "org")
    if org is not None:
        parts = [p.strip() for p in (org.value if isinstance(org.value, list) else [org.value]) if p and p.strip()]
        if parts:
            values["account"] = parts[0]
        department = match_value("departments", parts[1]) if len(parts) > 1 else None
        if department:
            values["department"] = department
    title = _first(card, "title")
    function = match_value("functions", str(title.value)) if title is not None else None
    if function:
        values["function"] = function
    _typed(values, card, "email", {"personal_email": ("HOME",)}, "email")
    _typed(values, card, "tel", {"mobile": ("CELL",), "home_phone": ("HOME",)}, "phone", clean=_phone)
    addresses_seen: set[str] = set()
    for line in card.contents.get("adr", []):
        prefix = "home_" if "HOME" in _types(line) else ""
        if prefix in addresses_seen or isinstance(line.value, str):
            continue
        addresses_seen.add(prefix)
        address = line.value
        parts = {"street": _joined(address.street), "postal_code": _joined(address.code),
                 "city": _joined(address.city), "country": _joined(address.country)}
        values.update({prefix + k: v for k, v in parts.items() if v})
    birthday = _first(card, "bday")
    if birthday is not None:
        day = _date(str(birthday.value))
        if day:
            values["birthday"] = day
    note = _first(card, "note")
    if note is not None and str(note.value).strip():
        values["description"] = "<p>" + "<br>".join(html.escape(line) for line in str(note.value).strip().splitlines()) + "</p>"
    photo = _first(card, "photo")
    if photo is not None and isinstance(photo.value, str) and photo.value.startswith(("http://", "https://")):
        values["photo"] = photo.value
    return {k: v for k, v in values.items() if v}


def _typed(
    values: dict[str, str], card: vobject.base.Component, name: str, special: Mapping[str, tuple[str, ...]],
    default: str, clean: Any = str.strip,
) -> None:
    """Each line of `name` goes to the characteristic its TYPE names in `special`, else to `default`;
    the first line wins."""
    for line in card.contents.get(name, []):
        types = _types(line)
        target = next((field for field, wanted in special.items() if types & set(wanted)), default)
        value = clean(str(line.value))
        if value and target not in values:
            values[target] = value


def _types(line: Any) -> set[str]:
    """TYPE parameters, upper-cased, split on commas (4.0 writes `TYPE="work,voice"`)."""
    return {t.strip().upper() for raw in line.params.get("TYPE", []) for t in raw.split(",") if t.strip()}


def _phone(raw: str) -> str:
    return re.sub(r"^tel:", "", raw.strip(), flags=re.IGNORECASE).split(";")[0].strip()


def _first(card: vobject.base.Component, name: str) -> Any:
    lines = card.contents.get(name)
    return lines[0] if lines else None


def _joined(part: Any) -> str:
    if isinstance(part, (list, tuple)):
        return " ".join(str(p).strip() for p in part if str(p).strip())
    return str(part or "").strip()


_DATE_FORMATS = (re.compile(r"^(\d{4})-(\d{2})-(\d{2})"), re.compile(r"^(\d{4})(\d{2})(\d{2})"))


def _date(raw: str) -> str | None:
    """A BDAY as an ISO date; None for a date without a year (`--0312`) or no date at all."""
    for pattern in _DATE_FORMATS:
        found = pattern.match(raw.strip())
        if found:
            try:
                return dt.date(*(int(g) for g in found.groups())).isoformat()
            except ValueError:
                return None
    return None


# -- value lists -------------------------------------------------------------------------------


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace(".", " ").split())


@functools.lru_cache(maxsize=1)
def _base_model() -> Model:
    return load_model([BASE_PACK])


@functools.lru_cache(maxsize=None)
def _list_index(list_name: str) -> dict[str, str]:
    found = _base_model().lists.get(list_name)
    index: dict[str, str] = {}
    for value in found.values if found else ():
        if not value.retired:
            for text in (value.code, value.label.en, value.label.fr):
                index.setdefault(_folded(text), value.code)
    return index


def match_value(list_name: str, text: str | None) -> str | None:
    """The code of the base pack's list value whose code or label `text` is, else None."""
    if not text or not text.strip():
        return None
    return _list_index(list_name).get(_folded(text))


# -- registration ------------------------------------------------------------------------------

LABEL = {"en": "vCard (address books)", "fr": "vCard (carnets d'adresses)"}


@hookimpl
def ossature_export_formats() -> dict[str, ExportFormat]:
    return {"vcard": ExportFormat("vcard", LABEL, "vcf", MEDIA_TYPE, write_vcards, entities=ENTITIES)}


@hookimpl
def ossature_import_formats() -> dict[str, ImportFormat]:
    return {"vcard": ImportFormat("vcard", LABEL, "vcf", MEDIA_TYPE, read_vcards, entities=ENTITIES)}
