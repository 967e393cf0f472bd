"""Paging the API's lists: the total each way (`total=exact|capped|none`), keyset paging (`after=`,
`next_after`), what the document says of them, and the JSON of a page."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any, Iterator

import pytest
from flask import Flask, jsonify

from api_support import Caller, build_app, make_caller
from engine import SYSTEM_ACTOR
from engine.records.list_cursor import encode_cursor
from ui_renderer.api.openapi import engine_document
from ui_renderer.api.serialize import page_json

CAP = 5
SECTORS = {"it": CAP, "banking": CAP + 1, "retail": 2}
"""Sector -> how many open leads have it: the cap exactly, one past it, a few."""
FIRST_NAMES = ["Anne", "Anne", None, "Bruno", None, "Chloé"]
SCORES = [None, 1, 1, 3, None, 5, 0]
LEADS = sum(SECTORS.values())


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[Flask]:
    app = build_app(module_database_url, seed=False, config={"API_TOTAL_CAP": CAP})
    rows = []
    for sector, count in SECTORS.items():
        for _ in range(count):
            i = len(rows)
            rows.append({"last_name": f"Name {i % 4}", "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
                         "sector": sector, "score": SCORES[i % len(SCORES)], "phone": "+33 1 23 45 67 89",
                         "budget": f"{i * 100}.50" if i % 2 else None, "tags": ["newsletter"] if i % 3 else [],
                         "key_account": i % 2 == 0})
    app.extensions["ossature"].records.create_many("lead", rows, SYSTEM_ACTOR)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture(scope="module")
def admin(app: Flask) -> Caller:
    return make_caller(app, "paging.admin", ("admin",))


@pytest.fixture(scope="module")
def admin_fr(app: Flask) -> Caller:
    return make_caller(app, "paging.admin.fr", ("admin",), lang="fr")


def listed(caller: Caller, query: str, status: int = 200) -> dict[str, Any]:
    response = caller.get(f"/lead?{query}")
    assert response.status_code == status, response.get_json()
    return response.get_json()


# -- the total ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sector, total, capped", [("it", CAP, False), ("banking", CAP, True), ("retail", 2, False)])
def test_a_capped_total_stops_at_the_cap_and_says_so(admin, sector, total, capped):
    body = listed(admin, f"f_sector={sector}&total=capped&size=2")
    assert (body["total"], body["total_capped"], body["pages"]) == (total, capped, -(-total // 2))
    exact = listed(admin, f"f_sector={sector}&size=2")
    assert (exact["total"], exact["total_capped"]) == (SECTORS[sector], False)
    assert body["items"] == exact["items"] and body["next_after"] == exact["next_after"]


def test_without_a_total_the_page_is_the_same_and_says_no_count(admin):
    body = listed(admin, "f_sector=banking&total=none&size=4&sort=first_name")
    exact = listed(admin, "f_sector=banking&size=4&sort=first_name")
    assert (body["total"], body["pages"], body["total_capped"]) == (None, None, False)
    assert body["items"] == exact["items"] and body["next_after"] == exact["next_after"] is not None
    assert (body["page"], body["size"], body["groups"]) == (1, 4, None)


def test_the_default_total_is_exact(admin):
    body = listed(admin, "size=1")
    assert (body["total"], body["total_capped"], body["pages"]) == (LEADS, False, LEADS)


@pytest.mark.parametrize("caller, message", [("admin", "expected one of exact, capped, none"),
                                             ("admin_fr", "une valeur parmi exact, capped, none")])
def test_an_unknown_total_is_refused_by_name(request, caller, message):
    body = listed(request.getfixturevalue(caller), "total=some", 400)
    assert list(body["errors"]) == ["total"] and ("'total'" in body["message"] or "« total »" in body["message"])
    assert message in body["errors"]["total"][0]["message"]


# -- keyset paging --------------------------------------------------------------------------------


def walk(caller: Caller, query: str) -> list[int]:
    """Every id of the list, following `next_after` from the first page to the last."""
    ids: list[int] = []
    cursor = ""
    for _ in range(LEADS + 1):
        body = listed(caller, f"{query}{cursor}")
        ids += [item["id"] for item in body["items"]]
        if body["next_after"] is None:
            return ids
        cursor = f"&after={body['next_after']}"
    raise AssertionError("the cursor never reached the end")


@pytest.mark.parametrize("sort", ["first_name", "-first_name", "score", "-score", "last_name,-score", "-created_at",
                                  "id", "-key_account,budget"])
@pytest.mark.parametrize("total", ["exact", "capped", "none"])
def test_following_next_after_gives_every_record_once_in_order(admin, sort, total):
    """Ties (few last and first names), NULLs (first names, scores, budgets), both directions."""
    everything = [item["id"] for item in listed(admin, f"sort={sort}&size=200")["items"]]
    assert len(everything) == LEADS
    for size in (1, 3, LEADS):
        assert walk(admin, f"sort={sort}&size={size}&total={total}") == everything, size


def test_next_after_follows_the_filters(admin):
    everything = [item["id"] for item in listed(admin, "f_sector=banking&sort=score&size=200")["items"]]
    assert walk(admin, "f_sector=banking&sort=score&size=2") == everything and len(everything) == CAP + 1


def test_a_full_last_page_has_no_next(admin):
    first = listed(admin, "f_sector=it&size=3")
    second = listed(admin, f"f_sector=it&size=3&after={first['next_after']}")
    assert len(second["items"]) == CAP - 3 and second["next_after"] is None
    whole = listed(admin, f"f_sector=it&size={CAP}")
    assert len(whole["items"]) == CAP and whole["next_after"] is None


def _damaged() -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": ["-created_at"], "v": ["yesterday", 1]}).encode()).decode()


@pytest.mark.parametrize("cursor", ["not a cursor!", "abc", "!!", _damaged(), encode_cursor(["last_name"], ["x", 1]),
                                    encode_cursor(["-created_at"], ["2025-01-01T00:00:00"])])
@pytest.mark.parametrize("caller, words", [("admin", "not a position in this list"),
                                           ("admin_fr", "pas une position dans cette liste")])
def test_a_bad_cursor_or_one_of_another_sort_is_refused_by_name(request, cursor, caller, words):
    body = listed(request.getfixturevalue(caller), f"after={cursor}", 400)
    assert body["error"] == "bad_request" and list(body["errors"]) == ["after"]
    assert words in body["errors"]["after"][0]["message"]


def test_a_cursor_is_refused_when_the_sort_changes(admin):
    cursor = listed(admin, "sort=first_name&size=2")["next_after"]
    assert listed(admin, f"sort=first_name&size=2&after={cursor}")["items"]
    body = listed(admin, f"sort=-first_name&size=2&after={cursor}", 400)
    assert list(body["errors"]) == ["after"]


# -- selections and exports take the whole list ---------------------------------------------------


@pytest.mark.parametrize("cursor", ["valid", "damaged"])
def test_a_mass_update_filter_with_a_cursor_and_no_total_acts_on_every_match(admin, cursor):
    if cursor == "valid":
        cursor = listed(admin, "f_sector=banking&size=2")["next_after"]
    response = admin.post("/lead/mass-update", {"filter": {"f_sector": "banking", "after": cursor, "total": "none"},
                                                "values": {"nurturing": True}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["matched"] == CAP + 1


@pytest.mark.parametrize("cursor", ["valid", "damaged"])
def test_an_export_ignores_the_paging_arguments(admin, cursor):
    if cursor == "valid":
        cursor = listed(admin, "f_sector=banking&size=2")["next_after"]
    response = admin.get(f"/lead/export?f_sector=banking&columns=id&size=2&after={cursor}&total=some")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) - 1 == CAP + 1


# -- the document ---------------------------------------------------------------------------------


def test_the_document_describes_after_and_total_on_lists_only(app):
    document = engine_document(app.extensions["ossature"])
    listing = {p["name"]: p for p in document["paths"]["/lead"]["get"]["parameters"]}
    assert listing["total"]["schema"]["enum"] == ["exact", "capped", "none"]
    assert listing["after"]["schema"]["type"] == "string"
    exported = {p["name"] for p in document["paths"]["/lead/export"]["get"]["parameters"]}
    assert not exported & {"page", "size", "after", "total"} and "f_sector" in exported
    page = document["components"]["schemas"]["LeadPage"]
    assert {"total_capped", "next_after"} <= set(page["required"])
    assert page["properties"]["total"]["type"] == ["integer", "null"]


# -- the JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["sort=budget&size=50", "group=sector&size=3", "total=none&size=2&sort=-budget"])
def test_a_page_is_the_text_jsonify_gives_of_its_values(app, admin, query):
    """Decimals as exact strings, dates in ISO with Z, lists of codes, booleans, nulls."""
    response = admin.get(f"/lead?{query}")
    engine = app.extensions["ossature"]
    args = {name: [value] for name, value in (part.split("=") for part in query.split("&"))}
    with app.test_request_context():
        result = engine.records.list("lead", engine.records.list_request("lead", args))
        assert response.data == jsonify(page_json(result)).data
    assert response.mimetype == "application/json"
    items = response.get_json()["items"]
    assert all(item["budget"] is None or item["budget"].endswith(".50") for item in items)
    assert all(item["created_at"].endswith("Z") for item in items)
    if query.startswith("sort=budget"):
        assert "100.50" in [item["budget"] for item in items] and ["newsletter"] in [item["tags"] for item in items]
