"""(b) Creating 20,000 validated contacts through the record service in batches of 1,000,
against SQLAlchemy Core `insert()` executemany of the same rows (already typed, with their
system columns) into an identical table. Runs on SQLite, and on PostgreSQL when
OSSATURE_BENCH_POSTGRES_URL (or OSSATURE_TEST_DATABASE_URL) is set."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from common import POSTGRES_URL, best_of, emit, shipped_plugins

ROWS, BATCH = 20_000, 1_000
FIRST = ["Anne", "Louis", "Chloé", "Hugo", "Emma", "Jules", "Léa", "Noah", "Alice", "Paul"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon"]


def input_rows(n: int) -> list[dict]:
    """Rows as an integrator sends them: JSON values, dates as strings."""
    rnd = random.Random(7)
    return [
        {
            "salutation": rnd.choice(["mr", "mrs", "dr"]),
            "first_name": rnd.choice(FIRST),
            "last_name": f"{rnd.choice(LAST)} {i}",
            "function": rnd.choice(["ceo", "cfo", "engineer", "consultant"]),
            "language": rnd.choice(["en", "fr"]),
            "phone": f"+33 1 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}",
            "email": f"contact{i}@example.org",
            "do_not_call": rnd.random() < 0.1,
            "city": rnd.choice(["Paris", "Lyon", "Nantes", "Lille"]),
            "country": "France",
            "birthday": (dt.date(1960, 1, 1) + dt.timedelta(days=rnd.randint(0, 15000))).isoformat(),
        }
        for i in range(n)
    ]


def run(url_for_run, label: str) -> None:
    import metamodel
    from engine import SYSTEM_ACTOR, Engine

    model = metamodel.load_model([metamodel.BASE_PACK])
    rows = input_rows(ROWS)
    validator = Engine(model, "sqlite://", plugins=shipped_plugins()).validators["contact"]
    typed, failed = validator.load_many(rows, SYSTEM_ACTOR)
    assert not failed, failed
    names = [f.name for f in model.entity("contact").fields]
    now = dt.datetime(2026, 1, 1)
    system = {"created_at": now, "created_by": None, "updated_at": now, "updated_by": None, "version": 1}
    full_rows = [{**dict.fromkeys(names), **r, **system} for r in typed]

    def fresh_engine() -> Engine:
        engine = Engine(model, url_for_run(), plugins=shipped_plugins())
        engine.migrate()
        return engine

    def through_engine(engine: Engine) -> None:
        for start in range(0, ROWS, BATCH):
            engine.records.create_many("contact", rows[start : start + BATCH], SYSTEM_ACTOR)
        assert engine.records.count("contact") == ROWS
        engine.dispose()

    def through_core(engine: Engine) -> None:
        table = engine.tables.of("contact")
        with engine.db.begin() as conn:
            for start in range(0, ROWS, BATCH):
                conn.execute(table.insert(), full_rows[start : start + BATCH])
        engine.dispose()

    baseline_s = best_of(3, fresh_engine, through_core)
    engine_s = best_of(3, fresh_engine, through_engine)
    emit(f"create_20k_validated_{label}", engine_s, baseline_s, target=3, rows=ROWS, batch=BATCH)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run(lambda: f"sqlite:///{Path(tmp) / uuid.uuid4().hex}.db", "sqlite")
    if POSTGRES_URL:
        admin = sa.create_engine(POSTGRES_URL)
        schemas: list[str] = []

        def fresh_schema() -> str:
            name = f"bench_{uuid.uuid4().hex[:12]}"
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
            schemas.append(name)
            separator = "&" if "?" in POSTGRES_URL else "?"
            return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{name}"

        try:
            run(fresh_schema, "postgresql")
        finally:
            with admin.begin() as conn:
                for name in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
