"""The member picker in Chromium: records found by typing (the lookup endpoint), picked as
chips, one removed by its ×, the set saved. Screenshots: tests/artifacts/picker_*.png."""

from __future__ import annotations

import re
from typing import Any

from engine import SYSTEM_ACTOR
from relations_live import relations_app, relations_url, rpage, world  # noqa: F401  (fixtures)


def chips(rpage: Any) -> list[str]:
    return [t.strip() for t in rpage.locator("#row-attendees .picked-chip span").all_inner_texts()]


def test_pick_two_members_by_search_remove_one_and_save(rpage: Any, relations_url: str, world: dict, shot: Any) -> None:
    engine = world["engine"]
    people = world["people"]
    booking = engine.records.create(
        "booking", {"subject": "Board", "room": world["room"], "badge": True, "attendees": [people["Durand"]]}, SYSTEM_ACTOR
    )
    rpage.goto(f"{relations_url}/booking/{booking['id']}")
    assert len(chips(rpage)) == 1 and "Durand" in chips(rpage)[0]

    rpage.fill("#f-attendees", "Petit")
    options = rpage.locator("#matches-attendees li[role=option]")
    options.first.wait_for()
    assert options.count() == 2 and all("Petit" in t for t in options.all_inner_texts())
    shot(rpage, "picker_matches")
    rpage.locator("#matches-attendees li[role=option]", has_text="Petitjean").click()
    rpage.fill("#f-attendees", "Mart")
    rpage.locator("#matches-attendees li[role=option]", has_text="Martin").wait_for()
    rpage.keyboard.press("Enter")  # picks the highlighted match, does not submit
    assert len(chips(rpage)) == 3 and rpage.url.endswith(f"/booking/{booking['id']}")

    rpage.click("#row-attendees .picked-chip:has-text('Durand') .chip-remove")
    assert len(chips(rpage)) == 2
    shot(rpage, "picker_chosen")
    rpage.click(".form-actions button.button-primary")
    rpage.wait_for_url(re.compile(r"saved=1"))
    saved = engine.records.get("booking", booking["id"])
    assert saved["attendees"] == sorted([people["Petitjean"], people["Martin"]])


def test_the_picker_stops_at_its_maximum(rpage: Any, relations_url: str, world: dict) -> None:
    """A quote's watchers are at most 2: the search is disabled once two are chosen, enabled
    again when one is removed."""
    rpage.goto(f"{relations_url}/quote/new")
    for name in ("Durand", "Martin"):
        assert not rpage.is_disabled("#f-watchers")
        rpage.fill("#f-watchers", name)
        rpage.locator("#matches-watchers li[role=option]", has_text=name).click()
    assert rpage.is_disabled("#f-watchers")
    assert "maximum of 2" in rpage.get_attribute("#f-watchers", "placeholder")
    rpage.click("#row-watchers .picked-chip:has-text('Martin') .chip-remove")
    assert not rpage.is_disabled("#f-watchers")


def test_a_picker_inside_a_new_lines_row(rpage: Any, relations_url: str, world: dict, shot: Any) -> None:
    """A trip leg's travellers (tests/ui/trips_pack): the row comes from the template, its picker
    works at once."""
    people = world["people"]
    rpage.goto(f"{relations_url}/trip/new")
    rpage.fill("#f-name", "Alps")
    rpage.click(".lines-editor .line-add")
    row = ".lines-editor tbody tr.line-row:nth-child(1)"
    rpage.fill(f"{row} input[type=date]", "2027-03-01")
    rpage.select_option(f"{row} select[name$='-mode']", "train")
    search = rpage.locator(f"{row} .links-picker input[type=search]")
    search.fill("Petitjean")
    rpage.locator(f"{row} .picker-matches li[role=option]", has_text="Petitjean").click()
    assert rpage.locator(f"{row} .picked-chip").count() == 1
    shot(rpage, "picker_in_line")
    rpage.click(".form-actions button.button-primary")
    rpage.wait_for_url(re.compile(r"/trip/\d+\?created=1"))
    trip = world["engine"].records.get("trip", int(re.search(r"/trip/(\d+)", rpage.url)[1]))
    assert [(leg["mode"], leg["travellers"]) for leg in trip["legs"]] == [("train", [people["Petitjean"]])]
