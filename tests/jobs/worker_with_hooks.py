"""Run the real `ossature` command (`worker ...`) with test hooks read from the environment.

The worker is the production code path (`ossature.main:main`, as the console script calls it);
the hooks only give a test control over *when* things happen, without timing anything:

- OSSATURE_TEST_CHUNK=N: N records per mass update chunk, so a small job has many chunks
  (an import takes its chunk size from its options).
- OSSATURE_TEST_SIGNAL_DIR=DIR and OSSATURE_TEST_HANG_AT_CHUNK=N: the worker process writes its
  Nth chunk, then (before that chunk commits) writes its pid to DIR/hung-<job id> and hangs
  until killed.
- OSSATURE_TEST_SIGNAL_DIR=DIR and OSSATURE_TEST_HOLD=1: every job, once claimed, creates
  DIR/held-<job id> and waits for DIR/release-<job id> before doing any work, keeping its
  heartbeat fresh meanwhile (a live worker busy on a long step).

With the prefork pool the hooks are installed before the fork, so every child has them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

WAIT_STEP = 0.05


def set_chunk_size(size: int) -> None:
    from engine.records import mass_update

    mass_update.CHUNK = size


def hang_at_chunk(number: int, signals: Path) -> None:
    from engine.jobs.service import Jobs

    record = Jobs._record
    seen = {"chunks": 0}

    def record_or_hang(self: Jobs, conn: Any, job_id: int, **progress: Any) -> None:
        seen["chunks"] += 1
        if seen["chunks"] == number:
            (signals / f"hung-{job_id}").write_text(str(os.getpid()))
            while True:  # inside the chunk's open transaction: only a kill ends this
                time.sleep(WAIT_STEP)
        record(self, conn, job_id, **progress)

    Jobs._record = record_or_hang  # type: ignore[method-assign]


def hold_every_job(signals: Path) -> None:
    from engine.jobs import service as jobs

    kind_function = jobs.kind_function

    def held(name: str) -> Any:
        function = kind_function(name)

        def wait_for_release(ctx: jobs.JobContext) -> Any:
            (signals / f"held-{ctx.job_id}").touch()
            while not (signals / f"release-{ctx.job_id}").exists():
                with ctx.engine.db.begin() as conn:  # alive: its heartbeat stays fresh, as in a long chunk
                    ctx.engine.jobs._touch(conn, ctx.job_id)
                time.sleep(WAIT_STEP)
            return function(ctx)

        return wait_for_release

    jobs.kind_function = held  # type: ignore[assignment]


def install_hooks() -> None:
    environ = os.environ
    if environ.get("OSSATURE_TEST_CHUNK"):
        set_chunk_size(int(environ["OSSATURE_TEST_CHUNK"]))
    signals = Path(environ.get("OSSATURE_TEST_SIGNAL_DIR", "."))
    if environ.get("OSSATURE_TEST_HANG_AT_CHUNK"):
        hang_at_chunk(int(environ["OSSATURE_TEST_HANG_AT_CHUNK"]), signals)
    if environ.get("OSSATURE_TEST_HOLD"):
        hold_every_job(signals)


if __name__ == "__main__":
    install_hooks()
    from ossature.main import main

    main()
