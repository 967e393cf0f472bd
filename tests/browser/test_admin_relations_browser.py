"""Relations on the administration pages, in Chromium: the characteristic form shows the inputs of
the type chosen (a lines characteristic asks for its owned entity, a links one for its target and
reverse relation); lines are added with their new owned entity through review and Apply, then
edited on the contact's form at once; a form's related panels are chosen and shown on a record.

On an app and a database of their own (these tests change definitions), as test_admin_browser.
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Iterator

import pytest
from flask import Flask

from engine import SYSTEM_ACTOR

from test_admin_browser import _served_app, admin_page, admin_url, engine_of  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def admin_app(
    tmp_path_factory: pytest.TempPathFactory, scratch_databases: Callable[..., ContextManager[str]],
) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("admin_relations")
    with scratch_databases(folder) as url:
        yield from _served_app(folder, url)


def visible(page: Any, selector: str) -> bool:
    return page.locator(selector).is_visible()


def test_the_form_shows_the_inputs_of_the_type_chosen(admin_page: Any, admin_url: str, shot: Any) -> None:
    page = admin_page
    page.goto(f"{admin_url}/admin/entities/contact/characteristics/new")
    page.select_option("#f-type", "string")
    assert visible(page, "#f-max_length") and not visible(page, "#owned-entity-fields")
    assert not visible(page, "#reverse-relation") and not visible(page, "#f-entity")
    page.select_option("#f-type", "links")
    assert visible(page, "#f-entity") and visible(page, "#reverse-relation") and visible(page, "#f-max")
    assert not visible(page, "#owned-entity-fields") and not visible(page, "#f-max_length")
    page.select_option("#f-type", "lines")
    assert visible(page, "#owned-entity-fields") and visible(page, "#f-max")
    assert not visible(page, "#reverse-relation") and not visible(page, "#f-entity") and not visible(page, "#f-in_list")
    shot(page, "admin_lines_form")


def test_add_lines_with_their_owned_entity_then_fill_them_on_the_contact_form(
    admin_page: Any, admin_url: str, admin_app: Flask, shot: Any,
) -> None:
    page = admin_page
    page.goto(f"{admin_url}/admin/entities/contact")
    page.click("#add-characteristic")
    page.fill("#f-name", "phones")
    page.select_option("#f-type", "lines")
    page.fill("#f-label_en", "Phones")
    page.fill("#f-label_fr", "Téléphones")
    page.fill("#f-max", "5")
    for key, value in (("owned_name", "contact_phone"), ("owned_label_en", "Phone"), ("owned_label_fr", "Téléphone"),
                       ("owned_plural_en", "Phones"), ("owned_plural_fr", "Téléphones"), ("first_name", "number"),
                       ("first_label_en", "Number"), ("first_label_fr", "Numéro")):
        page.fill(f"#f-{key}", value)
    page.select_option("#f-first_type", "phone")
    page.click("#review")
    page.wait_for_selector("#apply")
    review = page.locator("main").inner_text()
    assert "characteristic phones added (lines of contact_phone)" in review
    assert "entity contact_phone: added" in review
    shot(page, "admin_lines_review")
    page.click("#apply")
    page.wait_for_selector("[data-flash='success']")
    assert page.is_visible("tr[data-field='phones']")
    assert engine_of(admin_app).model.entity("contact_phone").owned_by == "contact"

    ada = engine_of(admin_app).records.create("contact", {"last_name": "Hopper"}, SYSTEM_ACTOR)
    page.goto(f"{admin_url}/contact/{ada['id']}")
    assert page.locator("text=Phones").first.is_visible()
    shot(page, "admin_lines_on_the_form")


def test_choose_the_related_panels_of_a_form_and_see_them_on_a_record(
    admin_page: Any, admin_url: str, admin_app: Flask, shot: Any,
) -> None:
    page = admin_page
    page.goto(f"{admin_url}/admin/entities/event")
    page.click("#edit-related")
    page.check("#f-mode-chosen")
    relation = page.locator("#relations tbody tr").first.get_attribute("data-relation")
    page.fill(f"#f-position-{relation}", "1")
    page.fill(f"#f-size-{relation}", "5")
    shot(page, "admin_related_form")
    page.click("#review")
    page.wait_for_selector("#apply")
    assert "view form changed (related)" in page.locator("main").inner_text()
    page.click("#apply")
    page.wait_for_selector("[data-flash='success']")
    assert page.is_visible(f"#related-panels li[data-relation='{relation}']")
    panels = engine_of(admin_app).model.entity("event").view("form").related
    assert [(p.relation, p.size) for p in panels] == [(relation, 5)]
    event = engine_of(admin_app).records.create("event", {
        "subject": "Kick-off", "event_type": "meeting", "starts_at": "2026-03-02T09:00:00"}, SYSTEM_ACTOR)
    page.goto(f"{admin_url}/event/{event['id']}")
    assert page.locator("section.related-panel").count() == 1
    assert page.is_visible(f"#related-{relation}")
    shot(page, "admin_related_on_a_record")
