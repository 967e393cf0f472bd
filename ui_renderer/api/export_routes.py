"""Exports through the API: a list's records as a file, streamed or as a job.

- `GET /api/v1/<entity>/export?format=csv&<list arguments>` streams the file (every page of
  the list: `page`, `size`, `after` and `total` are ignored). `delimiter=;` for a CSV with semicolons,
  `columns=all` (every characteristic the caller may see) or `columns=name,name,...`
  instead of the view's columns.
- `GET /api/v1/<entity>/export?lines=<name>&<list arguments>` streams the lines of the list's
  records instead (a `lines` characteristic: one row per line, the first column naming the
  record; engine/exchange/lines_export.py), the file `POST /<entity>/import` with `lines` reads back.
- `POST /api/v1/<entity>/export` with `{"format", "filter": {list arguments}, "columns",
  "delimiter"}` queues an export job for a large list (202, the job); its file is then
  downloaded from the job.

A blueprint of its own, under the API prefix, with the API's authentication, headers and
JSON errors (ui_renderer/api/routes.py).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from flask import Blueprint, Response, g, jsonify, stream_with_context
from werkzeug.utils import get_content_type

from engine.exchange.exporter import Export, ExportError, submit_export
from engine.exchange.lines_export import LinesExport

from .conformance import request_body
from .errors import ApiError, field_error, query_error
from .messages import text
from .payload import list_request, query_args
from .routes import API_PREFIX, engine, handle_error, known_entity, lang, language_headers, prepare
from .serialize import json_value

api_export = Blueprint("api_export", __name__, url_prefix=API_PREFIX)
api_export.before_request(prepare)
api_export.after_request(language_headers)
api_export.register_error_handler(Exception, handle_error)

OPTION_ARGS = ("format", "delimiter", "columns", "lines")


@api_export.get("/<entity>/export")
def export_file(entity: str) -> Response:
    known_entity(entity)
    args = query_args()
    options = {name: (args.pop(name, None) or [None])[0] for name in OPTION_ARGS}
    if options["lines"] is not None:
        return _lines_file(entity, args, options["lines"], options["delimiter"])
    export = _export(entity, args, options["format"], options["columns"], options["delimiter"])
    response = Response(stream_with_context(export.started_bytes()), content_type=content_type(export.media_type))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api_export.post("/<entity>/export")
def export_job(entity: str) -> Response:
    known_entity(entity)
    body = request_body(lang())
    chosen = body.get("filter") or {}
    if not isinstance(chosen, dict):
        raise ApiError(400, "not_object", errors=field_error("filter", "type", "not_object", lang()))
    args: dict[str, list[str]] = {}
    for key, value in chosen.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float)) for v in items):
            raise query_error(key, text("expected_values", lang()))
        args[key] = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in items]
    columns = body.get("columns")
    if isinstance(columns, list):
        columns = ",".join(str(c) for c in columns)
    for name, value in (("format", body.get("format")), ("columns", columns), ("delimiter", body.get("delimiter"))):
        if value is not None and not isinstance(value, str):
            raise query_error(name, text("expected_text", lang()))
    parsed = list_request(engine(), entity, args)
    try:
        job_id = submit_export(engine(), entity, parsed, g.api_actor, format=body.get("format") or "csv",
                               columns=_columns(columns), delimiter=body.get("delimiter") or ",")
    except ExportError as error:
        raise query_error(error.parameter, error.message(lang())) from None
    response = jsonify(json_value(engine().jobs.get(job_id, g.api_actor)))
    response.status_code = 202
    return response


def _lines_file(entity: str, args: Mapping[str, Sequence[str]], lines: str, delimiter: str | None) -> Response:
    """The lines of the list's records, as the lines import reads them (checked before the first byte)."""
    parsed = list_request(engine(), entity, args)
    try:
        export = LinesExport(engine(), entity, lines, parsed, g.api_actor, delimiter=delimiter or ",", lang=lang())
    except ExportError as error:
        raise query_error(error.parameter, error.message(lang())) from None
    response = Response(stream_with_context(export.iter_bytes()), content_type=content_type(export.media_type))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _export(
    entity: str, args: Mapping[str, Sequence[str]], format_name: str | None, columns: str | None, delimiter: str | None,
) -> Export:
    parsed = list_request(engine(), entity, args)
    try:
        return Export(engine(), entity, parsed, g.api_actor, format=format_name or "csv", columns=_columns(columns),
                      delimiter=delimiter or ",")
    except ExportError as error:
        raise query_error(error.parameter, error.message(lang())) from None


def content_type(media_type: str) -> str:
    """The Content-Type of a file: a format's media type, with one charset (text types), never two."""
    if "charset=" in media_type.lower():
        return media_type
    return get_content_type(media_type, "utf-8")


def _columns(raw: str | None) -> Any:
    """`view`, `all`, or names separated by commas; None: the format's default."""
    if raw is None or raw.strip() == "":
        return None
    if raw in ("view", "all"):
        return raw
    return [name.strip() for name in raw.split(",") if name.strip()]
