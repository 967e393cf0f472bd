"""Removed characteristics and entities are archived, never dropped, and come back on restore."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Engine
from engine.schema.archive import ArchiveError, archive_entries
from engine.schema.archive_restore import restore_archived
from engine.schema.cleanup import records_to_clean
from evolution_support import Evolution, evolution

ITEM = {"title": {"type": "string"}}


@pytest.fixture
def evo(database_url: str, tmp_path: Path):
    yield from evolution(database_url, tmp_path)


def archived(engine: Engine, entity: str, field: str) -> list[tuple[int, Any, str, bool]]:
    """(record id, JSON value, type, restored) of the archived values of a characteristic."""
    from engine.schema.state import ARCHIVE

    with engine.db.connect() as conn:
        rows = conn.execute(
            sa.select(ARCHIVE.c.record_id, ARCHIVE.c.value, ARCHIVE.c.type, ARCHIVE.c.restored_at)
            .where(ARCHIVE.c.entity == entity, ARCHIVE.c.field == field)
            .order_by(ARCHIVE.c.record_id, ARCHIVE.c.id)
        ).all()
    return [(r[0], r[1], r[2], r[3] is not None) for r in rows]


def audit_rows(engine: Engine) -> list[tuple]:
    audit = engine.tables.audit
    with engine.db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit).order_by(audit.c.id))]


def test_a_removed_characteristic_is_archived_with_every_value_exact(evo: Evolution) -> None:
    spec = {
        "price": {"type": "decimal", "precision": 18, "scale": 2}, "qty": {"type": "integer", "indexed": True},
        "day": {"type": "date"}, "at": {"type": "datetime"}, "flag": {"type": "boolean"},
        "size": {"type": "choice", "list": "sizes"}, "sizes": {"type": "multi_choice", "list": "sizes"},
        "who": {"type": "link", "entity": "owner"}, "note": {"type": "text"},
    }
    first = evo.migrate({"item": {**ITEM, **spec}}, {"sizes": ["s", "m"]})
    owner = first.records.create("owner", {"name": "ann"}, SYSTEM_ACTOR)["id"]
    rows = [
        {"title": "a", "price": "9999999999999999.99", "qty": -9223372036854775808, "day": "2026-02-28",
         "at": "2026-02-28T10:30:15.250000", "flag": True, "size": "m", "sizes": ["m", "s"], "who": owner,
         "note": "l'été \"quoted\"\n"},
        {"title": "b", "price": "-0.05", "qty": 0, "flag": False},
        {"title": "c"},
    ]
    ids = first.records.create_many("item", rows, SYSTEM_ACTOR)
    audit = audit_rows(first)
    second = evo.engine({"item": ITEM}, {"sizes": ["s", "m"]})
    words = second.pending_migrations()
    assert ("item.price: no longer declared: archive its 2 value(s), then drop the column "
            "(`ossature archive restore item.price` brings them back once it is declared again)") in words
    second.migrate()
    assert set(spec).isdisjoint(c["name"] for c in sa.inspect(second.db).get_columns("ent_item"))
    assert archived(second, "item", "price") == [(ids[0], "9999999999999999.99", "decimal", False),
                                                 (ids[1], "-0.05", "decimal", False)]
    assert archived(second, "item", "qty") == [(ids[0], -9223372036854775808, "integer", False),
                                               (ids[1], 0, "integer", False)]
    assert archived(second, "item", "day") == [(ids[0], "2026-02-28", "date", False)]
    assert [dt.datetime.fromisoformat(v) for _, v, _, _ in archived(second, "item", "at")] == [
        dt.datetime(2026, 2, 28, 10, 30, 15, 250000)]
    assert [v for _, v, _, _ in archived(second, "item", "flag")] == [True, False, False]  # false by default
    assert [v for _, v, _, _ in archived(second, "item", "size")] == ["m"]
    assert [v for _, v, _, _ in archived(second, "item", "sizes")] == [["m", "s"]]
    assert [v for _, v, _, _ in archived(second, "item", "who")] == [owner]
    assert [v for _, v, _, _ in archived(second, "item", "note")] == ["l'été \"quoted\"\n"]
    assert audit_rows(second) == audit
    entries = {e.target: (e.count, e.declared) for e in archive_entries(second)}
    assert entries["item.price"] == (2, False) and entries["item.day"] == (1, False)


def test_restore_needs_the_characteristic_declared_and_migrated(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "qty": {"type": "integer"}}})
    first.records.create("item", {"qty": 5}, SYSTEM_ACTOR)
    second = evo.migrate({"item": ITEM})
    with pytest.raises(ArchiveError) as error:
        restore_archived(second, "item.qty")
    assert error.value.message() == "item.qty is not declared: declare it again before restoring its archive"
    assert error.value.message("fr") == "item.qty n'est pas déclaré : redéclarez-le avant de rétablir son archive"
    third = evo.engine({"item": {**ITEM, "qty": {"type": "integer"}}})
    with pytest.raises(ArchiveError) as error:
        restore_archived(third, "item.qty")
    assert error.value.key == "restore_pending"
    with pytest.raises(ArchiveError) as error:
        restore_archived(third, "item.title")
    assert error.value.key == "restore_nothing"


def test_restore_brings_values_back_and_keeps_what_it_cannot_place(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "qty": {"type": "integer", "max": 100}}})
    ids = first.records.create_many("item", [{"qty": i * 10} for i in range(1, 6)] + [{}], SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    third = evo.migrate({"item": {**ITEM, "qty": {"type": "integer", "max": 30}}})
    third.records.update("item", ids[0], {"qty": 7}, SYSTEM_ACTOR)     # has a value again: keeps it
    third.records.delete("item", ids[1], SYSTEM_ACTOR)                  # trashed: still a record
    third.records.delete("item", ids[2], SYSTEM_ACTOR)
    third.records.purge("item", ids[2], SYSTEM_ACTOR)                  # gone: its value stays archived
    result = restore_archived(third, "item.qty")
    assert (result.restored, result.kept) == (3, 2)
    assert result.message() == ("item.qty: 3 value(s) restored; 2 kept in the archive "
                                "(1 record(s) have a value now, 1 record(s) no longer exist)")
    assert result.message("fr").startswith("item.qty : 3 valeur(s) rétablie(s)")
    got = {r["id"]: r["qty"] for r in [third.records.get("item", i, include_deleted=True)
                                       for i in (ids[0], ids[1], ids[3], ids[4], ids[5])]}
    assert got == {ids[0]: 7, ids[1]: 20, ids[3]: 40, ids[4]: 50, ids[5]: None}
    assert [(r, restored) for r, _, _, restored in archived(third, "item", "qty")] == [
        (ids[0], False), (ids[1], True), (ids[2], False), (ids[3], True), (ids[4], True),
    ]
    # restored values breaking today's rules are listed for clean-up (the trashed one is not shown)
    assert [(i.record_id, i.rule) for i in records_to_clean(third, "item")] == [(ids[3], "max"), (ids[4], "max")]
    again = restore_archived(third, "item.qty")  # what is left still cannot be placed
    assert (again.restored, again.kept) == (0, 2)


def test_a_restored_value_is_an_edit_of_its_record_audited_and_historized(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "qty": {"type": "integer", "historized": True}}})
    (kept, empty) = first.records.create_many("item", [{"qty": 12}, {}], SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    third = evo.migrate({"item": {**ITEM, "qty": {"type": "integer", "historized": True}}})
    before = third.records.get("item", kept)["version"]
    assert restore_archived(third, "item.qty", actor_id=7).restored == 1
    after = third.records.get("item", kept)
    assert (after["qty"], after["version"], after["updated_by"]) == (12, before + 1, 7)
    last = third.records.audit_log("item", kept)[-1]
    assert (last["action"], last["version"], last["actor_id"], last["changes"]) == (
        "update", before + 1, 7, {"qty": [None, 12]})
    periods = third.records.history("item", kept, "qty")
    assert [(p["value"], p["changed_by"]) for p in periods][-1] == (12, 7)
    assert [e["action"] for e in third.records.audit_log("item", empty)] == ["create"]  # nothing archived: untouched


def test_restore_converts_to_the_type_declared_now(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "qty": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"qty": 12}, {"qty": -3}], SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    third = evo.migrate({"item": {**ITEM, "qty": {"type": "decimal", "scale": 2}}})
    assert restore_archived(third, "item.qty").restored == 2
    assert [third.records.get("item", i)["qty"] for i in ids] == [Decimal("12.00"), Decimal("-3.00")]


def test_restore_refuses_values_that_do_not_convert_and_changes_nothing(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "code": {"type": "string"}}})
    ids = first.records.create_many("item", [{"code": "12"}, {"code": "x"}], SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    third = evo.migrate({"item": {**ITEM, "code": {"type": "integer"}}})
    with pytest.raises(ArchiveError) as error:
        restore_archived(third, "item.code")
    assert error.value.message() == "item.code: 1 archived value(s) do not convert to integer; nothing was restored"
    assert [third.records.get("item", i)["code"] for i in ids] == [None, None]
    fourth = evo.migrate({"item": {**ITEM, "code": {"type": "string", "max_length": 5}}})
    assert restore_archived(fourth, "item.code").restored == 2


def test_archiving_twice_restores_the_latest_value(evo: Evolution) -> None:
    first = evo.migrate({"item": {**ITEM, "qty": {"type": "integer"}}})
    (record,) = first.records.create_many("item", [{"qty": 1}], SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    third = evo.migrate({"item": {**ITEM, "qty": {"type": "integer"}}})
    third.records.update("item", record, {"qty": 2}, SYSTEM_ACTOR)
    evo.migrate({"item": ITEM})
    fifth = evo.migrate({"item": {**ITEM, "qty": {"type": "integer"}}})
    assert restore_archived(fifth, "item.qty").restored == 1
    assert fifth.records.get("item", record)["qty"] == 2
    assert [v for _, v, _, _ in archived(fifth, "item", "qty")] == [1, 2]  # both kept in the archive


def test_a_removed_entity_moves_to_an_archive_table_and_comes_back(evo: Evolution) -> None:
    box = {"label": {"type": "string", "max_length": 30}, "weight": {"type": "decimal", "scale": 3},
           "who": {"type": "link", "entity": "owner"}, "parent": {"type": "link", "entity": "box"}}
    first = evo.migrate({"item": ITEM, "box": box})
    owner = first.records.create("owner", {"name": "ann"}, SYSTEM_ACTOR)["id"]
    ids = first.records.create_many("box", [{"label": "x" * 30, "weight": "1.250", "who": owner}, {"label": "b"}],
                                    SYSTEM_ACTOR)
    first.records.update("box", ids[1], {"parent": ids[0]}, SYSTEM_ACTOR)
    first.records.delete("box", ids[1], SYSTEM_ACTOR)
    audit = audit_rows(first)
    second = evo.engine({"item": ITEM})
    assert second.pending_migrations() == [
        "box: no longer declared: move table ent_box (2 record(s)) to the archive "
        "(`ossature archive restore box` brings them back once it is declared again)",
    ]
    second.migrate()
    inspector = sa.inspect(second.db)
    assert "ent_box" not in inspector.get_table_names()
    (entry,) = [e for e in archive_entries(second) if e.field is None]
    assert (entry.target, entry.count, entry.declared) == ("box", 2, False)
    assert inspector.get_foreign_keys(entry.table_name) == []
    second.records.delete("owner", owner, SYSTEM_ACTOR)  # archived links do not hold the owner back
    second.records.restore("owner", owner, SYSTEM_ACTOR)
    assert audit_rows(second)[: len(audit)] == audit

    narrower = {**box, "label": {"type": "string", "max_length": 10}, "weight": {"type": "integer"}}
    third = evo.migrate({"item": ITEM, "box": narrower})
    third.records.create("box", {"label": "new"}, SYSTEM_ACTOR)
    with pytest.raises(ArchiveError) as error:
        restore_archived(third, "box")
    assert error.value.key == "restore_not_empty"
    with third.db.begin() as conn:
        conn.execute(sa.text("DELETE FROM ent_box"))
    result = restore_archived(third, "box")
    assert result.message() == (
        "box: 2 record(s) restored into ent_box; values of weight kept in the archive (not declared now, or of "
        "another type): restore them with `ossature archive restore box.FIELD`"
    )
    first_box = third.records.get("box", ids[0])
    assert (first_box["label"], first_box["who"], first_box["weight"]) == ("x" * 30, owner, None)
    trashed = third.records.get("box", ids[1], include_deleted=True)
    assert trashed["deleted_at"] is not None and trashed["parent"] == ids[0]
    assert [(i.record_id, i.rule) for i in records_to_clean(third, "box")] == [(ids[0], "max_length")]
    with pytest.raises(ArchiveError) as error:  # 1.250 is no integer
        restore_archived(third, "box.weight")
    assert error.value.key == "restore_incompatible"
    fresh = third.records.create("box", {"label": "after"}, SYSTEM_ACTOR)["id"]
    assert fresh > max(ids)
    assert not any(e.target == "box" for e in archive_entries(third))


def test_an_entity_other_tables_still_refer_to_is_not_archived(evo: Evolution) -> None:
    from engine.access.accounts import Accounts

    user = {"username": {"type": "string", "mandatory": True}, "display_name": {"type": "string"}}
    first = evo.migrate({"user": user})
    Accounts(first).migrate()
    second = evo.engine({"item": ITEM})
    problems = [w for w in second.pending_migrations() if w.startswith("REFUSED")]
    assert problems == ["REFUSED: user: cannot be archived: sys_login.user_id still refers to it",
                        "REFUSED: user: cannot be archived: sys_session.user_id still refers to it",
                        "REFUSED: user: cannot be archived: sys_token.user_id still refers to it"]
