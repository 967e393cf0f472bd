"""Import options are checked once, in the engine, before a job is queued: the pages, the API and
the command line all refuse a bad one with the same words (English and French), naming it."""

from __future__ import annotations

import codecs
import encodings
import pkgutil
import re
import string
from pathlib import Path
from typing import Any

import pytest

import metamodel
from engine import SYSTEM_ACTOR, Actor
from engine.exchange.csv_source import NOT_FILE_ENCODINGS, csv_delimiter, text_encoding
from engine.exchange.import_checks import check_options
from engine.exchange.import_messages import ImportOptionError
from engine.exchange.import_options import MAX_CHUNK_ROWS, ImportOptions
from engine.exchange.importer import import_file, submit_import
from recording_dispatcher import Recorder

PACK = Path(__file__).resolve().parents[2] / "fixtures" / "import" / "pack"
SYSTEM_FR = Actor(system=True, lang="fr")


@pytest.fixture(scope="module")
def import_model() -> metamodel.model.Model:
    return metamodel.load_model([PACK])


@pytest.fixture
def engine(make_engine, import_model):
    engine = make_engine(import_model)
    engine.jobs.dispatcher = Recorder()
    return engine


@pytest.fixture
def csv_file(tmp_path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAnn,ann@example.org\n", encoding="utf-8")
    return path


# -- encodings: every codec Python ships, each expected answer computed from the codec itself ------


def _codec_names() -> list[str]:
    names = {name for _, name, _ in pkgutil.iter_modules(encodings.__path__)} - {"aliases"}
    found = []
    for name in sorted(names):
        try:
            codecs.lookup(name)
        except LookupError:  # a module that registers no codec of that name (mbcs off Windows...)
            continue
        found.append(name)
    return found


def _is_file_encoding(name: str) -> bool:
    info = codecs.lookup(name)
    return info._is_text_encoding and info.name not in NOT_FILE_ENCODINGS and info.name != "undefined"


@pytest.mark.parametrize("name", _codec_names())
def test_an_encoding_is_accepted_exactly_when_it_is_a_text_encoding_files_are_written_in(name):
    if _is_file_encoding(name):
        assert text_encoding(name) == codecs.lookup(name).name
    else:
        with pytest.raises(ImportOptionError) as caught:
            text_encoding(name)
        assert (caught.value.parameter, caught.value.reason) == ("encoding", "not_text_encoding")


@pytest.mark.parametrize("name", ["klingon", "", "   ", "utf-8\x00", "utf\ud800"])
def test_a_name_no_codec_has_is_an_unknown_encoding(name):
    with pytest.raises(ImportOptionError) as caught:
        text_encoding(name)
    assert (caught.value.parameter, caught.value.reason) == ("encoding", "unknown_encoding")
    assert "\x00" not in caught.value.message() and "\ud800" not in caught.value.message()


def test_rot13_is_refused_in_both_languages():
    with pytest.raises(ImportOptionError) as caught:
        text_encoding("rot13")
    assert caught.value.message("en") == (
        "'rot13' is not an encoding of text files: give one such as utf-8, cp1252 or iso-8859-1.")
    assert caught.value.message("fr") == (
        "« rot13 » n'est pas un encodage de fichiers texte : indiquez-en un comme utf-8, cp1252 ou iso-8859-1.")


# -- separators: every ASCII character, one and two of them, and the names of the tab -------------

REFUSED_DELIMITERS = set('"\'\r\n') | set(string.ascii_letters + string.digits)


@pytest.mark.parametrize("char", [chr(code) for code in range(128)])
def test_a_one_character_separator_is_accepted_unless_it_cannot_separate_cells(char):
    good = char not in REFUSED_DELIMITERS and (char.isprintable() or char == "\t")
    if good:
        assert csv_delimiter(char) == char
    else:
        with pytest.raises(ImportOptionError) as caught:
            csv_delimiter(char)
        assert caught.value.parameter == "delimiter" and "\x00" not in caught.value.message()


@pytest.mark.parametrize("text,expected", [("tab", "\t"), ("\\t", "\t"), ("\t", "\t"), ("|", "|"), ("§", "§")])
def test_separator_names(text, expected):
    assert csv_delimiter(text) == expected


@pytest.mark.parametrize("text", ["", ";;", ", ", "tabs", "é"])
def test_a_separator_of_no_or_two_characters_or_a_letter_is_refused(text):
    with pytest.raises(ImportOptionError, match="one character"):
        csv_delimiter(text)


# -- every option, through check_options and submit_import -------------------------------------

BAD_OPTIONS: list[tuple[dict[str, Any], str, str]] = [
    ({"encoding": "rot13"}, "encoding", "not_text_encoding"),
    ({"encoding": "klingon"}, "encoding", "unknown_encoding"),
    ({"encoding": 8}, "encoding", "option_text"),
    ({"delimiter": ";;"}, "delimiter", "bad_delimiter"),
    ({"delimiter": '"'}, "delimiter", "bad_delimiter"),
    ({"format": "xlsx"}, "format", "unknown_format"),
    ({"format": None}, "format", "option_text"),
    ({"chunk_size": 0}, "chunk_size", "chunk_size"),
    ({"chunk_size": MAX_CHUNK_ROWS + 1}, "chunk_size", "chunk_size"),
    ({"chunk_size": True}, "chunk_size", "chunk_size"),
    ({"chunk_size": "10"}, "chunk_size", "chunk_size"),
    ({"upsert": "yes"}, "upsert", "option_flag"),
    ({"dry_run": 1}, "dry_run", "option_flag"),
    ({"key": "email"}, "key", "option_list"),
    ({"key": ("shoe",)}, "key", "key_unknown"),
    ({"key": ("tags",)}, "key", "key_type"),
    ({"key": ("em\x00ail",)}, "key", "option_characters"),
    ({"mapping": {"Col": "shoe"}}, "mapping", "unknown_field"),
    ({"mapping": {"Col": "na\x00me"}}, "mapping", "option_characters"),
    ({"mapping": {"Co\x00l": "name"}}, "mapping", "option_characters"),
    ({"mapping": {"Col": 3}}, "mapping", "option_mapping"),
    ({"mapping": ["Col"]}, "mapping", "option_mapping"),
]


@pytest.mark.parametrize("options,parameter,reason", BAD_OPTIONS)
def test_a_bad_option_is_refused_at_submit_and_no_job_is_queued(engine, csv_file, options, parameter, reason):
    with pytest.raises(ImportOptionError) as caught:
        submit_import(engine, "person", csv_file, ImportOptions(**options), SYSTEM_FR)
    assert (caught.value.parameter, caught.value.reason) == (parameter, reason)
    english, french = caught.value.message("en"), caught.value.message("fr")
    assert english and french and english != french
    assert "\x00" not in english + french and "{" not in english + french
    assert engine.jobs.list(SYSTEM_ACTOR, limit=None) == [] and engine.jobs.dispatcher.sent == []


@pytest.mark.parametrize("size", [1, MAX_CHUNK_ROWS])
def test_the_chunk_size_bounds_are_accepted(engine, size):
    assert check_options(engine, "person", ImportOptions(chunk_size=size), SYSTEM_ACTOR).chunk_size == size


def test_a_protected_characteristic_in_the_mapping_is_refused_for_a_user_not_for_the_system(engine):
    options = ImportOptions(mapping={"Stamp it": "stamp"})
    assert check_options(engine, "person", options, SYSTEM_ACTOR).mapping == {"Stamp it": "stamp"}
    user = engine.records.create("user", {"username": "imp"}, SYSTEM_ACTOR)["id"]
    importer = Actor(user_id=user, username="imp", roles=frozenset({"importer"}))
    with pytest.raises(ImportOptionError) as caught:
        check_options(engine, "person", options, importer)
    assert (caught.value.parameter, caught.value.reason) == ("mapping", "protected_column")


def test_good_options_are_normalised_and_queued(engine, csv_file):
    options = ImportOptions(key=("email",), delimiter="tab", encoding=" utf-8 ", mapping={"Mail": "Courriel"})
    job_id = submit_import(engine, "person", csv_file, options, SYSTEM_ACTOR)
    stored = engine.jobs.get(job_id, SYSTEM_ACTOR)["params"]["options"]
    assert (stored["delimiter"], stored["encoding"], stored["key"], stored["upsert"]) == ("\t", "utf-8", ["email"], True)


def test_unknown_option_names_are_refused_by_name_in_both_languages():
    with pytest.raises(ImportOptionError) as caught:
        ImportOptions.from_dict({"encodng": "utf-8", "zz": 1})
    assert caught.value.parameter == "encodng"
    assert caught.value.message("en").startswith("Unknown import option(s): encodng, zz (options: mapping, key, ")
    assert caught.value.message("fr").startswith("Option(s) d'import inconnue(s) : encodng, zz (options : ")


@pytest.mark.parametrize("data,parameter", [({"key": "email"}, "key"), ({"key": 3}, "key"),
                                            ({"mapping": ["a"]}, "mapping"), ({"mapping": {"a": 1}}, "mapping"),
                                            ({"chunk_size": -1}, "chunk_size")])
def test_options_of_the_wrong_type_from_a_jobs_json_are_refused_by_name(data, parameter):
    with pytest.raises(ImportOptionError) as caught:
        ImportOptions.from_dict(data)
    assert caught.value.parameter == parameter


def test_an_import_started_without_submit_reports_a_bad_option_on_the_file(engine, csv_file):
    report = import_file(engine, "person", csv_file, ImportOptions(encoding="rot13"), SYSTEM_FR)
    assert [e.message for e in report.file_errors] == [
        "« rot13 » n'est pas un encodage de fichiers texte : indiquez-en un comme utf-8, cp1252 ou iso-8859-1."]
    assert report.created == 0


def test_a_job_queued_with_bad_options_fails_with_their_words_not_pythons(engine, csv_file):
    """A job queued before the checks existed (or by hand) still says what is wrong in words."""
    params = {"entity": "person", "path": str(csv_file), "options": {"encoding": "rot13"}}
    job_id = engine.jobs.submit("import", params, SYSTEM_FR, entity="person")
    engine.jobs.run(job_id)
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "failed"
    assert job["message"] == (
        "« rot13 » n'est pas un encodage de fichiers texte : indiquez-en un comme utf-8, cp1252 ou iso-8859-1.")
    assert not re.search(r"LookupError|codecs|Traceback", job["message"])
