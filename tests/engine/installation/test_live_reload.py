"""Every process picks up a new overlay revision or an installed pack without restarting.

Two `LiveEngine`s on one database stand for two processes (an app server and a worker, say).
Their clocks are moved by hand: a check happens when `interval` has passed, never before.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import SYSTEM_ACTOR, Actor
from engine.installation.definitions import DefinitionState, Installation
from engine.installation.live import LiveEngine
from engine.installation.overlay import record_revision
from engine.installation.pack_install import install_pack
from stamp_actions import stamp_plugins

PACK = Path(__file__).resolve().parents[1] / "pack"
ANN = Actor(user_id=1, username="ann")
LOYALTY = "extends: sample\ncharacteristics:\n  loyalty: {type: integer, label: {en: Loyalty, fr: Fidélité}, min: 0}\n"


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class QueryCounter:
    def __init__(self, db: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(db, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


@pytest.fixture
def processes(database_url, tmp_path):
    """Two processes' live engines and an admin's installation, all on one database."""
    admin = Installation([PACK], database_url, engine_options={"files_dir": tmp_path / "files", "plugins": stamp_plugins()})
    admin.migrate_to(admin.load().model)
    made: list[tuple[LiveEngine, Ticker]] = []
    for _ in range(2):
        ticker = Ticker()
        installation = Installation([PACK], database_url, engine_options={"files_dir": tmp_path / "files", "plugins": stamp_plugins()})
        made.append((LiveEngine(installation, interval=1.0, monotonic=ticker), ticker))
    yield admin, made
    for live, _ in made:
        live.close()
    admin.dispose()


def has_loyalty(live: LiveEngine) -> bool:
    return "loyalty" in live.current().model.entity("sample").fields_by_name


def test_a_revision_saved_by_one_process_is_picked_up_by_the_other_at_its_next_check(processes):
    admin, [(app, app_ticks), (worker, worker_ticks)] = processes
    first_app, first_worker = app.current(), worker.current()
    admin.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty", expected_revision=0)

    assert app.current() is first_app and not has_loyalty(app)  # not yet due: no check
    app_ticks.now += 1.0
    engine = app.current()
    assert engine is not first_app and has_loyalty(app)
    assert app.state == DefinitionState(1, 0)
    record = engine.records.create("sample", {"name": "ab", "loyalty": 3}, SYSTEM_ACTOR)
    assert record["loyalty"] == 3

    assert worker.current() is first_worker  # the other process checks on its own clock
    assert worker.current(check_now=True) is not first_worker and has_loyalty(worker)
    assert worker.current().records.get("sample", record["id"])["loyalty"] == 3


@pytest.mark.parametrize("elapsed, checked", [(0.0, False), (0.999, False), (1.0, True), (5.0, True)])
def test_the_state_is_read_at_most_once_per_interval(processes, elapsed, checked):
    _admin, [(app, ticks), _] = processes
    counter = QueryCounter(app.installation.db)
    ticks.now += elapsed
    app.current()
    app.current()
    assert counter.count == (1 if checked else 0)


def test_an_unchanged_state_costs_one_query_and_keeps_the_engine(processes):
    _admin, [(app, ticks), _] = processes
    engine = app.current()
    counter = QueryCounter(app.installation.db)
    for _ in range(3):
        ticks.now += 1.0
        assert app.current() is engine
    assert counter.count == 3


def test_a_revert_is_picked_up_too(processes):
    admin, [(app, ticks), _] = processes
    admin.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    assert app.refresh() and has_loyalty(app)
    admin.revert_overlay(1, ANN)
    ticks.now += 1.0
    assert not has_loyalty(app)
    assert app.state.overlay_revision == 2


def test_an_installed_pack_is_picked_up(processes, tmp_path):
    admin, [(app, ticks), _] = processes
    pack = tmp_path / "rooms"
    (pack / "entities").mkdir(parents=True)
    (pack / "pack.yaml").write_text('pack: rooms\nversion: 1.0.0\nrequires: {engine_test: ">=1.0, <2"}\n')
    (pack / "entities" / "room.yaml").write_text(
        "entity: room\nlabel: {en: Room, fr: Salle}\nplural: {en: Rooms, fr: Salles}\n"
        "characteristics:\n  name: {type: string, label: {en: Name, fr: Nom}, max_length: 80}\n")
    install_pack(admin, pack, ANN)
    ticks.now += 1.0
    engine = app.current()
    assert "room" in engine.model.entities and app.state.pack_install == 1
    assert [p.name for p in engine.model.packs] == ["engine_test", "rooms"]
    assert engine.records.create("room", {"name": "Salle Verte"}, SYSTEM_ACTOR)["name"] == "Salle Verte"


def test_listeners_hear_of_each_swap_with_the_old_and_new_engine(processes):
    admin, [(app, _), _] = processes
    heard: list[tuple[object, object]] = []
    app.on_swap(lambda old, new: heard.append((old, new)))
    before = app.current()
    admin.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    assert app.refresh() is True
    assert heard == [(before, app.current())]
    assert app.refresh() is False and len(heard) == 1


def test_a_revision_that_does_not_load_keeps_the_running_engine_until_a_good_one(processes, caplog):
    admin, [(app, ticks), _] = processes
    engine = app.current()
    with admin.db.begin() as conn:  # written behind the validation's back, as a broken pack on disk would do
        record_revision(conn, 1, {"entities/sample.yaml": "extends: sample\ncharacteristics: {x: {type: nope}}\n"},
                        ANN, "broken", admin.clock())
    with caplog.at_level(logging.ERROR, logger="engine.installation.live"):
        ticks.now += 1.0
        assert app.current() is engine
    assert "overlay/entities/sample.yaml:2" in caplog.text
    assert app.state == DefinitionState(0, 0)

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="engine.installation.live"):
        ticks.now += 1.0
        assert app.current() is engine  # the same broken state is not loaded (nor logged) again
    assert caplog.text == ""

    admin.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "fixed")
    ticks.now += 1.0
    assert app.current() is not engine and has_loyalty(app)
    assert app.state.overlay_revision == 2


def test_a_process_does_not_start_on_definitions_that_do_not_load(processes, database_url):
    import metamodel

    admin, _ = processes
    with admin.db.begin() as conn:
        record_revision(conn, 1, {"entities/ghost.yaml": "extends: ghost\n"}, ANN, "broken", admin.clock())
    installation = Installation([PACK], database_url, engine_options={"plugins": stamp_plugins()})
    try:
        with pytest.raises(metamodel.DefinitionError) as caught:
            LiveEngine(installation)
        assert caught.value.problems[0].file == "overlay/entities/ghost.yaml"
    finally:
        installation.dispose()


def test_an_unreachable_database_keeps_the_running_engine(processes, monkeypatch, caplog):
    _admin, [(app, ticks), _] = processes
    engine = app.current()

    def unreachable() -> DefinitionState:
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(app.installation, "state", unreachable)
    with caplog.at_level(logging.WARNING, logger="engine.installation.live"):
        ticks.now += 1.0
        assert app.current() is engine
    assert "connection refused" in caplog.text


def test_a_process_starts_on_the_directory_packs_while_the_database_does_not_answer(processes, database_url,
                                                                                     monkeypatch):
    admin, _ = processes
    admin.apply_overlay({"entities/sample.yaml": LOYALTY}, ANN, "loyalty")
    installation = Installation([PACK], database_url, engine_options={"plugins": stamp_plugins()})

    def unreachable() -> None:
        raise sa.exc.OperationalError("CREATE TABLE", {}, Exception("connection refused"))

    monkeypatch.setattr(installation, "ensure_tables", unreachable)
    ticker = Ticker()
    live = LiveEngine(installation, monotonic=ticker)
    try:
        assert live.state is None and not has_loyalty(live)
        monkeypatch.undo()  # the database answers again
        ticker.now += 1.0
        assert has_loyalty(live) and live.state == DefinitionState(1, 0)
    finally:
        live.close()
