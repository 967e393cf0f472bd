"""The jobs pages: `/jobs` (the user's jobs) and `/jobs/<id>` (one job: progress, counts, errors).

A job is only ever shown to its owner (`engine.jobs` refuses others with NotFoundError, a
404 here). Cancel and Resume are forms posting with the CSRF token; the download serves
an export's file. `/jobs/<id>/progress` is the JSON the pages' progress script polls
(ui_renderer/static/jobs.js): it is a page of the session, not of the bearer-token API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from engine import Engine, NotFoundError
from engine.jobs.service import JobStateError

from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language
from ui_renderer.core.i18n import words
from .job_view import IMPORT_KINDS, JobView, job_view
from ui_renderer.core.record_titles import RecordTitles
from .uploads import load_upload, upload_token

jobs_pages = Blueprint("jobs_pages", __name__)

ID_MAX = 2**31 - 1
JOBS_SHOWN = 100
ERRORS_SHOWN = 500


def engine() -> Engine:
    return current_app.extensions["ossature"]


def lang_suffix() -> str:
    """`?lang=xx` when the page's URL names the language: links then keep it."""
    asked = request.args.get("lang")
    return f"?lang={asked}" if asked and asked == request_language() else ""


def page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    lang = request_language()
    html = render_template(template, ui=words(lang), suffix=lang_suffix(), **context)
    return html, status, {"Vary": "Accept-Language", "Content-Language": lang, "Cache-Control": "no-store"}


def view_of(job: dict[str, Any]) -> JobView:
    return job_view(job, engine().model, request_language(), lang_suffix())


def get_job(job_id: int) -> dict[str, Any]:
    """The current user's job, or a 404."""
    if job_id > ID_MAX:
        abort(404)
    try:
        return engine().jobs.get(job_id, current_actor())
    except NotFoundError:
        abort(404)


# -- pages ------------------------------------------------------------------------------------


@jobs_pages.get("/jobs")
def index() -> ResponseReturnValue:
    jobs = engine().jobs.list(current_actor(), limit=JOBS_SHOWN)
    return page("jobs/list.html", jobs=[view_of(job) for job in jobs])


@jobs_pages.get("/jobs/<int:job_id>")
def detail(job_id: int, *, notice: str | None = None, status: int = 200) -> ResponseReturnValue:
    job = get_job(job_id)
    view = view_of(job)
    errors = engine().jobs.errors(job_id, current_actor(), limit=ERRORS_SHOWN) if job["error_count"] else []
    return page(
        "jobs/detail.html", status,
        job=view,
        errors=_error_rows(job, errors),
        errors_more=job["error_count"] > len(errors),
        notice=notice,
        list_url=_list_url(job),
        import_links=_import_links(job, view),
    )


@jobs_pages.get("/jobs/<int:job_id>/progress")
def progress(job_id: int) -> ResponseReturnValue:
    response = jsonify(view_of(get_job(job_id)).progress_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@jobs_pages.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int) -> ResponseReturnValue:
    get_job(job_id)
    engine().jobs.cancel(job_id, current_actor())
    return redirect(url_for("jobs_pages.detail", job_id=job_id) + lang_suffix(), 303)


@jobs_pages.post("/jobs/<int:job_id>/resume")
def resume(job_id: int) -> ResponseReturnValue:
    get_job(job_id)
    try:
        engine().jobs.resume(job_id, current_actor())
    except JobStateError as error:
        return detail(job_id, notice=error.message(request_language()), status=409)
    return redirect(url_for("jobs_pages.detail", job_id=job_id) + lang_suffix(), 303)


@jobs_pages.get("/jobs/<int:job_id>/output")
def output(job_id: int) -> ResponseReturnValue:
    get_job(job_id)
    try:
        path, name, media_type = engine().jobs.output_path(job_id, current_actor())
    except JobStateError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=media_type or "application/octet-stream", as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- helpers ----------------------------------------------------------------------------------


def _list_url(job: dict[str, Any]) -> str | None:
    entity = job.get("entity")
    if entity not in engine().model.entities:
        return None
    return url_for("lists.index", entity=entity) + lang_suffix()


def _error_rows(job: dict[str, Any], errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors with a link to each record they name (titles read in one query)."""
    entity = job.get("entity")
    known = entity in engine().model.entities
    ids = {e["record_id"] for e in errors if e["record_id"] is not None}
    titles: dict[int, str] = {}
    if known and ids:
        templates = current_app.extensions.setdefault("ossature.title_templates", {})
        titles = dict(RecordTitles(engine(), templates, current_actor()).titles(entity, ids))
    base = url_for("lists.index", entity=entity) if known else ""
    rows = []
    for error in errors:
        record_id = error["record_id"]
        rows.append({
            "row": error["row"], "field": error["field"], "message": error["message"],
            "record_id": record_id,
            "record_title": titles.get(record_id, f"#{record_id}") if record_id is not None else None,
            "record_url": f"{base}{record_id}{lang_suffix()}" if known and record_id is not None else None,
        })
    return rows


def _import_links(job: dict[str, Any], view: JobView) -> dict[str, str] | None:
    """For an import: the uploaded file's name, the mapping page (a lines import: the import page,
    where its file is sent), and (after a dry run) "import now"."""
    if job["kind"] not in IMPORT_KINDS:
        return None
    params = job.get("params") or {}
    token = upload_token(engine(), params.get("path", ""))
    upload = load_upload(engine(), token, current_actor().user_id) if token else None
    if upload is None:
        return None
    links = {
        "file_name": upload.name,
        "mapping_url": (url_for("imports.mapping", entity=upload.entity, token=upload.token) if job["kind"] == "import"
                        else url_for("imports.upload_form", entity=upload.entity)) + lang_suffix(),
    }
    if view.dry_run and job["state"] == "done":
        links["confirm_url"] = url_for("imports.confirm", job_id=job["id"]) + lang_suffix()
    return links
