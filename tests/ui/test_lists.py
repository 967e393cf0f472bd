"""The generated list pages and mass updates, through the Flask test client.

Most tests use a small lead book whose every row is known, so each sort, filter, tab,
group and page can be checked row by row; one test renders every list view of the
base pack over the demo data.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

import metamodel
from engine import SYSTEM_ACTOR
from ossature.demo import seed_demo
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

LEADS = [
    # last_name, first_name, company, status, sector, source, score, budget, key_account, owner, city, tags
    ("Arnaud", "Anne", "Acme", "new", "banking", "website", 5, "1000.50", True, "alice", "Paris", ["vip"]),
    ("Berger", "Bruno", "Bolt", "new", "retail", "cold_call", 0, None, False, "bob", "Lyon", []),
    ("Cordier", "Chloé", "Cargo", "qualification_call", "banking", "referral", 3, "2500", False, "alice", "Paris", []),
    ("Dumas", "David", "Delta", "commercial_qualification", "it", "partner", 4, "10000", True, None, "Nantes", ["vip"]),
    ("Estève", "Emma", "Echo", "lost", "retail", "website", 1, None, False, "bob", "Lille", []),
    ("Faure", "Félix", "Fox", "converted", "it", "referral", 5, "50000", True, "alice", "Paris", []),
]
OPEN_NEWEST_FIRST = ["Dumas", "Cordier", "Berger", "Arnaud"]


def build_app(database_url: str) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    app.extensions["ossature"].migrate()
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    records = app.extensions["ossature"].records
    users = records.create_many("user", [
        {"username": "alice", "display_name": "Alice Martin", "team": "sales_france"},
        {"username": "bob", "display_name": "Bob Durand", "team": "sales_export"},
        {"username": "carol", "display_name": "Carol Petit", "team": "key_accounts"},
    ], SYSTEM_ACTOR)
    owners = dict(zip(("alice", "bob", "carol"), users))
    rows = []
    for last, first, company, status, sector, source, score, budget, key, owner, city, tags in LEADS:
        row: dict[str, Any] = {
            "last_name": last, "first_name": first, "company": company, "status": status, "sector": sector,
            "source": source, "score": score, "budget": budget, "key_account": key, "city": city, "tags": tags,
            "assigned_to": owners.get(owner), "phone": "+33 1 23 45 67 89",
        }
        if status == "lost":
            row["lost_reason"] = "price"
        rows.append(row)
    records.create_many("lead", rows, SYSTEM_ACTOR)
    app.config["USERS"] = owners
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def names(page: str) -> list[str]:
    """The record-link texts of the page's rows (for leads: their last names), in order."""
    return [html.unescape(text) for text in re.findall(r'class="record-link"[^>]*>([^<]*)</a>', page)]


def lead_ids(app: Flask) -> dict[str, int]:
    rows = app.extensions["ossature"].records.list("lead", app.extensions["ossature"].records.list_request(
        "lead", {"tab": ["all"], "size": ["200"]})).rows
    return {row["last_name"]: row["id"] for row in rows}


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    return response.text


# -- every entity ---------------------------------------------------------------------------------


def test_every_list_view_of_the_base_pack_renders_over_the_demo_data(database_url: str) -> None:
    app = build_app(database_url)
    engine = app.extensions["ossature"]
    seed_demo(engine, seed=0)
    client = app.test_client()
    try:
        for entity in engine.model.entities.values():
            for view in (v for v in entity.views if v.kind == "list"):
                query = f"?view={view.name}&tab=all"
                page = get(client, f"/{entity.name}/{query}")
                assert f"<h1>{escape(entity.plural.en)} " in page
                assert page.count('class="record-link"') == min(view.page_size, engine.records.list(
                    entity.name, engine.records.list_request(entity.name, {"view": [view.name], "tab": ["all"]})).total)
                for group in view.group_by:
                    assert "<details class=\"group\" open>" in get(client, f"/{entity.name}/{query}&group={group}")
                assert str(escape(entity.plural.fr)) in get(client, f"/{entity.name}/{query}&lang=fr")
    finally:
        engine.dispose()


def test_an_empty_list_says_so_and_offers_no_selection(client: FlaskClient) -> None:
    page = get(client, "/ticket/")
    assert "No record matches." in page and "0 records" in page
    assert 'name="select_page"' not in page and 'name="id"' not in page
    assert 'href="/ticket/new"' in page


def test_an_unknown_entity_is_not_found(client: FlaskClient) -> None:
    get(client, "/spaceship/", 404)


# -- the lead list ------------------------------------------------------------------------------


def test_the_lead_list_shows_open_leads_newest_first_with_typed_values(app: Flask, client: FlaskClient) -> None:
    page = get(client, "/lead/")
    assert names(page) == OPEN_NEWEST_FIRST
    assert "4 records" in page
    assert 'href="/lead/new"' in page
    alice = app.config["USERS"]["alice"]
    assert f'<a href="/user/{alice}">Alice Martin</a>' in page
    assert '<span class="badge" style="--badge: #3b82f6">New</span>' in page
    assert 'title="5/5"' in page and "★★★★★" in page
    assert f'href="/lead/{lead_ids(app)["Arnaud"]}"' in page


def test_link_titles_are_read_once_per_linked_entity_not_per_row(app: Flask, client: FlaskClient) -> None:
    engine = app.extensions["ossature"]
    statements: list[str] = []
    import sqlalchemy as sa

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", record)
    try:
        get(client, "/lead/?tab=all")
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", record)
    user_queries = [s for s in statements if "FROM ent_user" in s]
    assert len(user_queries) == 1
    assert len(statements) <= 5  # count, page, user titles, active jobs, records to clean up: none per row


def test_tabs_show_open_history_and_all_records(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?tab=history")) == ["Faure", "Estève"]
    assert len(names(get(client, "/lead/?tab=all"))) == 6
    page = get(client, "/lead/?tab=history&q=e")
    assert '<a href="/lead/?q=e" aria-current' not in page
    assert 'href="/lead/?q=e&amp;tab=all"' in page
    assert 'aria-current="page" class="current">History</a>' in page


def test_sorting_by_a_column_and_toggling_its_direction(client: FlaskClient) -> None:
    ascending = get(client, "/lead/?sort=last_name")
    assert names(ascending) == sorted(OPEN_NEWEST_FIRST)
    assert 'aria-sort="ascending"' in ascending
    assert 'href="/lead/?sort=-last_name"' in ascending
    descending = get(client, "/lead/?sort=-last_name")
    assert names(descending) == sorted(OPEN_NEWEST_FIRST, reverse=True)
    assert 'href="/lead/?sort=last_name"' in descending
    assert names(get(client, "/lead/?sort=-score")) == ["Arnaud", "Dumas", "Cordier", "Berger"]


def test_quick_search_looks_in_the_searchable_fields(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?q=acme")) == ["Arnaud"]
    assert names(get(client, "/lead/?q=LYON")) == ["Berger"]
    page = get(client, "/lead/?q=zzz")
    assert names(page) == [] and "No record matches." in page


def test_choice_filters_accept_several_values(client: FlaskClient) -> None:
    page = get(client, "/lead/?tab=all&f_sector=banking&f_sector=it&sort=last_name")
    assert names(page) == ["Arnaud", "Cordier", "Dumas", "Faure"]
    assert 'name="f_sector" value="banking" checked' in page
    assert "Sector: Banking and insurance, IT and software" in page


def test_status_and_multi_choice_filters(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?f_status=new")) == ["Berger", "Arnaud"]
    assert names(get(client, "/lead/?f_tags=vip")) == ["Dumas", "Arnaud"]


def multi_choice_chips() -> list[Any]:
    """Every multi_choice characteristic of the lead, filtered by its first code and by its first two."""
    model = metamodel.load_model([metamodel.BASE_PACK])
    cases = []
    for f in model.entity("lead").fields:
        if f.type != "multi_choice":
            continue
        values = [v for v in model.value_list(f.list).values if not v.retired]
        for chosen in (values[:1], values[:2]):
            cases.append(pytest.param(f, chosen, id=f"{f.name}-{len(chosen)}"))
    assert cases
    return cases


@pytest.mark.parametrize(("field", "chosen"), multi_choice_chips())
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_multi_choice_filter_chip_shows_the_labels_of_its_codes(client: FlaskClient, field: Any, chosen: list[Any],
                                                                  lang: str) -> None:
    query = "&".join(f"f_{field.name}={v.code}" for v in chosen)
    page = html.unescape(get(client, f"/lead/?tab=all&{query}&lang={lang}"))
    chip = f"{field.label.get(lang)}: {', '.join(v.label.get(lang) for v in chosen)}"
    assert f"<li>{chip} <a " in page
    letters = ", ".join(chosen[0].code)
    assert letters not in page


def test_link_filter_offers_the_target_records_and_filters_by_id(app: Flask, client: FlaskClient) -> None:
    alice = app.config["USERS"]["alice"]
    page = get(client, f"/lead/?tab=all&f_assigned_to={alice}&sort=last_name")
    assert names(page) == ["Arnaud", "Cordier", "Faure"]
    assert f'<option value="{alice}" selected>Alice Martin</option>' in page
    assert "Assigned to: Alice Martin" in page


def test_link_filter_takes_a_record_number_when_the_target_has_too_many_records(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ui_renderer.core.record_titles.CHOICE_LIMIT", 2)
    bob = app.config["USERS"]["bob"]
    page = get(client, f"/lead/?f_assigned_to={bob}")
    assert names(page) == ["Berger"]
    assert f'<input type="number" name="f_assigned_to" id="filter-assigned_to" min="1" step="1" inputmode="numeric" value="{bob}"' in page
    assert '<span class="chosen-title">Bob Durand</span>' in page
    assert '<input type="number" name="value_assigned_to"' in page
    assert f'<a href="/user/{bob}">Bob Durand</a>' in page


def test_link_filter_with_several_records_is_a_multiple_select(app: Flask, client: FlaskClient) -> None:
    users = app.config["USERS"]
    page = get(client, f"/lead/?f_assigned_to={users['alice']}&f_assigned_to={users['bob']}&sort=last_name")
    assert names(page) == ["Arnaud", "Berger", "Cordier"]
    assert '<select name="f_assigned_to" id="filter-assigned_to" aria-label="Assigned to" multiple size="6">' in page
    assert "Assigned to: Alice Martin, Bob Durand" in page


def test_boolean_filter_yes_no_and_any(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?f_key_account=true")) == ["Dumas", "Arnaud"]
    assert names(get(client, "/lead/?f_key_account=false")) == ["Cordier", "Berger"]
    page = get(client, "/lead/?f_key_account=")
    assert names(page) == OPEN_NEWEST_FIRST
    assert 'name="f_key_account" value="" checked' in page


def test_range_filters_include_their_bounds(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?f_score_min=3&f_score_max=4")) == ["Dumas", "Cordier"]
    assert names(get(client, "/lead/?f_score_min=5")) == ["Arnaud"]
    assert names(get(client, "/lead/?f_score_max=0")) == ["Berger"]
    assert names(get(client, "/lead/?f_budget_min=2500&f_budget_max=10000")) == ["Dumas", "Cordier"]
    assert names(get(client, "/lead/?f_budget_min=2500.01")) == ["Dumas"]
    page = get(client, "/lead/?f_score_min=3")
    assert "Score ≥ 3" in page


def test_text_filters_match_a_part_of_the_value(client: FlaskClient) -> None:
    assert names(get(client, "/lead/?f_company=OLT")) == ["Berger"]
    assert names(get(client, "/lead/?tab=all&f_city=ari&sort=last_name")) == ["Arnaud", "Cordier", "Faure"]


def test_removing_a_filter_keeps_the_rest_of_the_state(client: FlaskClient) -> None:
    page = get(client, "/lead/?f_sector=banking&f_key_account=true&sort=last_name")
    assert 'href="/lead/?sort=last_name&amp;f_key_account=true" title="Remove this filter"' in page


def test_grouping_counts_every_group_and_keeps_rows_together(client: FlaskClient) -> None:
    page = get(client, "/lead/?tab=all&group=status")
    overview = re.findall(r'<li><a href="[^"]*">([^<]+)</a> <span class="count">(\d+)</span></li>', page)
    assert overview == [("New", "2"), ("Qualification call", "1"), ("Commercial qualification", "1"),
                        ("Converted", "1"), ("Lost", "1")]
    sections = re.findall(r'<span class="group-label">([^<]+)</span> <span class="count">(\d+)</span>', page)
    assert sections == overview
    assert 'href="/lead/?tab=all&amp;f_status=new"' in page


def test_grouping_by_a_link_and_by_a_boolean(client: FlaskClient) -> None:
    by_owner = get(client, "/lead/?tab=all&group=assigned_to")
    sections = re.findall(r'<span class="group-label">([^<]+)</span> <span class="count">(\d+)</span>', by_owner)
    assert sections == [("Alice Martin", "3"), ("Bob Durand", "2"), ("(none)", "1")]
    by_key = get(client, "/lead/?group=key_account")
    sections = re.findall(r'<span class="group-label">([^<]+)</span> <span class="count">(\d+)</span>', by_key)
    assert sections == [("Yes", "2"), ("No", "2")]


def test_pages_and_page_size(client: FlaskClient) -> None:
    first = get(client, "/lead/?size=3")
    assert names(first) == OPEN_NEWEST_FIRST[:3]
    assert "1–3 of 4" in first
    following = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert following is not None  # the next page is read from the cursor of this one's last row
    second_by_cursor = get(client, html.unescape(following.group(1)))
    assert "page=2" in following.group(1) and "after=" in following.group(1)
    assert names(second_by_cursor) == OPEN_NEWEST_FIRST[3:]
    second = get(client, "/lead/?size=3&page=2")
    assert names(second) == OPEN_NEWEST_FIRST[3:]
    assert "4–4 of 4" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert names(get(client, "/lead/?size=3&page=3")) == []
    assert names(get(client, "/lead/?size=3&page=0")) == OPEN_NEWEST_FIRST[:3]
    assert names(get(client, "/lead/?size=0")) == OPEN_NEWEST_FIRST[:1]
    assert len(names(get(client, "/lead/?tab=all&size=201"))) == 6
    assert names(get(client, "/lead/?size=4")) == OPEN_NEWEST_FIRST
    assert "rel=\"next\"" not in get(client, "/lead/?size=4")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("sort=bogus", "sort"),
        ("sort=description", "sort"),
        ("tab=archive", "tab"),
        ("view=nope", "view"),
        ("f_nope=1", "f_nope"),
        ("f_sector=nope", "f_sector"),
        ("f_score_min=abc", "f_score_min"),
        ("f_company_min=a", "f_company_min"),
        ("group=last_name", "group"),
        ("page=two", "page"),
    ],
)
def test_bad_parameters_give_a_clear_400_page(client: FlaskClient, query: str, parameter: str) -> None:
    page = get(client, f"/lead/?{query}", 400)
    assert "This list cannot be shown" in page
    assert f'data-parameter="{parameter}"' in page
    assert 'href="/lead/"' in page


def test_a_bad_parameter_is_explained_in_french_on_a_french_page(client: FlaskClient) -> None:
    page = get(client, "/lead/?group=last_name&lang=fr", 400)
    assert "impossible de regrouper par last_name (string)" in page
    assert "valeurs possibles : open, history, all" in get(client, "/lead/?tab=archive&lang=fr", 400)


def test_named_views_have_their_own_columns_sort_and_filter(client: FlaskClient) -> None:
    page = get(client, "/lead/?view=my_open_leads")
    assert names(page) == ["Arnaud", "Dumas", "Cordier", "Berger"]
    assert 'aria-current="page" class="current">My open leads</a>' in page
    assert ">Category" in page and ">City" not in page
    assert 'href="/lead/">Leads</a>' in page
    assert 'name="view" value="my_open_leads"' in page
    assert names(get(client, "/lead/?view=my_open_leads&tab=all")) == ["Arnaud", "Dumas", "Cordier", "Berger"]


def test_links_keep_the_whole_state_and_the_chosen_language(client: FlaskClient) -> None:
    page = get(client, "/lead/?lang=fr&f_sector=banking&q=a&group=status")
    assert 'href="/lead/?q=a&amp;sort=last_name&amp;f_sector=banking&amp;group=status&amp;lang=fr"' in page
    assert "<h1>Pistes " in page and ">Nouvelle</span>" in page
    assert 'href="/lead/new?lang=fr"' in page


def add_opportunities(app: Flask) -> list[int]:
    return app.extensions["ossature"].records.create_many("opportunity", [
        {"name": "Big deal", "amount": "12345.5", "expected_close": "2026-02-03"},
        {"name": "Small deal", "amount": "99", "expected_close": "2026-02-28"},
        {"name": "Later deal", "amount": "1000000", "expected_close": "2026-03-01"},
    ], SYSTEM_ACTOR)


def test_numbers_and_dates_are_written_the_way_each_language_reads_them(app: Flask, client: FlaskClient) -> None:
    add_opportunities(app)
    english = get(client, "/opportunity/")
    assert names(english) == ["Big deal", "Small deal", "Later deal"]
    assert "12,345.50" in english and "1,000,000.00" in english and "3 Feb 2026" in english
    french = get(client, "/opportunity/?lang=fr")
    assert "12\u202f345,50" in french and "3 févr. 2026" in french and "Affaires" in french


def test_date_range_filters_include_both_days(app: Flask, client: FlaskClient) -> None:
    add_opportunities(app)
    page = get(client, "/opportunity/?f_expected_close_min=2026-02-03&f_expected_close_max=2026-02-28")
    assert names(page) == ["Big deal", "Small deal"]
    assert 'type="date" name="f_expected_close_min" value="2026-02-03"' in page
    assert names(get(client, "/opportunity/?f_expected_close_min=2026-02-04")) == ["Small deal", "Later deal"]


def test_mass_update_of_a_date_uses_a_date_input(app: Flask, client: FlaskClient) -> None:
    ids = add_opportunities(app)
    page = get(client, "/opportunity/")
    assert 'type="date" name="value_expected_close"' in page
    form = {"id": [str(i) for i in ids[:2]], "set": "expected_close", "value_expected_close": "2026-04-01"}
    assert 'data-changed="2"' in client.post("/opportunity/mass-update/apply", data=form).text
    records = app.extensions["ossature"].records
    assert [str(records.get("opportunity", i)["expected_close"]) for i in ids] == ["2026-04-01", "2026-04-01", "2026-03-01"]


# -- mass update ----------------------------------------------------------------------------------


def versions(app: Flask) -> dict[str, str]:
    records = app.extensions["ossature"].records
    keys = {}
    for name, record_id in lead_ids(app).items():
        record = records.get("lead", record_id)
        keys[name] = f"{record_id}:{record['version']}"
    return keys


def owner_of(app: Flask, last_name: str) -> int | None:
    return app.extensions["ossature"].records.get("lead", lead_ids(app)[last_name])["assigned_to"]


def test_the_list_page_offers_the_view_mass_update_fields_only(client: FlaskClient) -> None:
    page = get(client, "/lead/")
    assert re.findall(r'name="set" value="(\w+)"', page) == ["assigned_to", "team", "sector", "source", "category", "nurturing"]
    assert 'name="select_page" value="1"' in page
    assert 'value="minitel"' not in page.split('id="mass-update-panel"')[1]
    assert 'name="f_sector" value="minitel"' in page
    assert 'name="id" value="' in page


def test_preview_counts_the_records_that_would_change(app: Flask, client: FlaskClient) -> None:
    keys = versions(app)
    carol = app.config["USERS"]["carol"]
    alice = app.config["USERS"]["alice"]
    form = {"id": [keys["Arnaud"], keys["Cordier"]], "set": "assigned_to", "value_assigned_to": str(carol)}
    page = client.post("/lead/mass-update", data=form).text
    assert 'data-count="2"' in page and "2 records of 2 will change." in page
    assert f'<option value="{carol}" selected>Carol Petit</option>' in page
    assert 'id="apply"' in page
    unchanged = client.post("/lead/mass-update", data={**form, "value_assigned_to": str(alice)}).text
    assert 'data-count="0"' in unchanged
    assert owner_of(app, "Arnaud") == alice


def test_apply_changes_the_selected_records_only(app: Flask, client: FlaskClient) -> None:
    keys = versions(app)
    carol = app.config["USERS"]["carol"]
    form = {"id": [keys["Arnaud"], keys["Berger"]], "set": ["assigned_to", "nurturing"],
            "value_assigned_to": str(carol), "value_nurturing": "true", "f_sector": "banking"}
    response = client.post("/lead/mass-update/apply", data=form)
    assert response.status_code == 200
    assert 'data-changed="2"' in response.text and "2 records changed." in response.text
    assert 'href="/lead/?f_sector=banking"' in response.text
    assert owner_of(app, "Arnaud") == owner_of(app, "Berger") == carol
    assert owner_of(app, "Cordier") == app.config["USERS"]["alice"]


def test_select_page_takes_every_row_of_the_page(app: Flask, client: FlaskClient) -> None:
    keys = versions(app)
    page_ids = ",".join(keys[name] for name in OPEN_NEWEST_FIRST[:2])
    form = {"select_page": "1", "page_ids": page_ids, "set": "team", "value_team": "marketing", "size": "2"}
    response = client.post("/lead/mass-update/apply", data=form)
    assert 'data-changed="2"' in response.text
    records = app.extensions["ossature"].records
    teams = {name: records.get("lead", int(key.split(":")[0]))["team"] for name, key in keys.items()}
    assert teams == {"Dumas": "marketing", "Cordier": "marketing", "Berger": None, "Arnaud": None,
                     "Estève": None, "Faure": None}


def test_all_matching_sends_the_filter_not_the_ids(app: Flask, client: FlaskClient) -> None:
    form = {"all_matching": "1", "tab": "all", "f_sector": "banking", "set": "category", "value_category": "hot"}
    preview = client.post("/lead/mass-update", data=form).text
    assert "All 2 records matching the list" in preview
    assert 'name="all_matching" value="1"' in preview and 'name="id"' not in preview
    done = client.post("/lead/mass-update/apply", data=form).text
    assert 'data-changed="2"' in done and 'data-matched="2"' in done
    records = app.extensions["ossature"].records
    categories = {name: records.get("lead", i)["category"] for name, i in lead_ids(app).items()}
    assert categories == {"Arnaud": "hot", "Cordier": "hot", "Berger": None, "Dumas": None, "Estève": None, "Faure": None}


def test_nothing_selected_or_no_field_chosen_is_explained(app: Flask, client: FlaskClient) -> None:
    nothing = client.post("/lead/mass-update", data={"set": "team", "value_team": "marketing"})
    assert nothing.status_code == 400 and "Select at least one record" in nothing.text
    keys = versions(app)
    no_field = client.post("/lead/mass-update/apply", data={"id": keys["Arnaud"], "set": "last_name",
                                                            "value_last_name": "X"})
    assert no_field.status_code == 400 and "Choose at least one characteristic" in no_field.text
    assert app.extensions["ossature"].records.get("lead", lead_ids(app)["Arnaud"])["last_name"] == "Arnaud"


def test_invalid_values_change_nothing_and_show_the_field_error(app: Flask, client: FlaskClient) -> None:
    keys = versions(app)
    form = {"id": [keys["Arnaud"], keys["Berger"]], "set": ["source", "team"], "value_source": "fax_campaign",
            "value_team": "marketing"}
    response = client.post("/lead/mass-update/apply", data=form)
    assert response.status_code == 400
    assert "nothing was changed" in response.text
    assert 'class="mass-field has-error"' in response.text and "retired" in response.text
    records = app.extensions["ossature"].records
    assert records.get("lead", lead_ids(app)["Arnaud"])["team"] is None


def test_a_record_changed_since_the_list_was_shown_is_listed_as_refused(app: Flask, client: FlaskClient) -> None:
    keys = versions(app)
    stale = keys["Berger"].split(":")[0] + ":99"
    form = {"id": [keys["Arnaud"], stale], "set": "team", "value_team": "marketing"}
    page = client.post("/lead/mass-update/apply", data=form).text
    assert 'data-changed="1"' in page and 'data-matched="2"' in page
    assert "Left unchanged" in page
    assert f'<a href="/lead/{lead_ids(app)["Berger"]}">Bruno Berger (Bolt)</a>' in page


def test_a_mass_update_address_opened_by_a_link_goes_back_to_the_list(client: FlaskClient) -> None:
    response = client.get("/lead/mass-update/apply?lang=fr")
    assert response.status_code == 302 and response.headers["Location"] == "/lead/?lang=fr"
    assert client.get("/lead/mass-update").headers["Location"] == "/lead/"


def test_bad_list_arguments_in_a_mass_update_give_the_400_page(client: FlaskClient) -> None:
    response = client.post("/lead/mass-update", data={"all_matching": "1", "f_nope": "1", "set": "team"})
    assert response.status_code == 400 and 'data-parameter="f_nope"' in response.text


def test_opportunities_filter_and_group_by_their_accounts_sector(app: Flask, client: FlaskClient) -> None:
    """The base pack's opportunity list reads the account's sector through the link."""
    records = app.extensions["ossature"].records
    accounts = records.create_many("account", [{"name": "Banque Durand", "sector": "banking"},
                                               {"name": "Agri Petit", "sector": "agriculture"}], SYSTEM_ACTOR)
    records.create_many("opportunity", [{"name": "Vault", "account": accounts[0]},
                                        {"name": "Tractor", "account": accounts[1]},
                                        {"name": "Silo", "account": accounts[1]}], SYSTEM_ACTOR)
    banking = client.get("/opportunity/?tab=all&f_account.sector=banking&lang=en")
    assert banking.status_code == 200
    assert "Vault" in banking.text and "Tractor" not in banking.text and "Silo" not in banking.text
    assert "Account › Sector" in banking.text  # the filter's chip names the path
    grouped = client.get("/opportunity/?tab=all&group=account.sector&lang=en").text
    assert re.search(r"Agriculture\D*2", grouped) and re.search(r"Banking\D*1", grouped)
