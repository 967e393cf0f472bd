"""Columns to characteristics, and cells to values, for imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import metamodel
from engine.exchange.import_mapping import (
    ColumnMapper,
    normalize,
    to_boolean,
    to_date,
    to_datetime,
    to_decimal_text,
    to_integer_text,
)
from engine.exchange.import_messages import ImportFileError
from metamodel.model import EntityDef, FieldDef, Source, Text

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "import" / "pack"
HERE = Source("test", 1)


@pytest.fixture(scope="module")
def model():
    return metamodel.load_model([PACK])


@pytest.fixture
def mapper(model):
    return ColumnMapper(model.entity("person"), model)


@pytest.mark.parametrize("text,expected", [
    ("  Full   Name ", "full name"), ("É-TIQUETTES", "e tiquettes"), ("first_name", "first name"),
    ("Quantité", "quantite"), ("Straße", "strasse"),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_plan_maps_every_header_and_reports_every_problem_at_once(mapper):
    columns, problems = mapper.plan(["Full name", "Courriel", "Shoe size", "", "Colour"])
    assert [(c.header, c.field.name) for c in columns] == [("Full name", "name"), ("Courriel", "email")]
    assert [(p.key, p.column) for p in problems] == [("unknown_column", "Shoe size"), ("unknown_column", "Colour")]


def test_a_code_wins_over_a_label_and_an_ambiguous_label_is_refused(model):
    fields = (
        FieldDef("title", "string", Text("Name", "Nom"), HERE),
        FieldDef("name", "string", Text("Label", "Libellé"), HERE),
        FieldDef("a", "string", Text("Same", "Pareil"), HERE),
        FieldDef("b", "string", Text("same", "Autre"), HERE),
    )
    mapper = ColumnMapper(EntityDef("thing", Text("Thing", "Chose"), Text("Things", "Choses"), HERE, fields), model)
    assert mapper.resolve("Name").field.name == "name"
    assert mapper.resolve("Nom").field.name == "title"
    with pytest.raises(ImportFileError) as caught:
        mapper.resolve("SAME")
    assert caught.value.message() == "The column 'SAME' matches several characteristics (a, b): map it explicitly."


def test_explicit_mapping_by_name_or_label_and_skipping(model):
    mapper = ColumnMapper(model.entity("person"), model, {"Col A": "Courriel", "col b": "", "Col C": "qty"})
    assert mapper.resolve("Col A").field.name == "email"
    assert mapper.resolve("Col B") is None
    assert mapper.resolve("col c").field.name == "qty"


def test_protected_fields_are_refused(model):
    mapper = ColumnMapper(model.entity("person"), model, protected=frozenset({"stamp"}))
    with pytest.raises(ImportFileError) as caught:
        mapper.resolve("Tampon")
    assert caught.value.message("fr") == "La colonne « Tampon » correspond à « stamp », que vous ne pouvez pas modifier."


def test_value_list_cells(mapper):
    level = mapper.resolve("level").convert
    assert [level(c) for c in ("high", "HIGH", "High", "Élevé", "eleve", "Moyen", "nope")] == [
        "high", "high", "high", "high", "high", "mid", "nope",
    ]
    tags = mapper.resolve("tags").convert
    assert tags("low | Moyen|") == ["low", "mid"]
    assert tags("Bas, high") == ["low", "high"]
    status = mapper.resolve("Statut").convert
    assert (status("Client"), status("parti"), status("prospect")) == ("client", "gone", "prospect")


@pytest.mark.parametrize("cell,expected", [
    ("x", True), ("Oui", True), ("O", True), ("non", False), ("N", False), ("maybe", "maybe"),
])
def test_boolean_cells(cell, expected):
    assert to_boolean(cell) == expected


@pytest.mark.parametrize("cell,expected", [
    ("31/12/1999", dt.date(1999, 12, 31)), ("1/2/2003", dt.date(2003, 2, 1)), ("01.02.2003", dt.date(2003, 2, 1)),
    ("2003-02-01", "2003-02-01"), ("2003-02-01 00:00:00", "2003-02-01"), ("2003-02-01T00:00", "2003-02-01"),
    ("31/02/2003", "31/02/2003"), ("2003-02-01 10:00", "2003-02-01 10:00"),
])
def test_date_cells(cell, expected):
    assert to_date(cell) == expected


@pytest.mark.parametrize("cell,expected", [
    ("31/12/1999 23:59", dt.datetime(1999, 12, 31, 23, 59)), ("31/12/1999 23:59:58", dt.datetime(1999, 12, 31, 23, 59, 58)),
    ("31/12/1999", dt.datetime(1999, 12, 31)), ("1999-12-31T23:59", "1999-12-31T23:59"), ("31/12/1999 25:00", "31/12/1999 25:00"),
])
def test_datetime_cells(cell, expected):
    assert to_datetime(cell) == expected


@pytest.mark.parametrize("cell,expected", [
    ("12,5", "12.5"), ("12.5", "12.5"), ("1 234,56", "1234.56"), ("1\u00a0234,56", "1234.56"),
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("-3", "-3"), ("abc", "abc"),
])
def test_decimal_cells(cell, expected):
    assert to_decimal_text(cell) == expected


def test_integer_cells_lose_their_thousands_spaces():
    assert to_integer_text("1 000\u202f000") == "1000000"
