"""`ossature duplicates ENTITY` and `ossature merge ENTITY KEEP OTHER`, for scripts and operators.

`duplicates` prints one line per group of probable duplicates (`rule: key: ids`, oldest
record first); `merge` merges OTHER into KEEP (engine/records/merging.py) and says what moved.
Both act as the system, or as `--user NAME` (their roles and scope).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.installation import settings
from metamodel.model import LANGUAGES
from ossature.cli import cli

if TYPE_CHECKING:
    from engine import Actor, Engine

DEFAULT_LIMIT = 1000


@cli.command("duplicates")
@click.argument("entity")
@click.option("--rule", default=None, help="Only this duplicate rule (default: every rule of the entity).")
@click.option("--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Groups shown at most.")
@click.option("--user", "username", default=None, help="Look as this user (their roles and scope).")
def duplicates_command(entity: str, rule: str | None, limit: int, username: str | None) -> None:
    """List the groups of probable duplicates of ENTITY, one per line: RULE: KEY: IDS (oldest first).

    Example: ossature duplicates contact --rule same_email
    """
    from engine import EngineError
    from engine.records.duplicates import find_duplicates
    from ossature.commands.common import database_failure, fail

    engine, url = _open(entity)
    definition = engine.model.entity(entity)
    try:
        if rule is not None and rule not in {r.name for r in definition.duplicate_rules}:
            known = ", ".join(r.name for r in definition.duplicate_rules) or "none"
            fail([f"error: --rule {rule}: {entity} has no such duplicate rule (rules: {known})"])
        actor = _actor(engine, username, "en")
        groups = find_duplicates(engine.records, entity, actor, rule=rule, limit=limit + 1)
    except EngineError as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    for group in groups[:limit]:
        key = " | ".join(_shown(value) for value in group.key)
        click.echo(f"{group.rule}: {key}: {', '.join(str(i) for i in group.ids)}")
    more = " (more exist: raise --limit)" if len(groups) > limit else ""
    click.echo(f"{min(len(groups), limit)} group(s){more}", err=True)


@cli.command("merge")
@click.argument("entity")
@click.argument("keep", type=click.IntRange(min=1))
@click.argument("other", type=click.IntRange(min=1))
@click.option("--take", "take", multiple=True, metavar="FIELD",
              help="A characteristic whose value comes from OTHER (repeat for several).")
@click.option("--user", "username", default=None, help="Merge as this user (their roles and scope).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True, help="The language of messages.")
def merge_command(entity: str, keep: int, other: int, take: tuple[str, ...], username: str | None, lang: str) -> None:
    """Merge record OTHER of ENTITY into record KEEP: KEEP takes the --take values of OTHER,
    every link to OTHER moves to KEEP, and OTHER goes to the trash.

    Example: ossature merge contact 12 57 --take phone --take email
    """
    from engine import ConflictError, EngineError, NotFoundError, RecordValidationError
    from engine.access.permissions import PermissionDenied
    from engine.records.merging import MergeError, merge
    from ossature.commands.common import database_failure, fail

    engine, url = _open(entity)
    try:
        actor = _actor(engine, username, lang)
        result = merge(engine.records, entity, keep, other, take, actor)
    except MergeError as error:
        fail([f"error: {error.message(lang)}"])
    except RecordValidationError as error:
        fail([f"error: {entity} {keep}: refused"]
             + [f"  {field}: {e.message(lang)}" for field, errs in error.errors.items() for e in errs])
    except (NotFoundError, PermissionDenied, ConflictError, EngineError) as error:
        fail([f"error: {error}"])
    except SQLAlchemyError as error:
        database_failure(url, error)
    finally:
        engine.dispose()
    taken = ", ".join(result["taken"]) or "nothing"
    moved = ", ".join(f"{name}: {count}" for name, count in result["moved"].items()) or "none"
    click.echo(f"{entity} {other} merged into {entity} {keep} (version {result['record']['version']}); "
               f"taken: {taken}; links moved: {moved}")


def _open(entity: str) -> tuple[Engine, str]:
    """The engine on the configured database, once the entity is known and the schema up to date."""
    from ossature.commands.common import configured_model, database_failure, fail, open_engine

    model = configured_model()
    if entity not in model.entities:
        fail([f"error: there is no entity '{entity}'; entities: {', '.join(sorted(model.entities))}"])
    url = settings.database_url()
    engine = open_engine(model, url)
    try:
        behind = engine.tables_behind()
    except SQLAlchemyError as error:
        engine.dispose()
        database_failure(url, error)
    if behind:
        engine.dispose()
        fail(["error: the database is not up to date; run `ossature migrate` first"])
    return engine, url


def _actor(engine: Engine, username: str | None, lang: str) -> Actor:
    from engine import Actor
    from engine.access.accounts import AccountError, Accounts
    from ossature.commands.common import fail

    if not username:
        return Actor(system=True, lang=lang)
    if "user" not in engine.model.entities:
        fail(["error: --user: the definitions have no `user` entity"])
    accounts = Accounts(engine)
    try:
        return accounts.actor_for(accounts.user_id(username), lang=lang)
    except AccountError:
        fail([f"error: --user {username}: no such user"])


def _shown(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
