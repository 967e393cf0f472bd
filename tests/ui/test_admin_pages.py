"""The administration pages: every kind of change goes form -> review (the plan, nothing changed
yet) -> apply (a new overlay revision, with who and when, the database migrated) -> seen at
once by the record pages; revert; administrators only; CSRF; definition problems as messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

import metamodel
from engine import SYSTEM_ACTOR
from engine.access.accounts import Accounts
from engine.schema.archive import archive_entries
from engine.installation.definitions import Installation
from engine.installation.live import LiveEngine
from ui_renderer import create_app
from ui_renderer.admin import admin_home
from ui_renderer.core.live_app import use_live_engine
from ui_renderer.core.sessions import start_session
from ui_renderer.testing import PAGES_WITHOUT_LOGIN, FormClient

PASSWORD = "correct horse battery"


def build_app(database_url: str, tmp_path: Path, *, monotonic: Callable[[], float] | None = None,
              **config: object) -> Flask:
    """The app (on a live engine, with the admin pages); `monotonic`: the clock of its checks for
    new definitions (another live engine is made on it)."""
    settings = {"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(tmp_path / "files"),
                **PAGES_WITHOUT_LOGIN, **config}
    app = create_app(settings)
    if monotonic is not None:
        built = app.extensions["ossature.live"]
        installation = Installation([metamodel.BASE_PACK], database_url, engine_options={"files_dir": tmp_path / "files"})
        use_live_engine(app, LiveEngine(installation, monotonic=monotonic))
        built.close()
    app.extensions["ossature"].migrate()
    app.test_client_class = FormClient
    return app


def close_app(app: Flask) -> None:
    app.extensions["ossature.live"].close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    built = build_app(database_url, tmp_path)
    yield built
    close_app(built)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def engine_of(app: Flask):
    return app.extensions["ossature.live"].current(check_now=True)


def installation_of(app: Flask) -> Installation:
    return app.extensions["ossature.live"].installation


def token_of(html: str) -> str:
    return re.search(r'name="change" value="([^"]+)"', html).group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def review_then_apply(client: FlaskClient, url: str, data: dict) -> str:
    """Submit a form, check the review page, apply; returns the page shown after applying."""
    review = client.post(url, data=data)
    assert review.status_code == 200, text_of(review.text)[:2000]
    assert 'id="apply"' in review.text
    applied = client.post("/admin/apply", data={"change": token_of(review.text)})
    assert applied.status_code == 302, text_of(applied.text)[:2000]
    return client.get(applied.headers["Location"]).text


def overlay_document(app: Flask, name: str) -> dict:
    overlay = installation_of(app).overlay()
    return yaml.safe_load(overlay.documents[name])


LOYALTY = {"name": "loyalty", "type": "integer", "label_en": "Loyalty", "label_fr": "Fidélité", "min": "0",
           "max": "10", "systematic": "1", "in_list": "1", "section": "1"}


# -- browsing --------------------------------------------------------------------------------


def test_overview_lists_every_kind_of_definition_with_its_pack(client):
    page = client.get("/admin/")
    assert page.status_code == 200
    for marker in ('data-entity="contact"', 'data-list="sectors"', 'data-workflow="ticket"', 'data-view="lead.list"',
                   'data-view="account.key_accounts"', 'data-role="sales"'):
        assert marker in page.text
    row = re.search(r'<tr data-entity="contact">.*?</tr>', page.text, re.S).group(0)
    assert 'data-pack="base"' in row and "changed here" not in row


def test_the_pages_speak_french_when_asked(client):
    page = client.get("/admin/?lang=fr")
    assert "Définitions" in page.text and "Listes de valeurs" in page.text
    assert "Ajouter une caractéristique" in client.get("/admin/entities/contact?lang=fr").text
    review = text_of(client.post("/admin/entities/contact/characteristics/new?lang=fr", data=LOYALTY).text)
    assert "Vérification : contact : ajout de la caractéristique loyalty" in review
    assert "entité contact : ajout de la caractéristique loyalty (integer)" in review
    refused = client.post("/admin/entities/contact/characteristics/new?lang=fr", data={**LOYALTY, "min": "dix"})
    assert "Un nombre entier est attendu." in refused.text


def test_entity_page_shows_characteristics_list_view_form_and_permissions(client):
    page = client.get("/admin/entities/contact")
    assert page.status_code == 200
    assert 'data-field="last_name"' in page.text and 'data-field="email"' in page.text
    assert "last_name, first_name, account" in page.text  # the list's columns
    assert 'data-role="sales"' in page.text
    assert client.get("/admin/entities/nothing").status_code == 404


# -- characteristics -------------------------------------------------------------------------


def test_adding_a_characteristic_shows_the_plan_first_and_changes_nothing_until_applied(app, client):
    review = client.post("/admin/entities/contact/characteristics/new", data=LOYALTY)
    assert review.status_code == 200
    shown = text_of(review.text)
    assert "entity contact: characteristic loyalty added (integer)" in shown
    assert "add column ent_contact.loyalty" in shown
    assert installation_of(app).revisions() == []
    assert "loyalty" not in {c["name"] for c in sa.inspect(engine_of(app).db).get_columns("ent_contact")}
    assert "loyalty" not in engine_of(app).model.entity("contact").fields_by_name


def test_applying_a_new_characteristic_records_a_revision_and_shows_it_in_form_and_list_at_once(app, client):
    after = review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
    assert "Revision 1 applied: contact: add characteristic loyalty." in after
    revision = installation_of(app).revisions()[0]
    assert (revision.id, revision.actor_name, revision.summary) == (1, "demo", "contact: add characteristic loyalty")
    field = engine_of(app).model.entity("contact").field("loyalty")
    assert (field.type, field.min, field.max, field.label.fr) == ("integer", 0, 10, "Fidélité")
    assert 'name="loyalty"' in client.get("/contact/new").text
    assert "Loyalty" in client.get("/contact/").text
    document = overlay_document(app, "entities/contact.yaml")
    assert document["extends"] == "contact"
    assert document["characteristics"]["loyalty"] == {
        "type": "integer", "label": {"en": "Loyalty", "fr": "Fidélité"}, "min": 0, "max": 10}
    assert document["views"]["list"]["columns"][-1] == "loyalty"
    overview = client.get("/admin/").text
    row = re.search(r'<tr data-entity="contact">.*?</tr>', overview, re.S).group(0)
    assert "changed here" in row


def test_a_record_can_be_saved_with_the_new_characteristic_right_away(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
    created = engine_of(app).records.create("contact", {"last_name": "Lee", "loyalty": 10}, SYSTEM_ACTOR)
    assert created["loyalty"] == 10


@pytest.mark.parametrize("field, value, message", [
    ("name", "Loyalty", "Lowercase letters"),
    ("name", "last_name", "already exists"),
    ("name", "created_at", "system column"),
    ("label_fr", "", "Required."),
    ("min", "ten", "A whole number is expected."),
    ("max_length", "0", "at least 1"),
])
def test_form_mistakes_are_shown_under_their_field(client, field, value, message):
    data = {**LOYALTY, field: value}
    if field == "max_length":
        data["type"] = "string"
    page = client.post("/admin/entities/contact/characteristics/new", data=data)
    assert page.status_code == 422
    error = re.search(rf'id="error-{field}"><li>([^<]*)', page.text)
    assert error is not None and message in error.group(1)


def test_a_definition_problem_is_a_message_naming_the_field_not_a_traceback(client):
    page = client.post("/admin/entities/contact/characteristics/new", data={**LOYALTY, "min": "10", "max": "9"})
    assert page.status_code == 422
    assert 'id="problems"' in page.text and "characteristics.loyalty" in page.text
    assert "Traceback" not in page.text
    assert re.search(r'id="error-(min|max)"', page.text)


def test_choice_and_link_characteristics_need_their_list_and_entity(client):
    page = client.post("/admin/entities/contact/characteristics/new", data={**LOYALTY, "type": "choice"})
    assert page.status_code == 422 and 'id="error-list"' in page.text
    page = client.post("/admin/entities/contact/characteristics/new", data={**LOYALTY, "type": "link"})
    assert page.status_code == 422 and 'id="error-entity"' in page.text
    review = client.post("/admin/entities/contact/characteristics/new",
                         data={**LOYALTY, "type": "choice", "list": "sectors", "min": "", "max": ""})
    assert review.status_code == 200 and "characteristic loyalty added (choice)" in text_of(review.text)


def test_editing_a_base_characteristic_overrides_only_what_changed_and_lists_records_to_clean(app, client):
    engine = engine_of(app)
    long_name = engine.records.create("contact", {"last_name": "Long", "first_name": "A" * 61}, SYSTEM_ACTOR)
    engine.records.create("contact", {"last_name": "Edge", "first_name": "B" * 60}, SYSTEM_ACTOR)
    data = {"label_en": "Given name", "label_fr": "Prénom", "max_length": "60", "systematic": "1"}
    review = client.post("/admin/entities/contact/characteristics/first_name", data=data)
    assert review.status_code == 200
    shown = text_of(review.text)
    assert "characteristic first_name changed" in shown
    assert f"record {long_name['id']}" in shown.lower() or f"#{long_name['id']}" in shown
    client.post("/admin/apply", data={"change": token_of(review.text)})
    document = overlay_document(app, "entities/contact.yaml")
    assert document["characteristics"]["first_name"] == {"label": {"en": "Given name", "fr": "Prénom"}, "max_length": 60}
    field = engine_of(app).model.entity("contact").field("first_name")
    assert (field.max_length, field.label.en, field.searchable) == (60, "Given name", True)


def test_retyping_a_base_characteristic_declares_it_again_once_every_value_converts(app, client):
    form = client.get("/admin/entities/contact/characteristics/postal_code").text
    assert '<select id="f-type"' in form and 'id="redeclare-hint"' in form and "definitions/entities/contact.yaml" in form
    engine = engine_of(app)
    paris = engine.records.create("contact", {"last_name": "Paris", "postal_code": "75001"}, SYSTEM_ACTOR)
    ajaccio = engine.records.create("contact", {"last_name": "Ajaccio", "postal_code": "2A004"}, SYSTEM_ACTOR)
    retype = {"type": "integer", "label_en": "Postal code", "label_fr": "Code postal", "systematic": "1", "min": "0",
              "max": "99999"}
    review = client.post("/admin/entities/contact/characteristics/postal_code", data=retype)
    assert review.status_code == 409 and 'id="apply"' not in review.text
    shown = text_of(review.text)
    assert f"record {ajaccio['id']}" in shown and "2A004" in shown and f"record {paris['id']}" not in shown
    engine.records.update("contact", ajaccio["id"], {"postal_code": "20000"}, SYSTEM_ACTOR, version=ajaccio["version"])
    review_then_apply(client, "/admin/entities/contact/characteristics/postal_code", retype)
    entry = overlay_document(app, "entities/contact.yaml")["characteristics"]["postal_code"]
    assert (entry["redeclare"], entry["type"], entry["max"]) == (True, "integer", 99999)
    engine = engine_of(app)
    assert engine.model.entity("contact").field("postal_code").type == "integer"
    assert engine.records.get("contact", paris["id"])["postal_code"] == 75001
    assert 'name="postal_code"' in client.get(f"/contact/{paris['id']}").text


def test_retyping_a_characteristic_added_here_is_refused_while_a_value_does_not_convert(app, client):
    text_field = {**LOYALTY, "type": "string", "min": "", "max": "", "max_length": "20"}
    review_then_apply(client, "/admin/entities/contact/characteristics/new", text_field)
    engine = engine_of(app)
    good = engine.records.create("contact", {"last_name": "Good", "loyalty": "7"}, SYSTEM_ACTOR)
    bad = engine.records.create("contact", {"last_name": "Bad", "loyalty": "seven"}, SYSTEM_ACTOR)
    retype = {"type": "integer", "label_en": "Loyalty", "label_fr": "Fidélité", "systematic": "1"}
    review = client.post("/admin/entities/contact/characteristics/loyalty", data=retype)
    assert review.status_code == 409
    assert 'id="blocked"' in review.text and 'id="apply"' not in review.text
    shown = text_of(review.text)
    assert f"record {bad['id']}" in shown and "seven" in shown and f"record {good['id']}" not in shown
    engine.records.update("contact", bad["id"], {"loyalty": "8"}, SYSTEM_ACTOR, version=bad["version"])
    review_then_apply(client, "/admin/entities/contact/characteristics/loyalty", retype)
    engine = engine_of(app)
    assert engine.model.entity("contact").field("loyalty").type == "integer"
    assert engine.records.get("contact", good["id"])["loyalty"] == 7


def test_removing_a_characteristic_added_here_archives_it(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
    review = client.post("/admin/entities/contact/characteristics/loyalty/remove")
    assert review.status_code == 200 and "archive" in text_of(review.text).lower()
    client.post("/admin/apply", data={"change": token_of(review.text)})
    assert "loyalty" not in engine_of(app).model.entity("contact").fields_by_name


def test_removing_a_base_characteristic_archives_its_values_and_a_revert_brings_them_back(app, client):
    kept = engine_of(app).records.create("contact", {"last_name": "Kept", "mobile": "+33 6 12 34 56 78"}, SYSTEM_ACTOR)
    assert 'name="mobile"' in client.get(f"/contact/{kept['id']}").text
    review = client.post("/admin/entities/contact/characteristics/mobile/remove")
    assert review.status_code == 200 and "archive" in text_of(review.text).lower()
    client.post("/admin/apply", data={"change": token_of(review.text)})
    assert overlay_document(app, "entities/contact.yaml")["remove_characteristics"] == ["mobile"]
    engine = engine_of(app)
    assert "mobile" not in engine.model.entity("contact").fields_by_name
    assert 'name="mobile"' not in client.get(f"/contact/{kept['id']}").text
    review = client.post("/admin/revisions/1/revert")
    after = client.post("/admin/apply", data={"change": token_of(review.text)}, follow_redirects=True).text
    assert 'data-restore="contact.mobile"' in after
    client.post("/admin/archive/restore", data={"target": "contact.mobile"})
    assert engine_of(app).records.get("contact", kept["id"])["mobile"] == "+33 6 12 34 56 78"


def test_removing_a_characteristic_something_still_needs_is_refused_naming_what(app, client):
    refused = client.post("/admin/entities/contact/characteristics/email/remove")
    assert refused.status_code == 422 and 'id="apply"' not in refused.text
    shown = text_of(refused.text).replace("&#39;", "'")
    assert "natural_key.0 : unknown characteristic 'email' in entity 'contact' (removed by" in shown
    assert "duplicates.same_email.match.0 : unknown characteristic 'email'" in shown
    assert "email" in engine_of(app).model.entity("contact").fields_by_name


def test_renaming_a_base_characteristic_moves_its_values_and_keeps_its_places(app, client):
    kept = engine_of(app).records.create("contact", {"last_name": "Kept", "mobile": "+33 6 12 34 56 78"}, SYSTEM_ACTOR)
    assert 'id="rename-form"' in client.get("/admin/entities/contact/characteristics/mobile").text
    review = client.post("/admin/entities/contact/characteristics/mobile/rename", data={"new_name": "cell_phone"})
    assert review.status_code == 200
    assert "contact.mobile: renamed to cell_phone: the column moves with its 1 value(s)" in text_of(review.text)
    client.post("/admin/apply", data={"change": token_of(review.text)})
    record = engine_of(app).records.get("contact", kept["id"])
    assert record["cell_phone"] == "+33 6 12 34 56 78" and "mobile" not in record
    form = client.get(f"/contact/{kept['id']}").text
    assert 'name="cell_phone"' in form and 'name="mobile"' not in form
    assert archive_entries(engine_of(app)) == []


@pytest.mark.parametrize("new_name, message", [("email", "already exists"), ("Bad-Name", "Lowercase letters")])
def test_a_rename_onto_a_name_taken_or_not_an_identifier_is_refused(client, new_name, message):
    refused = client.post("/admin/entities/contact/characteristics/mobile/rename", data={"new_name": new_name})
    assert refused.status_code == 422 and 'id="error-new_name"' in refused.text and message in refused.text


def test_the_status_is_not_a_characteristic_to_edit_or_remove(client):
    assert client.get("/admin/entities/lead/characteristics/status").status_code == 404
    assert client.post("/admin/entities/lead/characteristics/status/remove").status_code == 404
    assert client.post("/admin/entities/lead/characteristics/status/rename", data={"new_name": "x"}).status_code == 404


# -- the list view ---------------------------------------------------------------------------


def test_list_view_columns_filters_and_mass_update(app, client):
    data = {"column-last_name": "1", "column-email": "2", "filter-function": "1", "filter-language": "2",
            "mass_update": ["assigned_to", "language"]}
    review_then_apply(client, "/admin/entities/contact/list-view", data)
    view = engine_of(app).model.entity("contact").view("list")
    assert (view.columns, view.filters, view.mass_update) == (
        ("last_name", "email"), ("function", "language"), ("language", "assigned_to"))  # mass update: field order
    listing = client.get("/contact/").text
    assert "Business email" in listing and "Business phone" not in listing


def test_a_named_view_is_edited_like_the_list_view_and_keeps_its_condition(app, client):
    overview = client.get("/admin/").text
    assert 'href="/admin/entities/account/views/key_accounts?lang=en"' in overview
    assert 'href="/admin/entities/account/views/key_accounts?lang=en"' in client.get("/admin/entities/account").text
    form = client.get("/admin/entities/account/views/key_accounts?lang=en")
    assert form.status_code == 200 and "definitions/views/key_accounts.yaml" in form.text
    assert re.search(r'name="column-annual_revenue"[^>]*value="5"', form.text)
    engine = engine_of(app)
    engine.records.create("account", {"name": "Big", "key_account": True, "city": "Lyon"}, SYSTEM_ACTOR)
    engine.records.create("account", {"name": "Small", "key_account": False, "city": "Nantes"}, SYSTEM_ACTOR)
    review_then_apply(client, "/admin/entities/account/views/key_accounts",
                      {"column-name": "1", "column-city": "2", "filter-sector": "1", "mass_update": ["assigned_to"]})
    assert overlay_document(app, "views/key_accounts.yaml") == {
        "extends": "key_accounts", "columns": ["name", "city"], "filters": ["sector"], "mass_update": ["assigned_to"]}
    view = engine_of(app).model.entity("account").view("key_accounts")
    assert (view.columns, view.filters, view.mass_update, dict(view.where)) == (
        ("name", "city"), ("sector",), ("assigned_to",), {"key_account": True})
    listing = text_of(client.get("/account/?view=key_accounts&tab=all").text)
    assert "Lyon" in listing and "Nantes" not in listing


def test_only_named_list_views_have_an_admin_page(client):
    assert client.get("/admin/entities/account/views/nope").status_code == 404
    assert client.get("/admin/entities/account/views/form").status_code == 404
    assert client.get("/admin/entities/lead/views/key_accounts").status_code == 404


def test_a_list_view_without_columns_is_a_problem_on_the_columns(client):
    page = client.post("/admin/entities/contact/list-view", data={"filter-function": "1"})
    assert page.status_code == 422 and 'id="error-columns"' in page.text


# -- value lists -----------------------------------------------------------------------------


def test_add_a_value_then_edit_its_labels_then_retire_it(app, client):
    review_then_apply(client, "/admin/lists/sectors/values",
                      {"code": "space", "label_en": "Space", "label_fr": "Espace", "color": "#112233"})
    value = engine_of(app).model.value_list("sectors").value("space")
    assert (value.label.fr, value.color, value.retired) == ("Espace", "#112233", False)
    edit = {"label_en": "Space industry", "label_fr": "Spatial", "order": str(value.order), "color": "#112233"}
    review_then_apply(client, "/admin/lists/sectors/values/space", edit)
    review_then_apply(client, "/admin/lists/sectors/values/space", {**edit, "retired": "1"})
    value = engine_of(app).model.value_list("sectors").value("space")
    assert (value.label.en, value.retired) == ("Space industry", True)
    document = overlay_document(app, "lists/sectors.yaml")
    assert document["values"] == [{"code": "space", "label": {"en": "Space industry", "fr": "Spatial"},
                                   "color": "#112233", "retired": True}]


def test_retiring_a_base_value_is_an_override(app, client):
    it = engine_of(app).model.value_list("sectors").value("it")
    review_then_apply(client, "/admin/lists/sectors/values/it",
                      {"label_en": it.label.en, "label_fr": it.label.fr, "order": str(it.order), "retired": "1"})
    assert overlay_document(app, "lists/sectors.yaml")["overrides"] == {"it": {"retired": True}}
    assert engine_of(app).model.value_list("sectors").value("it").retired


def test_a_value_code_taken_is_refused_under_the_code(client):
    page = client.post("/admin/lists/sectors/values", data={"code": "it", "label_en": "IT", "label_fr": "Info"})
    assert page.status_code == 422 and re.search(r'id="error-code"><li>[^<]*already exists', page.text)


def test_a_new_list_then_a_choice_characteristic_using_it(app, client):
    review_then_apply(client, "/admin/lists/new", {"name": "tiers", "label_en": "Tiers", "label_fr": "Niveaux",
                                                   "code": "gold", "value_label_en": "Gold", "value_label_fr": "Or"})
    assert engine_of(app).model.value_list("tiers").codes == {"gold"}
    review_then_apply(client, "/admin/entities/contact/characteristics/new",
                      {**LOYALTY, "name": "tier", "type": "choice", "list": "tiers", "min": "", "max": ""})
    assert engine_of(app).model.entity("contact").field("tier").list == "tiers"


# -- workflows -------------------------------------------------------------------------------


def test_add_a_status_with_its_sequence_and_see_it_in_the_workflow(app, client):
    data = {"code": "escalated", "label_en": "Escalated", "label_fr": "Escaladé", "sequence": "25",
            "color": "#ef4444", "kind": "open"}
    review = client.post("/admin/workflows/ticket/statuses", data=data)
    assert review.status_code == 200 and "status escalated added" in text_of(review.text)
    review_then_apply(client, "/admin/workflows/ticket/statuses", data)
    codes = [s.code for s in engine_of(app).model.workflow("ticket").statuses]
    assert codes[:4] == ["new", "in_progress", "escalated", "pending"]
    assert overlay_document(app, "workflows/ticket.yaml")["statuses"] == [
        {"code": "escalated", "label": {"en": "Escalated", "fr": "Escaladé"}, "sequence": 25, "color": "#ef4444"}]


def test_edit_a_base_status_then_remove_one_but_never_a_protected_one(app, client):
    review_then_apply(client, "/admin/workflows/ticket/statuses/pending",
                      {"label_en": "On hold", "label_fr": "En pause", "sequence": "30", "color": "#a855f7", "kind": "open"})
    assert overlay_document(app, "workflows/ticket.yaml")["override_statuses"] == {
        "pending": {"label": {"en": "On hold", "fr": "En pause"}}}
    review_then_apply(client, "/admin/workflows/ticket/statuses/pending/remove", {})
    ticket = engine_of(app).model.workflow("ticket")
    assert ticket.status("pending") is None and "wait_for_customer" not in {t.name for t in ticket.transitions}
    refused = client.post("/admin/workflows/ticket/statuses/closed/remove")
    assert refused.status_code == 422 and "protected" in refused.text


def test_add_edit_and_remove_a_transition(app, client):
    review_then_apply(client, "/admin/workflows/ticket/transitions", {
        "name": "escalate", "label_en": "Escalate", "label_fr": "Escalader", "from": ["new", "in_progress"],
        "to": "pending", "roles": ["manager"]})
    transition = next(t for t in engine_of(app).model.workflow("ticket").transitions if t.name == "escalate")
    assert (transition.from_statuses, transition.to, transition.roles) == (("new", "in_progress"), "pending", ("manager",))
    review_then_apply(client, "/admin/workflows/ticket/transitions/take", {
        "label_en": "Take in charge", "label_fr": "Prendre en charge", "from": ["new", "pending"],
        "to": "in_progress", "roles": ["support"]})
    assert overlay_document(app, "workflows/ticket.yaml")["override_transitions"] == {"take": {"roles": ["support"]}}
    review_then_apply(client, "/admin/workflows/ticket/transitions/escalate/remove", {})
    names = {t.name for t in engine_of(app).model.workflow("ticket").transitions}
    assert "escalate" not in names and "take" in names
    assert "transitions" not in overlay_document(app, "workflows/ticket.yaml")


def test_a_transition_needs_a_status_to_start_from(client):
    page = client.post("/admin/workflows/ticket/transitions",
                       data={"name": "jump", "label_en": "Jump", "label_fr": "Saut", "to": "closed"})
    assert page.status_code == 422 and 'id="error-from"' in page.text


# -- role permissions ------------------------------------------------------------------------


def test_role_permissions_per_entity(app, client):
    review_then_apply(client, "/admin/roles/sales/lead", {
        "can": ["read", "update"], "scope": "team", "hidden": ["budget"], "readonly": ["score"]})
    granted = engine_of(app).model.role("sales").entities["lead"]
    assert (granted.operations, granted.scope, granted.hidden, granted.readonly) == (
        frozenset({"read", "update"}), "team", frozenset({"budget"}), frozenset({"score"}))
    assert client.get("/admin/roles/admin/lead").status_code == 404


def test_a_permission_the_language_refuses_is_a_message(client):
    page = client.post("/admin/roles/sales/lead", data={"can": ["read", "create"], "scope": "own",
                                                        "hidden": ["last_name"]})
    assert page.status_code == 422 and 'id="problems"' in page.text and "last_name" in page.text


# -- revisions -------------------------------------------------------------------------------


def test_revisions_list_who_and_when_and_revert_brings_the_definitions_back(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
    engine_of(app).records.create("contact", {"last_name": "Kept", "loyalty": 4}, SYSTEM_ACTOR)
    listing = client.get("/admin/revisions").text
    assert 'data-revision="1"' in listing and "demo" in listing and "contact: add characteristic loyalty" in listing
    review = client.post("/admin/revisions/1/revert")
    assert review.status_code == 200 and "characteristic loyalty removed" in text_of(review.text)
    assert engine_of(app).model.entity("contact").fields_by_name.get("loyalty") is not None  # not yet
    client.post("/admin/apply", data={"change": token_of(review.text)})
    revision = installation_of(app).revisions()[0]
    assert (revision.id, revision.reverts) == (2, 1)
    assert "loyalty" not in engine_of(app).model.entity("contact").fields_by_name
    # reverting the revert declares it again: its archived values can be restored
    review = client.post("/admin/revisions/2/revert")
    after = client.post("/admin/apply", data={"change": token_of(review.text)}, follow_redirects=True).text
    assert "contact.loyalty" in after and 'data-restore="contact.loyalty"' in after
    client.post("/admin/archive/restore", data={"target": "contact.loyalty"})
    kept = engine_of(app).records.list("contact", actor=SYSTEM_ACTOR)
    assert [r["loyalty"] for r in kept.rows if r["last_name"] == "Kept"] == [4]


def test_a_revision_page_shows_its_documents(client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
    page = client.get("/admin/revisions/1")
    assert page.status_code == 200 and "entities/contact.yaml" in page.text and "extends: contact" in page.text
    assert client.get("/admin/revisions/9").status_code == 404


def test_a_review_made_before_another_change_is_not_applied_over_it(app, client):
    stale = client.post("/admin/entities/contact/characteristics/new", data=LOYALTY)
    review_then_apply(client, "/admin/lists/sectors/values", {"code": "space", "label_en": "Space", "label_fr": "Espace"})
    refused = client.post("/admin/apply", data={"change": token_of(stale.text)})
    assert refused.status_code == 409 and "changed since revision 0" in refused.text
    assert len(installation_of(app).revisions()) == 1


def test_an_altered_review_is_refused(app, client):
    review = client.post("/admin/entities/contact/characteristics/new", data=LOYALTY)
    token = token_of(review.text)
    refused = client.post("/admin/apply", data={"change": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")})
    assert refused.status_code == 400
    assert installation_of(app).revisions() == []


def test_another_process_picks_up_the_revision_at_its_next_check_without_restart(app, client, database_url, tmp_path):
    now = [0.0]
    other = build_app(database_url, tmp_path, monotonic=lambda: now[0])
    try:
        reader = other.test_client()
        assert 'name="loyalty"' not in reader.get("/contact/new").text  # its layouts are built and kept
        assert "Loyalty" not in reader.get("/contact/").text
        review_then_apply(client, "/admin/entities/contact/characteristics/new", LOYALTY)
        assert 'name="loyalty"' not in reader.get("/contact/new").text  # not checked again yet
        now[0] += 1.0  # engine.live.CHECK_INTERVAL later
        assert 'name="loyalty"' in reader.get("/contact/new").text
        assert "Loyalty" in reader.get("/contact/").text
    finally:
        close_app(other)


# -- who may -----------------------------------------------------------------------------------


@pytest.fixture
def secured(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    built = build_app(database_url, tmp_path, LOGIN_REQUIRED=True)
    accounts = Accounts(engine_of(built))
    accounts.migrate()
    accounts.create_user("sam", "Sam Seller", PASSWORD, ["sales"])
    accounts.create_user("ada", "Ada Admin", PASSWORD, ["admin"])
    yield built
    close_app(built)


def log_in(client: FlaskClient, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302


def test_only_administrators_reach_the_pages(secured):
    anonymous = secured.test_client()
    assert anonymous.get("/admin/").status_code == 302
    seller = secured.test_client()
    log_in(seller, "sam")
    assert seller.get("/admin/").status_code == 403
    assert seller.get("/admin/entities/contact/characteristics/new").status_code == 403
    assert seller.post("/admin/entities/contact/characteristics/new", data=LOYALTY).status_code == 403
    assert installation_of(secured).revisions() == []
    administrator = secured.test_client()
    log_in(administrator, "ada")
    assert administrator.get("/admin/").status_code == 200
    review_then_apply(administrator, "/admin/entities/contact/characteristics/new", LOYALTY)
    assert installation_of(secured).revisions()[0].actor_name == "ada"


def test_the_admin_link_is_for_administrators_only(secured):
    accounts = Accounts(engine_of(secured))
    with secured.test_request_context("/"):
        assert admin_home() is None  # nobody logged in
    for username, expected in (("sam", None), ("ada", "/admin/?lang=en")):
        with secured.test_request_context("/"):
            user_id = accounts.user_id(username)
            start_session(user_id, accounts.session_generation(user_id))
            assert admin_home() == expected


def test_every_post_needs_the_csrf_token(app):
    plain = FlaskClient(app, app.response_class, use_cookies=True)
    assert plain.post("/admin/entities/contact/characteristics/new", data=LOYALTY).status_code == 403
    assert plain.post("/admin/revisions/1/revert").status_code == 403


def test_a_list_view_keeps_the_paths_it_filters_by_when_saved(app, client):
    """The base opportunity list filters by `account.sector`: its page offers that path, and a
    save as shown keeps it (a path left out of the page would be dropped unasked)."""
    before = engine_of(app).model.entity("opportunity").view("list")
    page = client.get("/admin/entities/opportunity/list-view").text
    position = before.filters.index("account.sector") + 1
    assert re.search(rf'name="filter-account\.sector"[^>]*value="{position}"', page)
    data = {**{f"column-{n}": str(i + 1) for i, n in enumerate(before.columns)},
            **{f"filter-{n}": str(i + 1) for i, n in enumerate(before.filters)},
            "mass_update": list(before.mass_update)}
    review_then_apply(client, "/admin/entities/opportunity/list-view", data)
    after = engine_of(app).model.entity("opportunity").view("list")
    assert (after.columns, after.filters) == (before.columns, before.filters)
