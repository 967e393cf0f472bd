"""Link cells of an import, resolved to record ids set-based: one SELECT per link column per chunk.

A link cell names the target record by the target's natural key when the target declares a
one-field `natural_key` (an account by its name: what an export writes), else by its number
(`12` or `#12`). `#12` is always a record number, whatever the target's key. Records are
looked up among the live ones in the actor's scope; a name matching no record, or several,
is an error on that row naming the column and the value.

A `links` cell names its members the same way, separated by commas (an export writes
", "): `ann@x.org, bob@x.org, #12`. A member whose key holds a comma or a double quote is
written in double quotes, a quote in it doubled, as a CSV cell is (`"Smith, John", Acme`:
what an export writes, `quote_member`). More members than the characteristic's `max` refuse
the cell before any is looked up; the members of all the rows of a chunk are looked up
together (one SELECT per column per LOOKUP_CHUNK keys); each member matching no record (or
one out of the actor's scope: the same words) is an error naming it. The cell becomes the
list of member ids: the new set of the record's members (an update replaces the set), whose
readability the record rules check again (engine/records/collections/values.py).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa

from metamodel.model import FieldDef

from engine.core.context import Actor
from engine.core.errors import RuleError
from engine.records.collections.words import CollectionError
from engine.records.field_rules import FieldRules
from .import_messages import ImportRuleError

if TYPE_CHECKING:
    from .import_options import PreparedRow
    from engine.records.service import RecordService

RECORD_NUMBER = re.compile(r"#\s*(\d{1,18})")
PLAIN_NUMBER = re.compile(r"(\d{1,18})")
LOOKUP_CHUNK = 1000
MEMBER_SEPARATOR = ","
MEMBER_QUOTE = '"'


def split_members(cell: str) -> list[str]:
    """The members a `links` cell names, in order: split on commas, a member in double quotes
    keeping its commas (`""` is a quote inside it); blank members are ignored."""
    if MEMBER_QUOTE not in cell:
        parts = cell.split(MEMBER_SEPARATOR)
    else:
        parts = next(csv.reader([cell], skipinitialspace=True), [])
    return [part.strip() for part in parts if part.strip()]


def quote_member(name: str) -> str:
    """A member's name as a `links` cell writes it: in double quotes when it holds a comma or a
    quote (or starts or ends with spaces), so that `split_members` gives it back whole."""
    if MEMBER_SEPARATOR in name or MEMBER_QUOTE in name or name != name.strip():
        return MEMBER_QUOTE + name.replace(MEMBER_QUOTE, MEMBER_QUOTE * 2) + MEMBER_QUOTE
    return name


@dataclass(frozen=True)
class LinkColumn:
    field: FieldDef
    table: sa.Table
    key: FieldDef | None
    """The target's one-field natural key, if it has one."""
    key_rules: FieldRules | None
    scope: sa.ColumnElement[bool] | None


class LinkResolver:
    """Resolves the `link` and `links` columns of one import (one entity, one actor)."""

    def __init__(self, service: RecordService, actor: Actor, fields: Sequence[FieldDef]):
        self.columns: list[LinkColumn] = []
        for f in fields:
            if f.type not in ("link", "links"):
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
            if column.field.type == "links":
                self._resolve_members(conn, column, rows)
            elif self._resolve_column(conn, column, rows):
                checked.add(column.field.name)
        return frozenset(checked)

    def _resolve_members(self, conn: sa.Connection, column: LinkColumn, rows: Sequence[PreparedRow]) -> None:
        """`links` cells: each row's members as a list of ids, the keys of all the rows looked up at once."""
        f = column.field
        name = f.name
        pending: list[tuple[PreparedRow, list[int], list[Any]]] = []
        """(row, the ids it names, the keys it names still to look up)"""
        wanted: set[Any] = set()
        for row in rows:
            cell = row.values.get(name)
            if not isinstance(cell, str):
                continue  # none, or typed ids from a plugin format: checked with the record rules
            members = split_members(cell)
            if len(members) > f.max:
                row.values.pop(name, None)
                row.fail(name, CollectionError(name, "max_count", {"max": f.max, "count": len(members)}))
                continue
            ids: list[int] = []
            keys: list[Any] = []
            failed = False
            for member in members:
                number = RECORD_NUMBER.fullmatch(member) or (PLAIN_NUMBER.fullmatch(member) if column.key is None else None)
                if number:
                    ids.append(int(number.group(1)))
                    continue
                if column.key is None:
                    self._fail(row, name, "link_not_found", column, "id", member)
                    failed = True
                    continue
                try:
                    keys.append(column.key_rules.load(member))
                except RuleError:
                    self._fail(row, name, "link_not_found", column, column.key.name, member)
                    failed = True
            if failed:
                continue
            pending.append((row, ids, keys))
            wanted.update(keys)
        found = self._lookup(conn, column, list(wanted)) if wanted else {}
        for row, ids, keys in pending:
            for key in keys:
                matched = found.get(key, ())
                if len(matched) == 1:
                    ids.append(matched[0])
                else:
                    problem = "link_not_found" if not matched else "link_ambiguous"
                    self._fail(row, name, problem, column, column.key.name, key)
            if not (row.errors and name in row.errors):
                row.values[name] = ids

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
