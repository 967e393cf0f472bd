"""update_many: many records changed at once, each with its own values, set-based, audited and
historized like single updates; all or nothing unless partial; every refusal at its row's index."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor, Engine
from engine.access.permissions import PermissionDenied
from engine.core.errors import BatchValidationError, RuleError
from engine.exchange.importer import ImportOptions, import_file

ANN = Actor(user_id=7, username="ann", roles=frozenset({"manager"}))
PACKS = Path(__file__).resolve().parents[1]


@pytest.fixture
def ids(engine: Engine) -> list[int]:
    return engine.records.create_many(
        "sample", [{"name": f"S{i:04d}", "qty": i % 3, "price": "1.00"} for i in range(1000)], SYSTEM_ACTOR
    )


def rules(errors: dict[str, list[Any]]) -> dict[str, str]:
    return {name: found[0].rule for name, found in errors.items()}


def stored(engine: Engine, ids: list[int]) -> list[tuple[int, int, Any]]:
    """(id, version, qty) of the records, by id."""
    table = engine.tables.of("sample")
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.version, table.c.qty).where(table.c.id.in_(ids)).order_by(table.c.id))
        return [tuple(row) for row in rows]


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine sends from now on (an executemany counts once)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        sent.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", record)
    yield sent
    sa.event.remove(engine.db, "before_cursor_execute", record)


def test_each_row_changes_its_record_with_its_audit_and_history(engine, ids, clock):
    at = clock.advance(hours=1)
    result = engine.records.update_many("sample", [
        {"id": ids[0], "version": 1, "qty": 5, "price": "2.50"},
        {"id": ids[1], "version": 1, "level": "high"},
        {"id": ids[2], "qty": 9},
    ], ANN)
    assert result.written == {0: (ids[0], 2), 1: (ids[1], 2), 2: (ids[2], 2)} and result.failed == {}
    first = engine.records.get("sample", ids[0])
    assert (first["qty"], first["price"], first["updated_at"], first["updated_by"]) == (5, Decimal("2.50"), at, 7)
    assert engine.records.get("sample", ids[1])["level"] == "high"
    assert engine.records.get("sample", ids[2])["qty"] == 9
    log = engine.records.audit_log("sample", ids[0])
    assert [(e["action"], e["version"], e["actor_id"]) for e in log] == [("create", 1, None), ("update", 2, 7)]
    assert log[-1]["changes"] == {"qty": [0, 5], "price": ["1.00", "2.50"]}
    assert engine.records.audit_log("sample", ids[1])[-1]["changes"] == {"level": ["low", "high"]}
    periods = engine.records.history("sample", ids[0], "price")
    assert [(p["value"], p["valid_to"]) for p in periods] == [(Decimal("1.00"), at), (Decimal("2.50"), None)]
    assert [p["value"] for p in engine.records.history("sample", ids[1], "level")] == ["low", "high"]
    assert len(engine.records.history("sample", ids[1], "price")) == 1  # price unchanged: no period opened


def test_a_row_changing_nothing_writes_nothing(engine, ids):
    result = engine.records.update_many("sample", [{"id": ids[1], "version": 1, "qty": 1, "name": "S0001"}], ANN)
    assert result.written == {0: (ids[1], 1)}
    assert [e["action"] for e in engine.records.audit_log("sample", ids[1])] == ["create"]


def test_one_bad_row_among_1000_writes_nothing(engine, ids):
    rows = [{"id": record_id, "version": 1, "qty": 4} for record_id in ids]
    rows[637]["qty"] = 101
    with pytest.raises(BatchValidationError) as caught:
        engine.records.update_many("sample", rows, ANN)
    assert {index: rules(errors) for index, errors in caught.value.rows.items()} == {637: {"qty": "max"}}
    assert caught.value.rows[637]["qty"][0].message("fr") == "Doit valoir au plus 100."
    assert {(version, qty) for _, version, qty in stored(engine, ids)} == {(1, 0), (1, 1), (1, 2)}


def test_exactly_1000_rows_are_written_together(engine, ids):
    result = engine.records.update_many("sample", [{"id": i, "version": 1, "qty": 4} for i in ids], ANN)
    assert len(result.written) == 1000 and not result.failed
    assert {(version, qty) for _, version, qty in stored(engine, ids)} == {(2, 4)}


def test_partial_writes_the_good_rows_and_returns_the_others(engine, ids):
    rows = [{"id": ids[0], "version": 1, "qty": 4}, {"id": ids[1], "version": 1, "qty": -1},
            {"id": ids[2], "version": 1, "qty": 5}]
    result = engine.records.update_many("sample", rows, ANN, partial=True)
    assert result.written == {0: (ids[0], 2), 2: (ids[2], 2)}
    assert {index: rules(errors) for index, errors in result.failed.items()} == {1: {"qty": "min"}}
    assert stored(engine, ids[:3]) == [(ids[0], 2, 4), (ids[1], 1, 1), (ids[2], 2, 5)]


def test_check_only_writes_nothing_and_tells_every_error(engine, ids):
    rows = [{"id": ids[0], "version": 1, "qty": 4}, {"id": ids[1], "version": 1, "name": "x"}]
    result = engine.records.update_many("sample", rows, ANN, check_only=True)
    assert result.written == {} and {i: rules(e) for i, e in result.failed.items()} == {1: {"name": "min_length"}}
    assert stored(engine, ids[:1]) == [(ids[0], 1, 0)]


def test_a_stale_version_is_a_conflict_at_its_index_carrying_the_stored_version(engine, ids):
    engine.records.update("sample", ids[1], {"qty": 2}, ANN)
    rows = [{"id": ids[0], "version": 1, "qty": 4}, {"id": ids[1], "version": 1, "qty": 4}]
    with pytest.raises(BatchValidationError) as caught:
        engine.records.update_many("sample", rows, ANN)
    (error,) = caught.value.rows[1]["version"]
    assert list(caught.value.rows) == [1] and error.rule == "conflict" and error.params["version"] == 2
    assert error.message("en") == "Sample {} was changed by someone else: you sent version 1, it is now at version 2.".format(ids[1])
    assert stored(engine, ids[:1]) == [(ids[0], 1, 0)]


@pytest.mark.parametrize("row, field, rule", [
    ({"version": 1, "qty": 1}, "id", "mandatory"),
    ({"id": "x", "qty": 1}, "id", "type"),
    ({"id": True, "qty": 1}, "id", "type"),
    ({"id": 0, "qty": 1}, "id", "type"),
    ({"id": 1, "version": -1, "qty": 1}, "version", "type"),
])
def test_a_row_without_sound_keys_is_refused_at_its_index(engine, ids, row, field, rule):
    result = engine.records.update_many("sample", [{"id": ids[5], "version": 1, "qty": 4}, row], ANN, partial=True)
    assert list(result.written) == [0] and {i: rules(e) for i, e in result.failed.items()} == {1: {field: rule}}


def test_a_record_named_twice_is_refused_on_the_later_row(engine, ids):
    result = engine.records.update_many(
        "sample", [{"id": ids[0], "qty": 4}, {"id": ids[1], "qty": 4}, {"id": ids[0], "qty": 5}], ANN, partial=True
    )
    (error,) = result.failed[2]["id"]
    assert list(result.written) == [0, 1] and error.rule == "repeated"
    assert error.message("fr") == f"L'enregistrement {ids[0]} est déjà modifié par la ligne 0 de ce lot."


def test_unknown_read_only_system_and_status_values_are_refused_as_in_a_single_update(engine, ids):
    rows = [{"id": ids[0], "nope": 1}, {"id": ids[1], "opened_on": "2026-01-01"},
            {"id": ids[2], "created_at": "2026-01-01"}, {"id": ids[3], "status": "review"}]
    result = engine.records.update_many("sample", rows, ANN, partial=True)
    assert {i: rules(e) for i, e in result.failed.items()} == {
        0: {"nope": "unknown"}, 1: {"opened_on": "readonly"}, 2: {"created_at": "readonly"}, 3: {"status": "transition"},
    }
    assert result.written == {}


def test_record_rules_unique_values_and_links_are_checked_across_the_batch(engine, ids, owner_id):
    engine.records.update("sample", ids[9], {"code": "ABC-12"}, SYSTEM_ACTOR)
    rows = [
        {"id": ids[0], "code": "XYZ-01"},
        {"id": ids[1], "code": "XYZ-01"},            # an earlier row of the batch takes it
        {"id": ids[2], "code": "ABC-12"},            # another record holds it
        {"id": ids[3], "owner": owner_id + 100},     # links to no user
        {"id": ids[4], "owner": owner_id, "do_not_call": False},  # no phone, no email: mandatory_when
        {"id": ids[5], "owner": owner_id},
    ]
    result = engine.records.update_many("sample", rows, ANN, partial=True)
    assert {i: rules(e) for i, e in result.failed.items()} == {
        1: {"code": "unique"}, 2: {"code": "unique"}, 3: {"owner": "link"}, 4: {"phone": "mandatory"},
    }
    assert list(result.written) == [0, 5]
    assert engine.records.get("sample", ids[5])["owner"] == owner_id


def test_a_validation_hook_judges_each_row(make_engine, model):
    from plugins.api import hookimpl
    from plugins.host.manager import plugin_manager

    class NoThirteen:
        @hookimpl
        def ossature_validate_record(self, entity, record, changes, errors):
            if changes.get("qty") == 13:
                errors.setdefault("qty", []).append(RuleError("qty", "unlucky"))

    engine = make_engine(model, plugins=plugin_manager([NoThirteen()]))
    a, b = engine.records.create_many("sample", [{"name": "A1"}, {"name": "B1"}], SYSTEM_ACTOR)
    result = engine.records.update_many("sample", [{"id": a, "qty": 13}, {"id": b, "qty": 12}], ANN, partial=True)
    assert list(result.written) == [1] and rules(result.failed[0]) == {"qty": "unlucky"}


def test_save_hooks_run_for_each_record(make_engine, model):
    from plugins.api import hookimpl
    from plugins.host.manager import plugin_manager

    calls: list[tuple[str, int, dict]] = []

    class Recorder:
        @hookimpl
        def ossature_before_save(self, entity, record, changes, is_new):
            if changes.get("notes") == "shout":
                changes["notes"] = "SHOUT"
            calls.append(("before", record["id"], dict(changes)))

        @hookimpl
        def ossature_after_save(self, tx, entity, record, changes, is_new):
            calls.append(("after", record["id"], {"notes": record["notes"], "version": record["version"]}))

    engine = make_engine(model, plugins=plugin_manager([Recorder()]))
    a, b = engine.records.create_many("sample", [{"name": "A1"}, {"name": "B1"}], SYSTEM_ACTOR)
    engine.records.update_many("sample", [{"id": a, "notes": "shout"}, {"id": b, "notes": "calm"}], ANN)
    assert calls == [("before", a, {"notes": "SHOUT"}), ("before", b, {"notes": "calm"}),
                     ("after", a, {"notes": "SHOUT", "version": 2}), ("after", b, {"notes": "calm", "version": 2})]
    assert engine.records.get("sample", a)["notes"] == "SHOUT"


def test_statements_do_not_grow_with_the_rows(engine, ids, statements):
    def count(rows: list[dict[str, Any]]) -> int:
        with engine.records.transaction(ANN) as tx:
            statements.clear()
            result = tx.update_many("sample", rows)
        assert not result.failed
        return len(statements)

    few = count([{"id": i, "qty": 4, "price": "3.00"} for i in ids[:10]])
    many = count([{"id": i, "qty": 5, "price": "4.00"} for i in ids[10:1000]])
    # no statement per row: reading the records, closing their history periods and reading them back
    # for the save hooks (the suite's test plugin has one) take 500 ids a statement
    assert many <= few + 3


# -- permissions ----------------------------------------------------------------------------


@pytest.fixture
def secured(make_engine, clock) -> Engine:
    return make_engine(metamodel.load_model([PACKS / "pack", PACKS / "secured"]), clock=clock)


@pytest.fixture
def clerks(secured) -> dict[str, Any]:
    """Ann and Bob (clerks: their own samples, price hidden, qty read-only), with a sample each."""
    ann_id, bob_id = secured.records.create_many("user", [{"username": "ann"}, {"username": "bob"}], SYSTEM_ACTOR)
    ann = Actor(user_id=ann_id, username="ann", roles=frozenset({"clerk"}))
    bob = Actor(user_id=bob_id, username="bob", roles=frozenset({"clerk"}))
    mine = secured.records.create("sample", {"name": "Ann's"}, ann)["id"]
    theirs = secured.records.create("sample", {"name": "Bob's"}, bob)["id"]
    trashed = secured.records.create("sample", {"name": "Old"}, ann)["id"]
    secured.records.delete("sample", trashed, SYSTEM_ACTOR)
    return {"ann": ann, "mine": mine, "theirs": theirs, "trashed": trashed, "none": theirs + 1000}


def test_out_of_scope_trashed_and_missing_ids_get_the_same_answer(secured, clerks):
    rows = [{"id": clerks[name], "version": 1, "notes": "x"} for name in ("mine", "theirs", "trashed", "none")]
    result = secured.records.update_many("sample", rows, clerks["ann"], partial=True)
    assert list(result.written) == [0]
    answers = {(errors["id"][0].rule, errors["id"][0].message("en").replace(str(rows[i]["id"]), "<id>"))
               for i, errors in result.failed.items()}
    assert answers == {("not_found", "There is no Sample with id <id> that you may change.")}
    assert secured.records.get("sample", clerks["theirs"])["notes"] != "x"


def test_hidden_and_read_only_characteristics_cannot_be_set(secured, clerks):
    rows = [{"id": clerks["mine"], "price": "2"}, {"id": clerks["mine"], "qty": 3}]
    with pytest.raises(BatchValidationError) as caught:
        secured.records.update_many("sample", rows[:1], clerks["ann"])
    assert rules(caught.value.rows[0]) == {"price": "readonly"}
    with pytest.raises(BatchValidationError) as caught:
        secured.records.update_many("sample", rows[1:], clerks["ann"])
    assert rules(caught.value.rows[0]) == {"qty": "readonly"}


def test_an_actor_who_may_not_update_is_refused_the_whole_batch(secured, clerks):
    viewer = Actor(user_id=None, username="val", roles=frozenset({"viewer"}))
    with pytest.raises(PermissionDenied):
        secured.records.update_many("sample", [{"id": clerks["mine"], "notes": "x"}], viewer)


# -- the import's updates go the same way -----------------------------------------------------------


def test_import_updates_are_set_based(engine, ids, statements, tmp_path):
    def run(count: int, qty: int) -> int:
        path = tmp_path / f"update_{count}.csv"
        path.write_text("name;qty\n" + "".join(f"S{i:04d};{qty}\n" for i in range(count)), encoding="utf-8")
        statements.clear()
        report = import_file(engine, "sample", path, ImportOptions(key=("name",)), ANN)
        assert (report.updated, report.error_count) == (count, 0), report.summary()
        return sum(1 for s in statements if s.lstrip().upper().startswith("UPDATE"))

    assert run(900, 4) == run(10, 5) == 1
    record = engine.records.get("sample", ids[3])
    assert (record["qty"], record["version"]) == (5, 3)
    assert engine.records.audit_log("sample", ids[3])[-1]["changes"] == {"qty": [4, 5]}
