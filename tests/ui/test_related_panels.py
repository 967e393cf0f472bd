"""Related panels under a record's form (ui_renderer/records/related_panels.py): the records of
its reverse relations, in the form's order, counted, sorted, paged per panel, with a "New" button
pre-filling the link; only what the actor may read. Owned entities have no pages of their own."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from ui_renderer import create_app
from ui_renderer.core.i18n import words
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

from test_forms import form_data

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"
PASSWORD = "correct horse battery"


def make_app(database_url: str, packs: list[Path], **settings: Any) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": packs, **(settings or PAGES_WITHOUT_LOGIN)})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url, [metamodel.BASE_PACK, RELATIONS])
    yield app
    app.extensions["ossature"].dispose()


def create(engine: Engine, entity: str, values: dict[str, Any]) -> int:
    return engine.records.create(entity, values, SYSTEM_ACTOR)["id"]


@pytest.fixture
def room(app: Flask) -> int:
    engine: Engine = app.extensions["ossature"]
    country = create(engine, "country", {"name": "France", "code": "FR"})
    region = create(engine, "region", {"name": "Auvergne", "country": country})
    site = create(engine, "site", {"name": "Vichy", "city": "Vichy", "region": region})
    mode = engine.model.value_list("room_access").values[0].code
    return create(engine, "room", {"name": "Salon", "site": site, "access_mode": mode, "capacity": 8})


def bookings(app: Flask, room: int, subjects: list[str], link: str = "room") -> list[int]:
    engine: Engine = app.extensions["ossature"]
    values = {"room": room} if link == "room" else {"room": room_elsewhere(app), link: room}
    return [create(engine, "booking", {**values, "subject": s}) for s in subjects]


def room_elsewhere(app: Flask) -> int:
    engine: Engine = app.extensions["ossature"]
    found = engine.records.get("room", 1)
    return create(engine, "room", {"name": "Annex", "site": found["site"], "access_mode": found["access_mode"]})


def panels(page: str) -> dict[str, dict[str, Any]]:
    """Each panel of the page by relation, in page order: label, count, row ids, paging and New links."""
    found = {}
    for relation, body in re.findall(r'<section class="related-panel" id="related-(\w+)"(.*?)</section>', page, re.S):
        title = re.search(r'-title">(.*?) <span class="related-count">(\d+)</span>', body)
        link = lambda rel: re.search(rf'<a href="([^"]+)" rel="{rel}">', body)  # noqa: E731
        new = re.search(r'<a class="button button-secondary" href="([^"]+)">', body)
        found[relation] = {
            "label": title[1], "count": int(title[2]),
            "rows": [int(i) for i in re.findall(r'class="record-link" href="/\w+/(\d+)', body)],
            "headers": re.findall(r'<th scope="col" class="\w+">([^<]*)</th>', body),
            "next": link("next") and link("next")[1].replace("&amp;", "&"),
            "previous": link("prev") and link("prev")[1].replace("&amp;", "&"),
            "new": new and new[1].replace("&amp;", "&"),
        }
    return found


def panel_defs(app: Flask, entity: str):
    return app.extensions["ossature"].model.entity(entity).view("form").related


def size_of(app: Flask, relation: str) -> int:
    return next(p.size for p in panel_defs(app, "room") if p.relation == relation)


# -- panels, counts, rows ----------------------------------------------------------------------


def test_panels_follow_the_form_in_order_with_labels_counts_and_rows(app, room):
    model = app.extensions["ossature"].model
    mine = bookings(app, room, ["Alpha", "Beta", "Gamma"])
    backups = bookings(app, room, ["Delta"], link="backup_room")

    shown = panels(app.test_client().get(f"/room/{room}").text)

    expected = [p.relation for p in panel_defs(app, "room")]
    assert list(shown) == expected and len(expected) == 2  # the defaults: one per reverse relation
    for relation in expected:
        assert shown[relation]["label"] == model.relation("room", relation).label.en
    assert shown["booking_room"]["count"] == 3 and sorted(shown["booking_room"]["rows"]) == mine
    assert shown["booking_backup_room"]["count"] == 1 and shown["booking_backup_room"]["rows"] == backups
    columns = next(p.columns for p in panel_defs(app, "room") if p.relation == "booking_room")
    booking = model.entity("booking")
    assert shown["booking_room"]["headers"][0] == booking.field(columns[0]).label.en
    assert len(shown["booking_room"]["headers"]) == len(columns)


def test_rows_follow_the_panels_sort(app, room):
    subjects = ["Mango", "Apple", "Zucchini", "Kiwi"]
    ids = dict(zip(subjects, bookings(app, room, subjects)))
    sort = next(p.sort for p in panel_defs(app, "room") if p.relation == "booking_room")
    assert sort[-1] == "subject"  # every booking is on one site: the subject decides

    shown = panels(app.test_client().get(f"/room/{room}").text)

    assert shown["booking_room"]["rows"] == [ids[s] for s in sorted(subjects)]


@pytest.mark.parametrize("extra, pages", [(0, 1), (1, 2)])
def test_paging_at_the_panels_size(app, room, extra, pages):
    size = size_of(app, "booking_room")
    ids = bookings(app, room, [f"S{i:03d}" for i in range(size + extra)])
    client = app.test_client()

    first = panels(client.get(f"/room/{room}").text)["booking_room"]

    assert first["count"] == size + extra and first["rows"] == ids[:size] and first["previous"] is None
    if pages == 1:
        assert first["next"] is None
        return
    assert first["next"] == f"/room/{room}?p_booking_room=2#related-booking_room"
    second = panels(client.get(first["next"]).text)["booking_room"]
    assert second["rows"] == ids[size:] and second["next"] is None
    assert second["previous"] == f"/room/{room}#related-booking_room"


def test_a_panels_paging_keeps_the_other_panels_page(app, room):
    size = size_of(app, "booking_room")
    bookings(app, room, [f"R{i:03d}" for i in range(size + 1)])
    backups = bookings(app, room, [f"B{i:03d}" for i in range(size_of(app, "booking_backup_room") + 1)],
                       link="backup_room")

    shown = panels(app.test_client().get(f"/room/{room}?p_booking_backup_room=2&lang=en").text)

    assert shown["booking_backup_room"]["rows"] == backups[-1:]
    assert shown["booking_room"]["next"] == (
        f"/room/{room}?p_booking_backup_room=2&lang=en&p_booking_room=2#related-booking_room")


def test_a_page_past_the_last_shows_the_last_and_paging_drops_notices(app, room):
    size = size_of(app, "booking_room")
    ids = bookings(app, room, [f"S{i:03d}" for i in range(size + 1)])

    shown = panels(app.test_client().get(f"/room/{room}?p_booking_room=7&saved=1").text)["booking_room"]

    assert shown["rows"] == ids[size:] and shown["next"] is None
    assert shown["previous"] == f"/room/{room}#related-booking_room"


def test_a_page_argument_that_is_no_page_shows_the_first(app, room):
    ids = bookings(app, room, ["One"])
    for asked in ("0", "-1", "x", "99999999999"):
        shown = panels(app.test_client().get(f"/room/{room}?p_booking_room={asked}").text)
        assert shown["booking_room"]["rows"] == ids, asked


def test_french_labels(app, room):
    model = app.extensions["ossature"].model
    bookings(app, room, ["Réunion"])

    page = app.test_client().get(f"/room/{room}?lang=fr").text
    shown = panels(page)

    assert [p["label"] for p in shown.values()] == [model.relation("room", r).label.fr for r in shown]
    assert shown["booking_room"]["headers"][0] == model.entity("booking").field("subject").label.fr
    assert f'>{words("fr")["rel_new"]}</a>' in page
    assert shown["booking_room"]["new"] == f"/booking/new?prefill.room={room}&lang=fr"


def test_cells_render_as_list_cells_paths_links_and_members(app, room, database_url, tmp_path):
    engine: Engine = app.extensions["ossature"]
    model = engine.model
    sector = model.value_list("sectors").values[0]
    account = create(engine, "account", {"name": "Acme", "sector": sector.code})
    ann = create(engine, "contact", {"last_name": "Durand", "first_name": "Ann"})
    bob = create(engine, "contact", {"last_name": "Martin", "first_name": "Bob"})
    elsewhere = room_elsewhere(app)
    booking = create(engine, "booking", {"subject": "Kick-off", "room": elsewhere, "backup_room": room,
                                         "account": account, "attendees": [bob, ann]})
    client = app.test_client()

    page = client.get(f"/room/{room}").text
    body = page[page.index('id="related-booking_backup_room"'):]
    row = re.search(r"<tbody><tr>(.*?)</tr>", body, re.S)[1]

    columns = next(p.columns for p in panel_defs(app, "room") if p.relation == "booking_backup_room")
    assert {"room", "room.site.name", "account.sector", "attendees"} <= set(columns)
    assert f'href="/booking/{booking}">Kick-off</a>' in row
    assert f'href="/room/{elsewhere}">Annex (Vichy)</a>' in row  # a link: its record's title
    assert "<td class=\"string\">Vichy</td>" in row  # a path: the value it ends on
    assert f">{sector.label.en}<" in row  # a choice through a path: its label
    assert row.index(f'/contact/{ann}"') < row.index(f'/contact/{bob}"')  # members by title, A to Z

    # the base pack's contact form lists its panels: a pack relating bookings to contacts adds its own
    pack = write_pack(tmp_path / "contact_panels", {"entities/contact.yaml": CONTACT_PANELS})
    with_panel = make_app(database_url, [metamodel.BASE_PACK, RELATIONS, pack])
    try:
        members = panels(with_panel.test_client().get(f"/contact/{ann}").text)["booking_attendees"]
    finally:
        with_panel.extensions["ossature"].dispose()
    assert members["rows"] == [booking] and members["count"] == 1
    assert members["new"] == f"/booking/new?prefill.attendees={ann}"  # a links relation: the new one has them as member


CONTACT_PANELS = "extends: contact\nviews:\n  form:\n    related: [{relation: booking_attendees}]\n"


# -- the New button ----------------------------------------------------------------------------


def test_new_opens_the_source_form_with_the_link_set(app, room):
    engine: Engine = app.extensions["ossature"]
    client = app.test_client()
    new = panels(client.get(f"/room/{room}").text)["booking_room"]["new"]
    assert new == f"/booking/new?prefill.room={room}"

    form = client.get(new).text
    assert re.search(rf'<option value="{room}" selected>', form)
    data = form_data(form)
    data["subject"] = "Made from the panel"
    response = client.post("/booking/new", data=data)

    assert response.status_code == 303
    created = int(re.search(r"/booking/(\d+)", response.headers["Location"])[1])
    assert engine.records.get("booking", created)["room"] == room
    assert panels(client.get(f"/room/{room}").text)["booking_room"]["rows"] == [created]


def test_a_prefilled_value_is_checked_as_any_input(app, room):
    page = app.test_client().get("/booking/new?prefill.room=Nowhere%20at%20all&prefill.nothing=1").text
    message = words("en")["f_link_none"].format(entity="Room", value="Nowhere at all")
    assert message.replace("'", "&#39;") in page or message in page


# -- which panels: related: [] and the actor's access -----------------------------------------


SHELF = """\
entity: shelf
label: {en: Shelf, fr: Étagère}
plural: {en: Shelves, fr: Étagères}
characteristics:
  name: {type: string, label: {en: Name, fr: Nom}, mandatory: true}
views:
  form:
    sections: [{title: {en: Shelf, fr: Étagère}, fields: [name]}]
    related: []
"""
BOOK = """\
entity: book
label: {en: Book, fr: Livre}
plural: {en: Books, fr: Livres}
characteristics:
  title: {type: string, label: {en: Title, fr: Titre}, mandatory: true}
  shelf: {type: link, entity: shelf, label: {en: Shelf, fr: Étagère}}
"""


def write_pack(root: Path, files: dict[str, str]) -> Path:
    for relative, text in {"pack.yaml": "pack: shelves\nversion: 1.0.0\n", **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.mark.parametrize("declared, shown", [("related: []", False), ("", True)])
def test_related_none_shows_no_panel(database_url, tmp_path, declared, shown):
    shelf = SHELF.replace("    related: []\n", f"    {declared}\n" if declared else "")
    pack = write_pack(tmp_path / "shelves", {"entities/shelf.yaml": shelf, "entities/book.yaml": BOOK})
    app = make_app(database_url, [metamodel.BASE_PACK, pack])
    try:
        engine: Engine = app.extensions["ossature"]
        ours = create(engine, "shelf", {"name": "Top"})
        create(engine, "book", {"title": "Dune", "shelf": ours})
        page = app.test_client().get(f"/shelf/{ours}").text
        assert ("related-panels" in page) is shown
        if shown:
            assert panels(page)["book_shelf"]["count"] == 1
    finally:
        app.extensions["ossature"].dispose()


@pytest.fixture
def base_app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url, [metamodel.BASE_PACK], SECRET_KEY="t", TESTING=True)
    Accounts(app.extensions["ossature"]).migrate()
    yield app
    app.extensions["ossature"].dispose()


def log_in(client, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_panels_show_only_what_the_actor_may_read(base_app):
    """Sales read opportunities of their own only, and no tickets; support reads no opportunity."""
    engine: Engine = base_app.extensions["ossature"]
    accounts = Accounts(engine)
    sam = accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"], team="sales_france")
    other = accounts.create_user("olga", "Olga Other", PASSWORD, ["sales"], team="sales_france")
    accounts.create_user("sue", "Sue Support", PASSWORD, ["support"])
    account = create(engine, "account", {"name": "Acme", "assigned_to": sam})
    own = create(engine, "opportunity", {"name": "Mine", "account": account, "assigned_to": sam})
    create(engine, "opportunity", {"name": "Hers", "account": account, "assigned_to": other})
    contact = create(engine, "contact", {"last_name": "Durand", "account": account, "assigned_to": sam})

    client = base_app.test_client()
    log_in(client, "sam")
    shown = panels(client.get(f"/account/{account}").text)
    assert shown["opportunity_account"]["count"] == 1 and shown["opportunity_account"]["rows"] == [own]
    assert shown["opportunity_account"]["new"] == f"/opportunity/new?prefill.account={account}"
    assert "ticket_account" not in shown  # sales read no tickets

    support = base_app.test_client()
    log_in(support, "sue")
    seen = panels(support.get(f"/account/{account}").text)
    assert "opportunity_account" not in seen and seen["contact_account"]["rows"] == [contact]
    assert seen["contact_account"]["new"] is None  # support may not create contacts


AUDITOR = """\
role: auditor
label: {en: Auditor, fr: Auditeur}
entities:
  room: {can: [read]}
  site: {can: [read]}
  booking: {can: [read], hidden: [room]}
"""


def test_a_relation_through_a_hidden_link_shows_no_panel_and_hidden_columns_are_left_out(database_url, tmp_path):
    """Bookings' room is hidden from auditors: the panel of the bookings in that room would tell
    it; the backup room's panel shows, without the room column nor the paths through it."""
    pack = write_pack(tmp_path / "audit", {"roles/auditor.yaml": AUDITOR})
    app = make_app(database_url, [metamodel.BASE_PACK, RELATIONS, pack], SECRET_KEY="t", TESTING=True)
    engine: Engine = app.extensions["ossature"]
    try:
        accounts = Accounts(engine)
        accounts.migrate()
        accounts.create_user("ada", "Ada Auditor", PASSWORD, ["auditor"])
        country = create(engine, "country", {"name": "France", "code": "FR"})
        region = create(engine, "region", {"name": "Auvergne", "country": country})
        site = create(engine, "site", {"name": "Vichy", "city": "Vichy", "region": region})
        mode = engine.model.value_list("room_access").values[0].code
        room, other = (create(engine, "room", {"name": n, "site": site, "access_mode": mode}) for n in ("A", "B"))
        booking = create(engine, "booking", {"subject": "Audit", "room": other, "backup_room": room})
        client = app.test_client()
        log_in(client, "ada")

        response = client.get(f"/room/{room}")
        shown = panels(response.text)

        assert response.status_code == 200 and list(shown) == ["booking_backup_room"] and shown["booking_backup_room"]["rows"] == [booking]
        labels = shown["booking_backup_room"]["headers"]
        assert "Room" not in labels and not any(label.startswith("Room ›") for label in labels)
        assert shown["booking_backup_room"]["new"] is None  # they may not create bookings
    finally:
        engine.dispose()


# -- cost --------------------------------------------------------------------------------------


def test_a_record_page_costs_as_many_statements_for_more_related_rows(database_url):
    app = make_app(database_url, [metamodel.BASE_PACK])
    engine: Engine = app.extensions["ossature"]
    try:
        users = [create(engine, "user", {"username": f"u{i}", "display_name": f"User {i}"}) for i in range(6)]
        accounts = [create(engine, "account", {"name": name}) for name in ("Few", "Many")]
        for account, count in zip(accounts, (3, 9)):
            for i in range(count):
                create(engine, "opportunity", {"name": f"O{i}", "account": account, "assigned_to": users[i % 6]})
                create(engine, "contact", {"last_name": f"C{i}", "account": account, "assigned_to": users[i % 6]})
        client = app.test_client()
        counts = []
        for account in accounts:
            client.get(f"/account/{account}")  # warm caches (layouts, titles templates)
            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            sa.event.listen(engine.db, "before_cursor_execute", listener)
            try:
                page = client.get(f"/account/{account}").text
            finally:
                sa.event.remove(engine.db, "before_cursor_execute", listener)
            assert len(panels(page)["opportunity_account"]["rows"]) in (3, 9)
            counts.append(len(statements))
        assert counts[0] == counts[1]
    finally:
        engine.dispose()


# -- owned entities ----------------------------------------------------------------------------


def test_owned_entities_have_no_pages(app, room):
    engine: Engine = app.extensions["ossature"]
    booking = engine.records.create("booking", {"subject": "Lunch", "room": room, "meals": [{"dish": "Soup"}]},
                                    SYSTEM_ACTOR)
    owned = [e.name for e in engine.model.entities.values() if e.owned_by is not None]
    assert owned == ["meal"]
    client = app.test_client()
    line = booking["meals"][0]["id"]
    for url in ("/meal/", "/meal/new", f"/meal/{line}", f"/meal/{line}/history", "/meal/trash", "/meal/import",
                "/meal/export.csv"):
        assert client.get(url).status_code == 404, url
    home = client.get("/").text
    assert 'href="/meal/' not in home and engine.model.entity("meal").plural.en not in home
    assert 'href="/booking/' in home
    admin_page = client.get("/admin/entities/meal")
    assert admin_page.status_code == 200
    assert 'id="records-link"' not in admin_page.text and 'href="/admin/entities/booking' in admin_page.text
