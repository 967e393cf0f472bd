"""Helpers for the broker tests: worker processes, waiting on them, counting audit rows.

(Imported by conftest.py and the tests; a plain module because tests/ is not a package.)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import sqlalchemy as sa

from engine import Engine

STALE_SECONDS = 2.0
"""Seconds without a heartbeat after which the tests' jobs show interrupted."""
WAIT_SECONDS = 120.0
"""Longest wait for something a worker must do; only reached when it is broken."""
HOOKS = Path(__file__).resolve().parent / "worker_with_hooks.py"


def wait_until(condition: Callable[[], Any], what: str, *, describe: Callable[[], str] = lambda: "") -> Any:
    """Poll `condition` until it is true and return its value; fail saying `what` did not happen."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {WAIT_SECONDS:g} s\n{describe()}")
        time.sleep(0.05)


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once (its whole process group)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the group), then SIGKILL if it does not end."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Workers:
    """Starts `ossature worker` processes on one test's database, broker and files folder."""

    database_url: str
    broker_url: str
    folder: Path
    started: list[Worker] = field(default_factory=list)

    @property
    def files_dir(self) -> Path:
        return self.folder / "files"

    @property
    def signals(self) -> Path:
        return self.folder / "signals"

    def environment(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("OSSATURE_")}
        env.update(
            OSSATURE_DATABASE_URL=self.database_url,
            OSSATURE_BROKER_URL=self.broker_url,
            OSSATURE_FILES_DIR=str(self.files_dir),
            OSSATURE_JOB_STALE_SECONDS=str(STALE_SECONDS),
            OSSATURE_TEST_SIGNAL_DIR=str(self.signals),
            **extra,
        )
        return env

    def start(
        self, *, hooks: dict[str, str] | None = None, console_script: bool = False, concurrency: int = 1
    ) -> Worker:
        """A worker in its own process group, once it says it is ready to take messages.

        `hooks`: see tests/jobs/worker_with_hooks.py."""
        self.signals.mkdir(parents=True, exist_ok=True)
        if console_script:
            script = shutil.which("ossature", path=str(Path(sys.executable).parent))
            assert script, f"no `ossature` console script next to {sys.executable}"
            command = [script]
        else:
            command = [sys.executable, str(HOOKS)]
        log_path = self.folder / f"worker-{len(self.started) + 1}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*command, "worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
                cwd=self.folder, env=self.environment(**(hooks or {})), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(process, log_path)
        self.started.append(worker)
        ready = f"ossature-{worker.pid}@{socket.gethostname()} ready."
        wait_until(lambda: ready in worker.log() or not worker.alive(), f"worker {worker.pid} ready",
                   describe=self.logs)
        assert worker.alive(), self.logs()
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {w.log_path.name} (pid {w.pid}) ---\n{w.log()[-4000:]}" for w in self.started)

    def wait_for_signal(self, name: str) -> Path:
        path = self.signals / name
        wait_until(path.exists, f"worker signal {name}", describe=self.logs)
        return path

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def audit_counts(engine: Engine, entity: str, action: str = "update") -> dict[int, int]:
    """Audit rows per record of `entity` for `action`."""
    audit = engine.tables.audit
    with engine.db.connect() as conn:
        rows = conn.execute(
            sa.select(audit.c.record_id, sa.func.count())
            .where(audit.c.entity == entity, audit.c.action == action)
            .group_by(audit.c.record_id)
        )
        return dict(rows.all())
