"""No administrator's edit loses a value: a Hypothesis state machine makes the changes the
admin pages make (metamodel/editing/definition_edits.py), as overlay revisions applied by
`Installation.apply_overlay`, on characteristics of the pack as much as on those added here:
rename (again and again), retype, remove, declare again and restore, add. After every step each
value ever written is in the column of the characteristic's current name, or in the archive.

The pack's characteristics tried here are named by nothing else (no expression, title or
natural key), so every edit the machine makes is one the admin pages accept.
Runs on SQLite, and on PostgreSQL when OSSATURE_TEST_DATABASE_URL is set; derandomized unless
OSSATURE_HYPOTHESIS_RANDOM is set; OSSATURE_HYPOTHESIS_EXAMPLES asks for more sequences.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, ContextManager

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from engine import SYSTEM_ACTOR, Actor
from engine.schema.archive import archive_entries
from engine.schema.archive_restore import restore_archived
from engine.installation.definitions import Installation
from engine.schema.state import ARCHIVE
from metamodel.editing.definition_edits import OverlayEditor, field_values
from stamp_actions import stamp_plugins

PACK = Path(__file__).resolve().parents[1] / "pack"
ADMIN = Actor(user_id=1, username="admin", roles=frozenset({"admin"}))
TRIED = {"website": "url", "body": "rich_text", "phone": "phone", "meet_at": "datetime"}
"""Characteristics of the pack the machine edits, and their type there."""
RETYPES = {"url": "string", "phone": "string", "string": "text", "text": "string", "rich_text": "text",
           "datetime": "string"}
"""A retype each type can always take: every value converts."""
VALUES = {
    "website": ["https://example.org/1", "https://example.org/2", None],
    "body": ["<p>one</p>", "<p>two</p>", None],
    "phone": ["+33 1 23 45 67 89", "+44 20 7946 0000", None],
    "meet_at": ["2026-03-01T10:00:00", "2026-04-02T11:30:00", None],
}
DATETIME_TEXT = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?$")
ON_POSTGRES = bool(os.environ.get("OSSATURE_TEST_DATABASE_URL"))
SETTINGS = settings(
    max_examples=int(os.environ.get("OSSATURE_HYPOTHESIS_EXAMPLES", "4" if ON_POSTGRES else "10")),
    stateful_step_count=6, deadline=None, derandomize=not os.environ.get("OSSATURE_HYPOTHESIS_RANDOM"), database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class AdminEdits(RuleBasedStateMachine):
    def __init__(self, scratch: Callable[[Path], ContextManager[str]], folder: Path):
        super().__init__()
        self.stack = ExitStack()
        url = self.stack.enter_context(scratch(folder))
        self.installation = Installation([PACK], url, engine_options={"files_dir": folder / "files", "plugins": stamp_plugins()})
        self.names: dict[str, str] = {}
        """Original name -> the name it has now (while declared)."""
        self.texts: dict[str, str] = {}
        """Current name -> the stored value as text, by record id (what must never be lost)."""
        self.expected: dict[str, dict[int, str]] = {}
        self.archived: dict[str, dict[int, str]] = {}
        """Name it had when removed -> its values, in the archive."""
        self.serial = 0

    def teardown(self) -> None:
        self.installation.dispose()
        self.stack.close()

    # -- helpers -------------------------------------------------------------------------------

    def edit(self, change: Callable[[OverlayEditor], None]) -> None:
        loaded = self.installation.load()
        overlay = self.installation.overlay()
        editor = OverlayEditor(dict(overlay.documents) if overlay else {}, loaded.model)
        change(editor)
        self.installation.apply_overlay(editor.texts(), ADMIN, "step")

    def engine(self):
        return self.installation.open_engine(self.installation.load().model)

    def fresh_name(self, original: str) -> str:
        self.serial += 1
        return f"{original}_{self.serial}"

    # -- rules ---------------------------------------------------------------------------------

    @initialize(rows=st.lists(st.tuples(*(st.sampled_from(VALUES[n]) for n in TRIED)), min_size=1, max_size=4))
    def populate(self, rows: list[tuple[Any, ...]]) -> None:
        self.installation.migrate_to(self.installation.load().model)
        engine = self.engine()
        try:
            for index, row in enumerate(rows):
                values = {"name": f"r{index}", **{n: v for n, v in zip(TRIED, row) if v is not None}}
                created = engine.records.create("sample", values, SYSTEM_ACTOR)
                for name in TRIED:
                    if created[name] is not None:
                        self.expected.setdefault(name, {})[created["id"]] = _text(created[name])
        finally:
            engine.dispose()
        self.names = {name: name for name in TRIED}
        for name in TRIED:
            self.expected.setdefault(name, {})

    @precondition(lambda self: self.names)
    @rule(data=st.data())
    def rename(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(sorted(self.names)))
        old = self.names[original]
        new = self.fresh_name(original)
        self.edit(lambda editor: editor.rename_characteristic("sample", old, new))
        self.names[original] = new
        self.expected[new] = self.expected.pop(old)

    @precondition(lambda self: self.names)
    @rule(data=st.data())
    def retype(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(sorted(self.names)))
        name = self.names[original]

        def change(editor: OverlayEditor) -> None:
            current = editor.model.entity("sample").field(name)
            values = {**field_values(current), "type": RETYPES[current.type], "min": None, "max": None}
            editor.set_characteristic("sample", name, values, new=False)

        self.edit(change)

    @precondition(lambda self: self.names)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(sorted(self.names)))
        name = self.names.pop(original)
        self.edit(lambda editor: editor.remove_characteristic("sample", name))
        values = self.expected.pop(name)
        if values:
            self.archived[name] = values

    @precondition(lambda self: self.archived)
    @rule(data=st.data())
    def declare_again_and_restore(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.archived)))
        label = {"en": name, "fr": name}
        self.edit(lambda editor: editor.set_characteristic(
            "sample", name, {"type": "text", "label": label}, new=True))
        engine = self.engine()
        try:
            result = restore_archived(engine, f"sample.{name}", actor_id=ADMIN.user_id)
        finally:
            engine.dispose()
        values = self.archived.pop(name)
        assert (result.restored, result.kept) == (len(values), 0)
        self.expected[name] = values
        self.names[f"declared:{name}"] = name

    @rule()
    def add(self) -> None:
        name = self.fresh_name("added")
        self.edit(lambda editor: editor.set_characteristic(
            "sample", name, {"type": "string", "label": {"en": name, "fr": name}}, new=True))
        self.names[name] = name
        self.expected[name] = {}

    # -- the property ----------------------------------------------------------------------------

    @invariant()
    def no_value_is_lost(self) -> None:
        if not self.names and not self.archived:
            return
        engine = self.engine()
        try:
            assert engine.pending_migrations() == []
            table = engine.tables.of("sample")
            with engine.db.connect() as conn:
                for name, values in self.expected.items():
                    stored = {i: _text(v) for i, v in conn.execute(sa.select(table.c.id, table.c[name])) if v is not None}
                    assert stored == values, name
                for name, values in self.archived.items():
                    assert _archived(conn, name) == values, name
            pending = {e.target for e in archive_entries(engine)}
            assert pending == {f"sample.{name}" for name in self.archived}
        finally:
            engine.dispose()


def _text(value: Any) -> str:
    """A stored value as the text every retype here keeps: a datetime (typed, or text once
    retyped, or JSON in the archive) as canonical ISO text."""
    text = value.isoformat(sep="T") if hasattr(value, "isoformat") else str(value)
    if DATETIME_TEXT.match(text):
        return dt.datetime.fromisoformat(text.replace(" ", "T")).isoformat()
    return text


def _archived(conn: sa.Connection, name: str) -> dict[int, str]:
    rows = conn.execute(
        sa.select(ARCHIVE.c.record_id, ARCHIVE.c.value)
        .where(ARCHIVE.c.entity == "sample", ARCHIVE.c.field == name, ARCHIVE.c.restored_at.is_(None))
        .order_by(ARCHIVE.c.id)
    )
    return {record_id: _text(value) for record_id, value in rows}


def test_no_admin_edit_loses_a_value(scratch_databases, tmp_path_factory: pytest.TempPathFactory) -> None:
    run_state_machine_as_test(
        lambda: AdminEdits(scratch_databases, tmp_path_factory.mktemp("admin_edits")), settings=SETTINGS,
    )
