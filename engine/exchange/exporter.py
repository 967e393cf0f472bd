"""Exports: the records of a list view, with its filters, tab, search and sort, as a file.

`Export` checks everything first (the entity, the "export" permission, the format, the
columns, filters on hidden characteristics), so a page or an API call can refuse with a
proper status before the first byte is sent. Then it streams: rows come in chunks, one
short keyset query each (engine/storage/keyset.py), are made readable chunk by chunk
(engine/exchange/export_values.py: labels, link names) and written out, so memory stays flat
however many records match and nothing is held open while a slow client downloads.

Paths through links (`room.site.name`) and `links` characteristics export as they list
(engine/records/listing.py): the list's conditions come with the joins of the paths they,
the columns and the sort read (`listing.list_conditions`, `query_plan.list_sort_keys`), and a
chunk's query reads from those joins; a `links` column's members are read for the whole chunk
at once. A path's cell is the value at its end (made readable as that characteristic's); a
`links` cell names its members as a link cell names its record (natural key, else title, else
`#<id>`), sorted, joined by ", " in CSV; a name holding a comma or a double quote is written in
double quotes (engine/exchange/import_links.py `quote_member`), so that an import reads it back whole.

Formats: CSV is built in (UTF-8 with a BOM so spreadsheets read the accents, `,` or `;`
between cells, headers are the characteristics' labels in the actor's language so the file
imports back); plugins add others (`ossature_export_formats`: vCard, iCalendar...).

Large exports run as an "export" job (`submit_export`), which writes the file with progress.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa

from metamodel.field_paths import is_path
from metamodel.model import EntityDef
from plugins.host.registry import export_formats as plugin_export_formats
from plugins.host.types import ExportFormat

from engine.access.permissions import PermissionDenied
from engine.core.context import Actor
from .export_stream import pull_bytes
from .import_links import quote_member
from .export_values import SYSTEM_LABELS, ExportColumn, ExportRow, ReadableValues, export_columns
from engine.jobs.service import JobContext, job_kind
from engine.storage.keyset import after, key_items, nulls_high, order_clauses
from engine.records.collections import read_collections
from engine.records.listing import list_conditions
from engine.records.paths import PathJoins
from engine.records.queries import ListRequest, QueryError
from engine.records.query_plan import list_sort_keys
from engine.records.search import use_search_index

if TYPE_CHECKING:
    from engine.installation.runtime import Engine
    from engine.records.transaction import Transaction

CHUNK_SIZE = 500
"""Rows fetched, made readable and written at a time."""
DELIMITERS = (",", ";")
BOOLEAN_WORDS = {"en": ("yes", "no"), "fr": ("oui", "non")}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting so is written with a leading `'`, so a spreadsheet never runs it as a formula."""
PLAIN_TEXT_KINDS = frozenset({"string", "text", "rich_text", "email", "url", "link", "links"})
LINKS_SEPARATOR = ", "
"""Between the members of a `links` cell in CSV (a multi_choice's labels are joined by " | ")."""

MESSAGES = {
    "unknown_format": {"en": "There is no export format '{format}'; available: {available}.",
                       "fr": "Il n'y a pas de format d'export « {format} » ; formats disponibles : {available}."},
    "format_entity": {"en": "The {format} format exports {entities} only.",
                      "fr": "Le format {format} n'exporte que : {entities}."},
    "delimiter": {"en": "The CSV separator is ',' or ';'.", "fr": "Le séparateur CSV est « , » ou « ; »."},
    "columns": {"en": "Columns are 'view', 'all' or characteristic names.",
                "fr": "Les colonnes sont « view », « all » ou des noms de caractéristiques."},
    "unknown_column": {"en": "{entity} has no characteristic '{name}'.",
                       "fr": "{entity} n'a pas de caractéristique « {name} »."},
    "built_in": {"en": "A plugin registers an export format named 'csv', which is built in.",
                 "fr": "Un greffon déclare un format d'export nommé « csv », qui est intégré."},
}


class ExportError(QueryError):
    """An export asks for a format, a separator or columns that do not exist (the parameter is named)."""

    MESSAGES = MESSAGES


def _write_csv_default(stream: BinaryIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """CSV with the columns' names as headers, in English: what a caller of the bare format gets.
    `Export` writes CSV itself, with labels and the actor's language."""
    names = list(columns)
    rows = iter(rows)
    chunks = iter(lambda: list(itertools.islice(rows, CHUNK_SIZE)), [])
    for piece in csv_pieces(names, [names], chunks, [None] * len(names), "en", ","):
        stream.write(piece)


CSV_FORMAT = ExportFormat(
    name="csv", label={"en": "CSV (spreadsheet)", "fr": "CSV (tableur)"}, extension="csv",
    media_type="text/csv; charset=utf-8", write=_write_csv_default,
)


def export_formats(engine: Engine, entity: str | None = None) -> dict[str, ExportFormat]:
    """Every export format, CSV first, then the plugins' (only those fitting `entity` if given)."""
    found = plugin_export_formats(engine.hooks.manager)
    if "csv" in found:
        raise ExportError("format", "built_in")
    formats = {"csv": CSV_FORMAT, **found}
    return {name: f for name, f in formats.items() if entity is None or f.fits(entity)}


class Export:
    """One export: what to read, for whom, in which format. Checked on creation; streamed on demand.

    `columns`: None (the view's columns for a general format like CSV, every readable
    characteristic for an entity-specific one like vCard), "view", "all", or names.
    """

    def __init__(
        self, engine: Engine, entity: str, request: ListRequest | None, actor: Actor, *,
        format: str = "csv", columns: str | Sequence[str] | None = None, delimiter: str = ",",
        lang: str | None = None, chunk_size: int = CHUNK_SIZE,
    ):
        self.engine = engine
        self.service = engine.records
        self.table = self.service.table(entity)
        self.entity: EntityDef = engine.model.entity(entity)
        self.request = request or ListRequest()
        self.actor = actor
        self.lang = lang or actor.lang
        self.chunk_size = chunk_size
        formats = export_formats(engine)
        if format not in formats:
            raise ExportError("format", "unknown_format", format=format, available=", ".join(sorted(formats)))
        self.format = formats[format]
        if not self.format.fits(entity):
            raise ExportError("format", "format_entity", format=format, entities=", ".join(sorted(self.format.entities)))
        if delimiter not in DELIMITERS:
            raise ExportError("delimiter", "delimiter")
        self.delimiter = delimiter
        with self.service.reading(actor) as tx:
            self.access = tx.access(entity, "export")
            # refuses naming a hidden characteristic (on the way of a path too); checks the view's `where`
            self._joins = list_conditions(self.service, tx, entity, self.request, self.access)[1]
        self.columns: tuple[ExportColumn, ...] = export_columns(
            engine.model, self.entity, self._column_names(columns), self.lang
        )

    # -- what is exported ---------------------------------------------------------------

    @property
    def filename(self) -> str:
        view = "" if self.request.view == "list" else f"-{self.request.view}"
        return f"{self.entity.name}{view}.{self.format.extension}"

    @property
    def media_type(self) -> str:
        return self.format.media_type

    def count(self) -> int:
        with self.service.reading(self.actor) as tx:
            conditions, joins = self._conditions(tx)
            return tx.conn.execute(
                sa.select(sa.func.count()).select_from(joins.select_from(*conditions)).where(*conditions)
            ).scalar_one()

    def records(self) -> Iterator[list[dict[str, Any]]]:
        """The matching records as stored (without hidden characteristics), in chunks, in the list's order;
        a path column's value under its text, a `links` column's sorted member ids.

        One short query per chunk (engine/storage/keyset.py): nothing stays open between chunks, so a
        slow reader holds no connection and, on SQLite, blocks no writer. The members of the chunk's
        `links` columns: one more query per column and chunk, never one per record.
        """
        sort = self._ordered_request().sort
        high = nulls_high(self.service.db.dialect.name)
        with self.service.reading(self.actor) as tx:  # the quick search's candidates, found once
            conditions, joins = self._conditions(tx)
        keys = list_sort_keys(self.table, sort, joins)
        key_names = [name for name, _ in key_items(sort)]
        shown: list[Any] = [c for c in self.table.c if c.name not in self.access.hidden]
        shown += [joins.labelled(name) for name in dict.fromkeys((*self.names, *key_names)) if is_path(name)]
        order = order_clauses(keys, high)
        links = [c.name for c in self.columns if c.kind == "links"]
        last: list[Any] | None = None
        while True:
            where = conditions if last is None else [*conditions, after(keys, last, high)]
            query = (sa.select(*shown).select_from(joins.select_from(*where, *shown, *order))
                     .where(*where).order_by(*order).limit(self.chunk_size))
            with self.service.reading(self.actor) as tx:
                tx.access(self.entity.name, "export")
                found = tx.conn.execute(query)
                names = list(found.keys())
                chunk = [dict(zip(names, row)) for row in found.all()]
                if links and chunk:
                    members = read_collections(tx, self.service.collections(self.entity.name),
                                               [row["id"] for row in chunk], links)
                    for row in chunk:
                        row.update(members[row["id"]])
            if not chunk:
                return
            yield chunk
            if len(chunk) < self.chunk_size:
                return
            last = [chunk[-1][name] for name in key_names]

    def readable_chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[list[ExportRow]]:
        """The records made readable (export_values.ExportRow), chunk by chunk; `progress(done)` is
        called once a chunk has been consumed (written), with the number of records done so far."""
        readable = ReadableValues(self.service, self.entity, self.columns, self.actor, self.lang,
                                  member_fields=self.format.member_fields)
        done = 0
        for chunk in self.records():
            yield readable.rows(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)

    def rows(self, progress: Callable[[int], None] | None = None) -> Iterator[ExportRow]:
        """Readable rows, one at a time (what a plugin's format writes)."""
        for chunk in self.readable_chunks(progress):
            yield from chunk

    # -- writing ------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def iter_bytes(self) -> Iterator[bytes]:
        """The file, piece by piece, for an HTTP response (CSV directly, other formats via a writer thread)."""
        if self.format is CSV_FORMAT:
            return self._csv_pieces()
        return pull_bytes(self._write_format)

    def started_bytes(self) -> Iterator[bytes]:
        """`iter_bytes` with its first piece already made: the query runs now, so a value the
        database refuses raises here, before an HTTP response starts, not midway through a file."""
        pieces = self.iter_bytes()
        first = next(pieces, b"")
        return itertools.chain([first], pieces)

    def write(self, stream: BinaryIO, progress: Callable[[int], None] | None = None) -> int:
        """Write the whole file to `stream`; returns the number of records written."""
        counter = _Counter(progress)
        if self.format is CSV_FORMAT:
            for piece in self._csv_pieces(counter):
                stream.write(piece)
        else:
            self._write_format(stream, counter)
        return counter.done

    def _write_format(self, stream: BinaryIO, progress: Callable[[int], None] | None = None) -> None:
        self.format.write(stream, self.names, self.rows(progress))

    def _csv_pieces(self, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        headers = [[c.header for c in self.columns]]
        kinds = [c.kind for c in self.columns]
        return csv_pieces(self.names, headers, self.readable_chunks(progress), kinds, self.lang, self.delimiter)

    # -- internals ----------------------------------------------------------------------

    def _column_names(self, columns: str | Sequence[str] | None) -> list[str]:
        if columns is None:
            columns = "all" if self.format.entities else "view"
        if columns == "view":
            wanted = list(self.entity.view(self.request.view).columns) or [f.name for f in self.entity.fields]
            return [n for n in wanted if n != "deleted_at" and not self._hidden(n)]
        if columns == "all":
            return [f.name for f in self.entity.fields if f.name not in self.access.hidden and f.type != "lines"]
        if isinstance(columns, str) or not columns:
            raise ExportError("columns", "columns")
        names = list(dict.fromkeys(columns))
        self.service.permissions.check_fields(self.access, [n for n in names if not is_path(n)], "export")
        unknown = [n for n in names if not self._known(n)]
        if unknown:
            raise ExportError("columns", "unknown_column", entity=self.entity.name, name=unknown[0])
        hidden = [n for n in names if is_path(n) and self._hidden(n)]
        if hidden:
            raise PermissionDenied(self.entity.name, "export", f"no access to {', '.join(hidden)}")
        return names

    def _known(self, name: str) -> bool:
        """A characteristic (not `lines`), a system column, or a path the model reads from the entity."""
        if name in self.entity.fields_by_name:
            return self.entity.field(name).type != "lines"
        if name in SYSTEM_LABELS:
            return True
        if not is_path(name):
            return False
        try:
            self._joins.path(name)
        except ValueError:  # metamodel.field_paths.PathError
            return False
        return True

    def _hidden(self, name: str) -> bool:
        """Whether the actor may not see `name` (a path: on its way or at its end)."""
        if is_path(name):
            return self._joins.reader.is_hidden(self._joins.path(name))
        return name in self.access.hidden

    def _conditions(self, tx: Transaction) -> tuple[list[sa.ColumnElement[bool]], PathJoins]:
        """The list's conditions (scope included) and the joins of the paths they read; the quick
        search's index weighs the table's own conditions only (a path's is read through its join)."""
        conditions, joins = list_conditions(self.service, tx, self.entity.name, self.request, self.access)
        own = [c for c in conditions if not joins.reads_joins(c)]
        return use_search_index(tx.conn, self.table, own) + [c for c in conditions if joins.reads_joins(c)], joins

    def _ordered_request(self) -> ListRequest:
        """A grouped list shows each group's rows together: the export keeps that order."""
        request = self.request
        if request.group and (not request.sort or request.sort[0].lstrip("-") != request.group):
            return request.replace(sort=(request.group, *request.sort))
        return request


class _Counter:
    def __init__(self, progress: Callable[[int], None] | None):
        self.done = 0
        self.progress = progress

    def __call__(self, done: int) -> None:
        self.done = done
        if self.progress is not None:
            self.progress(done)


# -- CSV ---------------------------------------------------------------------------------------


def csv_pieces(
    names: Sequence[str], headers: Sequence[Sequence[str]], chunks: Iterable[Sequence[Mapping[str, Any]]],
    kinds: Sequence[str | None], lang: str, delimiter: str,
) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM) of `chunks` of readable rows: one piece of bytes per chunk, the
    header rows coming with the first one."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(headers)
    pending = codecs.BOM_UTF8
    for chunk in chunks:
        writer.writerows([cell_text(row.get(name), kind, lang) for name, kind in zip(names, kinds)] for row in chunk)
        yield pending + buffer.getvalue().encode("utf-8")
        pending = b""
        buffer.seek(0)
        buffer.truncate()
    if pending or buffer.tell():
        yield pending + buffer.getvalue().encode("utf-8")


def cell_text(value: Any, kind: str | None, lang: str) -> str:
    """One CSV cell as people read it: ISO dates, decimals with a dot, yes/no (oui/non), labels joined by " | "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        yes, no = BOOLEAN_WORDS.get(lang, BOOLEAN_WORDS["en"])
        return yes if value else no
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (tuple, list)):
        if kind != "links":
            return " | ".join(str(v) for v in value)
        value = LINKS_SEPARATOR.join(quote_member(str(v)) for v in value)
    text = str(value)
    if kind in PLAIN_TEXT_KINDS and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


# -- the export job --------------------------------------------------------------------------

KIND = "export"


def submit_export(
    engine: Engine, entity: str, request: ListRequest | None, actor: Actor, *, format: str = "csv",
    columns: str | Sequence[str] | None = None, delimiter: str = ",",
) -> int:
    """Check the export now (errors raise at once), then queue it as a job; returns the job id."""
    Export(engine, entity, request, actor, format=format, columns=columns, delimiter=delimiter)
    params = {
        "entity": entity, "args": (request or ListRequest()).to_args(), "format": format,
        "columns": columns if columns is None or isinstance(columns, str) else list(columns), "delimiter": delimiter,
    }
    return engine.jobs.submit(KIND, params, actor, entity=entity)


@job_kind(KIND)
def run_export(ctx: JobContext) -> dict[str, Any]:
    """Write the export to the job's output file, reporting progress after every chunk.

    An export writes no records, so a resumed job simply writes the file again.
    """
    params = ctx.params
    entity = params["entity"]
    request = ctx.engine.records.list_request(entity, params.get("args") or {})
    export = Export(
        ctx.engine, entity, request, ctx.actor, format=params.get("format", "csv"), columns=params.get("columns"),
        delimiter=params.get("delimiter", ","), chunk_size=2 * CHUNK_SIZE,
    )
    ctx.set_total(export.count())
    path = ctx.output(export.filename, export.media_type)
    reported = 0

    def progress(done: int) -> None:
        nonlocal reported
        ctx.report(done=done, counts={"exported": done - reported})
        reported = done

    try:
        with path.open("wb") as out:
            written = export.write(out, progress)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return {"exported": written, "format": export.format.name, "file": export.filename}

