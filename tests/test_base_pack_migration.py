"""An installation built by the base pack before it used relations migrates to today's base pack.

tests/fixtures/base_pack_before_relations is the base pack as it was (events with a free-text
`attendees` and the `related_entity`/`related_id` pair). A database is built with it and given
records, then `ossature migrate --plan` (and `migrate`) runs with today's definitions, as an
operator upgrading would: what is removed is archived, never dropped, and the plan says so.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ossature.commands.migrate import archive, migrate

CLI = click.Group("ossature", commands={"migrate": migrate, "archive": archive})
PREVIOUS = Path(__file__).parent / "fixtures" / "base_pack_before_relations"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def previous(database_url: str, tmp_path: Path) -> dict[str, int]:
    """A database of the previous base pack, with an account and two events naming it the old way."""
    engine = Engine(metamodel.load_model([PREVIOUS]), database_url, files_dir=tmp_path / "files")
    try:
        engine.migrate()
        account = engine.records.create("account", {"name": "Acme"}, SYSTEM_ACTOR)["id"]
        events = engine.records.create_many("event", [
            {"subject": "Kick-off", "starts_at": "2026-03-02T09:00:00", "account": account,
             "attendees": "Ann Durand, Bob Martin", "related_entity": "account", "related_id": account},
            {"subject": "Call back", "starts_at": "2026-03-03T14:00:00"},
        ], SYSTEM_ACTOR)
    finally:
        engine.dispose()
    return {"account": account, "kickoff": events[0], "call": events[1]}


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(CLI, list(args), catch_exceptions=False)


def steps(result: Result) -> list[str]:
    return [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]


def test_the_plan_archives_the_old_pair_and_adds_the_relations(runner: CliRunner, previous: dict[str, int]) -> None:
    planned = steps(invoke(runner, "migrate", "--plan"))
    assert "event.participants: new many-to-many link to user: create join table rel_event__participants" in planned
    assert "contact_list.members: new many-to-many link to contact: create join table rel_contact_list__members" \
        in planned
    assert any(step.startswith("create table ent_contact_list (") for step in planned)
    for entity in ("event", "task", "activity_report"):
        assert f"add column ent_{entity}.ticket (INTEGER)" in planned
    for name in ("related_entity", "related_id"):
        assert (f"event.{name}: no longer declared: archive its 1 value(s), then drop the column "
                f"(`ossature archive restore event.{name}` brings them back once it is declared again)") in planned
    french = steps(invoke(runner, "migrate", "--plan", "--lang", "fr"))
    assert ("event.related_id : plus déclaré : archiver ses 1 valeur(s), puis supprimer la colonne "
            "(`ossature archive restore event.related_id` les rétablit une fois la caractéristique redéclarée)") \
        in french


def test_the_free_text_attendees_are_archived_and_the_migration_runs(
    runner: CliRunner, previous: dict[str, int], database_url: str, tmp_path: Path,
) -> None:
    plan = invoke(runner, "migrate", "--plan")
    assert plan.exit_code == 0, plan.output
    assert [step for step in steps(plan) if step.startswith("event.attendees")] == [
        "event.attendees: new many-to-many link to contact: create join table rel_event__attendees",
        "event.attendees: text -> links to contact: archive its 1 value(s), then drop the column (they stay in "
        "the archive: `ossature archive list`; they cannot become links to contact)",
    ]
    french = steps(invoke(runner, "migrate", "--plan", "--lang", "fr"))
    assert any(step.startswith("event.attendees : text -> links to contact : archiver ses 1 valeur(s), puis "
                               "supprimer la colonne") for step in french), french
    done = invoke(runner, "migrate")
    assert done.exit_code == 0, done.output
    listed = invoke(runner, "archive", "list")
    assert "event.attendees" in listed.stdout and "event.related_id" in listed.stdout
    refused = runner.invoke(CLI, ["archive", "restore", "event.attendees"])  # text does not become members
    assert (refused.exit_code, refused.stderr) == (
        1, "error: event.attendees: 1 archived value(s) do not convert to links to contact; nothing was restored\n")
    engine = Engine(metamodel.load_model([metamodel.BASE_PACK]), database_url, files_dir=tmp_path / "files")
    try:
        kickoff = engine.records.get("event", previous["kickoff"])
        assert (kickoff["subject"], kickoff["account"], kickoff["attendees"]) == ("Kick-off", previous["account"], [])
        assert "related_entity" not in kickoff
    finally:
        engine.dispose()
