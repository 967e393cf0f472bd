"""A migration plan: its steps in plain words, what each one does, and what blocks it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Mapping

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.core.errors import EngineError
from .fit import Extent
from .messages import rule_name, text

KINDS = ("create", "record", "archive", "rename", "retype", "widen", "tighten", "loosen", "index", "refuse")
"""`refuse` steps block the whole migration; every other kind can be applied."""
RULES_ONLY = frozenset({"tighten", "loosen"})
"""Steps that leave the tables as they are (a rule made stricter or looser, a label changed):
records can be read and written before they are applied."""


@dataclass(frozen=True)
class Offender:
    """A record a step is about: a value that does not convert, or a record that breaks a rule."""

    record_id: int
    value: Any = None
    reason: str | None = None
    """The rule broken, `lossy` (the value would change), or None for a rule step."""
    converted: Any = None


@dataclass(frozen=True)
class Step:
    kind: str
    key: str
    """The message key (engine/schema/messages.py)."""
    params: Mapping[str, Any]
    entity: str | None = None
    field: str | None = None
    count: int = 0
    """How many values or records the step concerns (offending ones for a refused step)."""
    offenders: tuple[Offender, ...] = ()
    """The first records concerned, when the step lists records."""
    action: Any = dataclass_field(default=None, compare=False, repr=False)
    """What applying the step does (one of the dataclasses below), None for a step with no work."""

    @property
    def blocking(self) -> bool:
        return self.kind == "refuse"

    def text(self, lang: str | None = "en") -> str:
        params = dict(self.params)
        if "rule" in params:
            params["rule"] = rule_name(params["rule"], lang)
        words = text(self.key, lang, **params)
        return text("refused", lang, words=words) if self.blocking else words

    def details(self, lang: str | None = "en") -> list[str]:
        """One line per listed record, then how many more there are."""
        lines = []
        for offender in self.offenders:
            if offender.reason is None:
                lines.append(text("offender_rule", lang, id=offender.record_id))
                continue
            reason = (
                text("lossy", lang, converted=_show(offender.converted))
                if offender.reason == "lossy"
                else rule_name(offender.reason, lang)
            )
            lines.append(text("offender", lang, id=offender.record_id, value=_show(offender.value), reason=reason))
        more = self.count - len(self.offenders)
        if self.offenders and more > 0:
            lines.append(text("more_records", lang, count=more))
        return lines


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Plan:
    """What `migrate` would do, in order; nothing is applied while a step is refused."""

    steps: tuple[Step, ...]

    @property
    def blocked(self) -> bool:
        return any(step.blocking for step in self.steps)

    @property
    def problems(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.blocking)

    @property
    def tables_behind(self) -> bool:
        """Whether a step changes the tables (records cannot be read or written the new way before)."""
        return any(step.kind not in RULES_ONLY for step in self.steps)

    def words(self, lang: str | None = "en") -> list[str]:
        """One line per step (what `Engine.pending_migrations` returns)."""
        return [step.text(lang) for step in self.steps]

    def lines(self, lang: str | None = "en") -> list[str]:
        """Every step, each followed by its listed records (indented)."""
        lines: list[str] = []
        for step in self.steps:
            lines.append(step.text(lang))
            lines.extend(f"    {detail}" for detail in step.details(lang))
        return lines


class MigrationRefused(EngineError):
    """A step of the plan is refused (values that do not convert, a list value deleted while in use,
    ...): nothing was changed. `plan` holds every step, the refused ones say why."""

    def __init__(self, plan: Plan):
        self.plan = plan
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        return text("migration_refused", lang, problems="; ".join(step.text(lang) for step in self.plan.problems))


# -- what each step does ------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTable:
    table: sa.Table


@dataclass(frozen=True)
class AddColumn:
    column: sa.Column


@dataclass(frozen=True)
class CreateIndex:
    """Informative: every missing index of a table the plan touches is created at the end."""

    table: str
    name: str


@dataclass(frozen=True)
class DropIndex:
    table: str
    name: str


@dataclass(frozen=True)
class ArchiveField:
    entity: str
    table: str
    old: FieldDef
    data: Mapping[str, Any]
    """The old definition in snapshot form, kept with the archived values."""


@dataclass(frozen=True)
class ArchiveEntity:
    entity: str
    table: str
    fields: Mapping[str, Mapping[str, Any]]
    """Field name -> its definition (snapshot form), kept with the archive."""


@dataclass(frozen=True)
class RenameColumn:
    entity: str
    table: str
    old: str
    new: str


@dataclass(frozen=True)
class Retype:
    entity: str
    table: str
    source: str
    """The column holding the values now (the old name when the characteristic is also renamed)."""
    old: FieldDef
    old_data: Mapping[str, Any]
    new: FieldDef
    rewrite: bool
    """False when the column type stays and every value is unchanged: only the definition changes."""
    extent: Extent
    """What the new column must hold (schema_fit)."""


@dataclass(frozen=True)
class Widen:
    entity: str
    table: str
    field: FieldDef


@dataclass(frozen=True)
class Tighten:
    """Records that break a rule made stricter go to `sys_cleanup`."""

    entity: str
    table: str
    field: FieldDef
    rule: str
    codes: tuple[str, ...] = ()
    """The retired list values, or the removed statuses, the records must not use."""
