"""`ossature import ENTITY FILE`: import records from a CSV file (or a plugin's format), as a job.

`--lines NAME` imports the file as the lines of ENTITY's `lines` characteristic NAME instead
(engine/exchange/lines_import.py: one row per line, the first column naming the record).

The import runs as a job of this process (so it is recorded, reports its errors row by row,
and a run killed midway can be resumed from the jobs page or API), with a progress bar on
stderr; then the counts and the first errors are shown. Exit status 0 when the job finished
(rows refused or not: they are listed), 1 when it failed or could not start.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from ossature.cli import cli

SHOWN_ERRORS = 20
POLL_SECONDS = 0.2
OPTION_FLAGS = {"mapping": "--map", "key": "--key", "upsert": "--upsert", "dry_run": "--dry-run",
                "encoding": "--encoding", "delimiter": "--delimiter", "format": "--format", "lines": "--lines"}
"""The command's option for each import option the engine may refuse (ImportOptionError.parameter)."""


@cli.command("import")
@click.argument("entity")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "mappings", multiple=True, metavar="HEADER=FIELD",
              help="Map a column to a characteristic (name or label); HEADER= skips the column. Repeatable.")
@click.option("--upsert", is_flag=True, help="Update the records the key names; create the others.")
@click.option("--key", "key", multiple=True, metavar="FIELD",
              help="A field identifying a record for --upsert (default: the entity's natural key). Repeatable.")
@click.option("--dry-run", is_flag=True, help="Check every row and report, without writing anything.")
@click.option("--encoding", default=None, help="The file's encoding (default: UTF-8 if valid, else Windows-1252).")
@click.option("--delimiter", default=None, help="The CSV separator (default: ';', ',' or tab, from the header).")
@click.option("--format", "file_format", default="csv", show_default=True, help="csv, or a plugin's import format.")
@click.option("--lines", "lines", default=None, metavar="NAME",
              help="FILE holds the lines of ENTITY's lines characteristic NAME: one row per line, the first column "
                   "naming the record (natural key or #id); each record named gets exactly the file's lines.")
@click.option("--user", "username", default=None, help="Import as this user (their roles apply); default: the system.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="The language of the error messages.")
def import_command(
    entity: str, file: Path, mappings: tuple[str, ...], upsert: bool, key: tuple[str, ...], dry_run: bool,
    encoding: str | None, delimiter: str | None, file_format: str, lines: str | None, username: str | None,
    lang: str,
) -> None:
    """Import records into ENTITY from FILE.

    Columns map to characteristics by name or label (English or French); value lists take
    codes or labels; links take the target's natural key value or a record number (#12).

    Example: ossature import contact contacts.csv --upsert --map "Société=account"

    Lines: ossature import quote quote-items.csv --lines items
    """
    from engine import Actor, EngineError
    from engine.exchange.importer import ImportOptionError, ImportOptions, submit_import
    from engine.exchange.lines_import import submit_import_lines
    from engine.installation import settings
    from ossature.commands.common import accounts_of
    from ossature.commands.common import configured_model, database_failure, fail, open_engine, require_migrated

    mapping: dict[str, str] = {}
    for item in mappings:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            fail([f"error: --map {item!r}: expected HEADER=FIELD (or HEADER= to skip the column)"])
        mapping[header.strip()] = field.strip()
    options = ImportOptions(mapping=mapping, key=key, upsert=upsert or bool(key), dry_run=dry_run,
                            encoding=encoding, delimiter=delimiter, format=file_format)
    model = configured_model()
    if entity not in model.entities:
        fail([f"error: no entity '{entity}' (entities: {', '.join(sorted(model.entities))})"])
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        actor = Actor(system=True, lang=lang)
        if username is not None:
            accounts = accounts_of(engine)
            if accounts is None:
                fail(["error: --user: the definitions have no `user` entity"])
            actor = accounts.actor_for(accounts.user_id(username), lang=lang)
        if lines is None:
            job_id = submit_import(engine, entity, file, options, actor)
        else:
            job_id = submit_import_lines(engine, entity, lines, file, options, actor)
        job = follow(engine, job_id, actor)
        errors = engine.jobs.errors(job_id, actor, limit=SHOWN_ERRORS)
    except ImportOptionError as error:  # the engine's checks: the same words as the pages and the API
        fail([f"error: {OPTION_FLAGS.get(error.parameter, error.parameter)}: {error.message(lang)}"])
    except EngineError as error:
        message = getattr(error, "message", None)
        fail([f"error: {message(lang) if callable(message) else error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    if job["state"] != "done":
        fail([f"error: import {job['state']}: {job['message'] or ''}".rstrip(": ")]
             + [describe_error(e) for e in errors])
    click.echo(summary(entity, job, dry_run) if lines is None else lines_summary(entity, lines, job, dry_run))
    for error in errors:
        click.echo(describe_error(error), err=True)
    more = (job["error_count"] or 0) - len(errors)
    if more > 0:
        click.echo(f"... and {more} more error(s): see job {job_id}", err=True)


def follow(engine, job_id: int, actor) -> dict:
    """Wait for the job, showing its progress on stderr; Ctrl-C cancels it (after its current chunk)."""
    bar = None
    shown = 0
    try:
        while True:
            job = engine.jobs.get(job_id, actor)
            if bar is None and job["total"]:
                bar = click.progressbar(length=job["total"], label="importing", file=sys.stderr)
                bar.__enter__()
            done = job["done"] or 0
            if bar is not None and done > shown:
                bar.update(min(done, bar.length) - shown)
                shown = min(done, bar.length)
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        engine.jobs.cancel(job_id, actor)
        click.echo("\ncancelling: the rows imported so far stay", err=True)
        return engine.jobs.wait(job_id, timeout=300)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def summary(entity: str, job: dict, dry_run: bool) -> str:
    counts = job["counts"] or {}
    rows = job["done"] or 0
    if dry_run:
        return (f"{entity}: {rows} row(s) checked (dry run, nothing written): {counts.get('would_create', 0)} "
                f"would be created, {counts.get('would_update', 0)} updated, {counts.get('unchanged', 0)} unchanged, "
                f"{counts.get('refused', 0)} refused")
    return (f"{entity}: {rows} row(s): {counts.get('created', 0)} created, {counts.get('updated', 0)} updated, "
            f"{counts.get('unchanged', 0)} unchanged, {counts.get('refused', 0)} refused")


def lines_summary(entity: str, lines: str, job: dict, dry_run: bool) -> str:
    """What a lines import did: the lines read, and the records (their parents) given them."""
    counts = job["counts"] or {}
    rows = job["done"] or 0
    if dry_run:
        return (f"{entity}.{lines}: {rows} line(s) checked (dry run, nothing written): "
                f"{counts.get('would_update', 0)} record(s) would get their lines, {counts.get('unchanged', 0)} "
                f"unchanged, {counts.get('refused', 0)} refused")
    return (f"{entity}.{lines}: {rows} line(s): {counts.get('updated', 0)} record(s) got their lines, "
            f"{counts.get('unchanged', 0)} unchanged, {counts.get('refused', 0)} refused (kept their lines)")


def describe_error(error: dict) -> str:
    where = f"row {error['row']}" if error.get("row") is not None else "file"
    if error.get("field"):
        where += f", {error['field']}"
    return f"  {where}: {error['message']}"
