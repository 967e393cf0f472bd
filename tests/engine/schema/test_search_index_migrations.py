"""`migrate` keeps the quick-search index in step with the searchable characteristics: created for
existing data, rebuilt when they change (made searchable or not, renamed, removed, restored,
retyped), dropped with the last one or with the entity, and said in words in the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Engine
from engine.records.queries import ListRequest, build_conditions
import engine.records.search as search
from engine.records.search import use_search_index
from engine.schema.archive_restore import restore_archived
from engine.storage.search_index import drop_fts, fts_columns, fts_table_name, fts_triggers_present, trigram_index_prefix
from evolution_support import Evolution, evolution


@pytest.fixture
def evo(database_url: str, tmp_path: Path) -> Iterator[Evolution]:
    yield from evolution(database_url, tmp_path)


@pytest.fixture(autouse=True)
def through_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every search reads the index's candidates (on tables this small, the other conditions would lead)."""
    monkeypatch.setattr(search, "FEW_CANDIDATES", 0)


def indexed(engine: Engine, entity: str = "item") -> set[str] | None:
    """The columns the quick-search index of `entity` holds (None: no index); on SQLite the
    triggers must be there too."""
    table = f"ent_{entity}"
    with engine.db.connect() as conn:
        if engine.db.dialect.name == "sqlite":
            columns = fts_columns(conn, table)
            if columns is None:
                return None
            assert fts_triggers_present(conn, table)
            return set(columns)
        if not sa.inspect(conn).has_table(table):
            return None
        prefix = trigram_index_prefix(table)
        names = [i for i in sa.inspect(conn).get_indexes(table) if i["name"].startswith(prefix)]
        return {i["column_names"][0] for i in names} or None


def found(engine: Engine, text: str, entity: str = "item") -> set[int]:
    """What the quick search keeps through the index, checked against ILIKE over every record."""
    definition, table = engine.model.entity(entity), engine.tables.of(entity)
    conditions = build_conditions(table, definition, definition.view("list"), ListRequest(search=text, tab="all"),
                                  None)
    with engine.db.connect() as conn:
        through_index = set(conn.scalars(sa.select(table.c.id).where(*use_search_index(conn, table, conditions))))
        by_reading = set(conn.scalars(sa.select(table.c.id).where(*conditions)))
    assert through_index == by_reading
    if engine.db.dialect.name == "sqlite" and indexed(engine, entity):
        fts = fts_table_name(table.name)
        with engine.db.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
    return through_index


def searchable(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "searchable": True}


TITLE = {"type": "string", "max_length": 40}
NOTE = {"type": "text"}


def test_a_new_database_gets_its_index_with_its_tables_and_no_extra_step(evo: Evolution) -> None:
    engine = evo.engine({"item": {"title": searchable(TITLE), "note": NOTE}})
    words = engine.pending_migrations()
    assert not any("quick search" in w for w in words)
    engine.migrate()
    assert indexed(engine) == {"title"}
    assert engine.pending_migrations() == []


def test_an_existing_database_gets_its_index_filled_from_its_records(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE)}})
    ids = first.records.create_many("item", [{"title": f"old {i}"} for i in range(5)], SYSTEM_ACTOR)
    with first.db.begin() as conn:  # a database made before the index existed
        if first.db.dialect.name == "sqlite":
            drop_fts(conn, "ent_item")
        else:
            for name in {i["name"] for i in sa.inspect(conn).get_indexes("ent_item")}:
                if name.startswith(trigram_index_prefix("ent_item")):
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
    assert indexed(first) is None
    words = first.pending_migrations()
    assert "item: index the quick search over title (5 record(s); no data change)" in words
    assert first.migrate() == words
    assert indexed(first) == {"title"} and found(first, "old 3") == {ids[3]}
    assert first.pending_migrations() == []


def test_making_a_characteristic_searchable_or_not_rebuilds_the_index(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE), "note": NOTE}})
    ids = first.records.create_many("item", [{"title": "plain", "note": "secret word"}], SYSTEM_ACTOR)
    assert found(first, "secret") == set()

    second = evo.engine({"item": {"title": searchable(TITLE), "note": searchable(NOTE)}})
    words = second.pending_migrations()
    if second.db.dialect.name == "sqlite":
        assert "item: the quick search now reads title, note: rebuild its index (1 record(s); no data change)" in words
        assert any("la recherche rapide lit désormais title, note" in line for line in _plan_fr(second))
    else:
        assert "item: index the quick search over note (1 record(s); no data change)" in words
    second.migrate()
    assert indexed(second) == {"title", "note"} and found(second, "secret") == {ids[0]}

    third = evo.migrate({"item": {"title": TITLE, "note": searchable(NOTE)}})
    assert indexed(third) == {"note"} and found(third, "plain") == set() and found(third, "secret") == {ids[0]}

    fourth = evo.engine({"item": {"title": TITLE, "note": NOTE}})
    words = fourth.pending_migrations()
    if fourth.db.dialect.name == "sqlite":
        assert ("item: no characteristic is searchable any more: drop the quick-search index (no data involved)"
                in words)
    else:
        assert "item: note no longer searchable: drop their quick-search index (no data involved)" in words
    fourth.migrate()
    assert indexed(fourth) is None and fourth.pending_migrations() == []
    assert found(fourth, "plain") == {ids[0]}  # the first text characteristics, read


def _plan_fr(engine: Engine) -> list[str]:
    from engine.schema.migrate import plan_migration

    return plan_migration(engine.db, engine.model, engine.tables, formats=engine.hooks.formats).lines("fr")


def test_a_new_searchable_characteristic_is_indexed_as_its_values_come(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE)}})
    ids = first.records.create_many("item", [{"title": "one"}, {"title": "two"}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"title": searchable(TITLE), "city": searchable(TITLE)}})
    assert indexed(second) == {"title", "city"}
    second.records.update("item", ids[1], {"city": "Lyon"}, SYSTEM_ACTOR)
    assert found(second, "lyon") == {ids[1]} and found(second, "one") == {ids[0]}


def test_a_renamed_searchable_characteristic_is_found_under_its_new_name(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE), "note": NOTE}})
    ids = first.records.create_many("item", [{"title": "Renamed value"}, {"title": "other"}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"label": {**searchable(TITLE), "renamed_from": "title"}, "note": NOTE}})
    assert indexed(second) == {"label"}
    assert found(second, "named val") == {ids[0]}
    second.records.create("item", {"label": "after the rename"}, SYSTEM_ACTOR)
    assert len(found(second, "the ren")) == 1


def test_a_removed_searchable_characteristic_leaves_the_index_and_comes_back_on_restore(evo: Evolution) -> None:
    spec = {"title": searchable(TITLE), "city": searchable(TITLE)}
    first = evo.migrate({"item": spec})
    ids = first.records.create_many("item", [{"title": "a", "city": "Nantes"}, {"title": "b", "city": "Lille"}],
                                    SYSTEM_ACTOR)
    second = evo.migrate({"item": {"title": searchable(TITLE)}})
    assert indexed(second) == {"title"} and found(second, "nantes") == set()
    second.records.create("item", {"title": "written while archived"}, SYSTEM_ACTOR)

    third = evo.migrate({"item": spec})
    assert indexed(third) == {"title", "city"} and found(third, "nantes") == set()
    restore_archived(third, "item.city")
    assert found(third, "nantes") == {ids[0]} and found(third, "lille") == {ids[1]}
    assert len(found(third, "while arch")) == 1


def test_a_retyped_searchable_characteristic_is_indexed_again(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE), "code": searchable(TITLE)}})
    ids = first.records.create_many("item", [{"title": "retype me", "code": "12345"}], SYSTEM_ACTOR)
    wider = {"type": "string", "max_length": 80}
    second = evo.migrate({"item": {"title": searchable(NOTE), "code": searchable(wider)}})
    assert indexed(second) == {"title", "code"}
    assert found(second, "type m") == {ids[0]} and found(second, "234") == {ids[0]}
    second.records.update("item", ids[0], {"title": "changed since"}, SYSTEM_ACTOR)
    assert found(second, "type m") == set() and found(second, "ged sin") == {ids[0]}


def test_a_table_rebuilt_for_another_change_keeps_its_index_current(evo: Evolution) -> None:
    """An unsearched characteristic removed: SQLite rebuilds the table (and drops its triggers)."""
    first = evo.migrate({"item": {"title": searchable(TITLE), "extra": {"type": "integer"}}})
    ids = first.records.create_many("item", [{"title": "kept", "extra": 1}], SYSTEM_ACTOR)
    second = evo.migrate({"item": {"title": searchable(TITLE)}})
    assert indexed(second) == {"title"} and found(second, "kep") == {ids[0]}
    new = second.records.create("item", {"title": "written after"}, SYSTEM_ACTOR)["id"]
    second.records.update("item", ids[0], {"title": "changed after"}, SYSTEM_ACTOR)
    assert found(second, "after") == {new, ids[0]} and found(second, "kep") == set()


def test_a_removed_entity_takes_its_index_along_and_gets_it_back_when_restored(evo: Evolution) -> None:
    first = evo.migrate({"item": {"title": searchable(TITLE)}, "other": {"name": searchable(TITLE)}})
    ids = first.records.create_many("item", [{"title": "archived record"}], SYSTEM_ACTOR)
    second = evo.migrate({"other": {"name": searchable(TITLE)}})
    assert indexed(second) is None
    if second.db.dialect.name == "sqlite":
        assert fts_table_name("ent_item") not in sa.inspect(second.db).get_table_names()
    third = evo.migrate({"item": {"title": searchable(TITLE)}, "other": {"name": searchable(TITLE)}})
    assert indexed(third) == {"title"}
    restore_archived(third, "item")
    assert found(third, "ived rec") == {ids[0]}
    assert third.pending_migrations() == []
