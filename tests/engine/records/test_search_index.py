"""The quick search through its index: the same records as `ILIKE '%text%'`, found through the
FTS5 trigram table (SQLite) or the pg_trgm indexes (PostgreSQL), kept current by every write."""

from __future__ import annotations

import csv
import logging
import random
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.records.search as search
from engine import SYSTEM_ACTOR, Engine
from engine.records.queries import ListRequest, build_conditions
from engine.records.search import use_search_index
from engine.storage.search_index import fts_table_name, trigram_index_name
from evolution_support import Evolution, evolution

CARD = {
    "title": {"type": "string", "max_length": 40, "searchable": True},
    "body": {"type": "text", "searchable": True},
    "email": {"type": "email", "searchable": True},
    "code": {"type": "string", "max_length": 20},
}
SEARCHED = ("title", "body", "email")
AWKWARD = "aAbBzZ09 éÉèÈçÇßẞıİKǅﬁ€😀%_\\'\"-."
"""Letters whose case SQLite's LIKE ignores (ASCII) and others it does not, LIKE's wildcards and
escape, quotes, spaces, characters of 1 to 4 bytes."""
FIXED_TEXTS = ["%", "_", "\\", "'", '"', "%%%", "___", "\\\\\\", "a_b", "a%b", "'\"'", "É", "é", "ÉÉÉ", "éé",
               "A", "ab", "aB", "ABC", "  a", "a  ", "😀", "😀😀😀", "ß", "SS", "ẞ", "ı", "I", "İİİ", "K", "k",
               "ǅǅǅ", "ﬁﬁﬁ", "€uro", "x\\%", "\\_", "-.-", "@ex", "nothing like it"]


def ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


@pytest.fixture
def evo(database_url: str, tmp_path: Path) -> Iterator[Evolution]:
    yield from evolution(database_url, tmp_path)


@pytest.fixture
def cards(evo: Evolution) -> Engine:
    return evo.migrate({"card": CARD})


def awkward_rows(count: int, seed: int = 5) -> list[dict[str, Any]]:
    rnd = random.Random(seed)

    def word(low: int, high: int) -> str:
        return "".join(rnd.choice(AWKWARD) for _ in range(rnd.randint(low, high))).strip()

    rows = []
    for i in range(count):
        rows.append({
            "title": word(1, 12) or f"t{i}", "body": word(0, 30) or None,
            "email": f"{rnd.choice(['ann', 'Bob', 'eve_x', 'al%'])}{i}@ex-{rnd.choice('aB_')}.org",
            "code": word(0, 6) or None,
        })
    return rows


def search_ids(engine: Engine, conn: sa.Connection, text: str, *, hidden: frozenset[str] = frozenset(),
               extra: Sequence[Any] = ()) -> set[int]:
    """The records the list's quick search keeps, through the index (as `read_list` reads them)."""
    return set(conn.scalars(sa.select(engine.tables.of("card").c.id).where(
        *resolved(engine, conn, text, hidden=hidden, extra=extra))))


def resolved(engine: Engine, conn: sa.Connection, text: str, *, hidden: frozenset[str] = frozenset(),
             extra: Sequence[Any] = ()) -> list[Any]:
    entity, table = engine.model.entity("card"), engine.tables.of("card")
    conditions = build_conditions(table, entity, entity.view("list"), ListRequest(search=text, tab="all"), None,
                                  hidden=hidden)
    return use_search_index(conn, table, [*conditions, *extra])


def scan_ids(engine: Engine, conn: sa.Connection, text: str, columns: Sequence[str] = SEARCHED,
             extra: Sequence[Any] = ()) -> set[int]:
    """The records `ILIKE '%text%'` keeps, every record read (the meaning the index must keep)."""
    table = engine.tables.of("card")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    condition = sa.or_(*(table.c[name].ilike(pattern, escape="\\") for name in columns))
    return set(conn.scalars(sa.select(table.c.id).where(table.c.deleted_at.is_(None), condition, *extra)))


def python_ids(engine: Engine, conn: sa.Connection, text: str) -> set[int]:
    """SQLite's LIKE by hand: contains, ignoring the case of ASCII letters only."""
    table = engine.tables.of("card")
    rows = conn.execute(sa.select(table.c.id, *(table.c[n] for n in SEARCHED)).where(table.c.deleted_at.is_(None)))
    wanted = ascii_lower(text)
    return {row[0] for row in rows if any(v is not None and wanted in ascii_lower(v) for v in row[1:])}


def compiled(engine: Engine, conditions: Sequence[Any]) -> str:
    statement = sa.select(engine.tables.of("card").c.id).where(*conditions)
    return str(statement.compile(engine.db))


def fts_intact(engine: Engine) -> None:
    """FTS5's own check of its index against the entity table (raises if they differ)."""
    if engine.db.dialect.name != "sqlite":
        return
    fts = fts_table_name("ent_card")
    with engine.db.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")


def assert_search_current(engine: Engine, *texts: str) -> None:
    fts_intact(engine)
    with engine.db.connect() as conn:
        for text in texts:
            assert search_ids(engine, conn, text) == scan_ids(engine, conn, text), text


@pytest.fixture
def awkward(cards: Engine) -> tuple[Engine, list[str]]:
    rows = awkward_rows(300)
    cards.records.create_many("card", rows, SYSTEM_ACTOR)
    return cards, [row["title"] for row in rows] + [row["body"] for row in rows if row["body"]]


def texts_from(values: list[str]) -> st.SearchStrategy[str]:
    """Texts of 1 to 6 awkward characters, and pieces of stored values (so that some match)."""
    made = st.text(alphabet=AWKWARD, min_size=1, max_size=6)
    pieces = st.tuples(st.sampled_from(values), st.integers(0, 30), st.integers(1, 6)).map(
        lambda t: t[0][t[1]:t[1] + t[2]])
    return st.one_of(made, pieces, st.sampled_from(FIXED_TEXTS)).map(str.strip).filter(bool)


@pytest.mark.parametrize("few", [0, 100, 2000], ids=["index-drives", "ids-in-query", "others-lead"])
def test_the_index_keeps_exactly_the_records_ilike_keeps(awkward, few, monkeypatch) -> None:
    engine, values = awkward
    monkeypatch.setattr(search, "FEW_CANDIDATES", few)
    postgresql = engine.db.dialect.name == "postgresql"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(texts_from(values))
    def check(text: str) -> None:
        with engine.db.connect() as conn:
            expected = scan_ids(engine, conn, text)
            if postgresql:
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the trigram indexes answer
            else:
                assert expected == python_ids(engine, conn, text), text
            assert search_ids(engine, conn, text) == expected, text
            conn.rollback()

    check()


def test_fixed_awkward_texts_match_as_ilike_does(awkward) -> None:
    engine, _ = awkward
    engine.records.create_many("card", [
        {"title": "100% sûr", "body": "a_b and a%b and x\\%y", "email": "q'uote@ex.org"},
        {"title": 'say "hi"', "body": "ÉTÉ été Ete", "email": "ss@ex.org"},
        {"title": "Straße", "body": "STRASSE 😀😀😀 ﬁﬁﬁ", "email": "kelvin@ex.org"},
    ], SYSTEM_ACTOR)
    with engine.db.connect() as conn:
        for text in FIXED_TEXTS:
            assert search_ids(engine, conn, text) == scan_ids(engine, conn, text), text
        assert search_ids(engine, conn, "100%") == scan_ids(engine, conn, "100%") != set()


@pytest.mark.parametrize("text, indexed", [("ab", False), ("abc", True), ("abcd", True)])
def test_texts_under_three_characters_are_searched_by_reading(cards, monkeypatch, text, indexed) -> None:
    monkeypatch.setattr(search, "FEW_CANDIDATES", 1)
    cards.records.create_many("card", [{"title": "xabcdx"}, {"title": "ABC"}, {"title": "zz"}], SYSTEM_ACTOR)
    with cards.db.connect() as conn:
        sql = compiled(cards, resolved(cards, conn, text))
        assert search_ids(cards, conn, text) == scan_ids(cards, conn, text) != set()
    if cards.db.dialect.name == "sqlite":
        assert (" IN (" in sql) is indexed  # the candidates' ids, else LIKE alone
        assert "LIKE" in sql


@pytest.mark.parametrize("others, form", [(3, "like"), (4, "ids")])
def test_other_conditions_matching_few_records_lead_the_search(cards, monkeypatch, others, form) -> None:
    """FEW_CANDIDATES = 3: other conditions matching 3 records lead (LIKE checks them; the index
    is not read); matching 4, the index's 2 candidates go in the query by id."""
    monkeypatch.setattr(search, "FEW_CANDIDATES", 3)
    cards.records.create_many("card", [{"title": "needle 1"}, {"title": "needle 2"}]
                              + [{"title": "hay"}] * 4, SYSTEM_ACTOR)
    extra = [cards.tables.of("card").c.id <= others]
    with cards.db.connect() as conn:
        sql = compiled(cards, resolved(cards, conn, "needle", extra=extra))
        found = search_ids(cards, conn, "needle", extra=extra)
        assert found == scan_ids(cards, conn, "needle", extra=extra) and len(found) == 2
    if cards.db.dialect.name == "sqlite":
        assert "MATCH" not in sql and (" IN (" in sql) is (form == "ids")


@pytest.mark.parametrize("matching, form", [(2, "ids"), (3, "ids"), (4, "index")])
def test_few_candidates_go_in_the_query_by_id_up_to_the_limit(cards, monkeypatch, matching, form) -> None:
    """FEW_CANDIDATES = 3 (and more records than that): up to 3 candidates are written into the
    query; 4 and the index drives the list."""
    monkeypatch.setattr(search, "FEW_CANDIDATES", 3)
    cards.records.create_many("card", [{"title": f"needle {i}"} for i in range(matching)]
                              + [{"title": "hay"}] * 4, SYSTEM_ACTOR)
    with cards.db.connect() as conn:
        sql = compiled(cards, resolved(cards, conn, "needle"))
        found = search_ids(cards, conn, "needle")
        assert found == scan_ids(cards, conn, "needle") and len(found) == matching
        if cards.db.dialect.name == "sqlite":
            assert ("MATCH" in sql) is (form == "index") and " IN (" in sql
            if form == "index":
                plan = " ".join(row[3] for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + compiled_literal(cards, resolved(cards, conn, "needle"))))
                assert fts_table_name("ent_card") in plan and "INTEGER PRIMARY KEY" in plan


def compiled_literal(engine: Engine, conditions: Sequence[Any]) -> str:
    statement = sa.select(engine.tables.of("card").c.id).where(*conditions)
    return str(statement.compile(engine.db, compile_kwargs={"literal_binds": True}))


def test_the_index_exists_after_migrate_and_serves_the_search(cards) -> None:
    cards.records.create_many("card", [{"title": f"row {i}", "email": f"lead{i}@ex.org"} for i in range(200)],
                              SYSTEM_ACTOR)
    with cards.db.connect() as conn:
        if cards.db.dialect.name == "sqlite":
            columns = [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({fts_table_name('ent_card')})")]
            assert columns == list(SEARCHED)
            candidates = search.fts_candidates(search.SearchSpec("ent_card", fts_table_name("ent_card"), SEARCHED,
                                                                 SEARCHED), "lead42@")
            plan = " ".join(row[3] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(candidates.compile(cards.db, compile_kwargs={"literal_binds": True}))))
            assert f"SCAN {fts_table_name('ent_card')} VIRTUAL TABLE" in plan
            assert search_ids(cards, conn, "lead42@") == scan_ids(cards, conn, "lead42@") != set()
        else:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("ent_card")}
            assert {trigram_index_name("ent_card", c) for c in SEARCHED} <= names
            assert trigram_index_name("ent_card", "code") not in names
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            sql = compiled_literal(cards, resolved(cards, conn, "lead42@"))
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")))
            assert all(trigram_index_name("ent_card", c) in plan for c in SEARCHED), plan
            assert search_ids(cards, conn, "lead42@") == scan_ids(cards, conn, "lead42@") != set()


def test_the_index_follows_every_write(cards, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(search, "FEW_CANDIDATES", 0)  # every search read through the index
    records = cards.records
    first = records.create("card", {"title": "Alpha one", "body": "quick brown fox"}, SYSTEM_ACTOR)
    assert_search_current(cards, "alpha", "brown", "beta")
    records.update("card", first["id"], {"title": "Beta two"}, SYSTEM_ACTOR)
    assert_search_current(cards, "alpha", "beta two", "fox")
    records.update("card", first["id"], {"code": "unsearched"}, SYSTEM_ACTOR)
    assert_search_current(cards, "beta", "unsearched")

    ids = records.create_many("card", [{"title": f"Gamma {i}", "email": f"g{i}@ex.org"} for i in range(50)],
                              SYSTEM_ACTOR)
    assert_search_current(cards, "gamma 1", "g42@", "@ex.org")
    records.update_many("card", [{"id": i, "version": 1, "title": f"Delta {i}"} for i in ids[:5]], SYSTEM_ACTOR)
    assert_search_current(cards, "delta", "gamma")

    path = tmp_path / "cards.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["title", "body", "email", "code"])
        writer.writerows([f"Imported {i}", "from a file", f"imp{i}@ex.org", "c"] for i in range(30))
    from engine.exchange.importer import import_file

    report = import_file(cards, "card", path)
    assert report.created == 30
    assert_search_current(cards, "imported 2", "from a f", "imp7@")

    records.mass_update("card", ids[10:20], {"title": "Epsilon"}, SYSTEM_ACTOR)
    assert_search_current(cards, "epsilon", "gamma 1")

    records.delete("card", first["id"], SYSTEM_ACTOR)
    with cards.db.connect() as conn:
        assert first["id"] not in search_ids(cards, conn, "beta two")
    assert_search_current(cards, "beta two")
    records.restore("card", first["id"], SYSTEM_ACTOR)
    with cards.db.connect() as conn:
        assert first["id"] in search_ids(cards, conn, "beta two")
    records.delete("card", first["id"], SYSTEM_ACTOR)
    records.purge("card", first["id"], SYSTEM_ACTOR)
    assert_search_current(cards, "beta two", "fox")


def test_hidden_characteristics_are_not_searched_and_the_index_still_serves(cards, monkeypatch) -> None:
    monkeypatch.setattr(search, "FEW_CANDIDATES", 1)
    cards.records.create_many("card", [{"title": "visible needle"}, {"title": "x", "body": "hidden needle"}],
                              SYSTEM_ACTOR)
    hidden = frozenset({"body"})
    with cards.db.connect() as conn:
        found = search_ids(cards, conn, "needle", hidden=hidden)
        assert found == scan_ids(cards, conn, "needle", columns=("title", "email")) and len(found) == 1
        if cards.db.dialect.name == "sqlite":
            assert " IN (" in compiled(cards, resolved(cards, conn, "needle", hidden=hidden))


def test_an_entity_without_searchable_characteristics_is_searched_by_reading(evo) -> None:
    engine = evo.migrate({"memo": {"subject": {"type": "string"}, "body": {"type": "text"}}})
    engine.records.create_many("memo", [{"subject": "first memo"}, {"subject": "second"}], SYSTEM_ACTOR)
    entity, table = engine.model.entity("memo"), engine.tables.of("memo")
    with engine.db.connect() as conn:
        conditions = build_conditions(table, entity, entity.view("list"), ListRequest(search="memo", tab="all"), None)
        assert use_search_index(conn, table, conditions) == conditions
        assert len(conn.execute(sa.select(table.c.id).where(*conditions)).all()) == 1
        if engine.db.dialect.name == "sqlite":
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = ?",
                                        (fts_table_name("ent_memo"),)).scalar_one() == 0


def test_the_list_answers_a_search_through_the_service(awkward) -> None:
    engine, values = awkward
    text = values[7][:4].strip() or "a"
    result = engine.records.list("card", engine.records.list_request("card", {"q": [text], "tab": ["all"],
                                                                                "size": ["200"]}))
    with engine.db.connect() as conn:
        assert {row["id"] for row in result.rows} == scan_ids(engine, conn, text.strip())


def test_postgresql_without_the_extension_warns_once_and_still_searches(evo, monkeypatch, caplog) -> None:
    """The extension refused (simulated: an extension the server does not have): the migration
    goes through, says so in the log, and the search reads every record."""
    import engine.schema.search_steps as search_steps
    import engine.storage.search_index as search_index

    if evo.url.startswith("sqlite"):
        engine = evo.migrate({"card": CARD})  # SQLite has no extension to refuse: FTS5 is built in
        assert fts_table_name("ent_card") in sa.inspect(engine.db).get_table_names()
        return
    monkeypatch.setattr(search_index, "TRIGRAM_EXTENSION", "pg_trgm_not_on_this_server")
    monkeypatch.setattr(search_index, "_unindexed_logged", False)
    monkeypatch.setattr(search_steps, "trigram_installable", lambda conn: True)
    with caplog.at_level(logging.WARNING, logger="engine.storage.search_index"):
        engine = evo.migrate({"card": CARD})
        engine.records.create_many("card", [{"title": "refused but found"}, {"title": "other"}], SYSTEM_ACTOR)
        later = evo.migrate({"card": {**CARD, "code": {"type": "string", "max_length": 30, "searchable": True}}})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "pg_trgm_not_on_this_server" in warnings[0].getMessage()
    with later.db.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes("ent_card")}
        assert not any("__search_" in name for name in names)
    result = later.records.list("card", later.records.list_request("card", {"q": ["but fou"], "tab": ["all"]}))
    assert [row["title"] for row in result.rows] == ["refused but found"]
    monkeypatch.setattr(search_steps, "trigram_installable", lambda conn: False)
    assert later.pending_migrations() == []


def test_a_database_not_migrated_yet_is_searched_by_reading(cards) -> None:
    """An index of other columns than the definitions say (the tables are behind the
    definitions): never asked, since it could miss a match."""
    from engine.storage.search_index import SearchIndex, create_fts, drop_fts

    cards.records.create_many("card", [{"title": "x", "body": "in the body"}], SYSTEM_ACTOR)
    with cards.db.begin() as conn:
        if cards.db.dialect.name == "sqlite":
            drop_fts(conn, "ent_card")
            create_fts(conn, SearchIndex("ent_card", ("title",)), fill=True)
    with cards.db.connect() as conn:
        assert search_ids(cards, conn, "the bod") == scan_ids(cards, conn, "the bod") != set()
        if cards.db.dialect.name == "sqlite":
            assert " IN (" not in compiled(cards, resolved(cards, conn, "the bod"))


@pytest.mark.parametrize("text, trigrams", [
    ("abc", ["abc"]), ("abcd", ["abc", "bcd"]), ("abcdef", ["abc", "def"]), ("abcdefg", ["abc", "def", "efg"]),
    ('a"b"', ['a"b', '"b"']), ("ééé", ["ééé"]),
])
def test_the_index_is_asked_for_trigrams_covering_every_character(text, trigrams) -> None:
    assert search.covering_trigrams(text) == trigrams
    assert search.fts_query(text) == " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams)


@pytest.mark.parametrize("reader", ["list", "mass_update", "export"])
def test_lists_mass_updates_and_exports_read_the_index(cards, monkeypatch, reader) -> None:
    """Every reader of a list's selection gives its quick search the index: the same records as
    reading every one, through the FTS table on SQLite (a few candidates: ids in the query)."""
    from engine.exchange.exporter import Export

    monkeypatch.setattr(search, "FEW_CANDIDATES", 5)
    cards.records.create_many("card", [{"title": f"needle {i}", "code": "n"} for i in range(3)]
                              + [{"title": f"hay {i}", "code": "h"} for i in range(12)], SYSTEM_ACTOR)
    request = cards.records.list_request("card", {"q": ["needle"], "tab": ["all"]})
    fts = fts_table_name("ent_card")
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    sa.event.listen(cards.db, "before_cursor_execute", record)
    try:
        if reader == "list":
            found = {row["id"] for row in cards.records.list("card", request).rows}
        elif reader == "mass_update":
            cards.records.mass_update("card", request, {"code": "x"}, SYSTEM_ACTOR)
            with cards.db.connect() as conn:
                table = cards.tables.of("card")
                found = set(conn.scalars(sa.select(table.c.id).where(table.c.code == "x")))
        else:
            found = {r["id"] for chunk in Export(cards, "card", request, SYSTEM_ACTOR).records() for r in chunk}
    finally:
        sa.event.remove(cards.db, "before_cursor_execute", record)
    with cards.db.connect() as conn:
        assert found == scan_ids(cards, conn, "needle") and len(found) == 3
    if cards.db.dialect.name == "sqlite":
        assert any(fts in statement and "MATCH" in statement for statement in seen), seen
