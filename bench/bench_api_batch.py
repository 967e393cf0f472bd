"""Batch writes through the API: 20,000 leads created by `POST /api/v1/lead/batch`, then changed by
`PATCH /api/v1/lead/batch`, in batches of 1,000 through the Flask test client with an admin's
bearer token (the whole request: token, body checks, the engine's validation, audit and history,
the JSON answer). Four lines:

- `api_batch_create_20k_leads`: against SQLAlchemy Core `insert()` executemany of the same rows,
  already typed and with their system columns, a transaction per 1,000 as the API commits
  (no validation, no audit). Target 2.5.
- `api_batch_create_20k_leads_vs_csv_import`: against the CSV import of the same rows
  (engine/exchange/importer.py, as the same admin).
- `api_batch_update_20k_leads`: every lead given its own score, budget and city (score and budget
  are historized: a history period each), against Core executemany UPDATEs of the same typed
  values, a transaction per 1,000. Target 2.5.
- `api_batch_update_20k_leads_vs_csv_import`: against a CSV import updating the same leads by
  their email (an upsert), the same values.

Each side runs on a fresh database (seeding is not timed); the sides take turns, RUNS times, and
each line reports the median run. SQLite, and PostgreSQL when OSSATURE_BENCH_POSTGRES_URL (or
OSSATURE_TEST_DATABASE_URL) is set.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import statistics
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from _big import databases, progress
from common import best_of, emit, shipped_plugins

ROWS, BATCH, RUNS = 20_000, 1_000, 3
TARGET = 2.5
SECTORS = ("banking", "energy", "industry", "retail", "services", "telecom")
SOURCES = ("website", "trade_show", "referral", "cold_call", "partner")
CITIES = ("Paris", "Lyon", "Nantes", "Lille", "Bordeaux", "Toulouse")
FIRST = ("Anne", "Louis", "Chloé", "Hugo", "Emma", "Jules", "Léa", "Noah", "Alice", "Paul")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon")
COLUMNS = ("first_name", "last_name", "company", "email", "phone", "city", "country", "sector", "source",
           "score", "budget", "do_not_call")
CHANGED = ("score", "budget", "city")


def new_rows(n: int) -> list[dict[str, Any]]:
    """Leads as an integrator sends them: JSON values, decimals as text."""
    rnd = random.Random(17)
    return [{
        "first_name": rnd.choice(FIRST), "last_name": f"{rnd.choice(LAST)} {i}", "company": f"Company {i % 700}",
        "email": f"lead{i}@example.org", "phone": f"+33 1 {rnd.randint(10, 99)} {rnd.randint(10, 99)} "
                                                 f"{rnd.randint(10, 99)} {rnd.randint(10, 99)}",
        "city": rnd.choice(CITIES), "country": "France", "sector": rnd.choice(SECTORS), "source": rnd.choice(SOURCES),
        "score": rnd.randint(0, 5), "budget": f"{rnd.randint(0, 500000) / 100:.2f}", "do_not_call": rnd.random() < 0.1,
    } for i in range(n)]


def changes(n: int) -> list[dict[str, Any]]:
    """A new score, budget and city for each lead (ids 1 to n, at version 1)."""
    rnd = random.Random(23)
    return [{"id": i + 1, "version": 1, "score": rnd.randint(0, 5), "budget": f"{rnd.randint(0, 500000) / 100:.2f}",
             "city": rnd.choice(CITIES)} for i in range(n)]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["true" if row[c] is True else "false" if row[c] is False else row[c] for c in columns])
    return path


def bodies(rows: list[dict[str, Any]]) -> list[bytes]:
    """The request bodies, encoded before the clock starts (a client's work, not the server's)."""
    return [json.dumps({"records": rows[start : start + BATCH]}).encode() for start in range(0, len(rows), BATCH)]


def medians(sides: dict[str, tuple[Callable[[], Any], Callable[[Any], None], Callable[[Any], None]]]) -> dict[str, float]:
    """The median of RUNS timings of each side, the sides taking turns run after run."""
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for run in range(RUNS):
        for name, (prepare, measure, finish) in sides.items():
            timings[name].append(best_of(1, prepare, measure, finish))
            progress(f"  run {run + 1}/{RUNS} {name}: {timings[name][-1]:.2f}s")
    return {name: statistics.median(found) for name, found in timings.items()}


class Setup:
    """A fresh database with its app, an admin's token, and (for the updates) the 20,000 leads."""

    def __init__(self, url: str, files: Path, *, seeded: bool):
        import metamodel
        from engine import SYSTEM_ACTOR
        from engine.installation import settings
        from ui_renderer import create_app

        options = settings.engine_options
        settings.engine_options = lambda: {**options(), "plugins": shipped_plugins()}  # see common.shipped_plugins
        try:
            self.app = create_app({"DATABASE_URL": url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(files),
                                   "SECRET_KEY": "bench"})
        finally:
            settings.engine_options = options
        self.engine = self.app.extensions["ossature"]
        self.engine.migrate()
        accounts = self.app.extensions["ossature.accounts"]
        user_id = accounts.create_user("bench.admin", "Bench", "a long password", ("admin",))
        token = accounts.create_token(user_id, "bench")
        self.actor = accounts.actor_for_token(token)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.client = self.app.test_client()
        assert self.client.get("/api/v1/openapi.json").status_code == 200  # built once per app, as a server does
        if seeded:
            rows = new_rows(ROWS)
            for start in range(0, ROWS, BATCH):
                ids = self.engine.records.create_many("lead", rows[start : start + BATCH], SYSTEM_ACTOR)
                assert ids[0] == start + 1, "the changes name leads 1 to 20,000"

    def send(self, method: str, payloads: list[bytes], status: int) -> None:
        for payload in payloads:
            response = self.client.open("/api/v1/lead/batch", method=method, data=payload, headers=self.headers)
            assert response.status_code == status, response.get_data(as_text=True)[:500]

    def count(self, table: sa.Table, *where: Any) -> int:
        with self.engine.db.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def typed_new(setup: Setup, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the engine would store them (defaults, first status), with system columns."""
    with setup.engine.records.reading(setup.actor) as tx:
        records, failed = tx.validate_new("lead", rows)
    assert not failed, failed
    names = [f.name for f in setup.engine.model.entity("lead").fields]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    system = {"created_at": now, "created_by": setup.actor.user_id, "updated_at": now,
              "updated_by": setup.actor.user_id, "version": 1}
    return [{**dict.fromkeys(names), **record, **system} for record in records]


def run(new_url: Callable[[], str], label: str, tmp: Path) -> None:
    rows, updates = new_rows(ROWS), changes(ROWS)
    create_bodies, update_bodies = bodies(rows), bodies(updates)
    create_csv = write_csv(tmp / "leads.csv", rows, COLUMNS)
    update_rows = [{**change, "email": f"lead{change['id'] - 1}@example.org"} for change in updates]
    update_csv = write_csv(tmp / "changes.csv", update_rows, ("email", *CHANGED))
    files = tmp / "files"

    def fresh(seeded: bool) -> Callable[[], Setup]:
        return lambda: Setup(new_url(), files, seeded=seeded)

    def created(audited: int) -> Callable[[Setup], None]:
        def check(setup: Setup) -> None:
            audit = setup.engine.tables.audit
            assert setup.count(setup.engine.tables.of("lead")) == ROWS
            assert setup.count(audit, audit.c.entity == "lead", audit.c.action == "create") == audited
            setup.close()
        return check

    def changed(audited: int) -> Callable[[Setup], None]:
        def check(setup: Setup) -> None:
            leads, audit = setup.engine.tables.of("lead"), setup.engine.tables.audit
            assert setup.count(leads, leads.c.version == 2) == ROWS
            assert setup.count(audit, audit.c.entity == "lead", audit.c.action == "update") == audited
            setup.close()
        return check

    typed: dict[str, list[dict[str, Any]]] = {}

    def core_insert(setup: Setup) -> None:
        table = setup.engine.tables.of("lead")
        for start in range(0, ROWS, BATCH):
            with setup.engine.db.begin() as conn:
                conn.execute(table.insert(), typed["new"][start : start + BATCH])

    def core_update(setup: Setup) -> None:
        table = setup.engine.tables.of("lead")
        statement = table.update().where(table.c.id == sa.bindparam("row_id")).values(
            version=table.c.version + 1, updated_at=sa.bindparam("now"), updated_by=setup.actor.user_id)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        for start in range(0, ROWS, BATCH):
            with setup.engine.db.begin() as conn:
                conn.execute(statement, [{**values, "now": now} for values in typed["changes"][start : start + BATCH]])

    def importing(path: Path, options: Any, created_rows: int, updated_rows: int) -> Callable[[Setup], None]:
        def measure(setup: Setup) -> None:
            from engine.exchange.importer import import_file

            report = import_file(setup.engine, "lead", path, options, setup.actor)
            assert (report.created, report.updated, report.error_count) == (created_rows, updated_rows, 0), \
                report.summary()
        return measure

    def prepare_typed(seeded: bool) -> Callable[[], Setup]:
        def prepare() -> Setup:
            setup = Setup(new_url(), files, seeded=seeded)
            if "new" not in typed:
                typed["new"] = typed_new(setup, rows)
                typed["changes"] = [{"row_id": c["id"], "score": c["score"], "budget": Decimal(c["budget"]),
                                     "city": c["city"]} for c in updates]
            return setup
        return prepare

    from engine.exchange.importer import ImportOptions

    progress(f"batch create ({label}): {RUNS} runs of each side")
    times = medians({
        "core": (prepare_typed(False), core_insert, created(0)),
        "api": (fresh(False), lambda setup: setup.send("POST", create_bodies, 201), created(ROWS)),
        "import": (fresh(False), importing(create_csv, ImportOptions(), ROWS, 0), created(ROWS)),
    })
    emit(f"api_batch_create_20k_leads_{label}", times["api"], times["core"], target=TARGET, rows=ROWS, batch=BATCH)
    emit(f"api_batch_create_20k_leads_vs_csv_import_{label}", times["api"], times["import"], rows=ROWS, batch=BATCH)

    progress(f"batch update ({label}): {RUNS} runs of each side")
    times = medians({
        "core": (prepare_typed(True), core_update, changed(0)),
        "api": (fresh(True), lambda setup: setup.send("PATCH", update_bodies, 200), changed(ROWS)),
        "import": (fresh(True), importing(update_csv, ImportOptions(key=("email",)), 0, ROWS), changed(ROWS)),
    })
    emit(f"api_batch_update_20k_leads_{label}", times["api"], times["core"], target=TARGET, rows=ROWS, batch=BATCH,
         changed=list(CHANGED))
    emit(f"api_batch_update_20k_leads_vs_csv_import_{label}", times["api"], times["import"], rows=ROWS, batch=BATCH)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            run(new_url, label, Path(tmp))


if __name__ == "__main__":
    main()
