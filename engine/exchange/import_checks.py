"""Import options checked before a job is queued: the one place the pages, the API and the command
line go through (`submit_import` calls `check_options`), so all three refuse a bad option with the
same words, in English and French, naming the option (ImportOptionError).

What is checked without the file: every value has its type, the format exists and fits the
entity, the encoding is a text encoding (`rot13` is a codec, not one), the separator is one
character that can separate cells, the chunk size is within bounds, the mapping names
characteristics the actor may fill, and the key names characteristics that can identify a
record. What needs the file (a mapped column it lacks, a header no characteristic matches) is
said by the import itself, on the file.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from plugins.host.types import ImportFormat

from engine.core.context import Actor
from engine.jobs.stored_text import describe_character, first_unstorable, printable
from .csv_source import csv_delimiter, text_encoding
from .import_keys import key_fields
from .import_mapping import ColumnMapper
from .import_messages import ImportFileError, ImportOptionError
from .import_options import ImportOptions

if TYPE_CHECKING:
    from engine.installation.runtime import Engine


def check_options(engine: Engine, entity: str, options: ImportOptions, actor: Actor, *,
                  targets: bool = True) -> ImportOptions:
    """`options` checked for an import into `entity` by `actor`, the separator and key normalised
    (`tab` becomes a tab); ImportOptionError for the first option that cannot work.

    `targets=False` leaves the mapping's targets to the import, which reports every bad one
    together with the file's other column problems (engine/exchange/import_mapping.py)."""
    options = options.typed()
    import_format(engine, entity, options.format)
    encoding = options.encoding
    if encoding is not None:
        text_encoding(encoding)
        encoding = encoding.strip()
    delimiter = csv_delimiter(options.delimiter) if options.delimiter is not None else None
    for name in options.key:
        _storable("key", name)
    for header, target in options.mapping.items():
        _storable("mapping", header)
        _storable("mapping", target)
    definition = engine.model.entity(entity)
    if targets:
        mapper = ColumnMapper(definition, engine.model, options.mapping, import_protected(engine, entity, actor))
        for header in options.mapping:
            try:
                mapper.resolve(header)
            except ImportFileError as problem:
                raise ImportOptionError("mapping", problem.key, **problem.params) from None
    try:
        key_fields(definition, options)
    except ImportFileError as problem:
        raise ImportOptionError("key", problem.key, **problem.params) from None
    return replace(options, encoding=encoding, delimiter=delimiter, key=tuple(options.key),
                   upsert=options.upsert or bool(options.key))


def import_format(engine: Engine, entity: str, name: str) -> ImportFormat | None:
    """The plugin format `name` (None for the built-in CSV); ImportOptionError if there is no such
    format or it does not fit `entity`."""
    if name == "csv":
        return None
    formats = getattr(engine.hooks, "import_formats", None)
    if formats is None:
        from plugins.host.registry import import_formats

        formats = import_formats(engine.hooks.manager)
    fmt = formats.get(name)
    if fmt is None:
        raise ImportOptionError("format", "unknown_format", format=printable(name),
                                available=", ".join(["csv", *sorted(formats)]))
    if not fmt.fits(entity):
        raise ImportOptionError("format", "format_entity", format=fmt.name, entity=entity)
    return fmt


def import_protected(engine: Engine, entity: str, actor: Actor) -> frozenset[str]:
    """The characteristics `actor` may not fill by importing into `entity` (protected or read-only)."""
    access = engine.records.permissions.access(actor, entity, "import")
    readonly = frozenset() if actor.system else engine.records.validator(entity).readonly
    return access.protected | readonly


def _storable(option: str, text: str) -> None:
    char = first_unstorable(text)
    if char is not None:
        raise ImportOptionError(option, "option_characters", option=option, character=describe_character(char))
