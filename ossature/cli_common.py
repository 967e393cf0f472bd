"""What every `ossature` command shares: failing with messages, loading the model, opening the engine.

Its own module so that the command modules (cli_jobs, cli_pack, ...) import it at the top
while ossature/cli.py imports them to register their commands: no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NoReturn, Sequence

import click
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

import metamodel
from metamodel.model import Model
from ossature import config

if TYPE_CHECKING:
    from engine import Engine


def fail(lines: Iterable[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    raise click.exceptions.Exit(1)


def check_pack_dirs(pack_dirs: Sequence[Path]) -> None:
    missing = [f"{path}: pack directory not found" for path in pack_dirs if not Path(path).is_dir()]
    if missing:
        fail(missing)


def load_model(pack_dirs: Sequence[Path]) -> Model:
    check_pack_dirs(pack_dirs)
    try:
        return metamodel.load_model(list(pack_dirs))
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)


def configured_model() -> Model:
    """What every command working on the database runs: the directory packs (base +
    OSSATURE_PACKS), the packs installed in the database, then the admin overlay."""
    from ossature.cli_pack import load_installed_model

    return load_installed_model(config.database_url())


def printable_url(url: str) -> str:
    """The database URL without its password, fit for a terminal or a log."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported by the engine itself
        return url


def database_failure(url: str, error: SQLAlchemyError) -> NoReturn:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    fail([f"error: database {printable_url(url)}: {reason}"])


def require_migrated(engine: "Engine") -> None:
    """End the command when the tables are behind the definitions (a rule or a label changed
    alone does not stop it: `ossature migrate` records those when it runs)."""
    if engine.tables_behind():
        fail(["error: the database is not up to date; run `ossature migrate` first"])


def open_engine(model: Model, url: str) -> "Engine":
    from engine import Engine  # deferred: `ossature validate` needs no database driver

    try:
        return Engine(model, url, **config.engine_options())
    except (SQLAlchemyError, ImportError, ValueError) as error:
        fail([f"error: database {printable_url(url)}: {error}"])
