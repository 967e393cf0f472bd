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

PACK = Path(__file__).resolve().parents[2] / "fixtures" / "import" / "pack"
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
    assert caught.value.message() == (
        "The column 'SAME' matches the labels of several characteristics (a, b): map it to one of them explicitly.")
    assert caught.value.message("fr") == (
        "La colonne « SAME » correspond aux libellés de plusieurs caractéristiques (a, b) : associez-la "
        "explicitement à l'une d'elles.")


# -- former names (`renamed_from`) and labels in every language ------------------------------------

RENAMED = (
    FieldDef("email", "email", Text("Email", "Courriel"), HERE, renamed_from=("mail", "e_mail_address")),
    FieldDef("company", "string", Text("Employer", "Employeur"), HERE, renamed_from=("société",)),
    FieldDef("phone", "string", Text("Phone", "Téléphone"), HERE),
    FieldDef("mail", "string", Text("Post", "Courrier"), HERE),
)


def _variants(text: str) -> list[str]:
    """Ways a spreadsheet may write a header: as is, upper case, spaced, without accents."""
    bare = normalize(text)
    return sorted({text, text.upper(), f"  {text} ", text.replace("_", " "), text.replace("_", "-"), bare})


def _expected_cases() -> list[tuple[str, str, str]]:
    """(header, characteristic, how) for each way RENAMED names each characteristic, computed from it:
    its code, then each former name no code takes, then each label, in every language."""
    codes = {normalize(f.name) for f in RENAMED}
    cases = []
    for f in RENAMED:
        cases += [(v, f.name, "code") for v in _variants(f.name)]
        cases += [(v, f.name, "former name") for old in f.renamed_from if normalize(old) not in codes
                  for v in _variants(old)]
        cases += [(v, f.name, "label") for lang in metamodel.model.LANGUAGES for v in _variants(f.label.get(lang))]
    return cases


@pytest.fixture
def renamed(model):
    return ColumnMapper(EntityDef("thing", Text("Thing", "Chose"), Text("Things", "Choses"), HERE, RENAMED), model)


@pytest.mark.parametrize("header,name,how", _expected_cases())
def test_a_header_names_a_characteristic_by_code_former_name_or_label(renamed, header, name, how):
    assert renamed.resolve(header).field.name == name


def test_a_code_wins_over_a_former_name(renamed):
    """`mail` is the former name of email and the code of another characteristic: the code decides."""
    assert renamed.resolve("mail").field.name == "mail"
    assert renamed.resolve("MAIL").field.name == "mail"


def test_a_former_name_wins_over_a_label(model):
    fields = (FieldDef("a", "string", Text("Old", "Vieux"), HERE),
              FieldDef("b", "string", Text("B", "B"), HERE, renamed_from=("old",)))
    mapper = ColumnMapper(EntityDef("thing", Text("Thing", "Chose"), Text("Things", "Choses"), HERE, fields), model)
    assert mapper.resolve("Old").field.name == "b"
    assert mapper.resolve("Vieux").field.name == "a"


def test_a_former_name_of_two_characteristics_is_refused_naming_them(model):
    fields = (FieldDef("a", "string", Text("A", "A"), HERE, renamed_from=("old_name",)),
              FieldDef("b", "string", Text("B", "B"), HERE, renamed_from=("Old-Name",)),
              FieldDef("c", "string", Text("C", "C"), HERE))
    mapper = ColumnMapper(EntityDef("thing", Text("Thing", "Chose"), Text("Things", "Choses"), HERE, fields), model)
    with pytest.raises(ImportFileError) as caught:
        mapper.resolve("OLD NAME")
    assert (caught.value.key, caught.value.column) == ("ambiguous_former_name", "OLD NAME")
    assert caught.value.message() == ("The column 'OLD NAME' matches the former names of several characteristics "
                                      "(a, b): map it to one of them explicitly.")
    assert caught.value.message("fr") == ("La colonne « OLD NAME » correspond aux anciens noms de plusieurs "
                                          "caractéristiques (a, b) : associez-la explicitement à l'une d'elles.")
    explicit = ColumnMapper(mapper.entity, model, {"OLD NAME": "b"})
    assert explicit.resolve("OLD NAME").field.name == "b"


def test_an_explicit_mapping_may_name_a_characteristic_by_a_former_name(renamed, model):
    mapper = ColumnMapper(renamed.entity, model, {"Col": "e-mail address"})
    assert mapper.resolve("Col").field.name == "email"


def test_a_file_headed_with_former_names_imports(make_engine, tmp_path):
    """End to end: a pack renaming `email` (was `mail`) and `name` (was `full_name`) imports a file
    exported before the renames."""
    import shutil

    import sqlalchemy as sa

    from engine import SYSTEM_ACTOR
    from engine.exchange.importer import ImportOptions, import_file

    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    person = pack / "entities" / "person.yaml"
    text = person.read_text(encoding="utf-8")
    text = text.replace("email: {type: email,", "email: {type: email, renamed_from: mail,")
    text = text.replace("name: {type: string, label: {en: Full name", "name: {type: string, renamed_from: [full_name, "
                        "nom_complet], label: {en: Full name")
    person.write_text(text, encoding="utf-8")
    engine = make_engine(metamodel.load_model([pack]))
    path = tmp_path / "old.csv"
    path.write_text("Full-Name;MAIL;Niveau\nAnn;ann@example.org;Élevé\nBob;bob@example.org;low\n", encoding="utf-8")
    report = import_file(engine, "person", path, ImportOptions(), SYSTEM_ACTOR)
    assert (report.created, report.errors, report.file_errors) == (2, [], [])
    path.write_text("nom_complet;mail\nCy;cy@example.org\n", encoding="utf-8")
    assert import_file(engine, "person", path, ImportOptions(), SYSTEM_ACTOR).created == 1
    table = engine.tables.of("person")
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(table.c.name, table.c.email, table.c.level).order_by(table.c.id)).all()
    assert [tuple(r) for r in rows] == [("Ann", "ann@example.org", "high"), ("Bob", "bob@example.org", "low"),
                                        ("Cy", "cy@example.org", "low")]


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
