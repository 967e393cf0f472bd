"""A workflow prompt shows and requires the fields its own answers make mandatory
(`mandatory_when` reading a prompt field), and reports only what the answers actually given
make mandatory (ui_renderer/records/workflow.py, ui_renderer/records/conditions.py).

The pack: the base CRM pack and a small extension where a lost lead's comment is mandatory for
some reasons only, and where the reason has a default (the choice the prompt starts from).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ui_renderer import create_app
from ui_renderer.records.conditions import MAX_COMBINATIONS, answers, conditional_names, page_rule
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

COMMENT_NEEDED_FOR = ("competitor", "price")
"""The reasons for losing under which the comment is mandatory (the others: no comment needed)."""
DEFAULT_REASON = "price"
CONDITION = " or ".join(f"lost_reason == '{code}'" for code in COMMENT_NEEDED_FOR)

EXTENSION = {
    "pack.yaml": """\
pack: refusals
version: 1.0.0
label: {en: Refusals, fr: Refus}
requires: {base: ">=1.0, <2"}
""",
    "entities/lead.yaml": f"""\
extends: lead
characteristics:
  lost_reason: {{default: {DEFAULT_REASON}}}
  lost_comment:
    type: text
    label: {{en: Comment on the loss, fr: Commentaire sur la perte}}
    mandatory_when: "status == 'lost' and ({CONDITION})"
  follow_up: {{type: boolean, label: {{en: Follow up, fr: Relancer}}, default: false}}
  follow_up_on:
    type: date
    label: {{en: Follow up on, fr: Relancer le}}
    mandatory_when: "status == 'lost' and follow_up"
""",
    "workflows/lead.yaml": """\
extends: lead
override_transitions:
  lose: {required: [lost_reason, follow_up]}
""",
}


@pytest.fixture(scope="module")
def extension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("refusals")
    for name, content in EXTENSION.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def app(database_url: str, extension: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, extension], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["ossature"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def new_lead(engine: Engine, **values: Any) -> dict[str, Any]:
    return engine.records.create("lead", {"last_name": "Dupont", "phone": "+33 1 23 45 67 89", **values}, SYSTEM_ACTOR)


def reasons(engine: Engine) -> list[str]:
    return [v.code for v in engine.model.value_list("lost_reasons").values if not v.retired]


def field_errors(page: str, name: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="err-{re.escape(name)}"[^>]*>(.*?)</ul>', page, re.S)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def all_errors(page: str) -> list[str]:
    return [html.unescape(m) for block in re.findall(r'<ul class="field-errors"[^>]*>(.*?)</ul>', page, re.S)
            for m in re.findall(r"<li>(.*?)</li>", block)]


def page_rules(page: str) -> dict[str, dict[str, Any]]:
    """Field -> the rule the page's script reads, for every conditional field of the prompt."""
    found = {}
    for rule, name in re.findall(
        r'<div class="prompt-field" data-mandatory-when="([^"]*)">.*?<input type="hidden" name="_asked" value="([^"]+)">',
        page, re.S,
    ):
        found[name] = json.loads(html.unescape(rule))
    return found


def prompt(record: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {"_version": str(record["version"]), "_prompt": "1", **values}


# -- what the page is told ---------------------------------------------------------------------


def test_the_prompt_shows_the_fields_its_answers_can_make_mandatory_with_when(client, engine) -> None:
    record = new_lead(engine)
    page = client.get(f"/lead/{record['id']}/transition/lose").text
    rules = page_rules(page)
    assert set(rules) == {"lost_comment", "follow_up_on"}
    # the status is the one being entered, not the record's: only the prompt's answers remain
    assert rules["lost_comment"] == {"deps": ["lost_reason"], "when": [[code] for code in reasons(engine)
                                                                      if code in COMMENT_NEEDED_FOR]}
    assert rules["follow_up_on"] == {"deps": ["follow_up"], "when": [["true"]]}
    assert 'name="_asked" value="lost_reason"' not in page  # asked for by the transition itself
    assert "form.js" in page and "<script>" not in page  # the page's script is static (CSP)


def test_a_start_with_the_default_choice_asks_instead_of_refusing(client, engine) -> None:
    record = new_lead(engine)
    assert record["lost_reason"] == DEFAULT_REASON
    response = client.post(f"/lead/{record['id']}/transition/lose", data={"_version": str(record["version"])})
    assert response.status_code == 200 and "To apply “Mark as lost”, fill in:" in html.unescape(response.text)
    assert all_errors(response.text) == []
    assert engine.records.get("lead", record["id"])["status"] == "new"


# -- what the server requires: every answer, from the definitions ------------------------------


@pytest.mark.parametrize("follow_up", ["false", "true"])
def test_only_the_fields_mandatory_for_the_answers_given_are_reported(client, engine, follow_up) -> None:
    for code in reasons(engine):
        record = new_lead(engine)
        response = client.post(f"/lead/{record['id']}/transition/lose", data=prompt(
            record, lost_reason=code, follow_up=follow_up, lost_comment="", follow_up_on="",
            _asked=["lost_comment", "follow_up_on"],
        ) if follow_up == "true" else prompt(
            record, lost_reason=code, lost_comment="", follow_up_on="", _asked=["lost_comment", "follow_up_on"],
        ))
        expected = {name for name, needed in (("lost_comment", code in COMMENT_NEEDED_FOR),
                                              ("follow_up_on", follow_up == "true")) if needed}
        if not expected:
            assert response.status_code == 303, (code, all_errors(response.text))
            moved = engine.records.get("lead", record["id"])
            assert (moved["status"], moved["lost_reason"]) == ("lost", code)
            continue
        assert response.status_code == 422, code
        page = response.text
        for name in ("lost_comment", "follow_up_on"):
            assert field_errors(page, name) == (["This field is mandatory."] if name in expected else []), (code, name)
        assert len(all_errors(page)) == len(expected)
        assert engine.records.get("lead", record["id"])["status"] == "new"


def test_a_mandatory_answer_given_in_the_prompt_is_saved(client, engine) -> None:
    record = new_lead(engine)
    response = client.post(f"/lead/{record['id']}/transition/lose", data=prompt(
        record, lost_reason=COMMENT_NEEDED_FOR[0], lost_comment="They were cheaper", follow_up="true",
        follow_up_on="2026-09-01", _asked=["lost_comment", "follow_up_on"],
    ))
    assert response.status_code == 303
    moved = engine.records.get("lead", record["id"])
    assert (moved["status"], moved["lost_comment"], moved["follow_up_on"].isoformat()) == (
        "lost", "They were cheaper", "2026-09-01")


def test_a_field_the_page_hid_is_not_sent_and_keeps_its_value(client, engine) -> None:
    record = new_lead(engine, lost_comment="kept")
    other = next(code for code in reasons(engine) if code not in COMMENT_NEEDED_FOR)
    response = client.post(f"/lead/{record['id']}/transition/lose", data=prompt(record, lost_reason=other))
    assert response.status_code == 303
    assert engine.records.get("lead", record["id"])["lost_comment"] == "kept"


def test_a_field_the_engine_finds_missing_is_asked_for_in_the_prompt(client, engine) -> None:
    """A rule outside the prompt (the base pack's email, mandatory without a phone) is asked for there."""
    record = new_lead(engine)
    # no phone, no email: allowed while the lead may not be emailed; the prompt unticks that
    record = engine.records.update("lead", record["id"], {"phone": None, "do_not_email": True}, SYSTEM_ACTOR)
    other = next(code for code in reasons(engine) if code not in COMMENT_NEEDED_FOR)
    first = client.post(f"/lead/{record['id']}/transition/lose", data=prompt(
        record, lost_reason=other, do_not_email="", _asked=["do_not_email"]))
    assert first.status_code == 422
    assert field_errors(first.text, "email") == ["This field is mandatory."]
    assert 'name="_asked" value="email"' in first.text
    second = client.post(f"/lead/{record['id']}/transition/lose", data=prompt(
        record, lost_reason=other, email="b@example.org", _asked=["email"]))
    assert second.status_code == 303, all_errors(second.text)
    assert engine.records.get("lead", record["id"])["email"] == "b@example.org"


# -- the page rule itself ------------------------------------------------------------------------


def test_a_condition_on_a_free_value_is_left_to_the_server(engine, app) -> None:
    with app.test_request_context("/"):
        from ui_renderer.records.common import actor_layout

        layout = actor_layout("lead", "en")
    prompt_fields = [layout.widgets["score"], layout.widgets["budget"]]
    assert answers(layout.widgets["budget"], None) is None
    assert page_rule("email", frozenset({"budget"}), prompt_fields, {}, lambda name, values: True) is None
    stars = page_rule("email", frozenset({"score"}), prompt_fields, {}, lambda name, values: (values["score"] or 0) >= 3)
    assert json.loads(stars) == {"deps": ["score"], "when": [[str(n)] for n in layout.widgets["score"].stars if n >= 3]}
    assert conditional_names(layout, {"email": frozenset({"phone"})}, ["phone"]) == ["email"]
    assert conditional_names(layout, {"email": frozenset({"phone"})}, ["mobile"]) == []
    many = [layout.widgets[n] for n in ("sector", "source", "category", "function", "department")]
    sizes = 1
    for w in many:
        sizes *= len(answers(w, None))
    assert sizes > MAX_COMBINATIONS
    assert page_rule("email", frozenset(w.name for w in many), many, {}, lambda name, values: True) is None
