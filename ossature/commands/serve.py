"""`ossature serve`: the web application, on gunicorn (production) or Flask's reloader (`--dev`).

gunicorn runs as a library (`ProductionServer`), not as a subprocess: one command, the
settings checked by click, the definitions checked before any worker starts.

Each worker builds its own app (`create_app`) after the fork, rather than the master building
one app for all (`preload_app`): an app holds a SQLAlchemy connection pool and may start job
threads, and neither survives a fork (two processes would share one connection's socket;
threads are not copied). A worker the master restarts (crashed, timed out) builds a fresh app
the same way. The master still builds one app first, to refuse definitions that do not load
with their problems rather than with workers failing to boot in a loop, to warn about pending
migrations, and to create the instance's secret key once before the workers read it; it
disposes of it before forking.
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any, Callable, Mapping

import click
from sqlalchemy.exc import SQLAlchemyError

import metamodel
from engine.installation import settings
from ossature.cli import cli
from ossature.commands.common import check_pack_dirs, fail, printable_url

try:
    from gunicorn.app.base import BaseApplication
except ImportError:  # gunicorn runs on POSIX systems only; every other command must still work elsewhere
    BaseApplication = object
    HAS_GUNICORN = False
else:
    HAS_GUNICORN = True

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

DEFAULT_THREADS = 4
DEFAULT_KEEP_ALIVE = 75
"""Seconds: longer than the idle timeout of the usual proxies and load balancers (nginx's
upstream keepalive_timeout and AWS ALB's idle timeout: 60 s). The proxy must be the one to
close an idle connection: were the server to close it first, a request the proxy sends on it
at that moment would be reset and the client would get a 502."""
DEFAULT_TIMEOUT = 60
DEFAULT_GRACEFUL_TIMEOUT = 30
LOG_FORMATTERS = {
    "text": "ui_renderer.core.request_log.TextFormatter",
    "json": "ui_renderer.core.request_log.JsonFormatter",
}
"""The formats of `--log-format`: the app's formatters write each line with its request id."""


def logging_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """This process's logging: every record to stderr in `log_format`, the app's, the engine's
    and gunicorn's alike (gunicorn's own access log stays off: the app writes one line per
    request, with its id)."""
    if log_format not in LOG_FORMATTERS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATTERS)}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ossature": {"()": LOG_FORMATTERS[log_format]}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "ossature"},
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Set this process's logging to `logging_config(log_format, level)`; Python's warnings go
    through it too (a JSON log stays JSON lines)."""
    logging.config.dictConfig(logging_config(log_format, level))
    logging.captureWarnings(True)


def default_workers() -> int:
    """One worker per CPU (each has DEFAULT_THREADS threads): requests wait on the database
    more than they compute, and threads take that up."""
    return os.cpu_count() or 1


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def gunicorn_options(
    host: str, port: int, *, workers: int, threads: int = DEFAULT_THREADS, keep_alive: int = DEFAULT_KEEP_ALIVE,
    timeout: int = DEFAULT_TIMEOUT, graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT, log_format: str = "text",
) -> dict[str, Any]:
    """gunicorn's settings for `ossature serve` (and the serving benchmark)."""
    return {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "threads": threads,
        # gthread even with one thread: the sync worker ignores keep-alive and closes every connection.
        "worker_class": "gthread",
        "keepalive": keep_alive,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,  # SIGTERM: stop accepting, finish what is in progress
        "preload_app": False,
        "accesslog": None,  # the app writes one line per request, with its id (request_log.py)
        "errorlog": "-",
        "logconfig_dict": logging_config(log_format),
        "proc_name": "ossature",
        # gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): two
        # servers on one machine would fight over it. Nothing here uses it.
        "control_socket_disable": True,
    }


class ProductionServer(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn serving the app `factory` builds, once in each worker."""

    def __init__(self, factory: Callable[[], WSGIApp], options: Mapping[str, Any]):
        self.factory = factory
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApp:
        return self.factory()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port; the one taken is logged).")
@click.option("--workers", type=click.IntRange(min=1), default=default_workers, envvar="OSSATURE_WORKERS",
              show_default="one per CPU", help="Worker processes [env OSSATURE_WORKERS].")
@click.option("--threads", type=click.IntRange(min=1), default=DEFAULT_THREADS, envvar="OSSATURE_THREADS",
              show_default=True, help="Threads per worker [env OSSATURE_THREADS].")
@click.option("--keep-alive", type=click.IntRange(min=0), default=DEFAULT_KEEP_ALIVE, envvar="OSSATURE_KEEP_ALIVE",
              show_default=True,
              help="Seconds an idle connection stays open (0: none); keep it above the reverse proxy's idle "
                   "timeout [env OSSATURE_KEEP_ALIVE].")
@click.option("--timeout", type=click.IntRange(min=1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds of silence after which the master restarts a worker.")
@click.option("--graceful-timeout", type=click.IntRange(min=1), default=DEFAULT_GRACEFUL_TIMEOUT, show_default=True,
              help="On SIGTERM, seconds the requests in progress have to finish.")
@click.option("--log-format", type=click.Choice(list(LOG_FORMATTERS)), default="text", envvar="OSSATURE_LOG_FORMAT",
              show_default=True, help="Log lines on stderr: text, or one JSON object a line [env OSSATURE_LOG_FORMAT].")
@click.option("--dev", "--debug", "dev", is_flag=True,
              help="Flask's development server: reloads on code changes, shows the debugger. Never in production.")
def serve(
    host: str, port: int, workers: int, threads: int, keep_alive: int, timeout: int, graceful_timeout: int,
    log_format: str, dev: bool,
) -> None:
    """Run the web application (gunicorn; --dev: Flask's development server)."""
    from ui_renderer import create_app

    configure_logging(log_format)
    pack_dirs = settings.pack_dirs()
    url = settings.database_url()
    check_pack_dirs(pack_dirs)
    config = {"DATABASE_URL": url, "PACKS": pack_dirs}
    try:
        app = create_app(config)
    except metamodel.DefinitionError as error:
        fail(str(problem) for problem in error.problems)
    engine = app.extensions["ossature"]
    try:
        pending = engine.pending_migrations()
    except SQLAlchemyError as error:  # logged, not echoed: with --log-format json every line is JSON
        log.warning("database %s unreachable (pages answer 503 until it is back): %s", printable_url(url),
                    str(getattr(error, "orig", None) or error).splitlines()[0])
    else:
        if pending:
            log.warning("%d pending migration step(s); run `ossature migrate`", len(pending))
    if dev:
        app.run(host=host, port=port, debug=True)
        return
    engine.dispose()  # each worker builds its own app; the master keeps none of this one
    del app, engine
    if not HAS_GUNICORN:
        fail([("gunicorn, the production server, runs on Linux and macOS only: use `ossature serve --dev` "
               "to try Ossature on this system")])
    options = gunicorn_options(host, port, workers=workers, threads=threads, keep_alive=keep_alive,
                               timeout=timeout, graceful_timeout=graceful_timeout, log_format=log_format)
    ProductionServer(lambda: create_app(config), options).run()
