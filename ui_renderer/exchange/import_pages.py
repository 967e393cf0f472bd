"""The import pages: upload a file, map its columns, then a dry run or the import, both as jobs.

1. `GET /<entity>/import`: the upload form (CSV, or a plugin's format fitting the entity).
2. `POST /<entity>/import`: the file is stored (ui_renderer/exchange/uploads.py: random name, size
   limit `IMPORT_MAX_BYTES`), then the mapping page.
3. `GET /<entity>/import/<token>`: each column of the file, its first values and the
   characteristic it goes into (the importer's automatic mapping proposes; a select changes
   or skips it), and the options: upsert and its key, encoding, separator.
4. `POST /<entity>/import/<token>`: "Dry run" or "Import" queues the import job; the job page
   (ui_renderer/exchange/jobs_pages.py) follows it and lists the rows refused. After a dry run, the
   job page offers to import for real with the same settings (`POST /jobs/<id>/confirm-import`).

Every step needs the "import" permission on the entity (403 otherwise); an upload is only
ever opened by the user who sent it.

The lines of records (a `lines` characteristic) have a file of their own
(engine/exchange/lines_import.py, lines_export.py): the upload page offers, per lines
characteristic the user may fill, the download of the current lines
(`GET /<entity>/export-lines/<lines>`, with the list's query arguments, the "export" permission)
and a form sending such a file (`POST /<entity>/import-lines`: no mapping step, the columns map
by name or label), queued as a dry run or an import.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from engine import Engine
from engine.exchange.importer import ImportOptionError, ImportOptions, submit_import
from engine.exchange.lines_export import LinesExport, LinesExportError
from engine.exchange.lines_import import submit_import_lines
from engine.records.queries import QueryError

from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language
from ui_renderer.core.i18n import words
from .import_preview import entity_import_formats, importable_fields, mapping_problems, preview_file
from .jobs_pages import detail as job_detail
from .jobs_pages import get_job, lang_suffix, page
from .uploads import Upload, UploadError, load_upload, max_bytes, store_upload, upload_token

imports = Blueprint("imports", __name__)

ENCODINGS = ("utf-8", "cp1252", "iso-8859-1", "utf-16")
DELIMITERS = ((",", ","), (";", ";"), ("tab", "import_tab"))
ACTIONS = ("dry_run", "import")


def engine() -> Engine:
    return current_app.extensions["ossature"]


def require_import(entity: str) -> None:
    """404 for an unknown or owned entity (lines come with their owner); PermissionDenied (the
    app's 403 page) without the import permission."""
    definition = engine().model.entities.get(entity)
    if definition is None or definition.owned_by is not None:
        abort(404)
    engine().records.permissions.access(current_actor(), entity).require("import")


def formats_of(entity: str) -> list[tuple[str, str]]:
    """(name, label) of the formats offered for `entity`: CSV first, then the plugins' fitting ones."""
    lang = request_language()
    offered = [("csv", words(lang)["import_format_csv"])]
    for name, fmt in sorted(entity_import_formats(engine(), entity).items()):
        offered.append((name, fmt.label.get(lang) or fmt.label["en"]))
    return offered


# -- 1 and 2: the upload ----------------------------------------------------------------------


@imports.get("/<entity>/import")
def upload_form(entity: str) -> ResponseReturnValue:
    require_import(entity)
    return _upload_page(entity)


@imports.post("/<entity>/import")
def upload(entity: str) -> ResponseReturnValue:
    require_import(entity)
    ui = words(request_language())
    try:
        sent = request.files.get("file")
        chosen = request.form.get("format") or "csv"
    except RequestEntityTooLarge:
        return _upload_page(entity, ui["import_too_large"].format(limit=max_bytes(), size=request.content_length), 413)
    formats = dict(formats_of(entity))
    if chosen not in formats:
        plural = engine().model.entity(entity).plural.get(request_language())
        return _upload_page(entity, ui["import_bad_format"].format(plural=plural.lower()), 400)
    if sent is None or not sent.filename:
        return _upload_page(entity, ui["import_no_file"], 400, chosen)
    extension = "csv" if chosen == "csv" else entity_import_formats(engine(), entity)[chosen].extension
    try:
        stored = store_upload(
            engine(), sent.stream, name=sent.filename, extension=extension, owner=current_actor().user_id,
            entity=entity, format=chosen, limit=max_bytes(),
        )
    except UploadError as error:
        return _upload_page(entity, ui[error.key].format(**error.params), error.status, chosen)
    return redirect(url_for("imports.mapping", entity=entity, token=stored.token) + lang_suffix(), 303)


def _upload_page(entity: str, problem: str | None = None, status: int = 200, chosen: str = "csv") -> ResponseReturnValue:
    return page(
        "import/upload.html", status,
        entity=engine().model.entity(entity),
        formats=formats_of(entity),
        chosen=chosen,
        problem=problem,
        limit=max_bytes(),
        action_url=url_for("imports.upload", entity=entity) + lang_suffix(),
        list_url=url_for("lists.index", entity=entity) + lang_suffix(),
        lines_forms=_lines_forms(entity),
    )


def _lines_forms(entity: str) -> list[dict[str, str]]:
    """Per `lines` characteristic the user may fill by importing: its label, where to send a file
    of its lines, and (with the export permission) where to download the current ones."""
    model = engine().model
    access = engine().records.permissions.access(current_actor(), entity)
    readonly = frozenset() if current_actor().system else engine().records.validator(entity).readonly
    lang = request_language()
    forms = []
    for f in model.entity(entity).fields:
        if f.type != "lines" or f.name in access.protected | readonly:
            continue
        export_url = url_for("imports.export_lines", entity=entity, lines=f.name) if access.allows("export") else ""
        forms.append({"name": f.name, "label": f.label.get(lang), "export_url": export_url,
                      "action_url": url_for("imports.upload_lines", entity=entity) + lang_suffix()})
    return forms


# -- lines: a file of their own -------------------------------------------------------------------


@imports.post("/<entity>/import-lines")
def upload_lines(entity: str) -> ResponseReturnValue:
    """Store the file, then queue the lines import (a dry run or the import) and show its job."""
    require_import(entity)
    ui = words(request_language())
    try:
        sent = request.files.get("file")
        lines = request.form.get("lines") or ""
        action = request.form.get("action")
    except RequestEntityTooLarge:
        return _upload_page(entity, ui["import_too_large"].format(limit=max_bytes(), size=request.content_length), 413)
    if sent is None or not sent.filename:
        return _upload_page(entity, ui["import_no_file"], 400)
    try:
        stored = store_upload(engine(), sent.stream, name=sent.filename, extension="csv",
                              owner=current_actor().user_id, entity=entity, format="csv", limit=max_bytes())
        job_id = submit_import_lines(engine(), entity, lines, stored.path, ImportOptions(dry_run=action != "import"),
                                     current_actor())
    except UploadError as error:
        return _upload_page(entity, ui[error.key].format(**error.params), error.status)
    except ImportOptionError as error:  # an unknown or protected lines characteristic
        return _upload_page(entity, error.message(request_language()), 400)
    return redirect(url_for("jobs_pages.detail", job_id=job_id) + lang_suffix(), 303)


@imports.get("/<entity>/export-lines/<lines>")
def export_lines(entity: str, lines: str) -> ResponseReturnValue:
    """The lines of the records of the entity's list (its query arguments), as the lines import reads them."""
    definition = engine().model.entities.get(entity)
    if definition is None or definition.owned_by is not None:
        abort(404)
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "delimiter"}
    try:
        list_request = engine().records.list_request(entity, args)
        export = LinesExport(engine(), entity, lines, list_request, current_actor(),
                             delimiter=request.args.get("delimiter") or ",", lang=request_language())
    except LinesExportError as error:
        if error.parameter == "lines":
            abort(404)
        abort(400, error.describe(request_language()))
    except QueryError as error:
        abort(400, error.describe(request_language()))
    return Response(
        stream_with_context(export.iter_bytes()),
        content_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store",
                 "X-Content-Type-Options": "nosniff"},
    )


# -- 3 and 4: the mapping, then the job --------------------------------------------------------


def _upload_of(entity: str, token: str) -> Upload | None:
    """The current user's upload `token` for `entity`, or None (unknown, someone else's, or gone)."""
    found = load_upload(engine(), token, current_actor().user_id)
    return found if found is not None and found.entity == entity else None


def _upload_gone(entity: str) -> ResponseReturnValue:
    return _upload_page(entity, words(request_language())["import_upload_gone"], 404)


@imports.get("/<entity>/import/<token>")
def mapping(entity: str, token: str) -> ResponseReturnValue:
    require_import(entity)
    found = _upload_of(entity, token)
    if found is None:
        return _upload_gone(entity)
    return _mapping_page(entity, found, request.args)


@imports.post("/<entity>/import/<token>")
def run(entity: str, token: str) -> ResponseReturnValue:
    require_import(entity)
    found = _upload_of(entity, token)
    if found is None:
        return _upload_gone(entity)
    form = request.form
    options = _options(form, found.format)
    problems = mapping_problems(engine(), entity, current_actor(), options.mapping, options.key)
    if problems:
        ui = words(request_language())
        text = " ".join(ui[key].format(field=field) for key, field in problems)
        return _mapping_page(entity, found, form, problem=text, status=400)
    try:
        job_id = submit_import(engine(), entity, found.path, options, current_actor())
    except ImportOptionError as error:  # the engine's checks, the same for the API and the command line
        return _mapping_page(entity, found, form, problem=error.message(request_language()), status=400)
    return redirect(url_for("jobs_pages.detail", job_id=job_id) + lang_suffix(), 303)


@imports.post("/jobs/<int:job_id>/confirm-import")
def confirm(job_id: int) -> ResponseReturnValue:
    """Import for real what a finished dry run checked: same file, same mapping and options."""
    job = get_job(job_id)
    params = job.get("params") or {}
    options = params.get("options") or {}
    if job["kind"] not in ("import", "import_lines") or job["state"] != "done" or not options.get("dry_run"):
        return job_detail(job_id, notice=words(request_language())["import_confirm_refused"], status=409)
    entity = job["entity"]
    require_import(entity)
    token = upload_token(engine(), params.get("path", ""))
    found = load_upload(engine(), token, current_actor().user_id) if token else None
    if found is None:
        return job_detail(job_id, notice=words(request_language())["import_upload_gone"], status=404)
    try:
        real = ImportOptions.from_dict({**options, "dry_run": False})
        if job["kind"] == "import_lines":
            new_job = submit_import_lines(engine(), entity, str(params.get("lines")), found.path, real, current_actor())
        else:
            new_job = submit_import(engine(), entity, found.path, real, current_actor())
    except ImportOptionError as error:  # checked when the dry run was queued: the definitions changed since
        return job_detail(job_id, notice=error.message(request_language()), status=400)
    return redirect(url_for("jobs_pages.detail", job_id=new_job) + lang_suffix(), 303)


def _options(form: MultiDict, format_name: str) -> ImportOptions:
    mapping: dict[str, str] = {}
    for key in form:
        if key.startswith("header_"):
            index = key.removeprefix("header_")
            mapping[form[key]] = form.get(f"map_{index}", "")
    key_fields = tuple(name for name in form.getlist("key") if name)
    csv = format_name == "csv"
    return ImportOptions(
        mapping=mapping,
        key=key_fields,
        upsert=form.get("upsert") == "1" or bool(key_fields),
        dry_run=form.get("action", "dry_run") != "import",
        encoding=(form.get("encoding") or None) if csv else None,
        delimiter=(form.get("delimiter") or None) if csv else None,
        format=format_name,
    )


def _mapping_page(
    entity: str, found: Upload, chosen: MultiDict, *, problem: str | None = None, status: int = 200
) -> ResponseReturnValue:
    actor = current_actor()
    csv = found.format == "csv"
    encoding = (chosen.get("encoding") or None) if csv else None
    delimiter = (chosen.get("delimiter") or None) if csv else None
    if encoding is not None and encoding not in ENCODINGS:
        encoding = None
    if delimiter is not None and delimiter not in dict(DELIMITERS):
        delimiter = None
    preview = preview_file(engine(), entity, found.path, actor, format=found.format, encoding=encoding,
                           delimiter=delimiter)
    ui = words(request_language())
    if preview.error:
        problem = ui["import_unreadable"].format(message=preview.error)
        status = 400
    elif not preview.columns and problem is None:
        problem = ui["import_no_columns"]
        status = 400
    posted = {chosen[f"header_{c.index}"]: chosen.get(f"map_{c.index}", "")
              for c in preview.columns if chosen.get(f"header_{c.index}") == c.header}
    definition = engine().model.entity(entity)
    lang = request_language()
    natural = ", ".join(definition.field(n).label.get(lang) for n in getattr(definition, "natural_key", ()) or ())
    found_delimiter = {"\t": ui["import_tab"]}.get(preview.delimiter or "", preview.delimiter)
    return page(
        "import/mapping.html", status,
        entity=definition,
        upload=found,
        preview=preview,
        selected={c.header: posted.get(c.header, c.proposed) for c in preview.columns},
        targets=importable_fields(engine(), entity, actor),
        key_fields=[(f.name, f.label.get(lang)) for f in definition.fields],
        chosen_key=set(chosen.getlist("key")),
        upsert=chosen.get("upsert") == "1",
        natural_key=natural,
        csv=csv,
        encodings=ENCODINGS,
        encoding=encoding or "",
        delimiters=[(value, ui.get(label, label)) for value, label in DELIMITERS],
        delimiter=delimiter or "",
        found_delimiter=found_delimiter,
        problem=problem,
        action_url=url_for("imports.run", entity=entity, token=found.token) + lang_suffix(),
        reread_url=url_for("imports.mapping", entity=entity, token=found.token),
        upload_url=url_for("imports.upload_form", entity=entity) + lang_suffix(),
        list_url=url_for("lists.index", entity=entity) + lang_suffix(),
        lang_arg=request.args.get("lang") if lang_suffix() else None,
    )

