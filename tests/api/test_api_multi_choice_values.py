"""A multi_choice characteristic takes a JSON array of codes through the API: a string (one code,
or codes with commas) is a type error, on creation, on PATCH and with a transition."""

from __future__ import annotations

import pytest

from api_support import Caller
from engine import Engine

MULTI_CHOICE_FIELDS = ("tags",)  # the lead's multi_choice characteristics in the base pack


def test_the_lead_has_the_multi_choice_fields_this_test_names(engine: Engine) -> None:
    assert MULTI_CHOICE_FIELDS == tuple(f.name for f in engine.model.entity("lead").fields if f.type == "multi_choice")


@pytest.mark.parametrize("given", ["vip", "vip,newsletter", " ", 7, {"vip": True}, ["vip", 7]])
@pytest.mark.parametrize("name", MULTI_CHOICE_FIELDS)
def test_anything_but_a_list_of_codes_is_refused(admin: Caller, engine: Engine, name: str, given: object) -> None:
    created = admin.post("/lead", {"last_name": "Liste", "phone": "0102030405", name: given})
    assert created.status_code == 422, created.get_json()
    assert created.get_json()["errors"][name][0]["rule"] == "type"
    lead = admin.post("/lead", {"last_name": "Liste", "phone": "0102030405"}).get_json()
    patched = admin.patch(f"/lead/{lead['id']}", {name: given, "version": lead["version"]})
    assert patched.status_code == 422 and patched.get_json()["errors"][name][0]["rule"] == "type"
    moved = admin.post(f"/lead/{lead['id']}/transitions/start_call", {"values": {name: given}, "version": lead["version"]})
    assert moved.status_code == 422
    assert engine.records.get("lead", lead["id"])["status"] == "new"


@pytest.mark.parametrize("name", MULTI_CHOICE_FIELDS)
def test_a_list_of_codes_is_taken(admin: Caller, name: str) -> None:
    created = admin.post("/lead", {"last_name": "Liste", "phone": "0102030405", name: ["vip", "newsletter"]})
    assert created.status_code == 201 and created.get_json()[name] == ["vip", "newsletter"]
