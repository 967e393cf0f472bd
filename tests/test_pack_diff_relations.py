"""`ossature pack diff` on relations, in words: links and lines added, removed and changed, owned
entities, a link becoming links, reverse relations renamed, related panels changed, and the join
and line tables the migration makes, archives or fills. Nothing is written by a diff."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import metamodel
from engine import Actor
from engine.installation.definitions import Installation
from metamodel.editing.model_diff import describe_changes
from ossature.commands.packs import pack

from test_cli_pack import installation, run, runner  # noqa: F401 (fixtures: the configured database)

ANN = Actor(user_id=3, username="ann")
RELATIONS = Path(__file__).resolve().parent / "metamodel" / "packs" / "relations"
EXTRA = """\
entity: room_extra
label: {en: Extra, fr: Extra}
plural: {en: Extras, fr: Extras}
owned_by: room
characteristics:
  name: {type: string, label: {en: Name, fr: Nom}}
"""


def edited(tmp_path: Path, version: str, replacements: dict[str, list[tuple[str, str]]],
           added: dict[str, str] | None = None) -> Path:
    """A copy of the relations pack at `version`, each file's texts replaced (each must be found)."""
    target = tmp_path / f"relations-{version}"
    shutil.copytree(RELATIONS, target)
    replacements = {"pack.yaml": [("version: 1.0.0", f"version: {version}")], **replacements}
    for name, pairs in replacements.items():
        path = target / name
        text = path.read_text()
        for old, new in pairs:
            assert old in text, (name, old)
            text = text.replace(old, new)
        path.write_text(text)
    for name, text in (added or {}).items():
        (target / name).write_text(text)
    return target


UPGRADE = {
    "entities/booking.yaml": [
        ("reverse: bookings}", "reverse: reservations}"),
        ("label: {en: Meals, fr: Repas}, max: 50}", "label: {en: Meals, fr: Repas}, max: 20}"),
        ("  attendees: {type: links, entity: contact, label: {en: Attendees, fr: Participants}, max: 500, historized: true}\n",
         "  hosts: {type: links, entity: user, label: {en: Hosts, fr: Hôtes}, max: 5}\n"),
        ("  backup_room: {type: link,", "  backup_room: {type: links,"),
        ("account.sector, attendees]", "account.sector]"), ("region.country, attendees, status]", "region.country, status]"),
        ("mass_update: [attendees, backup_room]", "mass_update: [backup_room]"),
        ("account, attendees, meals]", "account, hosts, meals]"),
    ],
    "entities/room.yaml": [("  capacity:", "  extras: {type: lines, entity: room_extra, label: {en: Extras, fr: Extras}}\n"
                                          "  capacity:")],
    "views/booking_summary.yaml": [("sort: [-created_at], size: 5}", "sort: [subject], size: 20}")],
}


def plan_lines(result) -> tuple[list[str], list[str]]:
    """The `definitions:` and `database:` lines of a printed plan."""
    lines = result.stdout.splitlines()
    at = lines.index("database:")
    return [line.strip() for line in lines[1:at] if line != "definitions:"], [line.strip() for line in lines[at + 1:]]


def test_installing_the_relations_pack_says_its_owned_entity_and_join_table(runner, installation):  # noqa: F811
    installation.migrate_to(installation.load().model)
    result = run(runner, pack, "diff", RELATIONS)
    assert result.exit_code == 0, result.output
    definitions, database = plan_lines(result)
    assert "entity booking: added (9 characteristics)" in definitions
    assert "entity meal: added (lines of booking.meals, 4 characteristics)" in definitions
    assert "booking.attendees: new many-to-many link to contact: create join table rel_booking__attendees" in database
    assert any(re.fullmatch(r"create table ent_meal \(\d+ columns\)", line) for line in database), database
    assert installation.installed() == []


def test_an_upgrade_says_every_relation_change_and_what_the_migration_does(runner, installation, tmp_path):  # noqa: F811
    assert run(runner, pack, "install", RELATIONS).exit_code == 0
    upgraded = edited(tmp_path, "1.1.0", UPGRADE, {"entities/room_extra.yaml": EXTRA})
    result = run(runner, pack, "diff", upgraded)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("upgrade pack relations 1.0.0 -> 1.1.0\n")
    definitions, database = plan_lines(result)

    assert "entity booking: characteristic hosts added (links to user)" in definitions
    assert "entity booking: characteristic attendees removed" in definitions
    assert "entity booking: characteristic backup_room changed (link to room becomes links to room)" in definitions
    assert "entity booking: characteristic meals changed (max)" in definitions
    assert "entity booking: characteristic account changed (reverse relation bookings renamed reservations)" in definitions
    assert "entity room: characteristic extras added (lines of room_extra)" in definitions
    assert "entity room_extra: added (lines of room.extras, 1 characteristic)" in definitions
    assert "entity room: view booking_summary changed (sections, related)" in definitions  # extras on its form
    assert not [line for line in definitions if line.startswith("entity contact") or line.startswith("entity user")]

    assert "booking.hosts: new many-to-many link to user: create join table rel_booking__hosts" in database
    assert any(line.startswith("booking.attendees: no longer declared: archive its 0 link(s)")
               and "drop join table rel_booking__attendees" in line for line in database), database
    assert any(line.startswith("booking.backup_room: link -> links:") and "rel_booking__backup_room" in line
               for line in database), database
    assert "booking.meals: maximum now 20: every existing record complies" in database
    assert any(re.fullmatch(r"create table ent_room_extra \(\d+ columns\)", line) for line in database), database

    (installed,) = installation.installed()
    assert installed.version == "1.0.0"  # a diff writes nothing
    assert "hosts" not in installation.load().model.entity("booking").fields_by_name


def test_the_same_changes_in_french(tmp_path):
    before = metamodel.load_model([metamodel.BASE_PACK, RELATIONS])
    after = metamodel.load_model([metamodel.BASE_PACK, edited(tmp_path, "1.1.0", UPGRADE,
                                                              {"entities/room_extra.yaml": EXTRA})])
    said = [change.text("fr") for change in describe_changes(before, after)]

    assert "entité booking : modification de la caractéristique backup_room (lien vers room devient liens vers room)" in said
    assert "entité booking : ajout de la caractéristique hosts (liens vers user)" in said
    assert "entité room_extra : ajout (lignes de room.extras, 1 caractéristique)" in said
    assert ("entité booking : modification de la caractéristique account (relation inverse bookings renommée "
            "reservations)") in said


def test_a_relabelled_reverse_relation_and_a_changed_target_are_said(tmp_path):
    before = metamodel.load_model([metamodel.BASE_PACK, RELATIONS])
    after = metamodel.load_model([metamodel.BASE_PACK, edited(tmp_path, "1.1.0", {
        "entities/room.yaml": [("reverse: {name: rooms, label: {en: Rooms, fr: Salles}}",
                                "reverse: {name: rooms, label: {en: Halls, fr: Halls}}")],
        "entities/booking.yaml": [("  account: {type: link, entity: account,", "  account: {type: link, entity: contact,"),
                                  ("account.sector, attendees]", "account.last_name, attendees]")],
        "views/booking_summary.yaml": [("account.sector]", "account.last_name]")],
    })])
    said = [str(change) for change in describe_changes(before, after)]

    assert "entity room: characteristic site changed (label of the reverse relation rooms)" in said
    assert "entity booking: characteristic account changed (link to account becomes link to contact)" in said


def test_a_removed_owned_entity_and_its_lines_are_said(runner, installation, tmp_path):  # noqa: F811
    assert run(runner, pack, "install", RELATIONS).exit_code == 0
    without = edited(tmp_path, "1.2.0", {"entities/booking.yaml": [
        ("  meals: {type: lines, entity: meal, label: {en: Meals, fr: Repas}, max: 50}\n", ""),
        ("account, attendees, meals]", "account, attendees]")]})
    (without / "entities" / "meal.yaml").unlink()
    result = run(runner, pack, "diff", without)
    assert result.exit_code == 0, result.output
    definitions, database = plan_lines(result)
    assert "entity booking: characteristic meals removed" in definitions
    assert "entity meal: removed" in definitions
    assert any("ent_meal" in line and "archive" in line for line in database), database


@pytest.mark.parametrize("max_lines", ["0", "1001"])
def test_a_pack_breaking_a_relation_rule_is_refused_before_any_plan(runner, installation, tmp_path, max_lines):  # noqa: F811
    broken = edited(tmp_path, "1.3.0", {"entities/booking.yaml": [
        ("label: {en: Meals, fr: Repas}, max: 50}", f"label: {{en: Meals, fr: Repas}}, max: {max_lines}}}")]})
    result = run(runner, pack, "diff", broken)
    assert result.exit_code == 1 and result.stdout == ""
    assert "entities/booking.yaml:12: characteristics.meals.max" in result.stderr
    assert "Traceback" not in result.stderr


PHONES = {
    "entities/contact.yaml": "extends: contact\ncharacteristics:\n"
                             "  phones: {type: lines, entity: contact_phone, label: {en: Phones, fr: Téléphones}, max: 5}\n"
                             "  lists: {type: links, entity: contact_list, label: {en: Lists, fr: Listes},"
                             " reverse: {name: members_too, label: {en: Members, fr: Membres}}}\n",
    "entities/contact_phone.yaml": "entity: contact_phone\nlabel: {en: Phone, fr: Téléphone}\n"
                                   "plural: {en: Phones, fr: Téléphones}\nowned_by: contact\n"
                                   "characteristics:\n  number: {type: phone, label: {en: Number, fr: Numéro}}\n",
}


def test_an_overlay_with_relations_exports_as_a_pack_whose_diff_on_a_fresh_database_says_them(
        runner, installation, tmp_path, scratch_databases, monkeypatch):  # noqa: F811
    installation.apply_overlay(PHONES, ANN, "phones and lists")
    exported = run(runner, pack, "export", "--overlay", "-o", tmp_path / "exported")
    assert exported.exit_code == 0, exported.output
    assert run(runner, pack, "validate", tmp_path / "exported").exit_code == 0
    (tmp_path / "next_customer").mkdir()
    with scratch_databases(tmp_path / "next_customer") as fresh_url:
        monkeypatch.setenv("OSSATURE_DATABASE_URL", fresh_url)
        fresh = Installation([metamodel.BASE_PACK], fresh_url)
        fresh.migrate_to(fresh.load().model)
        fresh.dispose()
        result = run(runner, pack, "diff", tmp_path / "exported")
    assert result.exit_code == 0, result.output
    definitions, database = plan_lines(result)
    assert "entity contact: characteristic phones added (lines of contact_phone)" in definitions
    assert "entity contact: characteristic lists added (links to contact_list)" in definitions
    assert "entity contact_phone: added (lines of contact.phones, 1 characteristic)" in definitions
    assert "contact.lists: new many-to-many link to contact_list: create join table rel_contact__lists" in database
