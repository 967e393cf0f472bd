"""What a failed job says: an expected failure its own words, anything else a sentence with the id it
was logged under (never SQL, a Python exception's text or a traceback); and what a job stores is
always storable (PostgreSQL refuses NUL; `sys_job_error.field` has 200 characters)."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Actor, NotFoundError, PermissionDenied, RecordValidationError, StateError
from engine.core.errors import RuleError
from engine.jobs.failures import MESSAGES, expected_message
from engine.jobs.service import FIELD_LENGTH, JobContext, JobError, job_kind
from engine.jobs.stored_text import describe_character, first_unstorable, printable, storable
from recording_dispatcher import Recorder

ERROR_ID = re.compile(r"\b([0-9a-f]{8})\b")
SECRET = "SELECT secret FROM sys_login"

FAILURES: dict[str, Callable[[], BaseException]] = {
    "runtime": lambda: RuntimeError(f"the disk is full; {SECRET}"),
    "database": lambda: sa.exc.DataError(SECRET, {"x": 1}, Exception("PostgreSQL text fields cannot contain NUL")),
    "state": lambda: StateError(f"sample 9 is {SECRET}"),
    "key": lambda: KeyError(SECRET),
}
"""Failures that are nobody's expected words: each must end as the generic message with an id."""

EXPECTED: dict[str, tuple[Callable[[], BaseException], dict[str, str]]] = {
    "permission": (lambda: PermissionDenied("sample", "mass_update"), {
        "en": "You are not (or no longer) allowed to mass-update the records of Sample.",
        "fr": "Vous n'avez pas (ou plus) le droit de modifier en masse les enregistrements Échantillon.",
    }),
    "not_found": (lambda: NotFoundError("sample", 9), {
        "en": "Sample 9 does not exist (any more).", "fr": "Échantillon 9 n'existe pas (ou plus).",
    }),
    "invalid": (lambda: RecordValidationError({"qty": [RuleError("qty", "mandatory")]}, "sample"), {
        "en": "qty: This field is mandatory.", "fr": "qty: Ce champ est obligatoire.",
    }),
}


@job_kind("test_job_failures")
def failing_job(ctx: JobContext) -> dict[str, Any]:
    case = ctx.params["case"]
    if case in FAILURES:
        raise FAILURES[case]()
    raise EXPECTED[case][0]()


@job_kind("test_job_failures_storable")
def storing_job(ctx: JobContext) -> dict[str, Any]:
    errors = [JobError(row, None, field, message) for row, field, message in ctx.params["errors"]]
    ctx.report(done=len(errors), errors=errors)
    return {"stored": len(errors)}


def failed(engine, case: str, lang: str) -> dict[str, Any]:
    engine.jobs.dispatcher = Recorder()
    job_id = engine.jobs.submit("test_job_failures", {"case": case}, Actor(system=True, lang=lang))
    assert engine.jobs.run(job_id) is True
    return engine.jobs.get(job_id, SYSTEM_ACTOR)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("case", sorted(FAILURES))
def test_an_unexpected_failure_shows_an_id_and_logs_the_details_under_it(engine, caplog, case, lang):
    job = failed(engine, case, lang)
    assert job["state"] == "failed"
    [error_id] = ERROR_ID.findall(job["message"])
    assert job["message"] == MESSAGES["unexpected"][lang].format(error_id=error_id)
    assert "secret" not in job["message"].lower() and "Traceback" not in job["message"]
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.levelname == "ERROR" and SECRET in record.exc_text and "Traceback" in record.exc_text


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_an_expected_failure_keeps_its_own_words_in_the_users_language(engine, caplog, case, lang):
    """The entity is named by its label (tests/engine/pack: Sample, Échantillon)."""
    job = failed(engine, case, lang)
    assert (job["state"], job["message"]) == ("failed", EXPECTED[case][1][lang])
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_two_failures_get_two_ids(engine):
    first, second = failed(engine, "runtime", "en"), failed(engine, "runtime", "en")
    assert ERROR_ID.findall(first["message"]) != ERROR_ID.findall(second["message"])


def test_a_message_method_that_fails_is_not_taken_for_words():
    class Odd(Exception):
        def message(self, lang):
            raise TypeError("no language here")

    assert expected_message(Odd(), "en") is None


# -- what a job stores ---------------------------------------------------------------------------

UNSTORABLE = ["\x00", "\ud800", "\udfff"]
STORABLE_EDGES = ["\x01", "\ud7ff", "\ue000", "\U0010ffff", "é"]


@pytest.mark.parametrize("char", UNSTORABLE)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_unstorable_characters_are_found_wherever_they_are(char, where):
    text = {"start": char + "abc", "middle": "ab" + char + "c", "end": "abc" + char}[where]
    assert first_unstorable(text) == char
    shown = printable(text)
    assert first_unstorable(shown) is None and f"\\u{ord(char):04x}" in shown


@pytest.mark.parametrize("char", STORABLE_EDGES)
def test_the_characters_around_them_are_storable(char):
    assert first_unstorable("a" + char) is None and printable("a" + char) == "a" + char


def test_characters_are_described_by_code_point():
    assert describe_character("\x00") == "U+0000 (NUL)"
    assert describe_character("\ud800") == "U+D800"


@pytest.mark.parametrize("length,stored", [(FIELD_LENGTH - 1, FIELD_LENGTH - 1), (FIELD_LENGTH, FIELD_LENGTH),
                                           (FIELD_LENGTH + 1, FIELD_LENGTH)])
def test_storable_cuts_at_the_column_length(length, stored):
    text = "x" * length
    assert len(storable(text, FIELD_LENGTH)) == stored
    assert storable(text, FIELD_LENGTH) == text or storable(text, FIELD_LENGTH).endswith("…")


def test_a_job_stores_any_error_text_and_column_name_on_any_database(engine):
    """The last safety net: whatever a job kind reports, the database takes it (PostgreSQL: NUL)."""
    engine.jobs.dispatcher = Recorder()
    errors = [
        [2, "na\x00me", "bad \x00 cell"],
        [3, "h" * (FIELD_LENGTH + 50), "a long column name"],
        [4, "h" * FIELD_LENGTH, "a column name at the limit"],
    ]
    job_id = engine.jobs.submit("test_job_failures_storable", {"errors": errors}, SYSTEM_ACTOR)
    assert engine.jobs.run(job_id) is True
    job = engine.jobs.get(job_id, SYSTEM_ACTOR)
    assert job["state"] == "done", job["message"]
    stored = engine.jobs.errors(job_id, SYSTEM_ACTOR)
    assert [(e["row"], e["field"], e["message"]) for e in stored] == [
        (2, "na\\u0000me", "bad \\u0000 cell"),
        (3, "h" * (FIELD_LENGTH - 1) + "…", "a long column name"),
        (4, "h" * FIELD_LENGTH, "a column name at the limit"),
    ]
