"""Exporting the lines of records (a `lines` characteristic) as a CSV file of their own.

One row per line: the first column names the record the line belongs to (its parent), as an
import reads it back (engine/exchange/lines_import.py): the parent entity's one-field natural
key when it has one the actor may see, else `#<id>`; it is headed by the parent entity's label.
The other columns are the owned entity's characteristics (not `parent_id` nor `position`),
headed by their labels and written as a records export writes them (labels of value lists,
link names, `links` members joined by ", "). The records are those of the list an export of
the parent entity would write (view, filters, search, sort), in its order, each with its lines
in their order; records without lines write no row.

Streamed: a chunk of parents (one keyset query, engine/exchange/exporter.py `Export.records`),
then their lines in one query, the lines' members and link names one query per column: memory
holds one chunk, whatever the number of lines.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import OWNED_SYSTEM_FIELDS, PARENT_FIELD, POSITION_FIELD, EntityDef

from engine.access.permissions import PermissionDenied
from engine.core.context import Actor
from engine.records.collections import read_collections
from engine.records.queries import ListRequest
from .export_values import ExportColumn, ReadableValues, export_columns
from .exporter import ExportError, Export, csv_pieces

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

PARENTS_CHUNK = 200
"""Parents read at a time: at most 1,000 lines each, so a chunk stays within 200,000 lines."""
PARENT_COLUMN = "\x00parent"
"""The key of the parent's cell in a readable row (no characteristic can be named so)."""

MESSAGES = {
    "not_lines": {"en": "{entity} has no lines characteristic '{name}' (lines characteristics: {names}).",
                  "fr": "{entity} n'a pas de caractéristique de lignes « {name} » (caractéristiques de lignes : "
                        "{names})."},
}


class LinesExportError(ExportError):
    MESSAGES = {**ExportError.MESSAGES, **MESSAGES}


class LinesExport:
    """The lines `lines` of the records of `entity`'s list `request`, for `actor`: checked on creation
    (the export permission, the characteristic, its visibility), streamed on demand."""

    def __init__(self, engine: Engine, entity: str, lines: str, request: ListRequest | None, actor: Actor, *,
                 delimiter: str = ",", lang: str | None = None, chunk_size: int = PARENTS_CHUNK):
        self.parents = Export(engine, entity, request, actor, columns=["id"], delimiter=delimiter, lang=lang,
                              chunk_size=chunk_size)
        self.engine = engine
        self.service = engine.records
        self.entity: EntityDef = self.parents.entity
        self.lang = self.parents.lang
        self.actor = actor
        found = self.entity.fields_by_name.get(lines)
        if found is None or found.type != "lines":
            names = ", ".join(f.name for f in self.entity.fields if f.type == "lines") or "-"
            raise LinesExportError("lines", "not_lines", entity=entity, name=lines, names=names)
        if lines in self.parents.access.hidden:
            raise PermissionDenied(entity, "export", f"no access to {lines}")
        self.lines = lines
        self.owned: EntityDef = engine.model.entity(found.entity)
        names = [f.name for f in self.owned.fields if f.name not in OWNED_SYSTEM_FIELDS]
        self.columns: tuple[ExportColumn, ...] = export_columns(engine.model, self.owned, names, self.lang)
        self.delimiter = delimiter
        natural = tuple(getattr(self.entity, "natural_key", ()) or ())
        key = natural[0] if len(natural) == 1 and natural[0] in self.entity.fields_by_name else None
        self.key = key if key is not None and key not in self.parents.access.hidden else None
        """The parent's one-field natural key, when the actor may read it: how the first column names parents."""

    @property
    def filename(self) -> str:
        return f"{self.entity.name}-{self.lines}.csv"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8"

    @property
    def headers(self) -> list[str]:
        return [self.entity.label.get(self.lang), *(c.header for c in self.columns)]

    def readable_chunks(self) -> Iterator[list[dict[str, Any]]]:
        """Rows of lines made readable, a chunk of parents at a time, the parent's name under PARENT_COLUMN."""
        readable = ReadableValues(self.service, self.owned, self.columns, self.actor, self.lang)
        table = self.service.table(self.owned.name)
        members = [c.name for c in self.columns if c.kind == "links"]
        owned_collections = self.service.collections(self.owned.name)
        for parents in self.parents.records():
            names = self._parent_names(parents)
            ids = [p["id"] for p in parents]
            with self.service.reading(self.actor) as tx:
                query = (sa.select(table).where(table.c[PARENT_FIELD].in_(ids))
                         .order_by(table.c[PARENT_FIELD], table.c[POSITION_FIELD]))
                found = [dict(row) for row in tx.conn.execute(query).mappings()]
                if members and found:
                    read = read_collections(tx, owned_collections, [line["id"] for line in found], members)
                    for line in found:
                        line.update(read[line["id"]])
            by_parent: dict[int, list[dict[str, Any]]] = {}
            for line in found:
                by_parent.setdefault(line[PARENT_FIELD], []).append(line)
            rows: list[dict[str, Any]] = []
            for parent_id in ids:
                lines = by_parent.get(parent_id)
                if not lines:
                    continue
                for row in readable.rows(lines):
                    row[PARENT_COLUMN] = names[parent_id]
                    rows.append(row)
            if rows:
                yield rows

    def _parent_names(self, parents: Sequence[Mapping[str, Any]]) -> dict[int, str]:
        """Each parent by its natural key (as the chunk read it), else `#<id>`."""
        names: dict[int, str] = {}
        for parent in parents:
            value = parent.get(self.key) if self.key is not None else None
            if value is None or value == "":
                names[parent["id"]] = f"#{parent['id']}"
            else:
                names[parent["id"]] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return names

    def iter_bytes(self) -> Iterator[bytes]:
        """The CSV file, piece by piece (UTF-8 with a BOM, as a records export)."""
        names = [PARENT_COLUMN, *(c.name for c in self.columns)]
        kinds = ["link", *(c.kind for c in self.columns)]
        return csv_pieces(names, [self.headers], self.readable_chunks(), kinds, self.lang, self.delimiter)

    def write(self, stream: BinaryIO) -> int:
        """Write the file to `stream`; returns the number of lines written."""
        written = 0
        names = [PARENT_COLUMN, *(c.name for c in self.columns)]
        kinds = ["link", *(c.kind for c in self.columns)]

        def counted() -> Iterator[list[dict[str, Any]]]:
            nonlocal written
            for chunk in self.readable_chunks():
                written += len(chunk)
                yield chunk

        for piece in csv_pieces(names, [self.headers], counted(), kinds, self.lang, self.delimiter):
            stream.write(piece)
        return written
