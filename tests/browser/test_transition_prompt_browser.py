"""A workflow prompt in Chromium: the field its answers make mandatory appears (and is
required) when they do, and disappears (not sent) when they do not (static/form.js).

Its own app, over the base pack and the extension of tests/ui/test_transition_prompts.py
(a lost lead's comment is mandatory for some reasons, a follow-up date when following up).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from live_server import serving

import metamodel
from engine import SYSTEM_ACTOR
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN

COMMENT_NEEDED_FOR = ("competitor", "price")
EXTENSION = {
    "pack.yaml": "pack: refusals\nversion: 1.0.0\nlabel: {en: Refusals, fr: Refus}\nrequires: {base: \">=1.0, <2\"}\n",
    "entities/lead.yaml": (
        "extends: lead\n"
        "characteristics:\n"
        "  lost_reason: {default: price}\n"
        "  lost_comment: {type: text, label: {en: Comment on the loss, fr: Commentaire sur la perte},"
        " mandatory_when: \"status == 'lost' and (lost_reason == 'competitor' or lost_reason == 'price')\"}\n"
        "  follow_up: {type: boolean, label: {en: Follow up, fr: Relancer}, default: false}\n"
        "  follow_up_on: {type: date, label: {en: Follow up on, fr: Relancer le},"
        " mandatory_when: \"status == 'lost' and follow_up\"}\n"
    ),
    "workflows/lead.yaml": "extends: lead\noverride_transitions:\n  lose: {required: [lost_reason, follow_up]}\n",
}


@pytest.fixture(scope="module")
def prompt_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("refusals_pack")
    for name, content in EXTENSION.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    database = tmp_path_factory.mktemp("refusals_db") / "live.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "PACKS": [metamodel.BASE_PACK, folder],
                      **PAGES_WITHOUT_LOGIN})
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def prompt_page(browser: Any, prompt_app: Flask) -> Iterator[tuple[Any, str]]:
    with serving(prompt_app, "prompt-server") as url:
        context = browser.new_context(locale="en-GB")
        context.set_default_timeout(10_000)
        try:
            yield context.new_page(), url
        finally:
            context.close()


def test_the_prompt_shows_and_requires_what_the_answers_make_mandatory(prompt_page, prompt_app: Flask, shot) -> None:
    page, url = prompt_page
    engine = prompt_app.extensions["ossature"]
    lead = engine.records.create("lead", {"last_name": "Prompt", "phone": "+33 1 40 00 00 00"}, SYSTEM_ACTOR)
    page.goto(f"{url}/lead/{lead['id']}/transition/lose")
    reasons = [v.code for v in engine.model.value_list("lost_reasons").values if not v.retired]
    for code in reasons:
        page.select_option("#f-lost_reason", code)
        needed = code in COMMENT_NEEDED_FOR
        assert page.is_visible("#f-lost_comment") is needed, code
        assert page.is_disabled("#f-lost_comment") is not needed, code
        assert (page.get_attribute("#f-lost_comment", "required") is not None) is needed, code
    assert not page.is_visible("#f-follow_up_on")
    page.check("#f-follow_up")
    assert page.is_visible("#f-follow_up_on")
    page.uncheck("#f-follow_up")
    assert not page.is_visible("#f-follow_up_on")
    shot(page, "transition_prompt_conditional")

    other = next(code for code in reasons if code not in COMMENT_NEEDED_FOR)
    page.select_option("#f-lost_reason", other)
    page.click(".form-actions button.button-primary")
    page.wait_for_url(f"**/lead/{lead['id']}?done=lose")
    moved = engine.records.get("lead", lead["id"])
    assert (moved["status"], moved["lost_reason"], moved["lost_comment"]) == ("lost", other, None)
