"""Definitions the runtime cannot serve are refused when they load, by every door: `ossature
validate`, `pack validate`, `migrate` (through the installation every command and the app load),
never at migrate time as a traceback or at the first record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import metamodel
from engine.installation.definitions import Installation
from engine.installation.live import LiveEngine
from engine.installation.plugin_check import PluginRegistries, plugin_problems
from metamodel.errors import MAX_PROBLEMS
from ossature.main import cli

PROBLEM_LINE = re.compile(r"^\S+\.ya?ml:\d+: \S+: .+$")
LABEL = "{en: X, fr: X}"
REGISTRIES = PluginRegistries()
"""The installed plugins (the built-in ones and the test plugin: format siret on string,
actions convert_lead and stamp_note)."""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.delenv("OSSATURE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, **env: str) -> Result:
    return runner.invoke(cli, list(args), env=env or None, catch_exceptions=False)


def make_pack(root: Path, characteristics: str, transitions_actions: str = "[]") -> Path:
    """A pack with one entity `gadget` (its `characteristics`, one a line) and its workflow, whose
    one transition runs `transitions_actions`."""
    chars = "".join(f"  {line.strip()}\n" for line in characteristics.strip().splitlines())
    files = {
        "pack.yaml": "pack: gadgets\nversion: 1.0.0\n",
        "entities/gadget.yaml": (f"entity: gadget\nlabel: {LABEL}\nplural: {LABEL}\nworkflow: gadget_flow\n"
                                 f"characteristics:\n{chars}"),
        "workflows/gadget_flow.yaml": (
            f"workflow: gadget_flow\nlabel: {LABEL}\nstatuses:\n"
            f"  - {{code: draft, label: {LABEL}, initial: true}}\n  - {{code: done, label: {LABEL}}}\n"
            f"transitions:\n"
            f"  - {{name: finish, label: {LABEL}, from: [draft], to: done, actions: {transitions_actions}}}\n"),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


UNKNOWN_FORMAT = f"code: {{type: string, label: {LABEL}, format: sirett}}"
WRONG_BASE_TYPE = f"count: {{type: integer, label: {LABEL}, format: siret}}"
FINE = f"code: {{type: string, label: {LABEL}, format: siret}}"


def problem_lines(result: Result) -> list[str]:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), lines
    return lines


# -- the check itself ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REGISTRIES.formats))
def test_every_installed_format_passes_on_each_of_its_base_types_and_no_other(tmp_path: Path, name: str) -> None:
    """Generated from the registered formats: each applies where its base types say."""
    fmt = REGISTRIES.formats[name]
    types = sorted(metamodel.model.FIELD_TYPES - {"status", "link", "boolean"})  # what `format` applies to
    a_list = next(iter(metamodel.load_model([metamodel.BASE_PACK]).lists))
    lines = "\n".join(f"f_{t}: {{type: {t}, label: {LABEL}, format: {name}"
                      f"{f', list: {a_list}' if 'choice' in t else ''}}}" for t in types)
    model = metamodel.load_model([metamodel.BASE_PACK, make_pack(tmp_path / "p", lines)])

    refused = {p.path for p in plugin_problems(model, REGISTRIES)}

    assert refused == {f"characteristics.f_{t}.format" for t in types if t not in fmt.base_types}


def test_unknown_format_and_action_name_file_line_path_and_a_fix(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p", UNKNOWN_FORMAT, "[{call: convert_leed}]")
    model = metamodel.load_model([metamodel.BASE_PACK, pack])

    problems = [str(p) for p in plugin_problems(model, REGISTRIES)]

    formats = ", ".join(sorted(REGISTRIES.formats))
    actions = ", ".join(sorted(REGISTRIES.actions))
    assert problems == [
        f"{pack}/entities/gadget.yaml:6: characteristics.code.format: no installed plugin provides the format "
        f"'sirett' (did you mean 'siret'?): install the plugin that registers it, or remove the `format:` "
        f"(installed formats: {formats})",
        f"{pack}/workflows/gadget_flow.yaml:7: transitions.0.actions.0.call: no installed plugin provides the action "
        f"'convert_leed' (did you mean 'convert_lead'?): install the plugin that registers it, or remove the "
        f"`call:` action (installed actions: {actions})",
    ]


# -- ossature validate ---------------------------------------------------------------------
@pytest.mark.parametrize("characteristics, actions, expected", [
    (UNKNOWN_FORMAT, "[]", "characteristics.code.format: no installed plugin provides the format 'sirett'"),
    (WRONG_BASE_TYPE, "[]", "characteristics.count.format: the format 'siret' applies to string, not to an integer"),
    (FINE, "[{call: nothing_here}]", "transitions.0.actions.0.call: no installed plugin provides the action 'nothing_here'"),
])
def test_validate_refuses_what_no_plugin_provides(
        runner: CliRunner, tmp_path: Path, characteristics: str, actions: str, expected: str) -> None:
    pack = make_pack(tmp_path / "p", characteristics, actions)

    [line] = problem_lines(invoke(runner, "validate", str(pack)))

    assert expected in line


def test_validate_accepts_what_the_plugins_provide(runner: CliRunner, tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p", FINE, "[{call: stamp_note}]")

    result = invoke(runner, "validate", str(pack))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 11 entities,")


def test_validate_prints_warnings_and_succeeds(runner: CliRunner, tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p", f"""
        quantity: {{type: integer, label: {LABEL}}}
        total: {{type: integer, label: {LABEL}, default_expr: "quantity * 2"}}
        """)

    result = invoke(runner, "validate", str(pack))

    assert result.exit_code == 0, result.output
    warning, ok = result.stdout.splitlines()
    assert warning == ("warning: p/entities/gadget.yaml:7: characteristics.total.default_expr: 'quantity' "
                       "may be empty (it is not mandatory), and the expression fails on a record without it: "
                       "guard it, e.g. (quantity or 0), or '... if quantity != None else ...'")
    assert ok.startswith("ok: 11 entities,") and ok.endswith(", 1 warning(s)")


@pytest.mark.parametrize("count", [MAX_PROBLEMS, MAX_PROBLEMS + 1])
def test_validate_stops_after_the_problem_limit_with_a_count(runner: CliRunner, tmp_path: Path, count: int) -> None:
    lines = "\n".join(f"f{i}: {{type: string, label: {LABEL}, max_length: 0}}" for i in range(count))
    pack = make_pack(tmp_path / "p", lines)

    result = invoke(runner, "validate", str(pack))

    printed = problem_lines(result)
    if count == MAX_PROBLEMS:
        assert len(printed) == MAX_PROBLEMS
    else:
        assert len(printed) == MAX_PROBLEMS + 1
        assert printed[-1].endswith("$: and 1 more problem(s) not shown: fix the ones above and validate again")


def test_validate_refuses_a_pack_folder_that_is_a_file(runner: CliRunner, tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p", FINE)
    (pack / "views").write_text("view: x\n", encoding="utf-8")

    result = invoke(runner, "validate", str(pack))

    assert result.exit_code == 1
    assert result.stderr == "p/views:1: $: 'views' is a file: it must be a folder of YAML documents (views/NAME.yaml)\n"


def test_pack_validate_refuses_what_no_plugin_provides(runner: CliRunner, tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "p", UNKNOWN_FORMAT)

    [line] = problem_lines(invoke(runner, "pack", "validate", str(pack)))

    assert "characteristics.code.format: no installed plugin provides the format 'sirett'" in line


# -- migrate, the installation and the app -------------------------------------------------
def test_migrate_refuses_an_unknown_format_before_touching_the_database(
        runner: CliRunner, tmp_path: Path, database_url: str) -> None:
    pack = make_pack(tmp_path / "p", UNKNOWN_FORMAT)

    result = invoke(runner, "migrate", OSSATURE_DATABASE_URL=database_url, OSSATURE_PACKS=str(pack))

    [line] = problem_lines(result)
    assert "characteristics.code.format: no installed plugin provides the format 'sirett'" in line
    import sqlalchemy as sa

    db = sa.create_engine(database_url)
    try:
        assert not sa.inspect(db).has_table("gadget")
    finally:
        db.dispose()


@pytest.mark.parametrize("characteristics, actions", [(UNKNOWN_FORMAT, "[]"), (FINE, "[{call: convert_leed}]")])
def test_the_installation_and_the_live_engine_refuse_to_load(
        tmp_path: Path, database_url: str, characteristics: str, actions: str) -> None:
    pack = make_pack(tmp_path / "p", characteristics, actions)
    installation = Installation([metamodel.BASE_PACK, pack], database_url)
    try:
        with pytest.raises(metamodel.DefinitionError) as raised:
            installation.load()
        assert len(raised.value.problems) == 1
        with pytest.raises(metamodel.DefinitionError):
            LiveEngine(installation)  # what the app factory builds
        with pytest.raises(metamodel.DefinitionError):
            installation.plan(None, metamodel.load_model([metamodel.BASE_PACK, pack]))
    finally:
        installation.dispose()


def test_the_installation_loads_what_the_plugins_provide(tmp_path: Path, database_url: str) -> None:
    pack = make_pack(tmp_path / "p", FINE, "[{call: stamp_note}]")
    installation = Installation([metamodel.BASE_PACK, pack], database_url)
    try:
        assert "gadget" in installation.load().model.entities
    finally:
        installation.dispose()
