"""iCalendar export of events, through the icalendar library (RFC 5545).

One VCALENDAR holding a VEVENT per event, written event by event so a large export never
holds the whole calendar: the calendar's own lines first, then each event as its row
comes, then the closing line. Date-times are stored in UTC, so they are written in UTC
(`...Z`). Each event keeps the same UID across exports (`event-<id>@ossature`), so a
calendar that imports the file again updates its events instead of duplicating them.

People: each attendee (`attendees`, contacts) and internal participant (`participants`,
users) with an email address becomes an ATTENDEE (`mailto:`, its name as CN), and the person
in charge (`assigned_to`) the ORGANIZER. The format asks the export for their email and name
fields (`ExportFormat.member_fields`): the export reads them for a whole chunk of events at
once (one query per chunk and target, never one per event), in the actor's scope, so a
member the actor may not read, or whose email is hidden from them, is not written. A row
without those records (a caller of `event_component` giving plain rows) falls back on the
cells, which name members as an export does (a contact by its natural key, its email
address): those named by an email address are written, without a CN. Members without an
email address cannot be calendar addresses and are left out.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, BinaryIO, Iterable, Mapping, Sequence

import icalendar

from plugins.api import ExportFormat, hookimpl, plain_text

ENTITIES = frozenset({"event"})
MEDIA_TYPE = "text/calendar"
UID_FORMAT = "event-{id}@ossature"
PRODID = "-//Ossature//Ossature export//EN"
END_OF_CALENDAR = b"END:VCALENDAR\r\n"
STATUSES = {"tentative": "TENTATIVE", "confirmed": "CONFIRMED", "cancelled": "CANCELLED", "canceled": "CANCELLED"}
"""Workflow status codes an iCalendar STATUS stands for (an events workflow a pack may add)."""
PEOPLE = ("attendees", "participants")
"""The characteristics whose members attend: the customer's contacts, then the colleagues."""
ORGANIZER = "assigned_to"
NAME_FIELDS = (("display_name",), ("first_name", "last_name"), ("name",))
"""How a member's record is named as CN, first match wins: a user, a contact, anything named."""
MEMBER_FIELDS = ("email", *dict.fromkeys(f for fields in NAME_FIELDS for f in fields))
"""What is read of every person an event names (fields its target lacks are left out)."""
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def write_calendar(stream: BinaryIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    whole = calendar.to_ical()
    stream.write(whole[: -len(END_OF_CALENDAR)])
    for row in rows:
        stream.write(event_component(row).to_ical())
    stream.write(END_OF_CALENDAR)


def event_component(row: Mapping[str, Any]) -> icalendar.Event:
    """A VEVENT from an export row (readable values by characteristic; `stored` for codes and times)."""
    stored: Mapping[str, Any] = getattr(row, "stored", {})
    event = icalendar.Event()
    event.add("uid", UID_FORMAT.format(id=row.get("id")))
    stamp = stored.get("updated_at")
    event.add("dtstamp", _utc(stamp) if isinstance(stamp, dt.datetime) else dt.datetime.now(dt.timezone.utc))
    if isinstance(stored.get("created_at"), dt.datetime):
        event.add("created", _utc(stored["created_at"]))
    if isinstance(stamp, dt.datetime):
        event.add("last-modified", _utc(stamp))
    starts, ends = row.get("starts_at"), row.get("ends_at")
    if isinstance(starts, dt.datetime):
        event.add("dtstart", _utc(starts))
        if isinstance(ends, dt.datetime) and ends > starts:
            event.add("dtend", _utc(ends))
    if row.get("subject"):
        event.add("summary", str(row["subject"]))
    if row.get("location"):
        event.add("location", str(row["location"]))
    description = plain_text(row.get("description"))
    if description:
        event.add("description", description)
    if row.get("event_type"):
        event.add("categories", [str(row["event_type"])])
    if row.get("private") is not None:
        event.add("class", "PRIVATE" if row["private"] else "PUBLIC")
    status = STATUSES.get(str(stored.get("status") or "").lower())
    if status:
        event.add("status", status)
    organizer = people(row, ORGANIZER)
    if organizer:
        event.add("organizer", _address(*organizer[0]))
    written: set[str] = set()
    for name in PEOPLE:
        for email, common_name in people(row, name):
            if email.casefold() not in written:  # a colleague also named as a contact is written once
                written.add(email.casefold())
                event.add("attendee", _address(email, common_name, role="REQ-PARTICIPANT"))
    return event


def people(row: Mapping[str, Any], name: str) -> list[tuple[str, str | None]]:
    """(email, name or None) of the members of `name` (a `links`, or a `link`) that have an email."""
    members = getattr(row, "members", None)
    if isinstance(members, Mapping) and name in members:  # the records, as the format asked for them
        found = [(str(m.get("email") or "").strip(), _common_name(m)) for m in members[name] or ()]
        return [(email, common_name) for email, common_name in found if EMAIL.fullmatch(email)]
    value = row.get(name)
    cells = value if isinstance(value, (list, tuple)) else () if value is None else (value,)
    return [(str(cell), None) for cell in cells if EMAIL.fullmatch(str(cell))]


def _common_name(member: Mapping[str, Any]) -> str | None:
    for fields in NAME_FIELDS:
        words = [str(member[f]).strip() for f in fields if member.get(f)]
        if words:
            return " ".join(words)
    return None


def _address(email: str, common_name: str | None, role: str | None = None) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if common_name:
        address.params["CN"] = icalendar.vText(common_name)
    if role:
        address.params["ROLE"] = icalendar.vText(role)
    return address


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored date-times are naive UTC."""
    if moment.tzinfo is not None:
        return moment.astimezone(dt.timezone.utc)
    return moment.replace(tzinfo=dt.timezone.utc)


@hookimpl
def ossature_export_formats() -> dict[str, ExportFormat]:
    label = {"en": "iCalendar (calendars)", "fr": "iCalendar (agendas)"}
    people = {name: MEMBER_FIELDS for name in (*PEOPLE, ORGANIZER)}
    return {"icalendar": ExportFormat("icalendar", label, "ics", MEDIA_TYPE, write_calendar, entities=ENTITIES,
                                      member_fields=people)}
