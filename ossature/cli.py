"""The `ossature` command: validate packs, migrate the database, seed demo data, serve the app.

Every command reports definition problems as `file:line: path: message` lines on stderr and
exits with status 1; a traceback is never the answer to a mistake in a YAML file.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import click
from sqlalchemy.exc import SQLAlchemyError

import metamodel
from ossature import __version__, config
from ossature.cli_common import (  # noqa: F401 (commands in other modules use them from here too)
    check_pack_dirs, configured_model, database_failure, fail, load_model, open_engine, printable_url, require_migrated,
)

if TYPE_CHECKING:
    from engine import Engine
    from engine.accounts import Accounts


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ossature")
def cli() -> None:
    """Ossature: a metadata-driven XRM engine.

    The database comes from OSSATURE_DATABASE_URL (default: SQLite in ./instance/);
    customer packs from OSSATURE_PACKS, separated by the OS path separator.
    """


@cli.command()
@click.argument("packs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-base", is_flag=True, help="Do not layer the given packs on the base pack.")
def validate(packs: tuple[Path, ...], no_base: bool) -> None:
    """Check definition packs and report every problem.

    Without PACKS, checks the configured packs (base pack + OSSATURE_PACKS).
    """
    chosen = list(packs) if packs else config.customer_pack_dirs()
    pack_dirs = chosen if no_base else [Path(metamodel.BASE_PACK), *chosen]
    if not pack_dirs:
        fail(["error: no pack to validate"])
    model = load_model(pack_dirs)
    click.echo(
        f"ok: {len(model.entities)} entities, {len(model.lists)} lists, {len(model.workflows)} workflows"
    )


@cli.command("seed-demo")
def seed_demo_command() -> None:
    """Fill an empty database with demo records and demo logins (does nothing if data exists).

    Every demo login's password is OSSATURE_DEMO_PASSWORD (default: ossature-demo).
    """
    import os

    from engine.demo import DEMO_PASSWORD, seed_demo, seed_demo_logins

    model = configured_model()
    url = config.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        counts = seed_demo(engine)
        password = os.environ.get("OSSATURE_DEMO_PASSWORD") or DEMO_PASSWORD
        logins = seed_demo_logins(engine, password) if "user" in model.entities else []
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    if not counts and not logins:
        click.echo("demo data already present: nothing to do")
        return
    for entity, count in counts.items():
        click.echo(f"  {entity}: {count}")
    if counts:
        click.echo(f"created {sum(counts.values())} records")
    if logins:
        names = ", ".join(f"{name} ({'/'.join(roles)})" for name, roles in logins)
        click.echo(f"demo logins (password {password!r}): {names}")


@cli.command()
@click.argument("entity")
@click.argument("record_id", type=int)
@click.argument("name")
@click.option("--set", "values", multiple=True, metavar="FIELD=VALUE", help="A value to set with the transition.")
@click.option("--inputs", default=None, metavar="JSON", help="Choices for the transition's actions, as JSON.")
@click.option("--role", "roles", multiple=True, help="Act as a user with this role instead of the system.")
@click.option("--user", "username", default=None, help="With --role: the username to act as (for own/team scopes).")
def transition(
    entity: str, record_id: int, name: str, values: tuple[str, ...], inputs: str | None, roles: tuple[str, ...],
    username: str | None,
) -> None:
    """Apply the workflow transition NAME to a record (for scripts).

    Example: ossature transition lead 12 convert --inputs '{"opportunity": {"values": {}}}'
    """
    import json

    from engine import SYSTEM_ACTOR, Actor, EngineError, RecordValidationError, TransitionError

    given: dict[str, str] = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep:
            fail([f"error: --set {item!r}: expected FIELD=VALUE"])
        given[field] = value
    try:
        choices = json.loads(inputs) if inputs else None
    except json.JSONDecodeError as error:
        fail([f"error: --inputs: not valid JSON: {error}"])
    model = configured_model()
    url = config.database_url()
    engine = open_engine(model, url)
    actor = SYSTEM_ACTOR
    try:
        if roles:
            found: list[dict] = []
            if username:
                with engine.records.reading(None) as reader:
                    found = reader.find("user", username=username)
                if not found:
                    fail([f"error: --user {username}: no such user"])
            user = found[0] if found else {}
            actor = Actor(user_id=user.get("id"), username=username or "cli", roles=frozenset(roles), team=user.get("team"))
        before = engine.records.get(entity, record_id)
        after = engine.records.transition(entity, record_id, name, actor, values=given, inputs=choices)
    except TransitionError as error:
        fail([f"error: {entity} {record_id}: {error.message()}"]
             + [f"  {field}: {e.message()}" for field, errs in error.errors.items() for e in errs])
    except RecordValidationError as error:
        fail([f"error: {entity} {record_id}: refused"]
             + [f"  {field}: {e.message()}" for field, errs in error.errors.items() for e in errs])
    except EngineError as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    click.echo(f"{entity} {record_id}: {before.get('status')} -> {after['status']} (version {after['version']})")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Reload on code changes and show the debugger.")
def serve(host: str, port: int, debug: bool) -> None:
    """Run the web application (development server)."""
    from ui_renderer import create_app

    pack_dirs = config.pack_dirs()
    url = config.database_url()
    check_pack_dirs(pack_dirs)
    try:
        app = create_app({"DATABASE_URL": url, "PACKS": pack_dirs})
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)
    engine = app.extensions["ossature"]
    try:
        pending = engine.pending_migrations()
    except SQLAlchemyError as error:
        click.echo(f"warning: database {printable_url(url)} unreachable: {error}", err=True)
    else:
        if pending:
            click.echo(f"warning: {len(pending)} pending migration step(s); run `ossature migrate`", err=True)
    app.run(host=host, port=port, debug=debug)


# -- users and API tokens ---------------------------------------------------------------------


def accounts_of(engine: "Engine") -> "Accounts | None":
    from engine.accounts import Accounts

    return Accounts(engine) if "user" in engine.model.entities else None


@contextmanager
def opened_accounts() -> Iterator["Accounts"]:
    """The accounts of the configured database; engine and account errors end the command."""
    from engine import EngineError, RecordValidationError

    model = configured_model()
    url = config.database_url()
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


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@cli.group()
def user() -> None:
    """Users who may log in and call the API: create them, list them, give them roles."""


@user.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="A role of the definitions (repeat for several).")
@click.option("--display-name", default=None, help="The name shown in the application (default: USERNAME).")
@click.option("--email", default=None)
@click.option("--team", default=None, help="A code of the teams list (team scopes use it).")
@click.password_option("--password", envvar="OSSATURE_PASSWORD",
                       help="Prompted for (hidden, twice) unless OSSATURE_PASSWORD is set.")
def user_create(
    username: str, roles: tuple[str, ...], display_name: str | None, email: str | None, team: str | None,
    password: str,
) -> None:
    """Create a user who can log in, with their roles."""
    with opened_accounts() as accounts:
        user_id = accounts.create_user(username, display_name or username, password, roles, email=email, team=team)
    click.echo(f"user {username} created (id {user_id}), roles: {', '.join(roles)}")


@user.command("list")
def user_list() -> None:
    """Every user, with their roles and whether they can log in."""
    with opened_accounts() as accounts:
        users = accounts.list_users()
    for found in users:
        state = ("active" if found["active"] else "inactive") if found["can_log_in"] else "no login"
        roles = ",".join(found["roles"]) or "-"
        click.echo(f"{found['id']:>5}  {found['username']:<24} {roles:<30} {state:<9} {found['display_name']}")
    click.echo(f"{len(users)} user(s)")


@user.command("roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="The user's roles from now on (repeat).")
def user_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles."""
    with opened_accounts() as accounts:
        given = accounts.set_roles(accounts.user_id(username), roles)
    click.echo(f"user {username}: roles {', '.join(given)}")


@user.command("password")
@click.argument("username")
@click.password_option("--password", envvar="OSSATURE_PASSWORD",
                       help="Prompted for (hidden, twice) unless OSSATURE_PASSWORD is set.")
def user_password(username: str, password: str) -> None:
    """Set a user's password."""
    with opened_accounts() as accounts:
        accounts.set_password(accounts.user_id(username), password)
    click.echo(f"user {username}: password changed")


@cli.group()
def token() -> None:
    """API tokens (`Authorization: Bearer <token>`)."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
def token_create(username: str, name: str) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    with opened_accounts() as accounts:
        value = accounts.create_token(accounts.user_id(username), name)
    click.echo(f"token '{name}' for {username} (shown once; keep it secret):", err=True)
    click.echo(value)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """A user's tokens (never the tokens themselves)."""
    with opened_accounts() as accounts:
        tokens = accounts.list_tokens(accounts.user_id(username))
    for found in tokens:
        state = f"revoked {_when(found.revoked_at)}" if found.revoked_at else "active"
        click.echo(f"{found.id:>5}  {found.name:<24} created {_when(found.created_at)}  "
                   f"last used {_when(found.last_used_at)}  {state}")
    click.echo(f"{len(tokens)} token(s)")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token for good."""
    with opened_accounts() as accounts:
        found = accounts.revoke_token(token_id)
    click.echo(f"token {found.id} ('{found.name}') revoked")


from ossature.cli_duplicates import duplicates_command, merge_command  # noqa: E402 (they import this module lazily)

from ossature.cli_export import export_command  # noqa: E402
from ossature.cli_migrate import archive, migrate  # noqa: E402
from ossature.cli_import import import_command  # noqa: E402
from ossature.cli_jobs import jobs, mass_update, worker  # noqa: E402
from ossature.cli_pack import overlay, pack  # noqa: E402

cli.add_command(duplicates_command)
cli.add_command(merge_command)
cli.add_command(pack)
cli.add_command(overlay)
cli.add_command(worker)
cli.add_command(jobs)
cli.add_command(mass_update)
cli.add_command(export_command)
cli.add_command(import_command)
cli.add_command(migrate)
cli.add_command(archive)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="ossature")


if __name__ == "__main__":
    main()
