"""Import of 100,000 lines into 10,000 records (10 each) from a CSV file of lines, through the
engine, against SQLAlchemy Core executemany of the same rows; and the peak memory of an import
of 1,000,000 lines (into 100,000 records), which must stay under TARGET_MB.

The pack (written to a temporary folder): `purchase` records with a `number` (their natural
key) and `items` lines of `purchase_item` (product, quantity, price; at most 1,000 a record).
The parents are seeded with Core inserts beforehand (not measured), without lines.

Engine: `engine.exchange.lines_import.import_lines` as the system actor: each row mapped from
its header, converted, its parent found by natural key (one SELECT per chunk), every record's
lines validated with it and written set-based, each record's version moved and its audit row
recording the lines added.
Baseline: the same file read with the `csv` module, the parents' ids read once into a dict,
quantity and price typed by hand, the system columns and `position` added, and the lines
inserted with Core `insert()` executemany, BATCH rows a statement, in one transaction (no
validation, no audit, no version). The two sides take turns, each on a fresh database; the
median of RUNS runs of each is reported (and the best). SQLite, and PostgreSQL when configured.

Memory: as bench/bench_memory.py, in a fresh Python process (this one never imports the
engine): the import runs as a job (`submit_import_lines`) and the child reports `ru_maxrss`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from _big import databases, progress
from common import emit, emit_memory, shipped_plugins

PARENTS = 10_000
PER_PARENT = 10
BATCH = 1_000
RUNS = 3
MEMORY_PARENTS = 100_000
TARGET_MB = 300
SEED_CHUNK = 5_000

PACK = {
    "pack.yaml": "pack: bench_lines\nversion: 1.0.0\nlabel: {en: Lines benchmark, fr: Banc d'essai des lignes}\n",
    "entities/purchase.yaml": """entity: purchase
label: {en: Purchase, fr: Achat}
plural: {en: Purchases, fr: Achats}
natural_key: [number]
characteristics:
  number: {type: string, label: {en: Number, fr: Numéro}, mandatory: true, unique: true}
  items: {type: lines, entity: purchase_item, label: {en: Items, fr: Articles}}
""",
    "entities/purchase_item.yaml": """entity: purchase_item
label: {en: Purchase item, fr: Article d'achat}
plural: {en: Purchase items, fr: Articles d'achat}
owned_by: purchase
characteristics:
  product: {type: string, label: {en: Product, fr: Produit}, mandatory: true, max_length: 80}
  quantity: {type: integer, label: {en: Quantity, fr: Quantité}, min: 1}
  price: {type: decimal, label: {en: Price, fr: Prix}, precision: 10, scale: 2}
""",
}


def write_pack(folder: Path) -> Path:
    for name, text in PACK.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def write_lines_csv(path: Path, parents: int) -> Path:
    """PER_PARENT lines per parent, the rows of a parent following each other (as an export writes them)."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Purchase", "Product", "Quantity", "Price"])
        for p in range(parents):
            writer.writerows([f"P{p:07d}", f"Product {p % 97}-{i}", 1 + i % 5, f"{(p % 500) + i}.{i:02d}"]
                             for i in range(PER_PARENT))
    return path


def new_engine(pack: Path, url: str, files: str) -> Any:
    import metamodel
    from engine import Engine

    engine = Engine(metamodel.load_model([pack]), url, plugins=shipped_plugins(), files_dir=files)
    engine.migrate()
    return engine


def seed_parents(engine: Any, count: int) -> None:
    """The parents, without lines: Core executemany, already typed, with their system columns."""
    table = engine.tables.of("purchase")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    system = {"created_at": now, "created_by": None, "updated_at": now, "updated_by": None, "version": 1}
    with engine.db.begin() as conn:
        for start in range(0, count, SEED_CHUNK):
            conn.execute(table.insert(), [{"number": f"P{p:07d}", **system}
                                          for p in range(start, min(count, start + SEED_CHUNK))])


def core_insert(engine: Any, path: Path) -> int:
    """The hand-written import: parents by number in a dict, parse, type, executemany."""
    parents, lines = engine.tables.of("purchase"), engine.tables.of("purchase_item")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    system = {"created_at": now, "created_by": None, "updated_at": now, "updated_by": None, "version": 1}
    inserted = 0
    with path.open(newline="", encoding="utf-8") as stream, engine.db.begin() as conn:
        ids = dict(conn.execute(sa.select(parents.c.number, parents.c.id)).all())
        batch: list[dict[str, Any]] = []
        last, position = None, 0
        for number, product, quantity, price in data_rows(stream):
            position = position + 1 if number == last else 0
            last = number
            batch.append({"parent_id": ids[number], "position": position, "product": product,
                          "quantity": int(quantity), "price": Decimal(price), **system})
            if len(batch) == BATCH:
                conn.execute(lines.insert(), batch)
                inserted += len(batch)
                batch = []
        if batch:
            conn.execute(lines.insert(), batch)
            inserted += len(batch)
    return inserted


def data_rows(stream: Any) -> Any:
    reader = csv.reader(stream)
    next(reader)
    return reader


def engine_import(engine: Any, path: Path) -> Any:
    from engine import SYSTEM_ACTOR
    from engine.exchange.lines_import import import_lines

    report = import_lines(engine, "purchase", "items", path, actor=SYSTEM_ACTOR)
    assert report.updated == PARENTS and not report.error_count, report.summary()
    return report


def stored_lines(engine: Any) -> int:
    table = engine.tables.of("purchase_item")
    with engine.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def compare(label: str, new_url: Any, pack: Path, path: Path, files: str) -> None:
    progress(f"import lines ({label}): {RUNS} runs of each side")
    timings: dict[str, list[float]] = {"engine": [], "baseline": []}
    sides = {"baseline": core_insert, "engine": engine_import}
    for _ in range(RUNS):
        for name, measure in sides.items():
            engine = new_engine(pack, new_url(), files)
            seed_parents(engine, PARENTS)
            started = time.perf_counter()
            measure(engine, path)
            timings[name].append(time.perf_counter() - started)
            assert stored_lines(engine) == PARENTS * PER_PARENT
            engine.dispose()
    median = {name: statistics.median(found) for name, found in timings.items()}
    emit(f"import_100k_lines_10k_parents_{label}", median["engine"], median["baseline"], target=2.5,
         lines=PARENTS * PER_PARENT, parents=PARENTS, runs=RUNS, statistic="median",
         engine_best_s=round(min(timings["engine"]), 3), baseline_best_s=round(min(timings["baseline"]), 3),
         baseline_batch=BATCH)


# -- memory (in a child process) ------------------------------------------------------------


def child_seed(pack: str, url: str, files: str) -> dict[str, Any]:
    engine = new_engine(Path(pack), url, files)
    seed_parents(engine, MEMORY_PARENTS)
    engine.dispose()
    return {}


def child_import(pack: str, url: str, path: str, files: str) -> dict[str, Any]:
    from bench_memory import peak_rss_mb, wait_for
    from engine import SYSTEM_ACTOR
    from engine.exchange.importer import ImportOptions
    from engine.exchange.lines_import import submit_import_lines

    engine = new_engine(Path(pack), url, files)
    start_mb = peak_rss_mb()
    started = time.perf_counter()
    job_id = submit_import_lines(engine, "purchase", "items", path, ImportOptions(), SYSTEM_ACTOR)
    job = wait_for(engine, job_id, "lines import")
    seconds = time.perf_counter() - started
    assert job["state"] == "done", job
    assert job["counts"].get("updated") == MEMORY_PARENTS, job["counts"]
    engine.dispose()
    return {"peak_rss_mb": peak_rss_mb(), "start_rss_mb": start_mb, "seconds": seconds}


CHILDREN = {"seed": child_seed, "import": child_import}


def in_child(task: str, *args: str) -> dict[str, Any]:
    """Run `task` in a fresh interpreter; its last stdout line is its JSON answer."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", task, *args],
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"lines import bench: the {task} process failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory(label: str, new_url: Any, pack: Path, path: Path, files: str) -> None:
    url = new_url()
    progress(f"memory ({label}): seeding {MEMORY_PARENTS:,} records (not measured)")
    in_child("seed", str(pack), url, files)
    progress(f"memory ({label}): importing {MEMORY_PARENTS * PER_PARENT:,} lines")
    found = in_child("import", str(pack), url, str(path), files)
    emit_memory(f"memory_import_1m_lines_{label}", found["peak_rss_mb"], TARGET_MB, lines=MEMORY_PARENTS * PER_PARENT,
                parents=MEMORY_PARENTS, start_rss_mb=round(found["start_rss_mb"], 1), engine_s=round(found["seconds"], 1))


def main(which: list[str]) -> None:
    which = which or ["speed", "memory"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pack = write_pack(folder / "pack")
        files = str(folder / "files")
        small = write_lines_csv(folder / "lines.csv", PARENTS) if "speed" in which else None
        big = write_lines_csv(folder / "lines_1m.csv", MEMORY_PARENTS) if "memory" in which else None
        for label, new_url in databases(folder):
            if small is not None:
                compare(label, new_url, pack, small, files)
            if big is not None:
                memory(label, new_url, pack, big, files)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(CHILDREN[sys.argv[2]](*sys.argv[3:])), flush=True)
    else:
        main(sys.argv[1:])
