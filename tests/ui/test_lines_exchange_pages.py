"""The lines of records on the import page: download of the current lines (`/<entity>/export-lines/<lines>`)
and a form sending a file of lines (`POST /<entity>/import-lines`), as a dry run or an import, as jobs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR
from jobs_support import engine_of, location_job, login
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

TESTS = Path(__file__).resolve().parents[1]
PACKS = [metamodel.BASE_PACK, TESTS / "metamodel" / "packs" / "relations", TESTS / "api" / "relations_pack"]


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": PACKS, "FILES_DIR": str(tmp_path / "files"),
                      **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    yield app
    engine_of(app).dispose()


@pytest.fixture
def quotes(app: Flask) -> list[int]:
    engine = engine_of(app)
    contact = engine.records.create("contact", {"last_name": "Ann", "email": "ann@x.org"}, SYSTEM_ACTOR)["id"]
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        return tx.create_many("quote", [
            {"name": "A", "reviewers": [contact], "items": [{"product": "Pen", "price": "2"}]},
            {"name": "B", "reviewers": [contact]},
        ])


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    return login(app, "ada", roles=("admin",))


def send(client: FlaskClient, text: str, action: str, lines: str = "items") -> object:
    return client.post("/quote/import-lines", data={"file": (io.BytesIO(text.encode()), "items.csv"), "lines": lines,
                                                    "action": action}, content_type="multipart/form-data")


def test_the_import_page_offers_the_lines_download_and_form(admin: FlaskClient, quotes: list[int]) -> None:
    page = admin.get("/quote/import").text
    assert 'data-lines="items"' in page and "/quote/export-lines/items" in page
    assert "Items: lines of quotes" in page
    a, _ = quotes
    download = admin.get("/quote/export-lines/items")
    assert download.status_code == 200 and 'filename="quote-items.csv"' in download.headers["Content-Disposition"]
    assert download.data.decode("utf-8-sig").splitlines() == ["Quote,Product,Price,Delivery,Quantity", f"#{a},Pen,2.00,,1"]
    assert admin.get("/quote/export-lines/reviewers").status_code == 404


def test_a_dry_run_then_the_import_for_real(app: Flask, admin: FlaskClient, quotes: list[int]) -> None:
    a, b = quotes
    text = f"Quote,Product,Quantity\n#{a},Ink,2\n#{b},Pad,1\n"
    response = send(admin, text, "dry_run")
    assert response.status_code == 303, response.text[:400]
    job = engine_of(app).jobs.wait(location_job(response), timeout=60)
    assert job["state"] == "done" and job["counts"]["would_update"] == 2
    page = admin.get(f"/jobs/{job['id']}").text
    assert "Import of lines (dry run)" in page
    assert [i["product"] for i in engine_of(app).records.get("quote", a)["items"]] == ["Pen"]
    confirmed = admin.post(f"/jobs/{job['id']}/confirm-import")
    assert confirmed.status_code == 303, confirmed.text[:400]
    real = engine_of(app).jobs.wait(location_job(confirmed), timeout=60)
    assert real["kind"] == "import_lines" and real["counts"]["updated"] == 2
    assert [i["product"] for i in engine_of(app).records.get("quote", a)["items"]] == ["Ink"]


def test_bad_rows_are_listed_on_the_job_page(app: Flask, admin: FlaskClient, quotes: list[int]) -> None:
    a, _ = quotes
    response = send(admin, f"Quote,Product,Quantity\n#{a},Ink,0\n", "import")
    job = engine_of(app).jobs.wait(location_job(response), timeout=60)
    assert job["counts"]["refused"] == 1
    page = admin.get(f"/jobs/{job['id']}").text
    assert "Quantity" in page
    assert [i["product"] for i in engine_of(app).records.get("quote", a)["items"]] == ["Pen"]


def test_a_characteristic_that_is_not_lines_is_explained(admin: FlaskClient, quotes: list[int]) -> None:
    response = send(admin, "Quote,Product\n", "import", lines="reviewers")
    assert response.status_code == 400 and "quote has no lines characteristic" in response.text
