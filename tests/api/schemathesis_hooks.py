"""Schemathesis hooks of the API suite (`SCHEMATHESIS_HOOKS=schemathesis_hooks`, with tests/api on the path).

`schemathesis.toml` lets a schema-valid request be answered 422 (and 412/428, the locking
preconditions no OpenAPI document can tie to a header or a body property). This check takes
the 422 back where the document could have said it: a schema-valid request may be refused
only for a rule the document cannot state (a link to a record that does not exist, a value
already used, a characteristic mandatory under a condition, a workflow or merge rule on the
record's state, more decimals than the column keeps); any other rule is a gap between the
document and the API, and fails.
"""

from __future__ import annotations

from typing import Any

import schemathesis

UNSTATABLE_RULES = frozenset({
    "link",        # the record linked to does not exist, or is out of the caller's scope
    "line_id",     # a line id that is not one of this record's lines (the document cannot know them)
    "line_repeated",  # the same line id twice in one lines value
    "unique",      # another record already holds the value
    "mandatory",   # mandatory_when: a condition on other values (plain mandatory ones are `required`)
    "scale",       # a JSON number with more decimals than the column keeps (multipleOf cannot say it exactly)
    "precision",   # digits beyond the column, beyond what a float shows
    "transition",  # the status moves through transitions only
    "retired",     # a retired value a record may keep, never newly choose
    "format",      # a plugin's format (siret...)
    "characters",  # NUL or a lone surrogate inside free-form JSON (filters, inputs): no database stores them
    "range",       # a whole number beyond 64 bits inside free-form JSON
    "not_found",   # a batch row naming a record that does not exist (or is out of scope)
    "conflict",    # a batch row's version is stale
    "repeated",    # a batch names a record twice
    "too_large",   # a batch row over its size limit
})
"""Rules of a 422 `errors` body the OpenAPI document cannot express."""
TEXT_BOUNDS = frozenset({"min", "max"})
"""Bounds of a value sent as text (a date, a decimal written "12.50"): JSON Schema bounds numbers only."""
STATE_ANSWERS = frozenset({"transition_refused", "merge_refused"})
"""422 answers about the records' state or the workflow (guard, role, from-status), not the request's shape."""


def refusal_the_document_cannot_state(body: Any, sent: Any) -> bool:
    """Whether a 422 `body` answering the request body `sent` names only rules the document cannot state."""
    if not isinstance(body, dict):
        return False
    if body.get("error") in STATE_ANSWERS:
        return True
    errors = body.get("errors")
    if body.get("error") == "invalid" and isinstance(errors, list) and errors:  # a batch: each row judged alone
        rows = sent.get("records") if isinstance(sent, dict) else None
        return isinstance(rows, list) and all(
            isinstance(entry, dict) and isinstance(entry.get("index"), int) and 0 <= entry["index"] < len(rows)
            and refusal_the_document_cannot_state({"error": "invalid", "errors": entry.get("errors")}, rows[entry["index"]])
            for entry in errors)
    if body.get("error") != "invalid" or not isinstance(errors, dict) or not errors:
        return False
    values = sent.get("values") if isinstance(sent, dict) and isinstance(sent.get("values"), dict) else sent
    values = values if isinstance(values, dict) else {}

    def unstatable(field: str, rule: Any) -> bool:
        return rule in UNSTATABLE_RULES or (rule in TEXT_BOUNDS and isinstance(values.get(field), str))

    return all(isinstance(found, list) and found and all(unstatable(field, e.get("rule")) for e in found)
               for field, found in errors.items())


@schemathesis.check
def valid_requests_are_refused_only_for_rules_the_document_cannot_state(
        ctx: Any, response: Any, case: Any) -> bool | None:
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not refusal_the_document_cannot_state(body, getattr(case, "body", None)):
        raise AssertionError(f"A schema-valid request was refused for a rule the document could state: {body}")
    return None
