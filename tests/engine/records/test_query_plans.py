"""The plan of a list page: chosen from the total, imposed on SQLite, checked with EXPLAIN;
the indexes of what list views filter by; the statistics kept after bulk writes; the cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Engine
from engine.records.list_cursor import encode_cursor
from engine.records.queries import ListRequest, QueryError, build_conditions
from engine.records.query_plan import WALK_FACTOR, choose_walk, group_statement, page_statement, plan_page, read_list
from engine.records.statistics import SIZEABLE, refresh_statistics, worth_refreshing
from engine.storage.keyset import sort_keys
from engine.storage.tables import LIST_INDEXED_TYPES, build_tables
from metamodel.field_paths import is_path

LEADS = 12_000
SECTORS = ("agriculture", "banking", "construction", "education", "energy", "healthcare", "hospitality",
           "industry", "it", "media", "public_sector", "retail", "services", "telecom", "transport")
RARE = 3


@pytest.fixture(scope="module")
def base_model() -> metamodel.model.Model:
    return metamodel.load_model([metamodel.BASE_PACK])


@pytest.fixture(scope="module")
def leads(scratch_databases, base_model, tmp_path_factory):
    """LEADS leads of the base pack, spread over every sector, RARE of them `hot`, with statistics."""
    with scratch_databases(tmp_path_factory.mktemp("plans")) as url:
        engine = Engine(base_model, url)
        engine.migrate()
        lead = engine.tables.of("lead")
        start = dt.datetime(2025, 1, 1)
        rows = [{"created_at": start + dt.timedelta(minutes=i), "updated_at": start, "version": 1,
                 "last_name": f"L{i}", "sector": SECTORS[(i // 3) % len(SECTORS)],
                 "status": ("new", "qualification_call", "converted")[i % 3],
                 "category": "hot" if i % (LEADS // RARE) == 1 else None} for i in range(LEADS)]
        with engine.db.begin() as conn:
            conn.execute(lead.insert(), rows)
            refresh_statistics(conn, lead)
        yield engine
        engine.dispose()


def _page(engine: Engine, args: dict[str, list[str]]) -> tuple[ListRequest, list[sa.ColumnElement[bool]]]:
    request = engine.records.list_request("lead", args)
    entity = engine.model.entity("lead")
    return request, build_conditions(engine.tables.of("lead"), entity, entity.view(request.view), request,
                                     engine.model.workflow("lead"))


def _size(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one()


def _explain(conn: sa.Connection, statement: sa.Select) -> str:
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(prefix + sql))


# -- the choice -------------------------------------------------------------------------------


def _crossover(window: int, population: int) -> int:
    """The least total for which walking reads no more than WALK_FACTOR rows per match."""
    return next(t for t in range(1, population + 1) if min(population, window * population / t) <= WALK_FACTOR * t)


@pytest.mark.parametrize("window, population", [(1, 100), (50, 1_000_000), (50, 12_000), (10_050, 1_000_000),
                                                (200, 150)])
def test_the_walk_starts_exactly_at_the_crossover(window, population):
    at = _crossover(window, population)
    assert choose_walk(at, window, population, sort_indexed=True).walk
    assert not choose_walk(at - 1, window, population, sort_indexed=True).walk or at == 1
    assert choose_walk(population, window, population, sort_indexed=True).walk
    assert not choose_walk(0, window, population, sort_indexed=True).walk
    assert not choose_walk(population, window, population, sort_indexed=False).walk


# -- the plans, seen by the database ----------------------------------------------------------


def test_a_rare_value_is_read_through_its_index_not_by_walking_the_sort(leads):
    request, conditions = _page(leads, {"f_category": ["hot"]})
    lead = leads.tables.of("lead")
    with leads.db.connect() as conn:
        result = read_list(conn, lead, request, conditions)
        assert result.total == len([i for i in range(LEADS) if i % (LEADS // RARE) == 1 and i % 3 != 2])
        plan = plan_page(lead, sort_keys(lead, request.sort), result.total, request.page_size, _size(conn, lead))
        assert not plan.walk
        explained = _explain(conn, page_statement(conn.dialect.name, lead, request, conditions, walk=plan.walk))
    assert "ix_ent_lead_created_at" not in explained, explained
    if leads.db.dialect.name == "sqlite":
        assert "USING INDEX ix_ent_lead__list_category" in explained, explained
    else:  # its own choice, made with the value: one of the category's indexes
        assert "ix_ent_lead__list_category" in explained or "ix_ent_lead_category" in explained, explained


def test_a_common_value_walks_the_sort_index_on_sqlite(leads):
    request, conditions = _page(leads, {"f_sector": ["it"]})
    lead = leads.tables.of("lead")
    with leads.db.connect() as conn:
        result = read_list(conn, lead, request, conditions)
        plan = plan_page(lead, sort_keys(lead, request.sort), result.total, request.page_size, _size(conn, lead))
        assert plan.walk, plan
        explained = _explain(conn, page_statement(conn.dialect.name, lead, request, conditions, walk=True))
        sorted_matches = _explain(conn, page_statement(conn.dialect.name, lead, request, conditions, walk=False))
    if leads.db.dialect.name == "sqlite":
        assert "USING INDEX ix_ent_lead_created_at" in explained and "TEMP B-TREE" not in explained, explained
        assert "ix_ent_lead__list_sector" in sorted_matches and "TEMP B-TREE" in sorted_matches, sorted_matches
    else:  # PostgreSQL chooses with the value: the sector's index or the sort's, never a whole-table sort
        assert "ix_ent_lead_created_at" in explained or "ix_ent_lead__list_sector" in explained, explained


def test_a_keyset_page_enters_the_sort_index_at_the_cursor(leads):
    request, conditions = _page(leads, {})
    lead = leads.tables.of("lead")
    with leads.db.connect() as conn:
        first = read_list(conn, lead, request, conditions)
        deep, deep_conditions = _page(leads, {"after": [first.next_after]})
        explained = _explain(conn, page_statement(conn.dialect.name, lead, deep, deep_conditions, walk=True))
    if leads.db.dialect.name == "sqlite":
        assert "SEARCH ent_lead USING INDEX ix_ent_lead_created_at (created_at<?)" in explained, explained
    else:
        assert "Index Cond: (created_at <=" in explained, explained


def test_groups_of_a_few_matches_read_them_through_the_filter_index(leads):
    request, conditions = _page(leads, {"f_category": ["hot"], "group": ["sector"]})
    lead = leads.tables.of("lead")
    with leads.db.connect() as conn:
        few = _explain(conn, group_statement(conn.dialect.name, lead, "sector", conditions, few=True))
        result = read_list(conn, lead, request, conditions)
    assert sum(group.count for group in result.groups) == result.total and len(result.groups) == result.total
    if leads.db.dialect.name == "sqlite":
        assert "ix_ent_lead__list_category" in few and "ix_ent_lead_sector" not in few, few


def _statements(engine: Engine, args: dict[str, list[str]]) -> list[str]:
    request, conditions = _page(engine, args)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement.split()[0] + " " + statement.split()[1])

    with engine.db.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", count)
        read_list(conn, engine.tables.of("lead"), request, conditions)
    return seen


def test_queries_per_page(leads):
    """The total (with, on SQLite, the table's size the plan is chosen on), the page, the groups: no more."""
    assert len(_statements(leads, {"f_lost_reason": ["no_budget"]})) == 1  # the total says there is no page
    assert len(_statements(leads, {"f_category": ["hot"]})) == 2
    assert len(_statements(leads, {"f_category": ["hot"], "group": ["sector"]})) == 3
    assert len(_statements(leads, {"f_lost_reason": ["no_budget"], "group": ["sector"]})) == 2
    assert len(_statements(leads, {"sort": ["first_name"], "group": ["status"]})) == 3
    assert len(_statements(leads, {"page": [str(LEADS)]})) == 1  # past the last page


# -- the indexes --------------------------------------------------------------------------------


def test_every_filter_a_list_view_declares_is_indexed(base_model):
    tables = build_tables(base_model)
    for entity in base_model.entities.values():
        names = {index.name: index for index in tables.of(entity.name).indexes}
        declared = {name for view in entity.views if view.kind == "list" for name in (*view.filters, *view.where)}
        if entity.workflow:
            declared.add("status")
        for name in declared:
            if is_path(name):  # each link followed leads an index of its table, so does the field reached
                path = base_model.path(entity.name, name)
                for table, column in zip(path.entities, (*(step.name for step in path.steps), path.field.name)):
                    indexed = [next(iter(i.columns)).name for i in tables.of(table).indexes]
                    assert column in indexed, (entity.name, name, table, column)
                continue
            if entity.field(name).type in LIST_INDEXED_TYPES:
                index = names[f"ix_ent_{entity.name}__list_{name}"]
                expected = [name, "status"] if entity.workflow and name != "status" else [name]
                assert [c.name for c in index.columns] == expected
        for view in entity.views:
            if view.kind == "list" and view.sort:
                first = view.sort[0].lstrip("-")
                assert first == "id" or any(next(iter(i.columns)).name == first for i in names.values()), (entity, first)


@pytest.mark.parametrize("length", [62, 63, 64, 100])
def test_list_index_names_fit_postgresql_and_stay_distinct(length):
    from engine.storage.tables import MAX_IDENTIFIER, _index_name

    prefix = "ix_ent_" + "e" * 30 + "__list_"
    fields = ["f" * (length - len(prefix) - 1) + last for last in "ab"]
    names = [_index_name(prefix, field) for field in fields]
    assert all(len(name) <= MAX_IDENTIFIER for name in names) and names[0] != names[1]
    assert (names[0] == prefix + fields[0]) == (length <= MAX_IDENTIFIER)


def test_migrate_creates_missing_list_indexes_without_touching_data(make_engine, base_model):
    engine = make_engine(base_model)
    ids = engine.records.create_many("lead", [{"last_name": f"N{i}", "sector": "it", "email": f"n{i}@x.org"}
                                              for i in range(5)], SYSTEM_ACTOR)
    lead = engine.tables.of("lead")
    ours = sorted(index.name for index in lead.indexes if "__list_" in index.name)
    with engine.db.begin() as conn:
        before = [dict(row) for row in conn.execute(sa.select(lead).order_by(lead.c.id)).mappings()]
        for name in ours:
            conn.exec_driver_sql(f"DROP INDEX {name}")
    pending = engine.pending_migrations()
    assert sorted(line for line in pending if "__list_" in line) == sorted(
        f"create index {name} on ent_lead" for name in ours), pending
    assert len(pending) == len(ours)
    engine.migrate()
    with engine.db.connect() as conn:
        present = {index["name"] for index in sa.inspect(conn).get_indexes("ent_lead")}
        after = [dict(row) for row in conn.execute(sa.select(lead).order_by(lead.c.id)).mappings()]
    assert set(ours) <= present
    assert after == before and [row["id"] for row in after] == ids
    assert engine.pending_migrations() == []


# -- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 10, 999, 1_000_000])
def test_statistics_are_refreshed_from_a_sizeable_share(rows):
    least = next(n for n in range(1, rows + 1) if n >= SIZEABLE * rows)
    assert worth_refreshing(least, rows) and not worth_refreshing(least - 1, rows)
    assert not worth_refreshing(0, rows)


def _analyzed(engine: Engine, table: str) -> int:
    with engine.db.connect() as conn:
        if conn.dialect.name == "sqlite":
            return conn.execute(sa.text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = :t"), {"t": table}).scalar_one()
        return conn.execute(sa.text("SELECT coalesce(analyze_count, 0) FROM pg_stat_user_tables "
                                    "WHERE relname = :t AND schemaname = current_schema()"), {"t": table}).scalar_one()


def _forget_statistics(engine: Engine) -> None:
    if engine.db.dialect.name == "sqlite":
        with engine.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # makes sqlite_stat1 exist
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")


def test_a_mass_update_of_a_sizeable_share_refreshes_the_statistics_once(engine):
    ids = engine.records.create_many("sample", [{"name": f"S{i}", "qty": i} for i in range(40)], SYSTEM_ACTOR)
    _forget_statistics(engine)
    before = _analyzed(engine, "ent_sample")
    engine.records.mass_update("sample", ids[:3], {"qty": 7}, SYSTEM_ACTOR)  # 3 of 40: under a tenth
    assert _analyzed(engine, "ent_sample") == before
    engine.records.mass_update("sample", ids[:4], {"qty": 8}, SYSTEM_ACTOR)  # 4 of 40: a tenth
    assert _analyzed(engine, "ent_sample") > before


def test_a_mass_update_job_refreshes_the_statistics_once_it_is_done(engine):
    from engine.jobs.mass_update_job import submit_mass_update

    ids = engine.records.create_many("sample", [{"name": f"J{i}", "qty": i} for i in range(40)], SYSTEM_ACTOR)
    _forget_statistics(engine)
    before = _analyzed(engine, "ent_sample")
    job = engine.jobs.wait(submit_mass_update(engine, "sample", ids[:3], {"qty": 7}, SYSTEM_ACTOR), timeout=30)
    assert job["state"] == "done" and _analyzed(engine, "ent_sample") == before  # 3 of 40: under a tenth
    job = engine.jobs.wait(submit_mass_update(engine, "sample", ids[:4], {"qty": 8}, SYSTEM_ACTOR), timeout=30)
    assert job["state"] == "done" and _analyzed(engine, "ent_sample") > before  # 4 of 40: a tenth


def test_an_import_refreshes_the_statistics_of_the_table_it_filled(engine, tmp_path):
    from engine.exchange.importer import ImportOptions, import_file

    path = tmp_path / "samples.csv"
    path.write_text("name,qty\n" + "".join(f"N{i},{i}\n" for i in range(30)), encoding="utf-8")
    _forget_statistics(engine)
    before = _analyzed(engine, "ent_sample")
    report = import_file(engine, "sample", path, ImportOptions(dry_run=True), SYSTEM_ACTOR)
    assert report.created == 30 and _analyzed(engine, "ent_sample") == before  # a dry run writes nothing
    report = import_file(engine, "sample", path, ImportOptions(), SYSTEM_ACTOR)
    assert report.created == 30 and _analyzed(engine, "ent_sample") > before


# -- the cursor ---------------------------------------------------------------------------------


def test_the_cursor_round_trips_with_typed_values(engine):
    stamp = dt.datetime(2025, 2, 3, 4, 5, 6, 789)
    request = engine.records.list_request("sample", {"sort": ["-created_at"], "after": [
        encode_cursor(("-created_at",), [stamp, 12])]})
    assert request.after == (stamp, 12)
    assert engine.records.list_request("sample", request.to_args()) == request


@pytest.mark.parametrize("cursor", [
    "not base64 !", encode_cursor(("name",), ["x", 1]), encode_cursor(("-created_at",), ["yesterday", 1]),
    encode_cursor(("-created_at",), ["2025-01-01T00:00:00"]), encode_cursor(("-created_at",), ["2025-01-01", 2**70]),
    encode_cursor(("-created_at",), ["2025-01-01", True]), "",
])
def test_a_cursor_for_another_sort_or_damaged_is_refused_by_name(engine, cursor):
    args = {"sort": ["-created_at"], "after": [cursor]}
    if not cursor:
        assert engine.records.list_request("sample", args).after is None
        return
    with pytest.raises(QueryError) as caught:
        engine.records.list_request("sample", args)
    assert caught.value.parameter == "after"
    english, french = caught.value.message("en"), caught.value.message("fr")
    assert english != french and "page 1" in english and "page 1" in french
    assert "Error" not in english and "Traceback" not in english
