"""(e) The production server under load: 20 concurrent clients against the generated lead list,
the lead form and the API's lead list, each served by `ossature serve`'s gunicorn, side by side
with hand-written Flask + SQLAlchemy endpoints giving comparable HTML and JSON (the list and form
pages of bench_pages.py and bench_form_page.py, and a JSON list written here) under the same
gunicorn, with the same workers, threads and keep-alive.

Both servers run on the same seeded database (SQLite; PostgreSQL too when
`OSSATURE_BENCH_POSTGRES_URL` or `OSSATURE_TEST_DATABASE_URL` is set), listen on the loopback
only, and each runs as this file in server mode (`bench_serve.py --serve engine|baseline URL
FILES_DIR`), its log in a file. The rps ratio is baseline / engine, the time ratios engine /
baseline: each says how many times slower the engine is.

Each client keeps one connection open and sends REQUESTS_PER_CLIENT requests; every measurement
is bounded by MEASURE_SECONDS. The sides take turns, RUNS times; each line reports the median
run: requests per second, p50 and p99 latency, their ratios and the errors (any answer but 200,
a failed connection, a request not sent in time). Target: ratios <= 1.5, no error.
"""

from __future__ import annotations

import datetime as dt
import http.client
import math
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from common import emit  # also puts the repository on sys.path, for server mode too

CLIENTS = 20
REQUESTS_PER_CLIENT = 25
RUNS = 3
WORKERS = 2
THREADS = 4
MEASURE_SECONDS = 120.0
START_SECONDS = 60.0
PAGE_SIZE = 50
HOST = "127.0.0.1"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


# -- the two servers --------------------------------------------------------------------------


def engine_app(database_url: str, files_dir: str) -> Any:
    """What `ossature serve` builds in each worker (pages without login: they act as a demo user,
    as in bench_pages.py; the API checks its bearer token)."""
    import metamodel
    from ui_renderer import create_app

    return create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], "FILES_DIR": files_dir,
                       "LOGIN_REQUIRED": False, "SECRET_KEY": "bench"})


def api_list_by_hand(engine: Any) -> Any:
    """The API's lead list as one would write it by hand: the token checked with one query, the
    open leads counted, one page of them read, every column as JSON."""
    import hashlib

    import sqlalchemy as sa
    from flask import Flask, jsonify, request

    from engine.access.accounts import Accounts

    app = Flask("api_list_by_hand")
    leads = engine.tables.of("lead")
    tokens = Accounts(engine).token
    open_codes = sorted(engine.model.workflow("lead").open_codes)

    def json_value(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat() + "Z"
        if isinstance(value, dt.date):
            return value.isoformat()
        if hasattr(value, "as_tuple"):  # Decimal: exact, as a string
            return format(value, "f")
        return value

    @app.get("/api/v1/lead")
    def lead_list() -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        where = (leads.c.deleted_at.is_(None), leads.c.status.in_(open_codes))
        with engine.db.connect() as conn:
            caller = conn.execute(sa.select(tokens.c.user_id).where(
                tokens.c.token_hash == hashlib.sha256(token.encode()).hexdigest(), tokens.c.revoked_at.is_(None))).first()
            if caller is None:
                return jsonify({"error": "unauthorized"}), 401
            total = conn.execute(sa.select(sa.func.count()).select_from(leads).where(*where)).scalar_one()
            rows = conn.execute(sa.select(leads).where(*where).order_by(leads.c.created_at.desc(), leads.c.id.desc())
                                .limit(PAGE_SIZE)).mappings().all()
        items = [{name: json_value(value) for name, value in row.items()} for row in rows]
        return jsonify({"items": items, "total": total, "page": 1, "pages": math.ceil(total / PAGE_SIZE),
                        "size": PAGE_SIZE, "groups": None})

    return app


def baseline_app(database_url: str, files_dir: str) -> Callable[..., Any]:
    """The three hand-written endpoints, one WSGI app: the list and form pages of the page
    benchmarks and the JSON list above, over an `Engine`'s tables (the model only names them)."""
    import metamodel
    from bench_form_page import hand_written_app
    from bench_pages import lead_list_by_hand
    from engine import Engine

    engine = Engine(metamodel.load_model([metamodel.BASE_PACK]), database_url, files_dir=Path(files_dir))
    lists, form, api = lead_list_by_hand(engine), hand_written_app(engine), api_list_by_hand(engine)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        chosen = lists if path == "/lead/" else api if path.startswith("/api/") else form
        return chosen.wsgi_app(environ, start_response)

    return app


def serve(side: str, database_url: str, files_dir: str) -> None:
    """Server mode: this side's app on gunicorn, on any free loopback port (logged)."""
    from ossature.commands.serve import ProductionServer, gunicorn_options

    build = engine_app if side == "engine" else baseline_app
    options = gunicorn_options(HOST, 0, workers=WORKERS, threads=THREADS)
    ProductionServer(lambda: build(database_url, files_dir), options).run()


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: gunicorn's graceful stop
        try:
            self.process.wait(timeout=START_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(side: str, database_url: str, folder: Path) -> Server:
    log = folder / f"{side}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", side, database_url, str(folder / "files")],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=out,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return Server(process, int(found.group(1)), log)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the {side} server did not start:\n{log.read_text(errors='replace')[-2000:]}")


# -- the clients ------------------------------------------------------------------------------


@dataclass
class Measure:
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] * 1000 if ordered else math.inf


def load(port: int, paths: Callable[[int, int], str], headers: dict[str, str],
         requests_per_client: int = REQUESTS_PER_CLIENT) -> Measure:
    """CLIENTS threads, each on its own kept-alive connection, `requests_per_client` requests each."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    deadline = time.monotonic() + MEASURE_SECONDS
    ready = threading.Barrier(CLIENTS + 1)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=MEASURE_SECONDS)
        ready.wait()
        for i in range(requests_per_client):
            if time.monotonic() > deadline:
                errors[n] += requests_per_client - i
                break
            started = time.perf_counter()
            try:
                connection.request("GET", paths(n, i), headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=MEASURE_SECONDS)
            if ok:
                latencies[n].append(time.perf_counter() - started)
            else:
                errors[n] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Measure(time.perf_counter() - started, [s for per in latencies for s in per], sum(errors))


# -- the benchmark ----------------------------------------------------------------------------


def prepare(database_url: str, folder: Path) -> tuple[list[int], str]:
    """Seed the demo data and an API token; the lead ids the form requests cycle through."""
    from engine.access.accounts import Accounts
    from ossature.demo import seed_demo, seed_demo_logins

    app = engine_app(database_url, str(folder / "files"))
    engine = app.extensions["ossature"]
    engine.migrate()
    seed_demo(engine, seed=0, today=dt.date(2026, 1, 15))
    seed_demo_logins(engine)
    accounts = Accounts(engine)
    token = accounts.create_token(accounts.user_id("admin"), "bench")
    page = engine.records.list("lead", engine.records.list_request("lead", {"tab": ["all"], "size": ["50"]}))
    ids = [row["id"] for row in page.rows]
    engine.dispose()
    return ids, token


def same_answers(engine: Server, baseline: Server, ids: list[int], headers: dict[str, str]) -> None:
    """Both sides answer the same rows: 50 leads on the list pages, the same page of the API."""
    import json

    def get(server: Server, path: str) -> bytes:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=MEASURE_SECONDS)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200, (server.log, path, response.status)
        return body

    generated, by_hand = get(engine, "/lead/").decode(), get(baseline, "/lead/").decode()
    assert generated.count('class="record-link"') == by_hand.count('<td><a href="/lead/') == PAGE_SIZE
    assert b"<form" in get(engine, f"/lead/{ids[0]}") and b"<form" in get(baseline, f"/lead/{ids[0]}")
    api_engine, api_hand = json.loads(get(engine, "/api/v1/lead")), json.loads(get(baseline, "/api/v1/lead"))
    assert api_engine["total"] == api_hand["total"]
    assert [item["id"] for item in api_engine["items"]] == [item["id"] for item in api_hand["items"]]


def bench(database_name: str, database_url: str, folder: Path) -> None:
    ids, token = prepare(database_url, folder)
    headers = {"Accept-Language": "en", "Authorization": f"Bearer {token}"}
    pages: dict[str, Callable[[int, int], str]] = {
        "serve_list_page_leads": lambda n, i: "/lead/",
        "serve_form_page_lead": lambda n, i: f"/lead/{ids[(n * REQUESTS_PER_CLIENT + i) % len(ids)]}",
        "serve_api_list_leads": lambda n, i: "/api/v1/lead",
    }
    servers = {"engine": start("engine", database_url, folder), "baseline": start("baseline", database_url, folder)}
    try:
        same_answers(servers["engine"], servers["baseline"], ids, headers)
        for server in servers.values():  # warm-up: every worker builds its layouts and pools
            for paths in pages.values():
                load(server.port, paths, headers, requests_per_client=2)
        runs: dict[str, dict[str, list[Measure]]] = {name: {"engine": [], "baseline": []} for name in pages}
        for _ in range(RUNS):
            for name, paths in pages.items():
                for side in ("baseline", "engine"):  # taking turns: a busy machine slows both alike
                    runs[name][side].append(load(servers[side].port, paths, headers))
        for name, sides in runs.items():
            report(name, sides["engine"], sides["baseline"], database_name)
    finally:
        for server in servers.values():
            server.stop()


def report(name: str, engine: list[Measure], baseline: list[Measure], database: str) -> None:
    """The median of the runs for each figure, side by side."""
    def median(measures: list[Measure], figure: Callable[[Measure], float]) -> float:
        return statistics.median(figure(m) for m in measures)

    e_rps, b_rps = median(engine, lambda m: m.rps), median(baseline, lambda m: m.rps)
    e50, b50 = median(engine, lambda m: m.percentile(0.50)), median(baseline, lambda m: m.percentile(0.50))
    e99, b99 = median(engine, lambda m: m.percentile(0.99)), median(baseline, lambda m: m.percentile(0.99))
    emit(name, median(engine, lambda m: m.seconds), median(baseline, lambda m: m.seconds), target=1.5,
         database=database, clients=CLIENTS, requests=CLIENTS * REQUESTS_PER_CLIENT, runs=RUNS,
         workers=WORKERS, threads=THREADS,
         engine_rps=round(e_rps, 1), baseline_rps=round(b_rps, 1), rps_ratio=round(b_rps / e_rps, 2),
         engine_p50_ms=round(e50, 1), baseline_p50_ms=round(b50, 1), p50_ratio=round(e50 / b50, 2),
         engine_p99_ms=round(e99, 1), baseline_p99_ms=round(b99, 1), p99_ratio=round(e99 / b99, 2),
         errors=sum(m.errors for m in engine + baseline))


def main() -> None:
    from _big import databases, progress

    with tempfile.TemporaryDirectory() as tmp:
        for database_name, new_url in databases(Path(tmp)):
            folder = Path(tmp) / database_name
            folder.mkdir()
            progress(f"serving benchmark on {database_name}: {CLIENTS} clients, {RUNS} runs")
            bench(database_name, new_url(), folder)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
