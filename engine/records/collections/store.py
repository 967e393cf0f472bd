"""Reading and writing collection values, set-based: `links` members are rows of the
characteristic's join table (`source_id`, `target_id`), `lines` rows of the owned entity's table
(`parent_id`, `position`).

Every function takes many records at once: reading the collections of N records is one query per
characteristic per LOOKUP_CHUNK ids; writing them is, per characteristic and chunk of records, one
DELETE of the members removed and one INSERT of those added, one DELETE of the lines removed, one
executemany UPDATE per set of changed line columns and one INSERT of the new lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import PARENT_FIELD, POSITION_FIELD, FieldDef

from engine.storage.trail import Change, to_json, write_audit, write_history
from ..row_inserts import insert_rows

if TYPE_CHECKING:
    from ..transaction import Transaction
    from .values import EntityCollections

LOOKUP_CHUNK = 500
WRITE_CHUNK = 1000
LINE_ID, LINE_VERSION = "_line_id", "_line_version"
LINE_SYSTEM = ("created_at", "created_by", "updated_at", "updated_by", "version", "deleted_at")
"""System columns of an owned entity's table a line as read leaves out (with `parent_id`)."""


def line_columns(table: sa.Table) -> list[sa.Column]:
    """The columns of a line as read: `id`, `position` and the owned entity's characteristics."""
    return [c for c in table.c if c.name not in LINE_SYSTEM and c.name != PARENT_FIELD]


def read_collections(
    tx: Transaction, collections: EntityCollections, ids: Sequence[int], names: Iterable[str] | None = None
) -> dict[int, dict[str, list[Any]]]:
    """Record id -> collection name -> value (sorted member ids, lines in position order), for
    the collections `names` (default: all) of the records `ids`."""
    fields = [f for f in collections.fields if names is None or f.name in names]
    found: dict[int, dict[str, list[Any]]] = {i: {f.name: [] for f in fields} for i in ids}
    if not fields or not ids:
        return found
    wanted = sorted(set(ids))
    for f in fields:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            if f.type == "links":
                join = tx.tables.join_table(collections.entity.name, f.name)
                rows = tx.conn.execute(
                    sa.select(join.c.source_id, join.c.target_id)
                    .where(join.c.source_id.in_(chunk)).order_by(join.c.source_id, join.c.target_id)
                )
                for source_id, target_id in rows:
                    found[source_id][f.name].append(target_id)
            else:
                table = tx.service.table(f.entity)
                rows = tx.conn.execute(
                    sa.select(table.c[PARENT_FIELD], *line_columns(table))
                    .where(table.c[PARENT_FIELD].in_(chunk))
                    .order_by(table.c[PARENT_FIELD], table.c[POSITION_FIELD], table.c.id)
                )
                lines = []
                for row in rows.mappings():
                    line = dict(row)
                    found[line.pop(PARENT_FIELD)][f.name].append(line)
                    lines.append(line)
                members = collections.line_links[f.name]
                if members.fields and lines:  # the lines' own links: one query per characteristic
                    held = read_collections(tx, members, [line["id"] for line in lines])
                    for line in lines:
                        line.update(held[line["id"]])
    return found


def insert_collections(tx: Transaction, collections: EntityCollections, records: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Write the collections of records just inserted (`(id, record)` pairs): their members and lines."""
    for f in collections.fields:
        given = [(record_id, record[f.name]) for record_id, record in records if record.get(f.name)]
        if not given:
            continue
        if f.type == "links":
            _insert_members(tx, collections.entity.name, f, [(s, t) for s, members in given for t in members])
        else:
            _insert_lines(tx, collections, f, [(s, line) for s, lines in given for line in lines])


def write_collection_changes(
    tx: Transaction, collections: EntityCollections, items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> dict[int, dict[str, list[Any]]]:
    """Write the collection changes of `(current, changes)` pairs (current values read with their
    collections, changes as `values.complete` made them). Returns, per record id, the audit
    pair of each `lines` changed: its summary (see `lines_summary`)."""
    summaries: dict[int, dict[str, list[Any]]] = {}
    for f in collections.fields:
        changed = [(current, changes[f.name]) for current, changes in items if f.name in changes]
        if not changed:
            continue
        if f.type == "links":
            removed = [(c["id"], t) for c, new in changed for t in sorted(set(c.get(f.name) or ()) - set(new))]
            added = [(c["id"], t) for c, new in changed for t in sorted(set(new) - set(c.get(f.name) or ()))]
            _delete_members(tx, collections.entity.name, f, removed)
            _insert_members(tx, collections.entity.name, f, added)
            continue
        table = tx.service.table(f.entity)
        removed_ids: list[int] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        new_lines: list[tuple[int, dict[str, Any]]] = []
        plans = []
        for current, lines in changed:
            plan = _plan_lines(current.get(f.name) or [], lines)
            removed_ids.extend(plan.removed)
            updates.extend(plan.updated)
            new_lines.extend((current["id"], line) for line in plan.added)
            plans.append((current["id"], plan))
        members = collections.line_links[f.name]
        for start in range(0, len(removed_ids), LOOKUP_CHUNK):
            chunk = removed_ids[start : start + LOOKUP_CHUNK]
            for link in members.links:
                join = tx.tables.join_table(f.entity, link.name)
                tx.conn.execute(join.delete().where(join.c.source_id.in_(chunk)))
            tx.conn.execute(table.delete().where(table.c.id.in_(chunk)))
        if members.links:
            old_lines = {line["id"]: line for current, _ in changed for line in current.get(f.name) or ()}
            for link in members.links:
                kept = [(i, c[link.name]) for i, c in updates if link.name in c]
                _delete_members(tx, f.entity, link, [(i, t) for i, new in kept
                                                     for t in sorted(set(old_lines[i].get(link.name) or ()) - set(new))])
                _insert_members(tx, f.entity, link, [(i, t) for i, new in kept
                                                     for t in sorted(set(new) - set(old_lines[i].get(link.name) or ()))])
            updates = [(i, {k: v for k, v in c.items() if k not in members.names}) for i, c in updates]
            updates = [(i, c) for i, c in updates if c]
        owned = tx.model.entity(f.entity)
        _update_lines(tx, table, updates, frozenset(g.name for g in owned.column_fields if g.unique))
        new_ids = _insert_lines(tx, collections, f, new_lines, with_ids=True)
        ids = iter(new_ids)
        for record_id, plan in plans:
            added = [{"id": next(ids), **_shown(line)} for line in plan.added]
            summaries.setdefault(record_id, {})[f.name] = lines_summary(plan, added)
    return summaries


def delete_collections(tx: Transaction, collections: EntityCollections, record_id: int) -> None:
    """Remove a purged record's members and lines."""
    for f in collections.fields:
        if f.type == "links":
            join = tx.tables.join_table(collections.entity.name, f.name)
            tx.conn.execute(join.delete().where(join.c.source_id == record_id))
        else:
            table = tx.service.table(f.entity)
            lines = sa.select(table.c.id).where(table.c[PARENT_FIELD] == record_id).scalar_subquery()
            for link in collections.line_links[f.name].links:
                join = tx.tables.join_table(f.entity, link.name)
                tx.conn.execute(join.delete().where(join.c.source_id.in_(lines)))
            tx.conn.execute(table.delete().where(table.c[PARENT_FIELD] == record_id))


def replace_member(tx: Transaction, entity: str, f: FieldDef, old_id: int, new_id: int | None) -> int:
    """Make the records of `entity` holding `old_id` as a member of `links` characteristic `f` hold
    `new_id` instead (a merge), or no longer hold it (None: a purge), set-based: per LOOKUP_CHUNK of
    them, one read of their members and versions, one DELETE, one INSERT of the pairs they did not
    have (a record never becomes its own member), one UPDATE of their versions, their audit (and
    history) rows. Returns how many records changed."""
    conn = tx.conn
    join = tx.tables.join_table(entity, f.name)
    table = tx.service.table(entity)
    sources = sorted(conn.execute(sa.select(join.c.source_id).where(join.c.target_id == old_id)).scalars())
    collections = tx.service.collections(entity)
    for start in range(0, len(sources), LOOKUP_CHUNK):
        chunk = sources[start : start + LOOKUP_CHUNK]
        # locked first (FOR UPDATE on PostgreSQL), so that their members stay as read until written
        versions = dict(conn.execute(
            sa.select(table.c.id, table.c.version).where(table.c.id.in_(chunk)).with_for_update()
        ).all())
        old = {i: values[f.name] for i, values in read_collections(tx, collections, chunk, [f.name]).items()}
        taking = {i for i in chunk if new_id is not None and not (i == new_id and f.entity == entity)}
        new = {i: sorted((set(old[i]) - {old_id}) | ({new_id} if i in taking else set())) for i in chunk}
        conn.execute(join.delete().where(join.c.target_id == old_id, join.c.source_id.in_(chunk)))
        added = [{"source_id": i, "target_id": new_id} for i in sorted(taking) if new_id not in old[i]]
        if added:
            conn.execute(join.insert(), added)
        conn.execute(
            table.update().where(table.c.id.in_(chunk)).values(
                {table.c.version: table.c.version + 1, table.c.updated_at: tx.now, table.c.updated_by: tx.actor.user_id}
            )
        )
        if tx.model.entity(entity).owned_by is not None:
            _audit_owners(tx, entity, f, {i: (old[i], new[i]) for i in chunk})
            continue
        write_audit(conn, tx.tables, entity, "update",
                    [(i, versions[i] + 1, {f.name: [old[i], new[i]]}) for i in chunk], tx.now, tx.actor.user_id)
        if f.historized:
            write_history(conn, tx.tables, entity, [Change(i, f.name, old[i], new[i]) for i in chunk],
                          tx.now, tx.actor.user_id)
    return len(sources)


def _audit_owners(tx: Transaction, entity: str, f: FieldDef, changes: Mapping[int, tuple[list[int], list[int]]]) -> None:
    """Members of lines changed by a merge or a purge change their owners: the owners' versions
    move and their audit entries say which lines' members changed, as a `lines` change does."""
    conn = tx.conn
    lines = tx.service.table(entity)
    owner_entity = tx.model.entity(entity).owned_by
    lines_field = tx.model.owner_field(entity)
    assert owner_entity is not None and lines_field is not None
    owners = tx.service.table(owner_entity)
    parents = dict(conn.execute(sa.select(lines.c.id, lines.c[PARENT_FIELD]).where(lines.c.id.in_(list(changes)))).all())
    by_owner: dict[int, list[int]] = {}
    for line_id, parent in parents.items():
        by_owner.setdefault(parent, []).append(line_id)
    ids = sorted(by_owner)
    versions = dict(conn.execute(
        sa.select(owners.c.id, owners.c.version).where(owners.c.id.in_(ids)).with_for_update()
    ).all())
    conn.execute(owners.update().where(owners.c.id.in_(ids)).values(
        {owners.c.version: owners.c.version + 1, owners.c.updated_at: tx.now, owners.c.updated_by: tx.actor.user_id}
    ))
    write_audit(conn, tx.tables, owner_entity, "update", [
        (owner, versions[owner] + 1, {lines_field.name: [
            {"removed": [], "changed": [{"id": i, f.name: changes[i][0]} for i in sorted(by_owner[owner])]},
            {"added": [], "changed": [{"id": i, f.name: changes[i][1]} for i in sorted(by_owner[owner])]},
        ]}) for owner in ids
    ], tx.now, tx.actor.user_id)


class LinesPlan:
    """What changing one record's lines does: ids removed, (id, changed values) of kept lines,
    new lines (values with their position), and the kept lines' old values of what changed."""

    def __init__(self) -> None:
        self.removed: list[int] = []
        self.updated: list[tuple[int, dict[str, Any]]] = []
        self.before: list[dict[str, Any]] = []
        self.added: list[dict[str, Any]] = []


def _plan_lines(current: Sequence[Mapping[str, Any]], lines: Sequence[Mapping[str, Any]]) -> LinesPlan:
    plan = LinesPlan()
    old = {line["id"]: line for line in current}
    kept = {line["id"] for line in lines if line.get("id") is not None}
    plan.removed = [line_id for line_id in old if line_id not in kept]
    for line in lines:
        line_id = line.get("id")
        if line_id is None:
            plan.added.append(dict(line))
            continue
        was = old[line_id]
        changes = {k: v for k, v in line.items() if k != "id" and was.get(k) != v}
        if changes:
            plan.updated.append((line_id, changes))
            plan.before.append({"id": line_id, **{k: was.get(k) for k in changes}})
    return plan


def lines_summary(plan: LinesPlan, added: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The audit pair of a `lines` change, [before, after], readable on its own:
    before `{"removed": [ids], "changed": [{"id", <old values of what changed>}]}`,
    after `{"added": [{"id", "position", <values>}], "changed": [{"id", <new values>}]}`."""
    return [
        {"removed": list(plan.removed), "changed": [_json(line) for line in plan.before]},
        {"added": [_json(line) for line in added], "changed": [_json({"id": i, **c}) for i, c in plan.updated]},
    ]


def _json(line: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_json(v) for k, v in line.items()}


def _shown(line: Mapping[str, Any]) -> dict[str, Any]:
    """A new line's values as the audit shows them: position first, empty values left out."""
    return {POSITION_FIELD: line[POSITION_FIELD], **{k: v for k, v in line.items() if k != POSITION_FIELD and v is not None}}


def _insert_members(tx: Transaction, entity: str, f: FieldDef, pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    join = tx.tables.join_table(entity, f.name)
    for start in range(0, len(pairs), WRITE_CHUNK):
        tx.conn.execute(join.insert(), [{"source_id": s, "target_id": t} for s, t in pairs[start : start + WRITE_CHUNK]])


def _delete_members(tx: Transaction, entity: str, f: FieldDef, pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    join = tx.tables.join_table(entity, f.name)
    statement = join.delete().where(
        join.c.source_id == sa.bindparam("_source"), join.c.target_id == sa.bindparam("_target")
    )
    for start in range(0, len(pairs), WRITE_CHUNK):
        tx.conn.execute(statement, [{"_source": s, "_target": t} for s, t in pairs[start : start + WRITE_CHUNK]])


def _line_system(tx: Transaction, table: sa.Table) -> dict[str, Any]:
    system = {
        "created_at": tx.now, "created_by": tx.actor.user_id, "updated_at": tx.now,
        "updated_by": tx.actor.user_id, "version": 1,
    }
    return {k: v for k, v in system.items() if k in table.c}


def _insert_lines(
    tx: Transaction, collections: EntityCollections, f: FieldDef, lines: list[tuple[int, Mapping[str, Any]]], *,
    with_ids: bool = False,
) -> list[int]:
    """Insert new lines `(owner id, values)`, WRITE_CHUNK per executemany, then their members (the
    owned entity's `links`); their ids in order when asked."""
    if not lines:
        return []
    table = tx.service.table(f.entity)
    members = collections.line_links[f.name]
    system = _line_system(tx, table)
    keys: set[str] = set()
    for _, line in lines:
        keys.update(k for k in line if k != "id" and k not in members.names)
    empty = dict.fromkeys(keys)
    ids: list[int] = []
    for start in range(0, len(lines), WRITE_CHUNK):
        part = lines[start : start + WRITE_CHUNK]
        rows = [{**empty, **{k: v for k, v in line.items() if k in empty}, PARENT_FIELD: owner, **system}
                for owner, line in part]
        if with_ids or members.fields:
            written = insert_rows(tx.conn, table, rows)
            ids.extend(written)
            insert_collections(tx, members, [(i, line) for i, (_, line) in zip(written, part)])
        else:
            tx.conn.execute(table.insert(), rows)
    return ids


def _update_lines(
    tx: Transaction, table: sa.Table, updates: list[tuple[int, dict[str, Any]]], unique: frozenset[str]
) -> None:
    """One executemany UPDATE per set of changed line columns. Unique values that change are first
    emptied (one more UPDATE per set of them), so that two lines may swap theirs."""
    if not updates:
        return
    freed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for line_id, changes in updates:
        names = tuple(sorted(unique.intersection(changes)))
        if names:
            freed.setdefault(names, []).append({LINE_ID: line_id})
    for names, params in freed.items():
        clear = table.update().where(table.c.id == sa.bindparam(LINE_ID)).values(dict.fromkeys(names))
        for start in range(0, len(params), WRITE_CHUNK):
            tx.conn.execute(clear, params[start : start + WRITE_CHUNK])
    values: dict[str, Any] = {}
    if "version" in table.c:
        values = {"version": table.c.version + 1, "updated_at": tx.now, "updated_by": tx.actor.user_id}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for line_id, changes in updates:
        groups.setdefault(tuple(sorted(changes)), []).append({**changes, LINE_ID: line_id})
    statement = table.update().where(table.c.id == sa.bindparam(LINE_ID)).values(values)
    for params in groups.values():
        for start in range(0, len(params), WRITE_CHUNK):
            tx.conn.execute(statement, params[start : start + WRITE_CHUNK])
