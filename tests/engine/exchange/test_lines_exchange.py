"""Lines in files of their own: export writes one row per line keyed by its parent, import gives
each parent named exactly the file's lines (all or nothing per parent), set-based and chunked."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Actor, PermissionDenied
from engine.exchange.importer import ImportOptions
from engine.exchange.import_messages import ImportOptionError
from engine.exchange.lines_export import LinesExport, LinesExportError
from engine.exchange.lines_import import import_lines, submit_import_lines
from relations_exchange_world import contacts, eng, exchange_model, write  # noqa: F401 (fixtures)

HEADER = "Quote,Product,Price,Delivery,Quantity\n"


@pytest.fixture
def quotes(eng, contacts) -> list[int]:
    """Three quotes (no natural key: named `#id` in files), the first with two items."""
    reviewer = [contacts["ann@x.org"]]
    with eng.records.transaction(SYSTEM_ACTOR) as tx:
        return tx.create_many("quote", [
            {"name": "A", "reviewers": reviewer, "items": [{"product": "Old", "price": "1"}, {"product": "Older"}]},
            {"name": "B", "reviewers": reviewer},
            {"name": "C", "reviewers": reviewer},
        ])


def items(eng, quote_id: int) -> list[tuple]:
    return [(i["product"], i["price"], i["quantity"]) for i in eng.records.get("quote", quote_id)["items"]]


def test_each_parent_named_gets_exactly_the_files_lines(eng, quotes, write):
    a, b, c = quotes
    path = write(HEADER + f"#{a},Pen,\"2,50\",,3\n#{a},Ink,1.10,,\n#{b},Pad,4,2027-01-31,1\n")
    report = import_lines(eng, "quote", "items", path)
    assert (report.rows, report.updated, report.refused, report.error_count) == (3, 2, 0, 0), report.errors
    assert items(eng, a) == [("Pen", Decimal("2.50"), 3), ("Ink", Decimal("1.10"), 1)]  # quantity's default
    assert items(eng, b) == [("Pad", Decimal("4.00"), 1)]
    assert items(eng, c) == []  # not named: unchanged


def test_a_parent_is_all_or_nothing(eng, quotes, write):
    a, b, _ = quotes
    path = write(HEADER + f"#{a},Pen,2,,3\n#{a},,1,,0\n#{b},Pad,4,,1\n")
    report = import_lines(eng, "quote", "items", path, actor=Actor(system=True, lang="fr"))
    assert (report.updated, report.refused) == (1, 1)
    where = {(e.row, e.field) for e in report.errors}
    assert where == {(3, "Product"), (3, "Quantity")}, report.errors
    assert items(eng, a) == [("Old", Decimal("1.00"), 1), ("Older", None, 1)]  # kept its lines
    assert items(eng, b) == [("Pad", Decimal("4.00"), 1)]


def test_max_lines_is_accepted_and_one_past_refused(eng, quotes, write):
    a, b, _ = quotes
    rows = "".join(f"#{a},P{i},1,,1\n" for i in range(3)) + "".join(f"#{b},P{i},1,,1\n" for i in range(4))
    report = import_lines(eng, "quote", "items", write(HEADER + rows))
    assert (report.updated, report.refused) == (1, 1)
    (error,) = report.errors
    assert (error.row, error.field) == (5, "items") and "At most 3" in error.message and "4" in error.message
    assert len(items(eng, a)) == 3 and items(eng, b) == []


def test_an_unknown_parent_is_an_error_and_nothing_is_written_for_it(eng, quotes, write):
    report = import_lines(eng, "quote", "items", write(HEADER + "#999999,Pen,1,,1\n,Pen,1,,1\n"))
    assert report.refused == 2
    assert [(e.row, e.field) for e in report.errors] == [(2, "Quote"), (3, "Quote")]
    assert "999999" in report.errors[0].message


def test_a_parents_rows_must_follow_each_other(eng, quotes, write):
    a, b, _ = quotes
    report = import_lines(eng, "quote", "items", write(HEADER + f"#{a},Pen,1,,1\n#{b},Pad,1,,1\n#{a},Ink,1,,1\n"))
    assert (report.updated, report.refused) == (2, 1)
    assert (report.errors[0].row, report.errors[0].field) == (4, "Quote")
    assert items(eng, a) == [("Pen", Decimal("1.00"), 1)]


def test_parents_are_never_split_between_chunks(eng, quotes, write):
    a, b, c = quotes
    rows = f"#{a},P1,1,,1\n#{a},P2,1,,1\n#{a},P3,1,,1\n#{b},P4,1,,1\n#{c},P5,1,,1\n"
    report = import_lines(eng, "quote", "items", write(HEADER + rows), ImportOptions(chunk_size=2))
    assert (report.updated, report.error_count) == (3, 0)
    assert [p for p, _, _ in items(eng, a)] == ["P1", "P2", "P3"]


def test_a_dry_run_writes_nothing(eng, quotes, write):
    a, *_ = quotes
    report = import_lines(eng, "quote", "items", write(HEADER + f"#{a},Pen,1,,1\n"), ImportOptions(dry_run=True))
    assert (report.updated, report.error_count) == (1, 0)
    assert [p for p, _, _ in items(eng, a)] == ["Old", "Older"]


def test_the_parents_audit_records_the_lines(eng, quotes, write):
    a, *_ = quotes
    import_lines(eng, "quote", "items", write(HEADER + f"#{a},Pen,1,,1\n"))
    audit = eng.tables.audit
    with eng.db.connect() as conn:
        rows = conn.execute(sa.select(audit.c.action, audit.c.changes).where(
            audit.c.entity == "quote", audit.c.record_id == a).order_by(audit.c.id)).all()
    assert [r.action for r in rows] == ["create", "update"]
    assert "items" in str(rows[-1].changes)


def test_options_a_lines_file_cannot_use_are_refused(eng, quotes, tmp_path):
    with pytest.raises(ImportOptionError) as refused:
        submit_import_lines(eng, "quote", "items", tmp_path / "x.csv", ImportOptions(upsert=True), SYSTEM_ACTOR)
    assert refused.value.parameter == "upsert"
    with pytest.raises(ImportOptionError) as refused:
        submit_import_lines(eng, "quote", "name", tmp_path / "x.csv", ImportOptions(), SYSTEM_ACTOR)
    assert refused.value.parameter == "lines" and "items" in refused.value.message("en")


def test_export_writes_lines_keyed_by_parent_and_imports_back(eng, quotes, tmp_path):
    a, b, _ = quotes
    export = LinesExport(eng, "quote", "items", None, SYSTEM_ACTOR)
    out = io.BytesIO()
    assert export.write(out) == 2
    text = out.getvalue().decode("utf-8-sig")
    assert text.splitlines() == ["Quote,Product,Price,Delivery,Quantity", f"#{a},Old,1.00,,1", f"#{a},Older,,,1"]
    path = tmp_path / export.filename
    path.write_bytes(out.getvalue())
    eng.records.update("quote", a, {"items": []}, SYSTEM_ACTOR)
    report = import_lines(eng, "quote", "items", path)
    assert (report.updated, report.error_count) == (1, 0), report.errors
    assert items(eng, a) == [("Old", Decimal("1.00"), 1), ("Older", None, 1)]


def test_meals_round_trip_with_their_links_and_a_line_order(eng, contacts, tmp_path):
    create = lambda entity, values: eng.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    region = create("region", {"name": "North"})
    site = create("site", {"name": "Lyon", "region": region})
    rooms = [create("room", {"name": n, "site": site, "access_mode": "free", "capacity": 9}) for n in ("Blue", "Red")]
    booking = create("booking", {"subject": "Talk", "room": rooms[0],
                                 "meals": [{"dish": "Tea", "served_in": rooms[1]}, {"dish": "Soup", "quantity": 2}]})
    export = LinesExport(eng, "booking", "meals", None, SYSTEM_ACTOR, lang="fr")
    out = io.BytesIO()
    export.write(out)
    before = [(m["dish"], m["quantity"], m["served_in"]) for m in eng.records.get("booking", booking)["meals"]]
    path = tmp_path / "meals.csv"
    path.write_bytes(out.getvalue())
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Réservation,Plat,Quantité,Régime,Servi en"
    # a room has no natural key: an export names it by its title, which an import cannot read
    path.write_text(text.replace("Blue (Lyon)", f"#{rooms[0]}").replace("Red (Lyon)", f"#{rooms[1]}"),
                    encoding="utf-8")
    report = import_lines(eng, "booking", "meals", path)
    assert report.error_count == 0, report.errors
    assert [(m["dish"], m["quantity"], m["served_in"]) for m in eng.records.get("booking", booking)["meals"]] == before


def test_an_export_of_hidden_or_unknown_lines_is_refused(eng, quotes):
    with pytest.raises(LinesExportError):
        LinesExport(eng, "quote", "reviewers", None, SYSTEM_ACTOR)
    with pytest.raises(PermissionDenied):
        LinesExport(eng, "quote", "items", None, Actor(user_id=1, roles=frozenset({"quoter"})))


def test_a_lines_column_in_a_records_file_is_refused_naming_the_lines_import(eng, contacts, write):
    from engine.exchange.importer import import_file

    report = import_file(eng, "quote", write("Name,Reviewers,Items\nQ,ann@x.org,x\n"), ImportOptions())
    (error,) = report.file_errors
    assert error.field == "Items" and "--lines items" in error.message


def test_a_crash_keeps_whole_chunks_and_resuming_finishes_the_file(eng, quotes, write):
    from test_import import Crash, FakeJob

    a, b, c = quotes
    path = write(HEADER + f"#{a},P1,1,,1\n#{a},P2,1,,1\n#{b},P3,1,,1\n#{c},P4,1,,1\n")
    crashing = FakeJob(crash_at_chunk=2)
    with pytest.raises(Crash):
        import_lines(eng, "quote", "items", path, ImportOptions(chunk_size=2), ctx=crashing)
    assert crashing.checkpoint == {"row": 3, "done": 2}
    assert (items(eng, a), items(eng, b)) == ([("P1", Decimal("1.00"), 1), ("P2", Decimal("1.00"), 1)], [])
    resumed = FakeJob(checkpoint=crashing.checkpoint)
    report = import_lines(eng, "quote", "items", path, ImportOptions(chunk_size=2), ctx=resumed)
    assert (report.updated, resumed.done, resumed.total) == (2, 4, 4)
    assert [p for p, _, _ in items(eng, b)] == ["P3"] and [p for p, _, _ in items(eng, c)] == ["P4"]


def test_the_statements_of_a_chunk_do_not_grow_with_its_records(eng, contacts, write):
    reviewer = [contacts["ann@x.org"]]
    with eng.records.transaction(SYSTEM_ACTOR) as tx:
        ids = tx.create_many("quote", [{"name": f"Q{i}", "reviewers": reviewer} for i in range(40)])
    statements: list[str] = []
    sa.event.listen(eng.db, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))

    def sent(parents: list[int]) -> int:
        statements.clear()
        rows = "".join(f"#{p},P{i},1,,1\n" for p in parents for i in range(3))
        report = import_lines(eng, "quote", "items", write(HEADER + rows), ImportOptions(chunk_size=1000))
        assert report.updated == len(parents) and not report.error_count, report.errors
        return len(statements)

    assert sent(ids[:2]) == sent(ids[2:40])


def test_a_first_column_without_header_is_refused_before_any_row(eng, quotes, write):
    a, *_ = quotes
    report = import_lines(eng, "quote", "items", write(f",Product\n#{a},Pen\n"))
    (error,) = report.file_errors
    assert error.row == 1 and "first column" in error.message
    assert [p for p, _, _ in items(eng, a)] == ["Old", "Older"]


def test_one_record_under_two_spellings_is_refused_the_second_time(eng, quotes, write):
    a, *_ = quotes
    report = import_lines(eng, "quote", "items", write(HEADER + f"#{a},Pen,1,,1\n{a},Ink,1,,1\n"))
    assert (report.updated, report.refused) == (1, 1)
    assert (report.errors[0].row, report.errors[0].field) == (3, "Quote")
    assert [p for p, _, _ in items(eng, a)] == ["Pen"]
