"""iCalendar export of events, through the icalendar library (RFC 5545).

One VCALENDAR holding a VEVENT per event, written event by event so a large export never
holds the whole calendar: the calendar's own lines first, then each event as its row
comes, then the closing line. Date-times are stored in UTC, so they are written in UTC
(`...Z`). Each event keeps the same UID across exports (`event-<id>@ossature`), so a
calendar that imports the file again updates its events instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
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
    return event


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored date-times are naive UTC."""
    if moment.tzinfo is not None:
        return moment.astimezone(dt.timezone.utc)
    return moment.replace(tzinfo=dt.timezone.utc)


@hookimpl
def ossature_export_formats() -> dict[str, ExportFormat]:
    label = {"en": "iCalendar (calendars)", "fr": "iCalendar (agendas)"}
    return {"icalendar": ExportFormat("icalendar", label, "ics", MEDIA_TYPE, write_calendar, entities=ENTITIES)}
