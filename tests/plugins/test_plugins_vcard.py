"""The vCard plugin (plugins/vcard.py): contacts to vCard 3.0 and .vcf files (3.0 and 4.0) to contact rows."""

from __future__ import annotations

import io
from typing import Any, Iterator

import pytest
import vobject

from engine import SYSTEM_ACTOR, Actor
from engine.exchange.exporter import Export, export_formats
from plugins.host.registry import export_formats as registered_exports
from plugins.host.registry import import_formats as registered_imports
from plugins.vcard import VCardError, contact_values, match_value, read_vcards, write_vcards

CAMILLE = {
    "salutation": "mrs", "first_name": "Camille", "last_name": "Martin", "function": "ceo", "department": "sales",
    "email": "camille@acme.example", "personal_email": "camille@home.example", "phone": "+33 1 23 45 67 89",
    "mobile": "06 12 34 56 78", "street": "1 rue de la Paix", "postal_code": "75001", "city": "Paris",
    "country": "France", "birthday": "1980-05-01", "photo": "https://acme.example/camille.png",
    "description": "<p>Met at the fair; likes tea, &amp; cake</p><p>Call back in May</p>",
}
VCARD_4_AND_3 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Dupont;Jean;;Dr.;\r\nFN:Jean Dupont\r\nORG:Globex;Achats\r\n"
    "TITLE:ingénieur\r\nTEL;TYPE=\"work,voice\";VALUE=uri:tel:+33-1-23-45-67-89\r\nTEL;TYPE=cell:+33 6 12 34 56 78\r\n"
    "EMAIL;TYPE=work:jean@globex.example\r\nADR;TYPE=work:;;12 avenue Foch;Lyon;;69001;France\r\n"
    "ADR;TYPE=home:;;3 rue Neuve;Villeurbanne;;69100;France\r\nBDAY:19750312\r\nNOTE:Met at the fair\\, 2024\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;Ann;;Sir;\r\nFN:Ann Smith\r\nTITLE:Head of purchasing\r\n"
    "EMAIL;TYPE=INTERNET,HOME:ann@home.example\r\nTEL;TYPE=HOME:+44 20 7946 0000\r\nBDAY:--0312\r\nEND:VCARD\r\n"
)


@pytest.fixture
def engine(make_engine, base_model):
    return make_engine(base_model)


@pytest.fixture
def camille(engine) -> dict[str, Any]:
    account = engine.records.create("account", {"name": "Acme, Inc"}, SYSTEM_ACTOR)
    return engine.records.create("contact", {**CAMILLE, "account": account["id"]}, SYSTEM_ACTOR)


def export_vcf(engine, actor: Actor = SYSTEM_ACTOR, args: dict | None = None) -> bytes:
    request = engine.records.list_request("contact", args or {})
    return b"".join(Export(engine, "contact", request, actor, format="vcard").iter_bytes())


def test_the_plugin_registers_vcard_for_contacts_only(pm, engine):
    exported, imported = registered_exports(pm)["vcard"], registered_imports(pm)["vcard"]
    assert (exported.extension, exported.media_type) == ("vcf", "text/vcard")
    assert exported.fits("contact") and not exported.fits("account") and imported.fits("contact")
    assert "vcard" in export_formats(engine, "contact") and "vcard" not in export_formats(engine, "account")


def test_contacts_export_as_vcard_3_read_back_by_vobject(engine, camille):
    data = export_vcf(engine, Actor(system=True, lang="fr"))
    (card,) = list(vobject.readComponents(data.decode("utf-8")))
    assert card.version.value == "3.0"
    assert card.uid.value == f"contact-{camille['id']}@ossature"
    assert (card.n.value.family, card.n.value.given, card.n.value.prefix) == ("Martin", "Camille", "Mme")
    assert card.fn.value == "Camille Martin"
    assert card.org.value == ["Acme, Inc", "Commercial"]
    assert card.title.value == "Président-directeur général"  # the function's label, in the actor's language
    emails = {tuple(sorted(line.type_paramlist)): line.value for line in card.contents["email"]}
    assert emails == {("INTERNET", "WORK"): "camille@acme.example", ("HOME", "INTERNET"): "camille@home.example"}
    phones = {tuple(sorted(line.type_paramlist)): line.value for line in card.contents["tel"]}
    assert phones == {("VOICE", "WORK"): "+33 1 23 45 67 89", ("CELL", "VOICE"): "06 12 34 56 78"}
    address = card.adr.value
    assert (address.street, address.code, address.city, address.country) == ("1 rue de la Paix", "75001", "Paris", "France")
    assert card.bday.value == "1980-05-01"
    assert card.photo.value == "https://acme.example/camille.png"
    assert card.note.value == "Met at the fair; likes tea, & cake\nCall back in May"


def test_export_then_import_gives_the_contact_back(engine, camille):
    (row,) = list(read_vcards(io.BytesIO(export_vcf(engine))))
    expected = {k: v for k, v in CAMILLE.items() if k != "description"}
    assert {k: v for k, v in row.items() if k not in ("description", "account")} == expected
    assert row["account"] == "Acme, Inc"  # the importer resolves it through the account's natural key
    assert row["description"] == "<p>Met at the fair; likes tea, &amp; cake<br>Call back in May</p>"


def test_imported_rows_pass_the_contacts_rules(engine):
    """What the reader yields is what the contact's characteristics accept (dates, phones, labels)."""
    for row in read_vcards(io.BytesIO(VCARD_4_AND_3.encode("utf-8"))):
        row.pop("account", None)
        created = engine.records.create("contact", row, SYSTEM_ACTOR)
        assert created["last_name"] in ("Dupont", "Smith")


def test_vcard_4_and_3_in_one_file():
    rows = list(read_vcards(io.BytesIO(VCARD_4_AND_3.encode("utf-8"))))
    assert rows == [
        {"last_name": "Dupont", "first_name": "Jean", "salutation": "dr", "account": "Globex", "department": "purchasing",
         "function": "engineer", "phone": "+33-1-23-45-67-89", "mobile": "+33 6 12 34 56 78",
         "email": "jean@globex.example", "street": "12 avenue Foch", "postal_code": "69001", "city": "Lyon",
         "country": "France", "home_street": "3 rue Neuve", "home_postal_code": "69100", "home_city": "Villeurbanne",
         "home_country": "France", "birthday": "1975-03-12", "description": "<p>Met at the fair, 2024</p>"},
        # "Sir" and "Head of purchasing" are no values of the lists, a birthday without a year is no date
        {"last_name": "Smith", "first_name": "Ann", "personal_email": "ann@home.example", "home_phone": "+44 20 7946 0000"},
    ]


def test_a_card_without_n_takes_its_formatted_name():
    card = vobject.readOne("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Reception desk\r\nEND:VCARD\r\n")
    assert contact_values(card) == {"last_name": "Reception desk"}


@pytest.mark.parametrize(("list_name", "text", "code"), [
    ("salutations", "Mr.", "mr"), ("salutations", "M.", "mr"), ("salutations", "MME", "mrs"),
    ("salutations", "Miss", None),  # retired: a new contact may not take it
    ("salutations", "", None), ("functions", "directeur technique", "cto"), ("functions", "Ingenieur", "engineer"),
    ("functions", "Chief executive", None),
])
def test_value_lists_match_by_code_or_label_in_either_language(list_name, text, code):
    assert match_value(list_name, text) == code


def test_reading_is_lazy_card_by_card():
    """The reader yields a card before it has read the file to its end."""
    many = "".join(f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Name{i};;;;\r\nFN:Name{i}\r\nEND:VCARD\r\n" for i in range(2000))
    stream = io.BytesIO(many.encode("utf-8"))
    cards = read_vcards(stream)
    assert next(cards) == {"last_name": "Name0"}
    assert stream.tell() < len(many) // 2
    assert sum(1 for _ in cards) == 1999


def test_writing_is_card_by_card():
    """Each card is written before the next row is asked for: no card waits for the others."""
    pulled: list[int] = []
    written_before: list[int] = []

    class Stream(io.BytesIO):
        def write(self, data):  # type: ignore[override]
            written_before.append(len(pulled))
            return super().write(data)

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(3):
            pulled.append(i)
            yield {"id": i + 1, "last_name": f"Name{i}"}

    stream = Stream()
    write_vcards(stream, ["last_name"], rows())
    assert written_before == [1, 2, 3]
    assert [c.n.value.family for c in vobject.readComponents(stream.getvalue().decode())] == ["Name0", "Name1", "Name2"]


def test_a_broken_file_is_refused_with_its_line():
    broken = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\nthis line has no colon\r\nEND:VCARD\r\n"
    with pytest.raises(VCardError) as caught:
        list(read_vcards(io.BytesIO(broken)))
    assert "line 4" in caught.value.message("en") and "ligne 4" in caught.value.message("fr")


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(VCardError) as caught:
        list(read_vcards(io.BytesIO("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;;;;\r\nEND:VCARD\r\n".encode("latin-1"))))
    assert caught.value.reason == "encoding" and "UTF-8" in caught.value.message("fr")


def test_the_export_honours_scope_and_the_export_permission(engine, camille):
    users = engine.records.create_many("user", [{"username": "sam", "display_name": "Sam", "team": "sales_france"},
                                                {"username": "sue", "display_name": "Sue"}], SYSTEM_ACTOR)
    sam = Actor(user_id=users[0], username="sam", roles=frozenset({"sales"}), team="sales_france")
    engine.records.create("contact", {"last_name": "Samson", "assigned_to": users[0]}, SYSTEM_ACTOR)
    families = [c.n.value.family for c in vobject.readComponents(export_vcf(engine, sam).decode())]
    assert families == ["Samson"]  # Camille is nobody's in sam's team
    support = Actor(user_id=users[1], username="sue", roles=frozenset({"support"}))
    from engine.access.permissions import PermissionDenied

    with pytest.raises(PermissionDenied):
        export_vcf(engine, support)  # support may read contacts, not export them


def test_the_list_filters_choose_the_cards(engine, camille):
    engine.records.create("contact", {"last_name": "Other", "city": "Lyon"}, SYSTEM_ACTOR)
    families = [c.n.value.family for c in vobject.readComponents(export_vcf(engine, args={"q": ["Other"]}).decode())]
    assert families == ["Other"]


def test_a_vcard_export_imports_into_an_empty_database(engine, camille, scratch_databases, tmp_path, base_model):
    """Contacts out as vCards, in again through the importer: accounts resolved by their natural key."""
    from engine import Engine
    from engine.exchange.importer import ImportOptions, import_file

    engine.records.create("contact", {"last_name": "Solo", "first_name": "Han", "mobile": "+1 555 0100"}, SYSTEM_ACTOR)
    cards = tmp_path / "contacts.vcf"
    cards.write_bytes(export_vcf(engine, args={"sort": ["last_name"]}))
    (tmp_path / "empty").mkdir()
    with scratch_databases(tmp_path / "empty") as url:
        target = Engine(base_model, url, files_dir=tmp_path / "files")
        try:
            target.migrate()
            target.records.create("account", {"name": "Acme, Inc"}, SYSTEM_ACTOR)
            report = import_file(target, "contact", cards, ImportOptions(format="vcard"), SYSTEM_ACTOR)
            assert (report.file_errors, report.errors, report.created) == ([], [], 2)
            imported = target.records.list("contact", target.records.list_request("contact", {"sort": ["last_name"]}))
            martin, solo = imported.rows
            assert target.records.get("account", martin["account"])["name"] == "Acme, Inc"
        finally:
            target.dispose()
    original = engine.records.get("contact", camille["id"])
    compared = [k for k in CAMILLE if k != "description"]
    assert {k: martin[k] for k in compared} == {k: original[k] for k in compared}
    assert martin["description"] == "<p>Met at the fair; likes tea, &amp; cake<br>Call back in May</p>"
    assert (solo["first_name"], solo["last_name"], solo["mobile"]) == ("Han", "Solo", "+1 555 0100")
