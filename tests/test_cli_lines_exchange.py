"""`ossature export ENTITY --lines NAME` and `ossature import ENTITY FILE --lines NAME`: the lines of
records in a CSV file of their own, out and back in, from the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import metamodel
from engine import SYSTEM_ACTOR
from ossature.commands.exports import export_command
from ossature.commands.imports import import_command

TESTS = Path(__file__).resolve().parent
PACKS = [TESTS / "metamodel" / "packs" / "relations", TESTS / "api" / "relations_pack"]


@pytest.fixture
def engine(make_engine):
    return make_engine(metamodel.load_model([metamodel.BASE_PACK, *PACKS]))


@pytest.fixture
def quotes(engine) -> list[int]:
    contact = engine.records.create("contact", {"last_name": "Ann", "email": "ann@x.org"}, SYSTEM_ACTOR)["id"]
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        return tx.create_many("quote", [
            {"name": "A", "reviewers": [contact], "items": [{"product": "Pen", "price": "2"}, {"product": "Ink"}]},
            {"name": "B", "reviewers": [contact]},
        ])


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, engine):
    monkeypatch.setenv("OSSATURE_PACKS", os.pathsep.join(str(p) for p in PACKS))
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda command, *args: runner.invoke(command, [str(a) for a in args], catch_exceptions=False)


def items(engine, quote_id: int) -> list[str]:
    return [i["product"] for i in engine.records.get("quote", quote_id)["items"]]


def test_lines_go_out_and_come_back_in(cli, engine, quotes, tmp_path):
    a, b = quotes
    out = tmp_path / "items.csv"
    result = cli(export_command, "quote", "--lines", "items", "-o", out)
    assert result.exit_code == 0, result.output
    assert "2 line(s) exported" in result.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines == ["Quote,Product,Price,Delivery,Quantity", f"#{a},Pen,2.00,,1", f"#{a},Ink,,,1"]
    out.write_text("\n".join([*lines, f"#{b},Pad,3,,2"]) + "\n", encoding="utf-8")
    result = cli(import_command, "quote", out, "--lines", "items")
    assert result.exit_code == 0, result.output
    assert result.stdout == "quote.items: 3 line(s): 2 record(s) got their lines, 0 unchanged, 0 refused (kept their lines)\n"
    assert (items(engine, a), items(engine, b)) == (["Pen", "Ink"], ["Pad"])


def test_bad_rows_are_listed_with_their_row_and_column(cli, engine, quotes, tmp_path):
    a, b = quotes
    path = tmp_path / "items.csv"
    path.write_text(f"Quote,Product,Quantity\n#{a},Pen,0\n#{b},Pad,1\n#999999,X,1\n", encoding="utf-8")
    result = cli(import_command, "quote", path, "--lines", "items", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("quote.items: 3 line(s): 1 record(s) got their lines, 0 unchanged, 2 refused")
    assert "  row 2, Quantity: " in result.stderr
    assert "  row 4, Quote: There is no quote '#999999' this user may change" in result.stderr
    assert (items(engine, a), items(engine, b)) == (["Pen", "Ink"], ["Pad"])


def test_a_characteristic_that_is_not_lines_or_an_option_it_cannot_use_is_refused(cli, quotes, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("Quote,Product\n", encoding="utf-8")
    result = cli(import_command, "quote", path, "--lines", "reviewers")
    assert result.exit_code == 1 and "--lines: quote has no lines characteristic 'reviewers'" in result.output
    result = cli(import_command, "quote", path, "--lines", "items", "--upsert")
    assert result.exit_code == 1 and "--upsert:" in result.output
    result = cli(export_command, "quote", "--lines", "name")
    assert result.exit_code == 1 and "--lines: quote has no lines characteristic 'name'" in result.output
