"""`ossature export ENTITY`: a list's records as a file, for scripts (ossature/commands/exports.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
import pytest
import vobject
from click.testing import CliRunner

import metamodel
from engine import SYSTEM_ACTOR
from engine.access.accounts import Accounts
from ossature.main import cli
from ossature.commands.exports import export_command


@pytest.fixture
def engine(make_engine):
    engine = make_engine(metamodel.load_model([metamodel.BASE_PACK]))
    accounts = Accounts(engine)
    accounts.migrate()
    sam = accounts.create_user("sam", "Sam Seller", "a long password", ["sales"], team="sales_france")
    accounts.create_user("sue", "Sue Support", "a long password", ["support"])
    acme = engine.records.create("account", {"name": "Acme", "assigned_to": sam}, SYSTEM_ACTOR)["id"]
    engine.records.create_many("contact", [
        {"salutation": "mrs", "first_name": "Camille", "last_name": "Martin", "account": acme, "city": "Paris",
         "email": "camille@acme.example", "assigned_to": sam},
        {"first_name": "Bruno", "last_name": "Berger", "city": "Lyon", "assigned_to": sam},
        {"first_name": "Nora", "last_name": "Nobody", "city": "Paris"},
    ], SYSTEM_ACTOR)
    return engine


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, engine):
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    command = cli if "export" in cli.commands else click.Group(commands={"export": export_command})
    runner = CliRunner()
    return lambda *args: runner.invoke(command, ["export", *args], catch_exceptions=False)


def rows_of(data: bytes, delimiter: str = ",") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_exports_to_stdout_with_the_views_columns(run):
    result = run("contact", "--filter", "sort=last_name")
    assert result.exit_code == 0, result.stderr
    rows = rows_of(result.stdout_bytes)
    assert rows[0] == ["Last name", "First name", "Account", "Function", "Business phone", "Business email", "Assigned to"]
    assert [r[0] for r in rows[1:]] == ["Berger", "Martin", "Nobody"]


def test_filters_columns_language_separator_and_a_file(run, tmp_path):
    target = tmp_path / "paris.csv"
    result = run("contact", "--filter", "city=Paris", "--filter", "sort=-last_name", "--all-columns",
                 "--delimiter", ";", "--lang", "fr", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert "2 record(s) exported to" in result.stderr
    rows = rows_of(target.read_bytes(), ";")
    assert rows[0][:3] == ["Civilité", "Prénom", "Nom"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("", "Nobody"), ("Mme", "Martin")]


def test_a_user_exports_their_scope(run):
    result = run("contact", "--user", "sam", "--filter", "sort=last_name")
    assert result.exit_code == 0, result.stderr
    assert [r[0] for r in rows_of(result.stdout_bytes)[1:]] == ["Berger", "Martin"]


def test_vcard_format(run):
    result = run("contact", "--format", "vcard", "--filter", "q=Martin")
    assert result.exit_code == 0, result.stderr
    (card,) = vobject.readComponents(result.stdout_bytes.decode())
    assert card.n.value.family == "Martin" and card.org.value == ["Acme"]


def test_a_named_view(run):
    result = run("account", "--view", "key_accounts")
    assert result.exit_code == 0, result.stderr
    assert rows_of(result.stdout_bytes) == [["Name", "Type", "Sector", "City", "Annual revenue", "Account manager"]]


@pytest.mark.parametrize(("args", "message"), [
    (["nothing"], "there is no entity 'nothing'"),
    (["contact", "--format", "icalendar"], "--format: The icalendar format exports event only."),
    (["contact", "--format", "nope"], "--format: There is no export format 'nope'"),
    (["contact", "--filter", "nonsense"], "expected ARG=VALUE"),
    (["contact", "--filter", "shoe_size=3"], "--filter f_shoe_size: contact has no characteristic 'shoe_size'"),
    (["contact", "--view", "nope"], "--view: contact has no list view 'nope'"),
    (["contact", "--user", "sue"], "not allowed to export contact"),
    (["contact", "--user", "zed"], "no user 'zed'"),
])
def test_mistakes_exit_1_with_a_clear_message(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def _customer_pack(folder: Path, contact_extension: str) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "pack.yaml").write_text('pack: customer\nversion: 1.0.0\nrequires: {base: ">=1.0"}\n')
    (folder / "entities" / "contact.yaml").write_text(contact_extension)
    return folder


def test_a_label_or_a_rule_changed_alone_does_not_stop_the_command_a_new_column_does(run, monkeypatch, tmp_path):
    relabeled = _customer_pack(tmp_path / "relabeled", (
        "extends: contact\ncharacteristics:\n"
        "  last_name: {label: {en: Surname, fr: Nom de famille}, max_length: 60}\n"))
    monkeypatch.setenv("OSSATURE_PACKS", str(relabeled))
    result = run("contact", "--filter", "sort=last_name")
    assert result.exit_code == 0, result.stderr
    assert rows_of(result.stdout_bytes)[0][0] == "Surname"
    widened = _customer_pack(tmp_path / "widened", (
        "extends: contact\ncharacteristics:\n  loyalty: {type: integer, label: {en: Loyalty, fr: Fidélité}}\n"))
    monkeypatch.setenv("OSSATURE_PACKS", str(widened))
    refused = run("contact")
    assert refused.exit_code == 1
    assert refused.stderr == "error: the database is not up to date; run `ossature migrate` first\n"
