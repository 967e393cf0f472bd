"""Imports through the API: a multipart upload answered 202 with the job; dry run, upsert,
mapping; every option checked before a job exists; the size limit and the permission.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask

import metamodel
from api_support import Caller
from engine import SYSTEM_ACTOR, Engine
from ui_renderer import create_app

LIMIT = 400
CSV = "Last name;Company;Email\nDurand;Acme;durand@example.com\n;NoName;nowhere\nPetit;Bolt;petit@example.com\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def app(database_url: str, files: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "TESTING": True,
                      "FILES_DIR": str(files), "IMPORT_MAX_BYTES": LIMIT})
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


def send(caller: Caller, entity: str, content: str | bytes, *, name: str = "data.csv", **fields: str) -> Any:
    """POST the file `content` (named `name`) with the form `fields`, as a multipart body."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    data: dict[str, Any] = {**fields, "file": (io.BytesIO(raw), name)}
    return caller.client.post(f"/api/v1/{entity}/import", data=data, headers=caller.headers(),
                              content_type="multipart/form-data")


def finished(engine: Engine, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.get_json()
    return engine.jobs.wait(response.get_json()["id"], timeout=60)


def lead_names(engine: Engine) -> list[str]:
    rows = engine.records.list("lead", engine.records.list_request("lead", {"tab": ["all"], "size": ["200"]})).rows
    return sorted(row["last_name"] for row in rows)


def test_an_import_is_a_job_with_its_row_errors(engine: Engine, admin: Caller) -> None:
    response = send(admin, "lead", CSV)
    assert response.status_code == 202
    body = response.get_json()
    assert body["kind"] == "import" and body["entity"] == "lead" and body["owner_id"] == admin.user_id
    assert "path" not in body["params"] and body["params"]["options"]["dry_run"] is False
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{body['id']}")
    job = engine.jobs.wait(body["id"], timeout=60)
    assert job["state"] == "done" and job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert lead_names(engine) == ["Durand", "Petit"]
    errors = admin.get(f"/jobs/{body['id']}/errors").get_json()["items"]
    assert sorted((e["row"], e["field"], e["message"]) for e in errors) == [
        (3, "Email", "Not a valid email address."), (3, "Last name", "This field is mandatory.")]


def test_a_dry_run_writes_nothing_and_speaks_the_callers_language(engine: Engine, as_role: Callable[..., Caller]) -> None:
    french = as_role("manager", lang="fr")
    job = finished(engine, send(french, "lead", CSV, dry_run="true"))
    assert job["counts"] == {"would_create": 2, "would_update": 0, "unchanged": 0, "refused": 1}
    assert lead_names(engine) == []
    messages = {e["message"] for e in french.get(f"/jobs/{job['id']}/errors").get_json()["items"]}
    assert "Ce champ est obligatoire." in messages


def test_upsert_on_the_natural_key_with_a_mapping(engine: Engine, admin: Caller) -> None:
    acme = engine.records.create("account", {"name": "Acme", "city": "Paris"}, SYSTEM_ACTOR)
    csv = "Company;Town;Notes\nAcme;Lyon;x\nBolt;Nantes;y\n"
    mapping = json.dumps({"Company": "name", "Town": "city", "Notes": ""})
    job = finished(engine, send(admin, "account", csv, upsert="true", mapping=mapping))
    assert job["state"] == "done" and job["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "refused": 0}
    assert engine.records.get("account", acme["id"])["city"] == "Lyon"
    again = finished(engine, send(admin, "account", csv, key="name", mapping=mapping))
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "refused": 0}


def test_a_vcard_for_contacts(engine: Engine, admin: Caller) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Martin;Camille;;;\r\nFN:Camille Martin\r\nEMAIL:cm@example.com\r\nEND:VCARD\r\n"
    job = finished(engine, send(admin, "contact", card, format="vcard", name="cards.vcf"))
    assert job["state"] == "done" and job["counts"]["created"] == 1
    assert send(admin, "lead", card, format="vcard").status_code == 400


@pytest.mark.parametrize("fields, parameter", [
    ({"format": "xlsx"}, "format"),
    ({"encoding": "klingon"}, "encoding"),
    ({"delimiter": "|"}, "delimiter"),
    ({"dry_run": "perhaps"}, "dry_run"),
    ({"upsert": "2"}, "upsert"),
    ({"mapping": "{not json"}, "mapping"),
    ({"mapping": "[1, 2]"}, "mapping"),
    ({"mapping": json.dumps({"Last name": "shoe_size"})}, "mapping"),
    ({"mapping": json.dumps({"Last name": "qualified_on"})}, "mapping"),
    ({"key": "last_name,shoe_size"}, "key"),
    ({"mapping": json.dumps({"Last\u0000name": "last_name"})}, "mapping"),
])
def test_bad_options_answer_400_before_any_job(
    engine: Engine, admin: Caller, files: Path, fields: dict[str, str], parameter: str
) -> None:
    response = send(admin, "lead", CSV, **fields)
    assert response.status_code == 400, response.get_json()
    assert parameter in response.get_json()["errors"]
    assert engine.jobs.list(SYSTEM_ACTOR) == []
    assert not (files / "uploads").exists() or not any((files / "uploads").iterdir())


def test_a_missing_or_empty_file_answers_400(engine: Engine, admin: Caller) -> None:
    missing = admin.client.post("/api/v1/lead/import", data={"dry_run": "true"}, headers=admin.headers(),
                                content_type="multipart/form-data")
    assert missing.status_code == 400 and "file" in missing.get_json()["errors"]
    french = admin.client.post("/api/v1/lead/import", data={"dry_run": "true"},
                               headers={**admin.headers(), "Accept-Language": "fr"}, content_type="multipart/form-data")
    assert french.get_json()["errors"]["file"][0]["message"] == "un fichier est attendu (champ multipart « file »)"
    not_multipart = admin.post("/lead/import", {"file": "Last name\nDoe\n"})
    assert not_multipart.status_code == 400
    empty = send(admin, "lead", b"")
    assert empty.status_code == 400 and empty.get_json()["errors"]["file"][0]["message"] == "The file is empty."
    assert engine.jobs.list(SYSTEM_ACTOR) == []


def test_the_size_limit_takes_the_limit_and_refuses_one_byte_more(engine: Engine, admin: Caller, files: Path) -> None:
    header = "Last name;Email\n"
    at_limit = header + "x" * (LIMIT - len(header))
    assert send(admin, "lead", at_limit, dry_run="true").status_code == 202
    refused = send(admin, "lead", at_limit + "y")
    assert refused.status_code == 413
    assert refused.get_json()["error"] == "too_large" and str(LIMIT) in refused.get_json()["message"]
    assert len(engine.jobs.list(SYSTEM_ACTOR)) == 1
    assert len(list((files / "uploads").glob("*.csv"))) == 1
    far_over = send(admin, "lead", "x" * (LIMIT + 100_000))
    assert far_over.status_code == 413


def test_importing_needs_the_permission_a_token_and_a_known_entity(
    app: Flask, engine: Engine, as_role: Callable[..., Caller]
) -> None:
    sales = as_role("sales")
    refused = send(sales, "lead", CSV)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    anonymous = app.test_client().post("/api/v1/lead/import", data={"file": (io.BytesIO(b"a\n"), "a.csv")},
                                       content_type="multipart/form-data")
    assert anonymous.status_code == 401
    assert send(as_role("manager"), "nothing", CSV).status_code == 404
    assert engine.jobs.list(SYSTEM_ACTOR) == []
