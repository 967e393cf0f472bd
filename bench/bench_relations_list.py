"""A list of 1,000,000 bookings with two path columns (`room.name`, `room.site.city`) and a path
filter (`f_room.site=` a site, `f_room.access_mode=` a mode), against the same page written by
hand as one SQL join.

Engine: what the list page and the API do, `RecordService.list_request` (the query string
checked against the `Model`) then `RecordService.list` for a manager (a role reading every
booking): the exact total and one page of 50 with the view's columns, paths included.

Baseline: the count and the page as a person writes them: the booking table LEFT JOINed to its
room and the room's site (each live), the filter on the joined column, rows as dicts. Both sides
must agree (same total, same ids in the same order, same path values).

The pack is bench/packs/rooms: 200 sites in 6 cities, 20,000 rooms, 1,000,000 bookings. Seeding
(set-based, not timed) writes rows straight into the engine's tables. SQLite, and PostgreSQL when
bench/common.py's POSTGRES_URL says so. One JSON line per combination and database (p50, p99,
max of each side; target: ratio <= 1.5).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from _big import CITIES, SEED_BLOCK, SEED_CHUNK, analyze, databases, progress
from common import ROOT, alternating_timings, emit_distribution, shipped_plugins

PACK = ROOT / "bench" / "packs" / "rooms"
BOOKINGS = 1_000_000
ROOMS = 20_000
SITES = 200
PAGE = 50
RUNS = 30
TARGET_RATIO = 1.5
EPOCH = dt.datetime(2024, 1, 1)
FIRST_DAY = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class Combination:
    name: str
    args: dict[str, list[str]]
    """The query string of the list (the engine's side)."""
    where: str
    """The hand-written condition, on `b` (booking), `r` (room) and `s` (site)."""
    params: dict[str, Any]


def combinations(site: int) -> list[Combination]:
    return [
        Combination("site", {"f_room.site": [str(site)]}, "r.site = :site", {"site": site}),
        Combination("access_mode", {"f_room.access_mode": ["controlled"]}, "r.access_mode = :mode",
                    {"mode": "controlled"}),
    ]


def seed(db: sa.Engine, tables: Any, *, seed: int = 5) -> None:
    """Sites, rooms, then bookings: a first block with executemany, then copies of it by
    INSERT ... SELECT, each copy on other rooms and other days."""
    rnd = random.Random(seed)
    site, room, booking = tables.of("site"), tables.of("room"), tables.of("booking")
    system = {"created_at": EPOCH, "updated_at": EPOCH, "version": 1}
    with db.begin() as conn:
        conn.execute(site.insert(), [{**system, "name": f"Site {i}", "city": CITIES[i % len(CITIES)]}
                                     for i in range(SITES)])
        sites = list(conn.execute(sa.select(site.c.id).order_by(site.c.id)).scalars())
        for start in range(0, ROOMS, SEED_CHUNK):
            conn.execute(room.insert(), [
                {**system, "name": f"Room {i}", "site": sites[i % SITES], "capacity": 4 + i % 40,
                 "access_mode": "controlled" if i % 9 == 0 else "open",
                 "deleted_at": EPOCH if i % 500 == 7 else None}
                for i in range(start, min(ROOMS, start + SEED_CHUNK))])
        first_room = conn.execute(sa.select(sa.func.min(room.c.id))).scalar_one()
        block = min(BOOKINGS, SEED_BLOCK)
        for start in range(0, block, SEED_CHUNK):
            conn.execute(booking.insert(), [
                {**system, "subject": f"Booking {i}", "starts_on": FIRST_DAY + dt.timedelta(days=rnd.randrange(730)),
                 "room": first_room + rnd.randrange(ROOMS) if i % 50 else None,
                 "backup_room": first_room + rnd.randrange(ROOMS) if i % 7 == 0 else None,
                 "seats": 1 + rnd.randrange(20), "deleted_at": EPOCH if i % 100 == 3 else None}
                for i in range(start, min(block, start + SEED_CHUNK))])
        first = conn.execute(sa.select(sa.func.min(booking.c.id))).scalar_one()
        columns = [c for c in booking.c if c.name != "id"]
        done, copy = block, 0
        while done < BOOKINGS:
            copy += 1
            size = min(block, BOOKINGS - done)
            moved = {
                "room": (first_room + (booking.c.room - first_room + copy * 37) % ROOMS).label("room"),
                "subject": (booking.c.subject + f" / {copy}").label("subject"),
            }
            source = sa.select(*(moved.get(c.name, c) for c in columns)).where(
                booking.c.id >= first, booking.c.id < first + size)
            conn.execute(booking.insert().from_select([c.name for c in columns], source))
            done += size
            if copy % 10 == 0:
                progress(f"  seeded {done:,} of {BOOKINGS:,} bookings")
    analyze(db)


class HandWritten:
    """The count and the page of one combination, written as one join."""

    JOINS = ("FROM ent_booking b LEFT JOIN ent_room r ON r.id = b.room AND r.deleted_at IS NULL "
             "LEFT JOIN ent_site s ON s.id = r.site AND s.deleted_at IS NULL")

    def __init__(self, combination: Combination):
        where = f"b.deleted_at IS NULL AND {combination.where}"
        self.params = combination.params
        self.count = sa.text(f"SELECT count(*) {self.JOINS} WHERE {where}")
        # Empty dates where each database puts them by default, as the engine sorts them.
        self.page = sa.text(
            f"SELECT b.*, r.name AS room_name, s.city AS site_city {self.JOINS} WHERE {where} "
            f"ORDER BY b.starts_on DESC, b.id DESC LIMIT {PAGE}")

    def run(self, conn: sa.Connection) -> tuple[int, list[tuple[Any, ...]]]:
        total = conn.execute(self.count, self.params).scalar_one()
        rows = [dict(row) for row in conn.execute(self.page, self.params).mappings()]
        return total, [(row["id"], row["room_name"], row["site_city"]) for row in rows]


def run(new_url: Callable[[], str], label: str) -> list[dict[str, Any]]:
    import metamodel
    from engine import Actor, Engine

    engine = Engine(metamodel.load_model([PACK]), new_url(), plugins=shipped_plugins())
    engine.migrate()
    progress(f"relations list ({label}): seeding {BOOKINGS:,} bookings")
    seed(engine.db, engine.tables)
    manager = Actor(user_id=None, username="manager", roles=frozenset({"manager"}))
    with engine.db.connect() as conn:
        site = conn.execute(sa.text("SELECT min(id) + 17 FROM ent_site")).scalar_one()
    lines = []
    with engine.db.connect() as conn:
        for combination in combinations(site):
            hand = HandWritten(combination)
            args = {**combination.args, "size": [str(PAGE)], "total": ["exact"]}

            def through_engine(args: dict[str, list[str]] = args) -> tuple[int, list[tuple[Any, ...]]]:
                result = engine.records.list("booking", engine.records.list_request("booking", args), actor=manager)
                return result.total, [(row["id"], row["room.name"], row["room.site.city"]) for row in result.rows]

            expected = hand.run(conn)
            assert through_engine() == expected, f"{combination.name}: the engine and the hand-written join disagree"
            progress(f"relations list ({label}): {combination.name} (total {expected[0]:,})")
            timings = alternating_timings(RUNS, {"engine": through_engine,
                                                 "baseline": lambda hand=hand: hand.run(conn)})
            lines.append(emit_distribution(
                f"relations_list_1m_bookings_{label}_{combination.name}", timings["engine"], timings["baseline"],
                target=TARGET_RATIO, rows=BOOKINGS, total=expected[0], page_size=PAGE, runs=RUNS,
                path_columns=["room.name", "room.site.city"], path_filter=next(iter(combination.args)),
            ))
            conn.rollback()
    engine.dispose()
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            lines = run(new_url, label)
            missed = [line["name"] for line in lines if line["ratio_p50"] > TARGET_RATIO]
            if missed:
                progress(f"relations list ({label}): over target: {', '.join(missed)}")


if __name__ == "__main__":
    main()
    sys.exit(0)
