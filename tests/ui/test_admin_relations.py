"""Relations on the administration pages: a `links` characteristic (target, min/max, historized,
mandatory, reverse relation), a `lines` characteristic made with its new owned entity, their
labels and bounds edited, reverse relations renamed, and a form's related panels chosen. Every
change goes form -> review (the plan in words, the join or line table said) -> apply."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

import metamodel
from engine import SYSTEM_ACTOR

from test_admin_pages import (  # noqa: F401 (app and client: the admin pages' fixtures)
    app, build_app, client, close_app, engine_of, installation_of, overlay_document, review_then_apply, text_of,
)

BASE = metamodel.load_model([metamodel.BASE_PACK])
KICK_OFF = {"subject": "Kick-off", "event_type": "meeting", "starts_at": "2026-03-02T09:00:00"}
GUESTS = {"name": "guests", "type": "links", "entity": "contact", "label_en": "Guests", "label_fr": "Invités",
          "min": "", "max": "50", "historized": "1", "systematic": "1", "section": "1"}
PHONES = {"name": "phones", "type": "lines", "label_en": "Phones", "label_fr": "Téléphones", "min": "", "max": "5",
          "systematic": "1", "section": "1",
          "owned_name": "contact_phone", "owned_label_en": "Phone", "owned_label_fr": "Téléphone",
          "owned_plural_en": "Phones", "owned_plural_fr": "Téléphones",
          "first_name": "number", "first_type": "phone", "first_label_en": "Number", "first_label_fr": "Numéro",
          "first_mandatory": "1"}


def error_of(html: str, field: str) -> str | None:
    found = re.search(rf'id="error-{re.escape(field)}"><li>([^<]*)', html)
    return found.group(1) if found else None


def mistakes(html: str) -> str:
    """What a form shown again says is wrong (its problems and field errors), for assertion messages."""
    found = re.findall(r'id="problems".*?</ul>|id="refusal".*?</p>|id="error-[^"]+"><li>[^<]*', html, re.S)
    return text_of(" | ".join(found))


def tables(app: Flask) -> set[str]:
    return set(sa.inspect(engine_of(app).db).get_table_names())


# -- links -----------------------------------------------------------------------------------


def test_the_form_offers_links_and_lines_and_only_entities_a_link_may_name(client):
    page = client.get("/admin/entities/event/characteristics/new").text
    assert '<option value="links">' in page and '<option value="lines">' in page
    assert 'id="reverse-relation"' in page and 'id="owned-entity-fields"' in page


def test_adding_a_links_characteristic_shows_its_join_table_in_the_plan_then_applies(app, client):
    review = client.post("/admin/entities/event/characteristics/new", data=GUESTS)
    assert review.status_code == 200, mistakes(review.text)
    shown = text_of(review.text)
    assert "entity event: characteristic guests added (links to contact)" in shown
    assert "rel_event__guests" in shown
    assert "rel_event__guests" not in tables(app)

    review_then_apply(client, "/admin/entities/event/characteristics/new", GUESTS)
    guests = engine_of(app).model.entity("event").field("guests")
    assert (guests.type, guests.entity, guests.max, guests.historized) == ("links", "contact", 50, True)
    assert overlay_document(app, "entities/event.yaml")["characteristics"]["guests"] == {
        "type": "links", "label": {"en": "Guests", "fr": "Invités"}, "historized": True, "max": 50, "entity": "contact"}
    assert "rel_event__guests" in tables(app)
    assert "event_guests" in [r.name for r in engine_of(app).model.relations("contact")]
    contact = engine_of(app).records.create("contact", {"last_name": "Lee"}, SYSTEM_ACTOR)
    event = engine_of(app).records.create("event", {**KICK_OFF, "guests": [contact["id"]]}, SYSTEM_ACTOR)
    assert event["guests"] == [contact["id"]]


def test_a_links_characteristic_with_its_reverse_relation_named_and_labelled(app, client):
    review_then_apply(client, "/admin/entities/event/characteristics/new", {
        **GUESTS, "reverse_name": "invited_to", "reverse_label_en": "Invited to", "reverse_label_fr": "Invité à"})
    relation = engine_of(app).model.relation("contact", "invited_to")
    assert (relation.source_entity, relation.source_field, relation.label.fr) == ("event", "guests", "Invité à")
    assert overlay_document(app, "entities/event.yaml")["characteristics"]["guests"]["reverse"] == {
        "name": "invited_to", "label": {"en": "Invited to", "fr": "Invité à"}}


@pytest.mark.parametrize("change, field, message", [
    ({"entity": ""}, "entity", "Choose the entity a link points to."),
    ({"max": "0"}, "max", "at least 1"),
    ({"min": "-1"}, "min", "A whole number is expected."),
    ({"reverse_name": "Invited"}, "reverse_name", "Lowercase letters"),
    ({"reverse_label_en": "Invited to"}, "reverse_label_fr", "Required."),
])
def test_links_form_mistakes_are_shown_under_their_field(client, change, field, message):
    page = client.post("/admin/entities/event/characteristics/new", data={**GUESTS, **change})
    assert page.status_code == 422
    assert message in (error_of(page.text, field) or "")


def test_links_bounds_the_language_refuses_are_problems_not_half_saved(app, client):
    over = client.post("/admin/entities/event/characteristics/new", data={**GUESTS, "max": "10001"})
    assert over.status_code == 422 and 'id="problems"' in over.text and "Traceback" not in over.text
    assert "characteristics.guests.max" in over.text
    crossed = client.post("/admin/entities/event/characteristics/new", data={**GUESTS, "min": "3", "max": "2"})
    assert crossed.status_code == 422 and 'id="problems"' in crossed.text
    at_most = client.post("/admin/entities/event/characteristics/new", data={**GUESTS, "max": "10000"})
    assert at_most.status_code == 200
    assert installation_of(app).revisions() == []


def test_a_reverse_name_taken_on_the_target_is_a_problem_in_french_too(app, client):
    taken = client.post("/admin/entities/event/characteristics/new?lang=fr",
                        data={**GUESTS, "reverse_name": "last_name"})
    assert taken.status_code == 422 and 'id="problems"' in taken.text
    assert "Les définitions ne seraient pas valides" in taken.text and "last_name" in text_of(taken.text)
    assert installation_of(app).revisions() == []


def link_form(app: Flask, owner: str, name: str, **change: str) -> dict[str, str]:
    """The characteristic form of base link (or links) `owner.name` as shown, with `change`."""
    field = engine_of(app).model.entity(owner).field(name)
    data = {"type": field.type, "entity": field.entity, "label_en": field.label.en, "label_fr": field.label.fr,
            "reverse_name": field.reverse_name or ""}
    data.update({flag: "1" for flag in ("mandatory", "systematic", "historized", "indexed") if getattr(field, flag)})
    data.update({bound: str(getattr(field, bound)) for bound in ("min", "max") if getattr(field, bound) is not None})
    if field.reverse_label is not None:
        data.update(reverse_label_en=field.reverse_label.en, reverse_label_fr=field.reverse_label.fr)
    return {**data, **change}


def test_editing_a_base_link_renames_its_reverse_relation_and_the_plan_says_it(app, client):
    page = client.get("/admin/entities/activity_report/characteristics/contact").text
    assert 'id="reverse-default"' in page and "activity_report_contact" in page
    data = link_form(app, "activity_report", "contact", reverse_name="reports")
    review = client.post("/admin/entities/activity_report/characteristics/contact", data=data)
    assert review.status_code == 200, mistakes(review.text)
    assert "characteristic contact changed (reverse relation activity_report_contact renamed reports)" in text_of(
        review.text)
    review_then_apply(client, "/admin/entities/activity_report/characteristics/contact", data)
    assert overlay_document(app, "entities/activity_report.yaml")["characteristics"]["contact"] == {"reverse": "reports"}
    assert engine_of(app).model.reverse_relation("activity_report", "contact").name == "reports"
    assert 'value="reports"' in client.get("/admin/entities/activity_report/characteristics/contact").text

    back = link_form(app, "activity_report", "contact", reverse_name="")
    review_then_apply(client, "/admin/entities/activity_report/characteristics/contact", back)
    assert engine_of(app).model.reverse_relation("activity_report", "contact").name == "activity_report_contact"


def test_the_panels_naming_a_renamed_reverse_relation_follow_it(app, client):
    before = [p.relation for p in BASE.entity("account").view("form").related]
    data = link_form(app, "event", "account", reverse_name="meetings")
    review = client.post("/admin/entities/event/characteristics/account", data=data)
    assert review.status_code == 200, mistakes(review.text)
    shown = text_of(review.text)
    assert "reverse relation event_account renamed meetings" in shown and "entity account: view form changed" in shown
    review_then_apply(client, "/admin/entities/event/characteristics/account", data)
    panels = engine_of(app).model.entity("account").view("form").related
    assert [p.relation for p in panels] == [("meetings" if r == "event_account" else r) for r in before]
    assert [p.columns for p in panels] == [p.columns for p in BASE.entity("account").view("form").related]


def test_removing_a_characteristic_takes_it_out_of_the_panels_showing_its_entity(app, client):
    assert "function" in BASE.entity("account").view("form").related[0].columns  # contact_account
    review_then_apply(client, "/admin/entities/contact/characteristics/function/remove", {})
    panel = engine_of(app).model.entity("account").view("form").related[0]
    assert panel.relation == "contact_account" and "function" not in panel.columns
    review_then_apply(client, "/admin/entities/event/characteristics/account/remove", {})
    assert "event_account" not in [p.relation for p in engine_of(app).model.entity("account").view("form").related]


def test_editing_a_links_label_and_max_keeps_its_members(app, client):
    review_then_apply(client, "/admin/entities/event/characteristics/new", GUESTS)
    engine = engine_of(app)
    contact = engine.records.create("contact", {"last_name": "Lee"}, SYSTEM_ACTOR)
    event = engine.records.create("event", {**KICK_OFF, "guests": [contact["id"]]}, SYSTEM_ACTOR)
    page = client.get("/admin/entities/event/characteristics/guests").text
    assert 'value="50"' in page
    review_then_apply(client, "/admin/entities/event/characteristics/guests", {
        **{k: v for k, v in GUESTS.items() if k not in ("name", "section")}, "label_en": "Invitees", "max": "20"})
    guests = engine_of(app).model.entity("event").field("guests")
    assert (guests.label.en, guests.max) == ("Invitees", 20)
    assert engine_of(app).records.get("event", event["id"])["guests"] == [contact["id"]]


# -- lines -----------------------------------------------------------------------------------


def test_adding_lines_makes_their_owned_entity_and_the_plan_says_both(app, client):
    review = client.post("/admin/entities/contact/characteristics/new", data=PHONES)
    assert review.status_code == 200, mistakes(review.text)
    shown = text_of(review.text)
    assert "contact: add lines phones (new owned entity contact_phone)" in shown
    assert "entity contact: characteristic phones added (lines of contact_phone)" in shown
    assert "entity contact_phone: added" in shown
    assert "ent_contact_phone" in shown

    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    model = engine_of(app).model
    assert model.entity("contact_phone").owned_by == "contact"
    assert model.entity("contact").field("phones").max == 5
    assert overlay_document(app, "entities/contact_phone.yaml") == {
        "entity": "contact_phone", "label": {"en": "Phone", "fr": "Téléphone"},
        "plural": {"en": "Phones", "fr": "Téléphones"}, "owned_by": "contact",
        "characteristics": {"number": {"type": "phone", "label": {"en": "Number", "fr": "Numéro"}, "mandatory": True}}}
    assert "list" not in overlay_document(app, "entities/contact.yaml")["views"]  # lines are no list column
    created = engine_of(app).records.create("contact", {"last_name": "Lee", "phones": [{"number": "+33 1 02"}]},
                                            SYSTEM_ACTOR)
    assert [line["number"] for line in created["phones"]] == ["+33 1 02"]
    owned_page = client.get("/admin/entities/contact_phone").text
    assert 'id="owner-link"' in owned_page and 'id="edit-related"' not in owned_page


@pytest.mark.parametrize("change, field, message", [
    ({"owned_name": ""}, "owned_name", "Required."),
    ({"owned_name": "account"}, "owned_name", "already exists"),
    ({"owned_plural_fr": ""}, "owned_plural_fr", "Required."),
    ({"first_name": "position"}, "first_name", "system column"),
    ({"first_type": "lines"}, "first_type", "Choose one of the values offered."),
    ({"first_label_en": ""}, "first_label_en", "Required."),
])
def test_lines_need_a_new_owned_entity_and_its_first_characteristic(app, client, change, field, message):
    page = client.post("/admin/entities/contact/characteristics/new", data={**PHONES, **change})
    assert page.status_code == 422
    assert message in (error_of(page.text, field) or "")
    assert installation_of(app).revisions() == []


def test_lines_bounds_the_language_refuses_are_problems(app, client):
    over = client.post("/admin/entities/contact/characteristics/new", data={**PHONES, "max": "1001"})
    assert over.status_code == 422 and "characteristics.phones.max" in over.text
    assert client.post("/admin/entities/contact/characteristics/new", data={**PHONES, "max": "1000"}).status_code == 200


def test_editing_lines_changes_their_label_and_bounds_not_their_entity(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    page = client.get("/admin/entities/contact/characteristics/phones").text
    assert 'id="owned-entity"' in page and 'id="reverse-relation"' not in page
    review_then_apply(client, "/admin/entities/contact/characteristics/phones", {
        "type": "lines", "label_en": "Numbers", "label_fr": "Numéros", "min": "1", "max": "3", "systematic": "1",
        "entity": "account"})
    phones = engine_of(app).model.entity("contact").field("phones")
    assert (phones.label.en, phones.min, phones.max, phones.entity) == ("Numbers", 1, 3, "contact_phone")


def test_a_link_cannot_name_an_owned_entity_on_the_form(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    page = client.get("/admin/entities/event/characteristics/new").text
    assert 'value="contact_phone"' not in page
    refused = client.post("/admin/entities/event/characteristics/new", data={**GUESTS, "entity": "contact_phone"})
    assert refused.status_code == 422 and error_of(refused.text, "entity")


# -- related panels --------------------------------------------------------------------------


def test_the_entity_page_lists_its_panels_and_links_to_their_page(client):
    page = client.get("/admin/entities/account").text
    assert 'id="related-panels"' in page and 'data-relation="contact_account"' in page
    assert 'id="edit-related"' in page
    form = client.get("/admin/entities/account/related").text
    assert 'data-relation="lead_converted_account"' in form and 'id="f-mode-chosen" checked' in form
    assert 'name="position-contact_account" value="1"' in form  # as the base pack declares them
    assert 'name="position-lead_converted_account" value=""' in form
    assert 'id="f-mode-default" checked' in client.get("/admin/entities/event/related").text


def test_choosing_panels_writes_only_what_differs_from_their_defaults(app, client):
    data = {"mode": "chosen", "position-task_account": "1", "position-contact_account": "2",
            "size-contact_account": "5", "columns-task_account": "", "sort-task_account": ""}
    review = client.post("/admin/entities/account/related", data=data)
    assert review.status_code == 200, mistakes(review.text)
    assert "entity account: view form changed (related)" in text_of(review.text)
    review_then_apply(client, "/admin/entities/account/related", data)
    assert overlay_document(app, "entities/account.yaml")["views"]["form"] == {
        "related": [{"relation": "task_account"}, {"relation": "contact_account", "size": 5}]}
    panels = engine_of(app).model.entity("account").view("form").related
    assert [(p.relation, p.size) for p in panels] == [("task_account", 10), ("contact_account", 5)]


def test_panel_columns_and_sort_are_paths_checked_like_a_packs(app, client):
    good = {"mode": "chosen", "position-event_account": "1", "columns-event_account": "subject, contact.last_name",
            "sort-event_account": "-contact.last_name"}
    review_then_apply(client, "/admin/entities/account/related", good)
    panel = engine_of(app).model.entity("account").view("form").related[0]
    assert (panel.columns, panel.sort) == (("subject", "contact.last_name"), ("-contact.last_name",))
    bad = client.post("/admin/entities/account/related", data={**good, "columns-event_account": "subject, contact.nope"})
    assert bad.status_code == 422 and 'id="problems"' in bad.text
    assert error_of(bad.text, "columns-event_account") and "nope" in error_of(bad.text, "columns-event_account")
    assert len(installation_of(app).revisions()) == 1


def test_no_panel_given_is_related_none_and_default_goes_back(app, client):
    review_then_apply(client, "/admin/entities/account/related", {"mode": "chosen"})
    assert overlay_document(app, "entities/account.yaml")["views"]["form"] == {"related": []}
    assert engine_of(app).model.entity("account").view("form").related == ()
    review_then_apply(client, "/admin/entities/account/related", {"mode": "default"})
    assert "account.yaml" not in " ".join(installation_of(app).overlay().documents)
    assert engine_of(app).model.entity("account").view("form") == BASE.entity("account").view("form")


@pytest.mark.parametrize("field, value, message", [
    ("size-contact_account", "0", "at least 1"),
    ("size-contact_account", "101", "from 1 to 100"),
    ("position-contact_account", "first", "A whole number is expected."),
])
def test_panel_form_mistakes_are_shown_under_their_input(client, field, value, message):
    page = client.post("/admin/entities/account/related", data={"mode": "chosen", "position-contact_account": "1",
                                                                 field: value})
    assert page.status_code == 422 and message in (error_of(page.text, field) or "")


def test_a_panel_size_of_100_is_accepted(client):
    page = client.post("/admin/entities/account/related", data={"mode": "chosen", "position-contact_account": "1",
                                                                 "size-contact_account": "100"})
    assert page.status_code == 200


def test_an_owned_entity_has_no_panels_page(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    assert client.get("/admin/entities/contact_phone/related").status_code == 404


# -- a named form view's panels --------------------------------------------------------------

RELATIONS_PACK = Path(__file__).resolve().parents[1] / "metamodel" / "packs" / "relations"


@pytest.fixture
def rooms_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    built = build_app(database_url, tmp_path, PACKS=[metamodel.BASE_PACK, RELATIONS_PACK])
    yield built
    close_app(built)


def test_the_panels_of_a_named_form_view_are_chosen_on_their_own_page(rooms_app):
    client = rooms_app.test_client()
    entity_page = client.get("/admin/entities/room").text
    assert '<li data-view="booking_summary">' in entity_page
    form = client.get("/admin/entities/room/views/booking_summary/related").text
    assert 'name="columns-booking_room" value="subject, account, account.sector"' in form
    data = {"mode": "chosen", "position-booking_room": "1", "columns-booking_room": "subject, account.sector",
            "sort-booking_room": "-created_at", "size-booking_room": "20"}
    review = client.post("/admin/entities/room/views/booking_summary/related", data=data)
    assert review.status_code == 200, mistakes(review.text)
    assert "room: related panels of view booking_summary" in text_of(review.text)
    review_then_apply(client, "/admin/entities/room/views/booking_summary/related", data)
    assert overlay_document(rooms_app, "views/booking_summary.yaml") == {"extends": "booking_summary", "related": [
        {"relation": "booking_room", "columns": ["subject", "account.sector"], "sort": ["-created_at"], "size": 20}]}
    panel = engine_of(rooms_app).model.entity("room").view("booking_summary").related[0]
    assert (panel.columns, panel.size) == (("subject", "account.sector"), 20)
    packs_form = metamodel.load_model([metamodel.BASE_PACK, RELATIONS_PACK]).entity("room").view("form")
    assert engine_of(rooms_app).model.entity("room").view("form").related == packs_form.related  # left as it was


def test_only_form_views_have_a_panels_page(rooms_app):
    client = rooms_app.test_client()
    assert client.get("/admin/entities/room/views/nope/related").status_code == 404
    assert client.get("/admin/entities/booking/views/controlled_bookings/related").status_code == 404
    assert client.get("/admin/entities/meal/related").status_code == 404


def test_removing_lines_added_here_takes_their_owned_entity_along(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    review = client.post("/admin/entities/contact/characteristics/phones/remove", data={})
    assert review.status_code == 200, mistakes(review.text)
    assert "entity contact_phone: removed" in text_of(review.text)
    review_then_apply(client, "/admin/entities/contact/characteristics/phones/remove", {})
    assert "contact_phone" not in engine_of(app).model.entities
    assert "entities/contact_phone.yaml" not in installation_of(app).overlay().documents


def test_retargeting_a_link_drops_the_panel_of_its_relation_on_the_former_target(app, client):
    data = link_form(app, "event", "account", entity="contact")
    review = client.post("/admin/entities/event/characteristics/account", data=data)
    assert review.status_code == 409 and 'id="problems"' not in review.text  # valid, but migrate refuses a new target
    assert "entity account: view form changed (related)" in text_of(review.text)


def test_a_link_becoming_links_keeps_its_panel(app, client):
    data = link_form(app, "event", "account", type="links")
    data.pop("mandatory", None)
    review_then_apply(client, "/admin/entities/event/characteristics/account", data)
    assert engine_of(app).model.entity("event").field("account").type == "links"
    assert "event_account" in [p.relation for p in engine_of(app).model.entity("account").view("form").related]


def test_the_relation_forms_and_their_mistakes_speak_french(client):
    page = html.unescape(client.get("/admin/entities/contact/characteristics/new?lang=fr").text)
    assert "Relation inverse (lien, liens multiples)" in page and "Lignes : l'entité possédée qui les porte" in page
    refused = client.post("/admin/entities/contact/characteristics/new?lang=fr", data={**PHONES, "owned_name": "account"})
    assert refused.status_code == 422 and "Une entité nommée « account » existe déjà" in error_of(refused.text, "owned_name")
    panels = client.post("/admin/entities/account/related?lang=fr", data={
        "mode": "chosen", "position-contact_account": "1", "size-contact_account": "101"})
    assert panels.status_code == 422 and error_of(panels.text, "size-contact_account") == (
        "Un nombre entier de 1 à 100 est attendu.")
    review = client.post("/admin/entities/event/characteristics/new?lang=fr", data=GUESTS)
    assert "entité event : ajout de la caractéristique guests (liens vers contact)" in text_of(review.text)


def test_an_owned_entity_page_offers_no_lines_no_list_and_no_permissions(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    page = client.get("/admin/entities/contact_phone").text
    assert 'id="owned-note"' in page and 'id="edit-list-view"' not in page and 'id="permissions"' not in page
    form = client.get("/admin/entities/contact_phone/characteristics/new").text
    assert '<option value="lines">' not in form and '<option value="links">' in form
    refused = client.post("/admin/entities/contact_phone/characteristics/new", data={**PHONES, "name": "sub"})
    assert refused.status_code == 422 and error_of(refused.text, "type")
    assert 'name="in_list"' not in form
    extension = {"name": "kind", "type": "string", "label_en": "Kind", "label_fr": "Type", "systematic": "1",
                 "section": "1", "in_list": "1"}
    review_then_apply(client, "/admin/entities/contact_phone/characteristics/new", extension)
    assert engine_of(app).model.entity("contact_phone").view("form").sections[0].fields == ("number", "kind")
    assert "list" not in overlay_document(app, "entities/contact_phone.yaml").get("views", {})


def test_the_overview_says_whose_lines_an_owned_entity_holds_and_links_forms_to_their_panels(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    overview = client.get("/admin/").text
    row = re.search(r'<tr data-entity="contact_phone">.*?</tr>', overview, re.S).group(0)
    assert 'data-owner="contact"' in row and "Lines of contact" in row
    assert 'href="/admin/entities/account/related' in overview
    assert client.get("/admin/entities/contact_phone/list-view").status_code == 404


def test_roles_grant_nothing_on_an_owned_entity_and_hide_lines_and_links_on_the_owner(app, client):
    review_then_apply(client, "/admin/entities/contact/characteristics/new", PHONES)
    assert 'contact_phone' not in client.get("/admin/roles/sales").text
    assert client.get("/admin/roles/sales/contact_phone").status_code == 404
    for entity, field, key in (("contact", "phones", "hidden"), ("event", "attendees", "readonly")):
        assert f'name="{key}" value="{field}"' in client.get(f"/admin/roles/sales/{entity}").text
        granted = engine_of(app).model.role("sales").entities[entity]
        review_then_apply(client, f"/admin/roles/sales/{entity}", {
            "can": sorted(granted.operations), "scope": granted.scope, key: [field]})
        assert field in getattr(engine_of(app).model.role("sales").entities[entity], key)


def test_a_base_links_characteristic_submitted_unchanged_changes_nothing(app, client):
    page = client.get("/admin/entities/event/characteristics/attendees").text
    assert 'id="reverse-relation"' in page and '<option value="contact" selected>' in page
    unchanged = client.post("/admin/entities/event/characteristics/attendees", data=link_form(app, "event", "attendees"))
    assert unchanged.status_code == 200 and 'id="notice"' in unchanged.text
