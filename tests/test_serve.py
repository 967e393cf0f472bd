"""`ossature serve`: gunicorn with workers, threads and keep-alive, a clean stop on SIGTERM, one
log line per request under a request id (text or JSON lines); `--dev` for Flask's reloader.

The server tests start the real command in a subprocess on a free loopback port (`--port 0`:
gunicorn takes one and logs it) and wait on what it logs, within bounds."""

from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import click
import pytest
from click.testing import CliRunner
from flask import Flask

import metamodel
from ossature.commands import serve as serve_module
from ossature.main import cli
from ui_renderer import create_app
from ui_renderer.core.request_log import (
    ACCEPTED_ID,
    REQUEST_ID_HEADER,
    JsonFormatter,
    TextFormatter,
)
from ui_renderer.testing import PAGES_WITHOUT_LOGIN

OSSATURE = Path(sys.executable).parent / "ossature"
STARTED = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
BOUND = 60.0
"""Seconds any wait of these tests may last (a loaded machine is slow, a hung server fails)."""


class Server:
    """A serving subprocess whose stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        self.process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.wait_for(STARTED).group(1))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first line (seen or to come) matching `pattern`; fails after BOUND seconds or at EOF."""
        for line in self.lines:
            if found := pattern.search(line):
                return found
        deadline = time.monotonic() + BOUND
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"the server ended without logging {pattern.pattern!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if found := pattern.search(line):
                return found
        pytest.fail(f"no {pattern.pattern!r} within {BOUND}s:\n" + "\n".join(self.lines))

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=BOUND)

    def get(self, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        connection = self.connection()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()

    def terminate(self) -> int:
        """SIGTERM, then the exit status, read within BOUND seconds; the rest of the log is collected."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=BOUND)
        while (line := self._new.get(timeout=BOUND)) is not None:
            self.lines.append(line)
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=BOUND)


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a server on a migrated test database (its instance folder in tmp_path)."""
    env = {**os.environ, "OSSATURE_DATABASE_URL": database_url, "OSSATURE_FILES_DIR": str(tmp_path / "files")}
    for name in ("OSSATURE_PACKS", "OSSATURE_LOG_FORMAT", "OSSATURE_WORKERS", "OSSATURE_THREADS",
                 "OSSATURE_KEEP_ALIVE", "OSSATURE_BROKER_URL"):
        env.pop(name, None)
    result = subprocess.run([str(OSSATURE), "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=BOUND, check=False)
    assert result.returncode == 0, result.stderr
    return env


def start(env: dict[str, str], cwd: Path, *options: str) -> Iterator[Server]:
    server = Server([str(OSSATURE), "serve", "--host", "127.0.0.1", "--port", "0", *options], env, cwd)
    try:
        yield server
    finally:
        server.kill()


# -- the real server ---------------------------------------------------------------------------


def test_serve_runs_gunicorn_answers_and_stops_cleanly_on_sigterm(migrated, tmp_path):
    for server in start(migrated, tmp_path, "--workers", "2", "--threads", "2"):
        response, body = server.get("/health")
        assert response.status == 200
        assert json.loads(body)["status"] == "ok"
        generated = response.getheader(REQUEST_ID_HEADER)
        assert re.fullmatch(r"[0-9a-f]{32}", generated)

        response, body = server.get("/login", **{REQUEST_ID_HEADER: "proxy-7f3a"})
        assert response.status == 200 and b'name="password"' in body
        assert response.getheader(REQUEST_ID_HEADER) == "proxy-7f3a"
        assert response.getheader("Server") == "gunicorn"

        # keep-alive: two requests on one connection, which the server leaves open
        connection = server.connection()
        connection.request("GET", "/health")
        first = connection.getresponse()
        first.read()
        socket_used = connection.sock
        connection.request("GET", "/health")
        second = connection.getresponse()
        second.read()
        assert (first.status, second.status) == (200, 200)
        assert connection.sock is socket_used and socket_used is not None
        assert (second.getheader("Connection") or "").lower() != "close"
        connection.close()

        assert server.terminate() == 0
        log = "\n".join(server.lines)
        assert "Handling signal: term" in log and "Shutting down: Master" in log
        assert "Using worker: gthread" in log
        assert "development server" not in log
        assert re.search(r"\[proxy-7f3a\] ossature\.request: GET /login 200 \d+B [\d.]+ms user=-", log)
        assert re.search(rf"\[{generated}\] ossature\.request: GET /health 200", log)


def test_log_format_json_from_the_environment_writes_json_lines_only(migrated, tmp_path):
    env = {**migrated, "OSSATURE_LOG_FORMAT": "json", "OSSATURE_WORKERS": "1"}
    for server in start(env, tmp_path):
        response, _ = server.get("/health", **{REQUEST_ID_HEADER: "json-line-1"})
        assert response.status == 200
        assert server.terminate() == 0
    lines = [json.loads(line) for line in server.lines if line.strip()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    request_lines = [line for line in lines if line.get("request_id") == "json-line-1"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert (line["logger"], line["method"], line["path"], line["status"]) == ("ossature.request", "GET", "/health", 200)
    assert line["bytes"] > 0 and line["duration_ms"] >= 0
    assert sum(line["message"].startswith("Booting worker") for line in lines) == 1


SLOW_APP = """
import sys, time
from pathlib import Path
from ossature.commands.serve import ProductionServer, gunicorn_options

here = Path(sys.argv[1])
workers = []

def factory():
    def app(environ, start_response):
        (here / "started").touch()
        deadline = time.monotonic() + 60
        while not (here / "release").exists() and time.monotonic() < deadline:
            if not workers[0].alive:  # the worker has the SIGTERM, this request still runs
                (here / "stopping").touch()
            time.sleep(0.01)  # waits for the test, within a bound
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"finished"]
    return app

options = gunicorn_options("127.0.0.1", 0, workers=1, threads=2, graceful_timeout=60)
options["post_worker_init"] = workers.append
ProductionServer(factory, options).run()
"""


def wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + BOUND
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} within {BOUND}s"
        time.sleep(0.01)


def test_sigterm_lets_the_request_in_progress_finish(tmp_path):
    script = tmp_path / "slow_server.py"
    script.write_text(textwrap.dedent(SLOW_APP))
    server = Server([sys.executable, str(script), str(tmp_path)], dict(os.environ), tmp_path)
    try:
        answers: list[tuple[int, bytes]] = []

        def request() -> None:
            response, body = server.get("/slow")
            answers.append((response.status, body))

        client = threading.Thread(target=request)
        client.start()
        wait_for_file(tmp_path / "started")
        server.process.send_signal(signal.SIGTERM)
        wait_for_file(tmp_path / "stopping")
        assert answers == []
        (tmp_path / "release").touch()
        client.join(BOUND)
        assert answers == [(200, b"finished")]
        assert server.process.wait(timeout=BOUND) == 0
    finally:
        server.kill()


# -- the command's options -----------------------------------------------------------------


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> dict[str, Any]:
    """`ossature serve` run in this process, stopped where it would start serving: what it
    would have run is recorded instead (and this process's logging is left alone)."""
    seen: dict[str, Any] = {}

    def run_gunicorn(server: serve_module.ProductionServer) -> None:
        seen["server"] = server

    def run_flask(app: Flask, **options: Any) -> None:
        seen["flask"] = options

    monkeypatch.setattr(serve_module.ProductionServer, "run", run_gunicorn)
    monkeypatch.setattr(Flask, "run", run_flask)
    monkeypatch.setattr(serve_module, "configure_logging", lambda *args: seen.setdefault("log", args))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OSSATURE_DATABASE_URL", database_url)
    for name in ("OSSATURE_PACKS", "OSSATURE_LOG_FORMAT", "OSSATURE_WORKERS", "OSSATURE_THREADS", "OSSATURE_KEEP_ALIVE"):
        monkeypatch.delenv(name, raising=False)
    return seen


def serve(*args: str, **env: str):
    return CliRunner().invoke(cli, ["serve", *args], env=env or None)


def test_serve_defaults_to_gunicorn_with_threads_keep_alive_and_a_graceful_stop(launched):
    result = serve()
    assert result.exit_code == 0, result.output
    cfg = launched["server"].cfg
    assert cfg.bind == ["127.0.0.1:5000"]
    assert cfg.worker_class_str == "gthread"
    assert cfg.workers == (os.cpu_count() or 1)
    assert cfg.threads == serve_module.DEFAULT_THREADS
    assert cfg.keepalive == serve_module.DEFAULT_KEEP_ALIVE > 60  # above the usual proxies' idle timeout
    assert cfg.graceful_timeout == serve_module.DEFAULT_GRACEFUL_TIMEOUT
    assert cfg.preload_app is False
    assert cfg.accesslog is None
    assert cfg.control_socket_disable is True
    assert launched["log"] == ("text",)
    assert "flask" not in launched


def test_each_worker_builds_its_own_app_on_the_configured_database(launched, database_url):
    assert serve().exit_code == 0
    first, second = launched["server"].load(), launched["server"].load()  # as two workers do
    try:
        assert isinstance(first, Flask) and first.config["DATABASE_URL"] == database_url
        assert first is not second
        assert first.extensions["ossature"].db is not second.extensions["ossature"].db  # a pool each
    finally:
        first.extensions["ossature"].dispose()
        second.extensions["ossature"].dispose()


def test_options_and_their_environment_variables(launched):
    result = serve("--host", "::1", "--port", "8080", "--workers", "3", "--threads", "8", "--keep-alive", "90",
                   "--timeout", "120", "--graceful-timeout", "45", "--log-format", "json")
    assert result.exit_code == 0, result.output
    cfg = launched["server"].cfg
    assert (cfg.bind, cfg.workers, cfg.threads, cfg.keepalive, cfg.timeout, cfg.graceful_timeout) == (
        ["[::1]:8080"], 3, 8, 90, 120, 45)
    assert launched["log"] == ("json",)
    assert cfg.logconfig_dict["formatters"]["ossature"]["()"].endswith("JsonFormatter")

    result = serve(OSSATURE_WORKERS="5", OSSATURE_THREADS="2", OSSATURE_KEEP_ALIVE="120", OSSATURE_LOG_FORMAT="json")
    assert result.exit_code == 0, result.output
    cfg = launched["server"].cfg
    assert (cfg.workers, cfg.threads, cfg.keepalive) == (5, 2, 120)


def bound_cases() -> list[tuple[str, int, bool]]:
    """For every whole-number option of `serve`: its minimum and maximum (accepted) and one past
    each (refused), from the command's own declarations."""
    cases = []
    for param in serve_module.serve.params:
        if not isinstance(param.type, click.IntRange):
            continue
        option = max(param.opts, key=len)
        for bound, step in ((param.type.min, -1), (param.type.max, 1)):
            if bound is not None:
                cases += [(option, bound, True), (option, bound + step, False)]
    return cases


@pytest.mark.parametrize("option, value, accepted", bound_cases())
def test_whole_number_options_at_their_bounds(launched, option, value, accepted):
    result = serve(option, str(value))
    assert (result.exit_code == 0) is accepted, result.output
    assert ("server" in launched) is accepted


def test_bound_cases_cover_every_whole_number_option():
    options = {case[0] for case in bound_cases()}
    assert options == {"--port", "--workers", "--threads", "--keep-alive", "--timeout", "--graceful-timeout"}
    assert ("--port", 65535, True) in bound_cases() and ("--port", 65536, False) in bound_cases()


@pytest.mark.parametrize("flag", ["--dev", "--debug"])
def test_dev_runs_flasks_reloader_and_debugger_instead(launched, flag):
    result = serve(flag, "--port", "5050")
    assert result.exit_code == 0, result.output
    assert launched["flask"] == {"host": "127.0.0.1", "port": 5050, "debug": True}
    assert "server" not in launched


def test_without_gunicorn_the_command_says_to_use_dev(launched, monkeypatch):
    monkeypatch.setattr(serve_module, "HAS_GUNICORN", False)
    result = serve()
    assert result.exit_code == 1
    assert "ossature serve --dev" in result.output
    assert "server" not in launched
    assert serve("--dev").exit_code == 0 and "flask" in launched


def test_definitions_that_do_not_load_stop_the_command_before_any_worker(launched, tmp_path):
    pack = tmp_path / "broken"
    (pack / "entities").mkdir(parents=True)
    (pack / "pack.yaml").write_text("pack: broken\nversion: 1.0.0\nlabel: {en: Broken, fr: Cassé}\n")
    (pack / "entities" / "gadget.yaml").write_text(
        "entity: gadget\nlabel: {en: Gadget, fr: Gadget}\nplural: {en: Gadgets, fr: Gadgets}\n"
        "characteristics:\n  colour: {type: nonsense, label: {en: Colour, fr: Couleur}}\n")
    result = serve(OSSATURE_PACKS=str(pack))
    assert result.exit_code == 1
    assert "gadget.yaml" in result.output
    assert "server" not in launched and "flask" not in launched


# -- the request id and the request line --------------------------------------------------------


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "PACKS": [metamodel.BASE_PACK], **PAGES_WITHOUT_LOGIN})
    app.extensions["ossature"].migrate()
    yield app
    app.extensions["ossature"].dispose()


@pytest.mark.parametrize("sent, kept", [
    ("a", True),                                  # shortest
    ("a" * 128, True),                            # longest
    ("a" * 129, False),                           # one past
    ("9f1c-2b:req.7@edge/1+=", True),             # every accepted punctuation mark
    ("-starts-with-a-dash", False),
    ("has space", False),
    ('quote"d', False),
    ("{json}", False),
    ("", False),
])
def test_the_proxys_request_id_is_kept_when_safe_else_replaced(app, sent, kept):
    assert (ACCEPTED_ID.fullmatch(sent) is not None) is kept
    answered = app.test_client().get("/health", headers={REQUEST_ID_HEADER: sent}).headers[REQUEST_ID_HEADER]
    if kept:
        assert answered == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_each_request_gets_its_own_id(app):
    client = app.test_client()
    ids = {client.get("/health").headers[REQUEST_ID_HEADER] for _ in range(3)}
    assert len(ids) == 3


def test_one_request_line_with_its_fields(app, caplog):
    caplog.set_level(logging.INFO, logger="ossature.request")
    app.test_client().get("/lead/?q=private+search", headers={REQUEST_ID_HEADER: "line-1"})
    records = [r for r in caplog.records if r.name == "ossature.request"]
    assert len(records) == 1
    record = records[0]
    fields = record.ossature_fields
    assert record.request_id == "line-1"
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/lead/", 200)
    assert fields["bytes"] > 0 and fields["duration_ms"] >= 0
    assert fields["user"] is None  # the demo actor of PAGES_WITHOUT_LOGIN has no user id
    text = TextFormatter().format(record)
    assert "[line-1] ossature.request: GET /lead/ 200" in text
    assert "private" not in text  # the query string is not logged
    line = json.loads(JsonFormatter().format(record))
    assert (line["request_id"], line["path"], line["status"], line["level"]) == ("line-1", "/lead/", 200, "INFO")


def test_a_json_line_carries_the_traceback():
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed here"
    assert "request_id" not in line  # outside a request
    assert line["traceback"].startswith("Traceback") and "ValueError: broken" in line["traceback"]
    assert "\n" not in JsonFormatter().format(record)


def test_each_log_format_names_the_apps_formatter():
    """The logging configuration names the formatters by their dotted path: it must resolve."""
    expected = {"text": TextFormatter, "json": JsonFormatter}
    assert set(serve_module.LOG_FORMATTERS) == set(expected)
    for log_format, formatter in expected.items():
        dotted = serve_module.logging_config(log_format)["formatters"]["ossature"]["()"]
        module, _, name = dotted.rpartition(".")
        assert getattr(importlib.import_module(module), name) is formatter
    with pytest.raises(ValueError):
        serve_module.logging_config("xml")
