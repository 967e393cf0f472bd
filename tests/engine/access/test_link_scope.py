"""A link must name a record the actor may read: a record outside their read scope is refused
exactly like an id that names no record (same rule, same message), so that no answer tells
which ids exist. On create, update, transition, mass update, create_many and import; the bulk
paths check set-based (one query per link column per chunk of ids)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import metamodel
from engine import SYSTEM_ACTOR, Actor, Engine, RecordValidationError
from engine.core.errors import BatchValidationError
from engine.exchange.importer import ImportOptions, import_file
from engine.records.transaction import LOOKUP_CHUNK

CLERK_ROLE = """\
role: clerk
label: {en: Clerk, fr: Employé}
entities:
  task: {can: all, scope: own}
  lead: {can: [read], scope: own}
  user: {can: [read]}
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> metamodel.model.Model:
    """The base pack and a role that may import tasks but read only its own leads."""
    pack = tmp_path_factory.mktemp("clerk_pack")
    (pack / "pack.yaml").write_text(
        "pack: link_scope\nversion: 1.0.0\nlabel: {en: Link scope, fr: Portée des liens}\nrequires: {base: \">=1.0\"}\n")
    (pack / "roles").mkdir()
    (pack / "roles" / "clerk.yaml").write_text(CLERK_ROLE)
    return metamodel.load_model([metamodel.BASE_PACK, pack])


@pytest.fixture
def engine(make_engine, model) -> Engine:
    return make_engine(model)


class People:
    def __init__(self, engine: Engine):
        ann, bob = engine.records.create_many("user", [
            {"username": "ann", "display_name": "Ann", "team": "sales_france"},
            {"username": "bob", "display_name": "Bob", "team": "sales_france"},
        ], SYSTEM_ACTOR)
        self.ann = Actor(user_id=ann, username="ann", roles=frozenset({"sales"}), team="sales_france")
        self.clerk = Actor(user_id=ann, username="ann", roles=frozenset({"clerk"}), team="sales_france")
        self.bob = Actor(user_id=bob, username="bob", roles=frozenset({"sales"}), team="sales_france")


@pytest.fixture
def people(engine: Engine) -> People:
    return People(engine)


@pytest.fixture
def leads(engine: Engine, people: People) -> dict[str, int]:
    """Ann's lead (hers to read), Bob's (outside her `own` scope), a trashed one of hers, and an id of none."""
    lead = {"last_name": "Lead", "phone": "0102030405"}
    mine = engine.records.create("lead", {**lead, "last_name": "Mine"}, people.ann)["id"]
    theirs = engine.records.create("lead", {**lead, "last_name": "Theirs"}, people.bob)["id"]
    trashed = engine.records.create("lead", {**lead, "last_name": "Trashed"}, people.ann)["id"]
    engine.records.delete("lead", trashed, SYSTEM_ACTOR)
    return {"mine": mine, "theirs": theirs, "trashed": trashed, "none": theirs + 1000}


REFUSED = ("theirs", "trashed", "none")


def link_error(caught: pytest.ExceptionInfo, field: str = "lead") -> tuple[str, str, str]:
    """The rule and its message in both languages, the refused id written as <id>."""
    (error,) = caught.value.errors[field]
    value = str(error.params["value"])
    return error.rule, error.message("en").replace(value, "<id>"), error.message("fr").replace(value, "<id>")


def refusals(attempt: Any) -> dict[str, tuple[str, str, str]]:
    found = {}
    for which in REFUSED:
        with pytest.raises(RecordValidationError) as caught:
            attempt(which)
        found[which] = link_error(caught)
    return found


def assert_same_refusal(found: dict[str, tuple[str, str, str]]) -> None:
    assert found["none"][0] == "link"
    assert found["theirs"] == found["none"] == found["trashed"], found


def test_create_refuses_a_lead_out_of_scope_as_a_lead_that_does_not_exist(engine, people, leads) -> None:
    task = engine.records.create("task", {"subject": "Call", "lead": leads["mine"]}, people.ann)
    assert task["lead"] == leads["mine"]
    assert_same_refusal(refusals(lambda which: engine.records.create(
        "task", {"subject": "Call", "lead": leads[which]}, people.ann)))
    # The same lead is fine for Bob, whose it is; and for the system, which reads everything.
    assert engine.records.create("task", {"subject": "Call", "lead": leads["theirs"]}, people.bob)["lead"] == leads["theirs"]
    assert engine.records.create("task", {"subject": "Call", "lead": leads["theirs"]}, SYSTEM_ACTOR)


def test_update_and_transition_refuse_it_too(engine, people, leads) -> None:
    task = engine.records.create("task", {"subject": "Call"}, people.ann)
    assert_same_refusal(refusals(lambda which: engine.records.update("task", task["id"], {"lead": leads[which]}, people.ann)))
    assert_same_refusal(refusals(lambda which: engine.records.transition(
        "task", task["id"], "begin", people.ann, values={"lead": leads[which]})))
    assert engine.records.get("task", task["id"])["lead"] is None
    assert engine.records.update("task", task["id"], {"lead": leads["mine"]}, people.ann)["lead"] == leads["mine"]


def test_mass_update_refuses_the_whole_update(engine, people, leads) -> None:
    ids = [engine.records.create("task", {"subject": f"Call {n}"}, people.ann)["id"] for n in range(3)]
    assert_same_refusal(refusals(lambda which: engine.records.mass_update("task", ids, {"lead": leads[which]}, people.ann)))
    assert {engine.records.get("task", i)["lead"] for i in ids} == {None}
    assert engine.records.mass_update("task", ids, {"lead": leads["mine"]}, people.ann).changed == 3


def test_create_many_refuses_the_rows_naming_one(engine, people, leads) -> None:
    rows = [{"subject": which, "lead": leads[which]} for which in ("mine", *REFUSED)]
    with pytest.raises(BatchValidationError) as caught:
        engine.records.create_many("task", rows, people.ann)
    assert sorted(caught.value.rows) == [1, 2, 3]
    messages = {caught.value.rows[i]["lead"][0].message("en").replace(str(rows[i]["lead"]), "<id>") for i in (1, 2, 3)}
    assert len(messages) == 1


def test_a_restored_record_keeps_links_someone_else_set(engine, people, leads) -> None:
    """Restoring chooses no link: the links the record had stay, even to records the actor may not read."""
    task = engine.records.create("task", {"subject": "Call", "lead": leads["theirs"]}, SYSTEM_ACTOR)
    engine.records.update("task", task["id"], {"assigned_to": people.ann.user_id}, SYSTEM_ACTOR)
    engine.records.delete("task", task["id"], people.ann)
    assert engine.records.restore("task", task["id"], people.ann)["lead"] == leads["theirs"]
    # changing another characteristic does not choose the link again either
    assert engine.records.update("task", task["id"], {"subject": "Still"}, people.ann)["lead"] == leads["theirs"]


# -- bulk paths: set-based ----------------------------------------------------------------------


@pytest.fixture
def many_leads(engine: Engine, people: People) -> list[int]:
    """One past a lookup chunk of Ann's leads."""
    rows = [{"last_name": f"Lead {n}", "phone": "0102030405", "assigned_to": people.ann.user_id}
            for n in range(LOOKUP_CHUNK + 1)]
    return engine.records.create_many("lead", rows, SYSTEM_ACTOR)


@contextmanager
def lead_lookups(engine: Engine) -> Iterator[list[str]]:
    """The SELECTs that read the lead table while the block runs."""
    seen: list[str] = []
    table = engine.tables.of("lead").name

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", record)


@pytest.mark.parametrize("distinct", [1, LOOKUP_CHUNK, LOOKUP_CHUNK + 1])
def test_create_many_checks_links_with_one_query_per_chunk_of_ids(engine, people, many_leads, distinct) -> None:
    rows = [{"subject": f"Call {n}", "lead": many_leads[n % distinct]} for n in range(2 * len(many_leads))]
    with lead_lookups(engine) as seen:
        ids = engine.records.create_many("task", rows, people.ann)
    assert len(ids) == len(rows)
    assert len(seen) == -(-distinct // LOOKUP_CHUNK)  # whatever the number of rows


def test_mass_update_checks_the_link_once(engine, people, leads, many_leads) -> None:
    ids = engine.records.create_many("task", [{"subject": f"Call {n}"} for n in range(50)], people.ann)
    with lead_lookups(engine) as seen:
        engine.records.mass_update("task", ids, {"lead": leads["mine"]}, people.ann)
    assert len(seen) == 1


# -- import ---------------------------------------------------------------------------------------


def test_import_refuses_a_lead_out_of_scope_as_one_that_does_not_exist(engine, people, leads, tmp_path: Path) -> None:
    lines = ["subject,lead"] + [f"{which},#{leads[which]}" for which in ("mine", *REFUSED)]
    path = tmp_path / "tasks.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(engine, "task", path, ImportOptions(), people.clerk)
    assert report.summary()["created"] == 1, report.summary()
    refused = {error.row: error for error in report.errors}
    assert sorted(refused) == [3, 4, 5]
    messages = {str(refused[row].message).replace(str(leads[which]), "<id>")
                for row, which in zip((3, 4, 5), REFUSED)}
    assert len(messages) == 1, messages
    created = engine.records.list("task", actor=people.clerk).rows
    assert [(row["subject"], row["lead"]) for row in created] == [("mine", leads["mine"])]
