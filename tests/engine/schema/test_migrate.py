"""`migrate` creates what the definitions add and never touches existing data."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR

PACKS_DIR = Path(__file__).resolve().parents[1]


def test_first_migrate_creates_everything_then_nothing_is_pending(make_engine, model):
    engine = make_engine(model)
    tables = set(sa.inspect(engine.db).get_table_names())
    assert {"ent_sample", "ent_user", "sys_audit", "sys_history"} <= tables
    assert engine.pending_migrations() == []
    assert engine.migrate() == []


def test_migrate_adds_columns_tables_and_indexes_and_keeps_every_row(make_engine, model):
    before = make_engine(model)
    ids = before.records.create_many("sample", [{"name": f"n{i}", "qty": i % 100} for i in range(300)], SYSTEM_ACTOR)
    with before.db.connect() as conn:
        rows_before = [tuple(r) for r in conn.execute(sa.select(before.tables.of("sample")).order_by(sa.text("id")))]

    extended = metamodel.load_model([PACKS_DIR / "pack", PACKS_DIR / "overlay"])
    after = make_engine(extended)  # make_engine migrates
    inspector = sa.inspect(after.db)
    columns = {c["name"] for c in inspector.get_columns("ent_sample")}
    assert {"loyalty", "region", "buddy"} <= columns
    assert "ent_visit" in inspector.get_table_names()
    assert "ix_ent_sample_loyalty" in {i["name"] for i in inspector.get_indexes("ent_sample")}

    with after.db.connect() as conn:
        table = after.tables.of("sample")
        old_columns = [table.c[c.name] for c in before.tables.of("sample").columns]
        rows_after = [tuple(r) for r in conn.execute(sa.select(*old_columns).order_by(table.c.id))]
    assert rows_after == rows_before
    assert after.records.count("sample") == len(ids) == 300

    buddy = after.records.create("user", {"username": "bob"}, SYSTEM_ACTOR)["id"]
    record = after.records.update("sample", ids[0], {"loyalty": 3, "region": "Bretagne", "buddy": buddy}, SYSTEM_ACTOR)
    assert (record["loyalty"], record["region"], record["buddy"], record["name"]) == (3, "Bretagne", buddy, "n0")
    visit = after.records.create("visit", {"sample": ids[1], "happened_on": "2026-02-03"}, SYSTEM_ACTOR)
    assert visit["sample"] == ids[1]
    assert after.migrate() == []


def test_plan_is_in_plain_words(model, database_url):
    from engine import Engine

    engine = Engine(model, database_url)
    try:
        steps = engine.pending_migrations()
        assert all(step.startswith("create table ") for step in steps)
        assert {
            "create table ent_note (11 columns)",
            "create table ent_sample (25 columns)",
            "create table ent_user (9 columns)",
            "create table sys_audit (8 columns)",
            "create table sys_history (9 columns)",
            "create table sys_status_change (8 columns)",
            "create table sys_schema (5 columns)",
            "create table sys_archive_batch (8 columns)",
            "create table sys_archive (9 columns)",
            "create table sys_cleanup (6 columns)",
        } <= set(steps)
        assert engine.migrate() == steps
        assert engine.pending_migrations() == []
    finally:
        engine.dispose()


def test_migrate_is_one_transaction_on_sqlite_too(model, database_url, monkeypatch):
    """Tables created before a failure are gone after it (SQLite's driver would commit DDL on its own)."""
    import engine.schema.migrate as migrate
    from engine import Engine

    def broken(*args):
        raise RuntimeError("power cut")

    monkeypatch.setattr(migrate, "write_snapshot", broken)
    engine = Engine(model, database_url)
    try:
        with pytest.raises(RuntimeError):
            engine.migrate()
        assert sa.inspect(engine.db).get_table_names() == []
    finally:
        engine.dispose()


def test_foreign_keys_stay_enforced_after_a_migration(make_engine, model):
    """SQLite's enforcement is switched off while a migration rebuilds tables, then on again."""
    engine = make_engine(model)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.db.begin() as conn:
            conn.execute(sa.text("INSERT INTO ent_note (created_at, updated_at, version, subject, sample, status) "
                                 "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 's', 12345, 'todo')"))
