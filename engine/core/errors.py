"""Errors the engine raises; each says what and where, in the user's language."""

from __future__ import annotations

from typing import Any

from .messages import message


class RuleError(Exception):
    """One broken rule on one field: `rule` is the rule's name (`max`, `mandatory`, ...).

    Raised by the per-characteristic rules and collected into RecordValidationError.
    """

    def __init__(self, field: str, rule: str, params: dict[str, Any] | None = None):
        super().__init__(field, rule)
        self.field = field
        self.rule = rule
        self.params = params or {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleError) and (self.field, self.rule) == (other.field, other.rule)

    def __hash__(self) -> int:
        return hash((self.field, self.rule))

    def __repr__(self) -> str:
        return f"RuleError({self.field!r}, {self.rule!r})"

    def message(self, lang: str | None = "en") -> str:
        return message(self.rule, lang, self.params)

    def as_dict(self, lang: str | None = "en") -> dict[str, str]:
        return {"rule": self.rule, "message": self.message(lang)}


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class RecordValidationError(EngineError):
    """A record broke one or more rules; nothing was written."""

    def __init__(self, errors: dict[str, list[RuleError]], entity: str | None = None):
        self.errors = errors
        self.entity = entity
        super().__init__(self.describe())

    def describe(self, lang: str | None = "en") -> str:
        return "; ".join(f"{name}: {e.message(lang)}" for name, errs in self.errors.items() for e in errs)

    def as_dict(self, lang: str | None = "en") -> dict[str, list[dict[str, str]]]:
        return {name: [e.as_dict(lang) for e in errs] for name, errs in self.errors.items()}


class BatchValidationError(RecordValidationError):
    """Rows of a batch broke rules; `rows` maps the row's index to its errors. Nothing was written."""

    def __init__(self, rows: dict[int, dict[str, list[RuleError]]], entity: str | None = None):
        self.rows = rows
        first = min(rows)
        super().__init__(rows[first], entity)

    def describe(self, lang: str | None = "en") -> str:
        shown = sorted(self.rows)[:5]
        parts = [
            f"row {i}: " + "; ".join(f"{n}: {e.message(lang)}" for n, errs in self.rows[i].items() for e in errs)
            for i in shown
        ]
        more = len(self.rows) - len(shown)
        return " | ".join(parts) + (f" | and {more} more rows" if more > 0 else "")


class TransitionError(EngineError):
    """A workflow transition was refused; nothing was written.

    `reason` is one of `no_workflow`, `unknown_transition`, `unknown_status`, `not_from`,
    `role`, `required`, `guard`, `not_free`, `unknown_action`. A failed guard shows the
    workflow's own message (`guard_message`) when it declares one. `errors` names the
    fields when the reason is `required`.
    """

    def __init__(
        self,
        reason: str,
        params: dict[str, Any] | None = None,
        *,
        custom: dict[str, str] | None = None,
        errors: dict[str, list[RuleError]] | None = None,
    ):
        self.reason = reason
        self.params = params or {}
        self.custom = custom
        self.errors = errors or {}
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        if self.custom:
            return self.custom.get(lang or "en") or self.custom["en"]
        return message(self.reason, lang, self.params)

    def as_dict(self, lang: str | None = "en") -> dict[str, Any]:
        body: dict[str, Any] = {"reason": self.reason, "message": self.message(lang)}
        if self.errors:
            body["errors"] = {n: [e.as_dict(lang) for e in errs] for n, errs in self.errors.items()}
        return body


class NotFoundError(EngineError):
    def __init__(self, entity: str, record_id: Any):
        self.entity, self.record_id = entity, record_id
        super().__init__(f"{entity} {record_id} does not exist")


class ConflictError(EngineError):
    """An update carried a stale version: someone changed the record since it was read."""

    def __init__(self, entity: str, record_id: int, expected: int | None, current: dict[str, Any]):
        self.entity, self.record_id, self.expected, self.current = entity, record_id, expected, current
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        params = {"entity": self.entity, "id": self.record_id, "expected": self.expected,
                  "version": self.current.get("version")}
        return message("conflict", lang, params)


class StateError(EngineError):
    """The operation does not apply to the record in its current state (e.g. restoring a live record)."""


class NotHistorizedError(EngineError):
    def __init__(self, entity: str, field_name: str):
        super().__init__(f"{entity}.{field_name} is not historized: declare it with `historized: true`")
