"""The import pages: upload (formats, size limit), the column mapping, dry run and import as jobs,
their per-row errors on the job page, and the "import" permission.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import SYSTEM_ACTOR
from jobs_support import build_app, engine_of, location_job, login

LIMIT = 300
LEADS_CSV = (
    "Last name;Société;E-mail;Shoe size\n"
    "Durand;Acme;durand@example.com;42\n"
    ";NoName;not-an-address;40\n"
    "Petit;Bolt;petit@example.com;\n"
)
VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Martin;Camille;;;\r\nFN:Camille Martin\r\n"
    "EMAIL;TYPE=WORK:camille@example.com\r\nTEL;TYPE=CELL:+33 6 12 34 56 78\r\nEND:VCARD\r\n"
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def app(database_url: str, files: Path) -> Iterator[Flask]:
    app = build_app(database_url, files, IMPORT_MAX_BYTES=LIMIT)
    yield app
    engine_of(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return login(app, "ines")


def upload(client: FlaskClient, entity: str, content: bytes | str, *, name: str = "data.csv", fmt: str = "csv",
           lang: str = "") -> Any:
    data = content.encode("utf-8") if isinstance(content, str) else content
    suffix = f"?lang={lang}" if lang else ""
    return client.post(f"/{entity}/import{suffix}", data={"file": (io.BytesIO(data), name), "format": fmt},
                       content_type="multipart/form-data")


def mapping_url(response: Any) -> str:
    assert response.status_code == 303, response.text[:500]
    return response.headers["Location"]


def selected_targets(page: str) -> dict[str, str]:
    """Header -> the characteristic selected for it ("" for skip)."""
    found = {}
    for header, select in re.findall(r'<tr data-header="([^"]*)">(.*?)</tr>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        found[html.unescape(header)] = chosen.group(1) if chosen else None
    return found


def form_of(page: str, action: str) -> dict[str, Any]:
    """The mapping form's fields as the page fills them (headers and selected targets)."""
    data: dict[str, Any] = {"action": action}
    for index, header in re.findall(r'name="header_(\d+)" value="([^"]*)"', page):
        data[f"header_{index}"] = html.unescape(header)
    for index, select in re.findall(r'<select name="map_(\d+)".*?>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        data[f"map_{index}"] = chosen.group(1) if chosen else ""
    return data


def wait(app: Flask, response: Any) -> dict[str, Any]:
    assert response.status_code == 303, response.text[:500]
    job = engine_of(app).jobs.wait(location_job(response), timeout=60)
    assert job["state"] in ("done", "failed"), job
    return job


def lead_names(app: Flask) -> list[str]:
    records = engine_of(app).records
    rows = records.list("lead", records.list_request("lead", {"tab": ["all"], "size": ["200"]})).rows
    return sorted(row["last_name"] for row in rows)


# -- permission and upload -------------------------------------------------------------------------------


def test_importing_needs_the_import_permission(app: Flask, client: FlaskClient) -> None:
    sales = login(app, "sacha", ("sales",), team="sales_france")
    assert sales.get("/lead/import").status_code == 403
    assert upload(sales, "lead", LEADS_CSV).status_code == 403
    token = mapping_url(upload(client, "lead", LEADS_CSV)).rsplit("/", 1)[1]
    assert sales.get(f"/lead/import/{token}").status_code == 403
    assert sales.post(f"/lead/import/{token}", data={"action": "import"}).status_code == 403
    assert client.get("/nothing/import").status_code == 404


def test_the_upload_form_offers_the_formats_fitting_the_entity(client: FlaskClient) -> None:
    leads = client.get("/lead/import").text
    assert 'enctype="multipart/form-data"' in leads and 'name="csrf_token"' in leads
    offered = re.findall(r'name="format" value="(\w+)"', leads)
    assert offered[0] == "csv" and "vcard" not in offered  # (the test plugin adds a format fitting every entity)
    contacts = client.get("/contact/import").text
    assert re.findall(r'name="format" value="(\w+)"', contacts)[0] == "csv"
    assert "vcard" in re.findall(r'name="format" value="(\w+)"', contacts)
    assert "vCard (address books)" in contacts
    assert "Importer des pistes" in client.get("/lead/import?lang=fr").text


def test_the_size_limit_takes_a_file_of_the_limit_and_refuses_one_byte_more(
    app: Flask, client: FlaskClient, files: Path
) -> None:
    header = "Last name;E-mail\n"
    at_limit = header + "x" * (LIMIT - len(header))
    assert len(at_limit.encode()) == LIMIT
    accepted = upload(client, "lead", at_limit)
    assert accepted.status_code == 303
    refused = upload(client, "lead", at_limit + "y")
    assert refused.status_code == 413
    assert f"The file is too large: at most {LIMIT} bytes" in html.unescape(refused.text)
    stored = sorted(p.suffix for p in (files / "uploads").iterdir())
    assert stored == [".csv", ".json"]
    french = upload(client, "lead", at_limit + "y", lang="fr")
    assert "Le fichier est trop gros" in french.text


def test_no_file_an_empty_file_or_an_unfitting_format_are_explained(client: FlaskClient) -> None:
    none = client.post("/lead/import", data={"format": "csv"}, content_type="multipart/form-data")
    assert none.status_code == 400 and "Choose a file to upload." in none.text
    empty = upload(client, "lead", b"")
    assert empty.status_code == 400 and "The file is empty." in empty.text
    vcard_for_leads = upload(client, "lead", VCARDS, name="cards.vcf", fmt="vcard")
    assert vcard_for_leads.status_code == 400 and "This format cannot import leads." in vcard_for_leads.text


def test_an_upload_is_stored_under_a_random_name_and_opened_by_its_owner_only(
    app: Flask, client: FlaskClient, files: Path
) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV, name="../../etc/passwd"))
    token = url.rsplit("/", 1)[1]
    assert re.fullmatch(r"/lead/import/[A-Za-z0-9_-]{32}", url)
    assert sorted(p.name for p in (files / "uploads").iterdir()) == [f"{token}.csv", f"{token}.json"]
    page = client.get(url).text
    assert "File: passwd (" in page
    other = login(app, "olga")
    assert other.get(url).status_code == 404
    assert client.get(f"/account/import/{token}").status_code == 404
    assert client.get("/lead/import/not-a-token").status_code == 404
    gone = client.get("/lead/import/" + "A" * 32)
    assert gone.status_code == 404 and "This upload is no longer available: upload the file again." in gone.text
    assert 'action="/lead/import"' in gone.text
    assert other.post(url, data={"action": "import", "header_0": "Last name", "map_0": "last_name"}).status_code == 404
    assert engine_of(app).jobs.list(SYSTEM_ACTOR) == []


def test_uploads_older_than_kept_go_with_the_next_upload_but_not_the_file_of_an_active_import(
    app: Flask, client: FlaskClient, files: Path
) -> None:
    old, busy, recent = (mapping_url(upload(client, "lead", LEADS_CSV)).rsplit("/", 1)[1] for _ in range(3))
    folder = files / "uploads"
    for path in folder.iterdir():
        if not path.name.startswith(recent):  # written eight days earlier than it was
            aged = path.stat().st_mtime - 8 * 86400
            os.utime(path, (aged, aged))
    engine = engine_of(app)
    with engine.db.begin() as conn:  # an import still queued reads `busy`
        conn.execute(engine.jobs.table.insert().values(
            kind="import", entity="lead", owner_id=None, actor={}, state="queued", done=0, counts={}, error_count=0,
            attempts=0, created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
            params={"entity": "lead", "path": str(folder / f"{busy}.csv"), "options": {}}))
    newest = mapping_url(upload(client, "lead", LEADS_CSV)).rsplit("/", 1)[1]
    assert sorted(p.stem for p in folder.iterdir()) == sorted([busy, busy, recent, recent, newest, newest])
    assert client.get(f"/lead/import/{old}").status_code == 404


# -- the mapping page ---------------------------------------------------------------------------------


def test_the_mapping_page_proposes_the_automatic_mapping(client: FlaskClient) -> None:
    page = client.get(mapping_url(upload(client, "lead", LEADS_CSV))).text
    assert selected_targets(page) == {"Last name": "last_name", "Société": "company", "E-mail": "email",
                                      "Shoe size": ""}
    shoe = re.search(r'<tr data-header="Shoe size">.*?</tr>', page, re.S).group(0)
    assert "No characteristic has this name" in shoe and "42 · 40" in shoe
    assert "Durand · Petit" in page
    assert "found: utf-8" in page and "found: ;" in page
    assert '<option value="qualified_on">' not in page  # read-only characteristics are not offered
    assert 'id="dry-run"' in page and 'id="import"' in page
    french_url = mapping_url(upload(client, "lead", LEADS_CSV, lang="fr"))
    assert french_url.endswith("?lang=fr")
    french = client.get(french_url).text
    assert "Importer des pistes : associer les colonnes" in french and "— ignorer —" in french


def test_reading_the_file_again_with_another_separator_and_encoding(client: FlaskClient) -> None:
    url = mapping_url(upload(client, "lead", "Last name,City\nAndré,Nîmes\n".encode("cp1252")))
    found = client.get(url).text
    assert selected_targets(found) == {"Last name": "last_name", "City": "city"} and "found: cp1252" in found
    semicolons = client.get(url + "?delimiter=%3B&encoding=cp1252").text
    assert list(selected_targets(semicolons)) == ["Last name,City"]
    assert '<option value=";" selected>' in semicolons and '<input type="hidden" name="delimiter" value=";">' in semicolons
    bad = client.get(url + "?encoding=utf-16").text
    assert "The file cannot be read" in bad


def test_a_vcard_for_contacts_is_mapped_from_its_fields(app: Flask, client: FlaskClient) -> None:
    url = mapping_url(upload(client, "contact", VCARDS, name="cards.vcf", fmt="vcard"))
    assert url.startswith("/contact/import/")
    page = client.get(url).text
    targets = selected_targets(page)
    assert targets["last_name"] == "last_name" and targets["email"] == "email" and targets["mobile"] == "mobile"
    assert 'class="import-settings"' not in page  # no encoding nor separator to choose for a vCard
    job = wait(app, client.post(url, data=form_of(page, "import")))
    assert job["state"] == "done" and job["counts"]["created"] == 1
    records = engine_of(app).records
    contact = records.list("contact", records.list_request("contact", {"tab": ["all"]})).rows[0]
    assert (contact["last_name"], contact["email"]) == ("Martin", "camille@example.com")


# -- dry run, import, errors ---------------------------------------------------------------------------


def test_a_dry_run_reports_the_rows_refused_and_writes_nothing_then_imports(app: Flask, client: FlaskClient) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    page = client.get(url).text
    dry = client.post(url, data=form_of(page, "dry_run"))
    job = wait(app, dry)
    assert job["state"] == "done"
    assert job["counts"] == {"would_create": 2, "would_update": 0, "unchanged": 0, "refused": 1}
    assert lead_names(app) == []
    job_page = client.get(dry.headers["Location"]).text
    assert "Dry run: nothing was written." in job_page and "Import (dry run)" in job_page
    errors = re.findall(r'<tr data-row="(\d+)">.*?<td>([^<]*)</td>\s*<td class="job-error-message">([^<]*)</td>',
                        job_page, re.S)
    assert errors == [("3", "E-mail", "Not a valid email address."), ("3", "Last name", "This field is mandatory.")]
    assert "<dt>File</dt><dd>data.csv</dd>" in job_page
    confirm = re.search(r'<form method="post" action="(/jobs/\d+/confirm-import)"', job_page).group(1)

    real = client.post(confirm)
    job = wait(app, real)
    assert job["state"] == "done" and not job["params"]["options"]["dry_run"]
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert job["params"]["options"]["mapping"] == {"Last name": "last_name", "Société": "company",
                                                   "E-mail": "email", "Shoe size": ""}
    assert lead_names(app) == ["Durand", "Petit"]
    real_page = client.get(real.headers["Location"]).text
    assert "confirm-import" not in real_page and '<li data-count="created"><strong>2</strong> created</li>' in real_page


def test_confirming_is_only_for_a_finished_dry_run_of_ones_own_whose_file_is_there(
    app: Flask, client: FlaskClient, files: Path
) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    real = client.post(url, data=form_of(client.get(url).text, "import"))
    job = wait(app, real)
    refused = client.post(f"/jobs/{job['id']}/confirm-import")
    assert refused.status_code == 409 and "Only a finished dry run can be imported this way" in refused.text
    dry = client.post(url, data=form_of(client.get(url).text, "dry_run"))
    dry_job = wait(app, dry)
    assert login(app, "pat").post(f"/jobs/{dry_job['id']}/confirm-import").status_code == 404
    for stored in (files / "uploads").iterdir():
        stored.unlink()
    gone = client.post(f"/jobs/{dry_job['id']}/confirm-import")
    assert gone.status_code == 404 and "This upload is no longer available" in gone.text
    assert lead_names(app) == ["Durand", "Petit"]


def test_a_changed_mapping_and_upsert_on_the_natural_key(app: Flask, client: FlaskClient) -> None:
    records = engine_of(app).records
    existing = records.create("account", {"name": "Acme", "city": "Paris"}, SYSTEM_ACTOR)
    csv = "Name;Town\nAcme;Lyon\nBolt;Nantes\n"
    url = mapping_url(upload(client, "account", csv))
    page = client.get(url).text
    assert selected_targets(page) == {"Name": "name", "Town": ""}
    assert "None chosen: the entity's natural key (Name)." in html.unescape(page)
    form = {**form_of(page, "import"), "map_1": "city", "upsert": "1"}
    job = wait(app, client.post(url, data=form))
    assert job["state"] == "done" and job["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "refused": 0}
    assert records.get("account", existing["id"])["city"] == "Lyon"


def test_a_file_that_cannot_be_imported_fails_its_job_with_the_reason(app: Flask, client: FlaskClient) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    form = {**form_of(client.get(url).text, "import"), "key": "company"}
    form["map_1"] = ""
    job = wait(app, client.post(url, data=form))
    assert job["state"] == "failed"
    page = client.get(f"/jobs/{job['id']}").text
    assert job["message"] == "The key field 'company' has no column in the file."
    assert '<td class="job-error-message">The key field &#39;company&#39; has no column in the file.</td>' in page
    assert lead_names(app) == []


def test_a_target_the_user_may_not_fill_is_refused_on_the_page(app: Flask, client: FlaskClient) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    form = {**form_of(client.get(url).text, "import"), "map_3": "qualified_on"}
    response = client.post(url, data=form)
    assert response.status_code == 400
    assert "“qualified_on” cannot be imported into" in html.unescape(response.text)
    unknown_key = client.post(url, data={**form_of(client.get(url).text, "import"), "key": "shoe_size"})
    assert unknown_key.status_code == 400 and "is not a characteristic" in html.unescape(unknown_key.text)
    assert engine_of(app).jobs.list(SYSTEM_ACTOR) == []


def test_the_list_page_links_to_the_import(client: FlaskClient) -> None:
    assert 'href="/lead/import" id="import-link"' in client.get("/lead/").text


# -- options the engine refuses, and files it cannot store ------------------------------------------------


@pytest.mark.parametrize("field,value,english,french", [
    ("encoding", "rot13", "&#39;rot13&#39; is not an encoding of text files",
     "« rot13 » n&#39;est pas un encodage de fichiers texte"),
    ("encoding", "klingon", "Unknown encoding &#39;klingon&#39;", "Encodage inconnu « klingon »"),
    ("delimiter", ";;", "The separator must be one character", "Le séparateur doit être un seul caractère"),
    ("delimiter", '"', "The separator must be one character", "Le séparateur doit être un seul caractère"),
])
def test_an_option_the_engine_refuses_is_said_on_the_mapping_page_and_queues_nothing(
    app: Flask, client: FlaskClient, field: str, value: str, english: str, french: str
) -> None:
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    for lang, expected in (("en", english), ("fr", french)):
        page = client.get(f"{url}?lang={lang}").text
        response = client.post(f"{url}?lang={lang}", data={**form_of(page, "dry_run"), field: value})
        assert response.status_code == 400
        assert expected in response.text
        assert "LookupError" not in response.text and "Traceback" not in response.text
    assert engine_of(app).jobs.list(SYSTEM_ACTOR) == []


def test_a_header_holding_nul_is_named_on_the_mapping_page(client: FlaskClient) -> None:
    url = mapping_url(upload(client, "lead", b"Last name;Soci\x00et\xc3\xa9\nDurand;Acme\n"))
    page = client.get(url)
    assert page.status_code == 400
    assert ("The file cannot be read: Column 2 of the header (&#39;Soci\\u0000eté&#39;) contains the character U+0000 (NUL), which cannot "
            "be stored: remove it from the file.") in page.text


def test_a_failed_jobs_page_shows_words_and_an_error_id_never_the_database(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from engine.exchange import importer

    def database_refuses(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.DataError("INSERT INTO lead (secret) VALUES (%s)", {}, Exception("driver words"))

    monkeypatch.setattr(importer.Importer, "run", database_refuses)
    url = mapping_url(upload(client, "lead", LEADS_CSV))
    for lang, words in (("en", "The job stopped on an unexpected error (error id {id})"),
                        ("fr", "La tâche s&#39;est arrêtée sur une erreur inattendue (identifiant d&#39;erreur {id})")):
        page = client.get(f"{url}?lang={lang}").text
        job = wait(app, client.post(f"{url}?lang={lang}", data=form_of(page, "import")))
        assert job["state"] == "failed"
        error_id = re.search(r"\b([0-9a-f]{8})\b", job["message"]).group(1)
        job_page = client.get(f"/jobs/{job['id']}?lang={lang}").text
        assert words.format(id=error_id) in job_page
        assert "INSERT" not in job_page and "driver words" not in job_page and "DataError" not in job_page
