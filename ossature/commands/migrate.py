"""`ossature migrate [--plan]` and `ossature archive list|restore`.

`migrate --plan` prints what migrating would do, in plain words, and changes nothing: it
exits with status 1 when a step is refused (values that do not convert, a list value
deleted while in use...). `migrate` prints the same plan and applies it, in one
transaction; when a step is refused it applies nothing and exits with status 1.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.installation import settings
from ossature.cli import cli

if TYPE_CHECKING:
    from engine import Engine

LANG_OPTION = click.option(
    "--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True, help="Language of the messages."
)


def _open() -> tuple["Engine", str]:
    from ossature.commands.common import configured_model, open_engine

    model = configured_model()
    url = settings.database_url()
    return open_engine(model, url), url


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"  {line}")


@cli.command("migrate")
@click.option("--plan", "plan_only", is_flag=True,
              help="Only print the plan; exit with status 1 if a step is refused.")
@LANG_OPTION
def migrate(plan_only: bool, lang: str) -> None:
    """Bring the database up to the definitions: create what is new, archive what is removed (never
    drops data), rename, convert types, apply stricter rules (records breaking them are listed)."""
    from engine.schema.migrate import apply_migration, plan_migration
    from engine.schema.steps import MigrationRefused
    from ossature.commands.common import accounts_of, database_failure, fail, printable_url

    engine, url = _open()
    click.echo(f"database: {printable_url(url)}")
    try:
        accounts = accounts_of(engine)  # adds the login and token tables to what migrate creates
        options = {"formats": engine.hooks.formats}
        if plan_only:
            plan = plan_migration(engine.db, engine.model, engine.tables, **options)
            _echo_lines(plan.lines(lang))
            if plan.blocked:
                fail([f"error: {len(plan.problems)} step(s) refused: nothing can be migrated until they are resolved"])
            click.echo(f"plan: {len(plan.steps)} step(s)" if plan.steps else "database is up to date")
            return
        try:
            plan = apply_migration(engine.db, engine.model, engine.tables, clock=engine.records.clock, **options)
        except MigrationRefused as refused:
            _echo_lines(refused.plan.lines(lang))
            fail([f"error: {len(refused.plan.problems)} step(s) refused: nothing was changed"])
        lines = plan.lines(lang)
        steps = len(plan.steps)
        if accounts is not None:
            created = accounts.migrate()
            lines += created
            steps += len(created)
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    _echo_lines(lines)
    click.echo(f"done: {steps} step(s)" if steps else "database is up to date")


@cli.group("archive")
def archive() -> None:
    """Data of removed characteristics and entities: list it, bring it back."""


@contextmanager
def _with_engine() -> Iterator["Engine"]:
    engine, url = _open()
    try:
        yield engine
    except SQLAlchemyError as error:
        from ossature.commands.common import database_failure

        database_failure(url, error)
    finally:
        engine.dispose()


@archive.command("list")
def archive_list() -> None:
    """What the archive holds: TARGET, how many values or records, when, and whether it can come back."""
    from engine.schema.archive import archive_entries

    with _with_engine() as engine:
        entries = archive_entries(engine)
    if not entries:
        click.echo("the archive is empty")
        return
    for entry in entries:
        what = f"{entry.count} record(s)" if entry.field is None else f"{entry.count} value(s)"
        state = "declared: `ossature archive restore " + entry.target + "`" if entry.declared else "not declared"
        click.echo(f"  {entry.target:<32} {what:<16} archived {entry.archived_at:%Y-%m-%d %H:%M}  {state}")
    click.echo(f"{len(entries)} archived item(s)")


@archive.command("restore")
@click.argument("target", metavar="ENTITY[.FIELD]")
@LANG_OPTION
def archive_restore(target: str, lang: str) -> None:
    """Bring archived values back into ENTITY.FIELD, or archived records into ENTITY, once it is
    declared again (and migrated). Values are converted to the type declared now; if one does not
    convert, nothing is restored."""
    from engine.schema.archive import ArchiveError
    from engine.schema.archive_restore import restore_archived
    from ossature.commands.common import fail, require_migrated

    with _with_engine() as engine:
        require_migrated(engine)
        try:
            result = restore_archived(engine, target)
        except ArchiveError as error:
            fail([f"error: {error.message(lang)}"])
    click.echo(result.message(lang))
