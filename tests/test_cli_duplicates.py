"""`ossature duplicates` and `ossature merge`, as an operator runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import click
import pytest
from click.testing import CliRunner, Result

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from ossature.commands.duplicates import duplicates_command, merge_command


@click.group()
def group() -> None:
    """The two commands as they stand on the `ossature` group."""


group.add_command(duplicates_command)
group.add_command(merge_command)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.delenv("OSSATURE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = Engine(metamodel.load_model([metamodel.BASE_PACK]), database_url)
    engine.migrate()
    yield engine
    engine.dispose()


@pytest.fixture
def twins(engine: Engine) -> dict[str, int]:
    def add(entity: str, **values: Any) -> int:
        return engine.records.create(entity, values, SYSTEM_ACTOR)["id"]

    account = add("account", name="Société Générale")
    keep = add("contact", last_name="Durand", first_name="Zoé", account=account, email="zoe@sg.test")
    other = add("contact", last_name="DURAND", first_name="Zoe", account=account, email="Zoe@SG.test", phone="+33 1 02")
    event = add("event", subject="Lunch", starts_at="2026-03-01T12:00", contact=other)
    return {"account": account, "keep": keep, "other": other, "event": event}


def invoke(runner: CliRunner, database_url: str, *args: str) -> Result:
    return runner.invoke(group, list(args), env={"OSSATURE_DATABASE_URL": database_url}, catch_exceptions=False)


# -- duplicates ----------------------------------------------------------------------------------
def test_duplicates_lists_one_group_per_line(runner: CliRunner, database_url: str, twins: dict[str, int]) -> None:
    result = invoke(runner, database_url, "duplicates", "contact")

    assert result.exit_code == 0, result.output
    keep, other = twins["keep"], twins["other"]
    assert result.stdout.splitlines() == [
        f"same_email: zoe@sg.test: {keep}, {other}",
        f"same_name_and_account: durand | zoe | {twins['account']}: {keep}, {other}",
    ]
    assert result.stderr == "2 group(s)\n"


def test_duplicates_of_one_rule_with_a_limit(runner: CliRunner, database_url: str, twins: dict[str, int]) -> None:
    one = invoke(runner, database_url, "duplicates", "contact", "--rule", "same_email")
    assert one.stdout.splitlines() == [f"same_email: zoe@sg.test: {twins['keep']}, {twins['other']}"]

    limited = invoke(runner, database_url, "duplicates", "contact", "--limit", "1")
    assert len(limited.stdout.splitlines()) == 1
    assert limited.stderr == "1 group(s) (more exist: raise --limit)\n"
    assert invoke(runner, database_url, "duplicates", "contact", "--limit", "2").stderr == "2 group(s)\n"
    assert invoke(runner, database_url, "duplicates", "contact", "--limit", "0").exit_code == 2


def test_duplicates_refuses_unknown_entity_and_rule(runner: CliRunner, database_url: str, engine: Engine) -> None:
    planet = invoke(runner, database_url, "duplicates", "planet")
    assert planet.exit_code == 1
    assert planet.stderr.startswith("error: there is no entity 'planet'; entities: account, activity_report")

    rule = invoke(runner, database_url, "duplicates", "contact", "--rule", "same_shoe")
    assert rule.exit_code == 1
    assert rule.stderr == ("error: --rule same_shoe: contact has no such duplicate rule "
                           "(rules: same_email, same_name_and_account)\n")


def test_duplicates_before_migrate_says_what_to_do(runner: CliRunner, database_url: str) -> None:
    result = invoke(runner, database_url, "duplicates", "contact")

    assert result.exit_code == 1
    assert "run `ossature migrate` first" in result.stderr


def test_duplicates_acts_as_the_user_given(runner: CliRunner, database_url: str, engine: Engine,
                                               twins: dict[str, int]) -> None:
    accounts = Accounts(engine)
    accounts.migrate()
    accounts.create_user("reader", "Reader", "a long password", ["read_only"])
    accounts.create_user("nobody", "Nobody", "a long password", [])

    assert len(invoke(runner, database_url, "duplicates", "contact", "--user", "reader").stdout.splitlines()) == 2
    denied = invoke(runner, database_url, "duplicates", "contact", "--user", "nobody")
    assert denied.exit_code == 1
    assert denied.stderr == "error: not allowed to read contact\n"
    missing = invoke(runner, database_url, "duplicates", "contact", "--user", "ghost")
    assert (missing.exit_code, missing.stderr) == (1, "error: --user ghost: no such user\n")


# -- merge ---------------------------------------------------------------------------------------
def test_merge_takes_values_and_moves_links(runner: CliRunner, database_url: str, engine: Engine,
                                            twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]

    result = invoke(runner, database_url, "merge", "contact", str(keep), str(other), "--take", "phone",
                    "--take", "email")

    assert result.exit_code == 0, result.output
    assert result.stdout == (f"contact {other} merged into contact {keep} (version 2); "
                             "taken: phone, email; links moved: event.contact: 1\n")
    kept = engine.records.get("contact", keep)
    assert (kept["phone"], kept["email"]) == ("+33 1 02", "Zoe@SG.test")
    assert engine.records.get("event", twins["event"])["contact"] == keep
    assert engine.records.get("contact", other, include_deleted=True)["deleted_at"] is not None


def test_merge_without_take(runner: CliRunner, database_url: str, engine: Engine, twins: dict[str, int]) -> None:
    result = invoke(runner, database_url, "merge", "contact", str(twins["keep"]), str(twins["other"]))

    assert result.stdout.endswith("taken: nothing; links moved: event.contact: 1\n")
    assert engine.records.get("contact", twins["keep"])["phone"] is None


def test_merge_refusals_in_the_chosen_language(runner: CliRunner, database_url: str, engine: Engine,
                                               twins: dict[str, int]) -> None:
    keep, other = str(twins["keep"]), str(twins["other"])

    same = invoke(runner, database_url, "merge", "contact", keep, keep, "--lang", "fr")
    assert (same.exit_code, same.stderr) == (1, f"error: Contact {keep} ne peut pas être fusionné avec lui-même.\n")
    unknown = invoke(runner, database_url, "merge", "contact", keep, other, "--take", "nickname")
    assert unknown.stderr == "error: 'nickname' is not a characteristic of Contact.\n"
    missing = invoke(runner, database_url, "merge", "contact", keep, "999")
    assert (missing.exit_code, missing.stderr) == (1, "error: There is no Contact 999 to merge into this one.\n")
    absent_keep = invoke(runner, database_url, "merge", "contact", "999", keep)
    assert (absent_keep.exit_code, absent_keep.stderr) == (1, "error: contact 999 does not exist\n")
    assert invoke(runner, database_url, "merge", "contact", keep, "0").exit_code == 2
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None


def test_merge_refused_value_lists_the_field(runner: CliRunner, database_url: str, engine: Engine,
                                             twins: dict[str, int]) -> None:
    gone = engine.records.create("account", {"name": "Gone"}, SYSTEM_ACTOR)["id"]
    engine.records.update("contact", twins["other"], {"account": gone}, SYSTEM_ACTOR)
    engine.records.delete("account", gone, SYSTEM_ACTOR)

    result = invoke(runner, database_url, "merge", "contact", str(twins["keep"]), str(twins["other"]),
                    "--take", "account")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: contact {twins['keep']}: refused", f"  account: No account with id {gone}."]
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None


def test_merge_as_a_user_without_delete_is_refused(runner: CliRunner, database_url: str, engine: Engine,
                                                   twins: dict[str, int]) -> None:
    accounts = Accounts(engine)
    accounts.migrate()
    accounts.create_user("seller", "Seller", "a long password", ["sales"])

    result = invoke(runner, database_url, "merge", "contact", str(twins["keep"]), str(twins["other"]),
                    "--user", "seller")

    assert (result.exit_code, result.stderr) == (1, "error: not allowed to delete contact\n")


def test_ossature_group_has_both_commands() -> None:
    from ossature.main import cli

    assert cli.commands["duplicates"] is duplicates_command
    assert cli.commands["merge"] is merge_command
