"""A job (`engine.jobs.service.Jobs.get`) as the API answers it: JSON values, without server-side details."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Response, jsonify, request

from .serialize import json_value

LIST_MAX = 200
"""Jobs `GET /jobs` returns at most."""
ERRORS_MAX = 10_000
"""Errors `GET /jobs/<id>/errors` returns at most (as many as a job keeps)."""
PRIVATE_PARAMS = frozenset({"path"})
"""Job parameters kept from callers: where the server keeps an uploaded file is its business."""


def job_json(job: Mapping[str, Any]) -> dict[str, Any]:
    public = dict(job)
    public["params"] = {k: v for k, v in (job.get("params") or {}).items() if k not in PRIVATE_PARAMS}
    return json_value(public)


def job_response(job: Mapping[str, Any], prefix: str, status: int = 200) -> Response:
    """The job as JSON, with `Location` its address under the API `prefix` (/api/v1)."""
    response = jsonify(job_json(job))
    response.status_code = status
    response.headers["Location"] = f"{request.script_root}{prefix}/jobs/{job['id']}"
    response.headers["Cache-Control"] = "no-store"
    return response
