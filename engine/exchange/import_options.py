"""What an import is asked to do, what it reports, and the rows on their way in."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

import sqlalchemy as sa

from engine.core.errors import RuleError
from engine.jobs.service import JobError
from engine.jobs.stored_text import printable
from .import_messages import ImportFileError, ImportFileProblems, ImportOptionError
from engine.records.validation import ErrorMap

CHUNK_ROWS = 2000
MAX_CHUNK_ROWS = 50_000
"""The largest chunk an import may ask for: one chunk is one transaction, held in memory."""
REPORT_ERRORS = 1000
"""Errors an ImportReport keeps (a job keeps them all, up to its own limit)."""


@dataclass(frozen=True)
class ImportOptions:
    mapping: Mapping[str, str] = field(default_factory=dict)
    """Header -> characteristic (name or label), or "" to skip the column; overrides the automatic mapping."""
    key: tuple[str, ...] = ()
    """Fields identifying a record for an upsert; default: the entity's natural key. Implies upsert."""
    upsert: bool = False
    """Rows whose key names an existing record change it; the others create records."""
    dry_run: bool = False
    encoding: str | None = None
    """None: UTF-8 (with or without BOM) if the file is valid UTF-8, else Windows-1252."""
    delimiter: str | None = None
    """None: `;`, `,` or tab, whichever the header line uses most."""
    format: str = "csv"
    """`csv`, or the name of an import format registered by a plugin."""
    chunk_size: int = CHUNK_ROWS

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ImportOptions:
        """Options from a job's JSON parameters: unknown names and values of the wrong type are
        refused (ImportOptionError, naming the option); the values themselves are checked by
        engine/exchange/import_checks.py."""
        data = dict(data or {})
        known = tuple(cls.__dataclass_fields__)
        unknown = sorted(str(name) for name in set(data) - set(known))
        if unknown:
            raise ImportOptionError(printable(unknown[0]), "unknown_option", names=", ".join(printable(n) for n in unknown),
                                    known=", ".join(known))
        if "key" in data:
            key = data["key"] or ()
            if isinstance(key, str) or not isinstance(key, (list, tuple)):
                raise ImportOptionError("key", "option_list", option="key")
            data["key"] = tuple(key)
        if "mapping" in data:
            mapping = data["mapping"] or {}
            if not isinstance(mapping, Mapping) or not all(v is None or isinstance(v, str) for v in mapping.values()):
                raise ImportOptionError("mapping", "option_mapping", option="mapping")
            data["mapping"] = {str(k): v or "" for k, v in mapping.items()}
        return cls(**data).typed()

    def typed(self) -> ImportOptions:
        """These options if every value has its type (ImportOptionError naming the first one that has not)."""
        if not isinstance(self.mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.mapping.items()):
            raise ImportOptionError("mapping", "option_mapping", option="mapping")
        if isinstance(self.key, str) or not isinstance(self.key, (list, tuple)) or not all(
                isinstance(name, str) for name in self.key):
            raise ImportOptionError("key", "option_list", option="key")
        for name in ("upsert", "dry_run"):
            if not isinstance(getattr(self, name), bool):
                raise ImportOptionError(name, "option_flag", option=name)
        for name in ("encoding", "delimiter"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ImportOptionError(name, "option_text", option=name)
        if not isinstance(self.format, str):
            raise ImportOptionError("format", "option_text", option="format")
        size = self.chunk_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHUNK_ROWS:
            raise ImportOptionError("chunk_size", "chunk_size", max=MAX_CHUNK_ROWS, value=printable(str(size)))
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": dict(self.mapping), "key": list(self.key), "upsert": self.upsert, "dry_run": self.dry_run,
            "encoding": self.encoding, "delimiter": self.delimiter, "format": self.format,
            "chunk_size": self.chunk_size,
        }


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    entity: str
    dry_run: bool
    rows: int = 0
    """Data rows read (blank lines aside), including those of the runs before a resume."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    """Rows naming an existing record with the values it already has."""
    refused: int = 0
    error_count: int = 0
    errors: list[JobError] = field(default_factory=list)
    """The first REPORT_ERRORS errors, by row."""
    file_errors: list[JobError] = field(default_factory=list)
    """Problems that stopped the import: with its columns (a column mapping to nothing, say:
    nothing was imported) or with a row the file format cannot read (the chunks before it
    were imported; a job resumes from there once the file is fixed)."""

    def counts(self) -> dict[str, int]:
        """Counts as recorded on the job: `would_create`/`would_update` for a dry run."""
        return chunk_counts(self.dry_run, self.created, self.updated, self.unchanged, self.refused)

    def summary(self) -> dict[str, Any]:
        return {"entity": self.entity, "dry_run": self.dry_run, "rows": self.rows, **self.counts(),
                "error_count": self.error_count, "file_errors": [e.message for e in self.file_errors]}

    def add(self, rows: int, created: int, updated: int, unchanged: int, refused: int, errors: list[JobError]) -> None:
        self.rows += rows
        self.created += created
        self.updated += updated
        self.unchanged += unchanged
        self.refused += refused
        self.error_count += len(errors)
        room = REPORT_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])


def chunk_counts(dry_run: bool, created: int, updated: int, unchanged: int, refused: int) -> dict[str, int]:
    if dry_run:
        return {"would_create": created, "would_update": updated, "unchanged": unchanged, "refused": refused}
    return {"created": created, "updated": updated, "unchanged": unchanged, "refused": refused}


@contextmanager
def file_problems(report: ImportReport, ctx: ImportContext | None, done: Callable[[], int], lang: str) -> Iterator[None]:
    """Around an import's run: a problem with the file as a whole (its options, its columns, a row
    its format cannot read) stops it and goes to `report.file_errors` (and the job), in `lang`."""
    try:
        yield
    except ImportOptionError as problem:
        problems = [problem.as_file_error()]
    except ImportFileProblems as found:
        problems = list(found.problems)
    except ImportFileError as problem:
        problems = [problem]
    else:
        return
    errors = [JobError(p.row, None, p.column, p.message(lang)) for p in problems]
    report.file_errors = errors
    report.error_count += len(errors)
    if ctx is not None:
        ctx.report(done=done(), errors=errors)


def job_file(params: Mapping[str, Any], files_dir: Path) -> Path:
    """The file an import job reads: its `path` parameter, relative to the job's files folder unless absolute."""
    path = Path(params["path"])
    return path if path.is_absolute() else files_dir / path


class ImportContext(Protocol):
    """The part of `engine.jobs.service.JobContext` an import uses (tests pass a fake one)."""

    checkpoint: Any

    def set_total(self, total: int | None) -> None: ...

    def chunk_done(self, conn: sa.Connection, *, done: int, checkpoint: Any,
                   counts: Mapping[str, int] | None = None, errors: Sequence[JobError] = ()) -> None: ...

    def report(self, *, done: int, counts: Mapping[str, int] | None = None, errors: Sequence[JobError] = ()) -> None: ...


class PreparedRow:
    """One row on its way in: its number, its values by characteristic, its errors so far."""

    __slots__ = ("number", "values", "errors", "current", "unkeyed")

    def __init__(self, number: int, values: dict[str, Any]):
        self.number = number
        self.values = values
        self.errors: ErrorMap | None = None
        self.current: dict[str, Any] | None = None
        """The stored record this row changes (upsert)."""
        self.unkeyed = False
        """Its upsert key is missing, repeated or ambiguous: whether it creates or changes is unknown."""

    def fail(self, name: str, error: RuleError) -> None:
        if self.errors is None:
            self.errors = {}
        self.errors.setdefault(name, []).append(error)
