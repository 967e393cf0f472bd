"""The mapping step of an import: the file's columns, a few of their values, and where each would go.

The proposal is the importer's own automatic mapping (`engine.exchange.import_mapping.ColumnMapper`),
so what the page proposes is exactly what an import without an explicit mapping would do.
Only the first rows are read: the page stays quick however large the file.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from engine import Actor, Engine
from engine.exchange.csv_source import open_csv
from engine.exchange.import_mapping import ColumnMapper
from engine.exchange.import_messages import ImportFileError, ImportFileProblems, ImportOptionError, import_message
from engine.jobs.failures import log_failure
from engine.jobs.stored_text import printable
from plugins.host.registry import import_formats
from plugins.host.types import ImportFormat

log = logging.getLogger(__name__)

SAMPLE_ROWS = 3
PLUGIN_ROWS = 20
"""Rows of a plugin format read to find its columns (a vCard has a field only when set)."""
SAMPLE_WIDTH = 60


@dataclass(frozen=True)
class ColumnChoice:
    index: int
    header: str
    samples: tuple[str, ...]
    proposed: str
    """The characteristic proposed, or "" (skip)."""
    note: str | None
    """Why nothing is proposed (no characteristic has that name...)."""


@dataclass(frozen=True)
class FilePreview:
    columns: tuple[ColumnChoice, ...]
    encoding: str | None
    """What the file was read as (found, or the one given); None for a plugin format."""
    delimiter: str | None
    error: str | None
    """Why the file cannot be read at all (the page then offers other settings)."""


def entity_import_formats(engine: Engine, entity: str) -> dict[str, ImportFormat]:
    """The plugins' import formats that fit `entity` (CSV, built in, is not among them)."""
    formats = getattr(engine.hooks, "import_formats", None)
    if formats is None:
        formats = import_formats(engine.hooks.manager)
    return {name: fmt for name, fmt in formats.items() if fmt.fits(entity)}


def importable_fields(engine: Engine, entity: str, actor: Actor) -> list[tuple[str, str]]:
    """(name, label) of the characteristics `actor` may fill by importing into `entity`."""
    lang = actor.lang
    blocked = _blocked(engine, entity, actor)
    return [(f.name, f.label.get(lang)) for f in engine.model.entity(entity).fields if f.name not in blocked]


def _blocked(engine: Engine, entity: str, actor: Actor) -> frozenset[str]:
    access = engine.records.permissions.access(actor, entity)
    readonly = frozenset() if actor.system else engine.records.validator(entity).readonly
    return access.protected | readonly


def preview_file(
    engine: Engine, entity: str, path: Path, actor: Actor, *, format: str = "csv",
    encoding: str | None = None, delimiter: str | None = None,
) -> FilePreview:
    lang = actor.lang
    mapper = ColumnMapper(engine.model.entity(entity), engine.model, protected=_blocked(engine, entity, actor))
    try:
        if format == "csv":
            with open_csv(path, encoding=encoding, delimiter=delimiter) as source:
                headers = [h for h in source.header if h]
                rows = [values for _, values in itertools.islice(source, SAMPLE_ROWS)]
                found_encoding, found_delimiter = source.encoding, source.delimiter
        else:
            fmt = entity_import_formats(engine, entity).get(format)
            if fmt is None:
                raise ImportFileError("format_entity", {"format": format, "entity": entity})
            headers, rows = _plugin_columns(fmt, path)
            found_encoding = found_delimiter = None
    except (ImportFileError, ImportOptionError) as error:
        return FilePreview((), encoding, delimiter, error.message(lang))
    except ImportFileProblems as problems:
        return FilePreview((), encoding, delimiter, " ".join(p.message(lang) for p in problems.problems))
    except Exception as error:  # a plugin's parser refusing the file: its own words, else an error id
        return FilePreview((), None, None, _parser_failure(error, format, lang))
    columns = []
    for index, header in enumerate(headers):
        proposed, note = "", None
        try:
            column = mapper.resolve(header)
            proposed = column.field.name if column is not None else ""
        except ImportFileError as error:
            note = error.message(lang)
        samples = tuple(_sample(row.get(header)) for row in rows if _sample(row.get(header)))
        columns.append(ColumnChoice(index, header, samples, proposed, note))
    return FilePreview(tuple(columns), found_encoding, found_delimiter, None)


def _parser_failure(error: Exception, format: str, lang: str) -> str:
    """What the page says when a plugin's parser refuses the file: the plugin's words if it has
    some for people, else a sentence with the id under which the error was logged."""
    described = getattr(error, "message", None)
    if callable(described):
        try:
            text = described(lang)
        except Exception:
            text = None
        if isinstance(text, str) and text:
            return printable(text)
    error_id = log_failure(log, error, "import preview: format %s could not read the file", format)
    return import_message("format_unreadable_id", lang, {"format": format, "error_id": error_id})


def _plugin_columns(fmt: ImportFormat, path: Path) -> tuple[list[str], list[Mapping[str, Any]]]:
    headers: dict[str, None] = {}
    rows: list[Mapping[str, Any]] = []
    with path.open("rb") as stream:
        for row in itertools.islice(fmt.read(stream), PLUGIN_ROWS):
            headers.update((str(key), None) for key in row if key)
            rows.append({str(k): v for k, v in row.items() if k})
    return list(headers), rows


def _sample(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= SAMPLE_WIDTH else text[: SAMPLE_WIDTH - 1] + "…"


def mapping_problems(
    engine: Engine, entity: str, actor: Actor, mapping: Mapping[str, str], key: Iterable[str]
) -> list[tuple[str, str]]:
    """(words key, field) for each chosen target the actor may not fill and each unknown key field."""
    allowed = {name for name, _ in importable_fields(engine, entity, actor)}
    fields = engine.model.entity(entity).fields_by_name
    problems = [("import_bad_mapping", target) for target in mapping.values() if target and target not in allowed]
    problems += [("import_bad_key", name) for name in key if name not in fields]
    return problems
