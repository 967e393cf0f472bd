"""How the form's `links` and `lines` editors are read (ui_renderer/records/form_collections.py):
row keys posted, the no-JavaScript row buttons, what counts as a change, and the engine's
errors placed at their cell or row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

import metamodel
from ui_renderer import create_app
from ui_renderer.records.common import form_cache
from ui_renderer.records.form_collections import (
    Editor, apply_row_action, changed, fresh_row, line_columns, place_errors, posted_rows,
)
from ui_renderer.records.form_state import FormState, comparable
from ui_renderer.testing import PAGES_WITHOUT_LOGIN

TRIPS = Path(__file__).resolve().parent / "trips_pack"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    database = tmp_path_factory.mktemp("parsing") / "db.sqlite"
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "PACKS": [metamodel.BASE_PACK, TRIPS], **PAGES_WITHOUT_LOGIN})
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def found(app: Flask) -> Iterator[dict[str, Editor]]:
    with app.test_request_context("/trip/new"):
        layout = form_cache().layout("trip", "en")
        yield {
            "legs": Editor(layout.widgets["legs"], line_columns("trip_leg", "en")),
            "guides": Editor(layout.widgets["guides"]),
        }


def test_posted_rows_keep_their_order_once_each_and_drop_malformed_keys() -> None:
    form = MultiDict([("legs", ""), ("legs", "n2"), ("legs", "0"), ("legs", "n2"), ("legs", "a" * 12),
                      ("legs", "a" * 13), ("legs", "N1"), ("legs", "x-1"), ("legs", "__row__")])
    assert posted_rows(form, "legs") == ["n2", "0", "a" * 12]
    assert posted_rows(MultiDict(), "legs") == []


def test_fresh_row_keys_never_reuse_one_taken() -> None:
    assert fresh_row([]) == "n1"
    assert fresh_row(["0", "1"]) == "n3"
    assert fresh_row(["n2", "n3"]) == "n4"


def test_the_editors_columns_are_the_form_fields_in_order(found: dict[str, Editor]) -> None:
    legs = found["legs"]
    assert [c.name for c in legs.columns] == ["day", "mode", "paid", "host", "travellers"]
    assert [c.name for c in legs.inputs] == ["day", "mode", "paid", "host", "travellers"]
    assert [c.name for c in legs.pickers] == ["travellers"]


def state_with(rows: list[str]) -> FormState:
    return FormState(values={"legs": list(rows)})


def test_row_buttons_add_up_to_the_maximum_and_move_within_bounds(found: dict[str, Editor]) -> None:
    state = state_with(["0", "1", "2"])
    assert apply_row_action("line:legs:add", found, state)
    assert state.values["legs"] == ["0", "1", "2", "n4"]
    assert state.values["legs-n4-paid"] == "false" and state.values["legs-n4-travellers"] == []
    assert apply_row_action("line:legs:add", found, state)  # at the maximum (4): nothing added
    assert state.values["legs"] == ["0", "1", "2", "n4"]

    apply_row_action("line:legs:up:0", found, state)  # the first cannot go up
    apply_row_action("line:legs:down:n4", found, state)  # the last cannot go down
    assert state.values["legs"] == ["0", "1", "2", "n4"]
    apply_row_action("line:legs:up:1", found, state)
    apply_row_action("line:legs:down:2", found, state)
    assert state.values["legs"] == ["1", "0", "n4", "2"]
    apply_row_action("line:legs:remove:0", found, state)
    apply_row_action("line:legs:remove:nope", found, state)
    assert state.values["legs"] == ["1", "n4", "2"]


@pytest.mark.parametrize("action", ["add", "line:guides:add", "line:other:add", "line:legs", "pick:guides", ""])
def test_other_actions_are_not_row_buttons(found: dict[str, Editor], action: str) -> None:
    state = state_with(["0"])
    assert not apply_row_action(action, found, state)
    assert state.values["legs"] == ["0"]


LINES = [
    {"id": 7, "position": 0, "day": "2027-03-01", "mode": "train", "paid": True, "host": 3, "travellers": [4, 5]},
    {"id": 8, "position": 1, "day": "2027-03-02", "mode": None, "paid": False, "host": None, "travellers": []},
]
SAME = [
    {"id": "7", "day": "2027-03-01", "mode": "train", "paid": "true", "host": "3", "travellers": [5, 4]},
    {"id": "8", "day": "2027-03-02", "mode": "", "paid": "false", "host": "", "travellers": []},
]


def test_lines_posted_as_read_are_no_change(found: dict[str, Editor]) -> None:
    record = {"legs": LINES, "guides": [4, 5]}
    assert changed(found, {"legs": SAME, "guides": [5, 4, 4]}, record) == {}


@pytest.mark.parametrize("edit", [
    lambda lines: lines.reverse(),
    lambda lines: lines.pop(),
    lambda lines: lines.append({"day": "2027-03-03"}),
    lambda lines: lines[1].update(paid="true"),
    lambda lines: lines[0].update(travellers=[4]),
    lambda lines: lines[0].update(id="8"),
])
def test_any_change_of_order_count_cell_or_members_gives_the_whole_list(found: dict[str, Editor], edit: Any) -> None:
    lines = [dict(line) for line in SAME]
    edit(lines)
    assert changed(found, {"legs": lines}, {"legs": LINES}) == {"legs": lines}


def test_a_different_set_of_members_is_a_change(found: dict[str, Editor]) -> None:
    assert changed(found, {"guides": [4]}, {"guides": [4, 5]}) == {"guides": [4]}
    assert changed(found, {"guides": []}, {"guides": None}) == {}


def test_engine_errors_go_to_their_cell_their_row_or_the_field(app: Flask, found: dict[str, Editor]) -> None:
    state = state_with(["n2", "0"])
    messages = {
        "legs.1.day": ["Mandatory."], "legs.0.travellers": ["At most 2."], "legs.0.id": ["Not a line of this record."],
        "legs.0.note": ["Too long."], "legs.2.day": ["Past the rows."], "legs": ["At least 1."],
        "guides": ["Unknown record."], "name": ["Mandatory."],
    }
    with app.test_request_context("/trip/new"):
        placed, shown = place_errors(found, messages, state, "en")
    assert placed == {
        "legs-0-day": ["Mandatory."], "legs-n2-travellers": ["At most 2."],
        "legs-n2": ["Not a line of this record.", "Note: Too long."],
        "legs": ["Past the rows.", "At least 1."], "guides": ["Unknown record."], "name": ["Mandatory."],
    }
    assert shown == {"legs-0-day", "legs-n2-travellers", "legs-n2", "legs", "guides"}
    assert state.labels["legs-0-day"] == "Legs, line 2 › Day"
    assert state.labels["legs-n2"] == "Legs, line 1"


def test_comparable_sorts_sets_and_keeps_lines_in_order() -> None:
    assert comparable(["b", "a"]) == ["a", "b"]
    assert comparable([{"id": 2}, {"id": 1}]) == [{"id": 2}, {"id": 1}]
    assert comparable("x") == "x"
