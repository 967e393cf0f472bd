"""`ossature user ...` and `ossature token ...`: who may log in and call the API."""

from __future__ import annotations

import click

from ossature.cli import cli
from ossature.commands.common import opened_accounts, when


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
        state = f"revoked {when(found.revoked_at)}" if found.revoked_at else "active"
        click.echo(f"{found.id:>5}  {found.name:<24} created {when(found.created_at)}  "
                   f"last used {when(found.last_used_at)}  {state}")
    click.echo(f"{len(tokens)} token(s)")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token for good."""
    with opened_accounts() as accounts:
        found = accounts.revoke_token(token_id)
    click.echo(f"token {found.id} ('{found.name}') revoked")
