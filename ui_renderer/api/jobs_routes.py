"""The jobs through the API (blueprint `api_jobs`, under /api/v1): follow, steer and download.

- `GET /jobs[?entity=&active=true&limit=]`: the caller's jobs, newest first;
- `GET /jobs/<id>`: one job (state, progress, counts, result);
- `GET /jobs/<id>/errors[?limit=]`: its per-record errors (row, record id, field, message);
- `POST /jobs/<id>/cancel` and `POST /jobs/<id>/resume`;
- `GET /jobs/<id>/output`: the file a finished export wrote.

A job is only ever visible to its owner: anyone else gets 404, as for a record out of scope.
Same authentication, language and JSON errors as routes.py.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, g, jsonify, request, send_file

from engine import NotFoundError
from engine.jobs.service import JobStateError

from .errors import json_error, query_error
from .export_routes import content_type
from .job_json import ERRORS_MAX, LIST_MAX, job_json
from .job_json import job_response as job_json_response
from .messages import text
from .payload import ID_MAX
from .routes import API_PREFIX, engine, handle_error, known_entity, lang, language_headers, prepare
from .serialize import json_value

api_jobs = Blueprint("api_jobs", __name__, url_prefix=API_PREFIX)
api_jobs.before_request(prepare)
api_jobs.after_request(language_headers)
api_jobs.register_error_handler(Exception, handle_error)

LIST_LIMIT = 50
ERRORS_LIMIT = 1000


def job_response(job: Mapping[str, Any], status: int = 200) -> Response:
    return job_json_response(job, API_PREFIX, status)


def state_conflict(error: JobStateError) -> Response:
    return json_error(409, {"error": "conflict", "message": error.message(lang())})


def known_job(job_id: int) -> dict[str, Any]:
    """The caller's job (NotFoundError, a 404, for an unknown id or someone else's job)."""
    if not 1 <= job_id <= ID_MAX:
        raise NotFoundError("job", job_id)
    return engine().jobs.get(job_id, g.api_actor)


def _whole(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= maximum:
        raise query_error(name, text("expected_whole_number", lang(), maximum=maximum))
    return int(raw)


def _flag(name: str) -> bool:
    raw = (request.args.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise query_error(name, text("expected_boolean", lang()))
    return raw in ("true", "1")


@api_jobs.get("/jobs")
def list_jobs() -> Response:
    entity = request.args.get("entity") or None
    if entity is not None:
        known_entity(entity)
    jobs = engine().jobs.list(g.api_actor, entity=entity, active=_flag("active"),
                              limit=_whole("limit", LIST_LIMIT, LIST_MAX))
    return jsonify({"items": [job_json(job) for job in jobs]})


@api_jobs.get("/jobs/<int:job_id>")
def get_job(job_id: int) -> Response:
    return job_response(known_job(job_id))


@api_jobs.get("/jobs/<int:job_id>/errors")
def job_errors(job_id: int) -> Response:
    job = known_job(job_id)
    limit = _whole("limit", ERRORS_LIMIT, ERRORS_MAX)
    items = engine().jobs.errors(job_id, g.api_actor, limit=limit)
    return jsonify({"items": json_value(items), "error_count": job["error_count"]})


@api_jobs.post("/jobs/<int:job_id>/cancel")
def cancel_job(job_id: int) -> Response:
    known_job(job_id)
    return job_response(engine().jobs.cancel(job_id, g.api_actor))


@api_jobs.post("/jobs/<int:job_id>/resume")
def resume_job(job_id: int) -> Response:
    known_job(job_id)
    try:
        return job_response(engine().jobs.resume(job_id, g.api_actor))
    except JobStateError as error:
        return state_conflict(error)


@api_jobs.get("/jobs/<int:job_id>/output")
def job_output(job_id: int) -> Response:
    known_job(job_id)
    try:
        path, name, media_type = engine().jobs.output_path(job_id, g.api_actor)
    except JobStateError as error:
        return state_conflict(error)
    if not path.is_file():
        return json_error(409, {"error": "conflict", "message": JobStateError("no_output", {"job": job_id})
                                .message(lang())})
    response = send_file(path, mimetype=media_type or "application/octet-stream", as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Content-Type"] = content_type(media_type or "application/octet-stream")
    response.headers["Cache-Control"] = "no-store"
    return response
