"""Characters no database stores (NUL, lone surrogates) in an import file: a header holding one stops
the import naming its column; a cell holding one refuses its row naming the column; nothing of it
ever reaches the database, and what the job stores and shows is plain (no SQL, no driver message).

Run on PostgreSQL too (OSSATURE_TEST_DATABASE_URL): it is PostgreSQL that refuses NUL in text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.exchange.importer import ImportOptions, import_file, submit_import
from plugins.host.hookspecs import hookimpl

PACK = Path(__file__).resolve().parents[2] / "fixtures" / "import" / "pack"
SYSTEM_FR = Actor(system=True, lang="fr")
NUL_EN = "This cell contains the character U+0000 (NUL), which cannot be stored."
NUL_FR = "Cette cellule contient le caractère U+0000 (NUL), qui ne peut pas être enregistré."
RAW_DATABASE_WORDS = ("SQL", "psycopg", "DataError", "INSERT", "Traceback", "0x00")


@pytest.fixture(scope="module")
def import_model() -> metamodel.model.Model:
    return metamodel.load_model([PACK])


@pytest.fixture
def engine(make_engine, import_model):
    engine = make_engine(import_model)
    engine.records.create("company", {"name": "Acme"}, SYSTEM_ACTOR)
    engine.records.create("user", {"username": "ann"}, SYSTEM_ACTOR)
    return engine


@pytest.fixture
def write(tmp_path):
    def write(data: bytes, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return write


def people(engine) -> list[dict[str, Any]]:
    table = engine.tables.of("person")
    with engine.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def finished_import(engine, path: Path, actor: Actor = SYSTEM_ACTOR, **options: Any) -> tuple[dict, list[dict]]:
    job_id = submit_import(engine, "person", path, ImportOptions(**options), actor)
    job = engine.jobs.wait(job_id, timeout=60)
    return job, engine.jobs.errors(job_id, SYSTEM_ACTOR)


def importable_fields(model: metamodel.model.Model) -> list[str]:
    """Every characteristic of person (a file may give each), in order."""
    return [f.name for f in model.entity("person").fields]


GOOD_CELLS = {
    "name": "Ann", "email": "ann@example.org", "code": "C1", "level": "low", "tags": "low|mid", "active": "oui",
    "born": "03/04/1975", "met_at": "2024-05-04 14:30", "amount": "12,50", "qty": "3", "company": "Acme",
    "owner": "#1", "notes": "a note", "stamp": "S", "status": "prospect",
}


def test_every_characteristic_has_a_good_cell_here(import_model):
    """Guards the generated cases below: a new characteristic of the test pack needs its cell."""
    assert set(importable_fields(import_model)) == set(GOOD_CELLS)


# -- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["start", "middle", "end", "alone"])
def test_a_nul_in_any_characteristics_cell_refuses_that_row_naming_the_column(engine, import_model, write, where):
    fields = importable_fields(import_model)
    for name in fields:
        good = GOOD_CELLS[name]
        bad = {"start": "\x00" + good, "middle": good[:1] + "\x00" + good[1:], "end": good + "\x00",
               "alone": "\x00"}[where]
        header = ["name"] + ([name] if name != "name" else [])
        other = "name" if name != "name" else None
        first = ";".join([GOOD_CELLS["name"]] + ([good] if other else []))
        second = ";".join(([GOOD_CELLS["name"], bad] if other else [bad]))
        path = write(f"{';'.join(header)}\n{first}\n{second}\n".encode("utf-8"), name=f"{name}.csv")
        report = import_file(engine, "person", path, ImportOptions(), SYSTEM_ACTOR)
        assert [(e.row, e.field, e.message) for e in report.errors] == [(3, name, NUL_EN)], name
        assert (report.created, report.refused, report.file_errors) == (1, 1, []), name


def test_the_job_stores_and_shows_each_refused_cell_on_postgresql_too(engine, write):
    path = write(b"name,email,level,company\nA\x00nn,a@example.org,lo\x00w,Ac\x00me\nBob,b@example.org,low,Acme\n")
    job, errors = finished_import(engine, path, SYSTEM_FR)
    assert job["state"] == "done", job["message"]
    assert job["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "refused": 1}
    assert [(e["row"], e["field"], e["message"]) for e in errors] == [
        (2, "name", NUL_FR), (2, "level", NUL_FR), (2, "company", NUL_FR)]
    assert [p["name"] for p in people(engine)] == ["Bob"]


def test_a_nul_in_an_upsert_key_refuses_the_row_and_queries_nothing_with_it(engine, write):
    engine.records.create("person", {"name": "Ann", "email": "ann@example.org"}, SYSTEM_ACTOR)
    path = write(b"email,name\nann@example.org\x00,Annie\nann@example.org,Anna\n")
    job, errors = finished_import(engine, path, upsert=True)
    assert job["state"] == "done", job["message"]
    assert [(e["row"], e["field"], e["message"]) for e in errors] == [(2, "email", NUL_EN)]
    assert [p["name"] for p in people(engine)] == ["Anna"]


def test_a_nul_in_a_column_no_characteristic_receives_is_harmless(engine, write):
    path = write(b"name,notes\nAnn,x\x00y\n")
    report = import_file(engine, "person", path, ImportOptions(mapping={"notes": ""}), SYSTEM_ACTOR)
    assert (report.created, report.errors) == (1, [])


def test_a_dry_run_refuses_the_same_cells(engine, write):
    path = write(b"name\nA\x00nn\nBob\n")
    job, errors = finished_import(engine, path, dry_run=True)
    assert job["counts"] == {"would_create": 1, "would_update": 0, "unchanged": 0, "refused": 1}
    assert [(e["row"], e["field"]) for e in errors] == [(2, "name")]


def test_a_utf16_file_is_screened_cell_by_cell(engine, write):
    """A NUL byte proves nothing in UTF-16 (every ASCII letter has one): its cells are all looked at."""
    path = write("name\nA\x00nn\nBob\n".encode("utf-16"))
    report = import_file(engine, "person", path, ImportOptions(encoding="utf-16"), SYSTEM_ACTOR)
    assert [(e.row, e.field, e.message) for e in report.errors] == [(2, "name", NUL_EN)]
    assert report.created == 1


# -- headers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("header,position,column", [
    (b"\x00name,email", 1, "\\u0000name"), (b"name,em\x00ail", 2, "em\\u0000ail"), (b"name,email\x00", 2, "email\\u0000"),
])
def test_a_nul_in_the_header_fails_the_job_naming_the_column_in_words(engine, write, header, position, column):
    job, errors = finished_import(engine, write(header + b"\nAnn,a@example.org\n"))
    assert job["state"] == "failed"
    expected = (f"Column {position} of the header ('{column}') contains the character U+0000 (NUL), which cannot be "
                "stored: remove it from the file.")
    assert job["message"] == expected
    assert [(e["row"], e["field"], e["message"]) for e in errors] == [(1, column, expected)]
    assert not any(word in job["message"] for word in RAW_DATABASE_WORDS)
    assert people(engine) == []


def test_the_header_message_is_in_french_for_a_french_user(engine, write):
    job, _ = finished_import(engine, write(b"name,em\x00ail\nAnn,a@example.org\n"), SYSTEM_FR)
    assert job["message"] == ("La colonne 2 de l'en-tête (« em\\u0000ail ») contient le caractère U+0000 (NUL), qui "
                              "ne peut pas être enregistré : retirez-le du fichier.")


# -- a plugin's format: its keys and values may hold anything JSON can ------------------------------


class JsonLines:
    @staticmethod
    def read(stream):
        for line in stream:
            if line.strip():
                yield json.loads(line)

    @hookimpl
    def ossature_import_formats(self):
        from plugins.host.types import ImportFormat

        return {"lines": ImportFormat("lines", {"en": "Lines", "fr": "Lignes"}, "jsonl", "application/jsonl",
                                      self.read, frozenset({"person"}))}


@pytest.fixture
def plugin_engine(make_engine, import_model):
    from plugins.host.manager import plugin_manager

    return make_engine(import_model, plugins=plugin_manager([JsonLines()]))


def test_a_plugin_formats_lone_surrogates_and_nul_keys_are_refused_on_their_rows(plugin_engine, write):
    lines = [{"name": "A\ud800"}, {"name": "B", "tags": ["low", "m\x00id"]}, {"name": "C", "no\x00te": "x"},
             {"name": "D"}]
    path = write("\n".join(json.dumps(line) for line in lines).encode("utf-8"), name="p.jsonl")
    job, errors = finished_import(plugin_engine, path, format="lines")
    assert job["state"] == "done", job["message"]
    assert [(e["row"], e["field"], e["message"]) for e in errors] == [
        (1, "name", "This cell contains the character U+D800, which cannot be stored."),
        (2, "tags", NUL_EN),
        (3, "no\\u0000te", "The column 'no\\u0000te' has a name containing the character U+0000 (NUL), which "
                           "cannot be stored."),
    ]
    assert [p["name"] for p in people(plugin_engine)] == ["D"]
