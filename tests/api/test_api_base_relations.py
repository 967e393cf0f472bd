"""The base pack's relations through the API, on the demo data: event attendees and participants,
contact lists' members, and the related lists a record's page shows (accounts, contacts, tickets)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from api_support import Caller, make_caller
from engine import Engine


@pytest.fixture(scope="module")
def admin(shared_app: Flask) -> Caller:
    return make_caller(shared_app, "relations.admin", ("admin",))


@pytest.fixture(scope="module")
def engine(shared_app: Flask) -> Engine:
    return shared_app.extensions["ossature"]


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_event_takes_attendee_contacts_and_participant_users(admin: Caller, engine: Engine) -> None:
    contacts = [row["id"] for row in items(admin.get("/contact?size=3&sort=id"))]
    users = [row["id"] for row in items(admin.get("/user?size=2&sort=id"))]
    created = admin.post("/event", {"subject": "Steering committee", "starts_at": "2026-03-02T09:00:00Z",
                                    "attendees": [contacts[2], contacts[0]], "participants": users})
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    assert (event["attendees"], event["participants"]) == (sorted(contacts[::2]), sorted(users))
    assert "related_entity" not in event and "related_id" not in event

    listed = items(admin.get(f"/event?f_attendees={contacts[2]}&size=100"))
    assert event["id"] in [row["id"] for row in listed]
    attended = items(admin.get(f"/contact/{contacts[0]}/related/attended_events"))
    assert [row["id"] for row in attended if row["id"] == event["id"]] == [event["id"]]

    refused = admin.post("/event", {"subject": "x", "starts_at": "2026-03-02T09:00:00Z", "attendees": [999_999]})
    assert refused.status_code == 422 and "attendees" in refused.get_json()["errors"]


def test_contact_lists_show_on_their_members_pages(admin: Caller) -> None:
    listed = items(admin.get("/contact_list?sort=name"))
    lists = [admin.get(f"/contact_list/{row['id']}").get_json() for row in listed]
    assert len(lists) == 6 and all(row["members"] for row in lists)
    member = lists[0]["members"][0]
    on_contact = items(admin.get(f"/contact/{member}/related/contact_lists"))
    assert lists[0]["id"] in [row["id"] for row in on_contact]


def test_an_account_lists_its_subsidiaries_and_a_ticket_what_follows_it_up(admin: Caller, engine: Engine) -> None:
    subsidiary = next(row for row in items(admin.get("/account?size=100&sort=-id")) if row["parent"])
    under = items(admin.get(f"/account/{subsidiary['parent']}/related/subsidiaries"))
    assert subsidiary["id"] in [row["id"] for row in under]
    event = next(row for row in items(admin.get("/event?size=200")) if row["ticket"])
    followed = items(admin.get(f"/ticket/{event['ticket']}/related/event_ticket"))
    assert event["id"] in [row["id"] for row in followed]
