"""`ossature pack ...` and `ossature overlay ...`, as a consultant and an operator run them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.schema.archive import archive_entries
from engine.installation.definitions import Installation
from metamodel.editing.model_diff import describe_changes
from ossature.commands.packs import overlay, pack

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "packs"
ROOMS = FIXTURES / "rooms"
ROOMS_FUTURE = FIXTURES / "rooms_future"
PROBLEM_LINE = re.compile(r"^\S+\.ya?ml:\d+: \S+: .+$")
ANN = Actor(user_id=3, username="ann")
REGION = "extends: lead\ncharacteristics:\n  region: {type: string, label: {en: Region, fr: Région}, max_length: 40}\n"
KIOSK = """\
entity: kiosk
label: {en: Kiosk, fr: Borne}
plural: {en: Kiosks, fr: Bornes}
characteristics:
  place: {type: string, label: {en: Place, fr: Lieu}, mandatory: true, max_length: 60}
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    """The configured database is the test's; nothing else leaks in from the environment."""
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.setenv("OSSATURE_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def installation(runner: CliRunner, database_url: str):
    """The same installation the commands see, for setting up and checking."""
    found = Installation([metamodel.BASE_PACK], database_url)
    yield found
    found.dispose()


def run(runner: CliRunner, group, *args: str) -> Result:
    return runner.invoke(group, [str(a) for a in args], catch_exceptions=False)


def copy_pack(source: Path, target: Path, version: str | None = None) -> Path:
    shutil.copytree(source, target)
    if version:
        manifest = target / "pack.yaml"
        manifest.write_text(re.sub(r"version: \S+", f"version: {version}", manifest.read_text()))
    return target


# -- validate ------------------------------------------------------------------------------


def test_validate_accepts_a_pack_that_fits_the_base_pack(runner):
    result = run(runner, pack, "validate", ROOMS)
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: pack rooms 1.0.0 (requires base >=1.0, <2): 11 entities, 21 lists, 4 workflows\n"


def test_validate_refuses_a_pack_that_requires_another_base_version(runner):
    result = run(runner, pack, "validate", ROOMS_FUTURE)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: pack rooms 1.2.0 requires base >=2.0; this installation has base 1.0.0\n"


def test_validate_refuses_a_pack_that_requires_a_missing_pack(runner, tmp_path):
    needy = copy_pack(ROOMS, tmp_path / "needy")
    manifest = needy / "pack.yaml"
    manifest.write_text(manifest.read_text().replace('requires: {base: ">=1.0, <2"}', 'requires: {base: ">=1.0", crm_plus: ">=3"}'))
    result = run(runner, pack, "validate", needy)
    assert result.exit_code == 1
    assert result.stderr == "error: pack rooms 1.0.0 requires crm_plus >=3; this installation has no pack crm_plus\n"


def test_validate_reports_document_problems_with_file_line_and_path(runner, tmp_path):
    broken = copy_pack(ROOMS, tmp_path / "broken")
    room = broken / "entities" / "room.yaml"
    room.write_text(room.read_text().replace("min: 1, max: 500", "min: 500, max: 1"))
    result = run(runner, pack, "validate", broken)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), lines
    assert any("broken/entities/room.yaml:8: characteristics.seats" in line for line in lines), lines


def test_validate_needs_a_manifest(runner, tmp_path):
    bare = copy_pack(ROOMS, tmp_path / "bare")
    (bare / "pack.yaml").unlink()
    result = run(runner, pack, "validate", bare)
    assert result.exit_code == 1
    assert result.stderr.endswith("bare/pack.yaml:1: $: the pack has no pack.yaml manifest (pack: name, version: 1.0.0)\n")


def test_validate_needs_no_database(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("OSSATURE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert run(runner, pack, "validate", ROOMS).exit_code == 0


# -- diff and install ------------------------------------------------------------------------


def test_diff_shows_the_plan_and_writes_nothing(runner, installation):
    installation.migrate_to(installation.load().model)
    result = run(runner, pack, "diff", ROOMS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "install pack rooms 1.0.0"
    assert "  pack rooms 1.0.0: added" in lines
    assert "  entity room: added (3 characteristics)" in lines
    assert "  list room_equipment: added (2 values)" in lines
    assert "database:" in lines
    assert any(re.fullmatch(r"  create table ent_room \(\d+ columns\)", line) for line in lines), lines
    assert installation.installed() == []
    assert "room" not in installation.load().model.entities


def test_install_migrates_records_the_pack_and_lists_it(runner, installation):
    result = run(runner, pack, "install", ROOMS)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("install pack rooms 1.0.0\n")
    assert re.search(r"\ninstalled: pack rooms 1\.0\.0 \(\d+ database step\(s\)\)\n$", result.stdout), result.stdout
    (installed,) = installation.installed()
    assert (installed.name, installed.version, installed.previous_version) == ("rooms", "1.0.0", None)
    assert installed.actor_name.endswith("(command line)")
    assert set(installed.documents) == {"pack.yaml", "entities/room.yaml", "lists/room_equipment.yaml"}
    model = installation.load().model
    assert [p.name for p in model.packs] == ["base", "rooms"]
    assert model.entity("room").field("seats").source.file == "installed/rooms/entities/room.yaml"
    engine = installation.open_engine(model)
    try:
        assert engine.pending_migrations() == []
    finally:
        engine.dispose()

    listed = run(runner, pack, "list")
    assert re.fullmatch(r"rooms\s+1\.0\.0\s+installed \S+ \S+ by .+\(command line\)\n1 pack\(s\) installed\n",
                        listed.stdout), listed.stdout


def test_reinstalling_the_same_version_does_nothing(runner, installation):
    run(runner, pack, "install", ROOMS)
    again = run(runner, pack, "install", ROOMS)
    assert again.exit_code == 0
    assert again.stdout == "pack rooms 1.0.0 is already installed: nothing to do\n"
    assert len(installation.installed()) == 1 and installation.state().pack_install == 1


def test_the_same_version_with_other_content_is_refused(runner, installation, tmp_path):
    run(runner, pack, "install", ROOMS)
    changed = copy_pack(ROOMS, tmp_path / "changed")
    room = changed / "entities" / "room.yaml"
    room.write_text(room.read_text().replace("max: 500", "max: 900"))
    result = run(runner, pack, "install", changed)
    assert result.exit_code == 1
    assert result.stderr == ("error: pack rooms 1.0.0 is already installed with other content: "
                             "give the new content a new version.\n")
    assert installation.state().pack_install == 1


@pytest.mark.parametrize("older", ["0.9.9", "0.1.0"])
def test_an_older_version_is_refused(runner, installation, tmp_path, older):
    run(runner, pack, "install", ROOMS)
    result = run(runner, pack, "install", copy_pack(ROOMS, tmp_path / "older", version=older))
    assert result.exit_code == 1
    assert result.stderr == f"error: pack rooms {older} is older than the installed version 1.0.0: it is not installed.\n"
    assert installation.installed()[0].version == "1.0.0"


def test_a_newer_version_upgrades_in_place(runner, installation, tmp_path):
    run(runner, pack, "install", ROOMS)
    newer = copy_pack(ROOMS, tmp_path / "newer", version="1.0.1")
    room = newer / "entities" / "room.yaml"
    room.write_text(room.read_text() + "  floor: {type: integer, label: {en: Floor, fr: Étage}, min: -5, max: 200}\n")
    diff = run(runner, pack, "diff", newer)
    assert diff.stdout.splitlines()[:3] == [
        "upgrade pack rooms 1.0.0 -> 1.0.1", "definitions:", "  pack rooms: 1.0.0 -> 1.0.1"]
    assert "  entity room: characteristic floor added (integer)" in diff.stdout.splitlines()
    assert "  add column ent_room.floor (INTEGER)" in diff.stdout.splitlines()

    result = run(runner, pack, "install", newer)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("upgraded: pack rooms 1.0.1 (1 database step(s))\n")
    (installed,) = installation.installed()
    assert (installed.version, installed.previous_version) == ("1.0.1", "1.0.0")
    assert "floor" in installation.load().model.entity("room").fields_by_name


def test_install_refuses_a_pack_whose_requirements_are_not_met_and_writes_nothing(runner, installation):
    result = run(runner, pack, "install", ROOMS_FUTURE)
    assert result.exit_code == 1
    assert result.stderr == "error: pack rooms 1.2.0 requires base >=2.0; this installation has base 1.0.0\n"
    assert installation.installed() == []


@pytest.mark.parametrize("name, message", [
    ("overlay", "error: 'overlay' is the name of the administration overlay's layer: a pack cannot take it.\n"),
    ("base", "error: pack base is loaded from the directory definitions (base pack or OSSATURE_PACKS); "
             "it cannot also be installed.\n"),
])
def test_install_refuses_a_name_that_is_taken(runner, installation, tmp_path, name, message):
    taken = copy_pack(ROOMS, tmp_path / name)
    manifest = taken / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("pack: rooms", f"pack: {name}"))
    result = run(runner, pack, "install", taken)
    assert result.exit_code == 1
    assert result.stderr.replace(str(metamodel.BASE_PACK), "definitions") == message
    assert installation.installed() == []


def test_install_refuses_a_pack_that_conflicts_with_the_overlay(runner, installation):
    room = (ROOMS / "entities" / "room.yaml").read_text()
    by_hand = "".join(line for line in room.splitlines(keepends=True) if "room_equipment" not in line)
    installation.apply_overlay({"entities/room.yaml": by_hand}, ANN, "rooms by hand")
    result = run(runner, pack, "install", ROOMS)
    assert result.exit_code == 1
    assert any(line.startswith("overlay/entities/room.yaml:") and "already declared" in line
               and "rooms/entities/room.yaml" in line for line in result.stderr.splitlines()), result.stderr
    assert installation.installed() == []


# -- export ----------------------------------------------------------------------------------


def test_export_then_install_on_a_fresh_database_gives_the_same_model(runner, installation, tmp_path,
                                                                       scratch_databases, monkeypatch):
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    installation.apply_overlay({"entities/lead.yaml": REGION, "entities/kiosk.yaml": KIOSK}, ANN, "kiosks")
    exported = run(runner, pack, "export", "--overlay", "-o", tmp_path / "exported")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == f"exported pack admin_overlay 1.0.2 (overlay revision 2) to {tmp_path / 'exported'}: 2 document(s)\n"
    manifest = (tmp_path / "exported" / "pack.yaml").read_text()
    assert "pack: admin_overlay\nversion: 1.0.2\n" in manifest and "base: '>=1.0.0, <2'" in manifest
    assert (tmp_path / "exported" / "entities" / "kiosk.yaml").read_text() == KIOSK

    validated = run(runner, pack, "validate", tmp_path / "exported")
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith("ok: pack admin_overlay 1.0.2 (requires base >=1.0.0, <2): 11 entities")

    source_model = installation.load().model
    with scratch_databases(tmp_path / "next_customer") as fresh_url:
        (tmp_path / "next_customer").mkdir(exist_ok=True)
        monkeypatch.setenv("OSSATURE_DATABASE_URL", fresh_url)
        installed = run(runner, pack, "install", tmp_path / "exported")
        assert installed.exit_code == 0, installed.output
        assert re.search(r"\ninstalled: pack admin_overlay 1\.0\.2 \(\d+ database step\(s\)\)\n$", installed.stdout)
        fresh = Installation([metamodel.BASE_PACK], fresh_url)
        try:
            target_model = fresh.load().model
            assert describe_changes(source_model, target_model, quiet_packs=["overlay", "admin_overlay"]) == []
            assert [p.name for p in target_model.packs] == ["base", "admin_overlay"]
            engine = fresh.open_engine(target_model)
            try:
                assert engine.pending_migrations() == []
            finally:
                engine.dispose()
        finally:
            fresh.dispose()


def test_export_needs_the_overlay_flag(runner):
    result = run(runner, pack, "export")
    assert result.exit_code == 1
    assert result.stderr == "error: say what to export: --overlay (the administration overlay)\n"


def test_export_of_an_empty_overlay_is_refused(runner, installation):
    result = run(runner, pack, "export", "--overlay")
    assert result.exit_code == 1
    assert result.stderr == "error: The overlay is empty: there is nothing to export.\n"


def test_export_does_not_write_into_a_directory_that_is_not_empty_unless_forced(runner, installation, tmp_path):
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    refused = run(runner, pack, "export", "--overlay", "-o", target)
    assert refused.exit_code == 1 and "is not empty" in refused.stderr
    assert not (target / "pack.yaml").exists()
    forced = run(runner, pack, "export", "--overlay", "-o", target, "--force", "--name", "acme_custom",
                 "--version", "2.3.0")
    assert forced.exit_code == 0, forced.output
    assert "pack: acme_custom\nversion: 2.3.0\n" in (target / "pack.yaml").read_text()
    assert (target / "notes.txt").read_text() == "mine"


def test_export_default_directory_is_named_after_the_pack(runner, installation, tmp_path):
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    assert run(runner, pack, "export", "--overlay").exit_code == 0
    assert (tmp_path / "admin_overlay-1.0.1" / "entities" / "lead.yaml").read_text() == REGION


@pytest.mark.parametrize("option, value, message", [
    ("--name", "Acme", "error: 'Acme' is not a pack name"),
    ("--name", "overlay", "error: 'overlay' is the name of the administration overlay's layer"),
    ("--version", "1.0", "error: '1.0' is not a version such as 1.2.0"),
])
def test_export_refuses_a_bad_name_or_version(runner, installation, option, value, message):
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    result = run(runner, pack, "export", "--overlay", option, value)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)


# -- the overlay's revisions ------------------------------------------------------------------


def test_overlay_list_show_and_revert(runner, installation):
    assert run(runner, overlay, "list").stdout == "the overlay has no revision\n"
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region for leads")
    installation.apply_overlay({"entities/lead.yaml": REGION, "entities/kiosk.yaml": KIOSK}, ANN, "kiosks")

    listed = run(runner, overlay, "list").stdout.splitlines()
    assert len(listed) == 2
    assert re.fullmatch(r"\s+2  \S+ \S+  ann\s+kiosks  current", listed[0]), listed
    assert re.fullmatch(r"\s+1  \S+ \S+  ann\s+region for leads", listed[1]), listed

    shown = run(runner, overlay, "show", "1").stdout
    assert shown.startswith("# revision 1, ") and "# --- entities/lead.yaml\n" + REGION in shown

    reverted = run(runner, overlay, "revert", "2")
    assert reverted.exit_code == 0, reverted.output
    assert reverted.stdout.splitlines()[0] == "revert revision 2"
    assert "  entity kiosk: removed" in reverted.stdout.splitlines()
    assert reverted.stdout.endswith("revision 3: the overlay as before revision 2\n")
    assert "kiosk" not in installation.load().model.entities
    assert re.search(r"revert revision 2 \(reverts 2\)  current", run(runner, overlay, "list").stdout)


def test_overlay_revert_of_an_unknown_revision_is_refused(runner, installation):
    result = run(runner, overlay, "revert", "9")
    assert result.exit_code == 1
    assert result.stderr == "error: There is no overlay revision 9.\n"


def test_overlay_revert_refuses_zero(runner):
    result = runner.invoke(overlay, ["revert", "0"])
    assert result.exit_code == 2 and "0 is not in the range x>=1" in result.output


# -- what the other commands load -------------------------------------------------------------


def test_commands_on_the_database_load_the_installed_packs_and_the_overlay(runner, installation):
    from ossature.commands.common import load_installed_model

    run(runner, pack, "install", ROOMS)
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    model = load_installed_model()
    assert [p.name for p in model.packs] == ["base", "rooms", "overlay"]
    assert "room" in model.entities and "region" in model.entity("lead").fields_by_name


def test_loading_stops_the_command_with_the_problems_of_a_stored_overlay(runner, installation, capsys):
    import click

    from engine.installation.overlay import record_revision
    from ossature.commands.common import load_installed_model

    installation.ensure_tables()
    with installation.db.begin() as conn:
        record_revision(conn, 1, {"entities/lead.yaml": "extends: lead\nplural: 3\n"}, ANN, "bad", installation.clock())
    with pytest.raises(click.exceptions.Exit) as stopped:
        load_installed_model()
    assert stopped.value.exit_code == 1
    assert capsys.readouterr().err == "overlay/entities/lead.yaml:2: plural: 3 is not a mapping\n"


def test_overlay_revert_names_the_archived_data_it_declares_again(runner, installation):
    from engine import SYSTEM_ACTOR

    installation.migrate_to(installation.load().model)
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    engine = installation.open_engine(installation.load().model)
    try:
        engine.records.create("lead", {"last_name": "Durand", "company": "Acme", "phone": "01 02 03 04 05",
                                        "region": "Bretagne"}, SYSTEM_ACTOR)
    finally:
        engine.dispose()
    assert "archived data" not in run(runner, overlay, "revert", "1").stdout  # region archived with its value
    back = run(runner, overlay, "revert", "2")
    assert back.exit_code == 0, back.output
    assert back.stdout.endswith("archived data is declared again; bring it back with `ossature archive restore TARGET`:\n"
                                "  lead.region (1 record)\n")


def test_every_database_command_sees_the_overlay_and_the_installed_packs(runner, installation):
    """`migrate` on the directory packs alone would take the overlay's characteristic for a removed one."""
    from ossature.main import cli

    assert run(runner, cli, "migrate").exit_code == 0
    installation.apply_overlay({"entities/lead.yaml": REGION}, ANN, "region")
    assert run(runner, pack, "install", ROOMS).exit_code == 0
    planned = run(runner, cli, "migrate", "--plan")
    assert planned.exit_code == 0 and "database is up to date" in planned.output, planned.output
    exported = run(runner, cli, "export", "lead", "--all-columns")
    assert exported.exit_code == 0 and "Region" in exported.output.splitlines()[0]


# -- a pack that removes and retypes characteristics of the base pack ----------------------------

RESHAPE = """\
extends: contact
remove_characteristics: [mobile]
characteristics:
  postal_code: {redeclare: true, type: integer, label: {en: Postal code, fr: Code postal}, min: 0, max: 99999}
"""


def reshaping_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "reshape"
    (folder / "entities").mkdir(parents=True)
    (folder / "pack.yaml").write_text('pack: reshape\nversion: 1.0.0\nrequires: {base: ">=1.0"}\n')
    (folder / "entities" / "contact.yaml").write_text(RESHAPE)
    return folder


def test_a_pack_removing_and_retyping_base_characteristics_archives_and_converts(runner, installation, tmp_path):
    model = installation.load().model
    installation.migrate_to(model)
    engine = installation.open_engine(model)
    try:
        paris = engine.records.create("contact", {"last_name": "Paris", "postal_code": "75001", "mobile": "06 12"},
                                      SYSTEM_ACTOR)
        corsica = engine.records.create("contact", {"last_name": "Ajaccio", "postal_code": "2A004"},
                                        SYSTEM_ACTOR)
    finally:
        engine.dispose()
    folder = reshaping_pack(tmp_path)

    diff = run(runner, pack, "diff", folder)
    assert diff.exit_code == 0, diff.output
    lines = diff.stdout.splitlines()
    assert "  entity contact: characteristic mobile removed" in lines, diff.stdout
    assert any(line.startswith("  contact.mobile: no longer declared: archive its 1 value(s)") for line in lines)
    assert any(line.startswith("  REFUSED: contact.postal_code: type string -> integer refused: 1 value(s)")
               for line in lines)
    assert f"      record {corsica['id']}: '2A004': type" in lines
    refused = run(runner, pack, "install", folder)
    assert refused.exit_code == 1 and installation.installed() == []

    engine = installation.open_engine(model)
    try:
        engine.records.update("contact", corsica["id"], {"postal_code": "20000"}, SYSTEM_ACTOR,
                              version=corsica["version"])
    finally:
        engine.dispose()
    installed = run(runner, pack, "install", folder)
    assert installed.exit_code == 0, installed.output
    model = installation.load().model
    assert "mobile" not in model.entity("contact").fields_by_name
    assert model.entity("contact").field("postal_code").type == "integer"
    engine = installation.open_engine(model)
    try:
        assert engine.records.get("contact", paris["id"])["postal_code"] == 75001
        (archived,) = [e for e in archive_entries(engine) if e.target == "contact.mobile"]
        assert archived.count == 1
    finally:
        engine.dispose()
