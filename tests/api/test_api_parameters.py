"""Requests are checked against the OpenAPI document: each bad parameter or value names itself.

The cases come from the document itself (every integer query parameter at its bounds and one
past them, every enumerated one with a value it does not list) and from the definitions
(every multi_choice characteristic given a string), so a new parameter or characteristic
is covered without a new test.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from flask import Flask

from api_support import Caller
from metamodel import BASE_PACK, load_model
from ui_renderer.api.openapi import openapi_document

MODEL = load_model([BASE_PACK])
DOCUMENT = openapi_document(MODEL, "/api/v1")
LIST_PATHS = sorted(f"/{name}" for name in MODEL.entities)


def integer_cases() -> Iterator[tuple[str, str, str, bool]]:
    """(path, parameter, value, accepted) for every integer query parameter of every list."""
    for path in LIST_PATHS:
        for parameter in DOCUMENT["paths"][path]["get"]["parameters"]:
            schema = parameter["schema"]
            if schema.get("type") != "integer":
                continue
            low, high = schema["minimum"], schema["maximum"]
            name = parameter["name"]
            yield from ((path, name, str(low), True), (path, name, str(high), True),
                        (path, name, str(low - 1), False), (path, name, str(high + 1), False),
                        (path, name, "x", False), (path, name, "1.5", False))


def enum_cases() -> Iterator[tuple[str, str]]:
    for path in LIST_PATHS:
        for parameter in DOCUMENT["paths"][path]["get"]["parameters"]:
            if "enum" in parameter["schema"]:
                yield path, parameter["name"]


MULTI_CHOICE = sorted((e.name, f.name, MODEL.value_list(f.list).values[0].code)
                      for e in MODEL.entities.values() for f in e.fields if f.type == "multi_choice")


@pytest.mark.parametrize(("path", "name", "value", "accepted"), list(integer_cases()))
def test_integer_parameters_at_their_bounds_and_one_past(
        shared_admin: Caller, path: str, name: str, value: str, accepted: bool) -> None:
    response = shared_admin.get(path, query_string={name: value, "tab": "all"})
    if accepted:
        assert response.status_code == 200, response.get_json()
    else:
        assert response.status_code == 400
        assert list(response.get_json()["errors"]) == [name], "the error names the parameter itself"


@pytest.mark.parametrize(("path", "name"), list(enum_cases()))
def test_a_value_outside_an_enumeration_names_its_parameter(shared_admin: Caller, path: str, name: str) -> None:
    response = shared_admin.get(path, query_string={name: "not-a-listed-value"})
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [name]


def test_size_x_blames_size_in_both_languages(shared_admin: Caller) -> None:
    for lang, words in (("en", "expected a whole number from 1 to 200"),
                        ("fr", "attendu : un nombre entier de 1 à 200")):
        body = shared_admin.get("/lead?size=x", headers={"Accept-Language": lang}).get_json()
        assert body["errors"] == {"size": [{"rule": "query", "message": words}]}


@pytest.mark.parametrize("query", ["sort=", "page=", "size=", "view=", "tab=", "group=", "f_status=", "q="])
def test_an_empty_parameter_is_a_parameter_not_given(shared_admin: Caller, query: str) -> None:
    assert shared_admin.get(f"/lead?{query}").get_json() == shared_admin.get("/lead").get_json()


def test_a_repeated_single_parameter_is_refused(shared_admin: Caller) -> None:
    response = shared_admin.get("/lead?size=5&size=6")
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["size"]


@pytest.mark.parametrize(("entity", "field", "code"), MULTI_CHOICE)
def test_a_multi_choice_value_is_a_list_not_a_string(admin: Caller, entity: str, field: str, code: str) -> None:
    response = admin.post(f"/{entity}", {field: code})
    assert response.status_code == 422
    assert response.get_json()["errors"][field][0]["rule"] == "type"


@pytest.mark.parametrize(("value", "field"), [
    ({"score": "3"}, "score"), ({"do_not_call": "yes"}, "do_not_call"), ({"assigned_to": "1"}, "assigned_to"),
    ({"website": ""}, "website"), ({"sector": ""}, "sector"), ({"budget": " 12"}, "budget"),
])
def test_values_of_the_wrong_json_type_are_refused_naming_the_field(
        admin: Caller, value: dict[str, Any], field: str) -> None:
    response = admin.post("/lead", {"last_name": "Type", "phone": "0102030405", **value})
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]


def test_the_engine_keeps_its_own_words_for_what_it_refuses_too(admin: Caller) -> None:
    body = admin.post("/lead", {"last_name": "", "score": 6, "tags": ["nope"]}).get_json()
    assert body["errors"]["last_name"][0]["rule"] == "mandatory"
    assert body["errors"]["score"] == [{"rule": "max", "message": "Must be at most 5."}]
    assert body["errors"]["tags"][0]["rule"] == "choice"


@pytest.mark.parametrize(("body", "name"), [
    ({"ids": [1], "values": {"sector": "retail"}, "versions": {"1": "2"}}, "versions"),
    ({"ids": [1], "values": {"sector": "retail"}, "extra": 1}, "body"),
    ({"ids": [1.0], "values": {"sector": "retail"}, "versions": None}, "versions"),
])
def test_an_envelope_that_breaks_the_document_answers_400_naming_the_part(
        shared_admin: Caller, body: dict[str, Any], name: str) -> None:
    response = shared_admin.post("/lead/mass-update", body)
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [name]


def test_whole_numbers_written_as_json_floats_are_whole_numbers(app: Flask, admin: Caller) -> None:
    lead = admin.post("/lead", {"last_name": "Float", "phone": "0102030405", "score": 3.0}).get_json()
    assert lead["score"] == 3
    assert admin.patch(f"/lead/{lead['id']}", {"score": 4, "version": 1.0}).status_code == 200
