"""Background jobs in Chromium: a mass update past the threshold followed on the list by its
progress bar, and an import checked by a dry run (a row refused) before the import itself.

Jobs belong to a user, so each test logs in as a new manager on the login page. The database
is the session's shared demo: the records these tests work on are their own, by name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from engine import SYSTEM_ACTOR
from engine.access.accounts import Accounts
from recording_dispatcher import Recorder

PASSWORD = "a long password"
THRESHOLD = 3
IMPORT_CSV = (
    "Last name;Société;E-mail;Shoe size\n"
    "Quillard;Acme;quillard@example.com;42\n"
    ";Nameless;not-an-address;40\n"
    "Quenneville;Bolt;quenneville@example.com;\n"
)




def engine_of(app: Flask) -> Any:
    return app.extensions["ossature"]


def log_in(page: Any, live_url: str, app: Flask, username: str) -> None:
    Accounts(engine_of(app)).create_user(username, username.title(), PASSWORD, ("manager",))
    page.goto(f"{live_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_mass_update_past_the_threshold_shows_its_progress_on_the_list(
    page: Any, live_url: str, live_app: Flask, shot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_of(live_app)
    ids = engine.records.create_many("lead", [
        {"last_name": f"Xylander{i}", "email": f"xylander{i}@example.com", "sector": "banking"} for i in range(6)
    ], SYSTEM_ACTOR)
    monkeypatch.setattr(engine.jobs, "threshold", THRESHOLD)
    recorder = Recorder()
    monkeypatch.setattr(engine.jobs, "dispatcher", recorder)
    log_in(page, live_url, live_app, "browser.mass")

    page.goto(f"{live_url}/lead/?q=xylander&sort=last_name&tab=all")
    boxes = page.locator("input[name=id]")
    assert boxes.count() == 6
    for i in range(THRESHOLD + 1):
        boxes.nth(i).check()
    chosen = [int(boxes.nth(i).get_attribute("value").split(":")[0]) for i in range(THRESHOLD + 1)]
    page.locator("#mass-update-panel summary").click()
    page.select_option("#value-sector", "retail")
    page.get_by_role("button", name="Preview the change").click()
    assert "will run in the background" in page.locator("#background-note").inner_text()
    page.locator("#apply").click()
    page.wait_for_url(re.compile(r"/lead/\?q=xylander&sort=last_name&tab=all&job=\d+$"))
    assert len(recorder.sent) == 1
    job_id = recorder.sent[0]

    bar = page.locator(f"#job-{job_id}-progress")
    assert bar.locator("progress").is_visible()
    assert bar.locator("[data-job-state]").inner_text() == "Waiting"
    assert not bar.locator("[data-job-refresh]").is_visible()
    shot(page, "jobs_list_progress_waiting")

    assert engine.jobs.run(job_id)  # the worker runs it while the page watches
    refresh = bar.locator("[data-job-refresh]")
    refresh.wait_for(state="visible")
    assert bar.locator("[data-job-state]").inner_text() == "Done"
    assert bar.locator("[data-job-text]").inner_text() == f"{THRESHOLD + 1} of {THRESHOLD + 1} (100 %)"
    assert bar.locator("progress").evaluate("bar => [bar.value, bar.max]") == [THRESHOLD + 1, THRESHOLD + 1]
    shot(page, "jobs_list_progress_done")

    refresh.click()
    page.wait_for_url(re.compile(r"/lead/\?q=xylander&sort=last_name&tab=all$"))
    assert page.locator(".job-progress").count() == 0
    sectors = {i: engine.records.get("lead", i)["sector"] for i in ids}
    assert {sectors[i] for i in chosen} == {"retail"}
    assert {sectors[i] for i in ids if i not in chosen} == {"banking"}

    page.locator("#jobs-link").click()
    assert page.locator(f'tr[data-job="{job_id}"]').get_attribute("data-state") == "done"
    shot(page, "jobs_page")


def test_an_import_dry_run_shows_the_refused_row_then_the_import(
    page: Any, live_url: str, live_app: Flask, shot: Any
) -> None:
    engine = engine_of(live_app)
    log_in(page, live_url, live_app, "browser.import")
    page.goto(f"{live_url}/lead/")
    page.locator("#import-link").click()
    page.set_input_files("#import-file", files=[{"name": "leads.csv", "mimeType": "text/csv",
                                                  "buffer": IMPORT_CSV.encode("utf-8")}])
    shot(page, "import_upload")
    page.locator("#upload").click()
    page.wait_for_url(re.compile(r"/lead/import/[A-Za-z0-9_-]+$"))
    assert page.locator("#map-0").input_value() == "last_name"
    assert page.locator("#map-1").input_value() == "company"
    assert page.locator("#map-3").input_value() == ""
    shot(page, "import_mapping")

    page.locator("#dry-run").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    page.locator("#job-state[data-state=done]").wait_for()
    assert "Dry run: nothing was written." in page.locator("main").inner_text()
    refused = page.locator("table.job-errors tbody tr")
    assert refused.count() == 2
    assert set(refused.evaluate_all("rows => rows.map(r => r.dataset.row)")) == {"3"}
    assert "Not a valid email address." in page.locator("table.job-errors").inner_text()
    assert page.locator('li[data-count="would_create"] strong').inner_text() == "2"
    shot(page, "import_dry_run")
    assert _quill_leads(engine) == []

    page.locator("#import-now").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    page.locator("#job-state[data-state=done]").wait_for()
    assert page.locator('li[data-count="created"] strong').inner_text() == "2"
    assert page.locator("#import-now").count() == 0
    shot(page, "import_done")
    assert _quill_leads(engine) == ["Quenneville", "Quillard"]


def _quill_leads(engine: Any) -> list[str]:
    rows = engine.records.list("lead", engine.records.list_request("lead", {"q": ["qu"], "tab": ["all"],
                                                                            "size": ["200"]})).rows
    return sorted(row["last_name"] for row in rows if row["last_name"].startswith(("Quillard", "Quenneville")))
