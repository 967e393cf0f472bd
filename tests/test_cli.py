"""The `ossature` command line: validate, migrate and seed-demo, as an operator runs them."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import metamodel
from ossature.main import cli, main

PROBLEM_LINE = re.compile(r"^\S+\.ya?ml:\d+: \S+: .+$")
LABEL = "{en: Gadget, fr: Gadget}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def make_pack(root: Path, name: str, entity_yaml: str) -> Path:
    write(root / "pack.yaml", f"pack: {name}\nversion: 1.0.0\nlabel: {{en: {name}, fr: {name}}}\n")
    write(root / "entities" / "gadget.yaml", entity_yaml)
    return root


@pytest.fixture
def broken_pack(tmp_path: Path) -> Path:
    return make_pack(
        tmp_path / "broken",
        "broken",
        f"""
        entity: gadget
        label: {LABEL}
        plural: {{en: Gadgets, fr: Gadgets}}
        characteristics:
          weight: {{type: integer, label: {{en: Weight, fr: Poids}}, min: 0}}
          colour: {{type: nonsense, label: {{en: Colour, fr: Couleur}}}}
        """,
    )


@pytest.fixture
def standalone_pack(tmp_path: Path) -> Path:
    return make_pack(
        tmp_path / "standalone",
        "standalone",
        f"""
        entity: gadget
        label: {LABEL}
        plural: {{en: Gadgets, fr: Gadgets}}
        characteristics:
          weight: {{type: integer, label: {{en: Weight, fr: Poids}}, min: 0}}
        """,
    )


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """No configuration leaks in from the environment running the tests."""
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.delenv("OSSATURE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, **env: str) -> Result:
    return runner.invoke(cli, list(args), env=env or None, catch_exceptions=False)


# -- validate -------------------------------------------------------------------------------


def test_validate_base_pack_is_clean(runner: CliRunner) -> None:
    result = invoke(runner, "validate")
    assert result.exit_code == 0, result.output
    base = len(metamodel.load_model([metamodel.BASE_PACK]).entities)
    assert re.fullmatch(rf"ok: {base} entities, \d+ lists, 4 workflows\n", result.stdout)
    assert result.stderr == ""


def test_validate_reports_every_problem_with_file_line_and_path(runner: CliRunner, broken_pack: Path) -> None:
    result = invoke(runner, "validate", str(broken_pack))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "no problem reported"
    assert all(PROBLEM_LINE.match(line) for line in lines), lines
    assert any("gadget.yaml:6: characteristics.colour" in line for line in lines), lines
    assert "Traceback" not in result.output


def test_validate_without_arguments_checks_the_configured_packs(runner: CliRunner, broken_pack: Path) -> None:
    result = invoke(runner, "validate", OSSATURE_PACKS=str(broken_pack))
    assert result.exit_code == 1
    assert "gadget.yaml:6:" in result.stderr


def test_validate_no_base_checks_a_standalone_pack(runner: CliRunner, standalone_pack: Path) -> None:
    result = invoke(runner, "validate", "--no-base", str(standalone_pack))
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 entities, 0 lists, 0 workflows\n"


def test_validate_layers_a_clean_customer_pack_on_the_base(runner: CliRunner, standalone_pack: Path) -> None:
    result = invoke(runner, "validate", str(standalone_pack))
    assert result.exit_code == 0, result.output
    base = len(metamodel.load_model([metamodel.BASE_PACK]).entities)
    assert result.stdout.startswith(f"ok: {base + 1} entities,")


def test_validate_names_a_missing_pack_directory(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = invoke(runner, "validate", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"{missing}: pack directory not found\n"


def test_main_is_the_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert "ossature" in capsys.readouterr().out


# -- migrate and seed-demo ------------------------------------------------------------------


def test_migrate_then_seed_demo_on_a_fresh_database(runner: CliRunner, database_url: str) -> None:
    first = invoke(runner, "migrate", OSSATURE_DATABASE_URL=database_url)
    assert first.exit_code == 0, first.output
    steps = [line.strip() for line in first.stdout.splitlines() if line.startswith("  ")]
    assert any(re.match(r"create table \w*lead\b", step) for step in steps), steps
    assert first.stdout.rstrip().endswith(f"done: {len(steps)} step(s)")

    again = invoke(runner, "migrate", OSSATURE_DATABASE_URL=database_url)
    assert again.exit_code == 0, again.output
    assert again.stdout.rstrip().endswith("database is up to date")

    seeded = invoke(runner, "seed-demo", OSSATURE_DATABASE_URL=database_url)
    assert seeded.exit_code == 0, seeded.output
    counts = dict(re.findall(r"^  (\w+): (\d+)$", seeded.stdout, re.MULTILINE))
    assert int(counts["user"]) > 0 and int(counts["lead"]) > 0
    assert f"created {sum(map(int, counts.values()))} records" in seeded.stdout

    assert "demo logins (password 'ossature-demo'): admin (admin), claire.martin (sales)" in seeded.stdout

    reseeded = invoke(runner, "seed-demo", OSSATURE_DATABASE_URL=database_url)
    assert reseeded.exit_code == 0, reseeded.output
    assert reseeded.stdout == "demo data already present: nothing to do\n"


def test_seed_demo_before_migrate_says_what_to_do(runner: CliRunner, database_url: str) -> None:
    result = invoke(runner, "seed-demo", OSSATURE_DATABASE_URL=database_url)
    assert result.exit_code == 1
    assert "run `ossature migrate` first" in result.stderr


def test_migrate_refuses_broken_definitions(runner: CliRunner, broken_pack: Path, database_url: str) -> None:
    result = invoke(runner, "migrate", OSSATURE_DATABASE_URL=database_url, OSSATURE_PACKS=str(broken_pack))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert all(PROBLEM_LINE.match(line) for line in result.stderr.splitlines())


def test_migrate_reports_an_unreachable_database(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    result = invoke(runner, "migrate", OSSATURE_DATABASE_URL=url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: database {url}: ")
    assert "Traceback" not in result.output


def test_default_database_is_sqlite_in_the_instance_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "migrate")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("database: sqlite:///instance/ossature.db\n")
    assert (tmp_path / "instance" / "ossature.db").is_file()
