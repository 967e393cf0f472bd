"""Exports of lists reading paths through links (`room.site.name`) and `links` characteristics
(`attendees`), on the relations test pack (tests/metamodel/packs/relations): path and links
columns, filters on paths and on members, a named view whose `where` names paths, the list's
order through a path kept chunk after chunk, a constant number of statements however many rows."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.access.permissions import PermissionDenied
from engine.exchange.exporter import Export, ExportError, submit_export

RELATIONS = Path(__file__).resolve().parents[2] / "metamodel" / "packs" / "relations"
PLANNER = """\
role: planner
label: {en: Planner, fr: Planificateur}
entities:
  booking: {can: [read, export]}
  site: {can: [read], hidden: [city]}
  "*": {can: [read]}
"""
"""A role exporting bookings that may not see a site's city (`room.site.city` is hidden from it)."""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    pack = tmp_path_factory.mktemp("packs") / "relations"
    shutil.copytree(RELATIONS, pack)
    (pack / "roles").mkdir(exist_ok=True)
    (pack / "roles" / "planner.yaml").write_text(PLANNER, encoding="utf-8")
    return metamodel.load_model([metamodel.BASE_PACK, pack])


@pytest.fixture
def world(make_engine, model, clock):
    engine = make_engine(model, clock=clock)
    create = lambda entity, values: engine.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    france = create("country", {"name": "France", "code": "FR"})
    italy = create("country", {"name": "Italy", "code": "IT"})
    auvergne = create("region", {"name": "Auvergne", "country": france})
    lazio = create("region", {"name": "Lazio", "country": italy})
    vichy = create("site", {"name": "Vichy", "city": "Vichy", "region": auvergne})
    rome = create("site", {"name": "Roma", "city": "Rome", "region": lazio})
    volcano = create("room", {"name": "Volcano", "site": vichy, "access_mode": "controlled", "capacity": 12})
    spring = create("room", {"name": "Spring", "site": vichy, "access_mode": "free", "capacity": 6})
    forum = create("room", {"name": "Forum", "site": rome, "access_mode": "controlled", "capacity": 40})
    bank = create("account", {"name": "Bank", "sector": "banking"})
    school = create("account", {"name": "School", "sector": "education"})
    ada = create("contact", {"last_name": "Lovelace", "first_name": "Ada"})
    alan = create("contact", {"last_name": "Turing", "first_name": "Alan"})
    create("booking", {"subject": "Audit", "room": volcano, "badge": True, "account": bank, "attendees": [alan, ada]})
    create("booking", {"subject": "Class", "room": spring, "account": school, "attendees": [alan]})
    create("booking", {"subject": "Board", "room": forum, "badge": True})
    create("booking", {"subject": "Break", "room": spring})
    return engine, {"france": france, "italy": italy, "ada": ada, "alan": alan, "spring": spring, "vichy": vichy}


def label(model, path: str, lang: str = "en") -> str:
    found = model.path("booking", path)
    return " › ".join(f.label.get(lang) for f in (*found.steps, found.field))


def sector(model, code: str, lang: str = "en") -> str:
    return {v.code: v.label.get(lang) for v in model.value_list(model.path("booking", "account.sector").field.list).values}[code]


def export_csv(engine, actor: Actor, args: dict, **options) -> list[list[str]]:
    export = Export(engine, "booking", engine.records.list_request("booking", args), actor, **options)
    text = b"".join(export.iter_bytes()).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_declared_view_exports_its_paths_and_links_in_the_lists_order(world, model):
    engine, _ = world
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"]})
    assert rows == [
        ["Subject", "Room", label(model, "room.site.name"), label(model, "account.sector"), "Attendees"],
        ["Audit", "Volcano (Vichy)", "Vichy", sector(model, "banking"), "Ada Lovelace, Alan Turing"],
        ["Break", "Spring (Vichy)", "Vichy", "", ""],
        ["Class", "Spring (Vichy)", "Vichy", sector(model, "education"), "Alan Turing"],
        ["Board", "Forum (Roma)", "Roma", "", ""],
    ]
    assert rows[0][2] == "Room › Site › Name"


def test_french_headers_and_values(world, model):
    engine, _ = world
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"]}, lang="fr")
    assert rows[0] == ["Objet", "Salle", "Salle › Site › Nom", label(model, "account.sector", "fr"), "Participants"]
    assert rows[1][3] == sector(model, "banking", "fr")


@pytest.mark.parametrize(("args", "subjects"), [
    ({"f_room.site.region.country": ["france"]}, ["Audit", "Break", "Class"]),
    ({"f_room.site.region.country": ["italy"]}, ["Board"]),
    ({"f_room.access_mode": ["free"]}, ["Break", "Class"]),
    ({"f_room.capacity_min": ["12"]}, ["Audit", "Board"]),
    ({"f_room.capacity_min": ["13"]}, ["Board"]),
    ({"f_room.capacity_max": ["12"]}, ["Audit", "Break", "Class"]),
    ({"f_room.capacity_max": ["5"]}, []),
    ({"f_attendees": ["alan"]}, ["Audit", "Class"]),
    ({"f_attendees": ["ada"]}, ["Audit"]),
    ({"f_attendees": ["ada"], "f_room.site.region.country": ["italy"]}, []),
    ({"q": ["Break"], "f_room.site": ["vichy"]}, ["Break"]),
])
def test_filters_on_paths_and_members_narrow_the_export(world, args, subjects):
    engine, ids = world
    args = {name: [str(ids.get(v, v)) for v in values] for name, values in args.items()}
    request = engine.records.list_request("booking", {"tab": ["all"], **args})
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"], **args})
    assert [row[0] for row in rows[1:]] == subjects
    assert Export(engine, "booking", request, SYSTEM_ACTOR).count() == len(subjects)


def test_a_named_view_whose_where_names_paths(world, model):
    engine, _ = world
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"], "view": ["controlled_bookings"]})
    assert rows == [["Subject", label(model, "room.name"), label(model, "room.site.city")], ["Audit", "Volcano", "Vichy"]]
    request = engine.records.list_request("booking", {"tab": ["all"], "view": ["controlled_bookings"]})
    assert Export(engine, "booking", request, SYSTEM_ACTOR).count() == 1


def test_columns_may_name_paths_and_links_but_not_lines_or_unknown_paths(world, model):
    engine, _ = world
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"], "sort": ["subject"]},
                      columns=["subject", "room.site.region.country", "room.capacity", "attendees"])
    assert rows[0] == ["Subject", label(model, "room.site.region.country"), label(model, "room.capacity"), "Attendees"]
    assert rows[1:] == [["Audit", "France", "12", "Ada Lovelace, Alan Turing"], ["Board", "Italy", "40", ""],
                        ["Break", "France", "6", ""], ["Class", "France", "6", "Alan Turing"]]
    everything = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"]}, columns="all")[0]
    assert "Attendees" in everything and "Meals" not in everything
    request = engine.records.list_request("booking", {})
    for wrong in (["room.nothing"], ["meals"], ["subject.name"]):
        with pytest.raises(ExportError) as refused:
            Export(engine, "booking", request, SYSTEM_ACTOR, columns=wrong)
        assert refused.value.parameter == "columns"


SORTS = ["room.site.name", "-room.site.name,subject", "account.sector", "-account.sector", "room.capacity,-subject",
         "account.name,-id"]


@pytest.mark.parametrize("sort", SORTS)
def test_chunks_follow_the_lists_order_through_paths_with_ties_and_empty_values(world, sort):
    """Small chunks over equal and empty values of a path give exactly the list page's order."""
    engine, _ = world
    request = engine.records.list_request("booking", {"sort": [sort], "tab": ["all"], "size": ["200"]})
    listed = [row["id"] for row in engine.records.list("booking", request).rows]
    assert len(listed) == 4
    for chunk_size in (1, 2, 3):
        export = Export(engine, "booking", request, SYSTEM_ACTOR, chunk_size=chunk_size)
        assert [record["id"] for chunk in export.records() for record in chunk] == listed


def test_statements_do_not_grow_with_the_rows(world):
    """Members and titles are read per chunk, not per row: twice the bookings, as many statements."""
    engine, ids = world

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        sa.event.listen(engine.db, "before_cursor_execute", count)
        try:
            export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"]})
        finally:
            sa.event.remove(engine.db, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    room = engine.records.list("room", engine.records.list_request("room", {})).rows[0]["id"]
    for i in range(4):
        engine.records.create("booking", {"subject": f"Extra {i}", "room": room, "attendees": [ids["ada"], ids["alan"]]},
                              SYSTEM_ACTOR)
    assert statements() == before


def test_the_export_job_of_a_list_filtered_through_paths(world):
    engine, ids = world
    request = engine.records.list_request("booking", {"tab": ["all"], "f_room.site.region.country": [str(ids["france"])],
                                                      "f_attendees": [str(ids["alan"])], "sort": ["-room.capacity"]})
    job_id = submit_export(engine, "booking", request, SYSTEM_ACTOR)
    job = engine.jobs.wait(job_id, timeout=30)
    assert job["state"] == "done", job["message"]
    assert (job["total"], job["done"]) == (2, 2)
    path, _, _ = engine.jobs.output_path(job_id, SYSTEM_ACTOR)
    assert path.read_bytes() == b"".join(Export(engine, "booking", request, SYSTEM_ACTOR).iter_bytes())
    assert [line.split(",")[0] for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]] == ["Audit", "Class"]


def test_a_path_the_actor_may_not_read_is_left_out_of_the_view_and_refused_when_named(world):
    engine, ids = world
    user = engine.records.create("user", {"username": "pat", "display_name": "Pat"}, SYSTEM_ACTOR)["id"]
    planner = Actor(user_id=user, username="pat", roles=frozenset({"planner"}))
    rows = export_csv(engine, planner, {"tab": ["all"], "view": ["controlled_bookings"]})
    assert rows == [["Subject", "Room › Name"], ["Audit", "Volcano"]]
    request = engine.records.list_request("booking", {"tab": ["all"]})
    with pytest.raises(PermissionDenied):
        Export(engine, "booking", request, planner, columns=["subject", "room.site.city"])
    for args in ({"f_room.site.city": ["Vichy"]}, {"sort": ["room.site.city"]}):
        with pytest.raises(PermissionDenied):
            Export(engine, "booking", engine.records.list_request("booking", {"tab": ["all"], **args}), planner)
    assert export_csv(engine, planner, {"tab": ["all"], "sort": ["subject"]}, columns=["subject", "room.site.name"])[1:] == [
        ["Audit", "Vichy"], ["Board", "Roma"], ["Break", "Vichy"], ["Class", "Vichy"]]


def test_a_path_ending_on_a_system_link_names_the_user(world):
    engine, ids = world
    user = engine.records.create("user", {"username": "uma", "display_name": "Uma Planner"}, SYSTEM_ACTOR)["id"]
    uma = Actor(user_id=user, username="uma", roles=frozenset({"admin"}))
    room = engine.records.create("room", {"name": "Attic", "site": ids["vichy"], "access_mode": "free"}, uma)["id"]
    engine.records.create("booking", {"subject": "Nap", "room": room}, SYSTEM_ACTOR)
    rows = export_csv(engine, SYSTEM_ACTOR, {"tab": ["all"], "sort": ["subject"], "f_room.site": [str(ids["vichy"])]},
                      columns=["subject", "room.created_by"])
    assert rows == [["Subject", "Room › Created by"], ["Audit", ""], ["Break", ""], ["Class", ""], ["Nap", "uma"]]  # a user by its natural key
