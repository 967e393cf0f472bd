"""The API's list (`GET /api/v1/lead`) against a hand-written Flask + SQLAlchemy endpoint giving
the same JSON, over 100,000 leads: a page of 50 with two filters and a sort, its total counted
each way the API offers (`total=exact`, `capped`, `none`), and a deep page (row 10,000 on)
read through the `after=` cursor.

Both apps run in this process and are called through the Flask test client, the sides taking
turns request after request: the same WSGI calls, no network, no other server between them, so
what differs is what each app does for a request (the token, the query string, the count, the
page, the JSON), which is what the target bounds. bench_serve.py measures the same list under
gunicorn with concurrent clients.

The hand-written endpoint does what a careful person would write for this one list: the token
checked with one query (not revoked, login active, user live), the arguments read by hand (an
unknown value answers 400), the count (`count(*)`, or of a `LIMIT cap + 1` subquery), one page
(`ORDER BY last_name, id`, keyset `WHERE (last_name, id) > (...)` after a cursor it encodes as
the API does, or OFFSET), every column as JSON. Both sides must give the same body (the API's
cursor may also carry the plan its page was read by: the two cursors must start the next page at
the same row). It knows its data, so it chooses no plan: with `total=none` on SQLite the API still
counts, as far as its plan choice needs, on the first page of a list (not after a cursor).

Lines, per database (SQLite; PostgreSQL when bench/common.py's POSTGRES_URL says so): RUNS runs
of REQUESTS requests a side; each run's median, then the median of the runs. Target: ratio <= 1.3.
`deep_after_vs_offset` compares the cursor with what a client without one does (OFFSET 10,000):
informative, no target.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from _big import databases, progress, seed_leads, seed_users
from common import emit

LEADS = 100_000
PAGE = 50
CAP = 10_000
DEEP = 10_000
RUNS = 3
REQUESTS = 40
TARGET_RATIO = 1.3
SOURCES = ("website", "referral", "partner")
ARGS = {"f_source": list(SOURCES), "f_score_min": ["1"], "sort": ["last_name"], "size": [str(PAGE)]}
"""Two filters matching about half the open leads, and an indexed sort. The deep page is read in the
list's own order (`-created_at`, never NULL): a cursor on a column that may hold NULLs sorting after
its values cannot enter the index at the cursor (engine/storage/keyset.py), by hand or not."""


def query(args: dict[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name, values in args.items() for value in values)


# -- the hand-written endpoint ------------------------------------------------------------------------


def hand_written_app(engine: Any) -> Any:
    """The same list as the API's, for this one query, written by hand."""
    from flask import Flask, jsonify, request

    from engine.access.accounts import account_tables, hash_token

    app = Flask("api_list_by_hand")
    leads = engine.tables.of("lead")
    users = engine.tables.of("user")
    logins, tokens, _ = account_tables(engine.tables.metadata)
    open_codes = sorted(engine.model.workflow("lead").open_codes)
    names = [c.name for c in leads.c]
    low_nulls = engine.db.dialect.name == "sqlite"  # NULLs first when ascending on SQLite, last on PostgreSQL

    def caller() -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with engine.db.connect() as conn:
            return conn.execute(
                sa.select(tokens.c.user_id).select_from(tokens.join(logins, logins.c.user_id == tokens.c.user_id)
                                                        .join(users, users.c.id == tokens.c.user_id))
                .where(tokens.c.token_hash == hash_token(token), tokens.c.revoked_at.is_(None),
                       logins.c.active.is_(True), users.c.deleted_at.is_(None))).first()

    def value(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.isoformat() + "Z"
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return format(v, "f")
        return v

    sorts = {"last_name": (leads.c.last_name, False), "-created_at": (leads.c.created_at, True)}

    def cursor(sort: str, row: Any) -> str:
        key = row._mapping[sorts[sort][0].name]
        values = [key.isoformat() if isinstance(key, dt.datetime) else key, row.id]
        text = json.dumps({"s": [sort], "v": values}, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def after(sort: str, raw: str) -> Any:
        column, descending = sorts[sort]
        key, last_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["v"]
        if isinstance(column.type, sa.DateTime):
            key = dt.datetime.fromisoformat(key)
        if descending:  # created_at: never NULL, so the range enters its index at the cursor
            return sa.and_(column <= key, sa.or_(column < key, sa.and_(column == key, leads.c.id < last_id)))
        return sa.or_(column > key, column.is_(None), sa.and_(column == key, leads.c.id > last_id))

    def order(sort: str) -> list[Any]:
        column, descending = sorts[sort]
        if descending:
            return [column.desc(), leads.c.id.desc()]
        clause = column.asc()
        return [clause.nulls_first() if low_nulls else clause.nulls_last(), leads.c.id]

    @app.get("/api/v1/lead")
    def lead_list() -> Any:
        if caller() is None:
            return jsonify({"error": "unauthorized"}), 401
        sources, score = request.args.getlist("f_source"), request.args.get("f_score_min", type=int)
        size, page = request.args.get("size", 50, type=int), request.args.get("page", 1, type=int)
        total_mode, sort = request.args.get("total", "exact"), request.args.get("sort", "-created_at")
        if sort not in sorts or total_mode not in ("exact", "capped", "none"):
            return jsonify({"error": "bad_request"}), 400
        where = [leads.c.deleted_at.is_(None), leads.c.status.in_(open_codes), leads.c.source.in_(sources),
                 leads.c.score >= score]
        page_where = list(where)
        offset = (page - 1) * size
        if request.args.get("after"):
            page_where.append(after(sort, request.args["after"]))
            offset = 0
        with engine.db.connect() as conn:
            total, capped = None, False
            if total_mode == "exact":
                total = conn.execute(sa.select(sa.func.count()).select_from(leads).where(*where)).scalar_one()
            elif total_mode == "capped":
                first = sa.select(sa.literal_column("1")).select_from(leads).where(*where).limit(CAP + 1).subquery()
                total = conn.execute(sa.select(sa.func.count()).select_from(first)).scalar_one()
                capped, total = total > CAP, min(total, CAP)
            rows = conn.execute(sa.select(leads).where(*page_where).order_by(*order(sort))
                                .limit(size + 1).offset(offset)).all()
        more = len(rows) > size
        rows = rows[:size]
        return jsonify({
            "items": [{name: value(v) for name, v in zip(names, row)} for row in rows],
            "total": total, "total_capped": capped, "page": page, "size": size, "groups": None,
            "pages": None if total is None else max(1, math.ceil(total / size)),
            "next_after": cursor(sort, rows[-1]) if more else None,
        })

    return app


# -- the benchmark ------------------------------------------------------------------------------------


def engine_app(database_url: str, files: Path) -> Any:
    import metamodel
    from ui_renderer import create_app

    return create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": str(files),
                       "SECRET_KEY": "bench"})


def prepare(database_url: str, folder: Path) -> tuple[Any, Any, dict[str, str]]:
    """Both apps over LEADS seeded leads, and the headers of an admin's token."""
    from engine.access.accounts import Accounts

    app = engine_app(database_url, folder / "files")
    engine = app.extensions["ossature"]
    engine.migrate()
    users = seed_users(engine.db, engine.tables, 20)
    seed_leads(engine.db, engine.tables, LEADS, users)
    accounts = Accounts(engine)
    user_id = accounts.create_user("bench.admin", "Bench admin", "a long password", ("admin",))
    token = accounts.create_token(user_id, "bench")
    return app.test_client(), hand_written_app(engine).test_client(), {
        "Authorization": f"Bearer {token}", "Accept-Language": "en"}


def same_body(engine: Any, baseline: Any, headers: dict[str, str], engine_path: str, baseline_path: str,
              *, items_only: bool = False) -> dict:
    """The engine's body, checked against the hand-written one (the whole body, or its items)."""
    mine, theirs = engine.get(engine_path, headers=headers), baseline.get(baseline_path, headers=headers)
    assert mine.status_code == theirs.status_code == 200, (mine.status_code, mine.data[:300], theirs.data[:300])
    body, expected = mine.get_json(), theirs.get_json()
    assert position(body["next_after"]) == position(expected["next_after"]), engine_path
    if items_only:
        body, expected = body["items"], expected["items"]
    else:  # the engine's cursor may also say the plan its page was read by
        body, expected = {**body, "next_after": None}, {**expected, "next_after": None}
    assert body == expected, f"the two sides disagree on {engine_path}"
    return mine.get_json()


def position(cursor: str | None) -> Any:
    """Where a cursor starts the next page: its sort and values."""
    if cursor is None:
        return None
    document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return document["s"], document["v"]


def timed(client: Any, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    spent = time.perf_counter() - started
    assert response.status_code == 200
    return spent


def compare(engine: Any, baseline: Any, headers: dict[str, str], engine_path: str, baseline_path: str
            ) -> tuple[float, float]:
    """Median of RUNS run medians of each side, the sides taking turns request after request."""
    runs: dict[str, list[float]] = {"engine": [], "baseline": []}
    for _ in range(RUNS):
        times: dict[str, list[float]] = {"engine": [], "baseline": []}
        for _ in range(REQUESTS):
            times["baseline"].append(timed(baseline, baseline_path, headers))
            times["engine"].append(timed(engine, engine_path, headers))
        for side, spent in times.items():
            runs[side].append(statistics.median(spent))
    return statistics.median(runs["engine"]), statistics.median(runs["baseline"])


def deep_cursor(client: Any, headers: dict[str, str], args: dict[str, list[str]]) -> str:
    """The `after=` of row DEEP, as a client paging through the list holds it."""
    body = client.get(f"/api/v1/lead?{query({**args, 'size': ['1'], 'page': [str(DEEP)], 'total': ['none']})}",
                      headers=headers).get_json()
    return body["next_after"]


def bench(label: str, database_url: str, folder: Path) -> None:
    engine, baseline, headers = prepare(database_url, folder)
    path = f"/api/v1/lead?{query(ARGS)}"
    cases: dict[str, tuple[str, str]] = {mode: (f"{path}&total={mode}",) * 2 for mode in ("exact", "capped", "none")}
    by_date = {**ARGS, "sort": ["-created_at"], "total": ["none"]}
    deep = f"/api/v1/lead?{query(by_date)}&after={deep_cursor(engine, headers, by_date)}"
    cases["deep_after"] = (deep, deep)
    cases["deep_after_vs_offset"] = (deep, f"/api/v1/lead?{query(by_date)}&page={DEEP // PAGE + 1}")
    for name, (mine, theirs) in cases.items():
        body = same_body(engine, baseline, headers, mine, theirs, items_only=mine != theirs)
        for _ in range(5):  # warm-up: statement caches, pools
            timed(engine, mine, headers), timed(baseline, theirs, headers)
        engine_s, baseline_s = compare(engine, baseline, headers, mine, theirs)
        emit(f"api_list_100k_leads_{label}_{name}", engine_s, baseline_s,
             target=None if name == "deep_after_vs_offset" else TARGET_RATIO, database=label, rows=LEADS,
             page_size=PAGE, total=body["total"], total_capped=body["total_capped"], runs=RUNS, requests=REQUESTS)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, new_url in databases(Path(tmp)):
            folder = Path(tmp) / label
            folder.mkdir()
            progress(f"API list ({label}): seeding {LEADS:,} leads")
            bench(label, new_url(), folder)


if __name__ == "__main__":
    main()
