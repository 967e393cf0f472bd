"""The storage of relations and its evolution: the tables of owned entities (`lines`) and the join
tables of `links` (engine/storage/tables.py), as `migrate` builds them on SQLite and PostgreSQL,
and every change of a relation's definition planned without losing a member (engine/schema/
relation_steps.py): created, renamed, archived and dropped, a link made links, refusals.

The expected tables are computed from the model (every owned entity, every links characteristic),
and read back from the database with `sa.inspect`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.installation.runtime import create_db
from engine.schema.archive import archive_entries
from engine.schema.migrate import apply_migration, plan_migration
from engine.schema.state import ARCHIVE
from engine.schema.steps import MigrationRefused, Plan
from engine.storage.tables import (
    JOIN_TABLE_PREFIX, SOURCE_COLUMN, TARGET_COLUMN, Tables, build_tables, join_table_name, lines_index_name,
    table_name,
)
from metamodel.model import PARENT_FIELD, POSITION_FIELD, SYSTEM_COLUMNS, Model

from evolution_support import BASE_PACK as EVOLUTION_BASE, entity_document as entity, write_documents

NOW = dt.datetime(2026, 3, 1, 9, 0)
RELATIONS = Path(__file__).resolve().parents[2] / "metamodel" / "packs" / "relations"
"""The metamodel's pack using every relation (bookings of rooms, with meals as lines and attendees as links)."""
QUOTE = """\
entity: quote
label: {en: Quote, fr: Devis}
plural: {en: Quotes, fr: Devis}
characteristics:
  name: {type: string, label: {en: Name, fr: Nom}, mandatory: true}
  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}
"""
QUOTE_LINE = """\
entity: quote_line
label: {en: Quote line, fr: Ligne de devis}
plural: {en: Quote lines, fr: Lignes de devis}
owned_by: quote
characteristics:
  product: {type: string, label: {en: Product, fr: Produit}, mandatory: true}
  quantity: {type: integer, label: {en: Quantity, fr: Quantité}, min: 1}
"""
"""The quote pack of the metamodel's relation tests (tests/metamodel/mm_relations.py)."""


# -- definitions written per step ----------------------------------------------------------------


class Storage:
    """One database and the successive definitions migrated onto it (on the evolution base pack:
    an `owner` entity)."""

    def __init__(self, url: str, folder: Path):
        self.url = url
        self.db = create_db(url)
        self.folder = folder
        self.steps = 0
        self.model: Model | None = None
        self.tables: Tables | None = None
        self.engines: list[Engine] = []

    def engine(self) -> Engine:
        """An Engine on the definitions last loaded (the record service reads and writes collections)."""
        engine = Engine(self.model, self.url, files_dir=self.folder / "files")  # type: ignore[arg-type]
        self.engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()
        self.db.dispose()

    def load(self, *documents: Mapping[str, Any]) -> Model:
        self.steps += 1
        root = write_documents(self.folder / f"step{self.steps}", documents)
        self.model = metamodel.load_model([EVOLUTION_BASE, root])
        self.tables = build_tables(self.model)
        return self.model

    def plan(self, *documents: Mapping[str, Any]) -> Plan:
        model = self.load(*documents)
        return plan_migration(self.db, model, self.tables)  # type: ignore[arg-type]

    def migrate(self, *documents: Mapping[str, Any]) -> Plan:
        model = self.load(*documents)
        return apply_migration(self.db, model, self.tables, clock=lambda: NOW)  # type: ignore[arg-type]

    # -- rows written straight into the tables (the record service's part is tested elsewhere) --

    def insert(self, entity_name: str, rows: list[dict[str, Any]]) -> list[int]:
        table = sa.table(table_name(entity_name), sa.column("id"), sa.column("created_at"), sa.column("updated_at"),
                         sa.column("version"), *(sa.column(k) for k in rows[0] if k != "id"))
        with self.db.begin() as conn:
            first = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
            ids = list(range(first, first + len(rows)))
            conn.execute(table.insert(), [{"id": i, "created_at": NOW, "updated_at": NOW, "version": 1, **row}
                                          for i, row in zip(ids, rows)])
        return ids

    def link(self, table: str, pairs: list[tuple[int, int]]) -> None:
        join = sa.table(table, sa.column(SOURCE_COLUMN), sa.column(TARGET_COLUMN))
        with self.db.begin() as conn:
            conn.execute(join.insert(), [{SOURCE_COLUMN: s, TARGET_COLUMN: t} for s, t in pairs])

    def members(self, table: str) -> set[tuple[int, int]]:
        join = sa.table(table, sa.column(SOURCE_COLUMN), sa.column(TARGET_COLUMN))
        with self.db.connect() as conn:
            return {tuple(row) for row in conn.execute(sa.select(join.c[SOURCE_COLUMN], join.c[TARGET_COLUMN]))}

    def table_names(self) -> set[str]:
        return set(sa.inspect(self.db).get_table_names())

    def columns(self, table: str) -> dict[str, Mapping[str, Any]]:
        return {c["name"]: c for c in sa.inspect(self.db).get_columns(table)}

    def archived(self, entity_name: str, field: str) -> dict[int, Any]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(ARCHIVE.c.record_id, ARCHIVE.c.value, ARCHIVE.c.type)
                                .where(ARCHIVE.c.entity == entity_name, ARCHIVE.c.field == field))
            return {record_id: (value, kind) for record_id, value, kind in rows}


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[Storage]:
    history = Storage(database_url, tmp_path)
    yield history
    history.dispose()


def relations_model() -> Model:
    return metamodel.load_model([metamodel.BASE_PACK, RELATIONS])


def write_quote_pack(root: Path) -> Path:
    (root / "entities").mkdir(parents=True)
    (root / "pack.yaml").write_text("pack: quotes\nversion: 1.0.0\n", encoding="utf-8")
    (root / "entities" / "quote.yaml").write_text(QUOTE, encoding="utf-8")
    (root / "entities" / "quote_line.yaml").write_text(QUOTE_LINE, encoding="utf-8")
    return root


# -- the tables, as the model says they are ------------------------------------------------------


def assert_tables_follow_the_model(db: sa.Engine, model: Model) -> None:
    """Every entity table has a column per column field and none for links or lines; owned tables
    have parent_id and position, NOT NULL, a foreign key to the owner and their index; every links
    characteristic has its join table with its keys and index."""
    inspector = sa.inspect(db)
    names = set(inspector.get_table_names())
    for entity_def in model.entities.values():
        table = table_name(entity_def.name)
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        assert set(columns) == set(SYSTEM_COLUMNS) | {f.name for f in entity_def.column_fields}, table
        assert not {f.name for f in entity_def.fields if f.is_collection} & set(columns), table
        foreign = {fk["constrained_columns"][0]: fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(table)}
        if entity_def.owned_by is not None:
            for name in (PARENT_FIELD, POSITION_FIELD):
                assert columns[name]["nullable"] is False, (table, name)
                assert isinstance(columns[name]["type"], sa.Integer), (table, name)
            assert foreign[PARENT_FIELD] == table_name(entity_def.owned_by)
            assert indexes[lines_index_name(table)] == [PARENT_FIELD, POSITION_FIELD]
        else:
            assert not {PARENT_FIELD, POSITION_FIELD} & set(columns), table
        for f in entity_def.fields:
            if f.type != "links":
                continue
            join = join_table_name(entity_def.name, f.name)
            assert join == JOIN_TABLE_PREFIX + f.join_table and join in names
            join_columns = {c["name"]: c for c in inspector.get_columns(join)}
            assert set(join_columns) == {SOURCE_COLUMN, TARGET_COLUMN}
            assert all(c["nullable"] is False and isinstance(c["type"], sa.Integer) for c in join_columns.values())
            assert inspector.get_pk_constraint(join)["constrained_columns"] == [SOURCE_COLUMN, TARGET_COLUMN]
            join_foreign = {fk["constrained_columns"][0]: (fk["referred_table"], fk["referred_columns"])
                            for fk in inspector.get_foreign_keys(join)}
            assert join_foreign == {SOURCE_COLUMN: (table, ["id"]), TARGET_COLUMN: (table_name(f.entity), ["id"])}
            assert [i["column_names"] for i in inspector.get_indexes(join)] == [[TARGET_COLUMN, SOURCE_COLUMN]]
    expected_joins = {join_table_name(e.name, f.name) for e in model.entities.values() for f in e.fields
                      if f.type == "links"}
    assert {n for n in names if n.startswith(JOIN_TABLE_PREFIX)} == expected_joins


def test_the_relations_pack_gets_its_owned_and_join_tables_then_plans_nothing(database_url: str) -> None:
    model = relations_model()
    assert any(e.owned_by for e in model.entities.values())
    assert any(f.type == "links" for e in model.entities.values() for f in e.fields)
    db = create_db(database_url)
    try:
        tables = build_tables(model)
        plan = apply_migration(db, model, tables, clock=lambda: NOW)
        links = sorted((e.name, f.name, f.entity) for e in model.entities.values() for f in e.fields
                       if f.type == "links")
        assert ("booking", "attendees", "contact") in links
        assert sorted(w for w in plan.words() if "rel_" in w) == [
            f"{entity}.{name}: new many-to-many link to {target}: create join table rel_{entity}__{name}"
            for entity, name, target in links]
        assert_tables_follow_the_model(db, model)
        assert tables.join_table("booking", "attendees").name == "rel_booking__attendees"
        assert set(tables.join_tables) == {(entity, name) for entity, name, _ in links}
        assert apply_migration(db, model, build_tables(model), clock=lambda: NOW).steps == ()
    finally:
        db.dispose()


def test_an_engine_boots_on_the_relations_pack_and_migrates_its_tables(make_engine) -> None:
    model = relations_model()
    engine = make_engine(model)  # Engine(model, url) then migrate
    assert_tables_follow_the_model(engine.db, model)
    assert engine.tables.join_table("booking", "attendees") is engine.tables.join_tables[("booking", "attendees")]
    assert engine.pending_migrations() == [] and engine.migrate() == []


def test_the_quote_pack_gets_an_owned_table(make_engine, tmp_path: Path) -> None:
    model = metamodel.load_model([metamodel.BASE_PACK, write_quote_pack(tmp_path / "quotes")])
    engine = make_engine(model)
    assert_tables_follow_the_model(engine.db, model)
    assert "lines" not in {c["name"] for c in sa.inspect(engine.db).get_columns("ent_quote")}
    assert engine.pending_migrations() == []


# -- evolution -----------------------------------------------------------------------------------

PERSON = entity("person", {"name": {"type": "string"}})


def event(**fields: Mapping[str, Any]) -> dict[str, Any]:
    return entity("event", {"title": {"type": "string"}, **fields})


def join_indexes(storage: Storage, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(storage.db).get_indexes(table)}


def populated(storage: Storage, **fields: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """Persons p1..p3 and events e1..e3 under the definitions `fields` of event; their ids."""
    storage.migrate(PERSON, event(**fields))
    persons = storage.insert("person", [{"name": f"p{i}"} for i in (1, 2, 3)])
    events = storage.insert("event", [{"title": f"e{i}"} for i in (1, 2, 3)])
    return persons, events


def test_a_new_links_characteristic_gets_its_join_table_and_the_records_stay(storage: Storage) -> None:
    persons, events = populated(storage)
    plan = storage.migrate(PERSON, event(guests={"type": "links", "entity": "person"}))
    assert plan.words() == [
        "event.guests: new many-to-many link to person: create join table rel_event__guests"]
    assert_tables_follow_the_model(storage.db, storage.model)
    storage.link("rel_event__guests", [(events[0], persons[0])])
    assert storage.members("rel_event__guests") == {(events[0], persons[0])}
    assert storage.migrate(PERSON, event(guests={"type": "links", "entity": "person"})).steps == ()


def test_a_links_characteristic_removed_archives_its_members_then_drops_its_table(storage: Storage) -> None:
    persons, events = populated(storage, guests={"type": "links", "entity": "person"})
    storage.link("rel_event__guests", [(events[0], persons[2]), (events[0], persons[0]), (events[0], persons[1]),
                                       (events[1], persons[1])])
    plan = storage.plan(PERSON, event())
    assert plan.words() == [
        "event.guests: no longer declared: archive its 4 link(s) (the members of each record), then drop join "
        "table rel_event__guests (`ossature archive restore event.guests` brings them back once it is declared "
        "again)"]
    assert plan.steps[0].text("fr").startswith("event.guests : plus déclaré : archiver ses 4 lien(s)")
    storage.migrate(PERSON, event())
    assert "rel_event__guests" not in storage.table_names()
    assert storage.archived("event", "guests") == {events[0]: (sorted(persons), "links"),
                                                   events[1]: ([persons[1]], "links")}
    with storage.db.connect() as conn:
        from engine.schema.archive import list_archive
        (entry,) = list_archive(conn, storage.model)
    assert (entry.target, entry.count, entry.declared) == ("event.guests", 2, False)
    assert storage.migrate(PERSON, event()).steps == ()


def test_an_empty_links_removed_archives_nothing(storage: Storage) -> None:
    populated(storage, guests={"type": "links", "entity": "person"})
    plan = storage.migrate(PERSON, event())
    assert [s.count for s in plan.steps] == [0]
    assert storage.archived("event", "guests") == {}
    assert "rel_event__guests" not in storage.table_names()


def test_a_renamed_links_keeps_its_members_history_and_names_its_keys_after_itself(storage: Storage) -> None:
    persons, events = populated(storage, guests={"type": "links", "entity": "person"})
    pairs = [(events[0], persons[0]), (events[0], persons[1]), (events[2], persons[2])]
    storage.link("rel_event__guests", pairs)
    history = sa.table("sys_history", sa.column("entity"), sa.column("record_id"), sa.column("field"),
                       sa.column("valid_from"))
    with storage.db.begin() as conn:
        conn.execute(history.insert().values(entity="event", record_id=events[0], field="guests", valid_from=NOW))
    renamed = event(attendees={"type": "links", "entity": "person", "renamed_from": "guests"})
    plan = storage.migrate(PERSON, renamed)
    assert plan.words() == ["event.guests: renamed to attendees: its 3 link(s) move to join table rel_event__attendees"]
    assert storage.members("rel_event__attendees") == set(pairs)
    assert "rel_event__guests" not in storage.table_names()
    assert_tables_follow_the_model(storage.db, storage.model)
    assert join_indexes(storage, "rel_event__attendees") == {"ix_rel_event__attendees_target"}
    assert sa.inspect(storage.db).get_pk_constraint("rel_event__attendees")["name"] == "pk_rel_event__attendees"
    with storage.db.connect() as conn:
        assert conn.execute(sa.select(history.c.field)).scalars().all() == ["attendees"]
    assert storage.migrate(PERSON, renamed).steps == ()
    # the former name is free again: a new characteristic takes it, with keys of the same names
    again = event(attendees={"type": "links", "entity": "person"},
                  guests={"type": "links", "entity": "person", "reverse": "guest_events"})
    assert storage.migrate(PERSON, again).words() == [
        "event.guests: new many-to-many link to person: create join table rel_event__guests"]
    assert storage.members("rel_event__guests") == set()
    assert storage.members("rel_event__attendees") == set(pairs)


def test_a_link_made_links_turns_each_value_into_a_member(storage: Storage) -> None:
    persons, events = populated(storage, host={"type": "link", "entity": "person"})
    table = sa.table("ent_event", sa.column("id"), sa.column("host"), sa.column("deleted_at"))
    cleanup = sa.table("sys_cleanup", sa.column("entity"), sa.column("record_id"), sa.column("field"),
                       sa.column("rule"), sa.column("detected_at"))
    with storage.db.begin() as conn:
        conn.execute(table.update().where(table.c.id == events[0]).values(host=persons[1]))
        conn.execute(table.update().where(table.c.id == events[2]).values(host=persons[2], deleted_at=NOW))
        conn.execute(cleanup.insert().values(entity="event", record_id=events[1], field="host", rule="mandatory",
                                             detected_at=NOW))
    assert "ix_ent_event_host" in join_indexes(storage, "ent_event")
    made_links = event(host={"type": "links", "entity": "person"})
    plan = storage.migrate(PERSON, made_links)
    assert plan.words() == [
        "event.host: link -> links: each of the 2 value(s) becomes a member (join table rel_event__host), "
        "then the column is dropped",
        "drop index ix_ent_event_host on ent_event (no longer declared; no data involved)"]
    assert storage.members("rel_event__host") == {(events[0], persons[1]), (events[2], persons[2])}
    assert "host" not in storage.columns("ent_event")
    assert "ix_ent_event_host" not in join_indexes(storage, "ent_event")
    assert_tables_follow_the_model(storage.db, storage.model)
    with storage.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cleanup)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 3
    assert storage.migrate(PERSON, made_links).steps == ()


@pytest.mark.parametrize(("before", "after", "old", "new"), [
    ({"type": "link", "entity": "person"}, {"type": "links", "entity": "owner"}, "link to person", "links to owner"),
    ({"type": "links", "entity": "person"}, {"type": "link", "entity": "person"}, "links to person", "link to person"),
    ({"type": "links", "entity": "person"}, {"type": "links", "entity": "owner"}, "links to person", "links to owner"),
    ({"type": "links", "entity": "person"}, {"type": "string"}, "links to person", "string"),
])
def test_other_changes_of_a_relation_kind_or_target_are_refused(storage: Storage, before: dict, after: dict,
                                                                 old: str, new: str) -> None:
    persons, events = populated(storage, party=before)
    tables_before = storage.table_names()
    columns_before = storage.columns("ent_event").keys()
    if before["type"] == "links":
        storage.link("rel_event__party", [(events[0], persons[0])])
    plan = storage.plan(PERSON, event(party=after))
    assert [s.kind for s in plan.steps if s.kind != "index"] == ["refuse"]
    (problem,) = plan.problems
    assert problem.text() == (
        f"REFUSED: event.party: {old} -> {new} refused: a relation cannot change its kind or target (only a link "
        "may become links to the same entity); declare a new characteristic and remove this one: its values are "
        "archived")
    assert problem.text("fr").startswith(f"REFUSÉ : event.party : {old} -> {new} refusé : une relation ne peut")
    with pytest.raises(MigrationRefused) as refused:
        storage.migrate(PERSON, event(party=after))
    assert "event.party" in refused.value.message("en") and "event.party" in refused.value.message("fr")
    assert storage.table_names() == tables_before
    assert storage.columns("ent_event").keys() == columns_before
    if before["type"] == "links":
        assert storage.members("rel_event__party") == {(events[0], persons[0])}


def test_a_new_owned_entity_gets_its_table_beside_the_records_of_its_owner(storage: Storage) -> None:
    _, events = populated(storage)
    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    plan = storage.migrate(PERSON, event(items={"type": "lines", "entity": "event_item"}), item)
    assert [w for w in plan.words() if "event" in w] == ["create table ent_event_item (10 columns)"]
    assert_tables_follow_the_model(storage.db, storage.model)
    with storage.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sa.table("ent_event"))).scalar_one() == 3
    assert storage.migrate(PERSON, event(items={"type": "lines", "entity": "event_item"}), item).steps == ()


NOTE = {"text": {"type": "string"}}


def test_an_entity_with_records_cannot_become_owned(storage: Storage) -> None:
    storage.migrate(PERSON, event(), entity("note", NOTE))
    storage.insert("note", [{"text": "a"}, {"text": "b"}])
    owned = (PERSON, event(notes={"type": "lines", "entity": "note"}), entity("note", NOTE, owned_by="event"))
    plan = storage.plan(*owned)
    (problem,) = plan.problems
    assert problem.text() == (
        "REFUSED: note: now owned by event (owned_by), but its 2 existing record(s) belong to no event: an entity "
        "with records cannot become owned; declare a new owned entity instead")
    assert problem.text("fr").startswith("REFUSÉ : note : désormais possédée par event (owned_by), mais ses 2 ")
    assert not [s for s in plan.steps if s.field in (PARENT_FIELD, POSITION_FIELD)]
    with pytest.raises(MigrationRefused):
        storage.migrate(*owned)
    assert PARENT_FIELD not in storage.columns("ent_note")


def test_an_empty_entity_may_become_owned(storage: Storage) -> None:
    storage.migrate(PERSON, event(), entity("note", NOTE))
    owned = (PERSON, event(notes={"type": "lines", "entity": "note"}), entity("note", NOTE, owned_by="event"))
    plan = storage.migrate(*owned)
    assert {s.field for s in plan.steps if s.key == "add_column"} == {PARENT_FIELD, POSITION_FIELD}
    assert_tables_follow_the_model(storage.db, storage.model)
    assert storage.migrate(*owned).steps == ()


def test_lines_cannot_become_a_column(storage: Storage) -> None:
    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    storage.migrate(PERSON, event(items={"type": "lines", "entity": "event_item"}), item)
    (problem,) = storage.plan(PERSON, event(items={"type": "string"})).problems
    assert problem.text().startswith("REFUSED: event.items: lines of event_item -> string refused")
    assert "items" not in storage.columns("ent_event")


@pytest.mark.parametrize("kind", ["string", "integer"])
def test_a_column_made_links_archives_its_values_drops_it_and_gets_its_join_table(storage: Storage, kind: str) -> None:
    """A vendor's pack turning a free-text `attendees` into members: what users typed is archived,
    as a removed characteristic's values are, never lost; an archive restore refuses to write it
    into the members."""
    from engine.schema.archive_restore import ArchiveError, restore

    persons, events = populated(storage, party={"type": kind})
    table = sa.table("ent_event", sa.column("id"), sa.column("party"))
    values = {events[0]: "Ann, Bob" if kind == "string" else 12, events[2]: "Carl" if kind == "string" else 3}
    with storage.db.begin() as conn:
        for record_id, value in values.items():
            conn.execute(table.update().where(table.c.id == record_id).values(party=value))
    made_links = event(party={"type": "links", "entity": "person"})
    plan = storage.plan(PERSON, made_links)
    assert not plan.problems
    assert sorted(plan.words()) == sorted([
        "event.party: new many-to-many link to person: create join table rel_event__party",
        f"event.party: {kind} -> links to person: archive its 2 value(s), then drop the column (they stay in "
        f"the archive: `ossature archive list`; they cannot become links to person)"])
    storage.migrate(PERSON, made_links)
    assert "party" not in storage.columns("ent_event")
    assert storage.members("rel_event__party") == set()
    assert {record_id: value for record_id, (value, _) in storage.archived("event", "party").items()} == values
    assert_tables_follow_the_model(storage.db, storage.model)
    assert storage.migrate(PERSON, made_links).steps == ()
    with pytest.raises(ArchiveError) as refused:
        restore(storage.db, storage.model, storage.tables, "event.party", clock=lambda: NOW)
    assert "links to person" in refused.value.message("en")
    assert storage.members("rel_event__party") == set()


def test_a_column_made_lines_archives_its_values_and_the_owned_table_is_created(storage: Storage) -> None:
    persons, events = populated(storage, items={"type": "string"})
    table = sa.table("ent_event", sa.column("id"), sa.column("items"))
    with storage.db.begin() as conn:
        conn.execute(table.update().where(table.c.id == events[1]).values(items="2 coffees"))
    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    plan = storage.migrate(PERSON, event(items={"type": "lines", "entity": "event_item"}), item)
    assert not plan.problems
    assert ("event.items: string -> lines of event_item: archive its 1 value(s), then drop the column (they stay "
            "in the archive: `ossature archive list`; they cannot become lines of event_item)") in plan.words()
    assert any(w.startswith("event.items : string -> lines of event_item : archiver ses 1 valeur(s)")
               for w in plan.words("fr"))
    assert "items" not in storage.columns("ent_event")
    assert {k: v for k, (v, _) in storage.archived("event", "items").items()} == {events[1]: "2 coffees"}
    assert_tables_follow_the_model(storage.db, storage.model)


def test_a_column_made_links_is_refused_while_a_join_table_of_that_name_is_left(storage: Storage) -> None:
    persons, events = populated(storage, party={"type": "string"})
    with storage.db.begin() as conn:
        conn.execute(sa.text("CREATE TABLE rel_event__party (source_id INTEGER, target_id INTEGER)"))
    (problem,) = storage.plan(PERSON, event(party={"type": "links", "entity": "person"})).problems
    assert problem.text().startswith("REFUSED: event.party: string -> links to person refused")
    assert "party" in storage.columns("ent_event")


def test_an_entity_removed_archives_the_members_of_its_links_with_its_records(storage: Storage) -> None:
    persons, events = populated(storage, guests={"type": "links", "entity": "person"})
    storage.link("rel_event__guests", [(events[1], persons[0])])
    plan = storage.migrate(PERSON)
    assert [s.key for s in plan.steps if s.entity == "event"] == ["archive_join_table", "archive_entity"]
    assert not {"ent_event", "rel_event__guests"} & storage.table_names()
    assert storage.archived("event", "guests") == {events[1]: ([persons[0]], "links")}


def test_a_links_target_removed_with_the_links_is_archived_in_order(storage: Storage) -> None:
    persons, events = populated(storage, guests={"type": "links", "entity": "person"})
    storage.link("rel_event__guests", [(events[0], persons[1])])
    plan = storage.migrate(event())
    assert not plan.problems
    assert not {"ent_person", "rel_event__guests"} & storage.table_names()
    assert storage.archived("event", "guests") == {events[0]: ([persons[1]], "links")}


# -- the plan, as `ossature migrate --plan` prints it ------------------------------------------------


def gadget_pack(root: Path, parts: str) -> Path:
    """A pack on the base pack: entity `gadget` whose `parts` characteristic is declared as `parts`."""
    (root / "entities").mkdir(parents=True)
    (root / "pack.yaml").write_text("pack: gadgets\nversion: 1.0.0\nlabel: {en: Gadgets, fr: Gadgets}\n")
    (root / "entities" / "gadget.yaml").write_text(
        "entity: gadget\nlabel: {en: Gadget, fr: Gadget}\nplural: {en: Gadgets, fr: Gadgets}\ncharacteristics:\n"
        "  name: {type: string, label: {en: Name, fr: Nom}}\n"
        + (f"  parts: {{{parts}, label: {{en: Parts, fr: Pièces}}}}\n" if parts else ""))
    return root


def test_migrate_plan_lists_the_relation_steps_in_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        database_url: str) -> None:
    from click.testing import CliRunner

    from ossature.main import cli

    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(pack: Path, *args: str) -> tuple[int, list[str]]:
        result = runner.invoke(cli, ["migrate", *args], env={"OSSATURE_PACKS": str(pack)}, catch_exceptions=False)
        return result.exit_code, [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]

    with_parts = gadget_pack(tmp_path / "v1", "type: links, entity: contact")
    code, planned = run(with_parts, "--plan")
    assert code == 0 and "gadget.parts: new many-to-many link to contact: create join table rel_gadget__parts" in planned
    assert run(with_parts)[0] == 0
    code, planned = run(gadget_pack(tmp_path / "v2", ""), "--plan", "--lang", "fr")
    assert code == 0 and planned == [
        "gadget.parts : plus déclaré : archiver ses 0 lien(s) (les membres de chaque enregistrement), puis supprimer "
        "la table de liaison rel_gadget__parts (`ossature archive restore gadget.parts` les rétablit une fois la "
        "caractéristique redéclarée)"]
    code, planned = run(gadget_pack(tmp_path / "v3", "type: string"), "--plan")
    assert code == 1 and planned == [
        "REFUSED: gadget.parts: links to contact -> string refused: a relation cannot change its kind or target "
        "(only a link may become links to the same entity); declare a new characteristic and remove this one: its "
        "values are archived"]


# -- the archive gives members back ----------------------------------------------------------------


def test_archived_members_come_back_once_the_links_is_declared_again(storage: Storage) -> None:
    from engine.schema.archive_restore import restore

    guests = {"type": "links", "entity": "person", "historized": True}
    persons, events = populated(storage, guests=guests)
    storage.link("rel_event__guests", [(events[0], persons[0]), (events[0], persons[2]), (events[1], persons[2]),
                                       (events[2], persons[1])])
    storage.migrate(PERSON, event())
    storage.migrate(PERSON, event(guests=guests))
    storage.link("rel_event__guests", [(events[1], persons[0])])  # e2 has members again: it keeps them
    person = sa.table("ent_person", sa.column("id"))
    with storage.db.begin() as conn:  # p2, e3's only member, is purged meanwhile
        conn.execute(person.delete().where(person.c.id == persons[1]))
    result = restore(storage.db, storage.model, storage.tables, "event.guests", clock=lambda: NOW, actor_id=None)
    assert (result.restored, result.kept) == (1, 2)
    assert result.message() == (
        "event.guests: 1 value(s) restored; 2 kept in the archive (1 record(s) have a value now, "
        "1 record(s) no longer exist)")
    assert storage.members("rel_event__guests") == {(events[0], persons[0]), (events[0], persons[2]),
                                                    (events[1], persons[0])}
    audit, history = storage.tables.audit, storage.tables.history  # type: ignore[union-attr]
    with storage.db.connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.select(audit.c.record_id, audit.c.version, audit.c.changes))] == [
            (events[0], 2, {"guests": [[], sorted([persons[0], persons[2]])]})]
        assert [tuple(r) for r in conn.execute(sa.select(history.c.record_id, history.c.field, history.c.old_value,
                                                         history.c.new_value))] == [
            (events[0], "guests", [], sorted([persons[0], persons[2]]))]
    with pytest.raises(Exception) as nothing:
        restore(storage.db, storage.model, storage.tables, "event.host", clock=lambda: NOW)
    assert "event.host is not declared" in str(nothing.value)


def test_the_archived_values_of_a_link_come_back_as_members(storage: Storage) -> None:
    from engine.schema.archive_restore import restore

    persons, events = populated(storage, host={"type": "link", "entity": "person"})
    table = sa.table("ent_event", sa.column("id"), sa.column("host"))
    with storage.db.begin() as conn:
        conn.execute(table.update().where(table.c.id == events[2]).values(host=persons[0]))
    storage.migrate(PERSON, event())
    storage.migrate(PERSON, event(host={"type": "links", "entity": "person"}))
    result = restore(storage.db, storage.model, storage.tables, "event.host", clock=lambda: NOW)
    assert (result.restored, result.kept) == (1, 0)
    assert storage.members("rel_event__host") == {(events[2], persons[0])}


# -- set-based -------------------------------------------------------------------------------------


def statements_to_convert_and_archive(url: str, folder: Path, size: int) -> int:
    """The statements of a migration turning a link of `size` records into links and archiving the
    members of another links of theirs."""
    storage = Storage(url, folder)
    try:
        storage.migrate(PERSON, event(host={"type": "link", "entity": "person"},
                                      guests={"type": "links", "entity": "person"}))
        persons = storage.insert("person", [{"name": f"p{i}"} for i in range(3)])
        events = storage.insert("event", [{"title": f"e{i}", "host": persons[i % 3]} for i in range(size)])
        storage.link("rel_event__guests", [(e, p) for e in events for p in persons[: 1 + e % 3]])
        statements: list[str] = []
        sa.event.listen(storage.db, "before_cursor_execute", lambda *args: statements.append(args[2]))
        plan = storage.migrate(PERSON, event(host={"type": "links", "entity": "person"}))
        assert {s.key for s in plan.steps} >= {"link_to_links", "archive_join_table"}
        assert len(storage.members("rel_event__host")) == size
        assert len(storage.archived("event", "guests")) == size
        return len(statements)
    finally:
        storage.dispose()


def test_converting_and_archiving_members_takes_as_many_statements_for_3_records_as_for_300(
    scratch_databases, tmp_path: Path,
) -> None:
    counts = []
    for size in (3, 300):
        (tmp_path / str(size)).mkdir()
        with scratch_databases(tmp_path / str(size)) as url:
            counts.append(statements_to_convert_and_archive(url, tmp_path / str(size), size))
    assert counts[0] == counts[1]


def test_count_rules_made_stricter_list_the_records_breaking_them_for_clean_up(storage: Storage) -> None:
    from engine.schema.cleanup import records_to_clean

    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    fields = {"guests": {"type": "links", "entity": "person"}, "items": {"type": "lines", "entity": "event_item"}}
    storage.migrate(PERSON, event(**fields), item)
    persons = storage.insert("person", [{"name": f"p{i}"} for i in range(4)])
    e0, e1, e2, e3 = storage.insert("event", [{"title": f"e{i}"} for i in range(4)])
    storage.link("rel_event__guests", [(e1, persons[0]), (e1, persons[1]), (e2, persons[0]), (e2, persons[1]),
                                       (e2, persons[2]), (e3, persons[3])])
    storage.insert("event_item", [{"label": str(n), "parent_id": parent, "position": n}
                                  for parent, lines in ((e1, 1), (e2, 6)) for n in range(lines)])
    trash = sa.table("ent_event", sa.column("id"), sa.column("deleted_at"))
    with storage.db.begin() as conn:  # in the trash: not listed
        conn.execute(trash.update().where(trash.c.id == e3).values(deleted_at=NOW))
    stricter = event(guests={"type": "links", "entity": "person", "mandatory": True, "max": 2},
                     items={"type": "lines", "entity": "event_item", "min": 1, "max": 5})
    # at the boundaries: e1 has 2 guests (max 2) and 1 line (min 1); e2 has 3 and 6; e0 none
    plan = storage.plan(PERSON, stricter, item)
    assert [(s.field, s.params["rule"], s.count, [o.record_id for o in s.offenders]) for s in plan.steps] == [
        ("guests", "mandatory", 1, [e0]), ("guests", "max", 1, [e2]),
        ("items", "min", 1, [e0]), ("items", "max", 1, [e2])]
    assert plan.words()[1] == ("event.guests: maximum now 2: 1 existing record(s) break it (kept as they are, listed "
                               "for clean-up; the rule applies to new edits)")
    assert not plan.tables_behind
    storage.migrate(PERSON, stricter, item)
    engine = storage.engine()
    listed = {(i.record_id, i.field, i.rule) for i in records_to_clean(engine, "event")}
    assert listed == {(e0, "guests", "mandatory"), (e2, "guests", "max"), (e0, "items", "min"), (e2, "items", "max")}
    storage.link("rel_event__guests", [(e0, persons[3])])  # corrected since: forgotten
    listed = {(i.record_id, i.field, i.rule) for i in records_to_clean(engine, "event")}
    assert (e0, "guests", "mandatory") not in listed and len(listed) == 3
    assert storage.migrate(PERSON, stricter, item).steps == ()
    looser = event(**fields)
    assert storage.migrate(PERSON, looser, item).words() == [
        "event.guests: definition updated (no data change)", "event.items: definition updated (no data change)"]
    assert records_to_clean(storage.engine(), "event") == []


def test_an_owned_entity_made_standalone_archives_its_parent_and_position(storage: Storage) -> None:
    item = {"label": {"type": "string"}}
    storage.migrate(PERSON, event(items={"type": "lines", "entity": "event_item"}),
                    entity("event_item", item, owned_by="event"))
    (event_id,) = storage.insert("event", [{"title": "e"}])
    lines = storage.insert("event_item", [{"label": "a", "parent_id": event_id, "position": 1},
                                          {"label": "b", "parent_id": event_id, "position": 2}])
    plan = storage.migrate(PERSON, event(), entity("event_item", item))
    assert {(s.key, s.field) for s in plan.steps if s.kind == "archive"} == {
        ("archive_field", PARENT_FIELD), ("archive_field", POSITION_FIELD)}
    assert_tables_follow_the_model(storage.db, storage.model)
    assert storage.archived("event_item", PARENT_FIELD) == {lines[0]: (event_id, "link"), lines[1]: (event_id, "link")}
    assert storage.archived("event_item", POSITION_FIELD) == {lines[0]: (1, "integer"), lines[1]: (2, "integer")}


def test_links_made_lines_is_refused_and_its_members_stay(storage: Storage) -> None:
    persons, events = populated(storage, party={"type": "links", "entity": "person"})
    storage.link("rel_event__party", [(events[0], persons[0])])
    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    plan = storage.plan(PERSON, event(party={"type": "lines", "entity": "event_item"}), item)
    assert [s.key for s in plan.steps if s.entity == "event"] == ["relation_refused"]
    assert plan.problems[0].text().startswith("REFUSED: event.party: links to person -> lines of event_item refused")
    with pytest.raises(MigrationRefused):
        storage.migrate(PERSON, event(party={"type": "lines", "entity": "event_item"}), item)
    assert storage.members("rel_event__party") == {(events[0], persons[0])}


def test_the_longest_join_table_name_keeps_every_identifier_within_63_characters(storage: Storage) -> None:
    from metamodel.identifiers import MAX_NAME_LENGTH, MAX_SQL_IDENTIFIER, MAX_TABLE_NAME_LENGTH

    source = "e" * MAX_NAME_LENGTH
    field = "f" * (MAX_TABLE_NAME_LENGTH - MAX_NAME_LENGTH - 2)
    documents = (PERSON, entity(source, {"name": {"type": "string"}, field: {"type": "links", "entity": "person"}}))
    storage.migrate(*documents)
    join = join_table_name(source, field)
    assert len(join) == len(JOIN_TABLE_PREFIX) + MAX_TABLE_NAME_LENGTH
    assert_tables_follow_the_model(storage.db, storage.model)
    inspector = sa.inspect(storage.db)
    names = [inspector.get_pk_constraint(join)["name"], *(i["name"] for i in inspector.get_indexes(join)),
             *(fk["name"] for fk in inspector.get_foreign_keys(join))]
    assert all(name and len(name) <= MAX_SQL_IDENTIFIER for name in names), names
    declared = storage.tables.join_table(source, field)  # type: ignore[union-attr]
    assert {i.name for i in declared.indexes} == {i["name"] for i in inspector.get_indexes(join)}
    assert storage.migrate(*documents).steps == ()


def test_an_entity_restored_gets_its_members_back_through_its_links(storage: Storage) -> None:
    from engine.schema.archive_restore import restore

    guests = {"type": "links", "entity": "person"}
    persons, events = populated(storage, guests=guests)
    storage.link("rel_event__guests", [(events[0], persons[1]), (events[2], persons[0]), (events[2], persons[2])])
    storage.migrate(PERSON)
    storage.migrate(PERSON, event(guests=guests))
    assert restore(storage.db, storage.model, storage.tables, "event", clock=lambda: NOW).restored == 3
    result = restore(storage.db, storage.model, storage.tables, "event.guests", clock=lambda: NOW)
    assert (result.restored, result.kept) == (2, 0)
    assert storage.members("rel_event__guests") == {(events[0], persons[1]), (events[2], persons[0]),
                                                    (events[2], persons[2])}


def test_rebuilding_the_tables_a_join_table_refers_to_keeps_the_members(storage: Storage) -> None:
    guests = {"type": "links", "entity": "person"}
    persons, events = populated(storage, guests=guests, note={"type": "string"})
    pairs = {(events[0], persons[1]), (events[1], persons[1])}
    storage.link("rel_event__guests", sorted(pairs))
    # a column archived on both sides: SQLite rebuilds ent_event and ent_person
    plan = storage.migrate(entity("person", {}), event(guests=guests))
    assert {(s.key, s.entity) for s in plan.steps} == {("archive_field", "event"), ("archive_field", "person")}
    assert storage.members("rel_event__guests") == pairs
    assert_tables_follow_the_model(storage.db, storage.model)
    with storage.db.begin() as conn:  # the foreign keys still hold
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.table("rel_event__guests", sa.column(SOURCE_COLUMN), sa.column(TARGET_COLUMN))
                         .insert().values({SOURCE_COLUMN: events[0], TARGET_COLUMN: 999}))


# -- through the record service --------------------------------------------------------------------


def test_members_and_lines_written_by_the_engine_live_through_every_evolution(storage: Storage) -> None:
    """Collections written and read by the record service, across a rename, a link made links,
    a removal and a restore of a links."""
    from engine.schema.archive_restore import restore

    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    fields = {"host": {"type": "link", "entity": "person"}, "guests": {"type": "links", "entity": "person"},
              "items": {"type": "lines", "entity": "event_item"}}
    storage.migrate(PERSON, event(**fields), item)
    records = storage.engine().records
    p1, p2, p3 = (records.create("person", {"name": n}, SYSTEM_ACTOR)["id"] for n in ("p1", "p2", "p3"))
    e1 = records.create("event", {"title": "e1", "host": p2, "guests": [p3, p1],
                                  "items": [{"label": "a"}, {"label": "b"}]}, SYSTEM_ACTOR)["id"]
    e2 = records.create("event", {"title": "e2", "guests": [p2]}, SYSTEM_ACTOR)["id"]

    def read(event_id: int, *names: str) -> tuple[Any, ...]:
        record = storage.engine().records.get("event", event_id)
        return tuple(record[name] for name in names)

    renamed = {"host": {"type": "link", "entity": "person"},
               "attendees": {"type": "links", "entity": "person", "renamed_from": "guests"},
               "items": {"type": "lines", "entity": "event_item"}}
    storage.migrate(PERSON, event(**renamed), item)
    attendees, items = read(e1, "attendees", "items")
    assert attendees == [p1, p3] and [line["label"] for line in items] == ["a", "b"]

    made_links = {**renamed, "host": {"type": "links", "entity": "person"}}
    storage.migrate(PERSON, event(**made_links), item)
    assert read(e1, "host", "attendees") == ([p2], [p1, p3])
    assert read(e2, "host", "attendees") == ([], [p2])

    without = {"host": made_links["host"], "items": made_links["items"]}
    storage.migrate(PERSON, event(**without), item)
    assert "attendees" not in storage.engine().records.get("event", e1)
    storage.migrate(PERSON, event(**made_links), item)
    assert read(e1, "attendees") == ([],)
    restore(storage.db, storage.model, storage.tables, "event.attendees", clock=lambda: NOW)
    assert read(e1, "attendees") == ([p1, p3],) and read(e2, "attendees") == ([p2],)


def test_archived_lines_come_back_with_their_owned_entity_while_their_owners_exist(storage: Storage) -> None:
    from engine.schema.archive import ArchiveError
    from engine.schema.archive_restore import restore

    item = entity("event_item", {"label": {"type": "string"}}, owned_by="event")
    with_items = (PERSON, event(items={"type": "lines", "entity": "event_item"}), item)
    storage.migrate(*with_items)
    e1, e2 = storage.insert("event", [{"title": "e1"}, {"title": "e2"}])
    lines = storage.insert("event_item", [{"label": "a", "parent_id": e1, "position": 1},
                                          {"label": "b", "parent_id": e2, "position": 1}])
    plan = storage.migrate(PERSON, event())
    assert [s.key for s in plan.steps if s.entity == "event_item"] == ["archive_entity"]
    storage.migrate(*with_items)
    owned = sa.table("ent_event_item", sa.column("id"), sa.column("label"), sa.column("parent_id"),
                     sa.column("position"))
    events = sa.table("ent_event", sa.column("id"))
    with storage.db.begin() as conn:
        conn.execute(events.delete().where(events.c.id == e2))  # purged meanwhile: line b has no owner
    with pytest.raises(ArchiveError) as refused:
        restore(storage.db, storage.model, storage.tables, "event_item", clock=lambda: NOW)
    assert refused.value.message() == (
        "event_item: some archived lines belong to event records that no longer exist, or the archive has no owner "
        "for them: nothing was restored")
    assert refused.value.message("fr").startswith("event_item : des lignes archivées appartiennent")
    with storage.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(owned)).scalar_one() == 0
    with pytest.raises(ArchiveError) as nothing:
        restore(storage.db, storage.model, storage.tables, "event.items", clock=lambda: NOW)
    assert nothing.value.message() == "event.items: nothing archived to restore"
    storage.insert("event", [{"id": e2, "title": "e2 again"}])
    assert restore(storage.db, storage.model, storage.tables, "event_item", clock=lambda: NOW).restored == 2
    with storage.db.connect() as conn:
        assert sorted(tuple(r) for r in conn.execute(sa.select(owned))) == [
            (lines[0], "a", e1, 1), (lines[1], "b", e2, 1)]


def test_a_links_renamed_or_made_of_a_link_lists_the_breakers_of_its_stricter_rules(storage: Storage) -> None:
    from engine.schema.cleanup import records_to_clean

    persons, events = populated(storage, host={"type": "link", "entity": "person"},
                                guests={"type": "links", "entity": "person"})
    table = sa.table("ent_event", sa.column("id"), sa.column("host"))
    with storage.db.begin() as conn:
        conn.execute(table.update().where(table.c.id != events[1]).values(host=persons[0]))
    storage.link("rel_event__guests", [(events[0], persons[0]), (events[0], persons[1]), (events[2], persons[2])])
    stricter = event(host={"type": "links", "entity": "person", "mandatory": True},
                     attendees={"type": "links", "entity": "person", "renamed_from": "guests", "max": 1})
    plan = storage.migrate(PERSON, stricter)
    assert [(s.key, s.field, s.params.get("rule"), s.count) for s in plan.steps] == [
        ("link_to_links", "host", None, 2), ("tighten", "host", "mandatory", 1),
        ("rename_join_table", "attendees", None, 3), ("tighten", "attendees", "max", 1),
        ("drop_index", None, None, 0)]
    listed = {(i.record_id, i.field, i.rule) for i in records_to_clean(storage.engine(), "event")}
    assert listed == {(events[1], "host", "mandatory"), (events[0], "attendees", "max")}
    assert storage.migrate(PERSON, stricter).steps == ()
