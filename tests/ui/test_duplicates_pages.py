"""The duplicates page and the merge page, through the Flask test client on the base pack."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR, Actor, Engine
from ui_renderer import create_app
from ui_renderer.records.duplicates import duplicates
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

CLERK_ROLE = """\
role: clerk
label: {en: Clerk, fr: Employé}
entities:
  contact: {can: [read, create, update, delete], hidden: [personal_email], readonly: [mobile]}
  account: {can: [read]}
  user: {can: [read]}
"""


def build_app(database_url: str, clock: Any, packs: list[Path]) -> Flask:
    app = create_app({"DATABASE_URL": database_url, "PACKS": packs, **PAGES_WITHOUT_LOGIN})
    app.test_client_class = FormClient
    if "duplicates" not in app.blueprints:  # until the app factory registers it
        app.register_blueprint(duplicates)
    built = app.extensions["ossature"]
    engine = Engine(built.model, database_url, clock=clock)
    built.dispose()
    engine.migrate()
    app.extensions["ossature"] = engine
    return app


@pytest.fixture
def app(database_url: str, clock: Any, tmp_path: Path) -> Iterator[Flask]:
    pack = tmp_path / "clerk_pack"
    (pack / "roles").mkdir(parents=True)
    (pack / "pack.yaml").write_text("pack: clerk_pack\nversion: 1.0.0\n", encoding="utf-8")
    (pack / "roles" / "clerk.yaml").write_text(CLERK_ROLE, encoding="utf-8")
    app = build_app(database_url, clock, [metamodel.BASE_PACK, pack])
    yield app
    app.extensions["ossature"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["ossature"]


def add(engine: Engine, entity: str, **values: Any) -> int:
    return engine.records.create(entity, values, SYSTEM_ACTOR)["id"]


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def radios(page: str, name: str) -> dict[str, bool]:
    """value -> checked, of the radio inputs named `name`."""
    found = re.findall(rf'<input type="radio" name="{re.escape(name)}" value="(\w+)"( checked)?>', page)
    return {value: bool(checked) for value, checked in found}


def act_as(monkeypatch: pytest.MonkeyPatch, engine: Engine, role: str, lang: str = "en") -> Actor:
    user_id = add(engine, "user", username=f"u-{role}", display_name=role.title())
    actor = Actor(user_id=user_id, username=f"u-{role}", roles=frozenset({role}), lang=lang)
    monkeypatch.setattr("ui_renderer.records.common.current_actor", lambda: actor)
    return actor


@pytest.fixture
def twins(engine: Engine) -> dict[str, int]:
    """Two contacts of one account with the same name (and emails differing only by case)."""
    account = add(engine, "account", name="Société Générale")
    keep = add(engine, "contact", last_name="Durand", first_name="Zoé", account=account, email="zoe@sg.test")
    other = add(engine, "contact", last_name="DURAND", first_name="Zoe", account=account, email="Zoe@SG.test",
                phone="+33 1 02 03 04 05", city="Paris")
    event = add(engine, "event", subject="Lunch", starts_at="2026-03-01T12:00", contact=other)
    return {"account": account, "keep": keep, "other": other, "event": event}


# -- the groups ----------------------------------------------------------------------------------
def test_groups_page_lists_each_rule_with_links_to_compare(client: FlaskClient, twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]

    page = text(client.get("/contact/duplicates"))

    assert "Probable duplicates: Contacts" in page
    assert '<section class="duplicate-rule" id="rule-same_email">' in page
    assert '<section class="duplicate-rule" id="rule-same_name_and_account">' in page
    assert "zoe@sg.test" in page
    assert "durand · zoe · Société Générale" in page
    assert page.count(f'href="/contact/merge/{keep}/{other}"') == 2
    assert f'href="/contact/merge/{other}/{keep}"' not in page
    assert f'href="/contact/{keep}"' in page and f'href="/contact/{other}"' in page


def test_groups_page_in_french_with_one_rule(client: FlaskClient, twins: dict[str, int]) -> None:
    page = text(client.get("/contact/duplicates?rule=same_email&lang=fr"))

    assert "Doublons probables : Contacts" in page
    assert 'id="rule-same_email"' in page and 'id="rule-same_name_and_account"' not in page
    assert "Comparer et fusionner" in page
    assert 'href="/contact/duplicates?lang=fr">Toutes les règles</a>' in page


def test_groups_page_without_groups_or_rules(client: FlaskClient, engine: Engine) -> None:
    add(engine, "account", name="Alone")

    assert "No probable duplicates found." in text(client.get("/account/duplicates"))
    assert "No duplicate rule is declared for Tasks." in text(client.get("/task/duplicates"))


def test_unknown_entity_or_rule_is_not_found(client: FlaskClient) -> None:
    assert client.get("/planet/duplicates").status_code == 404
    assert client.get("/contact/duplicates?rule=same_shoe").status_code == 404


def test_groups_page_says_when_groups_are_left_out(client: FlaskClient, engine: Engine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ui_renderer.records.duplicates.GROUPS_SHOWN", 2)
    for name in ("A", "B", "C"):
        engine.records.create_many("account", [{"name": name}, {"name": name.lower()}], SYSTEM_ACTOR)

    page = text(client.get("/account/duplicates"))
    assert "Only the first 2 groups are shown" in page
    assert page.count('class="duplicate-group"') == 2

    monkeypatch.setattr("ui_renderer.records.duplicates.GROUPS_SHOWN", 3)
    page = text(client.get("/account/duplicates"))
    assert "Only the first" not in page
    assert page.count('class="duplicate-group"') == 3


def test_no_merge_links_for_a_role_that_may_not_delete(client: FlaskClient, engine: Engine, twins: dict[str, int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    act_as(monkeypatch, engine, "read_only")

    page = text(client.get("/contact/duplicates"))

    assert "zoe@sg.test" in page
    assert "/contact/merge/" not in page
    assert client.get(f"/contact/merge/{twins['keep']}/{twins['other']}").status_code == 403


# -- the comparison ------------------------------------------------------------------------------
def test_merge_page_offers_a_choice_for_each_differing_value(client: FlaskClient, twins: dict[str, int]) -> None:
    page = text(client.get(f"/contact/merge/{twins['keep']}/{twins['other']}"))

    assert html.unescape("Merge “Zoe DURAND” into “Zoé Durand”") in html.unescape(page)
    assert radios(page, "choose_first_name") == {"keep": True, "other": False}
    assert radios(page, "choose_email") == {"keep": True, "other": False}
    assert radios(page, "choose_phone") == {"keep": False, "other": True}  # kept record has none
    assert radios(page, "choose_account") == {}  # same value
    assert "Société Générale <span class=\"muted\">· Same value</span>" in page
    assert f'href="/contact/merge/{twins["other"]}/{twins["keep"]}"' in page
    assert 'name="csrf_token"' in page and 'name="_version" value="1"' in page
    assert 'name="_other_version" value="1"' in page


def test_merge_page_hides_what_the_role_hides_and_locks_what_it_may_not_change(
    client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    act_as(monkeypatch, engine, "clerk")
    keep = add(engine, "contact", last_name="A", personal_email="secret@home.test", mobile="06 00")
    other = add(engine, "contact", last_name="B", personal_email="other@home.test", mobile="07 00")

    page = text(client.get(f"/contact/merge/{keep}/{other}"))

    assert "secret@home.test" not in page and "other@home.test" not in page
    assert radios(page, "choose_mobile") == {}
    assert "You may not change this value" in page
    assert radios(page, "choose_last_name") == {"keep": True, "other": False}


def test_merging_a_record_with_itself_shows_why_without_a_button(client: FlaskClient, twins: dict[str, int]) -> None:
    response = client.get(f"/contact/merge/{twins['keep']}/{twins['keep']}?lang=fr")

    assert response.status_code == 409
    page = html.unescape(text(response))
    assert f"Contact {twins['keep']} ne peut pas être fusionné avec lui-même." in page
    assert ">Fusionner</button>" not in page


def test_trashed_or_missing_record_is_not_found(client: FlaskClient, engine: Engine, twins: dict[str, int]) -> None:
    engine.records.delete("contact", twins["other"], SYSTEM_ACTOR)

    assert client.get(f"/contact/merge/{twins['keep']}/{twins['other']}").status_code == 404
    assert client.get(f"/contact/merge/{twins['keep']}/9999").status_code == 404


# -- merging -------------------------------------------------------------------------------------
def test_posting_merges_and_redirects_to_the_kept_record(client: FlaskClient, engine: Engine,
                                                           twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]

    response = client.post(f"/contact/merge/{keep}/{other}?lang=fr", data={
        "choose_first_name": "keep", "choose_email": "other", "choose_phone": "other", "choose_city": "keep",
        "_version": "1", "_other_version": "1",
    })

    assert response.status_code == 303
    assert response.headers["Location"] == f"/contact/{keep}?merged={other}&lang=fr"
    kept = engine.records.get("contact", keep)
    assert (kept["first_name"], kept["email"], kept["phone"], kept["city"]) == (
        "Zoé", "Zoe@SG.test", "+33 1 02 03 04 05", None)
    assert engine.records.get("contact", other, include_deleted=True)["deleted_at"] is not None
    assert engine.records.get("event", twins["event"])["contact"] == keep
    assert [e["action"] for e in engine.records.audit_log("contact", keep)][-1] == "merge"


def test_choices_for_values_that_are_equal_or_locked_are_ignored(
    client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    act_as(monkeypatch, engine, "clerk")
    keep = add(engine, "contact", last_name="Same", mobile="06 00")
    other = add(engine, "contact", last_name="Same", mobile="07 00", personal_email="p@home.test")

    response = client.post(f"/contact/merge/{keep}/{other}", data={
        "choose_mobile": "other", "choose_personal_email": "other", "choose_last_name": "other",
    })

    assert response.status_code == 303
    kept = engine.records.get("contact", keep)
    assert (kept["mobile"], kept["personal_email"]) == ("06 00", None)


def test_post_without_csrf_token_is_refused(app: Flask, engine: Engine, twins: dict[str, int]) -> None:
    plain = FlaskClient(app, app.response_class)

    response = plain.post(f"/contact/merge/{twins['keep']}/{twins['other']}", data={"choose_phone": "other"})

    assert response.status_code == 403
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None


def test_stale_version_shows_the_current_values_again(client: FlaskClient, engine: Engine,
                                                        twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]
    engine.records.update("contact", other, {"city": "Lyon"}, SYSTEM_ACTOR)

    response = client.post(f"/contact/merge/{keep}/{other}", data={
        "choose_city": "other", "_version": "1", "_other_version": "1"})

    assert response.status_code == 409
    page = text(response)
    assert "One of the records was changed meanwhile" in page
    assert "Lyon" in page and 'name="_other_version" value="2"' in page
    assert engine.records.get("contact", other)["deleted_at"] is None


def test_refused_merge_explains_in_the_page_language(client: FlaskClient, engine: Engine,
                                                        twins: dict[str, int]) -> None:
    """The other record's account went to the trash: taking it is refused, nothing is merged."""
    gone = add(engine, "account", name="Gone")
    engine.records.update("contact", twins["other"], {"account": gone}, SYSTEM_ACTOR)
    engine.records.delete("account", gone, SYSTEM_ACTOR)

    response = client.post(f"/contact/merge/{twins['keep']}/{twins['other']}?lang=fr",
                           data={"choose_account": "other"})

    assert response.status_code == 422
    assert "Ces enregistrements ne peuvent pas être fusionnés" in html.unescape(text(response))
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None
    assert engine.records.get("event", twins["event"])["contact"] == twins["other"]


def test_role_without_delete_cannot_post_a_merge(client: FlaskClient, engine: Engine, twins: dict[str, int],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    act_as(monkeypatch, engine, "sales")

    response = client.post(f"/contact/merge/{twins['keep']}/{twins['other']}", data={})

    assert response.status_code == 403
    assert engine.records.get("contact", twins["other"])["deleted_at"] is None


def test_characteristics_empty_in_both_records_are_left_out(client: FlaskClient, twins: dict[str, int]) -> None:
    page = text(client.get(f"/contact/merge/{twins['keep']}/{twins['other']}"))

    assert 'id="row-salutation"' not in page and 'id="row-mobile"' not in page
    assert 'id="row-account"' in page and 'id="row-phone"' in page


def test_kept_record_page_says_what_was_merged_and_history_shows_it(client: FlaskClient, twins: dict[str, int]) -> None:
    keep, other = twins["keep"], twins["other"]
    client.post(f"/contact/merge/{keep}/{other}", data={"choose_phone": "other"})

    form = html.unescape(text(client.get(f"/contact/{keep}?merged={other}&lang=fr")))
    assert f"L'enregistrement n° {other} a été fusionné dans « Zoé Durand » puis mis à la corbeille." in form
    kept_history = html.unescape(text(client.get(f"/contact/{keep}/history")))
    assert "Merged from" in kept_history and f"No. {other}" in kept_history
    other_history = html.unescape(text(client.get(f"/contact/{other}/history?lang=fr")))
    assert "Fusionné dans" in other_history and "Liens déplacés" in other_history and "event.contact: 1" in other_history


def test_stale_edit_after_a_merge_rewinds_past_the_merge_entry(client: FlaskClient, engine: Engine,
                                                                 twins: dict[str, int]) -> None:
    from test_forms import form_data

    keep = twins["keep"]
    data = form_data(text(client.get(f"/contact/{keep}")))
    client.post(f"/contact/merge/{keep}/{twins['other']}", data={"choose_phone": "other"})

    response = client.post(f"/contact/{keep}", data={**data, "city": "Lyon"})

    assert response.status_code == 409
    assert "Someone else changed this record while you were editing it" in text(response)
