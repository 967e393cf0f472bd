"""A record's history page after a characteristic was renamed (`renamed_from`) or removed:
changes written under the old column name show under the current label, with their values
written the way the page writes values elsewhere (ui_renderer/records/history.py)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ui_renderer import create_app
from ui_renderer.records.history import current_names, stored_text, under_current_names
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

PACK = "pack: renames\nversion: 1.0.0\nlabel: {en: Renames, fr: Renommages}\nrequires: {base: \">=1.0, <2\"}\n"
BEFORE = """\
extends: lead
characteristics:
  rating: {type: choice, list: priorities, label: {en: Rating, fr: Évaluation}}
  note: {type: string, label: {en: Note, fr: Remarque}}
"""
AFTER = """\
extends: lead
characteristics:
  grade: {type: choice, list: priorities, label: {en: Grade, fr: Niveau}, renamed_from: rating}
"""


def pack(folder: Path, lead_yaml: str) -> Path:
    (folder / "entities").mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(PACK, encoding="utf-8")
    (folder / "entities" / "lead.yaml").write_text(lead_yaml, encoding="utf-8")
    return folder


def changes_of(page: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<tr><th scope="row">([^<]*)</th><td class="old">([^<]*)</td><td class="arrow"[^>]*>→</td>'
                      r'<td class="new">([^<]*)</td></tr>', html.unescape(page))


@pytest.fixture
def renamed(database_url: str, tmp_path: Path) -> Any:
    """A lead changed under the first definitions, then the definitions renamed `rating` to
    `grade` and removed `note`: the history page's app on the second ones, and the lead's id."""
    before = Engine(metamodel.load_model([metamodel.BASE_PACK, pack(tmp_path / "v1", BEFORE)]), database_url)
    try:
        before.migrate()
        lead = before.records.create("lead", {"last_name": "Renard", "phone": "01 02 03 04 05"}, SYSTEM_ACTOR)
        lead = before.records.update("lead", lead["id"], {"rating": "high", "note": "first"}, SYSTEM_ACTOR)
        before.records.update("lead", lead["id"], {"rating": "urgent", "note": None}, SYSTEM_ACTOR)
    finally:
        before.dispose()
    app: Flask = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, pack(tmp_path / "v2", AFTER)],
                             **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app, lead["id"]
    app.extensions["ossature"].dispose()


@pytest.mark.parametrize(("lang", "grade", "none", "values"), [
    ("en", "Grade", "—", ("Low", "Normal", "High", "Urgent")),
    ("fr", "Niveau", "—", ("Basse", "Normale", "Haute", "Urgente")),
])
def test_a_renamed_characteristic_shows_under_its_current_label_with_its_values(renamed, lang, grade, none, values) -> None:
    app, lead_id = renamed
    page = app.test_client().get(f"/lead/{lead_id}/history?lang={lang}").text
    changes = changes_of(page)
    assert (grade, none, values[2]) in changes
    assert (grade, values[2], values[3]) in changes
    assert not any(label == "rating" for label, _, _ in changes)
    # a characteristic removed since: its stored name, and its values as the page writes values
    assert ("note", none, "first") in changes and ("note", "first", none) in changes
    assert not any("None" in (old, new) for _, old, new in changes)


def test_current_names_follow_every_former_name_and_keep_current_ones() -> None:
    model = metamodel.load_model([metamodel.BASE_PACK])
    lead = model.entity("lead")
    names = current_names(lead)
    assert all(names[f.name] == f.name for f in lead.fields)
    # a characteristic that had two names before, one of them a characteristic's name now
    grade = replace(lead.fields[0], name="grade", renamed_from=("rating", "company"))
    names = current_names(replace(lead, fields=(grade, *lead.fields)))
    assert names["rating"] == "grade" and names["company"] == "company"


def test_a_hidden_characteristic_stays_hidden_under_its_former_name() -> None:
    model = metamodel.load_model([metamodel.BASE_PACK])
    lead = model.entity("lead")
    entity = replace(lead, fields=tuple(
        replace(f, renamed_from=("old_budget",)) if f.name == "budget" else f for f in lead.fields
    ))
    audit = [{"action": "update", "changes": {"old_budget": ["1.00", "2.00"], "city": [None, "Paris"]}}]
    assert under_current_names(entity, audit, frozenset({"budget"}))[0]["changes"] == {"city": [None, "Paris"]}
    assert under_current_names(entity, audit, frozenset())[0]["changes"] == {
        "budget": ["1.00", "2.00"], "city": [None, "Paris"]}


@pytest.mark.parametrize(("value", "lang", "shown"), [
    (None, "en", "—"), ("", "fr", "—"), ([], "en", "—"), (["a", "b"], "en", "a, b"), (True, "fr", "Oui"),
    (False, "en", "No"), (0, "en", "0"), ("x", "en", "x"),
])
def test_a_value_without_its_characteristic(app_context, value, lang, shown) -> None:
    assert stored_text(value, lang) == shown


@pytest.fixture
def app_context(database_url: str) -> Any:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    with app.app_context():
        yield
    app.extensions["ossature"].dispose()
