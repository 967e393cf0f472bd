"""Downloads from the list pages: `/<entity>/export.<format>?<list arguments>` (ui_renderer/lists/exports.py)."""

from __future__ import annotations

import csv
import io
import re
from typing import Iterator

import icalendar
import pytest
import vobject
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.access.accounts import Accounts
from engine.exchange.exporter import export_formats
from plugins.api import ExportFormat
from plugins.host.hookspecs import hookimpl
from plugins.host.manager import plugin_manager
from ui_renderer import create_app
from ui_renderer.lists.exports import content_type, export_links, exports

PASSWORD = "correct horse battery"


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "SECRET_KEY": "t", "TESTING": True})
    if "exports" not in app.blueprints:  # until ui_renderer/app.py registers it
        app.register_blueprint(exports)
    engine = app.extensions["ossature"]
    engine.migrate()
    accounts = Accounts(engine)
    accounts.migrate()
    sam = accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"], team="sales_france")
    accounts.create_user("sue", "Sue Support", PASSWORD, ["support"])
    acme = engine.records.create("account", {"name": "Acme", "assigned_to": sam}, SYSTEM_ACTOR)["id"]
    engine.records.create_many("contact", [
        {"salutation": "mrs", "first_name": "Camille", "last_name": "Martin", "account": acme, "city": "Paris",
         "function": "ceo", "email": "camille@acme.example", "assigned_to": sam},
        {"first_name": "Bruno", "last_name": "Berger", "city": "Lyon", "assigned_to": sam},
        {"first_name": "Nora", "last_name": "Nobody", "city": "Paris"},  # in nobody's team
    ], SYSTEM_ACTOR)
    engine.records.create("event", {"subject": "Kick-off", "starts_at": "2026-03-02T09:00:00", "assigned_to": sam},
                          SYSTEM_ACTOR)
    yield app
    engine.dispose()


def log_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def sam(app: Flask) -> FlaskClient:
    return log_in(app, "sam")


def rows_of(data: bytes, delimiter: str = ",") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_the_csv_download_holds_the_users_records_with_the_lists_arguments(sam):
    response = sam.get("/contact/export.csv?sort=last_name&f_city=Paris&page=3&size=1")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and response.mimetype_params == {"charset": "utf-8"}
    assert response.headers["Content-Disposition"] == 'attachment; filename="contact.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = rows_of(response.data)
    assert rows[0] == ["Last name", "First name", "Account", "Function", "Business phone", "Business email", "Assigned to"]
    # every page, the city filter, sam's team only (Nora is nobody's)
    assert rows[1:] == [["Martin", "Camille", "Acme", "Chief executive officer", "", "camille@acme.example", "sam"]]  # a user link shows its natural key (username): it imports back


def test_french_semicolons_and_every_column(sam):
    response = sam.get("/contact/export.csv?lang=fr&delimiter=%3B&columns=all&sort=last_name")
    rows = rows_of(response.data, ";")
    assert rows[0][:3] == ["Civilité", "Prénom", "Nom"] and len(rows[0]) > 20
    assert [r[2] for r in rows[1:]] == ["Berger", "Martin"]
    assert rows[2][0] == "Mme"


def test_vcard_and_icalendar_downloads(sam):
    response = sam.get("/contact/export.vcard?sort=last_name")
    assert response.mimetype == "text/vcard"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contact.vcf"'
    assert [c.n.value.family for c in vobject.readComponents(response.data.decode())] == ["Berger", "Martin"]
    response = sam.get("/event/export.icalendar")
    assert response.mimetype == "text/calendar"
    events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Kick-off"]


@pytest.mark.parametrize("path", ["/account/export.vcard", "/contact/export.xlsx", "/nothing/export.csv"])
def test_a_format_that_does_not_fit_or_an_unknown_entity_is_not_found(sam, path):
    assert sam.get(path).status_code == 404


def test_a_bad_list_argument_is_a_400_page_naming_it(sam):
    response = sam.get("/contact/export.csv?f_nonsense=1")
    assert response.status_code == 400
    assert 'data-parameter="f_nonsense"' in response.text
    response = sam.get("/contact/export.csv?delimiter=%7C&lang=fr")
    assert response.status_code == 400 and "séparateur" in response.text


def test_without_the_export_permission_the_download_is_refused(app):
    sue = log_in(app, "sue")
    assert sue.get("/contact/").status_code == 200  # support reads contacts...
    response = sue.get("/contact/export.csv")  # ...but may not export them
    assert response.status_code == 403
    assert "Your roles do not allow this." in response.text


def test_downloads_need_a_logged_in_user(app):
    response = app.test_client().get("/contact/export.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_export_links_carry_the_list_arguments_and_only_for_users_who_may_export(app, sam):
    args = {"sort": ["last_name"], "f_city": ["Paris"], "page": ["2"], "size": ["10"], "lang": ["fr"]}

    def links_as(client: FlaskClient) -> list[dict]:
        """`export_links` in a request carrying that client's session cookie (as its user)."""
        cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
        with app.test_request_context("/contact/", headers={"Cookie": f"{cookie.key}={cookie.value}"}):
            return export_links("contact", args, "fr")

    links = links_as(sam)
    built_in = [link for link in links if link["format"] != "jsonl"]  # jsonl: the test suite's plugin
    assert [(link["format"], link["url"]) for link in built_in] == [
        ("csv", "/contact/export.csv?sort=last_name&f_city=Paris&lang=fr"),
        ("csv", "/contact/export.csv?sort=last_name&f_city=Paris&lang=fr&delimiter=%3B"),
        ("vcard", "/contact/export.vcard?sort=last_name&f_city=Paris&lang=fr"),
    ]
    assert links[0]["label"] == "Exporter en CSV (tableur)"
    assert links_as(log_in(app, "sue")) == []


# -- the Content-Type header: one charset, whatever the format declares -----------------------


class HtmlExport:
    """A format that names its charset in its media type, as an HTML page export would."""

    @staticmethod
    @hookimpl
    def ossature_export_formats():
        def write(stream, columns, rows):
            stream.write("<table>".encode())
            for row in rows:
                stream.write(f"<tr><td>{row[columns[0]]}</td></tr>".encode())
            stream.write(b"</table>")

        return {"html": ExportFormat("html", {"en": "Web page", "fr": "Page web"}, "html", "text/html; charset=utf-8",
                                     write)}


@pytest.fixture
def html_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The app, its engine built again with the HTML format installed."""
    built = app.extensions["ossature"]
    engine = Engine(built.model, database_url, plugins=plugin_manager(extra=[HtmlExport]))
    app.extensions["ossature"] = engine
    yield app
    app.extensions["ossature"] = built
    engine.dispose()


def entity_for(found: ExportFormat) -> str:
    return next(e for e in ("contact", "event") if found.fits(e))


def test_every_download_sends_a_single_charset(html_app):
    sam = log_in(html_app, "sam")
    formats = export_formats(html_app.extensions["ossature"])
    assert "html" in formats and formats["html"].media_type.count("charset") == 1
    for name, found in formats.items():
        response = sam.get(f"/{entity_for(found)}/export.{name}")
        assert response.status_code == 200, name
        (header,) = response.headers.get_all("Content-Type")
        assert header.lower().count("charset=") == (1 if header.startswith("text/") else 0), (name, header)
        assert header.split(";")[0] == found.media_type.split(";")[0].strip(), name
        assert response.data  # read to its end: the stream closes its request context
    page = sam.get("/contact/export.html")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.data.decode("utf-8").startswith("<table><tr><td>")


@pytest.mark.parametrize(("declared", "sent"), [
    ("text/html; charset=utf-8", "text/html; charset=utf-8"),
    ("text/csv;charset=UTF-8", "text/csv;charset=UTF-8"),
    ("text/calendar", "text/calendar; charset=utf-8"),
    ("application/jsonl", "application/jsonl"),
])
def test_the_content_type_of_a_declared_media_type(declared, sent):
    assert content_type(declared) == sent
