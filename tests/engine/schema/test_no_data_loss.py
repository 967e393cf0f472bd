"""No definition change loses a value: a Hypothesis state machine edits the definitions of a
populated database (add, remove, restore, rename, retype, tighten, loosen a characteristic;
remove and restore an entity) and migrates after each edit. After every step, every value
ever written is in its column (the members of a `links`: in its join table), or in the
archive; restoring brings it back. A `link` may become a `links`.

The machine keeps its own account of where each value should be; retypes are judged by
the rules of the conversion (engine/schema/convert.py), written out again here for the
pairs it tries: a retype that would lose a value must be refused, with nothing changed.

Runs on SQLite, and on PostgreSQL when OSSATURE_TEST_DATABASE_URL is set. Derandomized
(the same sequences every run) unless OSSATURE_HYPOTHESIS_RANDOM is set;
OSSATURE_HYPOTHESIS_EXAMPLES raises the number of sequences for a deeper local run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, ContextManager

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)

from engine import SYSTEM_ACTOR, Engine
from engine.schema.archive import ArchiveError, archive_entries
from engine.schema.archive_restore import restore_archived
from engine.schema.cleanup import records_to_clean
from engine.schema.state import ARCHIVE, field_from_snapshot
from engine.schema.steps import MigrationRefused
from engine.storage.trail import from_json
from evolution_support import Evolution

NAMES = ("f1", "f2", "f3", "f4", "f5")
CODES = ("s", "m", "l")
TYPES = ("string", "text", "integer", "decimal", "date", "datetime", "boolean", "choice", "multi_choice", "link",
         "links")
RETYPES = {
    "string": ("integer", "decimal", "boolean", "text"),
    "text": ("string",),
    "integer": ("decimal", "string"),
    "decimal": ("integer", "string"),
    "date": ("datetime",),
    "datetime": ("date",),
    "boolean": ("string",),
    "choice": ("multi_choice",),
    "multi_choice": ("choice",),
    "link": ("links",),
    "links": (),
}
CENT = Decimal("0.01")
LIST_TYPES = ("choice", "multi_choice")
RELATION_TYPES = ("link", "links")
"""Relations name records of `owner` (the evolution base pack's entity), which the machine never removes."""

ON_POSTGRES = bool(os.environ.get("OSSATURE_TEST_DATABASE_URL"))
"""Each step there costs a few catalog queries more: fewer, shorter sequences keep the test under
half a minute on either database."""
SETTINGS = settings(
    max_examples=int(os.environ.get("OSSATURE_HYPOTHESIS_EXAMPLES", "3" if ON_POSTGRES else "8")),
    stateful_step_count=8 if ON_POSTGRES else 10,
    deadline=None,
    derandomize=not os.environ.get("OSSATURE_HYPOTHESIS_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


# -- values -----------------------------------------------------------------------------------


def spec_for(type_: str) -> dict[str, Any]:
    if type_ in RELATION_TYPES:
        return {"type": type_, "entity": "owner"}
    return {"type": type_, "list": "sizes"} if type_ in LIST_TYPES else {"type": type_}


def value_strategy(spec: dict[str, Any], active: tuple[str, ...], owners: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """Valid, canonical values for a characteristic as declared (bounds, lengths, active codes; a
    `links` value is its sorted member ids)."""
    t = spec["type"]
    if t == "link":
        return st.sampled_from(owners)
    if t == "links":
        return st.lists(st.sampled_from(owners), min_size=1, unique=True).map(sorted)
    if t == "string":
        longest = min(spec.get("max_length", 12), 12)
        words = st.text("abcXYZ019", min_size=1, max_size=longest)
        numbers = st.integers(-999, 99999).map(str).filter(lambda s: len(s) <= longest)
        return st.one_of(words, numbers, st.sampled_from(["true", "false", "007", "1.50"]).filter(
            lambda s: len(s) <= longest))
    if t == "text":
        return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), min_size=1,
                       max_size=15)
    if t == "integer":
        return st.integers(-1000, spec.get("max", 1000))
    if t == "decimal":
        high = spec.get("max", 100000) * 100
        return st.integers(-100000, high).map(lambda n: (Decimal(n) / 100).quantize(CENT))
    if t == "date":
        return st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))
    if t == "datetime":
        midnight = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(lambda d: dt.datetime.combine(d, dt.time()))
        return st.one_of(midnight, st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31)).map(
            lambda d: d.replace(microsecond=0)))
    if t == "boolean":
        return st.booleans()
    if t == "choice":
        return st.sampled_from(active)
    return st.lists(st.sampled_from(active), min_size=1, max_size=len(active), unique=True)


def converted(value: Any, old: str, new: str) -> tuple[bool, Any]:
    """What a retype makes of a value: (converts, new value); a lossy conversion does not convert."""
    if old == "integer" and new == "decimal":
        return True, Decimal(value).quantize(CENT)
    if new in ("string", "text") and old in ("integer", "decimal", "text", "string"):
        text = str(value)
        return (text == text.strip()), text
    if old == "string" and new == "integer":
        ok = re.fullmatch(r"-?[1-9][0-9]{0,17}|0", value) is not None
        return ok, int(value) if ok else None
    if old == "string" and new == "decimal":
        ok = re.fullmatch(r"-?(0|[1-9][0-9]{0,14})\.[0-9]{2}", value) is not None and value != "-0.00"
        return ok, Decimal(value) if ok else None
    if old == "string" and new == "boolean":
        return value in ("true", "false"), value == "true"
    if old == "decimal" and new == "integer":
        ok = value == value.to_integral_value()
        return ok, int(value) if ok else None
    if old == "boolean" and new == "string":
        return True, "true" if value else "false"
    if old == "date" and new == "datetime":
        return True, dt.datetime.combine(value, dt.time())
    if old == "datetime" and new == "date":
        ok = value.time() == dt.time()
        return ok, value.date() if ok else None
    if old == "choice" and new == "multi_choice":
        return True, [value]
    if old == "multi_choice" and new == "choice":
        return len(value) == 1, value[0] if len(value) == 1 else None
    if old == "link" and new == "links":
        return True, [value]
    raise AssertionError(f"no retype {old} -> {new} in this test")


# -- the machine --------------------------------------------------------------------------------


class DefinitionEdits(RuleBasedStateMachine):
    def __init__(self, scratch: Callable[[Path], ContextManager[str]], folder: Path):
        super().__init__()
        self.stack = ExitStack()
        url = self.stack.enter_context(scratch(folder))
        self.evolution = Evolution(url, folder)
        self.fields: dict[str, dict[str, Any]] = {}
        """Characteristics of `item` as declared now."""
        self.expected: dict[str, dict[int, Any]] = {}
        """Field -> record id -> the value its column must hold (absent: empty)."""
        self.archived: dict[str, tuple[dict[str, Any], dict[int, Any]]] = {}
        """Removed field -> (its definition then, record id -> value the archive must give back)."""
        self.retired: set[str] = set()
        self.ids: list[int] = []
        self.box: dict[int, str] | None = {}
        """Labels of the `box` records, None while `box` is archived."""
        self.box_archived: dict[int, str] = {}
        self.owners: tuple[int, ...] = ()
        """The `owner` records relations name."""
        self.engine: Engine | None = None

    def teardown(self) -> None:
        self.evolution.dispose()
        self.stack.close()

    # -- definitions ---------------------------------------------------------------------------

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(c for c in CODES if c not in self.retired)

    def definitions(self, renames: dict[str, str] | None = None) -> tuple[dict, dict]:
        item = {name: dict(spec) for name, spec in self.fields.items()}
        for new, old in (renames or {}).items():
            item[new]["renamed_from"] = old
        entities = {"item": item or {"placeholder": {"type": "string"}}}
        if self.box is not None:
            entities["box"] = {"label": {"type": "string"}}
        sizes = [{"code": c, "retired": True} if c in self.retired else c for c in CODES]
        return entities, {"sizes": sizes}

    def migrate(self, renames: dict[str, str] | None = None) -> Engine:
        entities, lists = self.definitions(renames)
        self.engine = self.evolution.engine(entities, lists)
        self.engine.migrate()
        assert self.engine.pending_migrations() == []
        return self.engine

    # -- rules ---------------------------------------------------------------------------------

    @initialize(types=st.lists(st.sampled_from(TYPES), min_size=1, max_size=3), data=st.data())
    def start(self, types: list[str], data: st.DataObject) -> None:
        for name, type_ in zip(NAMES, types):
            self.fields[name] = spec_for(type_)
            self.expected[name] = {}
        self.migrate()
        self.owners = tuple(self.engine.records.create_many("owner", [{"name": n} for n in "abc"], SYSTEM_ACTOR))
        self.add_records(data)
        self.box = {}
        labels = data.draw(st.lists(st.text("abc", min_size=1, max_size=5), min_size=1, max_size=3))
        self.box.update(zip(self.engine.records.create_many("box", [{"label": t} for t in labels], SYSTEM_ACTOR),
                            labels))

    @rule(data=st.data())
    def add_records(self, data: st.DataObject) -> None:
        rows = []
        for _ in range(data.draw(st.integers(1, 3))):
            row = {}
            for name, spec in self.fields.items():
                empty = not spec.get("mandatory") and spec["type"] != "boolean" and data.draw(st.booleans())
                row[name] = None if empty else data.draw(value_strategy(spec, self.active, self.owners))
            rows.append(row)
        ids = self.engine.records.create_many("item", rows, SYSTEM_ACTOR)
        self.ids.extend(ids)
        for record_id, row in zip(ids, rows):
            for name, value in row.items():
                if value not in (None, []):
                    self.expected[name][record_id] = value

    @precondition(lambda self: len(self.fields) < 4 and self.free_names())
    @rule(data=st.data(), type_=st.sampled_from(TYPES))
    def add_field(self, data: st.DataObject, type_: str) -> None:
        name = data.draw(st.sampled_from(self.free_names()))
        spec = spec_for(type_)
        self.fields[name] = spec
        self.expected[name] = {}
        engine = self.migrate()
        table = engine.tables.of("item")
        values = {i: data.draw(st.none() | value_strategy(spec, self.active, self.owners)) for i in self.ids}
        with engine.db.begin() as conn:  # written as they are: existing records need not follow other rules
            for record_id, value in values.items():
                if type_ == "links":
                    if value:
                        join = engine.tables.join_table("item", name)
                        conn.execute(join.insert(), [{"source_id": record_id, "target_id": t} for t in value])
                    continue
                conn.execute(table.update().where(table.c.id == record_id).values({name: value}))
        self.expected[name] = {i: v for i, v in values.items() if v is not None}

    @precondition(lambda self: self.fields)
    @rule(data=st.data())
    def remove_field(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.fields)))
        spec = self.fields.pop(name)
        self.archived[name] = (spec, self.expected.pop(name))
        self.migrate()
        assert any(e.target == f"item.{name}" for e in archive_entries(self.engine)) == bool(self.archived[name][1])

    @precondition(lambda self: self.archived)
    @rule(data=st.data())
    def restore_field(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.archived)))
        spec, values = self.archived.pop(name)
        self.fields[name] = spec
        engine = self.migrate()
        if values:
            result = restore_archived(engine, f"item.{name}")
            assert (result.restored, result.kept) == (len(values), 0)
        else:
            with pytest.raises(ArchiveError):
                restore_archived(engine, f"item.{name}")
        self.expected[name] = values

    @precondition(lambda self: self.fields and self.free_names())
    @rule(data=st.data())
    def rename_field(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(sorted(self.fields)))
        new = data.draw(st.sampled_from(self.free_names()))
        self.fields[new] = self.fields.pop(old)
        self.expected[new] = self.expected.pop(old)
        self.migrate(renames={new: old})

    @precondition(lambda self: any(RETYPES[spec["type"]] for spec in self.fields.values()))
    @rule(data=st.data())
    def retype_field(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, spec in self.fields.items() if RETYPES[spec["type"]])))
        old = self.fields[name]
        target = data.draw(st.sampled_from(RETYPES[old["type"]]))
        outcomes = {i: converted(v, old["type"], target) for i, v in self.expected[name].items()}
        new = spec_for(target)
        if old.get("mandatory"):
            new["mandatory"] = True
        self.fields[name] = new
        if all(ok for ok, _ in outcomes.values()):
            self.migrate()
            self.expected[name] = {i: v for i, (_, v) in outcomes.items()}
            return
        entities, lists = self.definitions()
        engine = self.evolution.engine(entities, lists)
        with pytest.raises(MigrationRefused) as refused:
            engine.migrate()
        (problem,) = refused.value.plan.problems
        assert problem.count == sum(not ok for ok, _ in outcomes.values())
        self.fields[name] = old  # nothing changed: back to the definitions the database has

    @precondition(lambda self: any(spec["type"] != "links" for spec in self.fields.values()))
    @rule(data=st.data())
    def tighten(self, data: st.DataObject) -> None:
        # the count rules of a links apply to new edits: nothing is listed for clean-up
        name = data.draw(st.sampled_from(sorted(n for n, spec in self.fields.items() if spec["type"] != "links")))
        spec = self.fields[name]
        values = self.expected[name]
        choices = ["mandatory"]
        if spec["type"] in ("integer", "decimal"):
            choices.append("max")
        if spec["type"] == "string":
            choices.append("max_length")
        if spec["type"] in LIST_TYPES and "l" not in self.retired:
            choices.append("retired")
        how = data.draw(st.sampled_from(choices))
        if how == "mandatory":
            spec["mandatory"] = True
            breakers = {i for i in self.ids if i not in values}
        elif how == "max":
            bound = int(sorted(values.values())[len(values) // 2]) if values else 0
            spec["max"] = bound
            breakers = {i for i, v in values.items() if v > bound}
        elif how == "max_length":
            spec["max_length"] = 3
            breakers = {i for i, v in values.items() if len(v) > 3}
        else:
            self.retired.add("l")
            breakers = {i for i, v in values.items() if v == "l" or (isinstance(v, list) and "l" in v)}
        self.migrate()
        rule_name = {"retired": "retired"}.get(how, how)
        listed = {item.record_id for item in records_to_clean(self.engine, "item")
                  if item.field == name and item.rule == rule_name}
        assert listed == breakers

    @precondition(lambda self: self.retired or any(
        key in spec for spec in self.fields.values() for key in ("mandatory", "max", "max_length")))
    @rule()
    def loosen(self) -> None:
        for spec in self.fields.values():
            for key in ("mandatory", "max", "max_length"):
                spec.pop(key, None)
        self.retired.clear()
        self.migrate()
        assert records_to_clean(self.engine, "item") == []

    @precondition(lambda self: self.box is not None)
    @rule()
    def remove_entity(self) -> None:
        self.box_archived, self.box = self.box, None
        self.migrate()

    @precondition(lambda self: self.box is None)
    @rule()
    def restore_entity(self) -> None:
        self.box = {}
        engine = self.migrate()
        assert restore_archived(engine, "box").restored == len(self.box_archived)
        self.box, self.box_archived = self.box_archived, {}

    def free_names(self) -> list[str]:
        return [n for n in NAMES if n not in self.fields and n not in self.archived]

    # -- the property ----------------------------------------------------------------------------

    @invariant()
    def no_value_is_lost(self) -> None:
        engine = self.engine
        if engine is None:
            return
        table = engine.tables.of("item")
        with engine.db.connect() as conn:
            for name, spec in self.fields.items():
                if spec["type"] == "links":
                    assert self.members(engine, conn, name) == self.expected[name], name
                    continue
                stored = dict(conn.execute(sa.select(table.c.id, table.c[name])).all())
                assert {i: v for i, v in stored.items() if v is not None} == self.expected[name], name
            for name, (spec, values) in self.archived.items():
                assert self.in_archive(conn, name, spec) == values, name
            if self.box is not None:
                box = engine.tables.of("box")
                assert dict(conn.execute(sa.select(box.c.id, box.c.label)).all()) == self.box
            else:
                (entry,) = [e for e in archive_entries(engine) if e.target == "box"]
                archive = sa.table(entry.table_name, sa.column("id"), sa.column("label"))
                assert dict(conn.execute(sa.select(archive.c.id, archive.c.label)).all()) == self.box_archived

    @staticmethod
    def members(engine: Engine, conn: sa.Connection, name: str) -> dict[int, list[int]]:
        """Record id -> its sorted member ids, for the records that have members."""
        join = engine.tables.join_table("item", name)
        found: dict[int, list[int]] = {}
        for source, target in conn.execute(sa.select(join.c.source_id, join.c.target_id)
                                           .order_by(join.c.source_id, join.c.target_id)):
            found.setdefault(source, []).append(target)
        return found

    @staticmethod
    def in_archive(conn: sa.Connection, name: str, spec: dict[str, Any]) -> dict[int, Any]:
        """The latest unrestored archived value of each record, typed as the field was."""
        rows = conn.execute(
            sa.select(ARCHIVE.c.record_id, ARCHIVE.c.value)
            .where(ARCHIVE.c.entity == "item", ARCHIVE.c.field == name, ARCHIVE.c.restored_at.is_(None))
            .order_by(ARCHIVE.c.id)
        ).all()
        typed = field_from_snapshot(name, spec)
        return {record_id: from_json(typed, value) for record_id, value in rows}


def test_no_definition_change_loses_a_value(scratch_databases, tmp_path_factory: pytest.TempPathFactory) -> None:
    run_state_machine_as_test(
        lambda: DefinitionEdits(scratch_databases, tmp_path_factory.mktemp("evolution")), settings=SETTINGS,
    )
