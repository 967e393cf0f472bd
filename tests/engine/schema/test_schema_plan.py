"""The migration planner on populated tables: each rule, its words, and what it leaves untouched."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Engine, RecordValidationError
from engine.schema.archive import archive_entries
from engine.schema.migrate import plan_migration
from engine.schema.cleanup import cleanup_condition, records_to_clean
from engine.schema.steps import MigrationRefused, Plan
from evolution_support import Evolution, evolution

SIZES = ["s", "m", "l"]


@pytest.fixture
def evo(database_url: str, tmp_path: Path):
    yield from evolution(database_url, tmp_path)


def plan_of(engine: Engine) -> Plan:
    return plan_migration(engine.db, engine.model, engine.tables, formats=engine.hooks.formats)


def column_values(engine: Engine, entity: str, column: str) -> dict[int, Any]:
    table = sa.table(engine.tables.of(entity).name, sa.column("id"), sa.column(column))
    with engine.db.connect() as conn:
        return dict(conn.execute(sa.select(table.c.id, table.c[column]).order_by(table.c.id)).all())


def values(engine: Engine, entity: str, field: str) -> dict[int, Any]:
    """Typed values of a characteristic, by record id (trashed records included)."""
    table = engine.tables.of(entity)
    with engine.db.connect() as conn:
        return dict(conn.execute(sa.select(table.c.id, table.c[field]).order_by(table.c.id)).all())


def audit_rows(engine: Engine) -> list[tuple]:
    audit = engine.tables.audit
    with engine.db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit).order_by(audit.c.id))]


def columns(engine: Engine, entity: str) -> dict[str, Any]:
    return {c["name"]: c["type"] for c in sa.inspect(engine.db).get_columns(f"ent_{entity}")}


def indexes(engine: Engine, entity: str) -> set[str]:
    return {i["name"] for i in sa.inspect(engine.db).get_indexes(f"ent_{entity}")}


def kinds(plan: Plan) -> list[tuple[str, str | None]]:
    return [(step.kind, step.field) for step in plan.steps]


# -- create ----------------------------------------------------------------------------------


def test_first_migrate_creates_everything_in_plain_words_then_nothing_is_pending(evo: Evolution) -> None:
    engine = evo.engine({"item": {"title": {"type": "string"}}})
    words = engine.pending_migrations()
    assert "create table ent_item (8 columns)" in words
    assert "create table ent_owner (8 columns)" in words
    assert "create table sys_schema (5 columns)" in words
    assert "create table sys_archive (9 columns)" in words
    assert engine.migrate() == words
    assert engine.pending_migrations() == []
    assert engine.migrate() == []


def test_new_characteristic_and_entity_are_created_and_existing_rows_kept(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": {"type": "string"}}})
    ids = first.records.create_many("item", [{"title": f"t{i}"} for i in range(3)], SYSTEM_ACTOR)
    audit = audit_rows(first)
    second = evo.engine({"item": {"title": {"type": "string"}, "qty": {"type": "integer", "indexed": True}},
                         "box": {"label": {"type": "string"}}})
    assert second.pending_migrations() == [
        "add column ent_item.qty (BIGINT)",
        "create table ent_box (8 columns)",
        "create index ix_ent_item_qty on ent_item",
    ]
    second.migrate()
    assert values(second, "item", "title") == {ids[0]: "t0", ids[1]: "t1", ids[2]: "t2"}
    assert "ix_ent_item_qty" in indexes(second, "item")
    assert audit_rows(second) == audit
    assert second.records.update("item", ids[0], {"qty": 4}, SYSTEM_ACTOR)["qty"] == 4


def test_a_new_mandatory_characteristic_lists_the_existing_records_for_clean_up(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": {"type": "string"}}})
    ids = first.records.create_many("item", [{"title": "a"}, {"title": "b"}], SYSTEM_ACTOR)
    second = evo.engine({"item": {"title": {"type": "string"}, "code": {"type": "string", "mandatory": True}}})
    plan = plan_of(second)
    (tighten,) = [s for s in plan.steps if s.kind == "tighten"]
    assert (tighten.field, tighten.count, [o.record_id for o in tighten.offenders]) == ("code", 2, ids)
    second.migrate()
    assert [(i.record_id, i.field, i.rule) for i in records_to_clean(second, "item")] == [
        (ids[0], "code", "mandatory"), (ids[1], "code", "mandatory"),
    ]


# -- rename ----------------------------------------------------------------------------------


def test_rename_moves_the_values_the_history_and_the_index(evo: Evolution, clock) -> None:
    spec = {"type": "integer", "indexed": True, "historized": True}
    first = evo.migrate({"item": {"title": {"type": "string"}, "qty": spec}})
    ids = first.records.create_many("item", [{"title": "a", "qty": 1}, {"title": "b", "qty": 2}], SYSTEM_ACTOR)
    first.records.update("item", ids[0], {"qty": 5}, SYSTEM_ACTOR)
    audit = audit_rows(first)
    second = evo.engine({"item": {"title": {"type": "string"}, "amount": {**spec, "renamed_from": "qty"}}})
    plan = plan_of(second)
    assert plan.words()[0] == "item.qty: renamed to amount: the column moves with its 2 value(s)"
    assert ("index", None) in kinds(plan)
    second.migrate()
    assert values(second, "item", "amount") == {ids[0]: 5, ids[1]: 2}
    assert "qty" not in columns(second, "item")
    assert "ix_ent_item_amount" in indexes(second, "item") and "ix_ent_item_qty" not in indexes(second, "item")
    assert [p["value"] for p in second.records.history("item", ids[0], "amount")] == [1, 5]
    assert audit_rows(second) == audit
    assert second.pending_migrations() == []


def test_rename_and_retype_at_once(evo: Evolution) -> None:
    first = evo.migrate({"item": {"qty": {"type": "string"}}})
    ids = first.records.create_many("item", [{"qty": "12"}, {"qty": "-3"}, {}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"amount": {"type": "integer", "renamed_from": "qty"}}})
    assert values(second, "item", "amount") == {ids[0]: 12, ids[1]: -3, ids[2]: None}
    assert "qty" not in columns(second, "item")


def test_a_characteristic_renamed_twice_takes_whichever_former_column_the_database_has(evo: Evolution) -> None:
    first = evo.migrate({"item": {"a": {"type": "string"}}})
    ids = first.records.create_many("item", [{"a": "x"}, {"a": "y"}], SYSTEM_ACTOR)
    # a database that saw neither rename: the oldest name is the column there
    second = evo.migrate({"item": {"c": {"type": "string", "renamed_from": ["a", "b"]}}})
    assert values(second, "item", "c") == {ids[0]: "x", ids[1]: "y"} and "a" not in columns(second, "item")
    third = evo.migrate({"item": {"b": {"type": "string", "renamed_from": "c"}}})
    assert values(third, "item", "b") == {ids[0]: "x", ids[1]: "y"}
    # a database that saw the first rename: the most recent name present wins
    fourth = evo.migrate({"item": {"d": {"type": "string", "renamed_from": ["c", "b"]}}})
    assert values(fourth, "item", "d") == {ids[0]: "x", ids[1]: "y"} and "b" not in columns(fourth, "item")
    assert archive_entries(fourth) == []


def test_a_rename_onto_an_existing_column_archives_that_column_first(evo: Evolution) -> None:
    first = evo.migrate({"item": {"a": {"type": "string"}, "b": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"a": "x", "b": 1}, {"a": "y"}], SYSTEM_ACTOR)
    second = evo.engine({"item": {"b": {"type": "string", "renamed_from": "a"}}})
    assert [step.kind for step in plan_of(second).steps] == ["rename", "archive"]
    second.migrate()
    assert values(second, "item", "b") == {ids[0]: "x", ids[1]: "y"}
    assert [(e.target, e.count) for e in archive_entries(second)] == [("item.b", 1)]


# -- retype ----------------------------------------------------------------------------------


def test_retype_converts_every_value(evo: Evolution) -> None:
    before = {
        "code": {"type": "string"}, "qty": {"type": "integer"}, "size": {"type": "choice", "list": "sizes"},
        "day": {"type": "date"}, "price": {"type": "decimal", "scale": 2}, "flag": {"type": "boolean"},
    }
    first = evo.migrate({"item": before}, {"sizes": SIZES})
    rows = [
        {"code": "12", "qty": 7, "size": "m", "day": "2026-03-01", "price": "12.34", "flag": True},
        {"code": "-40", "qty": -2, "size": "l", "day": "2020-02-29", "price": "-0.05", "flag": False},
        {},
    ]
    ids = first.records.create_many("item", rows, SYSTEM_ACTOR)
    audit = audit_rows(first)
    after = {
        "code": {"type": "integer"}, "qty": {"type": "decimal", "scale": 2},
        "size": {"type": "multi_choice", "list": "sizes"}, "day": {"type": "datetime"},
        "price": {"type": "decimal", "scale": 4}, "flag": {"type": "string"},
    }
    second = evo.engine({"item": after}, {"sizes": SIZES})
    plan = plan_of(second)
    assert "item.code: type string -> integer: all 2 value(s) convert" in plan.words()
    assert not plan.blocked
    second.migrate()
    got = second.records.get("item", ids[0])
    assert (got["code"], got["qty"], got["size"], got["day"], got["price"], got["flag"]) == (
        12, Decimal("7.00"), ["m"], dt.datetime(2026, 3, 1), Decimal("12.3400"), "true",
    )
    got = second.records.get("item", ids[1])
    assert (got["code"], got["qty"], got["size"], got["day"], got["price"], got["flag"]) == (
        -40, Decimal("-2.00"), ["l"], dt.datetime(2020, 2, 29), Decimal("-0.0500"), "false",
    )
    empty = {k: v for k, v in second.records.get("item", ids[2]).items() if k in after}
    assert empty == {"code": None, "qty": None, "size": None, "day": None, "price": None, "flag": "false"}
    assert audit_rows(second) == audit
    assert second.pending_migrations() == []


def test_retype_refused_lists_the_offending_records_and_changes_nothing(evo: Evolution) -> None:
    first = evo.migrate({"item": {"code": {"type": "string"}, "note": {"type": "string"}}})
    ids = first.records.create_many(
        "item", [{"code": "12"}, {"code": "007"}, {"code": "abc"}, {"code": "4"}], SYSTEM_ACTOR,
    )
    second = evo.engine({"item": {"code": {"type": "integer"}, "extra": {"type": "string"}}})
    plan = plan_of(second)
    assert plan.blocked
    (problem,) = plan.problems
    assert problem.text() == (
        "REFUSED: item.code: type string -> integer refused: 2 value(s) do not convert; "
        "nothing is changed until they are corrected"
    )
    assert [(o.record_id, o.value, o.reason) for o in problem.offenders] == [(ids[1], "007", "lossy"),
                                                                          (ids[2], "abc", "type")]
    assert problem.details() == [f"record {ids[1]}: '007': would become 7", f"record {ids[2]}: 'abc': type"]
    assert problem.details("fr")[0] == f"enregistrement {ids[1]} : '007' : deviendrait 7"
    with pytest.raises(MigrationRefused) as refused:
        second.migrate()
    assert refused.value.plan.problems == plan.problems
    assert "extra" not in columns(second, "item") and "note" in columns(second, "item")
    assert values(second, "item", "code") == {ids[0]: "12", ids[1]: "007", ids[2]: "abc", ids[3]: "4"}
    assert "add column ent_item.extra (VARCHAR(255))" in second.pending_migrations()


@pytest.mark.parametrize(
    ("old", "new", "value", "converted"),
    [
        ({"type": "string"}, {"type": "integer"}, "9223372036854775807", 9223372036854775807),
        ({"type": "string"}, {"type": "integer"}, "9223372036854775808", None),
        ({"type": "integer"}, {"type": "decimal", "precision": 6, "scale": 2}, 9999, Decimal("9999.00")),
        ({"type": "integer"}, {"type": "decimal", "precision": 6, "scale": 2}, 10000, None),
        ({"type": "integer"}, {"type": "decimal", "precision": 6, "scale": 2}, -9999, Decimal("-9999.00")),
        ({"type": "decimal", "scale": 2}, {"type": "decimal", "scale": 1}, "1.50", Decimal("1.5")),
        ({"type": "decimal", "scale": 2}, {"type": "decimal", "scale": 1}, "1.55", None),
        ({"type": "decimal", "scale": 2}, {"type": "integer"}, "3.00", 3),
        ({"type": "decimal", "scale": 2}, {"type": "integer"}, "3.01", None),
        ({"type": "datetime"}, {"type": "date"}, "2026-05-01T00:00:00", dt.date(2026, 5, 1)),
        ({"type": "datetime"}, {"type": "date"}, "2026-05-01T00:00:01", None),
        ({"type": "string", "max_length": 10}, {"type": "boolean"}, "true", True),
        ({"type": "string", "max_length": 10}, {"type": "boolean"}, "yes", None),
        ({"type": "multi_choice", "list": "sizes"}, {"type": "choice", "list": "sizes"}, ["m"], "m"),
        ({"type": "multi_choice", "list": "sizes"}, {"type": "choice", "list": "sizes"}, ["m", "l"], None),
        ({"type": "text"}, {"type": "rich_text"}, "<b>bold</b>", "<b>bold</b>"),
        ({"type": "text"}, {"type": "rich_text"}, "a < b", None),
    ],
)
def test_retype_boundaries(evo: Evolution, old: dict, new: dict, value: Any, converted: Any) -> None:
    first = evo.migrate({"item": {"v": old}}, {"sizes": SIZES})
    (record_id,) = first.records.create_many("item", [{"v": value}], SYSTEM_ACTOR)
    stored = values(first, "item", "v")[record_id]
    second = evo.engine({"item": {"v": new}}, {"sizes": SIZES})
    if converted is None:
        with pytest.raises(MigrationRefused):
            second.migrate()
        assert values(first, "item", "v") == {record_id: stored}
    else:
        second.migrate()
        got = values(second, "item", "v")[record_id]
        assert got == converted and type(got) is type(converted)


def test_retype_to_a_narrow_column_keeps_long_values(evo: Evolution) -> None:
    """A converted value longer than the new max_length is kept (the column is widened to it on
    PostgreSQL) and listed for clean-up."""
    first = evo.migrate({"item": {"v": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"v": 123456789012}, {"v": 5}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"v": {"type": "string", "max_length": 4}}})
    assert values(second, "item", "v") == {ids[0]: "123456789012", ids[1]: "5"}
    assert [(i.record_id, i.rule) for i in records_to_clean(second, "item")] == [(ids[0], "max_length")]


def test_a_link_cannot_change_its_target(evo: Evolution) -> None:
    first = evo.migrate({"item": {"who": {"type": "link", "entity": "owner"}}, "box": {"n": {"type": "string"}}})
    owner = first.records.create("owner", {"name": "ann"}, SYSTEM_ACTOR)["id"]
    first.records.create("item", {"who": owner}, SYSTEM_ACTOR)
    second = evo.engine({"item": {"who": {"type": "link", "entity": "box"}}, "box": {"n": {"type": "string"}}})
    (problem,) = plan_of(second).problems
    assert problem.key == "link_refused"
    assert "item.who: link to owner -> link to box refused" in problem.text()


# -- tighten and loosen --------------------------------------------------------------------------


def test_tightened_rules_list_breakers_keep_their_values_and_apply_to_new_edits(evo: Evolution) -> None:
    loose = {
        "qty": {"type": "integer", "max": 100}, "title": {"type": "string", "max_length": 20},
        "code": {"type": "string"}, "size": {"type": "choice", "list": "sizes"},
        "low": {"type": "integer", "min": 0},
    }
    first = evo.migrate({"item": loose}, {"sizes": SIZES})
    rows = [
        {"qty": 10, "title": "abcd", "code": "x", "size": "s", "low": 5},     # every new bound reached exactly
        {"qty": 11, "title": "abcde", "code": None, "size": "l", "low": 4},  # one past each
        {"qty": None, "title": None, "code": "y", "size": None, "low": None},
    ]
    ids = first.records.create_many("item", rows, SYSTEM_ACTOR)
    first.records.delete("item", first.records.create("item", {"qty": 99}, SYSTEM_ACTOR)["id"], SYSTEM_ACTOR)
    strict = {
        "qty": {"type": "integer", "max": 10}, "title": {"type": "string", "max_length": 4},
        "code": {"type": "string", "mandatory": True}, "size": {"type": "choice", "list": "sizes"},
        "low": {"type": "integer", "min": 5},
    }
    second = evo.engine({"item": strict}, {"sizes": ["s", "m", {"code": "l", "retired": True}]})
    plan = plan_of(second)
    assert not plan.blocked
    tightened = {
        (s.field, s.params["rule"]): [o.record_id for o in s.offenders] for s in plan.steps if s.kind == "tighten"
    }
    assert tightened == {
        ("qty", "max"): [ids[1]], ("title", "max_length"): [ids[1]], ("code", "mandatory"): [ids[1]],
        ("size", "retired"): [ids[1]], ("low", "min"): [ids[1]],
    }
    assert "item.qty: maximum now 10: 1 existing record(s) break it" in " ".join(plan.words())
    before = {name: values(first, "item", name) for name in strict}
    second.migrate()
    assert {name: values(second, "item", name) for name in strict} == before
    listed = [(i.record_id, i.field, i.rule) for i in records_to_clean(second, "item")]
    assert listed == [(ids[1], "code", "mandatory"), (ids[1], "low", "min"), (ids[1], "qty", "max"),
                      (ids[1], "size", "retired"), (ids[1], "title", "max_length")]
    with pytest.raises(RecordValidationError):
        second.records.update("item", ids[0], {"qty": 11}, SYSTEM_ACTOR)
    second.records.update("item", ids[1], {"qty": 3, "title": "ab", "code": "z", "size": "m", "low": 5},
                          SYSTEM_ACTOR)
    assert records_to_clean(second, "item") == []
    table = second.tables.of("item")
    with second.db.connect() as conn:
        assert conn.scalars(sa.select(table.c.id).where(cleanup_condition(second, "item"))).all() == []


def test_clean_up_list_shows_the_records_in_a_list_query(evo: Evolution) -> None:
    first = evo.migrate({"item": {"qty": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"qty": 1}, {"qty": 50}, {"qty": 70}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"qty": {"type": "integer", "max": 49}}})
    table = second.tables.of("item")
    with second.db.connect() as conn:
        shown = conn.scalars(sa.select(table.c.id).where(cleanup_condition(second, "item")).order_by(table.c.id))
        assert shown.all() == ids[1:]
    assert [item.message("fr") for item in records_to_clean(second, "item")] == ["maximum", "maximum"]


def test_a_pattern_added_is_checked_on_every_value(evo: Evolution) -> None:
    first = evo.migrate({"item": {"code": {"type": "string"}}})
    ids = first.records.create_many("item", [{"code": "AB-12"}, {"code": "ab-12"}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"code": {"type": "string", "pattern": "[A-Z]{2}-[0-9]{2}"}}})
    assert [(i.record_id, i.rule) for i in records_to_clean(second, "item")] == [(ids[1], "pattern")]


def test_loosened_rules_change_no_data_and_are_recorded(evo: Evolution) -> None:
    first = evo.migrate({"item": {"qty": {"type": "integer", "max": 10, "mandatory": True}}}, {"sizes": SIZES})
    first.records.create("item", {"qty": 3}, SYSTEM_ACTOR)
    second = evo.engine({"item": {"qty": {"type": "integer", "max": 20}}}, {"sizes": SIZES})
    assert second.pending_migrations() == [
        "item.qty: mandatory now false (no data change)",
        "item.qty: maximum now 20 (no data change)",
    ]
    second.migrate()
    assert second.pending_migrations() == []
    # a later tightening is judged against what was recorded
    third = evo.engine({"item": {"qty": {"type": "integer", "max": 15}}}, {"sizes": SIZES})
    assert [s.params["rule"] for s in plan_of(third).steps] == ["max"]


def test_a_longer_max_length_lets_longer_values_in(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": {"type": "string", "max_length": 20}}})
    second = evo.engine({"item": {"title": {"type": "string", "max_length": 60}}})
    words = second.pending_migrations()
    if second.db.dialect.name == "postgresql":
        assert words == ["item.title: widen column to VARCHAR(60) (no data change)",
                         "item.title: maximum length now 60 (no data change)"]
    else:
        assert words == ["item.title: maximum length now 60 (no data change)"]
    second.migrate()
    assert second.records.create("item", {"title": "x" * 60}, SYSTEM_ACTOR)["title"] == "x" * 60
    assert first.pending_migrations() != []  # the older definitions are no longer what the database has


# -- list values and statuses --------------------------------------------------------------------


def test_a_list_value_deleted_while_in_use_is_refused(evo: Evolution) -> None:
    first = evo.migrate({"item": {"size": {"type": "choice", "list": "sizes"},
                                  "sizes": {"type": "multi_choice", "list": "sizes"}}}, {"sizes": SIZES})
    ids = first.records.create_many("item", [{"size": "l"}, {"sizes": ["s", "l"]}, {"size": "m"}], SYSTEM_ACTOR)
    first.records.delete("item", ids[0], SYSTEM_ACTOR)  # in the trash, still holding the value
    second = evo.engine({"item": {"size": {"type": "choice", "list": "sizes"},
                                  "sizes": {"type": "multi_choice", "list": "sizes"}}}, {"sizes": ["s", "m"]})
    problems = plan_of(second).problems
    assert [(p.field, p.count, [o.record_id for o in p.offenders]) for p in problems] == [
        ("size", 1, [ids[0]]), ("sizes", 1, [ids[1]]),
    ]
    assert problems[0].text() == (
        "REFUSED: item.size: value 'l' was removed from list 'sizes' but 1 record(s) use it: "
        "mark it `retired: true` instead of deleting it"
    )
    with pytest.raises(MigrationRefused):
        second.migrate()
    retired = evo.engine({"item": {"size": {"type": "choice", "list": "sizes"},
                                   "sizes": {"type": "multi_choice", "list": "sizes"}}},
                         {"sizes": ["s", "m", {"code": "l", "retired": True}]})
    retired.migrate()
    assert values(retired, "item", "size")[ids[0]] == "l"


def test_an_unused_list_value_may_be_deleted(evo: Evolution) -> None:
    first = evo.migrate({"item": {"size": {"type": "choice", "list": "sizes"}}}, {"sizes": SIZES})
    first.records.create("item", {"size": "m"}, SYSTEM_ACTOR)
    second = evo.engine({"item": {"size": {"type": "choice", "list": "sizes"}}}, {"sizes": ["m", "l", "xl"]})
    assert second.pending_migrations() == ["item.size: list values now +xl -s (no data change)"]
    second.migrate()


def test_a_unique_characteristic_with_duplicates_is_refused(evo: Evolution) -> None:
    first = evo.migrate({"item": {"code": {"type": "string"}}})
    first.records.create_many("item", [{"code": "a"}, {"code": "a"}, {"code": "b"}], SYSTEM_ACTOR)
    second = evo.engine({"item": {"code": {"type": "string", "unique": True}}})
    (problem,) = plan_of(second).problems
    assert problem.text() == "REFUSED: item.code: cannot be made unique: 1 value(s) are used by several records"


# -- how the database is changed ----------------------------------------------------------------


def test_a_failure_while_applying_rolls_everything_back(evo: Evolution, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.schema.migrate as migrate

    first = evo.migrate({"item": {"a": {"type": "string"}, "b": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"a": "x", "b": 1}], SYSTEM_ACTOR)
    second = evo.engine({"item": {"a2": {"type": "string", "renamed_from": "a"}, "c": {"type": "integer"}}})

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrate, "write_snapshot", broken)
    with pytest.raises(RuntimeError):
        second.migrate()
    assert set(columns(second, "item")) >= {"a", "b"} and not set(columns(second, "item")) & {"a2", "c"}
    assert column_values(second, "item", "a") == {ids[0]: "x"}
    with second.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sys_archive")).scalar_one() == 0
    monkeypatch.undo()
    second.migrate()
    assert values(second, "item", "a2") == {ids[0]: "x"}


def test_rebuilding_a_table_others_link_to_keeps_the_links(evo: Evolution) -> None:
    """On SQLite, dropping a column rebuilds the table; the foreign keys pointing at it still hold."""
    first = evo.migrate({"item": {"who": {"type": "link", "entity": "owner"}}})
    with first.db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE ent_owner ADD COLUMN nickname VARCHAR(20)"))
    owner = first.records.create("owner", {"name": "ann"}, SYSTEM_ACTOR)["id"]
    item = first.records.create("item", {"who": owner}, SYSTEM_ACTOR)["id"]
    second = evo.engine({"item": {"who": {"type": "link", "entity": "owner"}}})
    assert "owner.nickname: no longer declared" in second.pending_migrations()[0]
    second.migrate()
    assert "nickname" not in columns(second, "owner")
    assert second.records.get("item", item)["who"] == owner
    with pytest.raises(sa.exc.IntegrityError):
        with second.db.begin() as conn:
            conn.execute(sa.text("INSERT INTO ent_item (created_at, updated_at, version, who) "
                                 "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 999)"))


def test_a_database_migrated_before_the_planner_gets_its_snapshot(evo: Evolution) -> None:
    first = evo.migrate({"item": {"qty": {"type": "integer"}}})
    first.records.create("item", {"qty": 1}, SYSTEM_ACTOR)
    with first.db.begin() as conn:
        conn.execute(sa.text("DROP TABLE sys_schema"))
    assert first.pending_migrations() == [
        "create table sys_schema (5 columns)",
        "record the current definitions in sys_schema (first run of the migration planner on this database)",
    ]
    first.migrate()
    assert first.pending_migrations() == []


def test_a_status_removed_lists_the_records_still_in_it(evo: Evolution, tmp_path: Path) -> None:
    from evolution_support import load, write_pack

    def model(statuses: list[str]):
        root = write_pack(tmp_path / f"wf{len(statuses)}", {"item": {"title": {"type": "string"}}})
        text = (root / "entities" / "item.yaml").read_text() + "workflow: flow\n"
        (root / "entities" / "item.yaml").write_text(text)
        (root / "workflows").mkdir()
        lines = ["workflow: flow", "label: {en: Flow, fr: Flux}", "free: true", "statuses:"]
        lines += [f"  - {{code: {c}, label: {{en: {c}, fr: {c}}}, sequence: {10 * (i + 1)}}}"
                  for i, c in enumerate(statuses)]
        (root / "workflows" / "flow.yaml").write_text("\n".join(lines) + "\n")
        return load(root)

    first = Engine(model(["new", "old", "done"]), evo.url, files_dir=tmp_path / "files")
    second = Engine(model(["new", "done"]), evo.url, files_dir=tmp_path / "files")
    evo.engines += [first, second]
    first.migrate()
    ids = first.records.create_many("item", [{"title": "a"}, {"title": "b"}], SYSTEM_ACTOR)
    first.records.move_to("item", ids[1], "old", SYSTEM_ACTOR)
    plan = plan_of(second)
    assert not plan.blocked
    second.migrate()
    assert [(i.record_id, i.field, i.rule) for i in records_to_clean(second, "item")] == [(ids[1], "status", "status")]
