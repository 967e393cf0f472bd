"""`ossature user ...` and `ossature token ...`, as an operator scripts them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

import metamodel
from engine import Engine
from engine.access.accounts import Accounts
from ossature.main import cli


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.delenv("OSSATURE_PASSWORD", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert invoke(runner, "migrate").exit_code == 0
    return runner


def invoke(runner: CliRunner, *args: str, input: str | None = None, **env: str) -> Result:
    return runner.invoke(cli, list(args), input=input, env=env or None, catch_exceptions=False)


@pytest.fixture
def accounts(database_url: str) -> Iterator[Callable[[], Accounts]]:
    """The accounts of the test database, as the commands left them (a fresh engine each time)."""
    engines: list[Engine] = []

    def open_accounts() -> Accounts:
        engines.append(Engine(metamodel.load_model([metamodel.BASE_PACK]), database_url))
        return Accounts(engines[-1])

    yield open_accounts
    for engine in engines:
        engine.dispose()


def test_migrate_creates_the_login_and_token_tables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    database_url: str) -> None:
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    result = invoke(CliRunner(), "migrate")
    assert "  create table sys_login (5 columns)" in result.stdout
    assert "  create table sys_token (7 columns)" in result.stdout
    assert invoke(CliRunner(), "migrate").stdout.endswith("database is up to date\n")


def test_user_create_with_the_password_from_the_environment(runner: CliRunner, accounts) -> None:
    result = invoke(runner, "user", "create", "ann", "--role", "sales", "--role", "support", "--display-name",
                    "Ann Martin", "--email", "ann@example.com", "--team", "sales_france",
                    OSSATURE_PASSWORD="a long password")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("user ann created (id ") and result.stdout.endswith("roles: sales, support\n")
    actor = accounts().authenticate("ann", "a long password")
    assert (actor.roles, actor.team) == (frozenset({"sales", "support"}), "sales_france")


def test_user_create_prompts_twice_for_a_hidden_password(runner: CliRunner, accounts) -> None:
    result = invoke(runner, "user", "create", "bob", "--role", "manager", input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    assert accounts().authenticate("bob", "a long password") is not None
    mismatch = invoke(runner, "user", "create", "carl", "--role", "manager",
                      input="a long password\nanother one!\na long password\na long password\n")
    assert "do not match" in mismatch.output and mismatch.exit_code == 0


@pytest.mark.parametrize(("args", "password", "message"), [
    (("--role", "boss"), "a long password", "error: unknown role(s): boss (roles defined: admin, manager, read_only, sales, support)"),
    (("--role", "sales"), "short", "error: a password has at least 8 characters"),
    (("--role", "sales", "--team", "nowhere"), "a long password", "team: 'nowhere' is not a value of this list."),
])
def test_user_create_refusals_say_why(runner: CliRunner, args: tuple[str, ...], password: str, message: str) -> None:
    result = invoke(runner, "user", "create", "ann", *args, OSSATURE_PASSWORD=password)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_user_list_and_roles(runner: CliRunner) -> None:
    invoke(runner, "user", "create", "ann", "--role", "sales", OSSATURE_PASSWORD="a long password")
    result = invoke(runner, "user", "roles", "ann", "--role", "manager", "--role", "support")
    assert result.stdout == "user ann: roles manager, support\n"
    listing = invoke(runner, "user", "list").stdout.splitlines()
    assert listing[-1] == "1 user(s)"
    assert listing[0].split() == ["1", "ann", "manager,support", "active", "ann"]
    unknown = invoke(runner, "user", "roles", "nobody", "--role", "sales")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: no user 'nobody'\n")


def test_user_password_changes_the_password(runner: CliRunner, accounts) -> None:
    invoke(runner, "user", "create", "ann", "--role", "sales", OSSATURE_PASSWORD="a long password")
    result = invoke(runner, "user", "password", "ann", OSSATURE_PASSWORD="another password")
    assert result.stdout == "user ann: password changed\n"
    assert accounts().authenticate("ann", "another password") is not None


def test_tokens_are_printed_once_listed_and_revoked(runner: CliRunner, accounts) -> None:
    invoke(runner, "user", "create", "ann", "--role", "sales", OSSATURE_PASSWORD="a long password")
    created = invoke(runner, "token", "create", "ann", "--name", "ci")
    token = created.stdout.strip()
    assert created.exit_code == 0 and len(token) >= 40 and "\n" not in token
    assert "shown once" in created.stderr
    assert accounts().actor_for_token(token).username == "ann"
    (line, total) = invoke(runner, "token", "list", "ann").stdout.splitlines()
    assert line.split()[:3] == ["1", "ci", "created"] and "last used 20" in line
    assert line.rstrip().endswith("active") and token not in line and total == "1 token(s)"
    assert invoke(runner, "token", "revoke", "1").stdout == "token 1 ('ci') revoked\n"
    assert accounts().actor_for_token(token) is None
    assert "revoked" in invoke(runner, "token", "list", "ann").stdout
    missing = invoke(runner, "token", "revoke", "42")
    assert (missing.exit_code, missing.stderr) == (1, "error: no token 42\n")


def test_account_commands_need_a_migrated_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OSSATURE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.chdir(tmp_path)
    result = invoke(CliRunner(), "user", "list")
    assert result.exit_code == 1
    assert "run `ossature migrate` first" in result.stderr
