"""The iCalendar plugin (plugins/icalendar_export.py): events to one VCALENDAR, parsed back with icalendar."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Iterator

import icalendar
import pytest

from engine import SYSTEM_ACTOR, Actor
from engine.exchange.export_values import ExportRow
from engine.exchange.exporter import Export, export_formats
from plugins.icalendar_export import event_component, write_calendar
from plugins.host.registry import export_formats as registered_exports

UTC = dt.timezone.utc


@pytest.fixture
def engine(make_engine, base_model, clock):
    clock.now = dt.datetime(2026, 3, 2, 8, 0)
    return make_engine(base_model, clock=clock)


@pytest.fixture
def events(engine) -> dict[str, int]:
    account = engine.records.create("account", {"name": "Acme"}, SYSTEM_ACTOR)
    rows = [
        {"subject": "Kick-off, phase 1; Acme", "event_type": "meeting", "starts_at": "2026-03-02T09:00:00",
         "ends_at": "2026-03-02T10:30:00", "location": "Paris, room 4", "private": True, "account": account["id"],
         "description": "<p>Agenda:</p><ul><li>scope</li><li>budget &amp; dates</li></ul>"},
        {"subject": "Call back", "event_type": "phone_call", "starts_at": "2026-03-03T14:00:00"},
        {"subject": "Zero length", "event_type": "demo", "starts_at": "2026-03-04T09:00:00",
         "ends_at": "2026-03-04T09:00:00"},
        {"subject": "One second", "event_type": "demo", "starts_at": "2026-03-05T09:00:00",
         "ends_at": "2026-03-05T09:00:01"},
    ]
    ids = engine.records.create_many("event", rows, SYSTEM_ACTOR)
    return dict(zip(("kickoff", "call", "zero", "second"), ids))


def export_ics(engine, actor: Actor = SYSTEM_ACTOR, args: dict | None = None) -> bytes:
    request = engine.records.list_request("event", {"sort": ["starts_at"], **(args or {})})
    return b"".join(Export(engine, "event", request, actor, format="icalendar").iter_bytes())


def vevents(data: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_the_plugin_registers_icalendar_for_events_only(pm, engine):
    found = registered_exports(pm)["icalendar"]
    assert (found.extension, found.media_type) == ("ics", "text/calendar")
    assert "icalendar" in export_formats(engine, "event") and "icalendar" not in export_formats(engine, "contact")


def test_events_become_one_calendar_parsed_back_by_icalendar(engine, events):
    data = export_ics(engine, Actor(system=True, lang="fr"))
    calendar = icalendar.Calendar.from_ical(data)
    assert (str(calendar["version"]), str(calendar["prodid"])) == ("2.0", "-//Ossature//Ossature export//EN")
    kickoff, call, zero, second = calendar.walk("VEVENT")
    assert str(kickoff["uid"]) == f"event-{events['kickoff']}@ossature"
    assert str(kickoff["summary"]) == "Kick-off, phase 1; Acme"
    assert kickoff.decoded("dtstart") == dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert kickoff.decoded("dtend") == dt.datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert str(kickoff["location"]) == "Paris, room 4"
    assert str(kickoff["description"]) == "Agenda:\nscope\nbudget & dates"
    assert [str(c) for c in kickoff["categories"].cats] == ["Rendez-vous"]  # the type's label, in French
    assert str(kickoff["class"]) == "PRIVATE" and str(call["class"]) == "PUBLIC"
    assert kickoff.decoded("dtstamp") == dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # when it was last changed
    assert "status" not in kickoff  # the base pack's events have no workflow
    assert "dtend" not in call and "description" not in call and "location" not in call


def test_an_end_is_written_only_after_the_start(engine, events):
    by_summary = {str(e["summary"]): e for e in vevents(export_ics(engine))}
    assert "dtend" not in by_summary["Zero length"]  # ends when it starts: no DTEND (RFC 5545 allows it)
    assert by_summary["One second"].decoded("dtend") == dt.datetime(2026, 3, 5, 9, 0, 1, tzinfo=UTC)


def test_uids_and_the_whole_file_are_stable_across_exports(engine, events, clock):
    first = export_ics(engine)
    clock.advance(days=3)
    assert export_ics(engine) == first
    engine.records.update("event", events["call"], {"location": "Lyon"}, SYSTEM_ACTOR)
    again = {str(e["uid"]): e for e in vevents(export_ics(engine))}
    changed = again[f"event-{events['call']}@ossature"]
    assert str(changed["location"]) == "Lyon"
    assert changed.decoded("last-modified") == dt.datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def test_the_list_filters_choose_the_events(engine, events):
    found = vevents(export_ics(engine, args={"f_event_type": ["demo"]}))
    assert [str(e["summary"]) for e in found] == ["Zero length", "One second"]


def test_an_empty_list_is_a_valid_empty_calendar(engine, events):
    data = export_ics(engine, args={"q": ["nothing like it"]})
    assert vevents(data) == [] and icalendar.Calendar.from_ical(data)["version"] == "2.0"


def test_only_events_in_the_actors_scope(engine, events):
    users = engine.records.create_many("user", [{"username": "sue", "display_name": "Sue"}], SYSTEM_ACTOR)
    engine.records.create("event", {"subject": "Sue's", "starts_at": "2026-04-01T09:00:00", "assigned_to": users[0]},
                          SYSTEM_ACTOR)
    sue = Actor(user_id=users[0], username="sue", roles=frozenset({"sales"}))
    assert [str(e["summary"]) for e in vevents(export_ics(engine, sue))] == ["Sue's"]


@pytest.mark.parametrize(("code", "status"), [("confirmed", "CONFIRMED"), ("tentative", "TENTATIVE"),
                                              ("cancelled", "CANCELLED"), ("canceled", "CANCELLED"),
                                              ("planned", None), (None, None)])
def test_a_workflow_status_maps_to_the_icalendar_status_when_it_means_one(code, status):
    stamp = dt.datetime(2026, 1, 1, 9, 0)
    row = ExportRow({"id": 7, "subject": "Review", "starts_at": stamp},
                    {"id": 7, "status": code, "updated_at": stamp, "created_at": stamp})
    event = icalendar.Event.from_ical(event_component(row).to_ical())
    assert event.get("status") == status
    assert str(event["uid"]) == "event-7@ossature"


def test_the_calendar_is_written_event_by_event():
    """The calendar's opening lines go out before the first row is asked for, then one event per row."""
    pulled: list[int] = []
    written_before: list[int] = []

    class Stream(io.BytesIO):
        def write(self, data):  # type: ignore[override]
            written_before.append(len(pulled))
            return super().write(data)

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(3):
            pulled.append(i)
            yield {"id": i + 1, "subject": f"E{i}", "starts_at": dt.datetime(2026, 1, 1 + i, 9)}

    stream = Stream()
    write_calendar(stream, ["subject", "starts_at"], rows())
    assert written_before == [0, 1, 2, 3, 3]
    assert [str(e["summary"]) for e in vevents(stream.getvalue())] == ["E0", "E1", "E2"]


# -- people: ATTENDEE and ORGANIZER ------------------------------------------------------------------


@pytest.fixture
def people(engine, events) -> dict[str, int]:
    contacts = engine.records.create_many("contact", [
        {"first_name": "Ann", "last_name": "Durand", "email": "ann.durand@acme.fr"},
        {"first_name": "Bob", "last_name": "Martin", "email": "BOB@acme.fr"},
        {"first_name": "Carl", "last_name": "Nomail"},
    ], SYSTEM_ACTOR)
    users = engine.records.create_many("user", [
        {"username": "claire", "display_name": "Claire Martin", "email": "claire@ossature-demo.com"},
    ], SYSTEM_ACTOR)
    engine.records.update("event", events["kickoff"], {"attendees": contacts, "participants": users,
                                                       "assigned_to": users[0]}, SYSTEM_ACTOR)
    return {"ann": contacts[0], "bob": contacts[1], "carl": contacts[2], "claire": users[0]}


def addresses(event: Any, name: str = "attendee") -> list[tuple[str, dict[str, str]]]:
    found = event.get(name)
    found = found if isinstance(found, list) else [] if found is None else [found]
    return [(str(address), dict(address.params)) for address in found]


def test_attendees_and_participants_are_written_with_their_email_and_name(engine, events, people):
    by_summary = {str(e["summary"]): e for e in vevents(export_ics(engine))}
    kickoff = by_summary["Kick-off, phase 1; Acme"]
    participant = {"ROLE": "REQ-PARTICIPANT"}
    assert addresses(kickoff) == [  # contacts first, then colleagues; Carl has no email: no address
        ("mailto:ann.durand@acme.fr", {"CN": "Ann Durand", **participant}),
        ("mailto:BOB@acme.fr", {"CN": "Bob Martin", **participant}),
        ("mailto:claire@ossature-demo.com", {"CN": "Claire Martin", **participant}),
    ]
    assert addresses(kickoff, "organizer") == [("mailto:claire@ossature-demo.com", {"CN": "Claire Martin"})]
    assert "attendee" not in by_summary["Call back"] and "organizer" not in by_summary["Call back"]


def test_attendees_the_exporter_may_not_read_are_not_written(engine, events, people):
    """Sales read the contacts of their team only: an attendee out of it is not written (its
    email is not theirs to read), whatever the event's other attendees."""
    engine.records.update("user", people["claire"], {"team": "sales_france"}, SYSTEM_ACTOR)
    engine.records.update("contact", people["ann"], {"assigned_to": people["claire"]}, SYSTEM_ACTOR)
    seller = Actor(user_id=people["claire"], username="claire", team="sales_france", roles=frozenset({"sales"}))
    (kickoff,) = vevents(export_ics(engine, seller))  # the event of Claire's team
    assert [address for address, _ in addresses(kickoff)] == [
        "mailto:ann.durand@acme.fr", "mailto:claire@ossature-demo.com"]  # Bob belongs to no one of the team


def test_plain_rows_fall_back_on_the_cells_naming_members_by_email():
    stamp = dt.datetime(2026, 1, 1, 9, 0)
    row = ExportRow({"id": 9, "subject": "Review", "starts_at": stamp,
                     "attendees": ("ann@acme.fr", "Carl Nomail", "#12"), "participants": ("claire",),
                     "assigned_to": "claire"}, {"id": 9, "updated_at": stamp})
    event = icalendar.Event.from_ical(event_component(row).to_ical())
    assert addresses(event) == [("mailto:ann@acme.fr", {"ROLE": "REQ-PARTICIPANT"})]  # user names are not addresses
    assert "organizer" not in event


def test_members_records_give_names_an_organizer_and_no_address_twice():
    stamp = dt.datetime(2026, 1, 1, 9, 0)
    members = {
        "attendees": [{"id": 1, "email": "ann@acme.fr", "first_name": "Ann", "last_name": "Durand, Jr"},
                      {"id": 2, "email": None, "first_name": "Carl", "last_name": "Nomail"},
                      {"id": 3, "email": "not an email", "last_name": "Odd"}],
        "participants": [{"id": 7, "email": "claire@ossature.com", "display_name": "Claire Martin"},
                         {"id": 8, "email": "ANN@acme.fr", "display_name": "Ann (also a user)"}],
        "assigned_to": [{"id": 7, "email": "claire@ossature.com", "display_name": "Claire Martin"}],
    }
    row = ExportRow({"id": 9, "subject": "Review", "starts_at": stamp}, {"id": 9, "updated_at": stamp}, members)
    event = icalendar.Event.from_ical(event_component(row).to_ical())
    assert addresses(event) == [
        ("mailto:ann@acme.fr", {"CN": "Ann Durand, Jr", "ROLE": "REQ-PARTICIPANT"}),
        ("mailto:claire@ossature.com", {"CN": "Claire Martin", "ROLE": "REQ-PARTICIPANT"}),
    ]
    assert addresses(event, "organizer") == [("mailto:claire@ossature.com", {"CN": "Claire Martin"})]


def test_members_are_read_per_chunk_not_per_event(engine, people):
    """Ten or forty events with attendees: the export runs as many statements."""
    import sqlalchemy as sa

    def statements() -> int:
        seen: list[str] = []

        def record(*args: Any) -> None:
            seen.append(args[2])

        sa.event.listen(engine.db, "before_cursor_execute", record)
        try:
            export_ics(engine)
        finally:
            sa.event.remove(engine.db, "before_cursor_execute", record)
        return len(seen)

    contacts = [people["ann"], people["bob"]]

    def add(count: int) -> None:
        engine.records.create_many("event", [
            {"subject": f"Visit {n}", "starts_at": "2026-04-01T09:00:00", "attendees": contacts,
             "participants": [people["claire"]]} for n in range(count)], SYSTEM_ACTOR)

    add(10)
    few = statements()
    add(30)
    assert statements() == few
    assert sum(len(addresses(e)) == 3 for e in vevents(export_ics(engine))) == 41  # and the kick-off
