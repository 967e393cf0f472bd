"""Importing CSV files into any entity: mapping, conversion, links, upsert, dry run, errors, resume."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor, PermissionDenied
from engine.exchange.importer import ImportOptions, ImportReport, import_file
from plugins.host.hookspecs import hookimpl

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
PACK = FIXTURES / "pack"
SYSTEM_FR = Actor(system=True, lang="fr")


@pytest.fixture(scope="module")
def import_model() -> metamodel.model.Model:
    return metamodel.load_model([PACK])


@pytest.fixture
def engine(make_engine, import_model, clock):
    engine = make_engine(import_model, clock=clock)
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        tx.create_many("company", [{"name": "Acme"}, {"name": "Café Dupré"}, {"name": "Twin"}, {"name": "Twin"}])
        tx.create_many("user", [{"username": "ann"}, {"username": "bob"}])
    return engine


@pytest.fixture
def write(tmp_path):
    def write(text: str, *, encoding: str = "utf-8", name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path
    return write


def run(engine, path: Path, actor: Actor = SYSTEM_ACTOR, ctx: Any = None, **options: Any) -> ImportReport:
    return import_file(engine, "person", path, ImportOptions(**options), actor, ctx)


def people(engine) -> list[dict[str, Any]]:
    table = engine.tables.of("person")
    with engine.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def audit_rows(engine, action: str | None = None) -> int:
    audit = engine.tables.audit
    query = sa.select(sa.func.count()).select_from(audit).where(audit.c.entity == "person")
    if action:
        query = query.where(audit.c.action == action)
    with engine.db.connect() as conn:
        return conn.execute(query).scalar_one()


def company_id(engine, name: str) -> int:
    table = engine.tables.of("company")
    with engine.db.connect() as conn:
        return conn.execute(sa.select(table.c.id).where(table.c.name == name).order_by(table.c.id)).scalars().first()


def errors_of(report: ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.field, e.message) for e in report.errors]


# -- encodings and separators ------------------------------------------------------------------


@pytest.mark.parametrize("sample", ["people_cp1252.csv", "people_bom.csv"])
def test_spreadsheet_exports_in_either_encoding_and_separator_import_alike(engine, sample):
    report = run(engine, FIXTURES / sample)
    assert (report.created, report.refused, report.errors, report.file_errors) == (2, 0, [], [])
    helene, zoe = people(engine)
    assert (helene["name"], helene["email"], helene["level"], helene["tags"]) == ("Hélène", "helene@example.org", "high", ["low", "mid"])
    assert (helene["active"], helene["born"], helene["amount"]) == (True, dt.date(1975, 4, 3), Decimal("1234.50"))
    assert (zoe["name"], zoe["level"], zoe["tags"], zoe["active"]) == ("Zoé", "mid", ["high"], False)
    assert (zoe["born"], zoe["amount"]) == (dt.date(1980, 12, 31), Decimal("12.50"))
    assert helene["company"] == zoe["company"] == company_id(engine, "Café Dupré")


@pytest.mark.parametrize("encoding,prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_an_accented_name_reads_right_in_utf8_with_or_without_bom_and_in_windows_1252(engine, tmp_path, encoding, prefix):
    path = tmp_path / "one.csv"
    path.write_bytes(prefix + "Full name;Email\nRené Éloi;rene@example.org\n".encode(encoding))
    assert run(engine, path).created == 1
    assert people(engine)[0]["name"] == "René Éloi"


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_the_separator_is_found_from_the_header(engine, write, separator):
    path = write(separator.join(["name", "email", "qty"]) + "\n" + separator.join(["Ann", "ann@example.org", "3"]) + "\n")
    assert run(engine, path).created == 1
    assert (people(engine)[0]["email"], people(engine)[0]["qty"]) == ("ann@example.org", 3)


def test_a_given_separator_and_encoding_win_over_detection(engine, write):
    path = write("name|qty\nAnn, Jr|4\n", encoding="latin-1")
    assert run(engine, path, delimiter="|", encoding="latin-1").created == 1
    assert people(engine)[0]["name"] == "Ann, Jr"


# -- columns -----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["name", "NAME", " Full name ", "full_name", "Nom complet", "nom COMPLET", "Nom-complet"])
def test_a_column_maps_by_code_or_label_in_either_language_whatever_the_case(engine, write, header):
    assert run(engine, write(f"{header};Courriel\nAnn;ann@example.org\n")).created == 1
    assert people(engine)[0]["name"] == "Ann"


def test_accents_do_not_matter_in_headers(engine, write):
    assert run(engine, write("Nom complet;Etiquettes;Quantite\nAnn;bas;5\n")).created == 1
    assert (people(engine)[0]["tags"], people(engine)[0]["qty"]) == (["low"], 5)


def test_an_unknown_column_stops_the_import_naming_it_and_listing_the_characteristics(engine, write):
    report = run(engine, write("name;Shoe size;Colour\nAnn;42;red\n"))
    assert report.created == 0 and people(engine) == []
    assert [(e.row, e.field) for e in report.file_errors] == [(1, "Shoe size"), (1, "Colour")]
    message = report.file_errors[0].message
    assert "Unknown column 'Shoe size'" in message and "name, email, code, level" in message


def test_an_explicit_mapping_skips_or_redirects_columns(engine, write):
    path = write("Who;Shoe size;Mail\nAnn;42;ann@example.org\n")
    report = run(engine, path, mapping={"Who": "name", "shoe size": "", "Mail": "email"})
    assert (report.created, report.file_errors) == (1, [])
    assert (people(engine)[0]["name"], people(engine)[0]["email"]) == ("Ann", "ann@example.org")


def test_a_mapping_to_an_unknown_field_or_a_missing_column_is_refused(engine, write):
    report = run(engine, write("name\nAnn\n"), mapping={"name": "nome", "Absent": "email"})
    messages = [e.message for e in report.file_errors]
    assert any("'nome', which is not a characteristic of person" in m for m in messages)
    assert any("names the column 'Absent', which the file does not have" in m for m in messages)
    assert people(engine) == []


def test_two_columns_for_one_characteristic_are_refused(engine, write):
    report = run(engine, write("name;Full name\nAnn;Annie\n"))
    assert report.file_errors and "all map to 'name'" in report.file_errors[0].message


def test_file_errors_are_in_the_actors_language(engine, write):
    report = run(engine, write("name;Pointure\nAnn;42\n"), actor=SYSTEM_FR)
    assert report.file_errors[0].message.startswith("Colonne inconnue « Pointure »")


# -- values ------------------------------------------------------------------------------------


def test_value_lists_match_code_or_label_in_either_language(engine, write):
    path = write("name;level;tags\nA;high;low|mid\nB;Middle;Moyen, ÉLEVÉ\nC;élevé;High\nD;Bas;\n")
    report = run(engine, path)
    assert (report.created, report.errors) == (4, [])
    assert [(p["level"], p["tags"]) for p in people(engine)] == [
        ("high", ["low", "mid"]), ("mid", ["mid", "high"]), ("high", ["high"]), ("low", None),
    ]


def test_a_value_outside_the_list_or_retired_is_refused_by_row(engine, write):
    report = run(engine, write("name;level;tags\nA;huge;\nB;legacy;\nC;;low|nope\n"))
    assert report.created == 0
    assert errors_of(report) == [
        (2, "level", "'huge' is not a value of this list."),
        (3, "level", "'legacy' is retired and can no longer be chosen."),
        (4, "tags", "'nope' is not a value of this list."),
    ]


@pytest.mark.parametrize("cell,expected", [
    ("oui", True), ("Non", False), ("x", True), ("X", True), ("yes", True), ("no", False),
    ("true", True), ("FALSE", False), ("1", True), ("0", False), ("vrai", True), ("faux", False),
])
def test_booleans_in_the_words_spreadsheets_use(engine, write, cell, expected):
    assert run(engine, write(f"name;active\nA;{cell}\n")).created == 1
    assert people(engine)[0]["active"] is expected


def test_an_empty_cell_leaves_the_default(engine, write):
    assert run(engine, write("name;active;level\nA;;\n")).created == 1
    assert (people(engine)[0]["active"], people(engine)[0]["level"]) == (False, "low")


def test_dates_iso_or_day_first_and_decimals_with_comma_or_dot(engine, write):
    path = write('name;born;met_at;amount\nA;2001-02-03;04/05/2024 14:30;"1 234,56"\n'
                 'B;03/02/2001;2024-05-04T14:30:00;1,234.56\nC;3.2.2001;2024-05-04 00:00:00;0,5\n')
    report = run(engine, path)
    assert (report.created, report.errors) == (3, [])
    a, b, c = people(engine)
    assert a["born"] == b["born"] == c["born"] == dt.date(2001, 2, 3)
    assert a["met_at"] == b["met_at"] == dt.datetime(2024, 5, 4, 14, 30)
    assert (a["amount"], b["amount"], c["amount"]) == (Decimal("1234.56"), Decimal("1234.56"), Decimal("0.50"))


def test_impossible_dates_and_numbers_are_refused_with_the_usual_messages(engine, write):
    report = run(engine, write("name;born;qty;amount\nA;31/02/2001;;\nB;;three;\nC;;;1,234\n"))
    assert errors_of(report) == [
        (2, "born", "Not a valid date."),
        (3, "qty", "Not a valid integer."),
        (4, "amount", "At most 2 digits after the decimal point."),
    ]


@pytest.mark.parametrize("name,ok", [("ABCDEFGHIJ", True), ("ABCDEFGHIJK", False), ("  ABCDEFGHIJ  ", True)])
def test_max_length_boundary(engine, write, name, ok):
    report = run(engine, write(f"name\n{name}\n"))
    assert (report.created, report.refused) == ((1, 0) if ok else (0, 1))
    if not ok:
        assert errors_of(report) == [(2, "name", "Must be at most 10 characters long.")]


@pytest.mark.parametrize("qty,ok", [("0", True), ("100", True), ("-1", False), ("101", False)])
def test_number_bounds(engine, write, qty, ok):
    assert run(engine, write(f"name;qty\nA;{qty}\n")).created == int(ok)


def test_long_texts_keep_their_line_breaks(engine, write):
    assert run(engine, write('name;notes\nA;"first line\nsecond line"\nB;x\n')).created == 2
    assert people(engine)[0]["notes"] == "first line\nsecond line"


# -- links -------------------------------------------------------------------------------------


def test_links_resolve_by_the_targets_natural_key_or_by_record_number(engine, write):
    acme = company_id(engine, "Acme")
    path = write(f"name;company;owner\nA;Acme;1\nB;#{acme};#2\nC;Café Dupré;\n")
    report = run(engine, path)
    assert (report.created, report.errors) == (3, [])
    assert [(p["company"], p["owner"]) for p in people(engine)] == [
        (acme, 1), (acme, 2), (company_id(engine, "Café Dupré"), None),
    ]


def test_unresolved_and_ambiguous_links_are_refused_naming_column_and_value(engine, write):
    report = run(engine, write("name;Société;owner\nA;Nowhere Ltd;\nB;Twin;\nC;;ann\nD;;#999\nE;Acme;\n"))
    assert report.created == 1
    assert errors_of(report) == [
        (2, "Société", "No company with name 'Nowhere Ltd'."),
        (3, "Société", "Several company records have name 'Twin': give the number (#id)."),
        (4, "owner", "No user with id 'ann'."),
        (5, "owner", "No user with id 999."),
    ]


def test_a_trashed_record_is_not_a_link_target(engine, write):
    engine.records.delete("company", company_id(engine, "Acme"), SYSTEM_ACTOR)
    report = run(engine, write("name;company\nA;Acme\n"))
    assert errors_of(report) == [(2, "company", "No company with name 'Acme'.")]


# -- bad rows, empty files ---------------------------------------------------------------------


def test_bad_rows_are_skipped_and_reported_while_good_rows_are_written(engine, write):
    path = write("name;email;qty\nGood1;a@example.org;1\n;b@example.org;2\nGood2;c@example.org;3\n"
                 "Bad;not-an-email;500\nGood3;;\n")
    report = run(engine, path)
    assert (report.rows, report.created, report.refused, report.error_count) == (5, 3, 2, 3)
    assert errors_of(report) == [
        (3, "name", "This field is mandatory."),
        (5, "email", "Not a valid email address."),
        (5, "qty", "Must be at most 100."),
    ]
    assert [p["name"] for p in people(engine)] == ["Good1", "Good2", "Good3"]
    assert audit_rows(engine, "create") == 3


def test_a_row_with_more_cells_than_the_header_is_refused_by_number(engine, write):
    report = run(engine, write("name;qty\nA;1\nB;2;surplus\nC;3;;\n"))
    assert report.created == 2
    assert errors_of(report) == [(3, None, "This row has 1 value(s) beyond the columns of the header.")]


def test_missing_trailing_cells_and_blank_lines_are_fine(engine, write):
    report = run(engine, write("name;email;qty\nA\n\nB;b@example.org\n;;\n"))
    assert (report.rows, report.created, report.errors) == (2, 2, [])


def test_an_empty_file_is_refused(engine, write):
    for text in ("", "\n\n", "\ufeff"):
        report = run(engine, write(text))
        assert [e.message for e in report.file_errors] == ["The file is empty: it needs at least a header line."]


def test_a_header_only_file_imports_nothing_without_error(engine, write):
    report = run(engine, write("name;email\n"))
    assert (report.rows, report.created, report.refused, report.file_errors) == (0, 0, 0, [])


def test_a_missing_file_is_reported(engine, tmp_path):
    report = run(engine, tmp_path / "nope.csv")
    assert "File not found" in report.file_errors[0].message


def test_row_errors_are_in_the_actors_language(engine, write):
    report = run(engine, write("name;company\n;Nowhere\n"), actor=SYSTEM_FR)
    assert sorted(e.message for e in report.errors) == [
        "Aucun enregistrement company avec name « Nowhere ».", "Ce champ est obligatoire.",
    ]


def test_unique_values_are_checked_against_the_database_and_within_the_file(engine, write):
    engine.records.create("person", {"name": "Old", "code": "C1"}, SYSTEM_ACTOR)
    report = run(engine, write("name;code\nA;C1\nB;C2\nC;C2\n"))
    assert report.created == 1
    assert errors_of(report) == [(2, "code", "This value is already used."), (4, "code", "This value is already used.")]


# -- dry run -----------------------------------------------------------------------------------


def test_a_dry_run_reports_everything_and_writes_nothing(engine, write):
    engine.records.create("person", {"name": "Ann", "email": "ann@example.org", "qty": 1}, SYSTEM_ACTOR)
    before = (people(engine), audit_rows(engine))
    path = write("name;email;qty\nAnn;ann@example.org;2\nBob;bob@example.org;3\nBad;bad@example.org;-4\n")
    report = run(engine, path, upsert=True, dry_run=True)
    assert (report.dry_run, report.created, report.updated, report.refused) == (True, 1, 1, 1)
    assert report.counts() == {"would_create": 1, "would_update": 1, "unchanged": 0, "refused": 1}
    assert errors_of(report) == [(4, "qty", "Must be at least 0.")]
    assert (people(engine), audit_rows(engine)) == before


def test_a_dry_run_refuses_a_unique_value_repeated_in_a_later_chunk_as_the_real_run_does(engine, write):
    path = write("name;code\nA;C1\nB;C2\nC;C1\nD;C3\nE;C2\n")
    rehearsal = run(engine, path, dry_run=True, chunk_size=2)
    assert people(engine) == []
    real = run(engine, path, chunk_size=2)
    assert (rehearsal.created, rehearsal.refused) == (real.created, real.refused) == (3, 2)
    assert errors_of(rehearsal) == errors_of(real) == [
        (4, "code", "This value is already used."), (6, "code", "This value is already used.")]


# -- upsert ------------------------------------------------------------------------------------


def test_upsert_by_the_natural_key_creates_and_updates_with_audit_and_history(engine, write, clock):
    ann = engine.records.create("person", {"name": "Ann", "email": "ann@example.org", "level": "low", "qty": 1},
                                SYSTEM_ACTOR)
    clock.advance(days=1)
    path = write("email;name;level;qty\nann@example.org;Ann;high;\nbob@example.org;Bob;mid;5\n")
    report = run(engine, path, upsert=True)
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 1, 0, [])
    stored_ann, bob = people(engine)
    assert (stored_ann["id"], stored_ann["level"], stored_ann["qty"], stored_ann["version"]) == (ann["id"], "high", 1, 2)
    assert (bob["name"], bob["level"], bob["qty"]) == ("Bob", "mid", 5)
    assert (audit_rows(engine, "create"), audit_rows(engine, "update")) == (2, 1)
    log = engine.records.audit_log("person", ann["id"])
    assert log[-1]["action"] == "update" and log[-1]["changes"] == {"level": ["low", "high"]}
    assert engine.records.value_as_of("person", ann["id"], "level", clock.now - dt.timedelta(hours=1)) == "low"
    assert engine.records.value_as_of("person", ann["id"], "level", clock.now) == "high"


def test_upsert_leaves_unchanged_records_alone(engine, write):
    engine.records.create("person", {"name": "Ann", "email": "ann@example.org", "qty": 1}, SYSTEM_ACTOR)
    report = run(engine, write("email;name;qty\nann@example.org;Ann;1\n"), upsert=True)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert people(engine)[0]["version"] == 1 and audit_rows(engine, "update") == 0


def test_upsert_by_a_declared_key_of_several_fields(engine, write):
    acme = company_id(engine, "Acme")
    engine.records.create("person", {"name": "Ann", "company": acme, "qty": 1}, SYSTEM_ACTOR)
    path = write("name;company;qty\nAnn;Acme;7\nAnn;Café Dupré;8\n")
    report = run(engine, path, key=("name", "company"))
    assert (report.created, report.updated) == (1, 1)
    assert [(p["company"], p["qty"]) for p in people(engine)] == [(acme, 7), (company_id(engine, "Café Dupré"), 8)]


def test_a_key_repeated_in_the_file_is_refused_on_the_later_row(engine, write):
    path = write("email;name\nann@example.org;Ann\nbob@example.org;Bob\nann@example.org;Annie\n")
    report = run(engine, path, upsert=True, chunk_size=2)
    assert (report.created, report.refused) == (2, 1)
    assert errors_of(report) == [(4, "email", "The key 'ann@example.org' already appeared in an earlier row.")]
    assert [p["name"] for p in people(engine)] == ["Ann", "Bob"]


def test_upsert_refuses_rows_without_a_key_and_keys_matching_several_records(engine, write):
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        tx.create_many("person", [{"name": "A", "email": "same@example.org"}, {"name": "B", "email": "same@example.org"}])
    report = run(engine, write("email;name\n;Nokey\nsame@example.org;C\n"), upsert=True)
    assert report.created == report.updated == 0
    assert errors_of(report) == [
        (2, "email", "The key (email) is empty in this row."),
        (3, "email", "2 person records have the key 'same@example.org'."),
    ]


def test_upsert_cannot_change_a_status_outside_the_workflow(engine, write):
    engine.records.create("person", {"name": "Ann", "email": "ann@example.org"}, SYSTEM_ACTOR)
    report = run(engine, write("email;status\nann@example.org;Client\n"), upsert=True)
    assert errors_of(report) == [(2, "status", "The status changes only through a workflow transition.")]
    assert people(engine)[0]["status"] == "prospect"


def test_upsert_needs_a_key(engine, write, import_model):
    report = import_file(engine, "company", write("name\nAcme\n"), ImportOptions(upsert=True, key=("nope",)))
    assert "not a characteristic of company" in report.file_errors[0].message
    report = run(engine, write("name\nAnn\n"), upsert=True)
    assert report.file_errors[0].message == "The key field 'email' has no column in the file."


# -- statuses and permissions ------------------------------------------------------------------


def test_a_status_by_label_and_only_the_system_may_create_past_the_initial_one(engine, write):
    path = write("name;Statut\nA;Client\nB;prospect\n")
    assert run(engine, path).created == 2
    assert [p["status"] for p in people(engine)] == ["client", "prospect"]
    user = Actor(user_id=1, username="ann", roles=frozenset({"importer"}))
    report = run(engine, write("name;status\nC;client\nD;Prospect\n", name="two.csv"), actor=user)
    assert report.created == 1
    assert errors_of(report) == [(2, "status", "A new record starts in status 'prospect'.")]


def test_importing_needs_the_import_permission(engine, write):
    clerk = Actor(user_id=1, username="ann", roles=frozenset({"clerk"}))
    with pytest.raises(PermissionDenied, match="not allowed to import person"):
        run(engine, write("name\nA\n"), actor=clerk)


def test_hidden_and_readonly_characteristics_cannot_be_imported_by_a_user(engine, write):
    user = Actor(user_id=1, username="ann", roles=frozenset({"importer"}))
    report = run(engine, write("name;code;stamp\nA;C1;S\n"), actor=user)
    assert [(e.field, e.message) for e in report.file_errors] == [
        ("code", "The column 'code' maps to 'code', which you may not set."),
        ("stamp", "The column 'stamp' maps to 'stamp', which you may not set."),
    ]
    assert people(engine) == []
    assert run(engine, write("name;stamp\nA;S\n", name="sys.csv")).created == 1  # the system may


def test_the_created_records_belong_to_the_importing_user(engine, write, clock):
    user = Actor(user_id=2, username="bob", roles=frozenset({"importer"}))
    assert run(engine, write("name\nA\n"), actor=user).created == 1
    stored = people(engine)[0]
    assert (stored["created_by"], stored["created_at"], stored["version"]) == (2, clock.now, 1)


# -- chunks, checkpoints, resume ---------------------------------------------------------------


class Crash(Exception):
    pass


class FakeJob:
    """Stands for engine.jobs.JobContext: records what the import reports, can crash a chunk."""

    def __init__(self, checkpoint: Any = None, crash_at_chunk: int | None = None):
        self.checkpoint = checkpoint
        self.crash_at_chunk = crash_at_chunk
        self.chunks = 0
        self.total: int | None = None
        self.done = 0
        self.counts: Counter = Counter()
        self.errors: list = []
        self.reports = 0

    def set_total(self, total: int | None) -> None:
        self.total = total

    def chunk_done(self, conn, *, done, checkpoint, counts=None, errors=()):
        assert conn.in_transaction()
        self.chunks += 1
        if self.chunks == self.crash_at_chunk:
            raise Crash()
        self.done, self.checkpoint = done, checkpoint
        self.counts.update(counts or {})
        self.errors.extend(errors)

    def report(self, *, done, counts=None, errors=()):
        self.reports += 1
        self.done = done
        self.counts.update(counts or {})
        self.errors.extend(errors)


def rows_text(n: int, *, bad: set[int] = frozenset()) -> str:
    lines = ["name;email"]
    for i in range(n):
        lines.append(f"{'' if i in bad else f'P{i}'};p{i}@example.org")
    return "\n".join(lines) + "\n"


def test_each_chunk_reports_progress_checkpoint_and_errors(engine, write):
    job = FakeJob()
    report = run(engine, write(rows_text(7, bad={4})), ctx=job, chunk_size=3)
    assert (job.chunks, job.total, job.done, job.checkpoint) == (3, 7, 7, {"row": 8, "done": 7})
    assert dict(job.counts) == {"created": 6, "updated": 0, "unchanged": 0, "refused": 1}
    assert [(e.row, e.field, e.message) for e in job.errors] == [(6, "name", "This field is mandatory.")]
    assert report.created == 6


def test_a_crash_midway_keeps_whole_chunks_and_resuming_finishes_without_duplicates(engine, write):
    path = write(rows_text(10))
    crashing = FakeJob(crash_at_chunk=3)
    with pytest.raises(Crash):
        run(engine, path, ctx=crashing, chunk_size=3)
    assert [p["name"] for p in people(engine)] == [f"P{i}" for i in range(6)]
    assert audit_rows(engine, "create") == 6  # the failing chunk left nothing, the others all their rows
    assert crashing.checkpoint == {"row": 7, "done": 6}
    resumed = FakeJob(checkpoint=crashing.checkpoint)
    report = run(engine, path, ctx=resumed, chunk_size=3)
    assert (report.created, resumed.done, resumed.total) == (4, 10, 10)
    assert [p["name"] for p in people(engine)] == [f"P{i}" for i in range(10)]
    assert audit_rows(engine, "create") == 10


def test_a_resumed_upsert_still_refuses_a_key_seen_before_the_checkpoint(engine, write):
    path = write("email;name\na@example.org;A\nb@example.org;B\nc@example.org;C\na@example.org;A2\n")
    resumed = FakeJob(checkpoint={"row": 3, "done": 2})
    report = run(engine, path, ctx=resumed, upsert=True, chunk_size=2)
    assert report.created == 1
    assert [(e.row, e.message) for e in resumed.errors] == [(5, "The key 'a@example.org' already appeared in an earlier row.")]


def test_a_dry_run_reports_through_the_job_outside_any_write(engine, write):
    job = FakeJob()
    run(engine, write(rows_text(5, bad={0})), ctx=job, chunk_size=2, dry_run=True)
    assert (job.chunks, job.reports, job.done) == (0, 3, 5)
    assert dict(job.counts) == {"would_create": 4, "would_update": 0, "unchanged": 0, "refused": 1}
    assert people(engine) == []


# -- the job -----------------------------------------------------------------------------------


def test_the_import_job_runs_in_the_background_and_keeps_its_errors(engine, write):
    from engine.exchange.importer import submit_import

    job_id = submit_import(engine, "person", write(rows_text(5, bad={1})), ImportOptions(), SYSTEM_ACTOR)
    job = engine.jobs.wait(job_id, timeout=30)
    assert job["state"] == "done", job["message"]
    assert (job["kind"], job["entity"], job["total"], job["done"]) == ("import", "person", 5, 5)
    assert job["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "refused": 1}
    assert job["result"]["created"] == 4
    assert engine.jobs.errors(job_id, SYSTEM_ACTOR) == [
        {"row": 3, "record_id": None, "field": "name", "message": "This field is mandatory."}
    ]


def test_an_import_job_refused_for_its_columns_fails_with_the_reason(engine, write):
    from engine.exchange.importer import submit_import

    job_id = submit_import(engine, "person", write("name;Shoe size\nA;42\n"), ImportOptions(), SYSTEM_ACTOR)
    job = engine.jobs.wait(job_id, timeout=30)
    assert job["state"] == "failed" and "Unknown column 'Shoe size'" in job["message"]
    assert [e["row"] for e in engine.jobs.errors(job_id, SYSTEM_ACTOR)] == [1]
    assert people(engine) == []


def test_an_import_job_killed_midway_resumes_from_its_checkpoint(engine, write, monkeypatch):
    from engine.exchange.importer import submit_import

    class Recorder:
        def __init__(self):
            self.sent: list[int] = []

        def dispatch(self, job_id: int) -> None:
            self.sent.append(job_id)

    engine.jobs.dispatcher = Recorder()
    job_id = submit_import(engine, "person", write(rows_text(10)), ImportOptions(chunk_size=4), SYSTEM_ACTOR)
    record, calls = engine.jobs._record, {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return record(*args, **kwargs)

    monkeypatch.setattr(engine.jobs, "_record", dying)
    engine.jobs.run(job_id)
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "failed" and job["done"] == 4 and len(people(engine)) == 4
    monkeypatch.setattr(engine.jobs, "_record", record)
    engine.jobs.resume(job_id, SYSTEM_ACTOR)
    engine.jobs.run(job_id)
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "done" and job["counts"]["created"] == 10
    assert [p["name"] for p in people(engine)] == [f"P{i}" for i in range(10)]
    assert audit_rows(engine, "create") == 10


# -- formats from plugins ----------------------------------------------------------------------


class JsonLines:
    """A plugin registering a JSON-lines import format that fits people only."""

    @staticmethod
    def read(stream):
        import json

        for line in stream:
            if line.strip():
                yield json.loads(line)

    @hookimpl
    def ossature_import_formats(self):
        from plugins.host.types import ImportFormat

        return {"people_lines": ImportFormat("people_lines", {"en": "People lines", "fr": "Lignes de personnes"},
                                             "jsonl", "application/jsonl", self.read, frozenset({"person"}))}


@pytest.fixture
def plugin_engine(make_engine, import_model, clock):
    from plugins.host.manager import plugin_manager

    engine = make_engine(import_model, clock=clock, plugins=plugin_manager([JsonLines()]))
    engine.records.create("company", {"name": "Acme"}, SYSTEM_ACTOR)
    return engine


def test_a_plugin_format_yields_rows_by_name_or_label_with_typed_values(plugin_engine, write):
    path = write('{"name": "A", "qty": 3, "tags": ["low", "mid"], "Société": "Acme"}\n'
                 '{"Full name": "B", "active": true}\n'
                 '{"name": "C", "qty": 300}\n', name="people.jsonl")
    report = run(plugin_engine, path, format="people_lines")
    assert (report.created, errors_of(report)) == (2, [(3, "qty", "Must be at most 100.")])
    a, b = people(plugin_engine)
    assert (a["qty"], a["tags"], a["company"], b["name"], b["active"]) == (3, ["low", "mid"], 1, "B", True)


def test_a_plugin_format_key_that_maps_nowhere_refuses_the_rows_using_it(plugin_engine, write):
    path = write('{"name": "A"}\n{"name": "B", "shoe": 42}\n{"name": "C", "shoe": null}\n', name="p.jsonl")
    report = run(plugin_engine, path, format="people_lines")
    assert report.created == 2
    assert [(e.row, e.field) for e in report.errors] == [(2, "shoe")]
    assert report.errors[0].message.startswith("Unknown column 'shoe'")


def test_a_plugin_format_is_checked_against_the_entity_and_its_errors_reported(plugin_engine, write, caplog):
    report = import_file(plugin_engine, "company", write("{}\n"), ImportOptions(format="people_lines"))
    assert report.file_errors[0].message == "The import format 'people_lines' does not fit company records."
    report = run(plugin_engine, write('{"name": "A"}\nnot json\n', name="bad.jsonl"), format="people_lines", chunk_size=1)
    assert report.created == 1
    message = report.file_errors[0].message
    error_id = re.search(r"error id ([0-9a-f]{8})", message).group(1)
    assert message == (f"The import format 'people_lines' could not read the file after row 1 (error id {error_id}; "
                       "the details are in the server log under that id).")
    assert "Expecting value" in caplog.text and error_id in caplog.text
    report = run(plugin_engine, write("{}\n"), format="xlsx")
    assert report.file_errors[0].message.startswith("No import format 'xlsx' (available: csv, ")
    assert "people_lines" in report.file_errors[0].message


# -- what an export writes, an import reads back ---------------------------------------------


@pytest.mark.parametrize("lang,delimiter", [("en", ","), ("fr", ";")])
def test_an_export_imports_back_unchanged(engine, tmp_path, lang, delimiter):
    from engine.exchange.exporter import Export

    acme = company_id(engine, "Acme")
    with engine.records.transaction(SYSTEM_ACTOR) as tx:
        tx.create_many("person", [
            {"name": "=SUM(A1)", "email": "a@example.org", "code": "-C1", "level": "high", "tags": ["low", "mid"],
             "active": True, "born": "1975-04-03", "met_at": "2024-05-04T14:30:00", "amount": "1234.5", "qty": 0,
             "company": acme, "notes": "two\nlines", "stamp": "@home", "status": "client"},
            {"name": "Zoé", "email": "z@example.org"},
        ])
    path = tmp_path / "export.csv"
    with path.open("wb") as stream:
        Export(engine, "person", None, SYSTEM_ACTOR, columns="all", delimiter=delimiter, lang=lang).write(stream)
    before = people(engine)
    report = run(engine, path, upsert=True)
    assert (report.errors, report.file_errors) == ([], [])
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert people(engine) == before
