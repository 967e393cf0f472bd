"""What every `ossature` command shares: failing with messages, loading the model, opening the engine.

Every module of `ossature/commands/` imports it; it imports none of them.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NoReturn, Sequence

import click
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

import metamodel
from engine.installation import settings
from metamodel.model import Model

if TYPE_CHECKING:
    from engine import Engine
    from engine.access.accounts import Accounts
    from engine.installation.definitions import Installation


def fail(lines: Iterable[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    raise click.exceptions.Exit(1)


def check_pack_dirs(pack_dirs: Sequence[Path]) -> None:
    missing = [f"{path}: pack directory not found" for path in pack_dirs if not Path(path).is_dir()]
    if missing:
        fail(missing)


def load_model(pack_dirs: Sequence[Path]) -> Model:
    """The model of the directory packs, refused (problems printed, exit 1) when it does not
    load or names a field format or an action that no installed plugin provides."""
    from engine.installation.plugin_check import PluginRegistries, check_plugins
    from plugins.host.manager import PluginError

    check_pack_dirs(pack_dirs)
    try:
        model = metamodel.load_model(list(pack_dirs))
        check_plugins(model, PluginRegistries())
        return model
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)
    except PluginError as error:
        fail([f"error: {error}"])


def configured_model() -> Model:
    """What every command working on the database runs: the directory packs (base +
    OSSATURE_PACKS), the packs installed in the database, then the admin overlay."""
    return load_installed_model(settings.database_url())


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
        return Engine(model, url, **settings.engine_options())
    except (SQLAlchemyError, ImportError, ValueError) as error:
        fail([f"error: database {printable_url(url)}: {error}"])


@contextmanager
def opened_installation(pack_dirs: Sequence[Path] | None = None, url: str | None = None) -> Iterator["Installation"]:
    """The configured installation; definition problems, refusals and database errors end the
    command with their messages (exit 1)."""
    from engine.installation.definition_errors import DefinitionChangeError
    from engine.installation.definitions import Installation
    from engine.schema.steps import MigrationRefused
    from plugins.host.manager import PluginError

    pack_dirs = list(pack_dirs) if pack_dirs is not None else settings.pack_dirs()
    check_pack_dirs(pack_dirs)
    url = url or settings.database_url()
    installation = Installation(pack_dirs, url, engine_options=settings.engine_options())
    try:
        yield installation
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)
    except DefinitionChangeError as error:
        fail(f"error: {line}" for line in error.message("en").splitlines())
    except MigrationRefused as error:
        fail([f"error: {error.message('en')}", *(f"  {line}" for line in error.plan.lines("en"))])
    except PluginError as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        installation.dispose()


def load_installed_model(url: str | None = None) -> "Model":
    """The model every command working on the database should run: the directory packs (base +
    OSSATURE_PACKS), the packs installed in the database, then the admin overlay. Without the
    last two, `ossature migrate` would take the overlay's characteristics for removed ones."""
    with opened_installation(url=url) as installation:
        return installation.load().model


def accounts_of(engine: "Engine") -> "Accounts | None":
    from engine.access.accounts import Accounts

    return Accounts(engine) if "user" in engine.model.entities else None


@contextmanager
def opened_accounts() -> Iterator["Accounts"]:
    """The accounts of the configured database; engine and account errors end the command."""
    from engine import EngineError, RecordValidationError

    model = configured_model()
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        accounts = accounts_of(engine)
        if accounts is None:
            fail(["error: the definitions have no `user` entity"])
        require_migrated(engine)
        yield accounts
    except RecordValidationError as error:
        fail(["error: refused"] + [f"  {field}: {e.message()}" for field, errs in error.errors.items() for e in errs])
    except EngineError as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()


def when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
