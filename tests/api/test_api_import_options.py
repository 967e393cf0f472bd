"""Import options the engine refuses at submit (engine/exchange/import_checks.py) reach an API caller
as a 400 naming the option, in the caller's language, with the same words as the pages and the
command line, and no job is queued: the API needs no check of its own for them."""

from __future__ import annotations

import io
from typing import Any, Callable

import pytest

from api_support import Caller
from engine import SYSTEM_ACTOR, Engine

CSV = "Last name;Company\nDurand;Acme\n"


def send(caller: Caller, content: bytes, **fields: str) -> Any:
    data: dict[str, Any] = {**fields, "file": (io.BytesIO(content), "data.csv")}
    return caller.client.post("/api/v1/lead/import", data=data, headers=caller.headers(),
                              content_type="multipart/form-data")


@pytest.mark.parametrize("lang,expected", [
    ("en", "'rot13' is not an encoding of text files: give one such as utf-8, cp1252 or iso-8859-1."),
    ("fr", "« rot13 » n'est pas un encodage de fichiers texte : indiquez-en un comme utf-8, cp1252 ou iso-8859-1."),
])
def test_a_codec_that_is_not_a_text_encoding_answers_400_naming_the_encoding(
    engine: Engine, as_role: Callable[..., Caller], lang: str, expected: str
) -> None:
    response = send(as_role("admin", lang=lang), CSV.encode("utf-8"), encoding="rot13")
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"]["encoding"][0]["message"] == expected
    assert engine.jobs.list(SYSTEM_ACTOR) == []


def test_a_header_holding_nul_fails_the_job_with_words_the_job_json_shows(
    engine: Engine, admin: Caller
) -> None:
    response = send(admin, b"Last name;Comp\x00any\nDurand;Acme\n")
    assert response.status_code == 202, response.get_json()
    job = engine.jobs.wait(response.get_json()["id"], timeout=60)
    assert job["state"] == "failed"
    shown = admin.client.get(f"/api/v1/jobs/{job['id']}", headers=admin.headers()).get_json()
    assert shown["message"] == ("Column 2 of the header ('Comp\\u0000any') contains the character U+0000 (NUL), "
                                "which cannot be stored: remove it from the file.")
    errors = admin.client.get(f"/api/v1/jobs/{job['id']}/errors", headers=admin.headers()).get_json()["items"]
    assert [(e["row"], e["field"]) for e in errors] == [(1, "Comp\\u0000any")]


@pytest.mark.parametrize("option", ["encoding", "delimiter"])
def test_an_empty_encoding_or_delimiter_means_left_out_as_the_document_says(
    engine: Engine, admin: Caller, option: str
) -> None:
    document = admin.client.get("/api/v1/openapi.json").get_json()
    form = document["paths"]["/lead/import"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "" in form["properties"][option]["enum"]
    response = send(admin, b"Last name;Company;Phone\nDurand;Acme;0102030405\n", **{option: ""})
    assert response.status_code == 202, response.get_json()
    job = engine.jobs.wait(response.get_json()["id"], timeout=30)
    assert job["state"] == "done" and job["counts"]["created"] == 1, (job["counts"], job["message"])
