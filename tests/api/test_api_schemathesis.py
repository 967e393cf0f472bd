"""Schemathesis, every check and every phase (coverage, fuzzing, stateful with its inferred links),
against the API's own OpenAPI document, on a seeded app served on a local port.

The run is the command line's (`st run --checks all`), with `schemathesis.toml` and the hook
of `schemathesis_hooks.py` (a schema-valid request may be refused only for a rule the
document cannot state). Bounded: a fixed seed and a few examples per operation, so that it
stays a test of the suite; a run by hand can raise `--max-examples` (see schemathesis.toml).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from api_support import build_app, make_caller
from engine import SYSTEM_ACTOR, Engine

HERE = Path(__file__).resolve().parent
SEED = 20261207
MAX_EXAMPLES = 6
PHASES = "examples,coverage,fuzzing,stateful"


def keep_usable(engine: Engine, user_id: int) -> None:
    """Generated mass updates and deletions may switch the caller off; switch them back on."""
    user = engine.records.get("user", user_id, include_deleted=True)
    if user["deleted_at"] is not None:
        engine.records.restore("user", user_id, SYSTEM_ACTOR)
    if not engine.records.get("user", user_id)["active"]:
        engine.records.update("user", user_id, {"active": True}, SYSTEM_ACTOR)


def caller_kept(app: Flask, user_id: int) -> Callable[..., Iterable[bytes]]:
    """The app, with the calling user put back in service before each request."""
    engine: Engine = app.extensions["ossature"]

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        keep_usable(engine, user_id)
        return app(environ, start_response)

    return serve


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, str]]:
    """(base address, token of an admin) of a seeded app listening on a free local port."""
    app = build_app(database_url, config={"TOKEN_ADDRESS_LIMIT": "1000000 per minute"})
    caller = make_caller(app, "fuzz.admin", ("admin",))
    server = make_server("127.0.0.1", 0, caller_kept(app, caller.user_id), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", caller.token
    server.shutdown()
    thread.join()
    app.extensions["ossature"].dispose()


def test_generated_requests_get_documented_answers(served: tuple[str, str], tmp_path: Path) -> None:
    base, token = served
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
                   "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"), "run",
        f"{base}/api/v1/openapi.json", "-H", f"Authorization: Bearer {token}", "--checks", "all",
        "--phases", PHASES, "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
        "--no-color", "--output-truncate", "false",
    ]
    run = subprocess.run(command, env=environment, cwd=tmp_path, capture_output=True, text=True)
    report = run.stdout[-30000:] + run.stderr[-3000:]
    counted = re.search(r"Operations:\s+(\d+) selected / (\d+) total", run.stdout)
    assert counted is not None, report
    selected, total = int(counted[1]), int(counted[2])
    assert selected == total > 150, f"every operation of the document is run ({selected} of {total})"
    assert run.returncode == 0, report

