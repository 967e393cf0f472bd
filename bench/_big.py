"""What the large-scale benchmarks share: scratch databases, fast seeding and progress lines.

Seeding is never measured: rows go in with SQLAlchemy Core (executemany, then INSERT ...
SELECT copies), already typed and with their system columns, straight into the engine's
tables (no validation, no audit).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from common import POSTGRES_URL

SEED_CHUNK = 5_000
SEED_BLOCK = 20_000
SECTORS = ("agriculture", "banking", "construction", "education", "energy", "healthcare", "hospitality",
           "industry", "it", "media", "public_sector", "retail", "services", "telecom", "transport")
SOURCES = ("website", "trade_show", "referral", "cold_call", "partner")
STATUSES = ("new", "new", "qualification_call", "commercial_qualification", "converted", "lost")
CITIES = ("Paris", "Lyon", "Nantes", "Lille", "Bordeaux", "Toulouse")
FIRST = ("Anne", "Louis", "Chloé", "Hugo", "Emma", "Jules", "Léa", "Noah", "Alice", "Paul")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon")
EPOCH = dt.datetime(2023, 1, 1)


def progress(message: str) -> None:
    """A line on stderr, so that a long benchmark shows it is alive without touching the JSON on stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def databases(tmp: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    """(label, new_url) for SQLite, then for PostgreSQL when configured: each `new_url()` gives
    an empty database (a new SQLite file in `tmp`, a new PostgreSQL schema dropped afterwards)."""
    yield "sqlite", lambda: f"sqlite:///{tmp / uuid.uuid4().hex}.db"
    if not POSTGRES_URL:
        return
    admin = sa.create_engine(POSTGRES_URL)
    schemas: list[str] = []

    def new_schema() -> str:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        schemas.append(name)
        return schema_url(name)

    try:
        yield "postgresql", new_schema
    finally:
        with admin.begin() as conn:
            for name in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def schema_url(schema: str) -> str:
    assert POSTGRES_URL
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def lead_rows(
    start: int, stop: int, users: list[int], *, rnd: random.Random, trashed: float = 0.02
) -> list[dict[str, Any]]:
    """Leads `start` to `stop - 1` as stored rows: spread over 15 sectors, six statuses
    (two thirds open), three years of creation dates, a fraction `trashed` in the trash."""
    rows = []
    for i in range(start, stop):
        created = EPOCH + dt.timedelta(seconds=rnd.randrange(3 * 365 * 86400))
        rows.append({
            "created_at": created, "created_by": None, "updated_at": created, "updated_by": None, "version": 1,
            "deleted_at": created if rnd.random() < trashed else None,
            "first_name": rnd.choice(FIRST), "last_name": f"{rnd.choice(LAST)} {i}", "company": f"Company {i % 5000}",
            "sector": rnd.choice(SECTORS), "source": rnd.choice(SOURCES), "status": rnd.choice(STATUSES),
            "city": rnd.choice(CITIES), "phone": "+33 1 02 03 04 05", "email": f"lead{i}@example.org",
            "score": rnd.randint(0, 5), "do_not_call": False, "do_not_email": False, "key_account": False,
            "nurturing": False, "assigned_to": users[i % len(users)] if users else None,
        })
    return rows


def seed_users(db: sa.Engine, tables: Any, count: int) -> list[int]:
    user = tables.of("user")
    now = EPOCH
    with db.begin() as conn:
        conn.execute(user.insert(), [
            {"username": f"bench{i}", "display_name": f"Bench user {i}", "created_at": now, "updated_at": now,
             "version": 1}
            for i in range(count)
        ])
        return list(conn.execute(sa.select(user.c.id).order_by(user.c.id)).scalars())


def seed_leads(
    db: sa.Engine, tables: Any, count: int, users: list[int], *, seed: int = 7, trashed: float = 0.02
) -> None:
    """`count` leads: a first block of SEED_BLOCK varied rows with Core executemany, then
    copies of that block with INSERT ... SELECT, each copy's dates moved a few minutes later
    (so that dates stay distinct and spread over the same three years)."""
    lead = tables.of("lead")
    rnd = random.Random(seed)
    started = time.perf_counter()
    block = min(count, SEED_BLOCK)
    with db.begin() as conn:
        first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(lead.c.id), 0))).scalar_one() + 1
        for start in range(0, block, SEED_CHUNK):
            rows = lead_rows(start, min(block, start + SEED_CHUNK), users, rnd=rnd, trashed=trashed)
            conn.execute(lead.insert(), rows)
        columns = [c for c in lead.c if c.name != "id"]
        dialect = db.dialect.name
        done, copy = block, 0
        while done < count:
            copy += 1
            size = min(block, count - done)
            moved = {name: _later(lead.c[name], copy, dialect) for name in ("created_at", "updated_at", "deleted_at")}
            source = sa.select(*(moved.get(c.name, c) for c in columns)).where(
                lead.c.id >= first, lead.c.id < first + size
            )
            conn.execute(lead.insert().from_select([c.name for c in columns], source))
            done += size
            if count >= 200_000 and copy % 20 == 0:
                progress(f"  seeded {done:,} of {count:,} leads ({time.perf_counter() - started:.0f} s)")
    analyze(db)


RARE_VALUES = {
    "category": (("hot", 20_000, 7), ("warm", 500, 3)),
    "team": (("key_accounts", 2_000, 11),),
    "key_account": ((True, 100, 5),),
}
"""Characteristic -> (value, every, remainder): the value given to the leads whose id is
`remainder` modulo `every` (one lead in `every`): rare and medium values next to the common
ones `lead_rows` spreads evenly, for list queries to meet both."""


def seed_rare_values(db: sa.Engine, tables: Any) -> None:
    """Give the `RARE_VALUES`, one set-based UPDATE per value, then fresh statistics."""
    lead = tables.of("lead")
    with db.begin() as conn:
        for name, values in RARE_VALUES.items():
            for value, every, remainder in values:
                conn.execute(lead.update().where(lead.c.id % every == remainder).values({name: value}))
    analyze(db)


def _later(column: sa.Column, minutes: int, dialect: str) -> sa.ColumnElement[Any]:
    """`column` moved `minutes` later, in SQL, in the format the column is stored in."""
    if dialect == "sqlite":  # SQLAlchemy stores SQLite datetimes as text with microseconds
        text = sa.func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{minutes} minutes")
        return sa.type_coerce(text.concat("000"), sa.String).label(column.name)
    return (column + sa.text(f"interval '{minutes} minutes'")).label(column.name)


def analyze(db: sa.Engine) -> None:
    """Fresh planner statistics and, on PostgreSQL, a vacuumed table (its visibility map lets a
    count read an index alone), as a production database has them after autovacuum."""
    if db.dialect.name == "postgresql":
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            quote = conn.dialect.identifier_preparer.quote
            for name in sa.inspect(conn).get_table_names():  # this schema's only, not the whole database's
                conn.execute(sa.text(f"VACUUM ANALYZE {quote(name)}"))
        return
    with db.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def make_manager(engine: Any, user_id: int) -> Any:
    """The actor of `user_id` with the manager role (every lead in scope), as a job reads it back."""
    from engine.access.accounts import Accounts

    accounts = Accounts(engine)
    accounts.set_roles(user_id, ["manager"])
    return accounts.actor_for(user_id)


CONTACT_COLUMNS = ("salutation", "first_name", "last_name", "function", "language", "phone", "email",
                   "do_not_call", "city", "country", "birthday")


def write_contacts_csv(path: Path, count: int, *, seed: int = 11) -> Path:
    """A CSV of `count` valid contacts, as an integrator exports them (codes, ISO dates,
    true/false), written row by row so that a million rows never sit in memory. Every
    email is distinct (the contact's natural key)."""
    import csv

    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(CONTACT_COLUMNS)
        for i in range(count):
            writer.writerow((
                rnd.choice(("mr", "mrs", "dr")), rnd.choice(FIRST), f"{rnd.choice(LAST)} {i}",
                rnd.choice(("ceo", "cfo", "engineer", "consultant")), rnd.choice(("en", "fr")),
                f"+33 1 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}",
                f"contact{i}@example.org", "true" if rnd.random() < 0.1 else "false", rnd.choice(CITIES), "France",
                (dt.date(1960, 1, 1) + dt.timedelta(days=rnd.randint(0, 15000))).isoformat(),
            ))
    return path
