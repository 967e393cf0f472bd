"""The generated record pages through the Flask test client: forms, workflow actions,
lead conversion, history and trash.

Each test builds its app on a fresh database, its engine driven by a hand-moved clock
so that history periods and time spent in a status are exact.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Actor, Engine
from ossature.demo import seed_demo
from ui_renderer import create_app
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

OVERLAY_LEAD = """\
extends: lead
views:
  form:
    sections:
      - {title: {en: Person, fr: Personne}, fields: [first_name, last_name, email, phone, fax]}
      - {title: {en: Company, fr: Société}, fields: [company, sector], tab: company}
      - {title: {en: Address, fr: Adresse}, fields: [city, country], tab: company}
      - {title: {en: Scoring, fr: Notation}, fields: [score, budget, source], tab: scoring}
"""


def build_app(database_url: str, clock: Any, packs: list[Path] | None = None) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": packs or [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    built = app.extensions["ossature"]
    engine = Engine(built.model, database_url, clock=clock)
    built.dispose()
    engine.migrate()
    app.extensions["ossature"] = engine
    return app


@pytest.fixture
def app(database_url: str, clock: Any) -> Iterator[Flask]:
    app = build_app(database_url, clock)
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["ossature"]


@pytest.fixture
def users(engine: Engine) -> dict[str, int]:
    ids = engine.records.create_many("user", [
        {"username": "alice", "display_name": "Alice Martin"},
        {"username": "bob", "display_name": "Bob Durand"},
    ], SYSTEM_ACTOR)
    return dict(zip(("alice", "bob"), ids))


def lead(engine: Engine, **values: Any) -> dict[str, Any]:
    base = {"last_name": "Dupont", "first_name": "Jean", "company": "Acme", "phone": "+33 1 23 45 67 89"}
    return engine.records.create("lead", {**base, **values}, SYSTEM_ACTOR)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def tag(page: str, name: str, element: str = "input") -> str:
    """The first `<element ... name="name" ...>` start tag of the page."""
    found = re.search(rf'<{element}\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert found, f"no <{element} name={name!r}>"
    return found.group(0)


def attr(start_tag: str, name: str) -> str | None:
    found = re.search(rf'\s{name}(?:="([^"]*)")?(?=[\s>])', start_tag)
    if not found:
        return None
    return html.unescape(found.group(1)) if found.group(1) is not None else ""


def field_errors(page: str, name: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="err-{re.escape(name)}"[^>]*>(.*?)</ul>', page, re.S)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def row_of(page: str, name: str) -> str:
    found = re.search(rf'<div class="field[^"]*" id="row-{re.escape(name)}"[^>]*>', page)
    assert found, f"no row for {name}"
    return found.group(0)


def selected(page: str, name: str) -> list[str]:
    select = re.search(rf'<select\b[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)" selected', select.group(1))


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select\b[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def post_form(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data=data)


# -- rendering --------------------------------------------------------------------------------


def test_every_base_entity_renders_its_new_and_edit_forms(client: FlaskClient, engine: Engine) -> None:
    seed_demo(engine, seed=1)
    for name, entity in engine.model.entities.items():
        created = client.get(f"/{name}/new")
        assert created.status_code == 200, name
        page = text(created)
        for section in entity.view("form").sections:
            for field_name in section.fields:
                f = entity.field(field_name)
                if f.systematic and not f.readonly and f.type != "status":
                    assert f'name="{field_name}"' in page, (name, field_name)
        first = engine.records.list(name).rows[0]
        edited = client.get(f"/{name}/{first['id']}")
        assert edited.status_code == 200, name
        assert f'name="_version" value="{first["version"]}"' in text(edited)


def test_unknown_entity_or_record_is_404(client: FlaskClient, engine: Engine) -> None:
    assert client.get("/nothing/new").status_code == 404
    assert client.get("/lead/12345").status_code == 404


def test_widgets_carry_bounds_steps_and_required(client: FlaskClient) -> None:
    page = text(client.get("/lead/new"))
    last_name = tag(page, "last_name")
    assert attr(last_name, "required") == "" and attr(last_name, "maxlength") == "80"
    assert attr(tag(page, "first_name"), "required") is None
    budget = tag(page, "budget")
    assert (attr(budget, "type"), attr(budget, "step"), attr(budget, "min")) == ("number", "0.01", "0.00")
    assert attr(tag(page, "email"), "type") == "email"
    assert attr(tag(page, "phone"), "type") == "tel"
    assert attr(tag(page, "website"), "type") == "url"
    assert attr(tag(page, "do_not_call"), "type") == "checkbox"
    stars = re.findall(r'<input type="radio" id="f-score-(\d)" name="score" value="(\d)"', page)
    assert sorted(int(v) for _, v in stars) == [1, 2, 3, 4, 5]
    assert 'name="score" value="0"' in page and 'name="score" value=""' in page
    assert re.search(r'<select[^>]*name="tags"', page) is None and 'type="checkbox" name="tags" value="vip"' in page
    assert "<abbr class=\"mandatory\"" in page

    task = text(client.get("/task/new"))
    percent = tag(task, "percent_done")
    assert (attr(percent, "min"), attr(percent, "max"), attr(percent, "step"), attr(percent, "value")) == ("0", "100", "1", "0")
    event = text(client.get("/event/new"))
    starts = tag(event, "starts_at")
    assert attr(starts, "type") == "datetime-local" and attr(starts, "required") == ""
    contact = text(client.get("/contact/new?add=birthday"))
    birthday = tag(contact, "birthday")
    assert (attr(birthday, "type"), attr(birthday, "min")) == ("date", "1900-01-01")


def test_choice_offers_active_values_and_keeps_a_retired_one_on_its_record(client: FlaskClient, engine: Engine) -> None:
    page = text(client.get("/lead/new"))
    assert "fax_campaign" not in options(page, "source") and "website" in options(page, "source")
    record = lead(engine, source="website")
    table = engine.records.table("lead")
    with engine.db.begin() as conn:  # a value retired after the record chose it
        conn.execute(table.update().where(table.c.id == record["id"]).values(source="fax_campaign"))
    page = text(client.get(f"/lead/{record['id']}"))
    assert selected(page, "source") == ["fax_campaign"]
    assert "Fax campaign (retired)" in page


def test_labels_follow_the_request_language(client: FlaskClient) -> None:
    french = text(client.get("/lead/new?lang=fr"))
    assert "Prénom" in french and "Créer" in french and "Ajouter une caractéristique" in french
    english = text(client.get("/lead/new", headers={"Accept-Language": "en"}))
    assert "First name" in english and "Add a characteristic" in english
    assert 'action="/lead/new?lang=fr"' in french


def test_record_title_is_the_heading_and_links_show_titles(client: FlaskClient, engine: Engine, users: dict[str, int]) -> None:
    record = lead(engine, company="", assigned_to=users["alice"])
    page = text(client.get(f"/lead/{record['id']}"))
    assert "<h1>Jean Dupont</h1>" in page
    assert selected(page, "assigned_to") == [str(users["alice"])]
    assert f'<option value="{users["alice"]}" selected>Alice Martin</option>' in page


def test_email_phone_and_url_have_links_next_to_their_values(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine, email="jean@acme.fr", website="https://acme.fr")
    page = text(client.get(f"/lead/{record['id']}"))
    assert 'href="mailto:jean@acme.fr"' in page
    assert 'href="tel:+33123456789"' in page
    assert 'href="https://acme.fr"' in page


def test_rich_text_is_shown_sanitised(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine, description='<p>Hello <b>there</b><script>alert(1)</script></p>')
    page = text(client.get(f"/lead/{record['id']}"))
    assert '<div class="rich-preview"><span class="rich-preview-label">As it will be shown</span><p>Hello <b>there</b></p></div>' in page
    assert "<script>alert" not in page


# -- create and edit --------------------------------------------------------------------------


def test_create_with_errors_shows_them_next_to_the_fields_and_keeps_the_input(client: FlaskClient, engine: Engine) -> None:
    data = {"first_name": "Jean", "last_name": "Dupont", "company": "Acme", "score": "6", "budget": "12.345",
            "tags": ["vip", "influencer"], "do_not_call": "true"}
    response = post_form(client, "/lead/new", data)
    assert response.status_code == 422
    page = text(response)
    assert field_errors(page, "score") == ["Must be at most 5."]
    assert field_errors(page, "budget") == ["At most 2 digits after the decimal point."]
    assert field_errors(page, "email") == ["This field is mandatory."]  # no phone: mandatory_when
    assert attr(tag(page, "first_name"), "value") == "Jean"
    assert attr(tag(page, "budget"), "value") == "12.345"
    assert 'name="tags" value="vip" checked' in page and 'name="tags" value="influencer" checked' in page
    assert 'name="do_not_call" value="true" checked' in page
    assert engine.records.count("lead") == 0

    fixed = post_form(client, "/lead/new", {**data, "score": "5", "budget": "12.34", "email": "jean@acme.fr"})
    assert fixed.status_code == 303
    record_id = int(re.search(r"/lead/(\d+)\?created=1", fixed.headers["Location"]).group(1))
    saved = engine.records.get("lead", record_id)
    assert (saved["score"], saved["budget"], sorted(saved["tags"]), saved["do_not_call"]) == (
        5, Decimal("12.34"), ["influencer", "vip"], True)
    assert "Record created." in text(client.get(fixed.headers["Location"]))


def test_french_errors_are_in_french(client: FlaskClient) -> None:
    page = text(post_form(client, "/lead/new?lang=fr", {"last_name": "", "phone": "x"}))
    assert field_errors(page, "last_name") == ["Ce champ est obligatoire."]
    assert field_errors(page, "phone") == ["Numéro de téléphone invalide."]


def test_edit_saves_only_what_changed(client: FlaskClient, engine: Engine, users: dict[str, int]) -> None:
    record = lead(engine, description="<p>Line one</p>\n<p>two</p>", budget="1500", tags=["vip"],
                  assigned_to=users["bob"], score=2)
    page = text(client.get(f"/lead/{record['id']}"))
    data = form_data(page)
    data["city"] = "Lyon"
    data["description"] = data["description"].replace("\n", "\r\n")  # what browsers post
    response = post_form(client, f"/lead/{record['id']}", data)
    assert response.status_code == 303 and "saved=1" in response.headers["Location"]
    log = engine.records.audit_log("lead", record["id"])
    assert log[-1]["changes"] == {"city": [None, "Lyon"]}
    unchanged = post_form(client, f"/lead/{record['id']}", form_data(text(client.get(f"/lead/{record['id']}"))))
    assert "unchanged=1" in unchanged.headers["Location"]
    assert len(engine.records.audit_log("lead", record["id"])) == len(log)


def form_data(page: str, form_class: str = "record-form") -> dict[str, Any]:
    """What a browser would post from the page's form, untouched."""
    form = re.search(rf'<form method="post" action="[^"]*" class="{form_class}[^"]*"[^>]*>(.*?)</form>', page, re.S).group(1)
    data: dict[str, Any] = {}
    for match in re.finditer(r"<input\b[^>]*>", form):
        element = match.group(0)
        name, kind = attr(element, "name"), attr(element, "type")
        if not name or attr(element, "disabled") is not None or kind == "submit":
            continue
        if kind in ("checkbox", "radio") and attr(element, "checked") is None:
            continue
        value = attr(element, "value") or ""
        if name in data:
            data[name] = (data[name] if isinstance(data[name], list) else [data[name]]) + [value]
        else:
            data[name] = [value] if name.endswith("tags") else value
    for match in re.finditer(r'<select\b[^>]*name="([^"]*)"[^>]*>(.*?)</select>', form, re.S):
        if "disabled" in match.group(0).split(">")[0]:
            continue
        chosen = re.findall(r'<option value="([^"]*)" selected', match.group(2))
        data[match.group(1)] = chosen[0] if chosen else ""
    for match in re.finditer(r'<textarea\b[^>]*name="([^"]*)"[^>]*>\n(.*?)</textarea>', form, re.S):
        data[match.group(1)] = html.unescape(match.group(2))
    data.pop("_add", None)
    return data


def test_stale_version_shows_what_changed_and_keeps_the_input(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine, city="Paris")
    data = form_data(text(client.get(f"/lead/{record['id']}")))
    engine.records.update("lead", record["id"], {"city": "Lille", "score": 4}, SYSTEM_ACTOR)
    response = post_form(client, f"/lead/{record['id']}", {**data, "company": "Acme Europe"})
    assert response.status_code == 409
    page = text(response)
    assert "Someone else changed this record while you were editing it" in page
    rows = {
        html.unescape(m.group(1)): [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(2))]
        for m in re.finditer(r'<tr[^>]*>\s*<th scope="row">([^<]*)(?:<br>.*?)?</th>(.*?)</tr>', page, re.S)
    }
    assert rows["City"] == ["Paris", "Lille", "(not changed by you)"]
    assert rows["Score"] == ["—", "4", "(not changed by you)"]
    assert rows["Company"] == ["Acme", "Acme", "Acme Europe"]
    assert attr(tag(page, "company"), "value") == "Acme Europe"  # the user's edit is kept...
    assert attr(tag(page, "city"), "value") == "Lille"  # ...on top of the current values
    assert f'name="_version" value="{record["version"] + 1}"' in page
    assert engine.records.get("lead", record["id"])["company"] == "Acme"

    again = post_form(client, f"/lead/{record['id']}", form_data(page))
    assert again.status_code == 303
    saved = engine.records.get("lead", record["id"])
    assert (saved["company"], saved["city"], saved["score"]) == ("Acme Europe", "Lille", 4)


def test_on_demand_characteristic_is_hidden_until_added(client: FlaskClient, engine: Engine) -> None:
    page = text(client.get("/lead/new"))
    assert " hidden" in row_of(page, "fax")
    assert attr(tag(page, "fax"), "disabled") == ""
    assert '<option value="fax">Fax</option>' in page
    added = text(client.get("/lead/new?add=fax"))
    assert " hidden" not in row_of(added, "fax") and attr(tag(added, "fax"), "disabled") is None
    assert '<option value="fax">' not in added

    kept = text(post_form(client, "/lead/new", {"last_name": "Roux", "phone": "+33 1 00 00 00 00", "_action": "add", "_add": "fax"}))
    assert attr(tag(kept, "last_name"), "value") == "Roux" and " hidden" not in row_of(kept, "fax")
    assert engine.records.count("lead") == 0

    ignored = post_form(client, "/lead/new", {"last_name": "Roux", "phone": "+33 1 00 00 00 00", "fax": "+33 1 99 99 99 99"})
    record_id = int(ignored.headers["Location"].split("/lead/")[1].split("?")[0])
    assert engine.records.get("lead", record_id)["fax"] is None  # hidden: not part of the form
    saved = post_form(client, "/lead/new", {"last_name": "Roux", "phone": "+33 1 00 00 00 00", "fax": "+33 1 99 99 99 99",
                                             "_shown": "fax"})
    record_id = int(saved.headers["Location"].split("/lead/")[1].split("?")[0])
    assert engine.records.get("lead", record_id)["fax"] == "+33 1 99 99 99 99"
    assert " hidden" not in row_of(text(client.get(f"/lead/{record_id}")), "fax")


def test_tabs_group_sections_and_work_without_javascript(database_url: str, clock: Any, tmp_path: Path) -> None:
    pack = tmp_path / "tabs"
    (pack / "entities").mkdir(parents=True)
    (pack / "pack.yaml").write_text('pack: tabs\nversion: 1.0.0\nrequires: {base: ">=1.0"}\n')
    (pack / "entities" / "lead.yaml").write_text(OVERLAY_LEAD)
    app = build_app(database_url, clock, [metamodel.BASE_PACK, pack])
    try:
        client = app.test_client()
        page = text(client.get("/lead/new"))
        assert '<a href="#tab-company">Company' in page and '<a href="#tab-scoring">Scoring' in page
        company_tab = page.index('<div class="tab-panel" id="tab-company">')
        scoring_tab = page.index('<div class="tab-panel" id="tab-scoring">')
        assert company_tab < page.index('name="city"') < scoring_tab < page.index('name="budget"')
        assert page.index('name="last_name"') < company_tab  # sections without a tab stay above the tabs
        failed = text(post_form(client, "/lead/new", {"last_name": "Roux", "phone": "+33 1 00 00 00 00", "budget": "-1"}))
        assert 'class="tabset tabset-all"' in failed and '<span class="tab-error"' in failed
    finally:
        app.extensions["ossature"].dispose()


# -- workflow ----------------------------------------------------------------------------------


def test_transition_buttons_allowed_and_refused(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine, score=1)
    page = text(client.get(f"/lead/{record['id']}"))
    assert '<li class="status-step is-current' in page and 'aria-current="step"' in page
    assert f'action="/lead/{record["id"]}/transition/start_call"' in page
    response = post_form(client, f"/lead/{record['id']}/transition/start_call", {"_version": str(record["version"])})
    assert response.status_code == 303 and "done=start_call" in response.headers["Location"]
    assert engine.records.get("lead", record["id"])["status"] == "qualification_call"
    done = text(client.get(response.headers["Location"]))
    assert "Done: Start the qualification call. The status is now Qualification call." in done

    refused = re.search(r'<button type="button" class="button button-secondary" disabled[^>]*>Qualify</button>\s*'
                        r'<span class="refusal"[^>]*>([^<]*)</span>', done)
    assert refused and refused.group(1) == "A lead needs a score of at least 3 to be qualified"
    forced = post_form(client, f"/lead/{record['id']}/transition/qualify",
                       {"_version": str(record["version"] + 1), "_prompt": "1", "source": "website"})
    assert forced.status_code == 409
    assert "“Qualify” cannot be applied: A lead needs a score of at least 3 to be qualified" in html.unescape(text(forced))
    assert engine.records.get("lead", record["id"])["status"] == "qualification_call"


def test_transition_asks_for_its_required_fields(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine, score=4)
    record = engine.records.transition("lead", record["id"], "start_call", SYSTEM_ACTOR)
    url = f"/lead/{record['id']}/transition/qualify"
    asked = post_form(client, url, {"_version": str(record["version"])})
    assert asked.status_code == 200
    page = text(asked)
    assert "To apply “Qualify”, fill in:" in html.unescape(page)
    assert "website" in options(page, "source") and 'name="_prompt" value="1"' in page
    assert field_errors(page, "source") == []

    empty = post_form(client, url, {"_version": str(record["version"]), "_prompt": "1", "source": ""})
    assert empty.status_code == 422
    assert field_errors(text(empty), "source") == ["Required to enter status 'Commercial qualification'."]

    applied = post_form(client, url, {"_version": str(record["version"]), "_prompt": "1", "source": "website"})
    assert applied.status_code == 303
    moved = engine.records.get("lead", record["id"])
    assert (moved["status"], moved["source"]) == ("commercial_qualification", "website")
    assert isinstance(moved["qualified_on"], dt.date)


def test_transition_prompt_by_link_and_lose_with_reason(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine)
    page = text(client.get(f"/lead/{record['id']}/transition/lose"))
    assert "To apply “Mark as lost”, fill in:" in html.unescape(page) and "price" in options(page, "lost_reason")
    response = post_form(client, f"/lead/{record['id']}/transition/lose",
                         {"_version": str(record["version"]), "_prompt": "1", "lost_reason": "price"})
    assert response.status_code == 303
    lost = engine.records.get("lead", record["id"])
    assert (lost["status"], lost["lost_reason"]) == ("lost", "price")
    page = text(client.get(f"/lead/{record['id']}"))
    assert 'class="workflow is-lost"' in page
    assert "transition/reopen" in page  # demo actor is a manager


def status_steps(page: str) -> dict[str, str]:
    """Status label -> its state on the status bar (current, done, todo)."""
    return {html.unescape(label): state for state, label in re.findall(
        r'<li class="status-step is-(\w+)[^"]*"[^>]*>\s*<span>(?:✓ |★ |✕ )?([^<]*)</span>', page)}


TRANSITION_VALUES = {"lost_reason": "price", "source": "website"}
"""Values that fill in what the lead's transitions require (none of them moves a guard)."""


def lead_paths() -> list[Any]:
    """Every path of up to three transitions of the base lead workflow from its first status,
    leaving out the conversion (a plugin's dialog) and transitions whose guard the lead fails."""
    workflow = metamodel.load_model([metamodel.BASE_PACK]).workflow("lead")
    paths: list[tuple[str, ...]] = []
    frontier: list[tuple[tuple[str, ...], str]] = [((), workflow.initial.code)]
    for _ in range(3):
        grown = []
        for path, status in frontier:
            for t in workflow.transitions:
                if status in t.from_statuses and not any(a.kind == "convert_lead" for a in t.actions):
                    grown.append(((*path, t.name), t.to))
        paths.extend(path for path, _ in grown)
        frontier = grown
    return [pytest.param(path, id="-".join(path)) for path in paths]


@pytest.mark.parametrize("path", lead_paths())
def test_the_status_bar_ticks_only_the_statuses_the_record_went_through(
    client: FlaskClient, engine: Engine, path: tuple[str, ...]
) -> None:
    record = lead(engine, score=4)
    visited = [record["status"]]
    for name in path:
        record = engine.records.transition("lead", record["id"], name, SYSTEM_ACTOR, values=TRANSITION_VALUES,
                                           version=record["version"])
        visited.append(record["status"])
    workflow = engine.model.workflow("lead")
    current = workflow.status(record["status"])
    expected = {
        s.label.en: "current" if s.code == current.code
        else "done" if s.code in visited and s.open and s.sequence < current.sequence
        else "todo"
        for s in workflow.statuses
    }
    assert status_steps(text(client.get(f"/lead/{record['id']}"))) == expected


def test_a_lead_lost_straight_from_new_has_not_been_qualified(client: FlaskClient, engine: Engine) -> None:
    skipped = lead(engine)
    skipped = engine.records.transition("lead", skipped["id"], "lose", SYSTEM_ACTOR, values={"lost_reason": "price"})
    called = lead(engine)
    called = engine.records.transition("lead", called["id"], "start_call", SYSTEM_ACTOR)
    called = engine.records.transition("lead", called["id"], "lose", SYSTEM_ACTOR, values={"lost_reason": "price"})
    first, second = (status_steps(text(client.get(f"/lead/{r['id']}"))) for r in (skipped, called))
    assert (first["New"], first["Qualification call"], first["Lost"]) == ("done", "todo", "current")
    assert (second["New"], second["Qualification call"], second["Lost"]) == ("done", "done", "current")
    assert first["Commercial qualification"] == second["Commercial qualification"] == "todo"


def test_stale_transition_is_refused(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine)
    engine.records.update("lead", record["id"], {"city": "Nice"}, SYSTEM_ACTOR)
    response = post_form(client, f"/lead/{record['id']}/transition/start_call", {"_version": str(record["version"])})
    assert response.status_code == 409
    assert "This record was changed since you opened it" in text(response)
    assert engine.records.get("lead", record["id"])["status"] == "new"


def test_free_workflow_moves_with_a_select(client: FlaskClient, engine: Engine) -> None:
    task = engine.records.create("task", {"subject": "Call back"}, SYSTEM_ACTOR)
    page = text(client.get(f"/task/{task['id']}"))
    assert options(page, "status") == ["in_progress", "done", "cancelled"]
    response = post_form(client, f"/task/{task['id']}/move", {"status": "done", "_version": str(task["version"])})
    assert response.status_code == 303
    moved = engine.records.get("task", task["id"])
    assert (moved["status"], moved["percent_done"]) == ("done", 100)
    assert "The status is now Done." in text(client.get(response.headers["Location"]))


# -- conversion --------------------------------------------------------------------------------


def qualified_lead(engine: Engine, **values: Any) -> dict[str, Any]:
    record = lead(engine, score=4, source="website", email="jean@acme.fr", budget="25000", **values)
    engine.records.transition("lead", record["id"], "start_call", SYSTEM_ACTOR)
    return engine.records.transition("lead", record["id"], "qualify", SYSTEM_ACTOR)


def test_convert_button_opens_the_dialog_prefilled_from_the_lead(client: FlaskClient, engine: Engine) -> None:
    record = qualified_lead(engine)
    page = text(client.get(f"/lead/{record['id']}"))
    assert f'href="/lead/{record["id"]}/convert?transition=convert"' in page
    dialog = text(client.get(f"/lead/{record['id']}/convert?transition=convert"))
    assert attr(tag(dialog, "account.name"), "value") == "Acme"
    assert attr(tag(dialog, "contact.last_name"), "value") == "Dupont"
    assert attr(tag(dialog, "opportunity.amount"), "value") == "25000.00"
    assert 'name="account_mode" value="new" checked' in dialog
    assert client.get(f"/lead/{record['id']}/transition/convert").headers["Location"].endswith(
        f"/lead/{record['id']}/convert?transition=convert")


def test_convert_to_new_account_contact_and_opportunity(client: FlaskClient, engine: Engine) -> None:
    record = qualified_lead(engine)
    data = form_data(text(client.get(f"/lead/{record['id']}/convert")), "record-form convert-form")
    assert (data["account_mode"], data["contact_mode"], data["contact.last_name"]) == ("new", "new", "Dupont")
    data.update({"account.name": "Acme Holding", "opportunity_create": "1", "opportunity.name": "Acme — first deal",
                 "opportunity.amount": "30000"})
    response = post_form(client, f"/lead/{record['id']}/convert", data)
    assert response.status_code == 303, text(response)
    converted = engine.records.get("lead", record["id"])
    assert converted["status"] == "converted"
    account = engine.records.get("account", converted["converted_account"])
    contact = engine.records.get("contact", converted["converted_contact"])
    opportunity = engine.records.get("opportunity", converted["converted_opportunity"])
    assert account["name"] == "Acme Holding"
    assert (contact["last_name"], contact["account"]) == ("Dupont", account["id"])
    assert (opportunity["name"], opportunity["amount"], opportunity["source"]) == ("Acme — first deal", Decimal("30000.00"), "website")
    page = html.unescape(text(client.get(response.headers["Location"])))
    assert "Created:" in page
    assert f'href="/account/{account["id"]}">Account — Acme Holding</a>' in page
    assert f'href="/opportunity/{opportunity["id"]}">Opportunity — Acme — first deal</a>' in page


def test_convert_to_an_existing_account_and_contact(client: FlaskClient, engine: Engine) -> None:
    account = engine.records.create("account", {"name": "Acme"}, SYSTEM_ACTOR)
    other = engine.records.create("account", {"name": "Zenith"}, SYSTEM_ACTOR)
    contact = engine.records.create("contact", {"last_name": "Dupont", "account": account["id"]}, SYSTEM_ACTOR)
    stranger = engine.records.create("contact", {"last_name": "Martin", "account": other["id"]}, SYSTEM_ACTOR)
    record = qualified_lead(engine)
    dialog = text(client.get(f"/lead/{record['id']}/convert"))
    assert 'name="account_mode" value="existing" checked' in dialog  # same name as the lead's company
    assert selected(dialog, "account_id") == [str(account["id"])]
    reloaded = text(client.get(f"/lead/{record['id']}/convert", query_string={
        "_reload": "1", "transition": "convert", "account_mode": "existing", "account_id": str(account["id"]),
        "contact_mode": "existing", "account.name": "Acme"}))
    assert options(reloaded, "contact_id") == ["", str(contact["id"])]
    assert 'name="contact_mode" value="existing" checked' in reloaded

    base = {"_version": str(record["version"]), "transition": "convert", "account_mode": "existing",
            "account_id": str(account["id"]), "contact_mode": "existing"}
    wrong = post_form(client, f"/lead/{record['id']}/convert", {**base, "contact_id": str(stranger["id"])})
    assert wrong.status_code == 422
    assert "does not belong to the chosen account" in text(wrong)
    assert engine.records.get("lead", record["id"])["status"] == "commercial_qualification"

    accounts = engine.records.count("account")
    response = post_form(client, f"/lead/{record['id']}/convert", {**base, "contact_id": str(contact["id"])})
    assert response.status_code == 303
    converted = engine.records.get("lead", record["id"])
    assert (converted["converted_account"], converted["converted_contact"], converted["converted_opportunity"]) == (
        account["id"], contact["id"], None)
    assert engine.records.count("account") == accounts


def test_convert_reports_errors_of_the_new_records(client: FlaskClient, engine: Engine) -> None:
    record = qualified_lead(engine)
    response = post_form(client, f"/lead/{record['id']}/convert", {
        "_version": str(record["version"]), "transition": "convert", "account_mode": "new", "account.name": "",
        "contact_mode": "new", "contact.last_name": "Dupont"})
    assert response.status_code == 422
    page = text(response)
    assert field_errors(page, "account.name") == ["This field is mandatory."]
    assert attr(tag(page, "contact.last_name"), "value") == "Dupont"
    assert engine.records.get("lead", record["id"])["status"] == "commercial_qualification"


# -- history, trash, lookup -----------------------------------------------------------------------


def test_history_shows_audit_periods_and_time_in_status(client: FlaskClient, engine: Engine, clock: Any, users: dict[str, int]) -> None:
    record = lead(engine, score=2, assigned_to=users["alice"])
    clock.advance(days=2, hours=3)
    engine.records.update("lead", record["id"], {"score": 4, "assigned_to": users["bob"], "do_not_call": True}, SYSTEM_ACTOR)
    clock.advance(hours=5)
    engine.records.transition("lead", record["id"], "start_call", SYSTEM_ACTOR)
    clock.advance(days=1, minutes=30)
    page = html.unescape(text(client.get(f"/lead/{record['id']}/history")))
    changes = re.findall(r'<tr><th scope="row">([^<]*)</th><td class="old">([^<]*)</td><td class="arrow"[^>]*>→</td>'
                         r'<td class="new">([^<]*)</td></tr>', page)
    assert ("Score", "2", "4") in changes
    assert ("Assigned to", "Alice Martin", "Bob Durand") in changes
    assert ("Do not call", "No", "Yes") in changes
    assert ("Status", "New", "Qualification call") in changes
    assert "Created" in page and "Changed" in page
    score_table = page[page.index("<h3>Score</h3>"):]
    assert re.search(r"<td><strong>4</strong></td><td>3 Jan 2026 12:00</td><td>now</td>", score_table)
    assert re.search(r"<td><strong>2</strong></td><td>1 Jan 2026 09:00</td><td>3 Jan 2026 12:00</td>", score_table)
    assert '<td class="number">2 days 8 hours</td>' in page  # new: 2 d 3 h + 5 h
    assert '<td class="number">1 day</td>' in page  # qualification call so far: 1 d 30 min
    assert "Qualification call" in page and "Start the qualification call" in page


def test_history_in_french(client: FlaskClient, engine: Engine, clock: Any) -> None:
    record = lead(engine)
    clock.advance(hours=3, minutes=20)
    page = html.unescape(text(client.get(f"/lead/{record['id']}/history?lang=fr")))
    assert "Historique des statuts" in page and "3 heures 20 minutes" in page and "Nouvelle" in page


def test_delete_then_restore_from_the_trash(client: FlaskClient, engine: Engine) -> None:
    record = lead(engine)
    stale = post_form(client, f"/lead/{record['id']}/delete", {"_version": str(record["version"] - 1)})
    assert stale.status_code == 409 and engine.records.count("lead") == 1
    response = post_form(client, f"/lead/{record['id']}/delete", {"_version": str(record["version"])})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/lead/trash?deleted={record['id']}")
    assert engine.records.count("lead") == 0
    trash = text(client.get(response.headers["Location"]))
    assert "“Jean Dupont (Acme)” was moved to the trash." in html.unescape(trash)
    assert f'action="/lead/{record["id"]}/restore"' in trash
    gone = client.get(f"/lead/{record['id']}")
    assert gone.status_code == 404 and "This record is in the trash." in text(gone)
    restored = post_form(client, f"/lead/{record['id']}/restore", {})
    assert restored.status_code == 303 and "restored=1" in restored.headers["Location"]
    assert engine.records.count("lead") == 1
    assert "was restored" in html.unescape(text(client.get(restored.headers["Location"])))
    assert "The trash is empty." in text(client.get("/lead/trash"))
    log = [entry["action"] for entry in engine.records.audit_log("lead", record["id"])]
    assert log == ["create", "delete", "restore"]


def test_lookup_finds_records_by_title_words(client: FlaskClient, engine: Engine) -> None:
    a = engine.records.create("contact", {"first_name": "Jean", "last_name": "Dupont"}, SYSTEM_ACTOR)
    engine.records.create("contact", {"first_name": "Jeanne", "last_name": "Martin"}, SYSTEM_ACTOR)
    assert client.get("/contact/lookup?q=jean dup").get_json() == [{"id": a["id"], "title": "Jean Dupont"}]
    assert len(client.get("/contact/lookup?q=jean").get_json()) == 2
    assert client.get(f"/contact/lookup?q=%23{a['id']}").get_json() == [{"id": a["id"], "title": "Jean Dupont"}]
    assert client.get("/nothing/lookup?q=x").status_code == 404


def test_large_link_targets_get_a_search_input(client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ui_renderer.records.links.LINK_SELECT_LIMIT", 1)
    jean = engine.records.create("contact", {"first_name": "Jean", "last_name": "Dupont"}, SYSTEM_ACTOR)
    engine.records.create("contact", {"first_name": "Jeanne", "last_name": "Martin"}, SYSTEM_ACTOR)
    page = text(client.get("/event/new"))
    search = tag(page, "contact")
    assert attr(search, "type") == "search" and attr(search, "data-lookup") == "/contact/lookup"
    when = "2026-03-01T10:00"
    ambiguous = post_form(client, "/event/new", {"subject": "Visit", "starts_at": when, "contact": "jean"})
    assert ambiguous.status_code == 422
    assert field_errors(html.unescape(text(ambiguous)), "contact")[0].startswith("Several records match “jean”")
    missing = post_form(client, "/event/new", {"subject": "Visit", "starts_at": when, "contact": "nobody"})
    assert field_errors(html.unescape(text(missing)), "contact") == ["No Contact matches “nobody”."]
    created = post_form(client, "/event/new", {"subject": "Visit", "starts_at": when, "contact": "Jean Dupont"})
    assert created.status_code == 303
    event_id = int(created.headers["Location"].split("/event/")[1].split("?")[0])
    assert engine.records.get("event", event_id)["contact"] == jean["id"]
    edit = text(client.get(f"/event/{event_id}"))
    assert attr(tag(edit, "contact"), "value") == f"Jean Dupont #{jean['id']}"
    resaved = post_form(client, f"/event/{event_id}", form_data(edit))
    assert "unchanged=1" in resaved.headers["Location"]


def test_datetime_values_round_trip_without_spurious_changes(client: FlaskClient, engine: Engine) -> None:
    event = engine.records.create("event", {"subject": "Demo", "starts_at": dt.datetime(2026, 2, 3, 14, 30, 15)}, SYSTEM_ACTOR)
    page = text(client.get(f"/event/{event['id']}"))
    assert attr(tag(page, "starts_at"), "value") == "2026-02-03T14:30"
    response = post_form(client, f"/event/{event['id']}", form_data(page))
    assert "unchanged=1" in response.headers["Location"]
    assert engine.records.get("event", event["id"])["starts_at"] == dt.datetime(2026, 2, 3, 14, 30, 15)


def test_readonly_links_show_titles_and_are_not_editable(client: FlaskClient, engine: Engine) -> None:
    account = engine.records.create("account", {"name": "Acme"}, SYSTEM_ACTOR)
    record = lead(engine, converted_account=account["id"], converted_on="2026-01-01")
    page = text(client.get(f"/lead/{record['id']}"))
    assert 'name="converted_account"' not in page and 'name="converted_on"' not in page
    assert f'<a href="/account/{account["id"]}">Acme</a>' in page
    assert "1 Jan 2026" in page


def act_as(monkeypatch: pytest.MonkeyPatch, users: dict[str, int], name: str, role: str) -> Actor:
    actor = Actor(user_id=users[name], username=name, roles=frozenset({role}), lang="en")
    monkeypatch.setattr("ui_renderer.records.common.current_actor", lambda: actor)
    return actor


def test_forms_follow_the_actors_roles(client: FlaskClient, engine: Engine, users: dict[str, int],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    act_as(monkeypatch, users, "alice", "sales")
    mine = lead(engine, assigned_to=users["alice"], budget="100")
    theirs = lead(engine, assigned_to=users["bob"])
    page = text(client.get(f"/lead/{mine['id']}"))
    assert 'name="budget"' not in page and 'name="key_account"' not in page  # readonly for sales
    assert "100.00" in page and 'name="city"' in page
    assert "Move to trash" not in page  # sales may not delete leads
    assert client.post(f"/lead/{mine['id']}/delete", data={"_version": str(mine["version"])}).status_code == 403
    assert engine.records.count("lead") == 2
    assert client.get(f"/lead/{theirs['id']}").status_code == 404  # outside the actor's scope
    user_page = text(client.get(f"/user/{users['bob']}"))
    assert 'name="display_name"' not in user_page and "Bob Durand" in user_page  # read-only entity
    assert client.get("/user/new").status_code == 403


def test_link_options_and_lookup_stay_in_the_actors_scope(client: FlaskClient, engine: Engine, users: dict[str, int],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    alice = act_as(monkeypatch, users, "alice", "sales")  # accounts: team scope, and alice has no team
    mine = engine.records.create("account", {"name": "Acme North"}, alice)
    theirs = engine.records.create("account", {"name": "Acme South"}, SYSTEM_ACTOR)
    page = text(client.get("/contact/new"))
    assert options(page, "account") == ["", str(mine["id"])]
    assert "Acme South" not in page
    assert client.get("/account/lookup?q=acme").get_json() == [{"id": mine["id"], "title": "Acme North"}]
    assert client.get(f"/account/lookup?q=%23{theirs['id']}").get_json() == []
    typed = post_form(client, "/contact/new", {"last_name": "Roux", "account": "Acme South"})
    assert field_errors(html.unescape(text(typed)), "account") == ["No Account matches “Acme South”."]


def test_links_to_an_entity_the_actor_may_not_read_show_only_its_number(
    client: FlaskClient, engine: Engine, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    act_as(monkeypatch, users, "alice", "support")  # events of their own, no access to leads
    record = lead(engine)
    event = engine.records.create("event", {"subject": "Visit", "starts_at": "2026-03-01T10:00", "lead": record["id"],
                                            "assigned_to": users["alice"]}, SYSTEM_ACTOR)
    page = text(client.get(f"/event/{event['id']}"))
    assert options(page, "lead") == ["", str(record["id"])]
    assert selected(page, "lead") == [str(record["id"])]
    assert f"#{record['id']}" in page and "Jean Dupont" not in page
    assert client.get("/lead/lookup?q=jean").get_json() == []


def test_trash_lists_only_the_records_in_the_actors_scope(client: FlaskClient, engine: Engine, users: dict[str, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    act_as(monkeypatch, users, "alice", "sales")  # leads: own scope
    mine = lead(engine, last_name="Mine", assigned_to=users["alice"])
    theirs = lead(engine, last_name="Theirs", assigned_to=users["bob"])
    for record in (mine, theirs):
        engine.records.delete("lead", record["id"], SYSTEM_ACTOR)
    page = text(client.get("/lead/trash"))
    assert "Jean Mine (Acme)" in page and "Jean Theirs" not in page
    assert f'action="/lead/{mine["id"]}/restore"' in page and f'/lead/{theirs["id"]}/restore' not in page
