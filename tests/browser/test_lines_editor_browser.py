"""The lines editor in Chromium: rows added from the template without a reload, moved with the
arrows and by dragging their handle, removed; the order saved is the order shown; a refused
save shows the error at its cell and keeps every row. Screenshots: tests/artifacts/lines_*.png."""

from __future__ import annotations

import re
from typing import Any

from engine import SYSTEM_ACTOR
from relations_live import relations_app, relations_url, rpage, world  # noqa: F401  (fixtures)


def dishes(rpage: Any) -> list[str]:
    return [rpage.input_value(f"#{cell}") for cell in rpage.eval_on_selector_all(
        ".lines-editor tbody tr.line-row input[name$='-dish']", "els => els.map(e => e.id)")]


def test_add_reorder_remove_and_save_lines(rpage: Any, relations_url: str, world: dict, shot: Any) -> None:
    engine = world["engine"]
    booking = engine.records.create("booking", {
        "subject": "Seminar", "room": world["room"], "badge": True,
        "meals": [{"dish": "Soup"}, {"dish": "Cake", "quantity": 2}],
    }, SYSTEM_ACTOR)
    rpage.goto(f"{relations_url}/booking/{booking['id']}")
    loads = []
    rpage.on("load", lambda _page: loads.append(1))

    rpage.click(".lines-editor .line-add")
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(3) input[name$='-dish']", "Tea")
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(3) input[name$='-quantity']", "4")
    rpage.click(".lines-editor .line-add")
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(4) input[name$='-dish']", "Coffee")
    assert dishes(rpage) == ["Soup", "Cake", "Tea", "Coffee"]

    rpage.click(".lines-editor tbody tr.line-row:nth-child(3) .line-up")  # Tea above Cake
    assert dishes(rpage) == ["Soup", "Tea", "Cake", "Coffee"]
    rpage.click(".lines-editor tbody tr.line-row:nth-child(1) .line-remove")  # Soup goes
    assert dishes(rpage) == ["Tea", "Cake", "Coffee"]
    # drag Coffee by its handle onto the first row
    rpage.drag_and_drop(
        ".lines-editor tbody tr.line-row:nth-child(3) .drag-handle", ".lines-editor tbody tr.line-row:nth-child(1)",
        target_position={"x": 20, "y": 2},
    )
    assert dishes(rpage) == ["Coffee", "Tea", "Cake"]
    assert loads == []  # no reload for any row
    assert rpage.is_disabled(".lines-editor tbody tr.line-row:nth-child(1) .line-up")
    assert rpage.is_disabled(".lines-editor tbody tr.line-row:nth-child(3) .line-down")
    shot(rpage, "lines_edited")

    rpage.click(".form-actions button.button-primary")
    rpage.wait_for_url(re.compile(r"saved=1"))
    saved = engine.records.get("booking", booking["id"])
    assert [(m["dish"], m["quantity"]) for m in saved["meals"]] == [("Coffee", 1), ("Tea", 4), ("Cake", 2)]
    assert saved["meals"][2]["id"] == booking["meals"][1]["id"]  # Cake kept its line
    assert dishes(rpage) == ["Coffee", "Tea", "Cake"]


def test_a_refused_save_keeps_the_rows_and_shows_the_cell_error(rpage: Any, relations_url: str, world: dict, shot: Any) -> None:
    rpage.goto(f"{relations_url}/booking/new")
    rpage.fill("#f-subject", "Workshop")
    rpage.select_option("#f-room", str(world["room"]))
    rpage.click(".lines-editor .line-add")
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(1) input[name$='-dish']", "Bread")
    rpage.click(".lines-editor .line-add")
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(2) input[name$='-quantity']", "0")  # below its minimum
    rpage.fill(".lines-editor tbody tr.line-row:nth-child(2) input[name$='-dish']", "Jam")
    # the browser's own check stops at the quantity's min: submit past it, as the server must refuse it too
    rpage.eval_on_selector("#record-form", "form => form.noValidate = true")
    rpage.click(".form-actions button.button-primary")

    error = rpage.locator(".lines-editor tbody tr.line-row:nth-child(2) .field-errors")
    error.wait_for()  # the refused save's page, once it has loaded
    assert error.count() == 1 and error.inner_text().strip()
    assert dishes(rpage) == ["Bread", "Jam"]
    assert "Meals, line 2 › Quantity" in rpage.inner_text(".notice-error")
    shot(rpage, "lines_refused")

    rpage.fill(".lines-editor tbody tr.line-row:nth-child(2) input[name$='-quantity']", "1")
    rpage.click(".form-actions button.button-primary")
    rpage.wait_for_url(re.compile(r"/booking/\d+\?created=1"))
    created = world["engine"].records.get("booking", int(re.search(r"/booking/(\d+)", rpage.url)[1]))
    assert [(m["dish"], m["quantity"]) for m in created["meals"]] == [("Bread", 1), ("Jam", 1)]
