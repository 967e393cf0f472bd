"""engine.accounts: users who log in, their roles, slow password hashes and API tokens."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Engine, NotFoundError, RecordValidationError
from engine.access.accounts import LOGIN_TABLE, TOKEN_TABLE, AccountError, Accounts

from api_support import PACKS


@pytest.fixture
def model() -> metamodel.Model:
    return metamodel.load_model([metamodel.BASE_PACK])


@pytest.fixture
def accounts(make_engine, model, clock) -> Accounts:
    return Accounts(make_engine(model, clock=clock))


def table_names(engine: Engine) -> set[str]:
    with engine.db.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_engine_migrate_creates_the_account_tables_once_accounts_exist(database_url, model) -> None:
    engine = Engine(model, database_url)
    try:
        Accounts(engine)
        steps = engine.migrate()
        assert "create table sys_login (5 columns)" in steps and "create table sys_token (7 columns)" in steps
        assert {LOGIN_TABLE, TOKEN_TABLE} <= table_names(engine)
        assert engine.migrate() == [] and Accounts(engine).migrate() == []
    finally:
        engine.dispose()


def test_accounts_migrate_adds_its_tables_to_a_database_already_migrated(make_engine, model) -> None:
    engine = make_engine(model)
    assert LOGIN_TABLE not in table_names(engine)
    steps = Accounts(engine).migrate()
    assert "create table sys_login (5 columns)" in steps and "create table sys_token (7 columns)" in steps
    assert "create table sys_session (3 columns)" in steps
    assert {LOGIN_TABLE, TOKEN_TABLE} <= table_names(engine)


def test_tables_are_created_on_first_use(make_engine, model) -> None:
    engine = make_engine(model)
    user_id = Accounts(engine).create_user("ann", "Ann", "a long password", ["sales"])
    assert Accounts(engine).actor_for(user_id).roles == frozenset({"sales"})


def test_create_user_makes_the_user_record_and_a_slow_password_hash(accounts: Accounts) -> None:
    user_id = accounts.create_user("ann", "Ann Martin", "a long password", ["sales", "support"],
                                   email="ann@example.com", team="sales_france")
    record = accounts.engine.records.get("user", user_id)
    assert (record["username"], record["display_name"], record["email"], record["team"]) == (
        "ann", "Ann Martin", "ann@example.com", "sales_france")
    with accounts.db.connect() as conn:
        row = conn.execute(sa.select(accounts.login).where(accounts.login.c.user_id == user_id)).one()
    assert row.password_hash.startswith("scrypt:") and "a long password" not in row.password_hash
    assert row.roles == ["sales", "support"] and row.active is True


def test_unknown_roles_are_refused_with_the_roles_that_exist(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match=r"unknown role\(s\): boss \(roles defined: admin, manager, read_only, sales, support\)"):
        accounts.create_user("ann", "Ann", "a long password", ["sales", "boss"])
    assert accounts.engine.records.count("user") == 0


def test_a_password_has_at_least_eight_characters(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="at least 8"):
        accounts.create_user("ann", "Ann", "1234567", ["sales"])
    assert accounts.create_user("ann", "Ann", "12345678", ["sales"]) > 0


def test_the_user_record_rules_apply_and_nothing_is_half_written(accounts: Accounts) -> None:
    with pytest.raises(RecordValidationError) as refused:
        accounts.create_user("Not Valid", "Ann", "a long password", ["sales"])
    assert refused.value.errors["username"][0].rule == "pattern"
    accounts.create_user("ann", "Ann", "a long password", ["sales"])
    with pytest.raises(RecordValidationError) as taken:
        accounts.create_user("ann", "Other", "a long password", ["sales"])
    assert taken.value.errors["username"][0].rule == "unique"
    with accounts.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(accounts.login)).scalar_one() == 1


def test_authenticate_accepts_only_the_right_password_of_an_active_login(accounts: Accounts) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"], team="sales_export")
    actor = accounts.authenticate("ann", "a long password", lang="fr")
    assert (actor.user_id, actor.username, actor.roles, actor.team, actor.lang) == (
        user_id, "ann", frozenset({"sales"}), "sales_export", "fr")
    assert accounts.authenticate("ann", "a long passworD") is None
    assert accounts.authenticate("nobody", "a long password") is None
    accounts.set_active(user_id, False)
    assert accounts.authenticate("ann", "a long password") is None
    accounts.set_active(user_id, True)
    accounts.set_password(user_id, "another password")
    assert accounts.authenticate("ann", "a long password") is None
    assert accounts.authenticate("ann", "another password") is not None


def test_a_user_switched_off_in_their_record_cannot_log_in(accounts: Accounts) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"])
    accounts.engine.records.update("user", user_id, {"active": False}, SYSTEM_ACTOR)
    assert accounts.authenticate("ann", "a long password") is None


def test_set_roles_replaces_roles_and_checks_them(accounts: Accounts) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"])
    assert accounts.set_roles(user_id, ["manager", "manager", "support"]) == ["manager", "support"]
    assert accounts.actor_for(user_id).roles == frozenset({"manager", "support"})
    with pytest.raises(AccountError):
        accounts.set_roles(user_id, ["nope"])
    with pytest.raises(NotFoundError):
        accounts.set_roles(999, ["sales"])


def test_a_seeded_user_gets_a_login_through_roles_and_password(accounts: Accounts) -> None:
    record = accounts.engine.records.create("user", {"username": "zoe", "display_name": "Zoé"}, SYSTEM_ACTOR)
    assert accounts.authenticate("zoe", "a long password") is None
    accounts.set_roles(record["id"], ["read_only"])
    assert accounts.authenticate("zoe", "a long password") is None
    accounts.set_password(record["id"], "a long password")
    assert accounts.authenticate("zoe", "a long password").roles == frozenset({"read_only"})


def test_tokens_are_stored_as_hashes_and_shown_once(accounts: Accounts, clock) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"])
    token = accounts.create_token(user_id, "ci")
    assert len(token) >= 40
    with accounts.db.connect() as conn:
        stored = conn.execute(sa.select(accounts.token)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    (info,) = accounts.list_tokens(user_id)
    assert (info.name, info.user_id, info.created_at, info.last_used_at, info.revoked_at) == (
        "ci", user_id, clock.now, None, None)


def test_a_token_gives_its_users_actor_until_revoked(accounts: Accounts, clock) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["support"], team="customer_support")
    token = accounts.create_token(user_id, "ci")
    other = accounts.create_token(user_id, "laptop")
    actor = accounts.actor_for_token(token, lang="fr")
    assert (actor.user_id, actor.roles, actor.team, actor.lang) == (user_id, frozenset({"support"}), "customer_support", "fr")
    first_use = clock.now
    assert accounts.list_tokens(user_id)[0].last_used_at == first_use
    clock.advance(minutes=5)
    accounts.actor_for_token(token)
    assert accounts.list_tokens(user_id)[0].last_used_at == clock.now
    revoked = accounts.revoke_token(accounts.list_tokens(user_id)[0].id)
    assert revoked.revoked_at == clock.now
    assert accounts.actor_for_token(token) is None
    assert accounts.actor_for_token(other) is not None
    assert accounts.actor_for_token("not a token") is None and accounts.actor_for_token("") is None
    with pytest.raises(AccountError):
        accounts.revoke_token(999)


def test_tokens_stop_working_for_inactive_or_deleted_users(accounts: Accounts) -> None:
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"])
    token = accounts.create_token(user_id)
    accounts.set_active(user_id, False)
    assert accounts.actor_for_token(token) is None
    accounts.set_active(user_id, True)
    assert accounts.actor_for_token(token) is not None
    accounts.engine.records.delete("user", user_id, SYSTEM_ACTOR)
    assert accounts.actor_for_token(token) is None


def test_a_token_needs_a_login_and_a_name(accounts: Accounts) -> None:
    record = accounts.engine.records.create("user", {"username": "zoe", "display_name": "Zoé"}, SYSTEM_ACTOR)
    with pytest.raises(AccountError, match="no login"):
        accounts.create_token(record["id"])
    user_id = accounts.create_user("ann", "Ann", "a long password", ["sales"])
    with pytest.raises(AccountError):
        accounts.create_token(user_id, " ")
    with pytest.raises(AccountError):
        accounts.create_token(user_id, "x" * 81)
    assert accounts.create_token(user_id, "x" * 80)


def test_list_users_shows_who_can_log_in(accounts: Accounts) -> None:
    accounts.engine.records.create("user", {"username": "zoe", "display_name": "Zoé"}, SYSTEM_ACTOR)
    ann = accounts.create_user("ann", "Ann", "a long password", ["sales", "support"])
    assert accounts.list_users() == [
        {"id": ann, "username": "ann", "display_name": "Ann", "roles": ["sales", "support"], "can_log_in": True,
         "active": True},
        {"id": ann - 1, "username": "zoe", "display_name": "Zoé", "roles": [], "can_log_in": False, "active": False},
    ]


def test_a_model_without_users_has_no_accounts(make_engine) -> None:
    engine = make_engine(metamodel.load_model([PACKS / "no_users"]))
    with pytest.raises(AccountError, match="no `user` entity"):
        Accounts(engine)
