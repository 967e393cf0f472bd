"""Exports (engine/exchange/exporter.py): a list view's records as CSV, streamed, as the actor may see them."""

from __future__ import annotations

import csv
import io
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.exchange.export_stream import pull_bytes
from engine.exchange.export_values import plain_text
from engine.exchange.exporter import CSV_FORMAT, Export, ExportError, cell_text, export_formats, submit_export
from engine.access.permissions import PermissionDenied
from engine.records.queries import QueryError

PACKS_DIR = Path(__file__).resolve().parents[1]
BOM = "\ufeff"


@pytest.fixture(scope="module")
def export_model():
    return metamodel.load_model([PACKS_DIR / "pack", PACKS_DIR / "secured", PACKS_DIR / "export_pack"])


@pytest.fixture
def engine(make_engine, export_model, clock):
    return make_engine(export_model, clock=clock)


@pytest.fixture
def people(engine):
    ann, bob = engine.records.create_many("user", [{"username": "ann", "team": "north"}, {"username": "bob"}], SYSTEM_ACTOR)
    return {
        "ann_id": ann, "bob_id": bob,
        "exporter": Actor(user_id=ann, username="ann", roles=frozenset({"exporter"})),
        "exporter_fr": Actor(user_id=ann, username="ann", roles=frozenset({"exporter"}), lang="fr"),
        "reader": Actor(user_id=bob, username="bob", roles=frozenset({"reader"})),
        "outsider": Actor(user_id=bob, username="bob", roles=frozenset({"outsider"})),
    }


@pytest.fixture
def samples(engine, people):
    """Three samples: two owned by ann (one of them closed), one owned by bob."""
    rows = [
        {"name": "Widget", "code": "WID-01", "do_not_call": True, "qty": 12, "price": "5.5", "level": "mid",
         "tags": ["low", "high"], "owner": people["ann_id"], "due": "2025-01-02", "meet_at": "2025-01-02T10:30:00",
         "email": "w@example.com", "body": "<p>Strong &amp; light</p>"},
        {"name": "Gadget", "do_not_call": False, "email": "g@example.com", "qty": 3, "level": "high",
         "owner": people["ann_id"], "notes": "=HYPERLINK(\"http://evil\")", "phone": "+33 1 23 45 67 89"},
        {"name": "Bobbin", "do_not_call": True, "qty": 40, "price": "1000", "level": "low", "owner": people["bob_id"]},
    ]
    ids = engine.records.create_many("sample", rows, SYSTEM_ACTOR)
    engine.records.transition("sample", ids[1], "cancel", SYSTEM_ACTOR)
    return dict(zip(("widget", "gadget", "bobbin"), ids))


def read_csv(data: bytes, delimiter: str = ",") -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=delimiter))


def export_csv(engine, entity: str, actor: Actor, args: dict | None = None, **options) -> list[list[str]]:
    request = engine.records.list_request(entity, args or {})
    export = Export(engine, entity, request, actor, **options)
    return read_csv(b"".join(export.iter_bytes()), options.get("delimiter", ","))


# -- values as people read them -----------------------------------------------------------------


def test_every_type_is_written_as_people_read_it_in_english(engine, people, samples):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"tab": ["all"], "sort": ["name"]}, columns="all")
    header = rows[0]
    assert header == ["Name", "Code", "Notes", "Body", "Email", "Phone", "Website", "Quantity", "Price", "Due",
                      "Meeting", "Do not call", "Level", "Tags", "Owner", "Opened on", "Extra", "Status"]
    widget = dict(zip(header, rows[3]))
    assert [r[0] for r in rows[1:]] == ["Bobbin", "Gadget", "Widget"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", widget.pop("Opened on"))  # today(), an ISO date
    assert widget == {
        "Name": "Widget", "Code": "WID-01", "Notes": "drafted", "Body": "<p>Strong &amp; light</p>",
        "Email": "w@example.com", "Phone": "", "Website": "", "Quantity": "12", "Price": "5.50", "Due": "2025-01-02",
        "Meeting": "2025-01-02 10:30:00", "Do not call": "yes", "Level": "Middle", "Tags": "Low | High",
        "Owner": "ann", "Extra": "", "Status": "Draft",
    }
    gadget = dict(zip(header, rows[2]))
    assert gadget["Do not call"] == "no" and gadget["Status"] == "Cancelled"
    assert gadget["Phone"] == "+33 1 23 45 67 89"  # a phone number is no formula: left as it is
    assert gadget["Notes"] == "'=HYPERLINK(\"http://evil\")"  # a formula is never run by a spreadsheet


def test_french_labels_headers_booleans_and_semicolons(engine, people, samples):
    actor = Actor(system=True, lang="fr")
    rows = export_csv(engine, "sample", actor, {"tab": ["all"], "sort": ["name"]}, columns=["name", "do_not_call",
                      "level", "tags", "status", "price"], delimiter=";")
    assert rows[0] == ["Nom", "Ne pas appeler", "Niveau", "Étiquettes", "Statut", "Prix"]
    assert rows[3] == ["Widget", "oui", "Moyen", "Bas | Haut", "Brouillon", "5.50"]
    assert rows[2] == ["Gadget", "non", "Haut", "", "Annulé", ""]


def test_the_file_is_utf8_with_a_bom_and_crlf_lines(engine, people, samples):
    data = b"".join(Export(engine, "sample", None, Actor(system=True, lang="fr"), columns=["name"]).iter_bytes())
    assert data.startswith(b"\xef\xbb\xbfNom\r\n")


def test_the_language_may_be_given_apart_from_the_actor(engine, people, samples):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, columns=["level"], lang="fr")
    assert rows[0] == ["Niveau"]


def test_links_name_the_natural_key_else_the_title_else_the_number(engine, people, samples):
    engine.records.create("note", {"subject": "About the widget", "sample": samples["widget"]}, SYSTEM_ACTOR)
    engine.records.create("note", {"subject": "About bob's", "sample": samples["bobbin"]}, SYSTEM_ACTOR)
    # user has natural_key [username]: the owner is written "ann", which an import resolves back
    assert export_csv(engine, "sample", SYSTEM_ACTOR, {"sort": ["name"]}, columns=["name", "owner"])[1:] == [
        ["Bobbin", "bob"], ["Widget", "ann"]]
    # sample has no natural key: its title; out of the actor's scope or unreadable: its number
    system = export_csv(engine, "note", SYSTEM_ACTOR, {"sort": ["subject"]}, columns=["subject", "sample"])
    assert system[1:] == [["About bob's", "Bobbin"], ["About the widget", "Widget"]]
    scoped = export_csv(engine, "note", people["exporter"], {"sort": ["subject"]}, columns=["subject", "sample"])
    assert scoped[1:] == [["About bob's", f"#{samples['bobbin']}"], ["About the widget", "Widget"]]
    outsider = export_csv(engine, "note", people["outsider"], {"sort": ["subject"]}, columns=["subject", "sample"])
    assert outsider[1:] == [["About bob's", f"#{samples['bobbin']}"], ["About the widget", f"#{samples['widget']}"]]


def test_system_columns_have_headers_and_creators_are_named(engine, people, samples):
    ann = people["exporter"]
    created = engine.records.create("note", {"subject": "Mine"}, Actor(user_id=ann.user_id, roles=frozenset({"manager"})))
    rows = export_csv(engine, "note", ann, {"f_subject": ["Mine"]}, columns=["id", "subject", "created_by", "created_at"])
    assert rows == [["No.", "Subject", "Created by", "Created"], [str(created["id"]), "Mine", "ann", "2026-01-01 09:00:00"]]


def test_two_characteristics_sharing_a_label_are_headed_by_their_names(engine, people, samples, export_model):
    from engine.exchange.export_values import export_columns

    entity = export_model.entity("sample")
    clash = metamodel.model.FieldDef("twin", "string", entity.field("name").label, entity.source)
    patched = metamodel.model.EntityDef(entity.name, entity.label, entity.plural, entity.source,
                                        (*entity.fields, clash), entity.title, entity.workflow, entity.views)
    columns = export_columns(export_model, patched, ["name", "twin", "qty"], "en")
    assert [c.header for c in columns] == ["name", "twin", "Quantity"]


@pytest.mark.parametrize(("value", "kind", "lang", "expected"), [
    (None, "string", "en", ""),
    (True, "boolean", "fr", "oui"),
    (False, "boolean", "en", "no"),
    (Decimal("0E-2"), "decimal", "fr", "0.00"),
    (Decimal("-1234567.5"), "decimal", "en", "-1234567.5"),
    (("A", "B"), "multi_choice", "en", "A | B"),
    ("-5", "string", "en", "'-5"),
    ("@SUM(A1)", "link", "en", "'@SUM(A1)"),
    ("+33 1 02", "phone", "en", "+33 1 02"),
    ("plain", "string", "en", "plain"),
])
def test_cell_text(value, kind, lang, expected):
    assert cell_text(value, kind, lang) == expected


def test_plain_text_of_rich_text():
    assert plain_text("<p>One &amp; two</p><p>Three<br>four</p>") == "One & two\nThree\nfour"
    assert plain_text(None) == "" and plain_text("") == ""


# -- the list view: columns, filters, tab, search, sort -------------------------------------------


def test_default_columns_are_the_views_and_the_default_tab_is_the_lists(engine, people, samples):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR)
    assert rows[0] == ["Name", "Code", "Notes", "Body", "Email", "Status"]
    assert sorted(r[0] for r in rows[1:]) == ["Bobbin", "Widget"]  # the open tab: the cancelled Gadget is not there


def test_a_named_view_brings_its_columns_fixed_filter_and_sort(engine, people, samples):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"view": ["big_orders"], "tab": ["all"]})
    assert rows == [["Name", "Quantity", "Level"], ["Bobbin", "40", "Low"], ["Widget", "12", "Middle"]]


@pytest.mark.parametrize(("args", "names"), [
    ({"f_level": ["mid", "low"]}, ["Bobbin", "Widget"]),
    ({"f_qty_min": ["12"]}, ["Bobbin", "Widget"]),  # min is inclusive
    ({"f_qty_min": ["13"]}, ["Bobbin"]),  # one past
    ({"f_qty_max": ["12"]}, ["Gadget", "Widget"]),
    ({"q": ["gad"]}, ["Gadget"]),
    ({"f_tags": ["high"]}, ["Widget"]),
    ({"tab": ["history"]}, ["Gadget"]),
])
def test_filters_of_the_list_apply(engine, people, samples, args, names):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"tab": ["all"], "sort": ["name"], **args}, columns=["name"])
    assert [r[0] for r in rows[1:]] == names


@pytest.mark.parametrize(("sort", "names"), [
    ("qty", ["Gadget", "Widget", "Bobbin"]),
    ("-qty", ["Bobbin", "Widget", "Gadget"]),
    ("level,name", ["Gadget", "Bobbin", "Widget"]),  # by code, as the list sorts
])
def test_rows_come_in_the_requests_sort_order(engine, people, samples, sort, names):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"tab": ["all"], "sort": [sort]}, columns=["name"])
    assert [r[0] for r in rows[1:]] == names


def test_a_grouped_list_exports_each_groups_rows_together(engine, people, samples):
    engine.records.create("sample", {"name": "Zed", "do_not_call": True, "level": "mid"}, SYSTEM_ACTOR)
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"tab": ["all"], "group": ["level"], "sort": ["-name"]},
                      columns=["name", "level"])
    assert rows[1:] == [["Gadget", "High"], ["Bobbin", "Low"], ["Zed", "Middle"], ["Widget", "Middle"]]


def test_an_empty_list_gives_the_headers_only(engine, people, samples):
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"q": ["nothing like this"]}, columns=["name", "qty"])
    assert rows == [["Name", "Quantity"]]


def test_trashed_records_are_never_exported(engine, people, samples):
    engine.records.delete("sample", samples["bobbin"], SYSTEM_ACTOR)
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"tab": ["all"]}, columns=["name"])
    assert sorted(r[0] for r in rows[1:]) == ["Gadget", "Widget"]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5])
def test_chunk_boundaries_lose_and_repeat_nothing(engine, people, count):
    if count:
        engine.records.create_many("sample", [{"name": f"S{i:02d}", "do_not_call": True} for i in range(count)],
                                   SYSTEM_ACTOR)
    rows = export_csv(engine, "sample", SYSTEM_ACTOR, {"sort": ["name"]}, columns=["name"], chunk_size=2)
    assert [r[0] for r in rows[1:]] == [f"S{i:02d}" for i in range(count)]


# -- permissions ----------------------------------------------------------------------------------


def test_hidden_characteristics_are_absent_and_the_scope_is_honoured(engine, people, samples):
    rows = export_csv(engine, "sample", people["exporter"], {"tab": ["all"], "sort": ["name"]}, columns="all")
    assert "Price" not in rows[0] and "price" not in rows[0]
    assert [r[0] for r in rows[1:]] == ["Gadget", "Widget"]  # bob's Bobbin is outside ann's scope
    assert all("5.50" not in row for row in rows)


def test_the_record_rows_never_carry_hidden_values(engine, people, samples):
    export = Export(engine, "sample", None, people["exporter"], columns="all")
    stored = [record for chunk in export.records() for record in chunk]
    assert stored and all("price" not in record for record in stored)
    assert all("price" not in row.stored and "price" not in row for row in export.rows())


@pytest.mark.parametrize("options", [{"columns": ["name", "price"]}, {"args": {"sort": ["price"]}},
                                     {"args": {"f_price_min": ["1"]}}])
def test_naming_a_hidden_characteristic_is_refused(engine, people, samples, options):
    request = engine.records.list_request("sample", options.get("args", {}))
    with pytest.raises(PermissionDenied) as refused:
        Export(engine, "sample", request, people["exporter"], columns=options.get("columns"))
    assert "price" in str(refused.value)


def test_without_the_export_permission_nothing_is_exported(engine, people, samples):
    assert engine.records.list("sample", actor=people["reader"]).total == 2  # the reader may read...
    with pytest.raises(PermissionDenied) as refused:  # ...but not export
        Export(engine, "sample", None, people["reader"])
    assert refused.value.operation == "export"
    with pytest.raises(PermissionDenied):
        submit_export(engine, "sample", None, people["reader"])


def test_unknown_format_columns_and_separator_are_refused_by_name(engine, people, samples):
    with pytest.raises(ExportError) as caught:
        Export(engine, "sample", None, SYSTEM_ACTOR, format="xlsx")
    assert caught.value.parameter == "format" and "csv" in caught.value.message("en")
    assert "format d'export" in caught.value.message("fr")
    with pytest.raises(ExportError) as caught:
        Export(engine, "sample", None, SYSTEM_ACTOR, format="vcard")  # a vCard holds contacts only
    assert caught.value.parameter == "format" and "contact" in str(caught.value)
    with pytest.raises(ExportError) as caught:
        Export(engine, "sample", None, SYSTEM_ACTOR, delimiter="\t")
    assert caught.value.parameter == "delimiter"
    with pytest.raises(ExportError) as caught:
        Export(engine, "sample", None, SYSTEM_ACTOR, columns=["name", "nonsense"])
    assert caught.value.parameter == "columns" and caught.value.message("fr") == \
        "sample n'a pas de caractéristique « nonsense »."
    for columns in ("everything", []):
        with pytest.raises(ExportError) as caught:
            Export(engine, "sample", None, SYSTEM_ACTOR, columns=columns)
        assert caught.value.parameter == "columns"
    assert issubclass(ExportError, QueryError)  # pages and the API answer it with a 400 naming the parameter


def test_a_plugin_may_not_replace_the_built_in_csv(make_engine, export_model):
    from plugins.api import ExportFormat, hookimpl
    from plugins.host.manager import plugin_manager

    class Impostor:
        @hookimpl
        def ossature_export_formats(self):
            return {"csv": ExportFormat("csv", {"en": "Mine", "fr": "À moi"}, "csv", "text/csv", lambda *a: None)}

    engine = make_engine(export_model, plugins=plugin_manager([Impostor()]))
    with pytest.raises(ExportError) as caught:
        Export(engine, "sample", None, SYSTEM_ACTOR)
    assert caught.value.reason == "built_in"


@pytest.mark.parametrize("lang,start", [
    ("en", "The job stopped on an unexpected error (error id {id})"),
    ("fr", "La tâche s'est arrêtée sur une erreur inattendue (identifiant d'erreur {id})"),
])
def test_an_export_job_whose_writer_fails_says_an_error_id_and_leaves_no_file(
    make_engine, export_model, caplog, lang, start
):
    import re

    from plugins.api import ExportFormat, hookimpl
    from plugins.host.manager import plugin_manager

    def broken_writer(stream, columns, rows):
        for _ in rows:
            raise OSError("[Errno 28] No space left on device: '/srv/secret/path'")

    class Broken:
        @hookimpl
        def ossature_export_formats(self):
            return {"broken": ExportFormat("broken", {"en": "Broken", "fr": "Cassé"}, "txt", "text/plain",
                                           broken_writer)}

    engine = make_engine(export_model, plugins=plugin_manager([Broken()]))
    engine.records.create("sample", {"name": "Ab"}, SYSTEM_ACTOR)
    actor = Actor(system=True, lang=lang)
    job = engine.jobs.wait(submit_export(engine, "sample", None, actor, format="broken"), timeout=60)
    assert job["state"] == "failed"
    error_id = re.search(r"\b([0-9a-f]{8})\b", job["message"]).group(1)
    assert job["message"].startswith(start.format(id=error_id))
    assert "secret" not in job["message"] and "Errno" not in job["message"]
    assert any(error_id in r.getMessage() and "No space left" in r.exc_text for r in caplog.records if r.exc_text)
    assert not list(engine.jobs.job_dir(job["id"]).glob("*.txt"))


def test_formats_fitting_an_entity(engine):
    assert list(export_formats(engine))[0] == "csv"
    assert "vcard" in export_formats(engine, "contact") or "contact" not in engine.model.entities
    assert "vcard" not in export_formats(engine, "sample") and "icalendar" not in export_formats(engine, "sample")
    assert export_formats(engine, "sample")["csv"] is CSV_FORMAT


# -- streaming ------------------------------------------------------------------------------------


@pytest.fixture
def sample_queries(engine):
    """The SELECTs run on the sample table, counted as they run."""
    import sqlalchemy as sa

    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM ent_sample" in statement:
            seen.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", count)
    yield seen
    sa.event.remove(engine.db, "before_cursor_execute", count)


def test_the_first_piece_comes_before_the_rest_is_read(engine, people, sample_queries):
    engine.records.create_many("sample", [{"name": f"S{i}", "do_not_call": True} for i in range(5)], SYSTEM_ACTOR)
    export = Export(engine, "sample", engine.records.list_request("sample", {"sort": ["name"]}), SYSTEM_ACTOR,
                    columns=["name"], chunk_size=2)
    pieces = export.iter_bytes()
    sample_queries.clear()
    first = next(pieces)
    assert first.decode("utf-8-sig") == "Name\r\nS0\r\nS1\r\n"
    assert len(sample_queries) == 1  # one chunk read: the rest is still in the database
    assert engine.db.pool.checkedout() == 0  # and nothing is held open while the reader takes its time
    assert b"".join(pieces).decode("utf-8") == "S2\r\nS3\r\nS4\r\n"
    assert len(sample_queries) == 3  # chunks of 2, 2 and 1: the short one ends the export


def test_writes_go_on_while_an_export_is_half_read(engine, people):
    """On SQLite an open read would lock writers out; an export holds nothing between chunks."""
    engine.records.create_many("sample", [{"name": f"S{i}", "do_not_call": True} for i in range(4)], SYSTEM_ACTOR)
    pieces = Export(engine, "sample", engine.records.list_request("sample", {"sort": ["name"]}), SYSTEM_ACTOR,
                    columns=["name"], chunk_size=2).iter_bytes()
    next(pieces)
    engine.records.create("sample", {"name": "S9", "do_not_call": True}, SYSTEM_ACTOR)
    assert b"".join(pieces).decode("utf-8") == "S2\r\nS3\r\nS9\r\n"


SORTS = ["qty", "-qty", "due,name", "-due,-qty", "level,-price", "do_not_call,-name", "-created_at", "id", "-id",
         "email"]


@pytest.mark.parametrize("sort", SORTS)
def test_chunks_follow_the_lists_order_with_ties_and_empty_values(engine, people, sort):
    """Small chunks over many equal and empty sort values give exactly the list page's order."""
    values = [None, 1, 1, 2, None, 3, 2, 1]
    engine.records.create_many("sample", [
        {"name": f"S{i % 3}", "do_not_call": i % 2 == 0, "phone": "01 02 03 04 05", "qty": qty, "level": ["low", "mid", None][i % 3],
         "due": None if i % 4 == 0 else f"2025-01-0{1 + i % 2}", "price": None if i % 3 else str(i),
         "email": None if i % 2 else f"s{i % 3}@example.com"}
        for i, qty in enumerate(values)
    ], SYSTEM_ACTOR)
    request = engine.records.list_request("sample", {"sort": [sort], "tab": ["all"], "size": ["200"]})
    listed = [row["id"] for row in engine.records.list("sample", request).rows]
    for chunk_size in (1, 2, 3):
        export = Export(engine, "sample", request, SYSTEM_ACTOR, columns=["id"], chunk_size=chunk_size)
        assert [record["id"] for chunk in export.records() for record in chunk] == listed


def test_pull_bytes_hands_each_piece_over_while_the_writer_still_runs():
    may_continue = threading.Event()
    wrote: list[str] = []

    def write(stream):
        stream.write(b"abcd")
        wrote.append("first")
        may_continue.wait()
        stream.write(b"efgh")
        wrote.append("second")

    pieces = pull_bytes(write, piece_size=4)
    assert next(pieces) == b"abcd"
    assert wrote == ["first"] or wrote == []  # the second piece is not written yet
    may_continue.set()
    assert list(pieces) == [b"efgh"]
    assert wrote == ["first", "second"]


def test_pull_bytes_stops_the_writer_when_the_reader_goes_away():
    writes: list[int] = []

    def write(stream):
        for i in range(1000):
            stream.write(b"x" * 4)
            writes.append(i)

    pieces = pull_bytes(write, piece_size=4)
    next(pieces)
    pieces.close()
    assert len(writes) < 1000


def test_pull_bytes_raises_the_writers_error():
    def write(stream):
        stream.write(b"partial")
        raise ValueError("the format broke")

    with pytest.raises(ValueError, match="the format broke"):
        list(pull_bytes(write))


def test_a_plugin_format_is_streamed_through_its_writer(engine, people, samples):
    """The test plugin's JSON lines format: any entity, readable values by characteristic."""
    import json

    data = b"".join(Export(engine, "sample", engine.records.list_request("sample", {"sort": ["name"]}),
                           Actor(system=True, lang="fr"), format="jsonl", columns=["name", "level"]).iter_bytes())
    assert [json.loads(line) for line in data.splitlines()] == [
        {"name": "Bobbin", "level": "Bas"}, {"name": "Widget", "level": "Moyen"}]


# -- as a job -------------------------------------------------------------------------------------


def test_the_export_job_writes_the_same_file_with_progress(engine, people, samples):
    request = engine.records.list_request("sample", {"tab": ["all"], "sort": ["name"]})
    job_id = submit_export(engine, "sample", request, SYSTEM_ACTOR, columns="all", delimiter=";")
    job = engine.jobs.wait(job_id, timeout=30)
    assert job["state"] == "done", job["message"]
    assert (job["total"], job["done"], job["percent"]) == (3, 3, 100)
    assert job["counts"] == {"exported": 3}
    assert job["result"] == {"exported": 3, "format": "csv", "file": "sample.csv"}
    path, name, media_type = engine.jobs.output_path(job_id, SYSTEM_ACTOR)
    assert (name, media_type) == ("sample.csv", "text/csv; charset=utf-8")
    direct = b"".join(Export(engine, "sample", request, SYSTEM_ACTOR, columns="all", delimiter=";").iter_bytes())
    assert path.read_bytes() == direct


def test_the_export_job_reports_after_every_chunk(engine, people, monkeypatch):
    import engine.exchange.exporter as exporter

    monkeypatch.setattr(exporter, "CHUNK_SIZE", 1)  # the job reads two at a time
    engine.records.create_many("sample", [{"name": f"S{i}", "do_not_call": True} for i in range(5)], SYSTEM_ACTOR)
    reported: list[int] = []
    original = engine.jobs._record

    def record(conn, job_id, *, done, **kwargs):
        reported.append(done)
        return original(conn, job_id, done=done, **kwargs)

    monkeypatch.setattr(engine.jobs, "_record", record)
    job = engine.jobs.wait(submit_export(engine, "sample", None, SYSTEM_ACTOR), timeout=30)
    assert job["state"] == "done" and reported == [2, 4, 5]


# -- round trip: what an export writes, the importer reads back -----------------------------------

ACCOUNTS = [
    {"name": "Acme, Inc", "account_type": "customer", "key_account": True, "sector": "banking", "employees": 250,
     "annual_revenue": "1250000.50", "tags": ["decision_maker", "newsletter"], "city": "Paris", "country": "France",
     "description": "<p>Long-time customer</p>"},
    {"name": "Bolt; Partners", "account_type": "prospect", "key_account": False, "website": "https://bolt.example"},
]
CONTACTS = [
    {"salutation": "mrs", "first_name": "Camille", "last_name": "Martin", "function": "ceo", "department": "sales",
     "language": "fr", "account": "Acme, Inc", "phone": "+33 1 23 45 67 89", "email": "camille@acme.example",
     "do_not_call": True, "do_not_email": False, "street": "-1 rue de la Paix", "city": "Paris",
     "birthday": "1980-05-01", "description": "<p>Met at the fair, \"VIP\"</p>"},
    {"first_name": "Élodie", "last_name": "=Ölund", "account": "Bolt; Partners", "mobile": "06 12 34 56 78",
     "do_not_call": False, "do_not_email": True},
    {"last_name": "Alone"},
]
COMPARED = ("id", "created_at", "created_by", "updated_at", "updated_by", "version", "deleted_at")


@pytest.fixture
def filled(make_engine):
    """The base pack with accounts and contacts linking them (by id in the database)."""
    source = make_engine(metamodel.load_model([metamodel.BASE_PACK]))
    ids = dict(zip((a["name"] for a in ACCOUNTS), source.records.create_many("account", ACCOUNTS, SYSTEM_ACTOR)))
    source.records.create_many("contact", [{**c, "account": ids.get(c.get("account"))} for c in CONTACTS], SYSTEM_ACTOR)
    return source


@pytest.fixture
def empty(scratch_databases, tmp_path):
    """Another database with the same definitions and no record."""
    from engine import Engine

    (tmp_path / "empty").mkdir()
    with scratch_databases(tmp_path / "empty") as url:
        target = Engine(metamodel.load_model([metamodel.BASE_PACK]), url, files_dir=tmp_path / "empty_files")
        target.migrate()
        yield target
        target.dispose()


def comparable(engine, entity: str) -> list[dict]:
    """Every record as stored, links replaced by the linked record's name, system columns left out."""
    names = {r["id"]: r["name"] for r in engine.records.list("account", engine.records.list_request(
        "account", {"size": ["200"]})).rows}
    rows = engine.records.list(entity, engine.records.list_request(entity, {"size": ["200"], "sort": ["id"]})).rows
    return [{k: (names.get(v) if k in ("account", "parent") else v) for k, v in row.items() if k not in COMPARED}
            for row in rows]


@pytest.mark.parametrize(("lang", "delimiter"), [("en", ","), ("fr", ";")])
def test_accounts_and_contacts_exported_to_csv_import_into_an_empty_database(filled, empty, tmp_path, lang, delimiter):
    from engine.exchange.importer import ImportOptions, import_file

    actor = Actor(system=True, lang=lang)
    for entity in ("account", "contact"):
        path = tmp_path / f"{entity}.csv"
        request = filled.records.list_request(entity, {"sort": ["id"]})
        with path.open("wb") as out:
            Export(filled, entity, request, actor, columns="all", delimiter=delimiter).write(out)
        report = import_file(empty, entity, path, ImportOptions(), actor)
        assert (report.file_errors, report.errors) == ([], [])
        assert report.created == len(ACCOUNTS if entity == "account" else CONTACTS)
    assert comparable(empty, "account") == comparable(filled, "account")
    assert comparable(empty, "contact") == comparable(filled, "contact")
