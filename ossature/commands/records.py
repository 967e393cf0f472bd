"""Records from the command line: `ossature seed-demo`, `ossature transition` and `ossature copy`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.installation import settings
from ossature.cli import cli
from ossature.commands.common import configured_model, database_failure, fail, open_engine, require_migrated


@cli.command("seed-demo")
def seed_demo_command() -> None:
    """Fill an empty database with demo records and demo logins (does nothing if data exists).

    Then each pack's own demo records (`demo/*.yaml` in its folder, ossature/pack_demo.py), into
    the entities that have none yet. Every demo login's password is OSSATURE_DEMO_PASSWORD
    (default: ossature-demo).
    """
    import os

    from ossature.demo import DEMO_PASSWORD, seed_demo, seed_demo_logins
    from ossature.pack_demo import DemoError, seed_pack_demo

    model = configured_model()
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        require_migrated(engine)
        counts = seed_demo(engine)
        for entity, count in seed_pack_demo(engine).items():
            counts[entity] = counts.get(entity, 0) + count
        password = os.environ.get("OSSATURE_DEMO_PASSWORD") or DEMO_PASSWORD
        logins = seed_demo_logins(engine, password) if "user" in model.entities else []
    except DemoError as error:
        fail([f"error: {problem}" for problem in error.problems])
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

    given = _given(values)
    try:
        choices = json.loads(inputs) if inputs else None
    except json.JSONDecodeError as error:
        fail([f"error: --inputs: not valid JSON: {error}"])
    model = configured_model()
    _split_multi_choices(model, entity, given)
    url = settings.database_url()
    engine = open_engine(model, url)
    with _answering(engine, url, f"{entity} {record_id}", "refused"):
        actor = _acting(engine, roles, username)
        before = engine.records.get(entity, record_id)
        after = engine.records.transition(entity, record_id, name, actor, values=given, inputs=choices)
    click.echo(f"{entity} {record_id}: {before.get('status')} -> {after['status']} (version {after['version']})")


@cli.command("copy")
@click.argument("entity")
@click.argument("record_id", type=int)
@click.option("--set", "values", multiple=True, metavar="FIELD=VALUE", help="A value of the copy instead of the copied one.")
@click.option("--role", "roles", multiple=True, help="Act as a user with this role instead of the system.")
@click.option("--user", "username", default=None, help="With --role: the username to act as (for own/team scopes).")
def copy_command(entity: str, record_id: int, values: tuple[str, ...], roles: tuple[str, ...], username: str | None) -> None:
    """Copy a record with its lines into a new record of the same entity (for scripts).

    The characteristics a workflow `copy` action copies are copied (not unique ones, nor those
    of the natural key, read-only ones or the status: give them with --set).
    Example: ossature copy quote 12 --set number=Q-2026-100
    """
    given = _given(values)
    model = configured_model()
    _split_multi_choices(model, entity, given)
    url = settings.database_url()
    engine = open_engine(model, url)
    with _answering(engine, url, f"{entity} {record_id}", "the copy is refused"):
        created = engine.records.copy(entity, record_id, _acting(engine, roles, username), given)
    click.echo(f"{entity} {record_id} copied: {entity} {created['id']}")


@contextmanager
def _answering(engine: Any, url: str, what: str, refused: str) -> Iterator[None]:
    """Run a change on `engine` for a command: a refusal printed with its reasons (exit 1), the
    engine disposed of whatever happens."""
    from engine import EngineError, RecordValidationError, TransitionError

    try:
        yield
    except (TransitionError, RecordValidationError) as error:
        head = error.message() if isinstance(error, TransitionError) else refused
        fail([f"error: {what}: {head}"]
             + [f"  {field}: {e.message()}" for field, errs in error.errors.items() for e in errs])
    except EngineError as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()


def _given(values: tuple[str, ...]) -> dict[str, Any]:
    """`--set FIELD=VALUE` options as a mapping (values stay text: the record rules type them)."""
    given: dict[str, Any] = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep:
            fail([f"error: --set {item!r}: expected FIELD=VALUE"])
        given[field] = value
    return given


def _split_multi_choices(model: Any, entity: str, given: dict[str, Any]) -> None:
    """A multi_choice takes a list: `--set tags=vip,partner`."""
    if entity not in model.entities:
        return
    for field, value in given.items():
        found_field = model.entity(entity).fields_by_name.get(field)
        if found_field is not None and found_field.type == "multi_choice":
            given[field] = [code.strip() for code in value.split(",") if code.strip()]


def _acting(engine: Any, roles: tuple[str, ...], username: str | None) -> Any:
    """The actor of `--role`/`--user` (the system without `--role`)."""
    from engine import SYSTEM_ACTOR, Actor

    if not roles:
        return SYSTEM_ACTOR
    found: list[dict] = []
    if username:
        with engine.records.reading(None) as reader:
            found = reader.find("user", username=username)
        if not found:
            fail([f"error: --user {username}: no such user"])
    user = found[0] if found else {}
    return Actor(user_id=user.get("id"), username=username or "cli", roles=frozenset(roles), team=user.get("team"))
