"""The record pages in Chromium: create a lead through its form (an error, then a fix), run
transitions (one refused), convert a lead, read its history, use the trash, and see a conflict.

Every page visited is saved to tests/artifacts/form_*.png. Records are made with unique
names: the live database is shared with the other browser tests.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from engine import SYSTEM_ACTOR

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix} {next(_numbers)}"


def make_lead(live_app: Any, **values: Any) -> dict[str, Any]:
    engine = live_app.extensions["ossature"]
    base = {"first_name": "Claire", "last_name": unique("Browser"), "company": unique("Zephyr"), "phone": "+33 1 40 00 00 00"}
    return engine.records.create("lead", {**base, **values}, SYSTEM_ACTOR)


def record_id(url: str) -> int:
    return int(re.search(r"/lead/(\d+)", url).group(1))


def test_create_a_lead_through_the_form(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    page.goto(f"{live_url}/lead/new")
    shot(page, "form_lead_new")
    last_name = unique("Lenoir")
    page.fill("#f-first_name", "Agathe")
    page.fill("#f-last_name", last_name)
    page.fill("#f-company", "Atelier Lenoir")
    page.select_option("#f-sector", "industry")
    page.click('label[for="f-score-4"]')
    page.check('input[name="tags"][value="vip"]')
    page.fill("#f-budget", "1200.50")
    page.click(".form-actions button.button-primary")

    error = page.locator("#err-email")  # no phone: an email is needed
    assert error.inner_text().strip() == "This field is mandatory."
    assert page.input_value("#f-last_name") == last_name
    assert page.input_value("#f-budget") == "1200.50"
    assert page.is_checked("#f-score-4") and page.is_checked('input[name="tags"][value="vip"]')
    shot(page, "form_lead_error")

    page.fill("#f-email", "agathe@atelier-lenoir.fr")
    page.click(".form-actions button.button-primary")
    page.wait_for_url(re.compile(r"/lead/\d+\?created=1"))
    assert "Record created." in page.inner_text(".notice-ok")
    assert page.inner_text("h1") == f"Agathe {last_name} (Atelier Lenoir)"
    saved = live_app.extensions["ossature"].records.get("lead", record_id(page.url))
    assert (saved["score"], str(saved["budget"]), saved["tags"]) == (4, "1200.50", ["vip"])
    shot(page, "form_lead_edit")


def test_on_demand_characteristic_appears_when_added(page: Any, live_url: str, live_app: Any) -> None:
    lead = make_lead(live_app)
    page.goto(f"{live_url}/lead/{lead['id']}")
    assert page.is_hidden("#row-fax")
    page.select_option("#add-field", "fax")
    assert page.is_visible("#f-fax")
    page.fill("#f-fax", "+33 1 40 00 00 99")
    page.click(".form-actions button.button-primary")
    page.wait_for_url(re.compile(r"saved=1"))
    assert live_app.extensions["ossature"].records.get("lead", lead["id"])["fax"] == "+33 1 40 00 00 99"


def test_transitions_allowed_refused_and_asking_for_fields(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    lead = make_lead(live_app, score=2)
    page.goto(f"{live_url}/lead/{lead['id']}")
    page.click("button:has-text('Start the qualification call')")
    page.wait_for_url(re.compile(r"done=start_call"))
    assert "The status is now Qualification call." in page.inner_text(".notice-ok")
    refused = page.locator(".transition-refused", has_text="Qualify")
    assert refused.locator("button").is_disabled()
    assert "A lead needs a score of at least 3 to be qualified" in refused.inner_text()
    assert page.inner_text(".status-step.is-current") .strip() == "Qualification call"
    shot(page, "form_lead_transitions")

    page.click('label[for="f-score-4"]')
    page.click(".form-actions button.button-primary")
    page.wait_for_url(re.compile(r"saved=1"))
    page.click("button:has-text('Qualify')")
    assert "To apply “Qualify”, fill in:" in page.inner_text(".dialog-intro")
    shot(page, "form_transition_prompt")
    page.click("button:has-text('Apply')")
    assert page.locator("#err-source").inner_text().strip() == "Required to enter status 'Commercial qualification'."
    page.select_option("#f-source", "trade_show")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"done=qualify"))
    assert page.inner_text(".status-step.is-current").strip() == "Commercial qualification"


def test_convert_a_lead(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    engine = live_app.extensions["ossature"]
    lead = make_lead(live_app, score=4, source="website", email="claire@zephyr.example", budget="9000")
    engine.records.transition("lead", lead["id"], "start_call", SYSTEM_ACTOR)
    engine.records.transition("lead", lead["id"], "qualify", SYSTEM_ACTOR)
    page.goto(f"{live_url}/lead/{lead['id']}")
    page.click("a:has-text('Convert')")
    assert page.input_value('[id="f-account.name"]') == lead["company"]
    page.check('input[name="opportunity_create"]')
    page.fill('[id="f-opportunity.name"]', f"{lead['company']} — pilot")
    shot(page, "form_convert")
    page.click("button:has-text('Convert')")
    page.wait_for_url(re.compile(r"done=convert"))
    notice = page.inner_text(".notice-ok")
    assert "Created:" in notice and f"Account — {lead['company']}" in notice and "pilot" in notice
    converted = engine.records.get("lead", lead["id"])
    assert converted["status"] == "converted" and converted["converted_opportunity"] is not None
    shot(page, "form_converted")
    page.click(f"a:has-text('Account — {lead['company']}')")
    assert page.inner_text("h1") == lead["company"]


def test_history_of_a_lead(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    engine = live_app.extensions["ossature"]
    lead = make_lead(live_app, score=1)
    engine.records.update("lead", lead["id"], {"score": 3, "city": "Rennes", "budget": "500"}, SYSTEM_ACTOR)
    engine.records.transition("lead", lead["id"], "start_call", SYSTEM_ACTOR)
    engine.records.update("lead", lead["id"], {"score": 5}, SYSTEM_ACTOR)
    page.goto(f"{live_url}/lead/{lead['id']}")
    page.click(".record-tabs a:has-text('History')")
    page.wait_for_url(re.compile(r"/history"))
    audit = page.inner_text("#audit")
    assert "Created" in audit and "Rennes" in audit and "Qualification call" in audit
    score = page.locator(".timeline", has_text="Score")
    assert score.locator("tbody tr").count() == 3
    assert page.locator("#statuses tbody tr").count() == 2
    shot(page, "form_history")


def test_delete_and_restore(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    lead = make_lead(live_app)
    page.goto(f"{live_url}/lead/{lead['id']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Move to trash')")
    page.wait_for_url(re.compile(r"/lead/trash\?deleted="))
    assert "was moved to the trash" in page.inner_text(".notice-ok")
    assert page.locator("tbody th", has_text=lead["last_name"]).count() == 1
    shot(page, "form_trash")
    page.click(".notice-ok button:has-text('Restore')")
    page.wait_for_url(re.compile(rf"/lead/{lead['id']}\?restored=1"))
    assert "was restored" in page.inner_text(".notice-ok")


def test_stale_edit_shows_the_conflict(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    lead = make_lead(live_app, city="Paris")
    page.goto(f"{live_url}/lead/{lead['id']}")
    live_app.extensions["ossature"].records.update("lead", lead["id"], {"city": "Lille", "score": 4}, SYSTEM_ACTOR)
    page.fill("#f-company", "Zephyr Europe")
    page.click(".form-actions button.button-primary")
    assert "Someone else changed this record" in page.inner_text(".conflict")
    assert page.input_value("#f-company") == "Zephyr Europe"
    shot(page, "form_conflict")


def test_french_form_and_free_workflow(page: Any, live_url: str, live_app: Any, shot: Any) -> None:
    engine = live_app.extensions["ossature"]
    task = engine.records.create("task", {"subject": unique("Rappeler le client")}, SYSTEM_ACTOR)
    page.goto(f"{live_url}/task/{task['id']}?lang=fr")
    assert page.inner_text(".head-actions button.button-primary") == "Enregistrer"
    assert "Copier" in page.locator(".head-actions button").all_inner_texts()
    page.select_option("#move-status", "done")
    page.click("button:has-text('Déplacer')")
    page.wait_for_url(re.compile(r"done=move"))
    assert "Terminée" in page.inner_text(".status-step.is-current")
    shot(page, "form_task_fr")


@pytest.mark.parametrize("entity", ["account", "contact", "opportunity", "event", "ticket"])
def test_other_entities_render(page: Any, live_url: str, live_app: Any, shot: Any, entity: str) -> None:
    first = live_app.extensions["ossature"].records.list(entity).rows[0]
    page.goto(f"{live_url}/{entity}/{first['id']}")
    assert page.locator("form#record-form").count() == 1
    shot(page, f"form_{entity}")
