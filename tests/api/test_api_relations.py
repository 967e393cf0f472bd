"""Relations in the REST API: `links` and `lines` values in records, bodies and batches; owned
entities without addresses of their own; the OpenAPI document of both.

The app runs the relations pack (bookings of rooms of sites, meals as lines, attendees as links)
and tests/api/relations_pack (quotes: `reviewers` links with min 1 and max 3, `watchers` hidden
from the `quoter` role, `items` lines with decimals and dates, at most 3).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

from api_support import Caller, build_app, make_caller
from metamodel.model import Model

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"
API_RELATIONS = Path(__file__).resolve().parent / "relations_pack"


@pytest.fixture(scope="module")
def rel_app(module_database_url: str) -> Iterator[Flask]:
    app = build_app(module_database_url, RELATIONS, API_RELATIONS, seed=False)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture(scope="module")
def model(rel_app: Flask) -> Model:
    return rel_app.extensions["ossature"].model


@pytest.fixture(scope="module")
def boss(rel_app: Flask) -> Caller:
    return make_caller(rel_app, "rel.admin", ("admin",))


@pytest.fixture(scope="module")
def quoter(rel_app: Flask) -> Caller:
    return make_caller(rel_app, "rel.quoter", ("quoter",))


@pytest.fixture(scope="module")
def contacts(boss: Caller) -> list[int]:
    """Five contacts, ids ascending."""
    ids = []
    for i in range(5):
        answer = boss.post("/contact", {"last_name": f"Member {i}"})
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["id"])
    return ids


def created(caller: Caller, entity: str, values: dict[str, Any]) -> dict[str, Any]:
    answer = caller.post(f"/{entity}", values)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def refused(answer: Any, status: int = 422) -> dict[str, list[str]]:
    """The rules of an error answer, by where they are."""
    assert answer.status_code == status, answer.get_json()
    return {key: [problem["rule"] for problem in problems] for key, problems in answer.get_json()["errors"].items()}


# -- owned entities have no addresses ------------------------------------------------------------


OWNED_ADDRESSES = [
    ("get", "/{e}"), ("post", "/{e}"), ("get", "/{e}/1"), ("patch", "/{e}/1"), ("delete", "/{e}/1"),
    ("post", "/{e}/1/restore"), ("get", "/{e}/1/history"), ("post", "/{e}/batch"), ("patch", "/{e}/batch"),
    ("post", "/{e}/mass-update"), ("get", "/{e}/export"), ("post", "/{e}/export"), ("get", "/{e}/duplicates"),
    ("post", "/{e}/1/merge"), ("post", "/{e}/import"),
]


@pytest.mark.parametrize(("method", "address"), OWNED_ADDRESSES)
@pytest.mark.parametrize("owned", ["meal", "quote_item"])
def test_an_owned_entity_has_no_address_of_its_own(boss: Caller, owned: str, method: str, address: str) -> None:
    answer = getattr(boss, method)(address.format(e=owned))
    assert answer.status_code == 404, answer.get_json()
    assert answer.get_json() == {"error": "not_found", "message": f"There is no entity '{owned}'."}


def test_jobs_of_an_owned_entity_are_refused_as_those_of_an_unknown_one(boss: Caller) -> None:
    owned, unknown = boss.get("/jobs?entity=meal"), boss.get("/jobs?entity=nothing")
    assert owned.status_code == unknown.status_code == 400
    assert "meal" not in owned.get_json()["errors"]["entity"][0]["message"]


def test_the_document_names_no_owned_entity_but_describes_its_lines(boss: Caller, model: Model) -> None:
    document = boss.get("/openapi.json").get_json()
    owned = [e.name for e in model.entities.values() if e.owned_by]
    assert sorted(owned) == ["meal", "quote_item"]
    for name in owned:
        assert not [path for path in document["paths"] if path.split("/")[1] == name]
        assert not [tag for item in document["paths"].values() for operation in item.values()
                    if isinstance(operation, dict) for tag in operation.get("tags", ()) if tag == name]
    schemas = document["components"]["schemas"]
    assert not {"Meal", "MealInput", "MealValues", "QuoteItem", "QuoteItemPage"} & set(schemas)
    assert {"MealLine", "MealLineInput", "QuoteItemLine", "QuoteItemLineInput"} <= set(schemas)
    jobs = next(p for p in document["paths"]["/jobs"]["get"]["parameters"] if p["name"] == "entity")
    assert "meal" not in jobs["schema"]["enum"] and "booking" in jobs["schema"]["enum"]


# -- the document --------------------------------------------------------------------------------


def test_the_document_of_relations_is_valid_openapi_3_1(boss: Caller) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert list(OpenAPIV31SpecValidator(boss.get("/openapi.json").get_json()).iter_errors()) == []


def test_links_are_arrays_of_ids_bounded_by_the_definitions(boss: Caller, model: Model) -> None:
    schemas = boss.get("/openapi.json").get_json()["components"]["schemas"]
    for entity, name in (("quote", "reviewers"), ("quote", "watchers"), ("booking", "attendees")):
        field = model.entity(entity).field(name)
        component = entity.capitalize()
        read = schemas[component]["properties"][name]
        assert read["type"] == "array" and read["uniqueItems"] is True and read["items"]["type"] == "integer"
        for schema in (schemas[f"{component}Input"], schemas[f"{component}Values"], schemas[f"{component}BatchChange"]):
            given = schema["properties"][name]
            assert given["maxItems"] == field.max
            assert given["uniqueItems"] is True
            assert given["items"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
            assert given.get("minItems") == (field.min or None)
            assert given["type"] == ("array" if field.min else ["array", "null"])
    assert "reviewers" in schemas["QuoteInput"]["required"]  # at least one: no record without
    assert "watchers" not in schemas["QuoteInput"]["required"]


def test_lines_are_arrays_of_the_owned_entitys_lines(boss: Caller, model: Model) -> None:
    schemas = boss.get("/openapi.json").get_json()["components"]["schemas"]
    items = model.entity("quote").field("items")
    read = schemas["Quote"]["properties"]["items"]
    assert read["items"] == {"$ref": "#/components/schemas/QuoteItemLine"}
    given = schemas["QuoteInput"]["properties"]["items"]  # a new record: its lines are new
    assert given["items"] == {"$ref": "#/components/schemas/QuoteItemLineNew"} and given["maxItems"] == items.max
    changed = schemas["QuoteValues"]["properties"]["items"]
    assert changed["items"] == {"$ref": "#/components/schemas/QuoteItemLineInput"} and changed["maxItems"] == items.max
    line, line_input, line_new = (schemas[f"QuoteItem{kind}"] for kind in ("Line", "LineInput", "LineNew"))
    declared = {f.name for f in model.entity("quote_item").fields if not f.system}
    mandatory = [f.name for f in model.entity("quote_item").fields if f.mandatory and not f.system]
    assert mandatory == ["product"]
    assert set(line["properties"]) == declared | {"id", "position"}
    assert set(line_input["properties"]) == declared | {"id", "position"}
    assert set(line_new["properties"]) == declared | {"position"}
    assert all("parent_id" not in schema["properties"] for schema in (line, line_input, line_new))
    assert line_input["properties"]["position"]["readOnly"] is True
    assert line_new["required"] == mandatory
    assert line_input["anyOf"] == [{"required": ["id"]}, {"required": mandatory}]  # a kept line, or a new one
    assert line["properties"]["price"]["format"] == "decimal"
    assert line["properties"]["delivery"]["format"] == "date"


def test_list_parameters_filter_and_sort_on_the_paths_the_views_name(boss: Caller, model: Model) -> None:
    document = boss.get("/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/booking"]["get"]["parameters"]}
    for text in ("room.site", "room.site.region.country"):
        assert parameters[f"f_{text}"]["schema"]["items"]["type"] == "integer"  # links at the end: record ids
    assert parameters["f_room.capacity"]["schema"]["type"] == "integer"
    assert {"f_room.capacity_min", "f_room.capacity_max"} <= set(parameters)
    assert parameters["f_room.site.name"]["schema"]["type"] == "string"
    assert parameters["f_attendees"]["schema"]["items"]["type"] == "integer"
    assert "f_meals" not in parameters
    sort = re.compile(parameters["sort"]["schema"]["pattern"])
    assert sort.fullmatch("-room.site.name,subject") and sort.fullmatch("room.capacity")
    assert not sort.fullmatch("attendees") and not sort.fullmatch("meals") and not sort.fullmatch("roomXsite")
    assert "room.access_mode" in parameters["group"]["schema"]["enum"]


# -- values in records -------------------------------------------------------------------------


def test_a_record_carries_its_members_and_its_lines_json_typed(boss: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {
        "name": "Q1", "reviewers": [contacts[2], contacts[0]], "watchers": [contacts[1]],
        "items": [{"product": "desk", "price": "120.50", "delivery": "2026-03-01", "quantity": 2},
                  {"product": "chair", "price": 30}],
    })
    assert quote["reviewers"] == [contacts[0], contacts[2]]  # ascending
    assert quote["watchers"] == [contacts[1]]
    desk, chair = quote["items"]
    assert {k: v for k, v in desk.items() if k != "id"} == {
        "product": "desk", "price": "120.50", "delivery": "2026-03-01", "quantity": 2, "position": 0}
    assert chair["price"] == "30.00" and chair["quantity"] == 1 and chair["position"] == 1  # the default
    assert "parent_id" not in desk
    read = boss.get(f"/quote/{quote['id']}").get_json()
    assert read == quote


def test_an_update_replaces_members_and_keeps_changes_and_drops_lines(boss: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "Q2", "reviewers": [contacts[0]],
                                    "items": [{"product": "a"}, {"product": "b"}, {"product": "c"}]})
    a, b, c = quote["items"]
    answer = boss.patch(f"/quote/{quote['id']}", {
        "version": quote["version"], "reviewers": [contacts[3], contacts[1]],
        "items": [{**c, "price": "9.99"}, {"product": "d"}, a],  # c first, changed; b dropped; a sent back as read
    })
    assert answer.status_code == 200, answer.get_json()
    after = answer.get_json()
    assert after["reviewers"] == [contacts[1], contacts[3]]
    assert [(line["product"], line["position"], line["price"]) for line in after["items"]] == [
        ("c", 0, "9.99"), ("d", 1, None), ("a", 2, None)]
    assert after["items"][0]["id"] == c["id"] and after["items"][2]["id"] == a["id"]
    assert b["id"] not in {line["id"] for line in after["items"]}


@pytest.mark.parametrize(("count", "status"), [(0, 422), (1, 201), (3, 201), (4, 422)])
def test_members_from_min_to_max(boss: Caller, contacts: list[int], count: int, status: int) -> None:
    answer = boss.post("/quote", {"name": f"members {count}", "reviewers": contacts[:count]})
    assert answer.status_code == status, answer.get_json()
    if status == 422:
        assert list(answer.get_json()["errors"]) == ["reviewers"]


@pytest.mark.parametrize(("count", "status"), [(3, 201), (4, 422)])
def test_lines_up_to_max(boss: Caller, contacts: list[int], count: int, status: int) -> None:
    answer = boss.post("/quote", {"name": "lines", "reviewers": [contacts[0]],
                                  "items": [{"product": f"p{i}"} for i in range(count)]})
    assert answer.status_code == status, answer.get_json()
    if status == 422:
        assert list(answer.get_json()["errors"]) == ["items"]


def test_errors_name_the_line_and_its_characteristic(boss: Caller, contacts: list[int]) -> None:
    answer = boss.post("/quote", {"name": "bad", "reviewers": [contacts[0]],
                                  "items": [{"product": "ok"}, {"product": "x", "quantity": 0}, {"price": "1"}]})
    assert refused(answer) == {"items.1.quantity": ["min"], "items.2.product": ["mandatory"]}
    french = Caller(boss.client, boss.token, boss.user_id, "fr")
    message = french.post("/quote", {"name": "bad", "reviewers": [contacts[0]],
                                     "items": [{"quantity": 0, "product": "x"}]})
    assert message.get_json()["errors"]["items.0.quantity"][0]["message"] != answer.get_json()["errors"][
        "items.1.quantity"][0]["message"]


def test_the_document_types_of_line_values_are_enforced_where_the_engine_would_coerce(
    boss: Caller, contacts: list[int],
) -> None:
    answer = boss.post("/quote", {"name": "typed", "reviewers": [contacts[0]],
                                  "items": [{"product": "x", "quantity": "2"}]})
    errors = refused(answer)
    assert errors == {"items.0.quantity": ["type"]}
    assert "whole number" in answer.get_json()["errors"]["items.0.quantity"][0]["message"]
    repeated = boss.post("/quote", {"name": "twice", "reviewers": [contacts[0], contacts[0]]})
    assert refused(repeated) == {"reviewers": ["type"]}
    assert "repeated" in repeated.get_json()["errors"]["reviewers"][0]["message"]
    text_id = boss.post("/quote", {"name": "text id", "reviewers": [str(contacts[0])]})
    assert refused(text_id) == {"reviewers": ["type"]}


def test_a_line_of_another_record_is_refused(boss: Caller, contacts: list[int]) -> None:
    one = created(boss, "quote", {"name": "one", "reviewers": [contacts[0]], "items": [{"product": "mine"}]})
    other = created(boss, "quote", {"name": "other", "reviewers": [contacts[0]], "items": [{"product": "theirs"}]})
    answer = boss.patch(f"/quote/{one['id']}", {"version": one["version"],
                                                "items": [{"id": other["items"][0]["id"], "product": "stolen"}]})
    assert refused(answer) == {"items.0.id": ["line_id"]}
    assert boss.get(f"/quote/{other['id']}").get_json()["items"] == other["items"]


def test_a_new_record_has_no_line_to_name_and_a_new_line_its_mandatory_values(
    boss: Caller, contacts: list[int],
) -> None:
    other = created(boss, "quote", {"name": "lines of", "reviewers": [contacts[0]], "items": [{"product": "x"}]})
    named = boss.post("/quote", {"name": "n", "reviewers": [contacts[0]], "items": [{"id": other["items"][0]["id"]}]})
    assert refused(named) == {"items.0.id": ["line_id"]}
    answer = boss.patch(f"/quote/{other['id']}", {"version": other["version"],
                                                  "items": [{"id": other["items"][0]["id"]}, {"price": "2"}]})
    assert refused(answer) == {"items.1.product": ["mandatory"]}


def test_a_parent_id_in_a_line_is_refused(boss: Caller, contacts: list[int]) -> None:
    one = created(boss, "quote", {"name": "parent", "reviewers": [contacts[0]]})
    answer = boss.post("/quote", {"name": "p", "reviewers": [contacts[0]],
                                  "items": [{"product": "x", "parent_id": one["id"]}]})
    assert refused(answer) == {"items.0.parent_id": ["readonly"]}


def test_a_missing_member_is_refused(boss: Caller, contacts: list[int]) -> None:
    answer = boss.post("/quote", {"name": "ghost", "reviewers": [contacts[0], 2**31 - 1]})
    assert refused(answer) == {"reviewers": ["link"]}


def test_a_hidden_links_characteristic_is_absent_from_output_and_refused_on_input(
    boss: Caller, quoter: Caller, contacts: list[int],
) -> None:
    quote = created(boss, "quote", {"name": "hidden", "reviewers": [contacts[0]], "watchers": [contacts[1]]})
    seen = quoter.get(f"/quote/{quote['id']}").get_json()
    assert "watchers" not in seen and seen["reviewers"] == [contacts[0]]
    listed = quoter.get("/quote").get_json()["items"]
    assert listed and all("watchers" not in row for row in listed)
    answer = quoter.patch(f"/quote/{quote['id']}", {"version": quote["version"], "watchers": [contacts[2]]})
    assert refused(answer) == {"watchers": ["readonly"]}
    assert refused(quoter.post("/quote", {"name": "n", "reviewers": [contacts[0]], "watchers": []})) == {
        "watchers": ["readonly"]}
    assert boss.get(f"/quote/{quote['id']}").get_json()["watchers"] == [contacts[1]]
    filtered = quoter.get(f"/quote?f_watchers={contacts[1]}")
    assert filtered.status_code == 403 and "watchers" in filtered.get_json()["message"]


# -- batches ---------------------------------------------------------------------------------------


def test_a_batch_writes_members_and_lines_and_names_refused_lines_by_index(boss: Caller, contacts: list[int]) -> None:
    answer = boss.post("/quote/batch", {"records": [
        {"name": "b1", "reviewers": [contacts[0]], "items": [{"product": "x", "price": "1.5"}]},
        {"name": "b2", "reviewers": contacts[:2]},
    ]})
    assert answer.status_code == 201, answer.get_json()
    first, second = (boss.get(f"/quote/{item['id']}").get_json() for item in answer.get_json()["items"])
    assert first["items"][0]["price"] == "1.50" and second["reviewers"] == contacts[:2]
    bad = boss.post("/quote/batch", {"records": [
        {"name": "ok", "reviewers": [contacts[0]]},
        {"name": "too many", "reviewers": contacts[:4]},
        {"name": "bad line", "reviewers": [contacts[0]],
         "items": [{"product": "x"}, {"quantity": "3", "product": "y"}]},
        {"name": "bad quantity", "reviewers": [contacts[0]], "items": [{"product": "x", "quantity": 0}]},
    ]})
    assert bad.status_code == 422, bad.get_json()
    by_index = {row["index"]: {k: [p["rule"] for p in v] for k, v in row["errors"].items()}
                for row in bad.get_json()["errors"]}
    assert by_index == {1: {"reviewers": ["max_count"]}, 2: {"items.1.quantity": ["type"]},
                        3: {"items.0.quantity": ["min"]}}


def test_a_batch_change_replaces_lines(boss: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "bc", "reviewers": [contacts[0]], "items": [{"product": "x"}]})
    answer = boss.patch("/quote/batch", {"records": [
        {"id": quote["id"], "version": quote["version"], "items": [{"product": "y"}, quote["items"][0]]}]})
    assert answer.status_code == 200, answer.get_json()
    assert [line["product"] for line in boss.get(f"/quote/{quote['id']}").get_json()["items"]] == ["y", "x"]


# -- lists: paths through links and links filters ------------------------------------------------


@pytest.fixture(scope="module")
def places(boss: Caller, contacts: list[int]) -> dict[str, Any]:
    """Two countries, a region and a site in each, rooms of capacity 2, 5 and 9, and a booking in each
    room (the one in the 9-seat room with the first two contacts)."""
    made: dict[str, Any] = {"countries": [], "sites": [], "rooms": [], "bookings": []}
    for name in ("France", "Italy"):
        country = created(boss, "country", {"name": name})
        region = created(boss, "region", {"name": f"{name} region", "country": country["id"]})
        made["countries"].append(country["id"])
        made["sites"].append(created(boss, "site", {"name": f"{name} site", "region": region["id"]})["id"])
    for capacity, site in ((2, 0), (5, 1), (9, 0)):
        room = created(boss, "room", {"name": f"Room {capacity}", "site": made["sites"][site], "access_mode": "free",
                                      "capacity": capacity})
        made["rooms"].append(room["id"])
        attendees = contacts[:2] if capacity == 9 else []
        made["bookings"].append(created(boss, "booking", {"subject": f"in {capacity}", "room": room["id"],
                                                          "attendees": attendees})["id"])
    return made


def lone_site(boss: Caller, name: str) -> int:
    """A site of its own region (no country), for rooms that other tests' counts must not see."""
    region = created(boss, "region", {"name": f"{name} region"})
    return created(boss, "site", {"name": f"{name} site", "region": region["id"]})["id"]


def in_places(places: dict[str, Any]) -> str:
    """The filter keeping the bookings of `places` only."""
    return "&".join(f"f_room.site.region.country={country}" for country in places["countries"])


def subjects(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.get_json()
    return [row["subject"] for row in answer.get_json()["items"]]


def test_filters_on_paths_and_on_links(boss: Caller, places: dict[str, Any], contacts: list[int]) -> None:
    france, italy = places["countries"]
    assert subjects(boss.get(f"/booking?f_room.site.region.country={italy}&sort=subject")) == ["in 5"]
    assert subjects(boss.get(f"/booking?f_room.site.region.country={france}&sort=subject")) == ["in 2", "in 9"]
    assert subjects(boss.get(f"/booking?f_room.site={places['sites'][1]}")) == ["in 5"]
    assert subjects(boss.get(f"/booking?f_attendees={contacts[1]}")) == ["in 9"]
    assert subjects(boss.get(f"/booking?f_attendees={contacts[4]}&f_attendees={contacts[0]}")) == ["in 9"]
    assert subjects(boss.get(f"/booking?f_attendees={contacts[4]}")) == []


@pytest.mark.parametrize(("query", "expected"), [
    ("f_room.capacity_min=5", ["in 5", "in 9"]), ("f_room.capacity_min=6", ["in 9"]),
    ("f_room.capacity_max=5", ["in 2", "in 5"]), ("f_room.capacity_max=4", ["in 2"]),
    ("f_room.capacity_min=5&f_room.capacity_max=5", ["in 5"]), ("f_room.capacity=9", ["in 9"]),
    ("f_room.site.name=Italy", ["in 5"]),
])
def test_ranges_on_paths_from_bound_to_one_past(boss: Caller, places: dict[str, Any], query: str,
                                                expected: list[str]) -> None:
    assert subjects(boss.get(f"/booking?view=bookings_by_room&{query}&{in_places(places)}")) == expected


def test_sorts_on_paths_walk_with_keyset_cursors(boss: Caller, places: dict[str, Any]) -> None:
    only = in_places(places)
    assert subjects(boss.get(f"/booking?view=bookings_by_room&sort=-room.capacity&{only}")) == ["in 9", "in 5", "in 2"]
    assert subjects(boss.get(f"/booking?sort=-room.site.name,subject&{only}")) == ["in 5", "in 2", "in 9"]
    first = boss.get(f"/booking?sort=room.capacity&size=2&{only}").get_json()
    assert [row["subject"] for row in first["items"]] == ["in 2", "in 5"]
    rest = boss.get(f"/booking?sort=room.capacity&size=2&{only}&after={first['next_after']}")
    assert subjects(rest) == ["in 9"]


def test_a_list_row_carries_path_columns_and_members(boss: Caller, places: dict[str, Any], contacts: list[int]) -> None:
    rows = boss.get("/booking?sort=subject").get_json()["items"]
    nine = next(row for row in rows if row["subject"] == "in 9")
    assert nine["attendees"] == contacts[:2]
    assert nine["room.site.name"] == "France site"


def test_a_path_parameter_the_views_do_not_name_is_refused_as_the_document_says(boss: Caller) -> None:
    answer = boss.get("/booking?sort=attendees")
    assert answer.status_code == 400 and "sort" in answer.get_json()["errors"]
    assert boss.get("/booking?f_meals=1").status_code == 400


def conforms(caller: Caller, component: str, instance: Any) -> list[str]:
    """What the document's `component` schema refuses in `instance` (its $refs resolved)."""
    from jsonschema import Draft202012Validator

    document = caller.get("/openapi.json").get_json()
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(instance)]


def test_answers_fit_the_document(boss: Caller, places: dict[str, Any], contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "doc", "reviewers": [contacts[0]],
                                    "items": [{"product": "x", "price": "2.5", "delivery": "2026-01-02"}]})
    assert conforms(boss, "Quote", quote) == []
    assert conforms(boss, "QuotePage", boss.get("/quote").get_json()) == []
    assert conforms(boss, "BookingPage", boss.get("/booking").get_json()) == []
    assert conforms(boss, "BookingPage", boss.get("/booking?view=bookings_by_room").get_json()) == []



# -- related records -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def booker(rel_app: Flask) -> Caller:
    return make_caller(rel_app, "rel.booker", ("own_booker",))


def test_the_document_has_one_path_per_relation(boss: Caller, model: Model) -> None:
    document = boss.get("/openapi.json").get_json()
    for entity in ("room", "contact", "site", "account"):
        paths = {path.rsplit("/", 1)[1] for path in document["paths"] if path.startswith(f"/{entity}/{{id}}/related/")}
        assert paths == {r.name for r in model.relations(entity)}
    operation = document["paths"]["/room/{id}/related/booking_room"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BookingPage"}
    names = {p["name"] for p in operation["parameters"]}
    assert {"sort", "size", "after", "total", "f_subject", "f_attendees", "f_room.site"} <= names


def test_related_records_of_a_link_and_of_links(boss: Caller, places: dict[str, Any], contacts: list[int]) -> None:
    nine = places["rooms"][2]
    assert subjects(boss.get(f"/room/{nine}/related/booking_room")) == ["in 9"]
    assert subjects(boss.get(f"/room/{places['rooms'][0]}/related/booking_backup_room")) == []
    assert subjects(boss.get(f"/contact/{contacts[0]}/related/booking_attendees")) == ["in 9"]
    assert subjects(boss.get(f"/contact/{contacts[4]}/related/booking_attendees")) == []
    rooms = boss.get(f"/site/{places['sites'][0]}/related/rooms?sort=-capacity").get_json()
    assert [row["name"] for row in rooms["items"]] == ["Room 9", "Room 2"] and rooms["total"] == 2


def test_related_records_page_filter_and_count_as_lists_do(boss: Caller, places: dict[str, Any]) -> None:
    site = places["sites"][0]
    first = boss.get(f"/site/{site}/related/rooms?sort=capacity&size=1").get_json()
    assert [row["name"] for row in first["items"]] == ["Room 2"] and first["total"] == 2 and first["pages"] == 2
    second = boss.get(f"/site/{site}/related/rooms?sort=capacity&size=1&after={first['next_after']}").get_json()
    assert [row["name"] for row in second["items"]] == ["Room 9"] and second["next_after"] is None
    assert boss.get(f"/site/{site}/related/rooms?f_capacity_min=9&total=none").get_json()["total"] is None
    assert [row["name"] for row in boss.get(f"/site/{site}/related/rooms?f_capacity_min=9").get_json()["items"]] == [
        "Room 9"]
    bad = boss.get(f"/site/{site}/related/rooms?sort=nothing")
    assert bad.status_code == 400 and "sort" in bad.get_json()["errors"]


def test_an_unknown_relation_is_not_found_naming_the_known_ones(boss: Caller, places: dict[str, Any],
                                                                 model: Model) -> None:
    answer = boss.get(f"/room/{places['rooms'][0]}/related/bookings")
    assert answer.status_code == 404
    message = answer.get_json()["message"]
    assert all(r.name in message for r in model.relations("room")) and "'bookings'" in message
    assert boss.get(f"/meal/1/related/booking_room").status_code == 404


def test_related_records_of_a_record_the_caller_may_not_read_are_not_found(
    boss: Caller, booker: Caller, places: dict[str, Any],
) -> None:
    assert booker.get(f"/room/{places['rooms'][0]}/related/booking_room").status_code == 404
    assert boss.get("/room/999999/related/booking_room").status_code == 404
    own = created(booker, "room", {"name": "Mine", "site": lone_site(boss, "Own"), "access_mode": "free",
                                   "capacity": 4})
    created(booker, "booking", {"subject": "my booking", "room": own["id"]})
    created(boss, "booking", {"subject": "boss booking", "room": own["id"]})
    assert subjects(booker.get(f"/room/{own['id']}/related/booking_room")) == ["my booking"]
    assert sorted(subjects(boss.get(f"/room/{own['id']}/related/booking_room"))) == ["boss booking", "my booking"]

def test_related_pages_fit_the_document(boss: Caller, places: dict[str, Any], contacts: list[int]) -> None:
    related = boss.get(f"/room/{places['rooms'][2]}/related/booking_room").get_json()
    assert related["items"] and conforms(boss, "BookingPage", related) == []
    by_contact = boss.get(f"/contact/{contacts[0]}/related/booking_attendees").get_json()
    assert by_contact["items"] and conforms(boss, "BookingPage", by_contact) == []


def test_related_addresses_answer_their_methods_and_speak_french(
    boss: Caller, places: dict[str, Any], model: Model,
) -> None:
    address = f"/api/v1/room/{places['rooms'][0]}/related/booking_room"
    options = boss.client.options(address, headers=boss.headers())
    assert options.status_code == 200 and options.headers["Allow"] == "GET, HEAD, OPTIONS"
    posted = boss.client.post(address, headers=boss.headers(), json={})
    assert posted.status_code == 405 and posted.headers["Allow"] == "GET, HEAD, OPTIONS"
    french = Caller(boss.client, boss.token, boss.user_id, "fr")
    answer = french.get(f"/room/{places['rooms'][0]}/related/reservations")
    assert answer.status_code == 404
    assert answer.get_json()["message"] == (
        "Salle n'a pas d'enregistrements liés « reservations » ; connus : "
        + ", ".join(r.name for r in model.relations("room")) + ".")


def test_groups_on_a_path(boss: Caller, places: dict[str, Any]) -> None:
    answer = boss.get("/booking?group=room.access_mode")
    assert answer.status_code == 200, answer.get_json()
    groups = {group["value"]: group["count"] for group in answer.get_json()["groups"]}
    assert groups == {"free": answer.get_json()["total"]} and groups["free"] >= 3  # every room is free
    controlled = created(boss, "room", {"name": "Guarded", "site": lone_site(boss, "Guarded"),
                                        "access_mode": "controlled"})
    created(boss, "booking", {"subject": "guarded", "room": controlled["id"], "badge": True})
    again = boss.get("/booking?group=room.access_mode").get_json()
    assert {group["value"]: group["count"] for group in again["groups"]} == {"free": groups["free"], "controlled": 1}


LINKS_PROBES = (None, [], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 1], [1, 1.0], [0], [2**31], ["1"], [True],
                [1.0, 2.0], "1", 1, {"a": 1}, [[1]], [None])


def test_the_fast_value_checks_of_links_agree_with_the_document(boss: Caller, model: Model) -> None:
    from jsonschema import Draft202012Validator

    from ui_renderer.api.value_checks import compile_schema

    schemas = boss.get("/openapi.json").get_json()["components"]["schemas"]
    checked = 0
    for component, entity in (("QuoteInput", "quote"), ("QuoteBatchChange", "quote"), ("BookingInput", "booking")):
        for f in model.entity(entity).fields:
            if f.type != "links":
                continue
            part = schemas[component]["properties"][f.name]
            predicate = compile_schema(part)
            assert predicate is not None, (component, f.name)
            validator = Draft202012Validator(part)
            for value in LINKS_PROBES:
                if predicate(value):  # sure: the document accepts it
                    assert validator.is_valid(value), (f.name, value)
                elif isinstance(value, list) and all(type(item) is int for item in value):
                    assert not validator.is_valid(value), (f.name, value)  # ids: never left to jsonschema
                checked += 1
    assert checked == 5 * len(LINKS_PROBES)
    assert compile_schema(schemas["QuoteInput"]["properties"]["items"]) is None  # lines: the document judges


def test_null_for_a_collection_that_must_hold_one_is_the_engines_count_rule(boss: Caller, contacts: list[int]) -> None:
    assert refused(boss.post("/quote", {"name": "null", "reviewers": None})) == {"reviewers": ["min_count"]}
    quote = created(boss, "quote", {"name": "nulls", "reviewers": [contacts[0]], "watchers": [contacts[1]],
                                    "items": [{"product": "x"}]})
    emptied = boss.patch(f"/quote/{quote['id']}", {"version": quote["version"], "watchers": None, "items": None})
    assert emptied.status_code == 200, emptied.get_json()
    assert emptied.get_json()["watchers"] == [] and emptied.get_json()["items"] == []


# -- copies ------------------------------------------------------------------------------------


def test_a_copy_is_a_new_record_with_the_lines_and_members_and_the_values_given(
        boss: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "Original", "reviewers": [contacts[0], contacts[1]],
                                    "watchers": [contacts[2]],
                                    "items": [{"product": "desk", "price": "120.50", "quantity": 2},
                                              {"product": "chair"}]})
    answer = boss.post(f"/quote/{quote['id']}/copy", {"values": {"name": "Revision 2"}})
    assert answer.status_code == 201, answer.get_json()
    copy = answer.get_json()
    assert answer.headers["Location"].endswith(f"/quote/{copy['id']}") and copy["id"] != quote["id"]
    assert copy["name"] == "Revision 2"
    assert (copy["reviewers"], copy["watchers"]) == (quote["reviewers"], quote["watchers"])
    same = [{k: v for k, v in line.items() if k != "id"} for line in copy["items"]]
    assert same == [{k: v for k, v in line.items() if k != "id"} for line in quote["items"]]
    assert not {line["id"] for line in copy["items"]} & {line["id"] for line in quote["items"]}
    assert boss.get(f"/quote/{quote['id']}").get_json() == quote  # the original is untouched
    plain = boss.post(f"/quote/{quote['id']}/copy", None)
    assert plain.status_code == 201 and plain.get_json()["name"] == "Original"


def test_a_copy_leaves_out_what_the_caller_may_not_read(boss: Caller, quoter: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "Watched", "reviewers": [contacts[0]], "watchers": [contacts[3]]})
    answer = quoter.post(f"/quote/{quote['id']}/copy", {})
    assert answer.status_code == 201, answer.get_json()
    assert "watchers" not in answer.get_json()
    assert boss.get(f"/quote/{answer.get_json()['id']}").get_json()["watchers"] == []


def test_a_copy_is_refused_with_the_words_of_a_create(boss: Caller, contacts: list[int]) -> None:
    quote = created(boss, "quote", {"name": "Source", "reviewers": [contacts[0]]})
    assert boss.post("/quote/999999/copy", {}).status_code == 404
    assert boss.post(f"/quote/{quote['id']}/copy", {"value": {}}).status_code == 400  # a misspelt envelope
    as_create = boss.post("/quote", {"name": 3, "reviewers": [contacts[0]]})
    as_copy = boss.post(f"/quote/{quote['id']}/copy", {"values": {"name": 3}})
    assert (as_copy.status_code, as_copy.get_json()) == (as_create.status_code, as_create.get_json()) != (201, None)
    assert refused(boss.post(f"/quote/{quote['id']}/copy", {"values": {"reviewers": contacts[:4]}})) == {
        "reviewers": ["max_count"]}
