"""Importing `links` cells: members named by the target's natural key (or number), separated by
commas, resolved set-based; the set replaces the record's members on update; export -> import
gives the same members."""

from __future__ import annotations


import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Actor
from engine.exchange.exporter import Export
from engine.exchange.import_links import quote_member, split_members
from engine.exchange.importer import ImportOptions, import_file
from relations_exchange_world import contacts, eng, exchange_model, write  # noqa: F401 (fixtures)


def members(eng, quote_id: int) -> list[int]:
    return eng.records.get("quote", quote_id)["reviewers"]


def quotes_by_name(eng) -> dict[str, dict]:
    table = eng.records.table("quote")
    with eng.db.connect() as conn:
        ids = [row.id for row in conn.execute(sa.select(table.c.id))]
    found = [eng.records.get("quote", i) for i in ids]
    return {q["name"]: q for q in found}


@pytest.mark.parametrize("cell, parts", [
    ("a, b,c", ["a", "b", "c"]),
    ("  ", []),
    ("a,, b, ", ["a", "b"]),
    ('"Smith, Jo", Acme', ["Smith, Jo", "Acme"]),
    ('"say ""hi""", x', ['say "hi"', "x"]),
])
def test_a_cell_splits_on_commas_and_quotes_keep_theirs(cell, parts):
    assert split_members(cell) == parts


@pytest.mark.parametrize("name", ["Acme", "Smith, Jo", 'say "hi"', " padded "])
def test_a_quoted_member_reads_back_whole(name):
    assert split_members(", ".join([quote_member(name), "x"])) == [name.strip(), "x"]


def test_members_are_read_by_natural_key_and_number(eng, contacts, write):
    path = write(f"Name,Reviewers\nQ1,\"ann@x.org, bob@x.org\"\nQ2,#{contacts['cy@x.org']}\nQ3,\"\"\"dee@x.org\"\", eve@x.org\"\n")
    report = import_file(eng, "quote", path, ImportOptions())
    assert (report.created, report.error_count) == (3, 0), report.errors
    quotes = quotes_by_name(eng)
    assert quotes["Q1"]["reviewers"] == sorted([contacts["ann@x.org"], contacts["bob@x.org"]])
    assert quotes["Q2"]["reviewers"] == [contacts["cy@x.org"]]
    assert quotes["Q3"]["reviewers"] == sorted([contacts["dee@x.org"], contacts["eve@x.org"]])


def test_max_members_is_accepted_and_one_past_refused_before_any_lookup(eng, contacts, write):
    path = write("Name,Reviewers\n"
                 "three,\"ann@x.org, bob@x.org, cy@x.org\"\n"
                 "four,\"ann@x.org, bob@x.org, cy@x.org, nobody@x.org\"\n")
    report = import_file(eng, "quote", path, ImportOptions())
    assert (report.created, report.refused) == (1, 1)
    (error,) = report.errors
    assert (error.row, error.field) == (3, "Reviewers")
    assert "At most 3" in error.message and "nobody" not in error.message


def test_min_members_applies(eng, contacts, write):
    report = import_file(eng, "quote", write("Name,Reviewers\nnone,\n"), ImportOptions())
    assert report.refused == 1 and report.errors[0].field == "Reviewers"


def test_an_unknown_member_is_an_error_naming_row_column_and_value(eng, contacts, write):
    path = write("Name,Reviewers\nok,ann@x.org\nbad,\"ann@x.org, ghost@x.org\"\n")
    report = import_file(eng, "quote", path, ImportOptions(), Actor(system=True, lang="fr"))
    assert (report.created, report.refused) == (1, 1)
    (error,) = report.errors
    assert (error.row, error.field) == (3, "Reviewers")
    assert "ghost@x.org" in error.message and "Aucun" in error.message
    assert set(quotes_by_name(eng)) == {"ok"}


def test_an_unknown_number_is_refused_as_a_missing_record(eng, contacts, write):
    report = import_file(eng, "quote", write("Name,Reviewers\nbad,#999999\n"), ImportOptions())
    assert report.refused == 1 and "999999" in report.errors[0].message


def test_the_keys_of_a_chunk_are_looked_up_in_one_query(eng, contacts, write):
    rows = "".join(f"Q{i},\"ann@x.org, bob@x.org, {['cy', 'dee', 'eve'][i % 3]}@x.org\"\n" for i in range(60))
    statements: list[str] = []
    sa.event.listen(eng.db, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
    report = import_file(eng, "quote", write("Name,Reviewers\n" + rows), ImportOptions())
    assert report.created == 60, report.errors
    lookups = [s for s in statements if "FROM ent_contact" in s and "ent_contact.email IN" in s]
    assert len(lookups) == 1, [s for s in statements if "contact" in s]


def test_an_update_replaces_the_set(eng, contacts, write):
    import_file(eng, "quote", write("Name,Reviewers\nQ,\"ann@x.org, bob@x.org\"\n"), ImportOptions())
    report = import_file(eng, "quote", write("Name,Reviewers\nQ,\"bob@x.org, cy@x.org\"\n"),
                         ImportOptions(key=("name",)))
    assert (report.updated, report.error_count) == (1, 0), report.errors
    assert quotes_by_name(eng)["Q"]["reviewers"] == sorted([contacts["bob@x.org"], contacts["cy@x.org"]])
    again = import_file(eng, "quote", write("Name,Reviewers\nQ,\"cy@x.org, bob@x.org\"\n"),
                        ImportOptions(key=("name",)))
    assert (again.updated, again.unchanged) == (0, 1)


def test_export_then_import_gives_the_same_members(eng, contacts, write, tmp_path):
    ids = sorted(contacts.values())
    with eng.records.transaction(SYSTEM_ACTOR) as tx:
        tx.create_many("quote", [{"name": "A", "reviewers": ids[:3]}, {"name": "B", "reviewers": [ids[4]]}])
    export = Export(eng, "quote", None, SYSTEM_ACTOR, columns=["name", "reviewers"])
    path = tmp_path / "quotes.csv"
    with path.open("wb") as out:
        export.write(out)
    text = path.read_text(encoding="utf-8-sig")
    assert '"ann@x.org, bob@x.org, cy@x.org"' in text
    with eng.records.transaction(SYSTEM_ACTOR) as tx:
        for q in quotes_by_name(eng).values():
            tx.update("quote", q["id"], {"reviewers": [ids[3]]})
    report = import_file(eng, "quote", path, ImportOptions(key=("name",)))
    assert (report.updated, report.error_count) == (2, 0), report.errors
    quotes = quotes_by_name(eng)
    assert (quotes["A"]["reviewers"], quotes["B"]["reviewers"]) == (ids[:3], [ids[4]])


def test_a_member_out_of_the_actors_scope_is_refused_as_a_missing_one(eng, contacts, write):
    from engine.access.accounts import Accounts

    accounts = Accounts(eng)
    user_id = accounts.create_user("scoped", "Scoped", "a long password", ("own_contacts_importer",))
    actor = accounts.actor_for(user_id)
    mine = eng.records.create("contact", {"last_name": "Mine", "email": "mine@x.org"}, actor)["id"]
    path = write("Name,Reviewers\n"
                 "ok,mine@x.org\n"
                 "hidden,\"mine@x.org, ann@x.org\"\n"
                 "missing,\"mine@x.org, ghost@x.org\"\n"
                 f"hidden_id,#{contacts['ann@x.org']}\n"
                 "missing_id,#999999\n")
    report = import_file(eng, "quote", path, ImportOptions(), actor)
    assert (report.created, report.refused) == (1, 4), report.errors
    messages = [e.message for e in report.errors]
    assert messages[0].replace("ann@x.org", "X") == messages[1].replace("ghost@x.org", "X")
    assert messages[2].replace(str(contacts["ann@x.org"]), "X") == messages[3].replace("999999", "X")
    assert quotes_by_name(eng)["ok"]["reviewers"] == [mine]
