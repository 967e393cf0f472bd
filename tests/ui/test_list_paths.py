"""List pages of views reading paths through links (`room.site.name`) and `links` characteristics
(`attendees`), on the relations test pack (tests/metamodel/packs/relations) plus one list view
of bookings by site (`SITES_VIEW`: paths ending on links, a number, a boolean; a text filter
and a range on paths; groups by a linked record): cells, headers, sorting, filters and their
chips, groups, exports, in English and French."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Actor
from ui_renderer import create_app
from ui_renderer.core.i18n import format_datetime
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"
SITES_VIEW = """\
view: booking_sites
entity: booking
kind: list
label: {en: Bookings by site, fr: Réservations par site}
columns: [subject, room.site, room.site.region.country, room.capacity, badge]
filters: [room.site.city, room.capacity, room.access_mode, room.site, room.created_by]
sort: [subject]
group_by: [room.site, room.access_mode, room.created_by]
"""


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    pack = tmp_path / "relations"
    shutil.copytree(RELATIONS, pack)
    (pack / "views" / "booking_sites.yaml").write_text(SITES_VIEW, encoding="utf-8")
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK, pack], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    engine = app.extensions["ossature"]
    engine.migrate()
    yield app
    engine.dispose()


@pytest.fixture
def ids(app: Flask) -> dict[str, int]:
    records = app.extensions["ossature"].records
    create = lambda entity, values: records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    france = create("country", {"name": "France", "code": "FR"})
    italy = create("country", {"name": "Italy", "code": "IT"})
    auvergne = create("region", {"name": "Auvergne", "country": france})
    lazio = create("region", {"name": "Lazio", "country": italy})
    vichy = create("site", {"name": "Vichy", "city": "Vichy", "region": auvergne})
    rome = create("site", {"name": "Roma", "city": "Rome", "region": lazio})
    planner = create("user", {"username": "uma", "display_name": "Uma Planner"})
    as_planner = Actor(user_id=planner, username="uma", roles=frozenset({"admin"}))
    volcano = records.create("room", {"name": "Volcano", "site": vichy, "access_mode": "controlled", "capacity": 12},
                             as_planner)["id"]
    rooms = {
        "volcano": volcano,
        "spring": create("room", {"name": "Spring", "site": vichy, "access_mode": "free", "capacity": 6}),
        "forum": create("room", {"name": "Forum", "site": rome, "access_mode": "controlled", "capacity": 40}),
    }
    bank = create("account", {"name": "Bank", "sector": "banking"})
    school = create("account", {"name": "School", "sector": "education"})
    ada = create("contact", {"last_name": "Lovelace", "first_name": "Ada"})
    alan = create("contact", {"last_name": "Turing", "first_name": "Alan"})
    bookings = {
        "audit": create("booking", {"subject": "Audit", "room": rooms["volcano"], "badge": True, "account": bank,
                                    "attendees": [ada, alan]}),
        "class": create("booking", {"subject": "Class", "room": rooms["spring"], "account": school,
                                    "attendees": [alan]}),
        "board": create("booking", {"subject": "Board", "room": rooms["forum"], "badge": True}),
        "break": create("booking", {"subject": "Break", "room": rooms["spring"]}),
    }
    return {"france": france, "italy": italy, "vichy": vichy, "rome": rome, "ada": ada, "alan": alan, "uma": planner,
            "bank": bank, **rooms, **bookings}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def subjects(page: str) -> list[str]:
    """The record-link texts of the page's rows (bookings: their subjects), in order."""
    return [html.unescape(text) for text in re.findall(r'class="record-link"[^>]*>([^<]*)</a>', page)]


def rows(page: str) -> list[list[str]]:
    """Each row's cells as text (tags dropped)."""
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells:
            found.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return found


def labels(app: Flask, lang: str) -> dict[str, str]:
    """Expected words, from the definitions: the paths' labels and the value labels the rows show."""
    model = app.extensions["ossature"].model

    def path(text: str) -> str:
        found = model.path("booking", text)
        return " › ".join(f.label.get(lang) for f in (*found.steps, found.field))

    sectors = {v.code: v.label.get(lang) for v in model.value_list(model.path("booking", "account.sector").field.list).values}
    modes = {v.code: v.label.get(lang) for v in model.value_list("room_access").values}
    return {"site": path("room.site.name"), "sector": path("account.sector"), "country": path("room.site.region.country"),
            "capacity": path("room.capacity"), "room_site": path("room.site"), "access": path("room.access_mode"),
            "attendees": model.entity("booking").field("attendees").label.get(lang),
            "banking": sectors["banking"], "education": sectors["education"],
            "controlled": modes["controlled"], "free": modes["free"]}


def headers(page: str) -> list[tuple[str, bool]]:
    """(text, sortable) of each column header of the first table."""
    found = []
    for cell in re.findall(r'<th scope="col" class="(?!select)[^"]*"[^>]*>(.*?)</th>', page, re.S):
        text = html.unescape(re.sub(r"<[^>]+>|[▲▼]", "", cell)).strip()
        if (text, "<a " in cell) not in found:
            found.append((text, "<a " in cell))
    return found


def chips(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", chip)).replace("×", "").strip()
            for chip in re.findall(r"<li>(.*?)</li>", page.split('class="chips"', 1)[1].split("</ul>", 1)[0], re.S)]


def test_the_declared_list_shows_each_path_as_the_field_it_ends_on_and_links_as_titles(app, client, ids):
    words = labels(app, "en")
    page = get(client, "/booking/?tab=all")
    assert rows(page) == [
        ["", "Audit", "Volcano (Vichy)", "Vichy", words["banking"], "Ada Lovelace, Alan Turing"],
        ["", "Break", "Spring (Vichy)", "Vichy", "", ""],
        ["", "Class", "Spring (Vichy)", "Vichy", words["education"], "Alan Turing"],
        ["", "Board", "Forum (Roma)", "Roma", "", ""],
    ]
    assert f'<a href="/contact/{ids["ada"]}">Ada Lovelace</a>, <a href="/contact/{ids["alan"]}">Alan Turing</a>' in page
    assert headers(page) == [("Subject", True), ("Room", True), (words["site"], True), (words["sector"], True),
                             (words["attendees"], False)]
    assert words["site"] == "Room › Site › Name"
    assert 'aria-sort="descending"' in page.split(words["site"])[0].rsplit("<th", 1)[1]


def test_french_labels_of_paths_values_and_groups(app, client, ids):
    words = labels(app, "fr")
    page = get(client, "/booking/?tab=all&lang=fr&group=room.access_mode")
    assert ("Salle › Site › Nom", True) in headers(page)
    assert (words["sector"], True) in headers(page)
    # groups in the list's order (free, then controlled), labelled in French
    assert [html.unescape(g) for g in re.findall(r'<span class="group-label">([^<]*)</span>', page)] == [
        "Libre", "Contrôlé"] == [words["free"], words["controlled"]]
    assert f'<option value="room.access_mode" selected>{words["access"]}</option>' in page
    assert words["access"] == "Salle › Accès"
    assert ["", "Audit", "Volcano (Vichy)", "Vichy", words["banking"], "Ada Lovelace, Alan Turing"] in rows(page)


@pytest.mark.parametrize(("sort", "expected"), [
    ("room.capacity", ["Class", "Break", "Audit", "Board"]),
    ("-room.capacity", ["Board", "Audit", "Break", "Class"]),
    ("room.site.name,subject", ["Board", "Audit", "Break", "Class"]),
    ("-room.site.name,-subject", ["Class", "Break", "Audit", "Board"]),
])
def test_sorting_by_a_path(client, ids, sort, expected):
    page = get(client, f"/booking/?tab=all&sort={sort}")
    assert subjects(page) == expected


def test_a_path_header_sorts_by_its_path(client, ids):
    page = get(client, "/booking/?tab=all&sort=subject")
    link = re.search(r'<a href="([^"]*)" title="Sort by Room › Site › Name"', page)
    assert link is not None
    assert subjects(get(client, html.unescape(link.group(1)))) == ["Board", "Audit", "Class", "Break"]  # ties by id


def test_filters_on_paths_narrow_the_rows_and_show_as_chips(app, client, ids):
    words = labels(app, "en")
    page = get(client, f"/booking/?tab=all&f_room.site.region.country={ids['france']}")
    assert subjects(page) == ["Audit", "Break", "Class"]
    assert chips(page) == [f"{words['country']}: France"]
    assert f'<select name="f_room.site" id="filter-room.site" aria-label="{words["room_site"]}"' in page
    assert subjects(get(client, f"/booking/?tab=all&f_room.site.region.country={ids['italy']}")) == ["Board"]
    page = get(client, "/booking/?tab=all&f_room.access_mode=free")
    assert subjects(page) == ["Break", "Class"]
    assert chips(page) == [f"{words['access']}: {words['free']}"]


@pytest.mark.parametrize(("bounds", "expected"), [
    ("f_room.capacity_min=12", ["Audit", "Board"]),       # at the bound
    ("f_room.capacity_min=13", ["Board"]),                # one past
    ("f_room.capacity_max=12", ["Audit", "Break", "Class"]),
    ("f_room.capacity_max=5", []),                        # below the smallest
    ("f_room.capacity_min=6&f_room.capacity_max=6", ["Break", "Class"]),
])
def test_a_range_on_a_path(client, ids, bounds, expected):
    page = get(client, f"/booking/?tab=all&{bounds}")
    assert subjects(page) == expected
    assert chips(page)[0].startswith("Room › Capacity ≥") or chips(page)[0].startswith("Room › Capacity ≤")


def test_a_links_filter_keeps_the_records_holding_a_member(app, client, ids):
    words = labels(app, "en")
    page = get(client, f"/booking/?tab=all&f_attendees={ids['alan']}")
    assert subjects(page) == ["Audit", "Class"]
    assert chips(page) == [f"{words['attendees']}: Alan Turing"]
    assert subjects(get(client, f"/booking/?tab=all&f_attendees={ids['ada']}")) == ["Audit"]
    both = get(client, f"/booking/?tab=all&f_attendees={ids['ada']}&f_attendees={ids['alan']}")
    assert subjects(both) == ["Audit", "Class"]
    assert chips(both) == [f"{words['attendees']}: Ada Lovelace, Alan Turing"]
    # the filter offers the contacts by title, the chosen one selected
    offered = page.split('name="f_attendees"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{ids["alan"]}" selected>Alan Turing</option>' in offered
    assert f'<option value="{ids["ada"]}">Ada Lovelace</option>' in offered


def test_grouping_by_a_path_labels_and_counts_its_groups(app, client, ids):
    words = labels(app, "en")
    page = get(client, "/booking/?tab=all&group=room.access_mode")
    groups = re.findall(r'<summary><span class="group-label">([^<]*)</span> <span class="count">(\d+)</span>', page)
    assert groups == [(words["free"], "2"), (words["controlled"], "2")]
    assert subjects(page) == ["Break", "Class", "Audit", "Board"]  # free (Vichy), then controlled (Vichy, Roma)
    assert f'<option value="room.access_mode" selected>{words["access"]}</option>' in page


def test_the_named_view_with_a_path_where(client, ids):
    page = get(client, "/booking/?tab=all&view=controlled_bookings")
    assert subjects(page) == ["Audit"]
    assert [row[-2:] for row in rows(page)] == [["Volcano", "Vichy"]]
    assert ("Room › Name", True) in headers(page) and ("Room › Site › City", True) in headers(page)



def test_paths_ending_on_links_render_the_record_reached_by_its_title(client, ids):
    page = get(client, "/booking/?tab=all&view=booking_sites")
    assert rows(page) == [["Audit", "Vichy", "France", "12", "Yes"], ["Board", "Roma", "Italy", "40", "Yes"],
                          ["Break", "Vichy", "France", "6", "No"], ["Class", "Vichy", "France", "6", "No"]]
    assert f'<a href="/site/{ids["vichy"]}">Vichy</a>' in page
    assert f'<a href="/country/{ids["italy"]}">Italy</a>' in page
    assert headers(page) == [("Subject", True), ("Room › Site", True), ("Room › Site › Region › Country", True),
                             ("Room › Capacity", True), ("Badge", True)]
    assert subjects(get(client, "/booking/?tab=all&view=booking_sites&sort=-room.capacity")) == [
        "Board", "Audit", "Break", "Class"]  # ties by id, descending as the first key


def test_a_text_filter_and_a_range_on_paths_with_their_chips(client, ids):
    page = get(client, "/booking/?tab=all&view=booking_sites&f_room.site.city=ICH&f_room.capacity_min=7")
    assert subjects(page) == ["Audit"]
    assert chips(page) == ["Room › Site › City contains “ICH”", "Room › Capacity ≥ 7"]
    assert 'aria-label="Room › Site › City contains"' in page
    assert subjects(get(client, "/booking/?tab=all&view=booking_sites&f_room.site.city=rom")) == ["Board"]
    assert subjects(get(client, "/booking/?tab=all&view=booking_sites&f_room.site.city=paris")) == []


def test_grouping_by_a_path_ending_on_a_link_labels_groups_by_title(client, ids):
    page = get(client, "/booking/?tab=all&view=booking_sites&group=room.site")
    groups = re.findall(r'<summary><span class="group-label">([^<]*)</span> <span class="count">(\d+)</span>', page)
    assert groups == [("Roma", "1"), ("Vichy", "3")]  # titles A to Z
    # a group's count links to the list filtered on its value
    assert f'<a href="/booking/?view=booking_sites&amp;tab=all&amp;f_room.site={ids["vichy"]}">Vichy</a>' in page
    french = get(client, "/booking/?tab=all&view=booking_sites&group=room.site&lang=fr")
    assert '<option value="room.site" selected>Salle › Site</option>' in french


def test_unreadable_paths_are_refused_not_crashed(client, ids):
    assert "room.nothing" in html.unescape(get(client, "/booking/?tab=all&sort=room.nothing", 400))
    assert get(client, "/booking/?tab=all&group=room.capacity", 400)
    assert get(client, "/booking/?tab=all&f_meals=1", 400)


def test_the_export_link_of_a_filtered_list_downloads_its_paths_and_links(client, ids):
    response = client.get(f"/booking/export.csv?tab=all&f_attendees={ids['alan']}&f_room.site.region.country={ids['france']}")
    assert response.status_code == 200
    rows_ = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert rows_ == [["Subject", "Room", "Room › Site › Name", "Account › Sector", "Attendees"],
                     ["Audit", "Volcano (Vichy)", "Vichy", "Banking and insurance", "Ada Lovelace, Alan Turing"],
                     ["Class", "Spring (Vichy)", "Vichy", "Education", "Alan Turing"]]
    named = client.get("/booking/export.csv?tab=all&view=controlled_bookings&lang=fr")
    assert named.status_code == 200
    assert named.get_data().decode("utf-8-sig").splitlines() == ["Objet,Salle › Nom,Salle › Site › Ville", "Audit,Volcano,Vichy"]



def test_titles_of_links_and_paths_are_read_once_per_page_not_per_row(app, client, ids):
    """Twice the bookings (each with two attendees), as many statements for the page."""
    import sqlalchemy as sa

    engine = app.extensions["ossature"]

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        sa.event.listen(engine.db, "before_cursor_execute", count)
        try:
            get(client, "/booking/?tab=all&size=100")
            get(client, "/booking/?tab=all&view=booking_sites&group=room.site&size=100")
        finally:
            sa.event.remove(engine.db, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    for i in range(4):
        engine.records.create("booking", {"subject": f"Extra {i}", "room": ids["forum"],
                                          "attendees": [ids["ada"], ids["alan"]]}, SYSTEM_ACTOR)
    assert statements() == before


def test_a_mass_update_sets_the_members_of_a_links(app, client, ids):
    records = app.extensions["ossature"].records
    page = get(client, "/booking/?tab=all")
    chooser = page.split('name="value_attendees"', 1)[1].split("</select>", 1)[0]
    assert " multiple" in chooser.split(">", 1)[0]
    assert f'<option value="{ids["ada"]}">Ada Lovelace</option>' in chooser
    form = {"tab": "all", "id": [str(ids["break"]), str(ids["class"])], "set": ["attendees"],
            "value_attendees": [str(ids["ada"]), str(ids["alan"])]}
    preview = client.post("/booking/mass-update", data=form)
    assert preview.status_code == 200, preview.text
    assert f'<option value="{ids["ada"]}" selected>Ada Lovelace</option>' in preview.text  # carried to the apply step
    applied = client.post("/booking/mass-update/apply", data=form)
    assert 'data-changed="2"' in applied.text
    assert [records.get("booking", ids[name])["attendees"] for name in ("break", "class", "board")] == [
        sorted([ids["ada"], ids["alan"]]), sorted([ids["ada"], ids["alan"]]), []]
    emptied = client.post("/booking/mass-update/apply", data={**form, "value_attendees": []})
    assert 'data-changed="2"' in emptied.text
    assert records.get("booking", ids["break"])["attendees"] == []
    refused = client.post("/booking/mass-update", data={**form, "value_attendees": ["12abc"]})
    assert refused.status_code == 400 and 'class="field-error"' in refused.text


def test_typed_record_numbers_for_a_links():
    from ui_renderer.lists.mass_update_form import _record_ids

    assert _record_ids(["3, #5 7", ""]) == [3, 5, 7]
    assert _record_ids([]) == []
    assert _record_ids(["3,x"]) == [3, "x"]



def test_a_mass_update_of_all_records_matching_a_path_filter(app, client, ids):
    records = app.extensions["ossature"].records
    form = {"tab": "all", "all_matching": "1", "f_room.site.region.country": str(ids["france"]), "set": ["backup_room"],
            "value_backup_room": str(ids["forum"])}
    preview = client.post("/booking/mass-update", data=form)
    assert preview.status_code == 200, preview.text
    applied = client.post("/booking/mass-update/apply", data=form)
    assert 'data-changed="3"' in applied.text
    assert {name: records.get("booking", ids[name])["backup_room"] for name in ("audit", "class", "break", "board")} == {
        "audit": ids["forum"], "class": ids["forum"], "break": ids["forum"], "board": None}



def test_a_plugin_format_gets_a_links_members_as_a_list(client, ids):
    import json

    response = client.get(f"/booking/export.jsonl?tab=all&f_room.site={ids['vichy']}")
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(line["subject"], line["room.site.name"], line["attendees"]) for line in lines] == [
        ("Audit", "Vichy", ["Ada Lovelace", "Alan Turing"]), ("Break", "Vichy", []), ("Class", "Vichy", ["Alan Turing"])]


def test_a_path_ending_on_a_system_link_names_the_user(client, ids):
    page = get(client, f"/booking/?tab=all&view=booking_sites&group=room.created_by&f_room.created_by={ids['uma']}")
    assert subjects(page) == ["Audit"]
    assert chips(page) == ["Room › Created by: Uma Planner"]
    offered = page.split('name="f_room.created_by"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{ids["uma"]}" selected>Uma Planner</option>' in offered
    assert re.findall(r'<summary><span class="group-label">([^<]*)</span>', page) == ["Uma Planner"]
    everyone = get(client, "/booking/?tab=all&view=booking_sites&group=room.created_by")
    assert "#" + str(ids["uma"]) not in re.findall(r'<span class="group-label">([^<]*)</span>', everyone)


def test_a_date_range_on_a_path(client, ids):
    page = get(client, "/booking/?tab=all&f_room.created_at_min=2000-01-01T00:00")
    assert sorted(subjects(page)) == ["Audit", "Board", "Break", "Class"]
    assert chips(page) == [f"Room › Created ≥ {format_datetime(dt.datetime(2000, 1, 1), 'en')}"]
    assert subjects(get(client, "/booking/?tab=all&f_room.created_at_max=2000-01-01T00:00")) == []
    assert get(client, "/booking/?tab=all&f_room.created_at_min=yesterday", 400)


def test_the_record_link_is_never_put_on_a_cell_of_links(app):
    import dataclasses

    from ui_renderer.lists.layout import build_layout

    model = app.extensions["ossature"].model
    booking = model.entity("booking")
    view = dataclasses.replace(booking.view("list"), columns=("attendees", "room.site", "room.site.name"))
    layout = build_layout(model, booking, view, "en", lambda entity: f"/{entity}/")
    assert [(c.type, c.target, c.sortable) for c in layout.columns] == [
        ("links", "contact", False), ("link", "site", True), ("string", None, True)]
    assert layout.record_column == 2
