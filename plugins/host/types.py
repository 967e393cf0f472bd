"""The values plugins register: field formats and import/export formats.

Plain frozen dataclasses with no dependency on the engine, so that a third-party
plugin can build them without importing anything heavier than this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Sequence

Texts = Mapping[str, str]
"""Words in every supported language: `{"en": ..., "fr": ...}`."""


@dataclass(frozen=True)
class FieldFormat:
    """A field type built on a base type, used in YAML as `format: siret` on a characteristic.

    The engine first loads the value through the base type's rules (so `check` always
    receives a typed value, never an empty one), then refuses it when `check` returns
    False, with `message` in the user's language.
    """

    name: str
    base_types: frozenset[str]
    """The characteristic types this format applies to, e.g. `frozenset({"string"})`."""
    check: Callable[[Any], bool]
    message: Texts
    """Why a value was refused, e.g. `{"en": "Not a valid SIRET number.", "fr": "Numéro SIRET invalide."}`."""

    def describe(self, lang: str | None = "en") -> str:
        return self.message.get(lang or "en") or self.message["en"]


@dataclass(frozen=True)
class ImportFormat:
    """A file format records can be imported from.

    `read(stream)` yields one mapping per row, from column name to raw value (strings
    are fine: the engine loads them through each characteristic's rules).
    """

    name: str
    label: Texts
    extension: str
    """Without the dot: `csv`, `xlsx`, `vcf`."""
    media_type: str
    read: Callable[[BinaryIO], Iterator[Mapping[str, Any]] | Iterable[Mapping[str, Any]]]
    entities: frozenset[str] = frozenset()
    """The entities this format fits (a vCard holds contacts); empty: every entity."""

    def fits(self, entity: str) -> bool:
        return not self.entities or entity in self.entities


@dataclass(frozen=True)
class ExportFormat:
    """A file format records can be exported to.

    `write(stream, columns, rows)` writes the rows, in order, with the given columns
    (characteristic names) and returns nothing. Rows come as an iterable so that a
    large export streams instead of sitting in memory.
    Each row maps every column (and `id`) to its value as people read it: choice and status
    labels in the user's language, a multi_choice as a tuple of labels, a link as the target's
    natural key value or title; numbers, dates and booleans stay typed. Its `stored` attribute
    holds the record as stored (codes, ids).
    """

    name: str
    label: Texts
    extension: str
    media_type: str
    write: Callable[[BinaryIO, Sequence[str], Iterable[Mapping[str, Any]]], None]
    entities: frozenset[str] = frozenset()
    """The entities this format fits (iCalendar holds events); empty: every entity."""
    member_fields: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Link or links characteristic -> fields of the records it names that the format writes
    (an iCalendar ATTENDEE needs the contact's email and name): each row then carries them in
    `row.members` (characteristic -> list of mappings with `id` and those fields, in the
    members' order), read for a whole chunk of rows; records and fields the user may not read
    are left out."""

    def fits(self, entity: str) -> bool:
        return not self.entities or entity in self.entities
