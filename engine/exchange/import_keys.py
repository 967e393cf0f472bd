"""Upsert keys: which stored record each row of an import names, and keys repeated in the file.

A row's key values are typed through the characteristics' rules, then the records they
name are read in one SELECT per chunk (live records in the actor's scope, locked until
the chunk commits, so that no one changes them between the read and the write).

A key seen on an earlier row of the file refuses the later row. Earlier rows may be in
committed chunks, so the keys seen are remembered for the whole file, as one 64-bit hash
each (not the values): a few dozen bytes per row, the only memory an upsert keeps across
chunks. A resumed job re-reads the rows before its checkpoint to remember their keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa

from metamodel.model import MATCHABLE_TYPES, EntityDef

from engine.core.errors import RuleError
from engine.records.field_rules import FieldRules
from .import_messages import ImportFileError, ImportRuleError
from .import_options import ImportOptions, PreparedRow

if TYPE_CHECKING:
    from engine.records.service import RecordService

LOOKUP_CHUNK = 1000


def key_fields(definition: EntityDef, options: ImportOptions) -> tuple[str, ...]:
    """The fields identifying a record in this import: the given key, else the natural key
    with `upsert`, else none (every row creates a record)."""
    if options.key:
        key = tuple(options.key)
    elif options.upsert:
        key = tuple(getattr(definition, "natural_key", ()) or ())
        if not key:
            raise ImportFileError("no_key", {"entity": definition.name})
    else:
        return ()
    for name in key:
        if name not in definition.fields_by_name:
            raise ImportFileError("key_unknown", {"field": name, "entity": definition.name})
        if definition.field(name).type not in MATCHABLE_TYPES:
            raise ImportFileError("key_type", {"field": name, "type": definition.field(name).type})
    return key


class UpsertKeys:
    def __init__(self, service: RecordService, entity: str, fields: tuple[str, ...],
                 scope: sa.ColumnElement[bool] | None):
        self.entity = entity
        self.fields = fields
        self.table = service.table(entity)
        self.rules: list[FieldRules] = [service.validator(entity).rules[name] for name in fields]
        self.scope = scope
        self.seen: set[int] = set()

    def typed(self, row: PreparedRow) -> tuple[Any, ...] | None:
        """The row's key values, typed like the stored ones; None (and an error) if it has none."""
        typed = []
        for name, rules in zip(self.fields, self.rules):
            value = row.values.get(name)
            try:
                if value is None:
                    raise ImportRuleError(name, "key_empty", {"fields": ", ".join(self.fields)})
                typed.append(rules.load(value))
            except RuleError as error:
                if not (row.errors and name in row.errors):
                    row.fail(name, error)
                row.unkeyed = True
                return None
        return tuple(typed)

    def remember(self, rows: Sequence[PreparedRow]) -> None:
        """Rows before a resumed job's checkpoint: only their keys matter, to refuse repeats."""
        for row in rows:
            key = self.typed(row)
            if key is not None:
                self.seen.add(hash(key))

    def match(self, conn: sa.Connection, rows: Sequence[PreparedRow], *, lock: bool) -> None:
        """Set `current` on the rows naming a stored record; refuse repeated and ambiguous keys."""
        keyed: dict[tuple[Any, ...], PreparedRow] = {}
        for row in rows:
            key = self.typed(row)
            if key is None:
                continue
            digest = hash(key)
            if digest in self.seen:
                self._refuse(row, "key_repeated_earlier", {"value": _show(key)})
                continue
            self.seen.add(digest)
            keyed[key] = row
        for key, records in self._stored(conn, list(keyed), lock).items():
            row = keyed.get(key)
            if row is None:
                continue
            if len(records) > 1:
                self._refuse(row, "key_ambiguous", {"count": len(records), "entity": self.entity, "value": _show(key)})
            else:
                row.current = records[0]

    def _stored(self, conn: sa.Connection, keys: list[tuple[Any, ...]], lock: bool) -> dict[tuple, list[dict]]:
        """The live records in scope having one of `keys`, by key."""
        table = self.table
        columns = [table.c[name] for name in self.fields]
        target = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            part = keys[start : start + LOOKUP_CHUNK]
            query = sa.select(table).where(
                target.in_([k[0] for k in part] if len(columns) == 1 else part), table.c.deleted_at.is_(None)
            )
            if self.scope is not None:
                query = query.where(self.scope)
            if lock:
                query = query.with_for_update()
            for record in conn.execute(query).mappings():
                found.setdefault(tuple(record[name] for name in self.fields), []).append(dict(record))
        return found

    def _refuse(self, row: PreparedRow, problem: str, params: dict[str, Any]) -> None:
        row.fail(self.fields[0], ImportRuleError(self.fields[0], problem, params))
        row.unkeyed = True


def _show(key: tuple[Any, ...]) -> str:
    return ", ".join(f"'{value}'" for value in key)
