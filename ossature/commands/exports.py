"""`ossature export ENTITY`: a list's records as a file (CSV, vCard, iCalendar...), for scripts.

The export runs as a job (recorded like those started from the pages), with a progress bar
on stderr when writing to a file; the file goes to `-o FILE`, or to stdout.

`--lines NAME` writes the lines of the list's records instead (a `lines` characteristic NAME:
one row per line, first column the record's natural key or #id; engine/exchange/lines_export.py),
the file `ossature import ENTITY FILE --lines NAME` reads back. Written by this process, streamed.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.installation import settings
from metamodel.model import LANGUAGES
from ossature.cli import cli

if TYPE_CHECKING:
    from engine import Actor, Engine

LIST_ARGS = frozenset({"view", "q", "sort", "tab", "group"})
"""`--filter` names taken as they are; any other name is a characteristic filter (`f_<name>`)."""
POLL_SECONDS = 0.1


@cli.command("export")
@click.argument("entity")
@click.option("--format", "format_name", default="csv", show_default=True,
              help="csv, or a plugin's format fitting the entity (vcard for contacts, icalendar for events).")
@click.option("--view", default=None, help="A list view of the entity (default: its main list).")
@click.option("--filter", "filters", multiple=True, metavar="ARG=VALUE",
              help="A list argument: city=Paris, f_score_min=3, tab=all, q=acme, sort=-created_at (repeat).")
@click.option("--all-columns", is_flag=True, help="Every characteristic, not only the view's columns.")
@click.option("--delimiter", type=click.Choice([",", ";"]), default=",", show_default=True, help="The CSV separator.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="The file to write (default: stdout).")
@click.option("--lines", "lines", default=None, metavar="NAME",
              help="Write the lines of the lines characteristic NAME of the records (one row per line) instead.")
@click.option("--user", "username", default=None, help="Export as this user (their roles, scope and hidden fields).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="The language of headers and labels.")
def export_command(
    entity: str, format_name: str, view: str | None, filters: tuple[str, ...], all_columns: bool,
    delimiter: str, output: Path | None, lines: str | None, username: str | None, lang: str,
) -> None:
    """Export the records of ENTITY's list (all pages, with its filters) to a file.

    Example: ossature export contact --filter city=Paris --all-columns -o contacts.csv
    """
    from engine import EngineError
    from engine.exchange.exporter import ExportError, submit_export
    from engine.records.queries import QueryError
    from ossature.commands.common import configured_model, database_failure, fail, open_engine, require_migrated

    args = _list_args(filters, view)
    model = configured_model()
    if entity not in model.entities:
        fail([f"error: there is no entity '{entity}'; entities: {', '.join(sorted(model.entities))}"])
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        actor = _actor(engine, username, lang)
        request = engine.records.list_request(entity, args)
        if lines is not None:
            _export_lines(engine, entity, lines, request, actor, delimiter, output)
            return
        job_id = submit_export(engine, entity, request, actor, format=format_name,
                               columns="all" if all_columns else None, delimiter=delimiter)
        job = _follow(engine, job_id, actor, show_progress=output is not None)
        if job["state"] != "done":
            fail([f"error: export job {job_id} {job['state']}: {job['message'] or ''}".rstrip(": ")])
        path, _name, _media_type = engine.jobs.output_path(job_id, actor)
        if output is None:
            with click.open_file("-", "wb") as stdout:
                _copy(path, stdout)
        else:
            shutil.copyfile(path, output)
            click.echo(f"{job['result']['exported']} record(s) exported to {output}", err=True)
    except ExportError as error:
        fail([f"error: --{error.parameter}: {error.message(lang)}"])
    except QueryError as error:
        option = "--view" if error.parameter == "view" else f"--filter {error.parameter}"
        fail([f"error: {option}: {error.message(lang)}"])
    except EngineError as error:
        describe = getattr(error, "message", None)
        fail([f"error: {describe(lang) if callable(describe) else error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()


def _export_lines(engine: Engine, entity: str, lines: str, request, actor: Actor, delimiter: str,
                  output: Path | None) -> None:
    """The lines file, written here (checked first: an error leaves no file behind)."""
    from engine.exchange.lines_export import LinesExport

    export = LinesExport(engine, entity, lines, request, actor, delimiter=delimiter)
    if output is None:
        with click.open_file("-", "wb") as stdout:
            export.write(stdout)
        return
    try:
        with output.open("wb") as out:
            written = export.write(out)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    click.echo(f"{written} line(s) exported to {output}", err=True)


def _list_args(filters: tuple[str, ...], view: str | None) -> dict[str, list[str]]:
    from ossature.commands.common import fail

    args: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            fail([f"error: --filter {item!r}: expected ARG=VALUE"])
        key = name if name in LIST_ARGS or name.startswith("f_") else f"f_{name}"
        args.setdefault(key, []).append(value)
    if view:
        args["view"] = [view]
    return args


def _actor(engine: Engine, username: str | None, lang: str) -> Actor:
    from engine import Actor
    from engine.access.accounts import Accounts
    from ossature.commands.common import fail

    if not username:
        return Actor(system=True, lang=lang)
    if "user" not in engine.model.entities:
        fail(["error: --user: the definitions have no `user` entity"])
    accounts = Accounts(engine)
    return accounts.actor_for(accounts.user_id(username), lang=lang)


def _follow(engine: Engine, job_id: int, actor: Actor, *, show_progress: bool) -> dict:
    """Wait for the job, drawing its progress on stderr."""
    job = engine.jobs.get(job_id, actor)
    if not show_progress:
        return engine.jobs.wait(job_id, timeout=float("inf"))
    with click.progressbar(length=100, label="exporting", file=sys.stderr) as bar:
        shown = 0
        while job["state"] in ("queued", "running", "cancelling"):
            time.sleep(POLL_SECONDS)
            job = engine.jobs.get(job_id, actor)
            bar.update(job["percent"] - shown)
            shown = job["percent"]
    return job


def _copy(path: Path, out: BinaryIO) -> None:
    with path.open("rb") as source:
        shutil.copyfileobj(source, out)
    out.flush()
