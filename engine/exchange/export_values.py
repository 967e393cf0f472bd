"""Stored values as people read them, for exports: labels instead of codes, names instead of ids.

An export's rows carry, per column, what a reader expects in a file: the label of a choice
or a status in the actor's language, the labels of a multi_choice (a tuple), and for a link
the target's natural key value (when it has a one-field `natural_key`, so that an import
resolves it back) or else its title, or `#<id>` when the actor may not see the target.
A `links` characteristic's members are named the same way, as a tuple sorted A to Z. A path
through links (`room.site.name`) is made readable as the characteristic it ends on, and
headed by the labels of its steps and field ("Room › Site › Name").
Numbers, dates and booleans stay typed: each file format writes them its own way.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from metamodel.field_paths import is_path
from metamodel.model import EntityDef, FieldDef, Model, Text

from engine.core.context import Actor
from engine.access.permissions import PermissionDenied
from engine.records.queries import QueryError

if TYPE_CHECKING:
    from engine.records.service import RecordService

LOOKUP_CHUNK = 500
PATH_SEPARATOR = " › "
"""Between the labels of a path's steps and field in a header (as the list pages write it)."""
CODED_TYPES = frozenset({"choice", "status", "multi_choice"})

SYSTEM_LABELS: dict[str, Text] = {
    "id": Text("No.", "N°"),
    "created_at": Text("Created", "Créé le"),
    "created_by": Text("Created by", "Créé par"),
    "updated_at": Text("Updated", "Modifié le"),
    "updated_by": Text("Updated by", "Modifié par"),
    "version": Text("Version", "Version"),
}
"""Headers of the system columns a list view may show (the pages use the same words)."""
SYSTEM_KINDS = {"created_at": "datetime", "updated_at": "datetime", "created_by": "link", "updated_by": "link"}


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: the characteristic (or system column), its header and its kind."""

    name: str
    header: str
    kind: str
    """The characteristic's type (`integer` for `id` and `version`, `link` for `created_by`...);
    a path's: the type of the characteristic it ends on."""
    target: str | None = None
    """The linked entity, for a link or a links."""


class ExportRow(dict):
    """A row of readable values by column name, plus `id`; `stored` holds the record as stored
    (codes, ids), for a format that maps codes itself (an iCalendar STATUS, say)."""

    __slots__ = ("stored", "members")

    def __init__(self, values: Mapping[str, Any], stored: Mapping[str, Any],
                 members: Mapping[str, list[dict[str, Any]]] | None = None):
        super().__init__(values)
        self.stored = stored
        self.members = members or {}
        """Characteristic -> the records it names, with the fields a format asks for
        (`ExportFormat.member_fields`)."""


def export_columns(model: Model, entity: EntityDef, names: Sequence[str], lang: str) -> tuple[ExportColumn, ...]:
    """The columns named `names` (characteristics, paths through links or system columns),
    headed by their labels.

    Two characteristics sharing a label are both headed by their names, so that every header
    maps back to one characteristic when the file is imported.
    """
    columns = []
    for name in names:
        definition = column_field(model, entity, name)
        if definition is not None:
            kind, target = definition.type, None
            if kind in ("link", "links"):
                target = definition.entity  # a path may end on a `created_by`, which names a user:
                if target is None and SYSTEM_KINDS.get(definition.name) == "link" and "user" in model.entities:
                    target = "user"
                kind = kind if target else "integer"
            columns.append(ExportColumn(name, _header(model, entity, name, definition, lang), kind, target))
        elif name in SYSTEM_LABELS:
            kind, target = SYSTEM_KINDS.get(name, "integer"), None
            if kind == "link":
                target = "user" if "user" in model.entities else None
                kind = "link" if target else "integer"
            columns.append(ExportColumn(name, SYSTEM_LABELS[name].get(lang), kind, target))
        else:
            raise QueryError("columns", "unknown_field", entity=entity.name, name=name)
    seen: dict[str, int] = {}
    for column in columns:
        seen[column.header.casefold()] = seen.get(column.header.casefold(), 0) + 1
    return tuple(
        ExportColumn(c.name, c.name, c.kind, c.target) if seen[c.header.casefold()] > 1 else c for c in columns
    )


def column_field(model: Model, entity: EntityDef, name: str) -> FieldDef | None:
    """The characteristic a column shows: the entity's own, or the one a path ends on (None for a
    system column or an unknown name)."""
    found = entity.fields_by_name.get(name)
    if found is None and is_path(name):
        try:
            return model.path(entity.name, name).field
        except ValueError:  # metamodel.field_paths.PathError: an unknown path
            return None
    return found


def _header(model: Model, entity: EntityDef, name: str, definition: FieldDef, lang: str) -> str:
    if not is_path(name):
        return definition.label.get(lang)
    path = model.path(entity.name, name)
    return PATH_SEPARATOR.join(f.label.get(lang) for f in (*path.steps, path.field))


class ReadableValues:
    """Turns chunks of stored records into `ExportRow`s, for one export (one actor, one language).

    Link names (links' members too) are read once per chunk and target entity (a query per 500
    ids), never per row.
    """

    def __init__(self, service: RecordService, entity: EntityDef, columns: Sequence[ExportColumn], actor: Actor,
                 lang: str, member_fields: Mapping[str, Sequence[str]] | None = None):
        self.service = service
        self.entity = entity
        self.columns = tuple(columns)
        self.actor = actor
        model = service.model
        self.labels: dict[str, dict[str, str]] = {}
        for column in self.columns:
            definition = column_field(model, entity, column.name)
            if definition is not None and column.kind in CODED_TYPES:
                self.labels[column.name] = _value_labels(model, definition, lang)
        self.links = [c for c in self.columns if c.kind in ("link", "links") and c.target]
        self.member_fields = {c.name: (c, tuple(member_fields[c.name])) for c in self.links
                              if member_fields and c.name in member_fields}

    def rows(self, records: Sequence[Mapping[str, Any]]) -> list[ExportRow]:
        names = self._link_names(records)
        read = self._member_records(records)
        converted = []
        for record in records:
            values: dict[str, Any] = {"id": record.get("id")}
            for column in self.columns:
                values[column.name] = self._readable(column, record.get(column.name), names)
            members = {}
            for name, (column, _) in self.member_fields.items():
                value = record.get(name)
                ids = (value or ()) if column.kind == "links" else (() if value is None else (value,))
                known = read.get(column.target or "", {})
                members[name] = [known[i] for i in ids if i in known]
            converted.append(ExportRow(values, record, members))
        return converted

    def _member_records(self, records: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
        """Target -> id -> the fields the format asks for, of the records the chunk's rows name:
        one query per target and LOOKUP_CHUNK ids, in the actor's scope, hidden fields left out."""
        wanted: dict[str, tuple[set[int], set[str]]] = {}
        for name, (column, fields) in self.member_fields.items():
            ids, asked = wanted.setdefault(column.target or "", (set(), set()))
            asked.update(fields)
            for record in records:
                value = record.get(name)
                ids.update((value or ()) if column.kind == "links" else (() if value is None else (value,)))
        return {target: member_records(self.service, target, ids, asked, self.actor)
                for target, (ids, asked) in wanted.items() if ids}

    def _readable(self, column: ExportColumn, value: Any, names: Mapping[str, Mapping[int, str]]) -> Any:
        if value is None:
            return None
        if column.kind == "link":
            return names.get(column.target or "", {}).get(value, f"#{value}") if column.target else value
        if column.kind == "links":
            known = names.get(column.target or "", {})
            return tuple(sorted((known.get(member, f"#{member}") for member in value), key=str.casefold))
        labels = self.labels.get(column.name)
        if labels is None:
            return value
        if column.kind == "multi_choice":
            return tuple(labels.get(code, code) for code in value)
        return labels.get(value, value)

    def _link_names(self, records: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, str]]:
        wanted: dict[str, set[int]] = {}
        for column in self.links:
            ids = wanted.setdefault(column.target or "", set())
            if column.kind == "links":
                ids.update(member for r in records for member in r.get(column.name) or ())
            else:
                ids.update(r[column.name] for r in records if r.get(column.name) is not None)
        return {target: link_names(self.service, target, ids, self.actor) for target, ids in wanted.items() if ids}


def link_names(service: RecordService, target: str, ids: Iterable[int], actor: Actor) -> dict[int, str]:
    """How an export names the records `ids` of `target`: natural key value, else title.

    Records the actor may not see (out of their scope, or an entity they may not read) are
    left out; the caller writes them `#<id>`, which an import reads back as a record number.
    """
    wanted = sorted(set(ids))
    try:
        access = service.permissions.access(actor, target)
        access.require("read")
    except PermissionDenied:
        return {}
    found: dict[int, str] = {}
    definition = service.model.entity(target)
    key = tuple(getattr(definition, "natural_key", ()) or ())
    if len(key) == 1 and key[0] in definition.fields_by_name and key[0] not in access.hidden:
        table = service.table(target)
        query = sa.select(table.c.id, table.c[key[0]]).where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        scope = service.permissions.scope_condition(access, actor, table)
        if scope is not None:
            query = query.where(scope)
        with service.reading(actor) as tx:
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                for record_id, value in tx.conn.execute(query, {"ids": wanted[start : start + LOOKUP_CHUNK]}):
                    if value is not None and value != "":
                        found[record_id] = value.isoformat() if isinstance(value, dt.date) else str(value)
    missing = [i for i in wanted if i not in found]
    if missing:
        found.update(service.titles(target, missing, actor=actor))
    return found


def member_records(service: RecordService, target: str, ids: Iterable[int], fields: Iterable[str],
                   actor: Actor) -> dict[int, dict[str, Any]]:
    """id -> `{"id", <fields>}` of the live records `ids` of `target` the actor may read, with
    those of `fields` that are characteristics the actor may see (the others left out)."""
    try:
        access = service.permissions.access(actor, target)
        access.require("read")
    except PermissionDenied:
        return {}
    definition = service.model.entity(target)
    table = service.table(target)
    names = [f for f in dict.fromkeys(fields) if f in definition.fields_by_name and f not in access.hidden
             and f in table.c]
    query = sa.select(table.c.id, *(table.c[f] for f in names)).where(
        table.c.id.in_(sa.bindparam("ids", expanding=True)), table.c.deleted_at.is_(None))
    scope = service.permissions.scope_condition(access, actor, table)
    if scope is not None:
        query = query.where(scope)
    wanted = sorted(set(ids))
    found: dict[int, dict[str, Any]] = {}
    with service.reading(actor) as tx:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            for row in tx.conn.execute(query, {"ids": wanted[start : start + LOOKUP_CHUNK]}).mappings():
                found[row["id"]] = dict(row)
    return found


def _value_labels(model: Model, definition: FieldDef, lang: str) -> dict[str, str]:
    if definition.type == "status" and definition.workflow:
        return {s.code: s.label.get(lang) for s in model.workflow(definition.workflow).statuses}
    if definition.list:
        return {v.code: v.label.get(lang) for v in model.value_list(definition.list).values}
    return {}


_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\s*/?\s*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(rich: str | None) -> str:
    """A rich_text value (sanitized HTML) as plain text: line breaks kept, tags dropped."""
    if not rich:
        return ""
    text = _TAGS.sub("", _BREAKS.sub("\n", rich))
    lines = [line.strip() for line in html.unescape(text).replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

