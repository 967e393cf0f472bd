"""Paths through links (`room.site.name`) read from the database: the one place that turns
them into SQL.

Two readers, one rule. A list reads its paths as columns of LEFT OUTER JOINs (`PathJoins`:
one aliased table per distinct prefix, `room` and `room.site`, shared by every path that goes
through it); records given as dicts, maybe not saved yet, get theirs set-based
(`path_values`: one query per prefix for all of them, chunked). Either way a linked record
that is trashed, out of the actor's read scope, or reached through a characteristic the actor
may not see gives None, never the hidden value (`metamodel.model.PathDef`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.sql import visitors

from metamodel.field_paths import is_path
from metamodel.model import Model, PathDef

from engine.access.permissions import Permissions
from engine.core.context import Actor
from engine.storage.tables import Tables

LOOKUP_CHUNK = 500
"""Ids read by one statement of `path_values`."""

Scope = Callable[[str, sa.FromClause], "sa.ColumnElement[bool] | None"]


@dataclass(frozen=True)
class PathReader:
    """What reading paths needs for one actor: the model, the tables, and the actor's reading
    rights on every entity a path may reach (its row scope and its hidden characteristics)."""

    model: Model
    tables: Tables
    scope: Scope
    """`scope(entity, table)`: the condition keeping the records the actor may read (None: all)."""
    hidden: Callable[[str], frozenset[str]]
    """`hidden(entity)`: the characteristics the actor may not see."""

    def path(self, entity: str, text: str) -> PathDef:
        return self.model.path(entity, text)

    def is_hidden(self, path: PathDef) -> bool:
        """Whether the path names, on the way or at its end, a characteristic the actor may not see."""
        names = [*path.steps, path.field]
        return any(f.name in self.hidden(entity) for f, entity in zip(names, path.entities))


def path_reader(model: Model, tables: Tables, permissions: Permissions, actor: Actor | None) -> PathReader:
    """The paths `actor` reads: records in their read scope, characteristics they may see."""

    def scope(entity: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
        access = permissions.access(actor, entity, "read")
        return permissions.scope_condition(access, actor, table)  # type: ignore[arg-type]

    def hidden(entity: str) -> frozenset[str]:
        return permissions.access(actor, entity, "read").hidden

    return PathReader(model, tables, scope, hidden)


@dataclass
class _Join:
    alias: sa.Alias
    on: sa.ColumnElement[bool]


@dataclass
class PathJoins:
    """The joins of one list of `entity` (whose table is `table`): an aliased table per prefix
    of the paths it reads, made when a path is first asked for, in that order (a prefix's
    parent always comes first). `column(text)` is a path's column, `select_from(...)` the FROM
    clause joining only what some expressions use (a count joins what its conditions read)."""

    reader: PathReader
    entity: str
    table: sa.Table
    _joins: dict[tuple[str, ...], _Join] = field(default_factory=dict)

    def path(self, text: str) -> PathDef:
        return self.reader.path(self.entity, text)

    def column(self, text: str) -> sa.ColumnElement[Any]:
        """The column holding `text`: the table's own for a plain name, else the joined one's (a
        NULL of its type when the path names a characteristic the actor may not see)."""
        if not is_path(text):
            return self.table.c[text]
        path = self.path(text)
        column = self._alias(tuple(step.name for step in path.steps)).c[path.field.name]
        return sa.cast(sa.null(), column.type) if self.reader.is_hidden(path) else column

    def labelled(self, text: str) -> sa.ColumnElement[Any]:
        """`column(text)` named by the path's text in a row (a plain name is its own name)."""
        column = self.column(text)
        return column.label(text) if is_path(text) else column

    def _alias(self, prefix: tuple[str, ...]) -> sa.Alias:
        found = self._joins.get(prefix)
        if found is not None:
            return found.alias
        parent = self.table if len(prefix) == 1 else self._alias(prefix[:-1])
        owner = self.path(".".join(prefix)).target
        target = self.reader.model.entity(owner).field(prefix[-1]).entity
        assert target is not None  # a path's steps are links (checked when the path resolved)
        alias = self.reader.tables.of(target).alias(f"path_{len(self._joins) + 1}")
        for column in alias.c:
            column.nullable = True  # the outer join gives NULL whatever the column's constraint
        on = [alias.c.id == parent.c[prefix[-1]], alias.c.deleted_at.is_(None)]
        scope = self.reader.scope(target, alias)
        if scope is not None:
            on.append(scope)
        self._joins[prefix] = _Join(alias, sa.and_(*on))
        return alias

    def reads_joins(self, element: Any) -> bool:
        """Whether `element` reads a column of a joined table (a path's)."""
        return bool(self._prefixes_read([element]))

    def select_from(self, *elements: Any) -> sa.FromClause:
        """The table LEFT OUTER JOINed with the aliases `elements` read (and their parents)."""
        needed = self._prefixes_read(elements)
        joined: sa.FromClause = self.table
        for prefix, join in self._joins.items():  # creation order: parents first
            if prefix in needed:
                joined = joined.outerjoin(join.alias, join.on)
        return joined

    def _prefixes_read(self, elements: Iterable[Any]) -> set[tuple[str, ...]]:
        """The prefixes whose aliases `elements` read, with their parents."""
        aliases = {id(j.alias): prefix for prefix, j in self._joins.items()}
        needed: set[tuple[str, ...]] = set()
        for element in elements:
            for node in visitors.iterate(element):
                prefix = aliases.get(id(getattr(node, "table", None)))
                while prefix and prefix not in needed:
                    needed.add(prefix)
                    prefix = prefix[:-1]
        return needed


def path_values(
    conn: sa.Connection, reader: PathReader, entity: str, paths: Iterable[str], rows: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The values of `paths` for each of `rows` (records as dicts, maybe unsaved: a path starts
    from the row's own link value), as `{path text: value}` per row, in order.

    Set-based: one query per prefix of the paths (per LOOKUP_CHUNK ids), whatever the number
    of rows. A plain name among `paths` is left out (the row holds it)."""
    resolved = [reader.path(entity, text) for text in dict.fromkeys(paths) if is_path(text)]
    if not resolved or not rows:
        return [{} for _ in rows]
    reads: dict[tuple[str, ...], set[str]] = {}
    targets: dict[tuple[str, ...], str] = {}
    for path in resolved:
        names = [step.name for step in path.steps]
        for depth in range(1, len(names) + 1):
            prefix = tuple(names[:depth])
            targets[prefix] = path.entities[depth]
            reads.setdefault(prefix, set()).add(names[depth] if depth < len(names) else path.field.name)
    reached: list[dict[tuple[str, ...], Any]] = [{} for _ in rows]
    records: dict[tuple[str, ...], dict[Any, Mapping[str, Any]]] = {}
    for prefix in sorted(reads, key=len):
        owner = entity if len(prefix) == 1 else targets[prefix[:-1]]
        visible = prefix[-1] not in reader.hidden(owner)
        for index, row in enumerate(rows):
            if len(prefix) == 1:
                link = row.get(prefix[0])
            else:
                parent = records[prefix[:-1]].get(reached[index].get(prefix[:-1]))
                link = parent.get(prefix[-1]) if parent is not None else None
            reached[index][prefix] = link if visible else None
        ids = {reached[i][prefix] for i in range(len(rows))} - {None}
        records[prefix] = _read(conn, reader, targets[prefix], ids, reads[prefix])
    values: list[dict[str, Any]] = []
    for index in range(len(rows)):
        found: dict[str, Any] = {}
        for path in resolved:
            prefix = tuple(step.name for step in path.steps)
            record = records[prefix].get(reached[index][prefix])
            shown = record is not None and path.field.name not in reader.hidden(path.target)
            found[path.text] = record[path.field.name] if shown else None  # type: ignore[index]
        values.append(found)
    return values


def path_source(conn: sa.Connection, reader: PathReader, entity: str, paths: Iterable[str]) -> Callable[
        [Sequence[Mapping[str, Any]]], list[dict[str, Any]]]:
    """`path_values` of `paths` bound to a connection and an actor: what a validator or a
    workflow asks for the records it checks (`validation.PathSource`)."""
    wanted = tuple(paths)
    return lambda rows: path_values(conn, reader, entity, wanted, rows)


def _read(conn: sa.Connection, reader: PathReader, entity: str, ids: set[Any], names: set[str]) -> dict[Any, Mapping[str, Any]]:
    """The live records `ids` of `entity` in the actor's scope: id -> their columns `names`."""
    if not ids:
        return {}
    table = reader.tables.of(entity)
    query = sa.select(table.c.id, *(table.c[name] for name in sorted(names) if name != "id")).where(
        table.c.id.in_(sa.bindparam("ids", expanding=True)), table.c.deleted_at.is_(None))
    scope = reader.scope(entity, table)
    if scope is not None:
        query = query.where(scope)
    wanted = sorted(ids)
    found: dict[Any, Mapping[str, Any]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        for row in conn.execute(query, {"ids": wanted[start:start + LOOKUP_CHUNK]}).mappings():
            found[row["id"]] = row
    return found
