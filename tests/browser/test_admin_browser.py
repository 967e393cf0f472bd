"""The administration pages in Chromium: add a characteristic to contacts and a status to the task
workflow, each through its form, its review (the plan) and Apply, then see them at once in the
record pages: the contact form and list, the task's status choices and the list's status filter.

These tests change definitions, so they run on an app and a database of their own (not the
shared `live_app`): SQLite, or PostgreSQL under OSSATURE_TEST_DATABASE_URL. Pages visited are saved to tests/artifacts/admin_*.png.
"""

from __future__ import annotations

import re
from typing import Any, Callable, ContextManager, Iterator

import pytest
from flask import Flask
from live_server import serving

import metamodel
from engine import SYSTEM_ACTOR
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN


@pytest.fixture(scope="module")
def admin_app(
    tmp_path_factory: pytest.TempPathFactory, scratch_databases: Callable[..., ContextManager[str]],
) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("admin")
    with scratch_databases(folder) as url:
        yield from _served_app(folder, url)


def _served_app(folder: Any, url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(folder / "files"),
                      **PAGES_WITHOUT_LOGIN})
    engine = app.extensions["ossature"]
    engine.migrate()
    engine.records.create("contact", {"first_name": "Ada", "last_name": "Lovelace"}, SYSTEM_ACTOR)
    engine.records.create("task", {"subject": "Call Ada back"}, SYSTEM_ACTOR)
    yield app
    app.extensions["ossature.live"].close()


@pytest.fixture(scope="module")
def admin_url(admin_app: Flask) -> Iterator[str]:
    with serving(admin_app, "admin-server") as url:
        yield url


@pytest.fixture
def admin_page(browser: Any, admin_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def engine_of(app: Flask) -> Any:
    return app.extensions["ossature.live"].current(check_now=True)


def test_add_a_characteristic_and_see_it_in_the_contact_form_and_list_at_once(
    admin_page: Any, admin_url: str, admin_app: Flask, shot: Any,
) -> None:
    page = admin_page
    page.goto(f"{admin_url}/admin/")
    shot(page, "admin_overview")
    page.click("tr[data-entity='contact'] a")
    page.click("#add-characteristic")
    page.fill("#f-name", "loyalty")
    page.select_option("#f-type", "integer")
    page.fill("#f-label_en", "Loyalty")
    page.fill("#f-label_fr", "Fidélité")
    page.fill("#f-min", "0")
    page.fill("#f-max", "10")
    assert page.is_checked("#f-in_list") and page.is_checked("#f-systematic")
    shot(page, "admin_characteristic_form")
    page.click("#review")

    page.wait_for_selector("#plan")
    assert "characteristic loyalty added (integer)" in page.inner_text("#definition-changes")
    assert "ent_contact.loyalty" in page.inner_text("#plan")
    assert "loyalty" not in engine_of(admin_app).model.entity("contact").fields_by_name  # nothing yet
    shot(page, "admin_characteristic_review")
    page.click("#apply")

    page.wait_for_selector("[data-flash='success']")
    assert "Revision 1 applied" in page.inner_text("[data-flash='success']")
    assert page.is_visible("tr[data-field='loyalty']")
    shot(page, "admin_characteristic_applied")

    page.goto(f"{admin_url}/contact/new")
    assert page.is_visible("#f-loyalty")
    assert "Loyalty" in page.inner_text("label[for='f-loyalty']")
    page.fill("#f-first_name", "Grace")
    page.fill("#f-last_name", "Hopper")
    page.fill("#f-loyalty", "9")
    shot(page, "admin_contact_form_with_loyalty")
    page.click("button[form='record-form'].button-primary")
    page.wait_for_url(re.compile(r"/contact/\d+"))

    page.goto(f"{admin_url}/contact/")
    headers = page.inner_text("table.records thead")
    assert "loyalty" in headers.lower()  # the headers are shown in capitals
    row = page.inner_text("table.records tbody tr:has-text('Hopper')")
    assert "9" in row
    shot(page, "admin_contact_list_with_loyalty")


def test_add_a_status_and_see_it_in_the_task_status_choices_and_list_filter(
    admin_page: Any, admin_url: str, admin_app: Flask, shot: Any,
) -> None:
    page = admin_page
    page.goto(f"{admin_url}/admin/workflows/task")
    page.fill("#status-code", "waiting")
    page.fill("#status-label_en", "Waiting")
    page.fill("#status-label_fr", "En attente")
    page.fill("#status-sequence", "15")
    page.fill("#status-color", "#a855f7")
    shot(page, "admin_status_form")
    page.click("#review-status")

    page.wait_for_selector("#definition-changes")
    assert "status waiting added" in page.inner_text("#definition-changes")
    shot(page, "admin_status_review")
    page.click("#apply")
    page.wait_for_selector("[data-flash='success']")
    codes = [row.get_attribute("data-status") for row in page.query_selector_all("#statuses tbody tr")]
    assert codes[:3] == ["to_do", "waiting", "in_progress"]

    task = engine_of(admin_app).records.list("task", actor=SYSTEM_ACTOR).rows[0]
    page.goto(f"{admin_url}/task/{task['id']}")
    options = page.eval_on_selector_all("#move-status option", "els => els.map(e => e.textContent.trim())")
    assert "Waiting" in options
    assert "Waiting" in page.inner_text(".status-bar")
    page.select_option("#move-status", "waiting")
    shot(page, "admin_task_status_choices")
    page.click("form.move button[type='submit']")
    page.wait_for_load_state()
    assert engine_of(admin_app).records.get("task", task["id"])["status"] == "waiting"

    page.goto(f"{admin_url}/task/")
    assert page.locator("#list-filters [value='waiting']").count() == 1
    page.goto(f"{admin_url}/task/?status=waiting")
    assert "Call Ada back" in page.inner_text("table.records tbody")
    shot(page, "admin_task_list_filtered_by_new_status")
