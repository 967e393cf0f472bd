"""Deep pages of the generated lists: the "next" link reads the next page from the last row of
this one (`after=`), every other link by its page number; a mass update from such a page
acts on the whole selection."""

from __future__ import annotations

import html
import re
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

LEADS = [("Arnaud", "banking"), ("Berger", "retail"), ("Cordier", "banking"), ("Dumas", "it"), ("Estève", "retail"),
         ("Faure", "it"), ("Garnier", "banking")]


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    engine = app.extensions["ossature"]
    engine.migrate()
    engine.records.create_many("lead", [{"last_name": name, "sector": sector, "phone": "+33 1 23 45 67 89"}
                                        for name, sector in LEADS], SYSTEM_ACTOR)
    yield app
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    return response.text


def names(page: str) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'class="record-link"[^>]*>([^<]*)</a>', page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def arguments(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize("sort", ["last_name", "-last_name", "sector", "-created_at"])
def test_following_next_reads_every_record_once_from_cursors(client, sort):
    everything = names(get(client, f"/lead/?sort={sort}&size=200"))
    assert sorted(everything) == sorted(name for name, _ in LEADS)
    url, seen, page = f"/lead/?sort={sort}&size=2", [], 1
    while url:
        text = get(client, url)
        seen += names(text)
        shown = f"{2 * page - 1}–{min(2 * page, len(LEADS))} of {len(LEADS)}"
        assert shown in text, (url, shown)
        url = link(text, "next")
        if url:
            page += 1
            args = arguments(url)
            assert args["page"] == [str(page)] and len(args["after"]) == 1 and args["size"] == ["2"]
    assert seen == everything and page == 4


def test_every_other_link_of_a_cursor_page_goes_by_page_number(client):
    first = get(client, "/lead/?size=2&sort=last_name")
    second_url = link(first, "next")
    second = get(client, second_url)
    assert names(second) == ["Cordier", "Dumas"]
    assert "after" in arguments(link(second, "next"))
    assert "after" not in arguments(link(second, "prev"))
    hrefs = [html.unescape(href) for href in re.findall(r'href="(/lead/\?[^"]*)"', second)]
    others = [href for href in hrefs if href != link(second, "next")]
    assert others and all("after" not in arguments(href) for href in others)
    assert 'name="after"' not in second  # neither the filter form nor the mass update form carries it
    assert names(get(client, "/lead/?size=2&sort=last_name&page=3")) == ["Estève", "Faure"]


def test_a_grouped_list_pages_by_number(client):
    """A grouped list is read sorted by its group first, an order its URL does not say."""
    url, seen = "/lead/?size=3&group=sector&sort=last_name", []
    while url:
        text = get(client, url)
        seen += names(text)
        url = link(text, "next")
        assert url is None or "after" not in arguments(url)
    assert sorted(seen) == sorted(name for name, _ in LEADS) and len(seen) == len(LEADS)


def test_a_cursor_made_for_another_sort_or_damaged_gives_the_400_page(client):
    cursor = arguments(link(get(client, "/lead/?size=2&sort=last_name"), "next"))["after"][0]
    for url in (f"/lead/?size=2&sort=-last_name&after={cursor}", "/lead/?after=damaged"):
        page = get(client, url, 400)
        assert 'data-parameter="after"' in page
    french = get(client, f"/lead/?sort=company&after={cursor}&lang=fr", 400)
    assert "pas une position dans cette liste" in french


def test_the_list_page_always_counts_its_records(client):
    page = get(client, "/lead/?size=2&total=none")
    assert f"1–2 of {len(LEADS)}" in page and names(page) == names(get(client, "/lead/?size=2"))


def test_a_mass_update_of_all_matching_from_a_cursor_page_takes_the_whole_selection(app, client):
    cursor = arguments(link(get(client, "/lead/?size=2&f_sector=banking&sort=last_name"), "next"))["after"][0]
    form = {"all_matching": "1", "f_sector": "banking", "sort": "last_name", "size": "2", "page": "2",
            "after": cursor, "set": "category", "value_category": "hot"}
    preview = client.post("/lead/mass-update", data=form).text
    assert "All 3 records matching the list" in preview and 'name="after"' not in preview
    done = client.post("/lead/mass-update/apply", data=form).text
    assert 'data-changed="3"' in done
    records = app.extensions["ossature"].records
    hot = records.list("lead", records.list_request("lead", {"f_category": ["hot"], "size": ["200"]})).rows
    assert sorted(row["last_name"] for row in hot) == ["Arnaud", "Cordier", "Garnier"]
