"""Link cells of an import, resolved to record ids set-based: one SELECT per link column per chunk.

A link cell names the target record by the target's natural key when the target declares a
one-field `natural_key` (an account by its name: what an export writes), else by its number
(`12` or `#12`). `#12` is always a record number, whatever the target's key. Records are
looked up among the live ones in the actor's scope; a name matching no record, or several,
is an error on that row naming the column and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.core.context import Actor
from engine.core.errors import RuleError
from engine.records.field_rules import FieldRules
from .import_messages import ImportRuleError

if TYPE_CHECKING:
    from .import_options import PreparedRow
    from engine.records.service import RecordService

RECORD_NUMBER = re.compile(r"#\s*(\d{1,18})")
PLAIN_NUMBER = re.compile(r"(\d{1,18})")
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class LinkColumn:
    field: FieldDef
    table: sa.Table
    key: FieldDef | None
    """The target's one-field natural key, if it has one."""
    key_rules: FieldRules | None
    scope: sa.ColumnElement[bool] | None


class LinkResolver:
    """Resolves the link columns of one import (one entity, one actor)."""

    def __init__(self, service: RecordService, actor: Actor, fields: Sequence[FieldDef]):
        self.columns: list[LinkColumn] = []
        for f in fields:
            if f.type != "link":
                continue
            target = service.model.entity(f.entity)
            table = service.table(f.entity)
            natural = tuple(getattr(target, "natural_key", ()) or ())
            key = target.fields_by_name.get(natural[0]) if len(natural) == 1 else None
            access = service.permissions.access(actor, f.entity)
            if key is not None and key.name in access.hidden:
                key = None  # a name the actor may not see cannot be used to find a record
            scope = service.permissions.scope_condition(access, actor, table)
            rules = service.validator(f.entity).rules[key.name] if key is not None else None
            self.columns.append(LinkColumn(f, table, key, rules, scope))

    @property
    def by_key(self) -> frozenset[str]:
        """Link fields resolved by a natural key (their ids come from the database)."""
        return frozenset(c.field.name for c in self.columns if c.key is not None)

    def resolve(self, conn: sa.Connection, rows: Sequence[PreparedRow]) -> frozenset[str]:
        """Replace the link cells of `rows` by record ids (errors go to the rows).

        Returns the link fields whose every id was read from the database just now.
        """
        checked: set[str] = set()
        for column in self.columns:
            if self._resolve_column(conn, column, rows):
                checked.add(column.field.name)
        return frozenset(checked)

    def _resolve_column(self, conn: sa.Connection, column: LinkColumn, rows: Sequence[PreparedRow]) -> bool:
        name = column.field.name
        wanted: dict[Any, list[PreparedRow]] = {}
        all_looked_up = True
        for row in rows:
            cell = row.values.get(name)
            if cell is None:
                continue
            if not isinstance(cell, str):
                all_looked_up = False  # a typed id from a plugin format: checked with the record rules
                continue
            number = RECORD_NUMBER.fullmatch(cell) or (PLAIN_NUMBER.fullmatch(cell) if column.key is None else None)
            if number:
                row.values[name] = int(number.group(1))
                all_looked_up = False
                continue
            if column.key is None:
                self._fail(row, name, "link_not_found", column, "id", cell)
                continue
            try:
                key = column.key_rules.load(cell)
            except RuleError:
                self._fail(row, name, "link_not_found", column, column.key.name, cell)
                continue
            wanted.setdefault(key, []).append(row)
        if wanted:
            found = self._lookup(conn, column, list(wanted))
            for key, waiting in wanted.items():
                ids = found.get(key, ())
                for row in waiting:
                    if len(ids) == 1:
                        row.values[name] = ids[0]
                    else:
                        problem = "link_not_found" if not ids else "link_ambiguous"
                        self._fail(row, name, problem, column, column.key.name, row.values[name])
        return all_looked_up

    def _lookup(self, conn: sa.Connection, column: LinkColumn, keys: list[Any]) -> dict[Any, list[int]]:
        table = column.table
        key_column = table.c[column.key.name]
        query = sa.select(table.c.id, key_column).where(
            key_column.in_(sa.bindparam("keys", expanding=True)), table.c.deleted_at.is_(None)
        )
        if column.scope is not None:
            query = query.where(column.scope)
        found: dict[Any, list[int]] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            for record_id, key in conn.execute(query, {"keys": keys[start : start + LOOKUP_CHUNK]}):
                found.setdefault(key, []).append(record_id)
        return found

    @staticmethod
    def _fail(row: PreparedRow, name: str, problem: str, column: LinkColumn, key: str, value: Any) -> None:
        row.values.pop(name, None)
        row.fail(name, ImportRuleError(name, problem, {"entity": column.field.entity, "field": key, "value": value}))
