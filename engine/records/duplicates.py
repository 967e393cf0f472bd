"""Finding probable duplicates with the entity's duplicate rules (`duplicates:` in its YAML).

Two live records are probable duplicates under a rule when every characteristic the rule
matches holds the same value once normalised: text ignores case, accents and spacing,
an email ignores case and surrounding blanks, a phone number keeps its digits (and a
leading +); choices, links, numbers and dates compare as stored. A record with any
matched characteristic empty never matches.

Normalising happens in Python (accents and case folding are not portable SQL), so the
records are read in keyset chunks of ids, only the rule's columns, in the actor's read
scope; memory holds one small entry per distinct key, never whole records.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import sqlalchemy as sa

from metamodel.model import DuplicateRuleDef, EntityDef

from engine.core.context import Actor
from engine.core.errors import NotFoundError
from engine.access.permissions import PermissionDenied

if TYPE_CHECKING:
    from .service import RecordService

CHUNK = 5000
"""Records read per keyset step."""
DEFAULT_LIMIT = 200
"""Groups returned at most by default."""

_SPACES = re.compile(r"\s+")
_NOT_DIGITS = re.compile(r"\D+")


@dataclass(frozen=True)
class DuplicateGroup:
    """Records sharing one normalised key under one rule."""

    rule: str
    key: tuple[Any, ...]
    """The normalised values, in the rule's field order."""
    ids: tuple[int, ...]
    """Oldest record first (ids grow with creation)."""


def normalise(field_type: str, value: Any) -> Any:
    """The value as a duplicate rule compares it; None when it is empty (it then never matches)."""
    if value is None:
        return None
    if field_type in ("string", "text", "url"):
        decomposed = unicodedata.normalize("NFKD", str(value).casefold())
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
        folded = _SPACES.sub(" ", plain).strip()
        return folded or None
    if field_type == "email":
        return str(value).strip().lower() or None
    if field_type == "phone":
        text = str(value).strip()
        digits = _NOT_DIGITS.sub("", text)
        if not digits:
            return None
        return "+" + digits if text.startswith("+") else digits
    if value == "":
        return None
    return value


def record_key(entity: EntityDef, fields: Sequence[str], values: Sequence[Any]) -> tuple[Any, ...] | None:
    """The normalised key of one record's `values` (in `fields` order); None if any part is empty."""
    key = []
    for name, value in zip(fields, values):
        part = normalise(entity.field(name).type, value)
        if part is None:
            return None
        key.append(part)
    return tuple(key)


def find_duplicates(
    service: RecordService, entity: str, actor: Actor | None, *, rule: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[DuplicateGroup]:
    """Groups of probable duplicates among the live records the actor may read.

    Every rule of the entity in declared order (or only `rule`), each rule's groups
    ordered by their oldest record; at most `limit` groups in all (ask for one more to
    know whether there are more). A rule naming a characteristic hidden from the actor
    is skipped, or refused with PermissionDenied when asked for by name; an unknown rule
    raises NotFoundError.
    """
    table = service.table(entity)  # NotFoundError for an unknown entity
    definition = service.model.entity(entity)
    rules = _rules(definition, rule)
    groups: list[DuplicateGroup] = []
    with service.reading(actor) as tx:
        access = tx.access(entity, "read")
        scope = service.permissions.scope_condition(access, tx.actor, table)
        for current in rules:
            hidden = [name for name in current.fields if name in access.hidden]
            if hidden:
                if rule is not None:
                    raise PermissionDenied(entity, "read", f"no access to {', '.join(hidden)}")
                continue
            if len(groups) >= limit:
                break
            found = _groups(tx.conn, table, definition, current, scope)
            groups.extend(found[: limit - len(groups)])
    return groups


def _rules(definition: EntityDef, name: str | None) -> tuple[DuplicateRuleDef, ...]:
    if name is None:
        return definition.duplicate_rules
    try:
        return (definition.duplicate_rule(name),)
    except KeyError:
        raise NotFoundError(f"{definition.name} duplicate rule", name) from None


def _groups(
    conn: sa.Connection, table: sa.Table, definition: EntityDef, rule: DuplicateRuleDef,
    scope: sa.ColumnElement[bool] | None,
) -> list[DuplicateGroup]:
    first_of: dict[tuple[Any, ...], int] = {}
    """Key -> the first (oldest) record seen with it: most keys are seen once."""
    repeated: dict[tuple[Any, ...], list[int]] = {}
    for record_id, values in _rows(conn, table, rule.fields, scope):
        key = record_key(definition, rule.fields, values)
        if key is None:
            continue
        first = first_of.setdefault(key, record_id)
        if first != record_id:
            repeated.setdefault(key, [first]).append(record_id)
    ordered = sorted(repeated.items(), key=lambda item: item[1][0])
    return [DuplicateGroup(rule.name, key, tuple(ids)) for key, ids in ordered]


def _rows(
    conn: sa.Connection, table: sa.Table, fields: Sequence[str], scope: sa.ColumnElement[bool] | None
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(id, values of `fields`) of the live records with every field set, by id, CHUNK at a time."""
    columns = [table.c[name] for name in fields]
    conditions: list[sa.ColumnElement[bool]] = [table.c.deleted_at.is_(None), *(c.is_not(None) for c in columns)]
    if scope is not None:
        conditions.append(scope)
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, *columns).where(*conditions, table.c.id > last).order_by(table.c.id).limit(CHUNK)
        ).all()
        for row in rows:
            yield row[0], tuple(row[1:])
        if len(rows) < CHUNK:
            return
        last = rows[-1][0]
