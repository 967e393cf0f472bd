"""The relations test pack (tests/metamodel/packs/relations, on the base pack) read through its
paths: the bookings' list view as declared (columns, sort, group and filters through rooms,
sites, regions and countries, the attendees), its named view `controlled_bookings`, titles, a
default read through a link, and the related panel of the named form `booking_summary`."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from engine import SYSTEM_ACTOR
from engine.records.listing import list_records, list_request
from engine.records.paths import path_reader
from engine.records.related import related_list
from engine.records.titles import TitleTemplate, render_titles

RELATIONS = Path(__file__).resolve().parents[2] / "metamodel" / "packs" / "relations"


@pytest.fixture
def pack_engine(make_engine, clock):
    engine = make_engine(metamodel.load_model([metamodel.BASE_PACK, RELATIONS]), clock=clock)
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    france = create("country", {"name": "France", "code": "FR"})
    italy = create("country", {"name": "Italy", "code": "IT"})
    auvergne = create("region", {"name": "Auvergne", "country": france})
    lazio = create("region", {"name": "Lazio", "country": italy})
    vichy = create("site", {"name": "Vichy", "city": "Vichy", "region": auvergne})
    rome = create("site", {"name": "Roma", "city": "Rome", "region": lazio})
    rooms = {
        "volcano": create("room", {"name": "Volcano", "site": vichy, "access_mode": "controlled", "capacity": 12}),
        "spring": create("room", {"name": "Spring", "site": vichy, "access_mode": "free", "capacity": 6}),
        "forum": create("room", {"name": "Forum", "site": rome, "access_mode": "controlled", "capacity": 40}),
    }
    bank = create("account", {"name": "Bank", "sector": "banking"})
    school = create("account", {"name": "School", "sector": "education"})
    ada = create("contact", {"last_name": "Lovelace"})
    alan = create("contact", {"last_name": "Turing"})
    bookings = {
        "audit": create("booking", {"subject": "Audit", "room": rooms["volcano"], "badge": True, "account": bank,
                                    "attendees": [ada, alan]}),
        "class": create("booking", {"subject": "Class", "room": rooms["spring"], "account": school,
                                    "attendees": [alan]}),
        "board": create("booking", {"subject": "Board", "room": rooms["forum"], "badge": True}),
        "break": create("booking", {"subject": "Break", "room": rooms["spring"]}),
    }
    ids = {"france": france, "italy": italy, "ada": ada, "alan": alan, **rooms, **bookings}
    return engine, ids


def listed(engine, args):
    return list_records(engine.records, "booking", list_request(engine.records, "booking", args))


def test_the_declared_list_reads_its_paths(pack_engine):
    engine, ids = pack_engine
    result = listed(engine, {"tab": ["all"]})
    assert result.request.sort == ("-room.site.name", "subject")
    assert [(r["subject"], r["room.site.name"], r["account.sector"], r["attendees"]) for r in result.rows] == [
        ("Audit", "Vichy", "banking", sorted([ids["ada"], ids["alan"]])), ("Break", "Vichy", None, []),
        ("Class", "Vichy", "education", [ids["alan"]]), ("Board", "Roma", None, [])]


def test_filters_and_groups_through_the_links(pack_engine):
    engine, ids = pack_engine
    grouped = listed(engine, {"tab": ["all"], "group": ["room.access_mode"]})
    assert [(g.value, g.count) for g in grouped.groups] == [("controlled", 2), ("free", 2)]
    french = listed(engine, {"tab": ["all"], "f_room.site.region.country": [str(ids["france"])]})
    assert [r["subject"] for r in french.rows] == ["Audit", "Break", "Class"]
    with_alan = listed(engine, {"tab": ["all"], "f_attendees": [str(ids["alan"])], "f_room.site": [str(0)]})
    assert with_alan.total == 0
    with_alan = listed(engine, {"tab": ["all"], "f_attendees": [str(ids["alan"])]})
    assert [r["subject"] for r in with_alan.rows] == ["Audit", "Class"]


def test_the_named_view_keeps_what_its_where_says(pack_engine):
    engine, _ = pack_engine
    result = listed(engine, {"tab": ["all"], "view": ["controlled_bookings"]})
    assert [(r["subject"], r["room.name"], r["room.site.city"]) for r in result.rows] == [("Audit", "Volcano", "Vichy")]


def test_a_default_reads_through_a_link(pack_engine):
    engine, ids = pack_engine
    assert engine.records.get("booking", ids["board"])["seats"] == 40


def test_titles_read_their_paths(pack_engine):
    engine, ids = pack_engine
    reader = path_reader(engine.model, engine.tables, engine.records.permissions, SYSTEM_ACTOR)
    template = TitleTemplate(engine.model.entity("booking"), model=engine.model)
    rows = [engine.records.get("booking", ids[name]) for name in ("audit", "board")]
    with engine.db.connect() as conn:
        assert render_titles(conn, reader, template, rows) == ["Audit (Volcano)", "Board (Forum)"]


def test_the_named_forms_panel_lists_the_rooms_bookings(pack_engine):
    engine, ids = pack_engine
    result = related_list(engine.records, "room", ids["spring"], "booking_room", None, SYSTEM_ACTOR,
                          form="booking_summary")
    assert result.request.page_size == 5 and result.request.sort == ("-created_at",)
    assert [(r["subject"], r["account.sector"]) for r in result.rows] == [("Break", None), ("Class", "education")]
