"""The form's editors of `links` and `lines` (ui_renderer/records/form_collections.py): a
multi-record picker for the members, an inline table for the lines (rows added, moved and
removed, errors at their cell, nothing typed lost on a refused save), without JavaScript too
(the table's buttons and the picker's "Add" post the form and show it again)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

from test_forms import form_data as page_form_data, text

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, RELATIONS], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    engine: Engine = app.extensions["ossature"]
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    country = create("country", {"name": "France", "code": "FR"})
    region = create("region", {"name": "Auvergne", "country": country})
    site = create("site", {"name": "Vichy", "city": "Vichy", "region": region})
    mode = engine.model.value_list("room_access").values[0].code
    room = create("room", {"name": "Salon", "site": site, "access_mode": mode, "capacity": 8})
    ann = create("contact", {"last_name": "Durand", "first_name": "Ann"})
    bob = create("contact", {"last_name": "Martin", "first_name": "Bob"})
    cid = create("contact", {"last_name": "Petit", "first_name": "Cid"})
    booking = engine.records.create("booking", {
        "subject": "Kick-off", "room": room, "attendees": [ann, bob], "badge": True,
        "meals": [{"dish": "Soup"}, {"dish": "Cake", "quantity": 2}, {"dish": "Tea", "quantity": 3}],
    }, SYSTEM_ACTOR)
    return {"room": room, "ann": ann, "bob": bob, "cid": cid, "booking": booking}


def form_data(page: str) -> dict[str, Any]:
    """What a browser posts from the record form: a <template> row is not part of the form."""
    return page_form_data(re.sub(r"<template\b.*?</template>", "", page, flags=re.S))


def as_list(value: Any) -> list[str]:
    """A repeated input's values, without the empty one an editor posts first."""
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def row_keys(page: str, name: str = "meals") -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]+)">', re.sub(r"<template\b.*?</template>", "", page, flags=re.S))


def stored(app: Flask, booking_id: int) -> dict[str, Any]:
    return app.extensions["ossature"].records.get("booking", booking_id)


def dishes(record: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["dish"], line["quantity"]) for line in record["meals"]]


# -- showing -------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_lines_in_order_and_the_members_as_chips(app: Flask, world: dict) -> None:
    page = text(app.test_client().get(f"/booking/{world['booking']['id']}"))
    assert row_keys(page) == ["0", "1", "2"]
    data = form_data(page)
    ids = [line["id"] for line in world["booking"]["meals"]]
    assert [data[f"meals-{row}-id"] for row in "012"] == [str(i) for i in ids]
    assert [data[f"meals-{row}-dish"] for row in "012"] == ["Soup", "Cake", "Tea"]
    assert [data[f"meals-{row}-quantity"] for row in "012"] == ["1", "2", "3"]
    assert sorted(as_list(data["attendees"])) == sorted([str(world["ann"]), str(world["bob"])])
    chips = re.findall(r'class="chip picked-chip"><label><input[^>]*> <span>([^<]*)</span>', page)
    assert len(chips) == 2 and any("Durand" in c for c in chips) and any("Martin" in c for c in chips)
    # the columns are the meal's form sections, in order; the row template is there for the script
    heads = re.findall(r'<th scope="col" class="line-col[^"]*">([^<]*)', page)
    assert [h.strip() for h in heads] == ["Quantity", "Dish"]
    assert '<template class="line-template">' in page and 'name="meals-__row__-dish"' in page
    assert "At most 50 lines." in page


@pytest.mark.parametrize("lang, add, hint", [("en", "Add a line", "At most 50 lines."), ("fr", "Ajouter une ligne", "Au plus 50 lignes.")])
def test_the_editors_speak_the_page_language(app: Flask, lang: str, add: str, hint: str) -> None:
    page = text(app.test_client().get(f"/booking/new?lang={lang}"))
    assert add in page and hint in page
    assert row_keys(page) == []
    assert '<input type="hidden" name="meals" value="">' in page
    assert '<input type="hidden" name="attendees" value="">' in page


# -- saving --------------------------------------------------------------------------------------


def test_saving_the_rest_of_the_form_keeps_the_members_and_lines(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["subject"] = "Kick-off, moved"

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 303 and "saved=1" in response.headers["Location"]
    saved = stored(app, booking["id"])
    assert saved["subject"] == "Kick-off, moved"
    assert saved["attendees"] == booking["attendees"] and saved["meals"] == booking["meals"]
    assert saved["version"] == booking["version"] + 1


def test_the_form_posted_as_read_changes_nothing(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    response = client.post(f"/booking/{booking['id']}", data=form_data(text(client.get(f"/booking/{booking['id']}"))))
    assert response.status_code == 303 and "unchanged=1" in response.headers["Location"]
    assert stored(app, booking["id"])["version"] == booking["version"]


def test_a_new_record_is_created_with_its_lines_in_the_posted_order(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    data = form_data(text(client.get("/booking/new")))
    data.update({
        "subject": "Lunch", "room": str(world["room"]), "badge": "true",
        "meals": ["n2", "n1"], "meals-n1-dish": "Pie", "meals-n1-quantity": "4",
        "meals-n2-dish": "Salad", "meals-n2-quantity": "",  # blank: the default (1) applies
        "attendees": [str(world["cid"])],
    })

    response = client.post("/booking/new", data=data)

    assert response.status_code == 303, text(response)
    created = stored(app, int(re.search(r"/booking/(\d+)", response.headers["Location"])[1]))
    assert dishes(created) == [("Salad", 1), ("Pie", 4)]
    assert created["attendees"] == [world["cid"]]


def test_an_edit_reorders_changes_and_removes_lines_by_id(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    soup, cake, tea = (line["id"] for line in booking["meals"])
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["meals"] = ["2", "0", "n4"]  # Tea first, Soup second, Cake removed, a new line last
    data.update({"meals-0-quantity": "5", "meals-n4-dish": "Coffee", "meals-n4-quantity": "2"})
    for key in ("meals-1-id", "meals-1-dish", "meals-1-quantity"):
        data.pop(key)

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 303, text(response)
    saved = stored(app, booking["id"])
    assert dishes(saved) == [("Tea", 3), ("Soup", 5), ("Coffee", 2)]
    assert [line["id"] for line in saved["meals"]][:2] == [tea, soup]
    assert cake not in [line["id"] for line in saved["meals"]]
    assert [line["position"] for line in saved["meals"]] == [0, 1, 2]


def test_an_editor_left_without_rows_or_chips_empties_the_collection(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data = {k: v for k, v in data.items() if not k.startswith("meals") and k != "attendees"}
    data.update({"meals": "", "attendees": ""})  # what the editors post, emptied

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 303, text(response)
    saved = stored(app, booking["id"])
    assert saved["meals"] == [] and saved["attendees"] == []


def test_a_form_without_the_editors_leaves_the_collections_untouched(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data = {k: v for k, v in data.items() if not k.startswith(("meals", "attendees"))}
    data["subject"] = "Renamed"

    assert client.post(f"/booking/{booking['id']}", data=data).status_code == 303
    saved = stored(app, booking["id"])
    assert saved["meals"] == booking["meals"] and saved["attendees"] == booking["attendees"]


# -- refused saves ----------------------------------------------------------------------------


def test_a_refused_save_shows_the_error_at_its_cell_and_keeps_every_row(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["meals"] = ["2", "n7", "0"]  # Tea, a new line without its dish, Soup; Cake removed
    data.update({"meals-n7-dish": "", "meals-n7-quantity": "6", "meals-0-dish": "Soup of the day"})

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 422
    page = text(response)
    assert row_keys(page) == ["2", "n7", "0"]
    kept = form_data(page)
    assert (kept["meals-n7-quantity"], kept["meals-0-dish"], kept["meals-2-dish"]) == ("6", "Soup of the day", "Tea")
    assert "meals-1-dish" not in kept
    cell = re.search(r'<div class="field[^"]*has-error[^"]*" id="row-meals-n7-dish">.*?</div>\s*<ul class="field-errors" id="err-meals-n7-dish"', page, re.S)
    assert cell is not None
    assert 'href="#f-meals-n7-dish">Meals, line 2 › Dish</a>' in page
    assert stored(app, booking["id"]) == booking


def test_a_quantity_below_its_minimum_is_refused_at_its_cell_one_above_is_saved(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["meals-1-quantity"] = "0"
    page = text(client.post(f"/booking/{booking['id']}", data=data))
    assert 'id="err-meals-1-quantity"' in page and 'id="err-meals-0-quantity"' not in page
    data["meals-1-quantity"] = "1"
    assert client.post(f"/booking/{booking['id']}", data=data).status_code == 303
    assert dishes(stored(app, booking["id"]))[1] == ("Cake", 1)


def test_more_lines_than_the_maximum_are_refused_at_the_field(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    data = form_data(text(client.get("/booking/new")))
    data.update({"subject": "Banquet", "room": str(world["room"]), "badge": "true"})

    def rows(count: int) -> dict[str, Any]:
        cells = {f"meals-n{i}-dish": f"Dish {i}" for i in range(count)}
        return {**data, **cells, "meals": [f"n{i}" for i in range(count)]}

    response = client.post("/booking/new", data=rows(51))
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="err-meals" role="alert"><li>[^<]*50', page)
    assert len(row_keys(page)) == 51
    flood = client.post("/booking/new", data=rows(400))  # no more than one past the maximum is read
    assert flood.status_code == 422 and len(row_keys(text(flood))) == 51
    created = client.post("/booking/new", data=rows(50))
    assert created.status_code == 303
    assert len(stored(app, int(re.search(r"/booking/(\d+)", created.headers["Location"])[1]))["meals"]) == 50


# -- without JavaScript: the buttons post the form ---------------------------------------------


def test_the_row_buttons_work_without_javascript_and_save_nothing(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["meals-1-dish"] = "Carrot cake"

    page = text(client.post(f"/booking/{booking['id']}", data={**data, "_action": "line:meals:add"}))
    assert row_keys(page) == ["0", "1", "2", "n4"]
    data = form_data(page)
    assert data["meals-1-dish"] == "Carrot cake" and data["meals-n4-dish"] == ""

    page = text(client.post(f"/booking/{booking['id']}", data={**data, "_action": "line:meals:up:2"}))
    assert row_keys(page) == ["0", "2", "1", "n4"]
    page = text(client.post(f"/booking/{booking['id']}", data={**form_data(page), "_action": "line:meals:down:0"}))
    assert row_keys(page) == ["2", "0", "1", "n4"]
    page = text(client.post(f"/booking/{booking['id']}", data={**form_data(page), "_action": "line:meals:remove:n4"}))
    assert row_keys(page) == ["2", "0", "1"]
    # moving the first up or the last down changes nothing; an unknown row neither
    for action in ("line:meals:up:2", "line:meals:down:1", "line:meals:remove:zz"):
        page = text(client.post(f"/booking/{booking['id']}", data={**form_data(page), "_action": action}))
        assert row_keys(page) == ["2", "0", "1"]
    assert stored(app, booking["id"]) == booking

    response = client.post(f"/booking/{booking['id']}", data=form_data(page))
    assert response.status_code == 303
    assert dishes(stored(app, booking["id"])) == [("Tea", 3), ("Soup", 1), ("Carrot cake", 2)]


# -- the picker --------------------------------------------------------------------------------


def test_the_picker_adds_the_record_its_search_names_and_drops_unticked_chips(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["attendees"] = [str(world["ann"])]  # Bob's chip unticked
    data["attendees-_find"] = "Petit"

    page = text(client.post(f"/booking/{booking['id']}", data={**data, "_action": f"pick:attendees"}))
    kept = form_data(page)
    assert sorted(as_list(kept["attendees"])) == sorted([str(world["ann"]), str(world["cid"])])
    assert kept["attendees-_find"] == ""
    assert stored(app, booking["id"])["attendees"] == booking["attendees"]

    assert client.post(f"/booking/{booking['id']}", data=kept).status_code == 303
    assert stored(app, booking["id"])["attendees"] == sorted([world["ann"], world["cid"]])


def test_a_search_naming_no_record_is_an_error_at_the_picker_keeping_the_words(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["attendees-_find"] = "Nobody"

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 422
    page = text(response)
    assert 'id="err-attendees"' in page and "Nobody" in page
    assert form_data(page)["attendees-_find"] == "Nobody"
    assert sorted(as_list(form_data(page)["attendees"])) == sorted([str(world["ann"]), str(world["bob"])])


def test_a_member_that_does_not_exist_is_refused_at_the_picker(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    data["attendees"] = [str(world["ann"]), "99999"]
    response = client.post(f"/booking/{booking['id']}", data=data)
    assert response.status_code == 422 and 'id="err-attendees"' in text(response)
    assert stored(app, booking["id"])["attendees"] == booking["attendees"]


# -- prefill and the related panel's New --------------------------------------------------------


def test_new_prefills_members_from_the_address(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    page = text(client.get(f"/booking/new?prefill.attendees={world['ann']},{world['cid']}"))
    assert sorted(as_list(form_data(page)["attendees"])) == sorted([str(world["ann"]), str(world["cid"])])
    assert "Durand" in page and "Petit" in page
    bad = text(client.get("/booking/new?prefill.attendees=abc"))
    assert 'id="err-attendees"' in bad and "“abc” is not a record number." in bad


def test_a_links_relation_panel_offers_new_prefilling_the_member(app: Flask, world: dict) -> None:
    """The base pack's contact shows the events it attends (event.attendees, a `links`)."""
    client: FlaskClient = app.test_client()
    page = text(client.get(f"/contact/{world['ann']}"))
    panel = re.search(r'<section class="related-panel" id="related-attended_events"(.*?)</section>', page, re.S)
    assert panel is not None
    new = re.search(r'<a class="button button-secondary" href="([^"]+)">', panel[1])
    assert new is not None and new[1].replace("&amp;", "&").endswith(f"/event/new?prefill.attendees={world['ann']}")
    form = form_data(text(client.get(new[1].replace("&amp;", "&"))))
    assert as_list(form["attendees"]) == [str(world["ann"])]


def test_a_conflict_keeps_the_users_rows_and_members_beside_the_other_change(app: Flask, world: dict) -> None:
    client: FlaskClient = app.test_client()
    engine: Engine = app.extensions["ossature"]
    booking = world["booking"]
    data = form_data(text(client.get(f"/booking/{booking['id']}")))
    engine.records.update("booking", booking["id"], {"subject": "Moved by someone else"}, SYSTEM_ACTOR)
    data["meals"] = ["2", "0", "1"]
    data["meals-0-dish"] = "Soup of the day"
    data["attendees"] = [str(world["ann"])]

    response = client.post(f"/booking/{booking['id']}", data=data)

    assert response.status_code == 409
    page = text(response)
    kept = form_data(page)
    assert row_keys(page) == ["2", "0", "1"] and kept["meals-0-dish"] == "Soup of the day"
    assert as_list(kept["attendees"]) == [str(world["ann"])]
    assert kept["subject"] == "Moved by someone else"
    assert "Meals" in page and "Attendees" in page  # rows of the changes compared
    response = client.post(f"/booking/{booking['id']}", data=kept)
    assert response.status_code == 303
    saved = stored(app, booking["id"])
    assert saved["subject"] == "Moved by someone else" and saved["attendees"] == [world["ann"]]
    assert dishes(saved) == [("Tea", 3), ("Soup of the day", 1), ("Cake", 2)]
