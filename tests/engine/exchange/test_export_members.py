"""The records a row's links name, for a format that writes more of them than their names
(`ExportFormat.member_fields`: an iCalendar ATTENDEE needs the contact's email and name), read
for a whole chunk of rows (engine/exchange/export_values.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR
from engine.exchange.export_values import ReadableValues, export_columns

FIELDS = {"attendees": ("email", "first_name", "last_name"), "assigned_to": ("email", "display_name", "nothing")}


@pytest.fixture
def engine(make_engine):
    return make_engine(metamodel.load_model([metamodel.BASE_PACK]))


def contact(engine, first: str, last: str) -> int:
    return engine.records.create("contact", {"first_name": first, "last_name": last,
                                             "email": f"{first.lower()}@example.org"}, SYSTEM_ACTOR)["id"]


def events(engine, count: int, attendees: list[int], owner: int) -> list[dict]:
    ids = engine.records.create_many("event", [
        {"subject": f"Meeting {i}", "starts_at": dt.datetime(2026, 12, 1, 9) + dt.timedelta(days=i),
         "attendees": attendees, "assigned_to": owner} for i in range(count)], SYSTEM_ACTOR)
    return [engine.records.get("event", i) for i in ids]


def readable(engine) -> ReadableValues:
    entity = engine.model.entity("event")
    columns = export_columns(engine.model, entity, ["subject", "attendees", "assigned_to"], "en")
    return ReadableValues(engine.records, entity, columns, SYSTEM_ACTOR, "en", member_fields=FIELDS)


def test_rows_carry_the_named_records_with_the_fields_asked(engine) -> None:
    ann, bob, gone = contact(engine, "Ann", "Martin"), contact(engine, "Bob", "Durand"), contact(engine, "Gus", "Petit")
    owner = engine.records.create("user", {"username": "claire", "display_name": "Claire Dubois",
                                           "email": "claire@example.org"}, SYSTEM_ACTOR)["id"]
    (event,) = events(engine, 1, [bob, ann, gone], owner)
    engine.records.delete("contact", gone, SYSTEM_ACTOR)  # in the trash: not an attendee to write

    (row,) = readable(engine).rows([event])

    assert row.members["attendees"] == [
        {"id": ann, "email": "ann@example.org", "first_name": "Ann", "last_name": "Martin"},
        {"id": bob, "email": "bob@example.org", "first_name": "Bob", "last_name": "Durand"}]
    assert row.members["assigned_to"] == [{"id": owner, "email": "claire@example.org", "display_name": "Claire Dubois"}]
    assert row["attendees"] == ("ann@example.org", "bob@example.org", "gus@example.org")  # the cell as before


def test_a_format_asking_nothing_gets_rows_without_members(engine) -> None:
    ann = contact(engine, "Ann", "Martin")
    (event,) = events(engine, 1, [ann], None)
    entity = engine.model.entity("event")
    plain = ReadableValues(engine.records, entity, export_columns(engine.model, entity, ["attendees"], "en"),
                           SYSTEM_ACTOR, "en")
    assert plain.rows([event])[0].members == {}


@pytest.mark.parametrize("count", [1, 40])
def test_the_members_of_a_chunk_take_one_query_per_target(engine, count: int) -> None:
    people = [contact(engine, f"P{i}", "Member") for i in range(3)]
    chunk = events(engine, count, people, None)
    statements: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", listen)
    try:
        rows = readable(engine).rows(chunk)
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", listen)
    assert all(len(row.members["attendees"]) == 3 for row in rows)
    assert len([s for s in statements if "first_name" in s and "ent_contact" in s]) == 1
