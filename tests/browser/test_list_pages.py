"""The lead list in Chromium: filter, sort, group, and mass-update the assigned user.

Each state is saved to tests/artifacts/ (see conftest.py) for people to look at.
The database is the session's seeded demo, shared with other browser tests: every
check here reads what it needs from the database instead of assuming demo values.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask


def engine_of(app: Flask) -> Any:
    return app.extensions["ossature"]


def lead_names(page: Any) -> list[str]:
    return page.locator("table.records a.record-link").all_inner_texts()


def user_ids(app: Flask) -> dict[str, int]:
    records = engine_of(app).records
    rows = records.list("user", records.list_request("user", {"size": ["200"]})).rows
    return {row["display_name"]: row["id"] for row in rows}


def leads_matching(app: Flask, args: dict[str, list[str]]) -> list[dict[str, Any]]:
    records = engine_of(app).records
    return records.list("lead", records.list_request("lead", {**args, "size": ["200"]})).rows


def test_filter_sort_and_group_the_lead_list(page: Any, live_url: str, live_app: Flask, shot: Any) -> None:
    page.goto(f"{live_url}/lead/")
    assert page.locator("h1").inner_text().startswith("Leads")
    shot(page, "lead_list")

    page.locator("details.filter summary", has_text="Sector").click()
    page.get_by_label("Banking and insurance").check()
    page.get_by_label("IT and software").check()
    page.locator("#list-filters button[type=submit]", has_text="Apply").click()
    page.wait_for_url(re.compile(r"f_sector=banking&f_sector=it"))
    expected = leads_matching(live_app, {"f_sector": ["banking", "it"]})
    assert page.locator(".list-count").inner_text() == f"{len(expected)} records"
    assert page.locator(".chips li").first.inner_text().startswith("Sector: Banking and insurance, IT and software")
    shot(page, "lead_list_filtered")

    page.locator("th a", has_text="Last name").click()
    page.wait_for_url(re.compile(r"sort=last_name"))
    ascending = lead_names(page)
    assert ascending == sorted(row["last_name"] for row in expected)[: len(ascending)]
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("LAST NAME")
    page.locator("th a", has_text="Last name").click()
    page.wait_for_url(re.compile(r"sort=-last_name"))
    assert lead_names(page) == sorted((row["last_name"] for row in expected), reverse=True)[: len(ascending)]
    assert "f_sector=banking" in page.url
    shot(page, "lead_list_sorted")

    page.select_option("select[name=group]", "status")
    page.wait_for_url(re.compile(r"group=status"))
    groups = page.locator("details.group")
    assert groups.count() >= 1
    first = groups.first
    label = first.locator(".group-label").inner_text()
    count = int(first.locator("summary .count").inner_text())
    assert count == sum(1 for row in expected if row["status"] == _status_code(live_app, label))
    first.locator("summary").click()
    assert first.get_attribute("open") is None
    assert not first.locator("table").is_visible()
    shot(page, "lead_list_grouped")


def _status_code(app: Flask, label: str) -> str:
    flow = engine_of(app).model.workflow("lead")
    return next(s.code for s in flow.statuses if s.label.en == label)


def test_mass_update_the_assigned_user_of_a_selection(page: Any, live_url: str, live_app: Flask, shot: Any) -> None:
    users = user_ids(live_app)
    target_name = sorted(users)[-1]
    page.goto(f"{live_url}/lead/?sort=last_name")
    boxes = page.locator("input[name=id]")
    boxes.nth(0).click()
    boxes.nth(3).click(modifiers=["Shift"])
    assert [boxes.nth(i).is_checked() for i in range(5)] == [True, True, True, True, False]
    chosen = [int(boxes.nth(i).get_attribute("value").split(":")[0]) for i in range(4)]

    page.locator("#mass-update-panel summary").click()
    page.select_option("#value-assigned_to", label=target_name)
    assert page.locator("#set-assigned_to").is_checked()
    shot(page, "lead_mass_update_selection")
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/lead/mass-update"))
    records = engine_of(live_app).records
    would_change = sum(1 for i in chosen if records.get("lead", i)["assigned_to"] != users[target_name])
    assert page.locator("#will-change").get_attribute("data-count") == str(would_change)
    assert page.locator(".selection-summary").inner_text() == "4 selected records"
    shot(page, "lead_mass_update_preview")

    page.locator("#apply").click()
    page.wait_for_url(re.compile(r"/lead/mass-update/apply"))
    assert page.locator("#changed").get_attribute("data-changed") == str(would_change)
    shot(page, "lead_mass_update_done")
    assert {records.get("lead", i)["assigned_to"] for i in chosen} == {users[target_name]}

    page.get_by_role("link", name="Back to the list").click()
    page.wait_for_url(re.compile(r"/lead/\?sort=last_name$"))


def test_mass_update_all_leads_matching_a_filter(page: Any, live_url: str, live_app: Flask, shot: Any) -> None:
    users = user_ids(live_app)
    target_name = sorted(users)[0]
    page.goto(f"{live_url}/lead/?tab=all&f_sector=retail&size=10")
    matching = leads_matching(live_app, {"tab": ["all"], "f_sector": ["retail"]})
    assert len(matching) > 10, "the demo data should have more retail leads than one page"
    all_matching = page.get_by_label(f"Select all {len(matching)} records matching this filter")
    all_matching.check()
    assert all(box.is_checked() for box in page.locator("input[name=id]").all())
    page.locator("input[name=id]").first.click()
    assert not all_matching.is_checked()
    all_matching.check()
    assert page.locator("input[name=id]").first.is_checked()
    page.locator("#mass-update-panel summary").click()
    page.select_option("#value-assigned_to", label=target_name)
    page.get_by_role("button", name="Preview the change").click()
    assert page.locator(".selection-summary").inner_text().startswith(f"All {len(matching)} records matching")
    shot(page, "lead_mass_update_all_preview")
    page.locator("#apply").click()
    assert page.locator("#changed").get_attribute("data-matched") == str(len(matching))
    shot(page, "lead_mass_update_all_done")
    after = leads_matching(live_app, {"tab": ["all"], "f_sector": ["retail"]})
    assert {row["assigned_to"] for row in after} == {users[target_name]}


def test_a_bad_list_address_shows_a_clear_message(page: Any, live_url: str, shot: Any) -> None:
    response = page.goto(f"{live_url}/lead/?sort=shoe_size")
    assert response.status == 400
    assert "This list cannot be shown" in page.locator("[role=alert]").inner_text()
    assert "shoe_size" in page.locator("code.query-error").inner_text()
    shot(page, "lead_list_bad_request")


def test_the_lead_list_in_french(page: Any, live_url: str, shot: Any) -> None:
    page.goto(f"{live_url}/lead/?lang=fr&view=my_open_leads&group=status")
    assert page.locator("h1").inner_text().startswith("Pistes")
    assert page.locator(".view-tabs .current").inner_text() == "Mes pistes ouvertes"
    shot(page, "lead_list_french_grouped")
