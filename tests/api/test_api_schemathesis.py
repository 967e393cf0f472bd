"""Schemathesis against the API's own OpenAPI document, in process, on a seeded app.

Every operation gets generated requests with a valid token, once with generated record
ids (mostly unknown ones) and once on a record that exists: no answer may be a server
error, and every answer must be documented (status code, content type, body schema).
Bounded: a few examples per operation, generation only, no example database; deletions
run last so that the other operations meet live records.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from api_support import make_caller
from engine import SYSTEM_ACTOR, Engine

EXAMPLES_PER_OPERATION = 5
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


def live_id(engine: Engine, entity: str) -> int | None:
    table = engine.tables.records.get(entity)
    if table is None:
        return None
    with engine.db.connect() as conn:
        return conn.execute(sa.select(sa.func.min(table.c.id)).where(table.c.deleted_at.is_(None))).scalar()


def keep_usable(engine: Engine, user_id: int) -> None:
    """Generated mass updates and deletions may switch the caller off; switch them back on."""
    user = engine.records.get("user", user_id, include_deleted=True)
    if user["deleted_at"] is not None:
        engine.records.restore("user", user_id, SYSTEM_ACTOR)
    if not engine.records.get("user", user_id)["active"]:
        engine.records.update("user", user_id, {"active": True}, SYSTEM_ACTOR)


def exercise(operation: Any, headers: dict[str, str], path_parameters: dict[str, Any] | None) -> None:
    strategy = operation.as_strategy(path_parameters=path_parameters) if path_parameters else operation.as_strategy()

    @given(case=strategy)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        case.call_and_validate(checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ["admin", "sales"])
def test_generated_requests_get_documented_answers(shared_app: Flask, role: str) -> None:
    engine: Engine = shared_app.extensions["ossature"]
    caller = make_caller(shared_app, f"fuzz.{role}", (role,), team="sales_france")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", shared_app)
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (op.method.upper() == "DELETE", op.path))
    headers = {"Authorization": f"Bearer {caller.token}"}
    failures: list[str] = []
    for operation in operations:
        passes: list[dict[str, Any] | None] = [None]
        if "{id}" in operation.path:
            record_id = live_id(engine, operation.path.strip("/").split("/")[0])
            if record_id is not None:
                passes.append({"id": record_id})
        for path_parameters in passes:
            keep_usable(engine, caller.user_id)
            try:
                exercise(operation, headers, path_parameters)
            except Exception as error:  # every operation's failure, reported together
                failures.append(f"{operation.label} {path_parameters or ''}: {str(error)[:2000]}")
    assert len(operations) > 60
    assert not failures, "\n\n".join(failures)
