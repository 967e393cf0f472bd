"""`ossature transition ENTITY ID NAME`: workflow transitions for scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import metamodel
from engine import SYSTEM_ACTOR
from ossature.main import cli


@pytest.fixture
def lead_id(make_engine, database_url: str) -> int:
    engine = make_engine(metamodel.load_model([metamodel.BASE_PACK]))
    sam = engine.records.create("user", {"username": "sam", "display_name": "Sam"}, SYSTEM_ACTOR)
    lead = {"last_name": "Durand", "company": "Acme", "score": 2, "phone": "01 02 03 04 05", "assigned_to": sam["id"]}
    return engine.records.create("lead", lead, SYSTEM_ACTOR)["id"]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str):
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_transition_moves_the_record_and_says_so(run, lead_id):
    result = run("transition", "lead", str(lead_id), "start_call")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"lead {lead_id}: new -> qualification_call (version 2)\n"


def test_refused_transition_exits_1_with_the_reason(run, lead_id):
    run("transition", "lead", str(lead_id), "start_call")
    result = run("transition", "lead", str(lead_id), "qualify", "--set", "source=website")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: lead {lead_id}: ")
    assert "3" in result.stderr  # the guard's own message names the minimum score


def test_values_given_with_set_are_validated(run, lead_id):
    run("transition", "lead", str(lead_id), "start_call")
    result = run("transition", "lead", str(lead_id), "qualify", "--set", "score=9")
    assert result.exit_code == 1
    assert "score: Must be at most 5." in result.stderr


def test_role_and_user_options_act_as_that_user(run, lead_id):
    run("transition", "lead", str(lead_id), "start_call")
    as_sam = ("--role", "sales", "--user", "sam")
    ok = run("transition", "lead", str(lead_id), "qualify", "--set", "score=4", "--set", "source=website", *as_sam)
    assert ok.exit_code == 0, ok.output
    not_theirs = run("transition", "lead", str(lead_id), "convert", "--role", "sales")  # no user: owns nothing
    assert not_theirs.exit_code == 1 and "does not exist" in not_theirs.stderr
    no_leads = run("transition", "lead", str(lead_id), "convert", "--role", "support")
    assert no_leads.exit_code == 1 and "not allowed" in no_leads.stderr
    unknown = run("transition", "lead", str(lead_id), "convert", "--role", "sales", "--user", "zed")
    assert unknown.exit_code == 1 and "no such user" in unknown.stderr


def test_unknown_record_and_bad_options(run, lead_id):
    assert run("transition", "lead", "999999", "start_call").exit_code == 1
    bad = run("transition", "lead", str(lead_id), "start_call", "--set", "nonsense")
    assert bad.exit_code == 1 and "FIELD=VALUE" in bad.stderr
    bad_json = run("transition", "lead", str(lead_id), "start_call", "--inputs", "{nope")
    assert bad_json.exit_code == 1 and "not valid JSON" in bad_json.stderr
