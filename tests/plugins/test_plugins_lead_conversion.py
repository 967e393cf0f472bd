"""Lead conversion on the base pack: the lead's `convert` transition calls the `convert_lead` action."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import SYSTEM_ACTOR, Actor, EngineError, RecordValidationError, TransitionError
from plugins.lead_conversion import read_mappings

LEAD = {
    "first_name": "Lucie",
    "last_name": "Martin",
    "company": "Acme",
    "email": "lucie@acme.example",
    "phone": "+33 1 23 45 67 89",
    "city": "Lyon",
    "sector": "banking",
    "source": "referral",
    "budget": "12000.50",
    "score": 4,
}
PARTS = ("account", "contact", "opportunity")


@pytest.fixture
def engine(make_engine, base_model):
    return make_engine(base_model)


@pytest.fixture
def seller(engine) -> Actor:
    user = engine.records.create("user", {"username": "sam", "display_name": "Sam Seller"}, SYSTEM_ACTOR)
    return Actor(user_id=user["id"], username="sam", roles=frozenset({"sales"}))


def convertible_status(engine) -> str:
    (status,) = engine.workflows["lead"].transition("convert").from_statuses
    return status


def qualified_lead(engine, seller: Actor, **values) -> dict:
    """A lead in the status the `convert` transition starts from (the system may create it there)."""
    values = {**LEAD, "status": convertible_status(engine), "assigned_to": seller.user_id, **values}
    return engine.records.create("lead", values, SYSTEM_ACTOR)


def convert(engine, lead: dict, actor: Actor, **inputs) -> dict:
    return engine.records.transition("lead", lead["id"], "convert", actor, inputs=inputs)


def counts(engine) -> dict[str, int]:
    return {part: engine.records.count(part) for part in PARTS}


def refusal(caught: pytest.ExceptionInfo, key: str, lang: str = "en") -> tuple[str, str]:
    (error,) = caught.value.as_dict(lang)[key]
    return error["rule"], error["message"]


def assert_nothing_converted(engine, lead: dict) -> None:
    after = engine.records.get("lead", lead["id"])
    assert (after["status"], after["version"], after["converted_account"], after["converted_on"]) == (
        convertible_status(engine), lead["version"], None, None,
    )


# -- new records ------------------------------------------------------------------------


def test_conversion_creates_an_account_and_a_contact_from_the_lead(engine, seller):
    lead = qualified_lead(engine, seller)
    converted = convert(engine, lead, seller)
    assert converted["status"] == "converted"
    assert converted["converted_opportunity"] is None
    account = engine.records.get("account", converted["converted_account"])
    contact = engine.records.get("contact", converted["converted_contact"])
    assert (account["name"], account["phone"], account["email"], account["city"], account["sector"]) == (
        "Acme", "+33 1 23 45 67 89", "lucie@acme.example", "Lyon", "banking",
    )
    assert (contact["first_name"], contact["last_name"], contact["email"], contact["account"]) == (
        "Lucie", "Martin", "lucie@acme.example", account["id"],
    )
    assert account["assigned_to"] == contact["assigned_to"] == seller.user_id
    assert account["created_by"] == contact["created_by"] == seller.user_id
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 0}


def test_empty_lead_values_are_not_copied(engine, seller):
    lead = qualified_lead(engine, seller, phone=None, mobile=None, city="")
    converted = convert(engine, lead, seller)
    account = engine.records.get("account", converted["converted_account"])
    contact = engine.records.get("contact", converted["converted_contact"])
    assert (account["phone"], account["city"], account["website"], contact["mobile"]) == (None, None, None, None)
    assert account["account_type"] == "prospect"  # the account's own default still applies


def test_assigned_to_is_not_copied_from_an_unassigned_lead(engine, seller):
    lead = qualified_lead(engine, seller, assigned_to=None)
    manager = Actor(user_id=None, username="mia", roles=frozenset({"manager"}))  # sales only see their own leads
    converted = convert(engine, lead, manager)
    assert engine.records.get("account", converted["converted_account"])["assigned_to"] is None


def test_given_values_override_the_copied_ones(engine, seller):
    lead = qualified_lead(engine, seller)
    converted = convert(
        engine, lead, seller,
        account={"values": {"name": "Acme Holding", "city": "Paris"}},
        contact={"values": {"email": "l.martin@acme.example", "salutation": None}},
    )
    account = engine.records.get("account", converted["converted_account"])
    contact = engine.records.get("contact", converted["converted_contact"])
    assert (account["name"], account["city"], account["phone"]) == ("Acme Holding", "Paris", "+33 1 23 45 67 89")
    assert contact["email"] == "l.martin@acme.example"


def test_an_opportunity_is_created_when_asked(engine, seller):
    lead = qualified_lead(engine, seller)
    converted = convert(engine, lead, seller, opportunity={"values": {"expected_close": "2026-06-30"}})
    opportunity = engine.records.get("opportunity", converted["converted_opportunity"])
    assert (opportunity["name"], opportunity["amount"], opportunity["source"]) == ("Acme", Decimal("12000.50"), "referral")
    assert (opportunity["account"], opportunity["contact"], opportunity["lead"]) == (
        converted["converted_account"], converted["converted_contact"], lead["id"],
    )
    assert opportunity["assigned_to"] == seller.user_id
    assert str(opportunity["expected_close"]) == "2026-06-30"
    assert opportunity["status"] == "prospecting"
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 1}


def test_an_empty_opportunity_choice_creates_one_from_the_mapping(engine, seller):
    converted = convert(engine, qualified_lead(engine, seller), seller, opportunity={})
    assert engine.records.get("opportunity", converted["converted_opportunity"])["name"] == "Acme"


def test_opportunity_none_creates_none(engine, seller):
    converted = convert(engine, qualified_lead(engine, seller), seller, opportunity=None)
    assert converted["converted_opportunity"] is None
    assert counts(engine)["opportunity"] == 0


# -- existing records -------------------------------------------------------------------


def test_an_existing_account_gets_a_new_contact(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    converted = convert(engine, qualified_lead(engine, seller), seller, account={"id": account["id"]})
    assert converted["converted_account"] == account["id"]
    contact = engine.records.get("contact", converted["converted_contact"])
    assert (contact["last_name"], contact["account"]) == ("Martin", account["id"])
    assert engine.records.get("account", account["id"])["version"] == account["version"]  # left as it was
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 0}


def test_an_existing_contact_of_the_chosen_account_is_used(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    contact = engine.records.create("contact", {"last_name": "Martin", "account": account["id"]}, seller)
    converted = convert(
        engine, qualified_lead(engine, seller), seller,
        account={"id": account["id"]}, contact={"id": str(contact["id"])}, opportunity={"values": {}},
    )
    assert (converted["converted_account"], converted["converted_contact"]) == (account["id"], contact["id"])
    opportunity = engine.records.get("opportunity", converted["converted_opportunity"])
    assert (opportunity["account"], opportunity["contact"]) == (account["id"], contact["id"])
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 1}


def test_a_contact_of_another_account_is_refused(engine, seller):
    chosen = engine.records.create("account", {"name": "Acme SA"}, seller)
    other = engine.records.create("account", {"name": "Bolt"}, seller)
    contact = engine.records.create("contact", {"last_name": "Martin", "account": other["id"]}, seller)
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, account={"id": chosen["id"]}, contact={"id": contact["id"]})
    rule, message = refusal(caught, "contact")
    assert rule == "other_account"
    assert message.startswith(f"Contact {contact['id']} does not belong to the chosen account")
    assert refusal(caught, "contact", "fr")[1].startswith(f"Le contact {contact['id']} n'appartient pas au compte choisi")
    assert_nothing_converted(engine, lead)
    assert counts(engine) == {"account": 2, "contact": 1, "opportunity": 0}


def test_a_contact_without_account_is_refused(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    contact = engine.records.create("contact", {"last_name": "Martin"}, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, qualified_lead(engine, seller), seller, account={"id": account["id"]}, contact={"id": contact["id"]})
    assert refusal(caught, "contact")[0] == "other_account"


def test_an_existing_contact_cannot_join_a_new_account(engine, seller):
    other = engine.records.create("account", {"name": "Bolt"}, seller)
    contact = engine.records.create("contact", {"last_name": "Martin", "account": other["id"]}, seller)
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, contact={"id": contact["id"]})
    assert refusal(caught, "contact")[0] == "other_account"
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 0}
    assert_nothing_converted(engine, lead)


def test_an_account_that_does_not_exist_is_refused(engine, seller):
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, account={"id": 999})
    assert refusal(caught, "account") == ("not_found", "There is no Account with id 999 (or it is in the trash).")
    assert refusal(caught, "account", "fr")[1] == (
        "Il n'existe aucun enregistrement « Compte » d'identifiant 999 (ou il est dans la corbeille)."
    )
    assert_nothing_converted(engine, lead)


def test_an_account_in_the_trash_is_refused(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    engine.records.delete("account", account["id"], SYSTEM_ACTOR)  # sales may not delete accounts
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, qualified_lead(engine, seller), seller, account={"id": account["id"]})
    assert refusal(caught, "account")[0] == "not_found"


def test_a_contact_in_the_trash_is_refused(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    contact = engine.records.create("contact", {"last_name": "Martin", "account": account["id"]}, seller)
    engine.records.delete("contact", contact["id"], SYSTEM_ACTOR)  # sales may not delete contacts
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, qualified_lead(engine, seller), seller, account={"id": account["id"]}, contact={"id": contact["id"]})
    assert refusal(caught, "contact")[0] == "not_found"


# -- what the caller may ask ----------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs, key, rule",
    [
        ({"account": {"id": 1, "values": {"name": "Both"}}}, "account", "bad_choice"),
        ({"account": {"name": "Acme"}}, "account", "bad_choice"),
        ({"account": "Acme"}, "account", "bad_choice"),
        ({"contact": {"values": ["Martin"]}}, "contact", "bad_choice"),
        ({"account": {"id": "one"}}, "account", "not_found"),
        ({"account": {"id": True}}, "account", "not_found"),
        ({"opportunity": {"id": 1}}, "opportunity", "new_only"),
        ({"acount": {"id": 1}}, "acount", "unknown"),
    ],
)
def test_a_malformed_choice_is_refused(engine, seller, inputs, key, rule):
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, **inputs)
    assert refusal(caught, key)[0] == rule
    assert_nothing_converted(engine, lead)
    assert counts(engine) == {"account": 0, "contact": 0, "opportunity": 0}


# -- once only, all or nothing ----------------------------------------------------------------


def test_converting_twice_is_refused(engine, seller):
    lead = qualified_lead(engine, seller)
    convert(engine, lead, seller)
    with pytest.raises(TransitionError) as caught:
        convert(engine, lead, seller)
    assert caught.value.reason == "not_from"
    assert counts(engine) == {"account": 1, "contact": 1, "opportunity": 0}


def test_a_lead_that_already_points_to_an_account_is_refused(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    lead = qualified_lead(engine, seller, converted_account=account["id"])
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller)
    assert refusal(caught, "status") == ("already_converted", "This lead has already been converted.")
    assert refusal(caught, "status", "fr")[1] == "Cette piste a déjà été convertie."
    assert counts(engine) == {"account": 1, "contact": 0, "opportunity": 0}


def test_a_refused_contact_leaves_no_account_behind(engine, seller):
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, contact={"values": {"email": "not an email"}})
    assert list(caught.value.errors) == ["contact.email"]
    assert caught.value.entity == "lead"
    assert "contact.email: Not a valid email address." in str(caught.value)
    assert counts(engine) == {"account": 0, "contact": 0, "opportunity": 0}
    assert_nothing_converted(engine, lead)


def test_a_refused_opportunity_leaves_nothing_behind(engine, seller):
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError) as caught:
        convert(engine, lead, seller, opportunity={"values": {"amount": "-1"}})
    assert [e.rule for e in caught.value.errors["opportunity.amount"]] == ["min"]
    assert counts(engine) == {"account": 0, "contact": 0, "opportunity": 0}
    assert_nothing_converted(engine, lead)


def test_a_refused_opportunity_leaves_the_chosen_account_untouched(engine, seller):
    account = engine.records.create("account", {"name": "Acme SA"}, seller)
    lead = qualified_lead(engine, seller)
    with pytest.raises(RecordValidationError):
        convert(engine, lead, seller, account={"id": account["id"]}, opportunity={"values": {"probability": 101}})
    assert counts(engine) == {"account": 1, "contact": 0, "opportunity": 0}
    assert engine.records.audit_log("account", account["id"])[-1]["action"] == "create"
    assert_nothing_converted(engine, lead)


# -- the params, as the workflow writes them ------------------------------------------------


def test_the_base_pack_params_name_real_characteristics(base_model):
    (action,) = [a for t in base_model.workflow("lead").transitions for a in t.actions if a.kind == "convert_lead"]
    mappings = read_mappings(base_model, base_model.entity("lead"), action.params)
    assert mappings["account"]["name"] == "company"
    assert mappings["opportunity"]["amount"] == "budget"


def test_params_naming_unknown_characteristics_are_refused_all_at_once(base_model):
    params = {"account": {"nme": "company", "city": "town"}, "partner": {}}
    with pytest.raises(EngineError) as caught:
        read_mappings(base_model, base_model.entity("lead"), params)
    message = str(caught.value)
    assert message.startswith("convert_lead params: ")
    assert "'partner' is not one of account, contact, opportunity" in message
    assert "account.nme: account has no characteristic 'nme'" in message
    assert "account.city: lead has no characteristic 'town'" in message
