"""Imports through the API (blueprint `api_import`, under /api/v1).

`POST /<entity>/import`, a `multipart/form-data` body: `file` (the file), and optionally
`format` (`csv`, or a plugin's format fitting the entity), `dry_run`, `upsert` (true/false),
`key` (characteristic names separated by commas; implies upsert), `encoding`, `delimiter`
(`,`, `;` or `tab`) and `mapping` (a JSON object: column header -> characteristic, `""` to
skip the column); `lines` (a `lines` characteristic's name) imports the file as the lines of
records instead (engine/exchange/lines_import.py: one row per line, the first column naming
the record; `upsert`, `key` and `format` do not apply). The file is stored (ui_renderer/exchange/uploads.py) and the import queued as a
job: the answer is 202 with the job, to follow at `/jobs/<id>` and `/jobs/<id>/errors`.

Options are checked before anything is queued (400 naming the parameter), the "import"
permission too (403); a file over the app's `IMPORT_MAX_BYTES` is refused with 413.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import FileStorage

from engine.exchange.csv_source import text_encoding
from engine.exchange.importer import ImportOptions, submit_import
from engine.exchange.lines_import import check_lines_options, submit_import_lines
from ui_renderer.core.i18n import words
from ui_renderer.exchange.import_preview import entity_import_formats, mapping_problems
from ui_renderer.exchange.uploads import MULTIPART_SLACK, UploadError, max_bytes, store_upload

from .auth import authenticated_actor
from .errors import ApiError, field_error, json_error, query_error
from .jobs_openapi import FLAG_VALUES, IMPORT_DELIMITERS
from .jobs_routes import job_response
from .messages import text
from .payload import safe_text
from .routes import API_PREFIX, engine, handle_error, known_entity, lang, language_headers

api_import = Blueprint("api_import", __name__, url_prefix=API_PREFIX)
api_import.after_request(language_headers)
api_import.register_error_handler(Exception, handle_error)



@api_import.before_request
def prepare() -> None:
    """Like the other routes, with room for the file: the app's import limit, not the JSON one."""
    request.max_content_length = max_bytes() + MULTIPART_SLACK
    g.api_actor = authenticated_actor(lang())


@api_import.post("/<entity>/import")
def import_records(entity: str) -> Response:
    known_entity(entity)
    engine().records.permissions.access(g.api_actor, entity).require("import")
    form = request.form
    sent = request.files.get("file")
    if sent is None and "file" in form:  # a part without a file name: its text is the file
        sent = FileStorage(io.BytesIO(form["file"].encode("utf-8")), filename="upload")
    if sent is None:
        raise ApiError(400, "bad_request", errors=_problem("file", text("file_required", lang())))
    options = _options(entity, form)
    lines = form.get("lines") or None
    if lines is not None:
        check_lines_options(engine(), entity, lines, options, g.api_actor)  # 400 naming the option, nothing stored
    extension = "csv" if options.format == "csv" else entity_import_formats(engine(), entity)[options.format].extension
    try:
        stored = store_upload(engine(), sent.stream, name=sent.filename or "upload", extension=extension,
                              owner=g.api_actor.user_id, entity=entity, format=options.format, limit=max_bytes())
    except UploadError as error:
        message = words(lang())[error.key].format(**error.params)
        if error.status == 413:
            return json_error(413, {"error": "too_large", "message": message})
        raise ApiError(400, "bad_request", errors={"file": [{"rule": "file", "message": message}]}) from None
    if lines is not None:
        job_id = submit_import_lines(engine(), entity, lines, stored.path, options, g.api_actor)
    else:
        job_id = submit_import(engine(), entity, stored.path, options, g.api_actor)
    return job_response(engine().jobs.get(job_id, g.api_actor), 202)


def _problem(name: str, message: str) -> dict[str, list[dict[str, str]]]:
    return {name: [{"rule": "import", "message": message}]}


def _flag(form: Any, name: str) -> bool:
    raw = form.get(name) or ""
    if raw not in FLAG_VALUES:
        raise query_error(name, text("expected_boolean", lang()))
    return FLAG_VALUES[raw]


def _options(entity: str, form: Any) -> ImportOptions:
    """The options sent, each checked: a bad one answers 400 naming it, before any job exists."""
    for name in form:
        if not all(safe_text(value) for value in form.getlist(name)):
            raise ApiError(400, "bad_text", errors=field_error(name, "type", "bad_text", lang()))
    format_name = (form.get("format") or "csv").strip()
    if format_name != "csv" and format_name not in entity_import_formats(engine(), entity):
        available = ", ".join(["csv", *sorted(entity_import_formats(engine(), entity))])
        raise query_error("format", text("expected_one_of", lang(), available=available))
    encoding = (form.get("encoding") or "").strip() or None
    if encoding is not None:
        text_encoding(encoding)  # the engine's words (ImportOptionError, 400), before the file is stored
    delimiter = form.get("delimiter") or None
    if delimiter is not None and delimiter not in IMPORT_DELIMITERS:
        raise query_error("delimiter", text("expected_delimiter", lang()))
    key = tuple(name.strip() for name in (form.get("key") or "").split(",") if name.strip())
    mapping = _mapping(form.get("mapping"))
    problems = mapping_problems(engine(), entity, g.api_actor, mapping, key)
    if problems:
        where = "key" if problems[0][0] == "import_bad_key" else "mapping"
        sentence = " ".join(words(lang())[k].format(field=field) for k, field in problems)
        raise ApiError(400, "bad_request", errors=_problem(where, sentence))
    return ImportOptions(mapping=mapping, key=key, upsert=_flag(form, "upsert") or bool(key),
                         dry_run=_flag(form, "dry_run"), encoding=encoding, delimiter=delimiter, format=format_name)


def _mapping(raw: str | None) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_json", errors=field_error("mapping", "json", "bad_json", lang())) from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) or v is None for v in mapping.values()) \
            or not all(safe_text(str(k)) and safe_text(v or "") for k, v in mapping.items()):
        raise query_error("mapping", text("expected_mapping", lang()))
    return {str(k): v or "" for k, v in mapping.items()}
