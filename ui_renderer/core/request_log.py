"""One log line per request, each request under an id, and the log format of a serving process.

- The request id: the `X-Request-Id` a reverse proxy sends, when it is a short token of safe
  characters (anything else could forge log lines), else a new random one. It is echoed in
  the response's `X-Request-Id`, written on every log line of the request (its request line,
  a traceback) and shown as the error id of a 500 page: one id finds the request in the
  proxy's log, the app's log and the user's screenshot.
- The request line (logger `ossature.request`, INFO): method, path, status, bytes, duration,
  client address and the user's id when known. The query string is left out: searches and
  filters may carry personal data.
- The log formats of a serving process (`ossature serve` names them in its logging
  configuration): `TextFormatter`, and `JsonFormatter`, one object a line (time, level,
  logger, message, request_id, the request's fields, the traceback).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-Id"
ACCEPTED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
"""A request id taken from the proxy: 1 to 128 characters, none that could break a log line."""
REQUEST_LOGGER = logging.getLogger("ossature.request")
FIELDS_ATTRIBUTE = "ossature_fields"
"""The `extra` key of a log record whose mapping a JSON line carries as its own keys."""


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    if not has_request_context():
        return None
    return g.get("request_id")


def _start() -> None:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if ACCEPTED_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _user_id() -> int | None:
    """The acting user when the request already knows it (never a query of its own)."""
    for key in ("actor", "api_actor"):
        actor = g.get(key)
        if actor is not None and getattr(actor, "user_id", None) is not None:
            return actor.user_id
    return None


def _finish(response: Response) -> Response:
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    if not REQUEST_LOGGER.isEnabledFor(logging.INFO):
        return response
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "bytes": response.content_length,
        "duration_ms": duration_ms,
        "remote": request.remote_addr,
        "user": _user_id(),
    }
    REQUEST_LOGGER.info(
        "%s %s %s %sB %sms user=%s", fields["method"], fields["path"], fields["status"],
        "-" if fields["bytes"] is None else fields["bytes"], duration_ms, fields["user"] or "-",
        extra={FIELDS_ATTRIBUTE: fields, "request_id": request_id},
    )
    return response


def init_request_log(app: Flask) -> None:
    """Give every request of `app` an id and a log line. The id is made before any other
    `before_request` function runs, so whatever they log carries it; call this first, so that the
    line is written after every later `after_request` function, with the final status."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)


# -- log format ------------------------------------------------------------------------------


def _request_id_of(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or current_request_id()


class TextFormatter(logging.Formatter):
    """`time LEVEL [pid] [request id] logger: message`, the traceback on the following lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(process)d] [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = _request_id_of(record) or "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is the `traceback` key of the same line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = _request_id_of(record)
        if request_id:
            line["request_id"] = request_id
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
