"""`ossature migrate [--plan]` and `ossature archive list|restore`, as an operator runs them."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ossature.commands.migrate import archive, migrate

CLI = click.Group("ossature", commands={"migrate": migrate, "archive": archive})


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, pack: Path | None = None) -> Result:
    env = {"OSSATURE_PACKS": str(pack)} if pack else None
    return runner.invoke(CLI, list(args), env=env, catch_exceptions=False)


def gadget_pack(root: Path, characteristics: str) -> Path:
    """A customer pack with one entity, `gadget`, whose characteristics are given as YAML lines."""
    root.mkdir(parents=True)
    (root / "pack.yaml").write_text("pack: gadgets\nversion: 1.0.0\nlabel: {en: Gadgets, fr: Gadgets}\n")
    (root / "entities").mkdir()
    body = textwrap.indent(textwrap.dedent(characteristics).strip(), "  ")
    (root / "entities" / "gadget.yaml").write_text(
        "entity: gadget\nlabel: {en: Gadget, fr: Gadget}\nplural: {en: Gadgets, fr: Gadgets}\n"
        f"characteristics:\n{body}\n"
    )
    return root


def engine_for(pack: Path, database_url: str) -> Engine:
    return Engine(metamodel.load_model([metamodel.BASE_PACK, pack]), database_url)


def steps(result: Result) -> list[str]:
    return [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]


def test_plan_changes_nothing_then_migrate_applies_it(runner: CliRunner, database_url: str) -> None:
    plan = invoke(runner, "migrate", "--plan")
    assert plan.exit_code == 0, plan.output
    planned = steps(plan)
    assert any(re.match(r"create table ent_lead \(\d+ columns\)", s) for s in planned), planned
    assert "create table sys_login (5 columns)" in planned
    assert plan.stdout.rstrip().endswith(f"plan: {len(planned)} step(s)")
    assert sa.inspect(sa.create_engine(database_url)).get_table_names() == []

    done = invoke(runner, "migrate")
    assert done.exit_code == 0, done.output
    assert steps(done) == planned
    assert done.stdout.rstrip().endswith(f"done: {len(planned)} step(s)")
    again = invoke(runner, "migrate", "--plan")
    assert again.stdout.rstrip().endswith("database is up to date")


def test_a_refused_step_lists_the_records_and_nothing_is_migrated(
    runner: CliRunner, tmp_path: Path, database_url: str,
) -> None:
    v1 = gadget_pack(tmp_path / "v1", "weight: {type: string, label: {en: Weight, fr: Poids}}")
    assert invoke(runner, "migrate", pack=v1).exit_code == 0
    engine = engine_for(v1, database_url)
    ids = engine.records.create_many("gadget", [{"weight": "12"}, {"weight": "heavy"}], SYSTEM_ACTOR)
    engine.dispose()
    v2 = gadget_pack(tmp_path / "v2", """
        weight: {type: integer, label: {en: Weight, fr: Poids}}
        colour: {type: string, label: {en: Colour, fr: Couleur}}
    """)
    plan = invoke(runner, "migrate", "--plan", pack=v2)
    assert plan.exit_code == 1
    assert steps(plan)[:2] == [
        "REFUSED: gadget.weight: type string -> integer refused: 1 value(s) do not convert; "
        "nothing is changed until they are corrected",
        f"record {ids[1]}: 'heavy': type",
    ]
    assert plan.stderr == "error: 1 step(s) refused: nothing can be migrated until they are resolved\n"
    applied = invoke(runner, "migrate", pack=v2)
    assert applied.exit_code == 1
    assert applied.stderr == "error: 1 step(s) refused: nothing was changed\n"
    columns = {c["name"] for c in sa.inspect(sa.create_engine(database_url)).get_columns("ent_gadget")}
    assert "colour" not in columns
    french = invoke(runner, "migrate", "--plan", "--lang", "fr", pack=v2)
    assert steps(french)[0].startswith("REFUSÉ : gadget.weight : type string -> integer refusé")


def test_archive_list_and_restore(runner: CliRunner, tmp_path: Path, database_url: str) -> None:
    v1 = gadget_pack(tmp_path / "v1", """
        name: {type: string, label: {en: Name, fr: Nom}}
        colour: {type: string, label: {en: Colour, fr: Couleur}}
    """)
    assert invoke(runner, "migrate", pack=v1).exit_code == 0
    assert invoke(runner, "archive", "list", pack=v1).stdout == "the archive is empty\n"
    engine = engine_for(v1, database_url)
    ids = engine.records.create_many("gadget", [{"name": "a", "colour": "red"}, {"name": "b", "colour": "blue"}],
                                     SYSTEM_ACTOR)
    engine.dispose()
    v2 = gadget_pack(tmp_path / "v2", "name: {type: string, label: {en: Name, fr: Nom}}")
    migrated = invoke(runner, "migrate", pack=v2)
    assert steps(migrated)[0] == (
        "gadget.colour: no longer declared: archive its 2 value(s), then drop the column "
        "(`ossature archive restore gadget.colour` brings them back once it is declared again)"
    )
    listed = invoke(runner, "archive", "list", pack=v2)
    assert re.match(r"  gadget\.colour +2 value\(s\) +archived \d{4}-\d\d-\d\d \d\d:\d\d  not declared$",
                    listed.stdout.splitlines()[0]), listed.stdout
    refused = invoke(runner, "archive", "restore", "gadget.colour", pack=v2)
    assert refused.exit_code == 1
    assert refused.stderr == "error: gadget.colour is not declared: declare it again before restoring its archive\n"

    pending = invoke(runner, "archive", "restore", "gadget.colour", pack=v1)
    assert pending.exit_code == 1
    assert "run `ossature migrate` first" in pending.stderr
    assert invoke(runner, "migrate", pack=v1).exit_code == 0
    restored = invoke(runner, "archive", "restore", "gadget.colour", "--lang", "fr", pack=v1)
    assert restored.exit_code == 0, restored.output
    assert restored.stdout == "gadget.colour : 2 valeur(s) rétablie(s) ; 0 conservée(s) dans l'archive (-)\n"
    engine = engine_for(v1, database_url)
    assert [engine.records.get("gadget", i)["colour"] for i in ids] == ["red", "blue"]
    engine.dispose()
    assert invoke(runner, "archive", "list", pack=v1).stdout == "the archive is empty\n"
