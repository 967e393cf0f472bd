"""Import of 100,000 contacts from a CSV file through the engine, against SQLAlchemy Core
executemany of the same rows.

Engine: `engine.exchange.importer.import_file` as the system actor; every row mapped from its
header, converted, validated against the `Model` and written with its audit row.
Baseline: the same file read with the `csv` module, the cells typed by hand (booleans,
dates, empty cells as NULL), the system columns added, and the rows inserted with Core
`insert()` executemany, BATCH rows a statement, in one transaction (no validation, no
audit). The two sides alternate, each on a fresh database. SQLite, and PostgreSQL when
configured.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from _big import databases, progress, write_contacts_csv
from common import alternating_best, emit, shipped_plugins

ROWS = 100_000
BATCH = 1_000
RUNS = 3


def core_insert(engine: Any, path: Path) -> int:
    """The hand-written import: parse, type, executemany."""
    table = engine.tables.of("contact")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    system = {"created_at": now, "created_by": None, "updated_at": now, "updated_by": None, "version": 1}
    inserted = 0
    with path.open(newline="", encoding="utf-8") as stream, engine.db.begin() as conn:
        batch: list[dict[str, Any]] = []
        for cells in csv.DictReader(stream):
            row = {name: (value or None) for name, value in cells.items()}
            row["do_not_call"] = row["do_not_call"] == "true"
            row["birthday"] = dt.date.fromisoformat(row["birthday"]) if row["birthday"] else None
            row.update(system)
            batch.append(row)
            if len(batch) == BATCH:
                conn.execute(table.insert(), batch)
                inserted += len(batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
            inserted += len(batch)
    return inserted


def engine_import(engine: Any, path: Path) -> Any:
    """The engine's import of the file (engine/exchange/importer.py), as the system actor."""
    from engine import SYSTEM_ACTOR
    from engine.exchange.importer import ImportOptions, import_file

    report = import_file(engine, "contact", path, ImportOptions(), SYSTEM_ACTOR)
    assert report.created == ROWS and not report.error_count, report.summary()
    return report


def run(new_url: Callable[[], str], label: str, path: Path, files: Path) -> None:
    import metamodel
    from engine import Engine

    model = metamodel.load_model([metamodel.BASE_PACK])

    def fresh() -> Engine:
        engine = Engine(model, new_url(), plugins=shipped_plugins(), files_dir=files)
        engine.migrate()
        return engine

    def finish(audit_rows: int) -> Callable[[Engine], None]:
        """Check that every row is stored (and audited by the engine only), then let go."""
        def check(engine: Engine) -> None:
            table, audit = engine.tables.of("contact"), engine.tables.audit
            with engine.db.connect() as conn:
                stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                audited = conn.execute(
                    sa.select(sa.func.count()).select_from(audit).where(audit.c.entity == "contact")
                ).scalar_one()
            assert (stored, audited) == (ROWS, audit_rows), (stored, audited)
            engine.dispose()
        return check

    progress(f"import ({label}): {RUNS} runs of each side")
    best = alternating_best(RUNS, {
        "baseline": (fresh, lambda engine: core_insert(engine, path), finish(0)),
        "engine": (fresh, lambda engine: engine_import(engine, path), finish(ROWS)),
    })
    emit(f"import_100k_contacts_csv_{label}", best["engine"], best["baseline"], target=2.5, rows=ROWS,
         baseline_batch=BATCH)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_contacts_csv(Path(tmp) / "contacts.csv", ROWS)
        for label, new_url in databases(Path(tmp)):
            run(new_url, label, path, Path(tmp) / "files")


if __name__ == "__main__":
    main()
