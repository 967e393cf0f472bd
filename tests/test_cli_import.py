"""`ossature import ENTITY FILE`: CSV imports from the command line, run as a job with a progress bar."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import metamodel
from engine import SYSTEM_ACTOR
from ossature.commands.imports import import_command


@pytest.fixture
def engine(make_engine, database_url: str):
    engine = make_engine(metamodel.load_model([metamodel.BASE_PACK]))
    engine.records.create("account", {"name": "Acme"}, SYSTEM_ACTOR)
    return engine


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, engine):
    monkeypatch.delenv("OSSATURE_PACKS", raising=False)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(import_command, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "Nom;Prénom;Compte;E-mail professionnel;Fonction\n"
        "Durand;Éric;Acme;eric@example.org;Ingénieur\n"
        "Martin;Anne;;anne@example.org;cfo\n"
        ";Paul;Nowhere;paul@example.org;\n".encode("cp1252")
    )
    return path


def contact_rows(engine) -> list[dict]:
    table = engine.tables.of("contact")
    with engine.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def test_import_writes_the_good_rows_and_lists_the_bad_ones(run, engine, contacts):
    result = run("contact", contacts)
    assert result.exit_code == 0, result.output
    assert result.stdout == "contact: 3 row(s): 2 created, 0 updated, 0 unchanged, 1 refused\n"
    assert "importing" in result.stderr  # the progress bar
    assert "  row 4, Nom: This field is mandatory.\n" in result.stderr
    assert "  row 4, Compte: No account with name 'Nowhere'.\n" in result.stderr
    stored = contact_rows(engine)
    assert [(c["last_name"], c["first_name"], c["function"]) for c in stored] == [
        ("Durand", "Éric", "engineer"), ("Martin", "Anne", "cfo"),
    ]
    assert stored[0]["account"] == engine.records.list("account").rows[0]["id"]


def test_dry_run_says_what_would_happen_and_writes_nothing(run, engine, contacts):
    result = run("contact", contacts, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("contact: 3 row(s) checked (dry run, nothing written): 2 would be created")
    assert contact_rows(engine) == []


def test_upsert_by_the_natural_key_with_a_mapped_and_a_skipped_column(run, engine, tmp_path, contacts):
    run("contact", contacts)
    path = tmp_path / "update.csv"
    path.write_text("Mail,Nom,Ignored\neric@example.org,Durand-Roy,x\nnew@example.org,Neuf,y\n", encoding="utf-8")
    result = run("contact", path, "--upsert", "--map", "Mail=email", "--map", "Ignored=")
    assert result.exit_code == 0, result.output
    assert result.stdout == "contact: 2 row(s): 1 created, 1 updated, 0 unchanged, 0 refused\n"
    assert [c["last_name"] for c in contact_rows(engine)] == ["Durand-Roy", "Martin", "Neuf"]


def test_an_unknown_column_fails_naming_it(run, engine, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("last_name;Shoe size\nDurand;42\n", encoding="utf-8")
    result = run("contact", path)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: import failed: Unknown column 'Shoe size'")
    assert "  row 1, Shoe size: Unknown column 'Shoe size'" in result.stderr
    assert contact_rows(engine) == []


def test_messages_in_french(run, tmp_path):
    path = tmp_path / "fr.csv"
    path.write_text("Nom;Compte\nDurand;Nulle part\n", encoding="utf-8")
    result = run("contact", path, "--lang", "fr")
    assert result.exit_code == 0
    assert "  row 2, Compte: Aucun enregistrement account avec name « Nulle part ».\n" in result.stderr


def test_a_user_needs_the_import_permission(run, engine, contacts):
    from engine.access.accounts import Accounts

    accounts = Accounts(engine)
    accounts.migrate()
    accounts.create_user("sam", "Sam", "a-long-password", ["sales"])
    result = run("contact", contacts, "--user", "sam")
    assert result.exit_code == 1
    assert result.stderr == "error: not allowed to import contact\n"
    assert run("contact", contacts, "--user", "nobody").stderr == "error: no user 'nobody'\n"


@pytest.mark.parametrize("args,message", [
    (("--map", "name"), "error: --map 'name': expected HEADER=FIELD"),
    (("--format", "xlsx"), "error: --format: No import format 'xlsx'"),  # refused before any job
])
def test_bad_options_are_refused(run, contacts, args, message):
    result = run("contact", contacts, *args)
    assert result.exit_code == 1 and result.stderr.startswith(message)


def test_an_unknown_entity_is_refused(run, contacts):
    result = run("gizmo", contacts)
    assert result.exit_code == 1 and result.stderr.startswith("error: no entity 'gizmo' (entities: account,")


@pytest.mark.parametrize("args,flag,english,french", [
    (("--encoding", "rot13"), "--encoding", "'rot13' is not an encoding of text files",
     "« rot13 » n'est pas un encodage de fichiers texte"),
    (("--encoding", "klingon"), "--encoding", "Unknown encoding 'klingon'", "Encodage inconnu « klingon »"),
    (("--delimiter", ";;"), "--delimiter", "The separator must be one character",
     "Le séparateur doit être un seul caractère"),
    (("--format", "xlsx"), "--format", "No import format 'xlsx'", "Aucun format d'import « xlsx »"),
    (("--key", "shoe_size"), "--key", "The key field 'shoe_size' is not a characteristic of contact.",
     "Le champ clé « shoe_size » n'est pas une caractéristique de contact."),
    (("--map", "Nom=shoe_size"), "--map", "The mapping of 'Nom' names 'shoe_size'",
     "L'association de « Nom » désigne « shoe_size »"),
])
def test_an_option_the_engine_refuses_ends_the_command_naming_it_and_queues_nothing(
    run, engine, contacts, args, flag, english, french
):
    for lang, expected in (("en", english), ("fr", french)):
        result = run("contact", contacts, *args, "--lang", lang)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {flag}: {expected}")
        assert "Traceback" not in result.output and "LookupError" not in result.output
    assert engine.jobs.list(SYSTEM_ACTOR, limit=None) == [] and contact_rows(engine) == []


def test_a_header_holding_nul_fails_the_import_naming_the_column(run, engine, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"Nom;Pr\x00enom\nDurand;Eric\n")
    result = run("contact", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: import failed: Column 2 of the header ('Pr\\u0000enom') contains the character U+0000 (NUL), "
        "which cannot be stored: remove it from the file.")
    assert "SQL" not in result.output and "psycopg" not in result.output
