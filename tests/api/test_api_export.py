"""Exports through the API: `GET /api/v1/<entity>/export` streams the file, `POST` queues a job."""

from __future__ import annotations

import csv
import io

import icalendar
import pytest
import vobject
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator

from engine import Engine
from engine.exchange.exporter import Export, export_formats
from ui_renderer.api import openapi
from ui_renderer.api.export_routes import api_export


@pytest.fixture(autouse=True)
def export_routes(app: Flask, engine: Engine, tmp_path) -> None:
    if "api_export" not in app.blueprints:  # until ui_renderer/api registers it
        app.register_blueprint(api_export)
    engine.jobs.files_dir = tmp_path / "files"


def csv_rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def listed_total(caller, entity: str, query: str = "") -> int:
    response = caller.get(f"/{entity}?size=1{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["total"]


def test_the_csv_holds_every_page_of_the_list(admin, engine):
    response = admin.get("/contact/export?sort=last_name&size=5&page=2")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8", "one charset, not two"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contact.csv"'
    rows = csv_rows(response.data)
    assert rows[0] == ["Last name", "First name", "Account", "Function", "Business phone", "Business email", "Assigned to"]
    assert len(rows) - 1 == listed_total(admin, "contact") > 5


def test_rows_come_in_the_lists_order(admin):
    rows = csv_rows(admin.get("/contact/export?sort=-city,last_name&columns=id").data)
    listed, page = [], 1
    while True:
        body = admin.get(f"/contact?sort=-city,last_name&size=200&page={page}").get_json()
        listed += [str(item["id"]) for item in body["items"]]
        if page >= body["pages"]:
            break
        page += 1
    assert [r[0] for r in rows[1:]] == listed


def test_filters_language_separator_and_columns(as_role):
    admin_fr = as_role("admin", lang="fr")
    response = admin_fr.get("/account/export?f_key_account=true&delimiter=%3B&columns=name,key_account,tags")
    rows = csv_rows(response.data, ";")
    assert rows[0] == ["Nom", "Grand compte", "Étiquettes"]
    assert len(rows) - 1 == listed_total(admin_fr, "account", "&f_key_account=true")
    assert {r[1] for r in rows[1:]} == {"oui"}


def test_a_sales_rep_exports_their_scope_only(as_role):
    sales = as_role("sales")
    rows = csv_rows(sales.get("/lead/export?tab=all").data)
    assert len(rows) - 1 == listed_total(sales, "lead", "&tab=all")
    assert listed_total(as_role("admin"), "lead", "&tab=all") > len(rows) - 1


def test_vcard_and_icalendar(admin):
    response = admin.get("/contact/export?format=vcard&size=1")
    assert response.mimetype == "text/vcard" and response.headers["Content-Type"].count("charset=") <= 1
    assert response.headers["Content-Disposition"] == 'attachment; filename="contact.vcf"'
    assert len(list(vobject.readComponents(response.data.decode()))) == listed_total(admin, "contact")
    response = admin.get("/event/export?format=icalendar")
    assert response.mimetype == "text/calendar" and response.headers["Content-Type"].count("charset=") <= 1
    events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert len(events) == listed_total(admin, "event")


@pytest.mark.parametrize(("query", "parameter"), [
    ("format=icalendar", "format"), ("format=xlsx", "format"), ("delimiter=%7C", "delimiter"),
    ("columns=last_name,nonsense", "columns"), ("f_nonsense=1", "f_nonsense"), ("sort=nonsense", "sort"),
])
def test_bad_arguments_are_400_naming_them(as_role, query, parameter):
    response = as_role("admin", lang="fr").get(f"/contact/export?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request" and parameter in body["errors"]
    assert body["message"] == f"Paramètre de requête invalide « {parameter} »."


def test_without_the_export_permission_it_is_403(as_role):
    support = as_role("support")
    assert support.get("/contact?size=1").status_code == 200
    response = support.get("/contact/export")
    assert response.status_code == 403
    assert response.get_json()["message"] == "You may not export records of Contact."
    assert support.post("/contact/export", {}).status_code == 403


def test_an_unknown_entity_is_404_and_no_token_401(app, admin):
    assert admin.get("/nothing/export").status_code == 404
    response = app.test_client().get("/api/v1/contact/export")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_a_large_export_runs_as_a_job(admin, engine):
    response = admin.post("/contact/export", {"format": "csv", "filter": {"sort": "last_name"}, "columns": "all",
                                               "delimiter": ";"})
    assert response.status_code == 202
    job = response.get_json()
    assert job["kind"] == "export" and job["entity"] == "contact"
    actor = engine.jobs._actor({"user_id": admin.user_id, "lang": "en"})
    done = engine.jobs.wait(job["id"], timeout=60)
    assert done["state"] == "done", done["message"]
    path, name, media_type = engine.jobs.output_path(job["id"], actor)
    assert (name, media_type) == ("contact.csv", "text/csv; charset=utf-8")
    request = engine.records.list_request("contact", {"sort": ["last_name"]})
    direct = b"".join(Export(engine, "contact", request, actor, columns="all", delimiter=";").iter_bytes())
    assert path.read_bytes() == direct
    assert done["done"] == done["total"] == len(csv_rows(direct, ";")) - 1


@pytest.mark.parametrize(("body", "parameter"), [
    ({"format": "nope"}, "format"), ({"filter": {"f_nonsense": "1"}}, "f_nonsense"), ({"columns": 3}, "columns"),
])
def test_a_bad_job_is_refused_before_it_is_queued(admin, engine, body, parameter):
    response = admin.post("/contact/export", body)
    assert response.status_code == 400 and parameter in response.get_json()["errors"]
    assert engine.jobs.list(engine.jobs._actor({"user_id": admin.user_id})) == []


def test_the_openapi_operations_make_a_valid_document(app):
    """What ui_renderer/api/export_openapi.py adds for every entity, checked against OpenAPI 3.1."""
    engine = app.extensions["ossature"]
    document = openapi.engine_document(engine)
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    operations = document["paths"]["/contact/export"]
    assert {p["name"] for p in operations["get"]["parameters"]} >= {"format", "delimiter", "columns", "q", "sort"}
    assert "page" not in {p["name"] for p in operations["get"]["parameters"]}
    for entity in engine.model.entities:
        fitting = list(export_formats(engine, entity))
        formats = document["paths"][f"/{entity}/export"]
        assert [p for p in formats["get"]["parameters"] if p["name"] == "format"][0]["schema"]["enum"] == fitting
        assert formats["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["format"][
            "enum"] == fitting
    assert set(operations["post"]["responses"]) == {"202", "400", "401", "403", "413", "422", "429"}
