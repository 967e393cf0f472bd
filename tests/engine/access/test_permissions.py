"""Roles enforced in the engine: operations, row scopes, hidden and read-only characteristics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import metamodel
from engine import SYSTEM_ACTOR, Actor, NotFoundError, RecordValidationError
from engine.access.permissions import PermissionDenied
from engine.records.queries import QueryError

PACKS_DIR = Path(__file__).resolve().parents[1]
BASE = {"name": "Widget", "do_not_call": True, "qty": 1, "price": "5"}


@pytest.fixture(scope="module")
def secured_model():
    return metamodel.load_model([PACKS_DIR / "pack", PACKS_DIR / "secured"])


@pytest.fixture
def engine(make_engine, secured_model, clock):
    return make_engine(secured_model, clock=clock)


@pytest.fixture
def people(engine):
    ids = engine.records.create_many(
        "user", [{"username": "ann", "team": "north"}, {"username": "bob", "team": "north"}, {"username": "cid", "team": "south"}],
        SYSTEM_ACTOR,
    )
    ann, bob, cid = ids
    return {
        "ann": Actor(user_id=ann, username="ann", roles=frozenset({"clerk"}), team="north"),
        "bob": Actor(user_id=bob, username="bob", roles=frozenset({"clerk"}), team="north"),
        "cid": Actor(user_id=cid, username="cid", roles=frozenset({"teamlead"}), team="south"),
        "lea": Actor(user_id=bob, username="lea", roles=frozenset({"teamlead"}), team="north"),
        "val": Actor(user_id=None, username="val", roles=frozenset({"viewer"})),
        "max": Actor(user_id=None, username="max", roles=frozenset({"boss"})),
        "nobody": Actor(user_id=None, username="nobody", roles=frozenset({"unknown_role"})),
    }


@pytest.fixture
def samples(engine, people):
    clerk_fields = {"name": "Ann's", "do_not_call": True}
    mine = engine.records.create("sample", clerk_fields, people["ann"])
    bobs = engine.records.create("sample", {**clerk_fields, "name": "Bob's"}, people["bob"])
    south = engine.records.create("sample", {**BASE, "name": "South"}, people["cid"])
    for record in (mine, bobs):  # what a clerk may not set, the office sets for them
        engine.records.update("sample", record["id"], {"qty": 1, "price": "5"}, SYSTEM_ACTOR)
    return {"ann": mine["id"], "bob": bobs["id"], "south": south["id"]}


def test_hidden_characteristics_never_come_out(engine, people, samples):
    ann = people["ann"]
    assert "price" not in engine.records.get("sample", samples["ann"], actor=ann)
    listed = engine.records.list("sample", actor=ann)
    assert listed.rows and all("price" not in row for row in listed.rows)
    narrow = engine.records.list("sample", actor=ann, fields=["name", "price"])  # asked for, still hidden
    assert narrow.rows and all(set(row) == {"id", "version", "name"} for row in narrow.rows)
    for entry in engine.records.audit_log("sample", samples["ann"], actor=ann):
        assert "price" not in (entry["changes"] or {})
    with pytest.raises(PermissionDenied):
        engine.records.history("sample", samples["ann"], "price", actor=ann)
    assert engine.records.get("sample", samples["ann"], actor=people["max"])["price"] is not None


@pytest.mark.parametrize("args", [{"sort": ["price"]}, {"f_price_min": ["1"]}, {"group": ["level"], "f_price_max": ["9"]}])
def test_filtering_or_sorting_by_a_hidden_characteristic_is_refused(engine, people, samples, args):
    with pytest.raises(PermissionDenied):
        engine.records.list("sample", engine.records.list_request("sample", args), actor=people["ann"])


def test_hidden_and_readonly_characteristics_cannot_be_set(engine, people, samples):
    with pytest.raises(RecordValidationError) as caught:
        engine.records.create("sample", {**BASE}, people["ann"])
    assert {n: e[0].rule for n, e in caught.value.errors.items()} == {"price": "readonly", "qty": "readonly"}
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("sample", samples["ann"], {"qty": 3}, people["ann"])
    assert caught.value.errors["qty"][0].rule == "readonly"
    assert engine.records.update("sample", samples["ann"], {"notes": "ok"}, people["ann"])["notes"] == "ok"


def test_own_scope(engine, people, samples):
    ann = people["ann"]
    assert [r["name"] for r in engine.records.list("sample", actor=ann).rows] == ["Ann's"]
    assert engine.records.count("sample", actor=ann) == 1
    with pytest.raises(NotFoundError):
        engine.records.get("sample", samples["bob"], actor=ann)
    with pytest.raises(NotFoundError):
        engine.records.update("sample", samples["bob"], {"notes": "x"}, ann)
    with pytest.raises(NotFoundError):
        engine.records.history("sample", samples["bob"], "level", actor=ann)


def test_own_includes_records_linked_to_the_user(engine, people, samples):
    engine.records.update("sample", samples["south"], {"owner": people["ann"].user_id}, SYSTEM_ACTOR)
    assert {r["name"] for r in engine.records.list("sample", actor=people["ann"]).rows} == {"Ann's", "South"}


def test_team_scope(engine, people, samples):
    lea = people["lea"]
    assert {r["name"] for r in engine.records.list("sample", actor=lea).rows} == {"Ann's", "Bob's"}
    assert {r["name"] for r in engine.records.list("sample", actor=people["cid"]).rows} == {"South"}


def test_group_counts_obey_the_scope(engine, people, samples):
    request = engine.records.list_request("sample", {"group": ["level"]})
    result = engine.records.list("sample", request, actor=people["ann"])
    assert [(g.value, g.count) for g in result.groups] == [("low", 1)]
    assert result.total == 1


def test_operations_not_granted_are_refused(engine, people, samples):
    with pytest.raises(PermissionDenied):
        engine.records.delete("sample", samples["ann"], people["ann"])
    with pytest.raises(PermissionDenied):
        engine.records.create("sample", {"name": "No"}, people["val"])
    with pytest.raises(PermissionDenied):
        engine.records.create("user", {"username": "eve"}, people["ann"])
    with pytest.raises(PermissionDenied):
        engine.records.list("sample", actor=people["nobody"])
    with pytest.raises(PermissionDenied):
        engine.records.mass_update("sample", [samples["ann"]], {"notes": "x"}, people["val"])
    assert engine.records.delete("sample", samples["south"], people["cid"])["deleted_at"] is not None


def test_mass_update_stays_in_scope(engine, people, samples):
    everything = engine.records.list_request("sample", {"tab": ["all"]})
    result = engine.records.mass_update("sample", everything, {"notes": "bulk"}, people["ann"])
    assert (result.matched, result.changed) == (1, 1)
    result = engine.records.mass_update("sample", list(samples.values()), {"notes": "ids"}, people["ann"])
    assert result.matched == 1
    assert engine.records.get("sample", samples["bob"])["notes"] == "drafted"
    with pytest.raises(RecordValidationError) as caught:
        engine.records.mass_update("sample", everything, {"qty": 4}, people["ann"])
    assert caught.value.errors["qty"][0].rule == "readonly"


def test_transitions_need_update_permission(engine, people, samples):
    engine.records.update("sample", samples["ann"], {"email": "a@example.org"}, people["ann"])
    moved = engine.records.transition("sample", samples["ann"], "submit", people["ann"])
    assert moved["status"] == "review" and "price" not in moved
    with pytest.raises(PermissionDenied):
        engine.records.transition("sample", samples["ann"], "cancel", people["val"])


def test_admin_and_system_see_everything(engine, people, samples):
    assert engine.records.count("sample", actor=people["max"]) == 3
    assert engine.records.count("sample") == 3
    assert engine.records.value_as_of("sample", samples["ann"], "price", dt.datetime(2100, 1, 1), actor=people["max"])


def test_a_model_without_roles_is_open(make_engine, model):
    open_engine = make_engine(model)
    record = open_engine.records.create("sample", BASE, Actor(user_id=1, roles=frozenset({"anything"})))
    assert "price" in open_engine.records.get("sample", record["id"], actor=Actor(user_id=2))


def test_query_errors_still_come_first(engine, people):
    with pytest.raises(QueryError):
        engine.records.list_request("sample", {"sort": ["nope"]})


def test_a_conflict_shows_only_what_the_actor_may_see(engine, people, samples):
    from engine import ConflictError

    with pytest.raises(ConflictError) as caught:
        engine.records.update("sample", samples["ann"], {"notes": "x"}, people["ann"], version=1)
    assert "price" not in caught.value.current and caught.value.current["name"] == "Ann's"


# -- several roles: each operation with the grants that allow it --------------------------------


def holding(actor: Actor, *roles: str) -> Actor:
    return Actor(user_id=actor.user_id, username=actor.username, roles=frozenset(roles), team=actor.team)


def test_a_wide_reading_role_lends_its_scope_to_reading_only(engine, people, samples):
    """Clerk (own records: read, create, update, mass update) + viewer (every record: read)."""
    ann = holding(people["ann"], "clerk", "viewer")
    assert engine.records.count("sample", actor=ann) == 3
    assert engine.records.get("sample", samples["bob"], actor=ann)["name"] == "Bob's"
    with pytest.raises(PermissionDenied):  # a record she may read: refused, not hidden
        engine.records.update("sample", samples["bob"], {"notes": "x"}, ann)
    with pytest.raises(PermissionDenied):
        engine.records.transition("sample", samples["bob"], "cancel", ann)
    refused = engine.records.available_transitions("sample", samples["bob"], ann)
    assert refused and all(error is not None for _, error in refused)
    result = engine.records.mass_update("sample", list(samples.values()), {"notes": "bulk"}, ann)
    assert (result.matched, result.changed) == (1, 1)
    assert engine.records.get("sample", samples["bob"])["notes"] == "drafted"
    assert engine.records.update("sample", samples["ann"], {"notes": "mine"}, ann)["notes"] == "mine"
    with pytest.raises(PermissionDenied):
        engine.records.delete("sample", samples["ann"], ann)


def test_a_record_out_of_every_scope_stays_not_found(engine, people, samples):
    ann = holding(people["ann"], "clerk", "worker")  # worker reaches notes, not samples
    with pytest.raises(NotFoundError):
        engine.records.update("sample", samples["bob"], {"notes": "x"}, ann)
    with pytest.raises(NotFoundError):
        engine.records.get("sample", samples["bob"], actor=ann)


def test_field_rules_follow_the_grants_of_each_operation(engine, people, samples):
    """Viewer shows the price that clerk hides, for reading; updating is clerk's alone, so the
    price and the quantity stay out of reach there."""
    ann = holding(people["ann"], "clerk", "viewer")
    assert engine.records.get("sample", samples["ann"], actor=ann)["price"] is not None
    assert engine.records.history("sample", samples["ann"], "price", actor=ann)
    with pytest.raises(RecordValidationError) as caught:
        engine.records.update("sample", samples["ann"], {"qty": 3, "price": "9"}, ann)
    assert {n: e[0].rule for n, e in caught.value.errors.items()} == {"price": "readonly", "qty": "readonly"}
    access = engine.records.permissions.access(ann, "sample")
    assert access.hidden == frozenset() and access.for_operation("update").protected >= {"price", "qty"}
    assert access.scope == "all" and access.scope_of("update") == "own" and access.scope_of("delete") is None


@pytest.mark.parametrize(("roles", "scopes"), [
    (("clerk",), {"read": "own", "update": "own", "delete": None}),
    (("clerk", "viewer"), {"read": "all", "update": "own", "delete": None}),
    (("clerk", "teamlead"), {"read": "team", "update": "team", "delete": "team"}),
    (("viewer", "teamlead"), {"read": "all", "update": "team", "delete": "team"}),
    (("clerk", "boss"), {"read": "all", "update": "all", "delete": "all"}),
    (("unknown_role",), {"read": None, "update": None, "delete": None}),
])
def test_scopes_per_operation(engine, people, roles, scopes):
    access = engine.records.permissions.access(holding(people["ann"], *roles), "sample")
    assert {op: access.scope_of(op) for op in scopes} == scopes


def test_an_operation_no_role_allows_reaches_no_record(engine, people, samples):
    from engine.records.transaction import Transaction

    val = people["val"]  # viewer: reads, never updates
    with engine.db.connect() as conn:
        tx = Transaction(engine.records, conn, val)
        assert tx.in_scope("sample", samples.values(), "update") == set()
        assert tx.in_scope("sample", samples.values(), "read") == set(samples.values())
