"""The lines of records through the API: `GET /<entity>/export?lines=<name>` streams them, one row
per line keyed by its record; `POST /<entity>/import` with `lines` reads such a file back as a job;
the OpenAPI document names the parameter."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

from api_support import Caller, build_app, make_caller
from engine import SYSTEM_ACTOR

RELATIONS = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"
API_RELATIONS = Path(__file__).resolve().parent / "relations_pack"


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[Flask]:
    app = build_app(module_database_url, RELATIONS, API_RELATIONS, seed=False)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture(scope="module")
def admin(app: Flask) -> Caller:
    return make_caller(app, "lines.admin", ("admin",))


@pytest.fixture(scope="module")
def quotes(app: Flask) -> list[int]:
    engine = app.extensions["ossature"]
    contact = engine.records.create("contact", {"last_name": "Ann", "email": "lines@x.org"}, SYSTEM_ACTOR)["id"]
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        return tx.create_many("quote", [
            {"name": "API A", "reviewers": [contact], "items": [{"product": "Pen", "price": "2"}]},
            {"name": "API B", "reviewers": [contact]},
        ])


def send(caller: Caller, content: str, **fields: str) -> Any:
    data: dict[str, Any] = {**fields, "file": (io.BytesIO(content.encode()), "items.csv")}
    return caller.client.post("/api/v1/quote/import", data=data, headers=caller.headers(),
                              content_type="multipart/form-data")


def test_lines_export_then_import_through_the_api(app: Flask, admin: Caller, quotes: list[int]) -> None:
    a, b = quotes
    exported = admin.get("/quote/export?lines=items&q=API")
    assert exported.status_code == 200, exported.data[:300]
    assert 'filename="quote-items.csv"' in exported.headers["Content-Disposition"]
    rows = exported.data.decode("utf-8-sig").splitlines()
    assert rows == ["Quote,Product,Price,Delivery,Quantity", f"#{a},Pen,2.00,,1"]
    response = send(admin, "\n".join([*rows, f"#{b},Pad,3,,2"]) + "\n", lines="items")
    assert response.status_code == 202, response.get_json()
    job = app.extensions["ossature"].jobs.wait(response.get_json()["id"], timeout=60)
    assert job["kind"] == "import_lines" and job["counts"]["updated"] == 2, job
    items = app.extensions["ossature"].records.get("quote", b)["items"]
    assert [(i["product"], i["quantity"]) for i in items] == [("Pad", 2)]


def test_a_bad_lines_name_or_option_is_a_400_naming_it(admin: Caller, quotes: list[int]) -> None:
    refused = admin.get("/quote/export?lines=reviewers")
    assert refused.status_code == 400 and "lines" in str(refused.get_json())
    refused = send(admin, "Quote,Product\n", lines="reviewers")
    assert refused.status_code == 400 and "lines" in str(refused.get_json())
    refused = send(admin, "Quote,Product\n", lines="items", upsert="true")
    assert refused.status_code == 400 and "upsert" in str(refused.get_json())


def test_the_document_names_the_lines_parameter(admin: Caller) -> None:
    document = admin.get("/openapi.json").get_json()
    export = document["paths"]["/quote/export"]["get"]["parameters"]
    assert {"name": "lines"}.items() <= next(p for p in export if p["name"] == "lines").items()
    form = document["paths"]["/quote/import"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["lines"]["enum"] == ["items"]
