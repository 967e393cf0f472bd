"""Archived data comes back once it is declared again (`ossature archive restore`).

- `entity.field`: archived values are converted to the type declared now (the same
  lossless conversion as a retype) and written into records whose value is empty, as an
  edit of those records (a new version, an audit row, a history period when the
  characteristic is historized, by the actor who restored); a record that has a value
  again, or no longer exists, keeps its archived value. If one value does not convert,
  nothing is restored.
- `entity.field` of a `links`: the archived members of each record (or the archived value of a
  `link` to the same entity, as one member) go back into its join table for the records that
  have no members now and still exist, as an edit of those records (new version, audit,
  history when historized); members that no longer exist are left out, and a record none of
  whose members exists keeps its archived value.
- `entity`: into its (empty) table, set-based; a characteristic no longer declared, or
  declared with another type, goes to `sys_archive` instead (restore it as a field).

Values that break today's rules come back all the same and are listed for clean-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import sqlalchemy as sa

from metamodel.model import OWNED_SYSTEM_FIELDS, SYSTEM_COLUMNS, FieldDef, Model

from .archive import ArchiveError, archive_values
from engine.records.field_rules import FieldRules
from .cleanup import refresh_breakers
from .convert import ConversionError, convert
from .fit import Extent, column_extent, widen_to_fit
from .messages import text
from .scan import record_table
from .state import ARCHIVE, BATCHES, ENTITY_ROW, SnapshotLists, field_from_snapshot, field_snapshot
from .transaction import schema_transaction
from engine.storage.tables import TABLE_PREFIX, Tables
from engine.storage.trail import Change, from_json, to_json, write_audit, write_history

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

CHUNK = 2000


@dataclass(frozen=True)
class RestoreResult:
    target: str
    restored: int
    kept: int
    """Archived values left in the archive (the record has a value now, or is gone)."""
    words: Mapping[str, str]
    """What was done, by language (`en`, `fr`)."""

    def message(self, lang: str | None = "en") -> str:
        return self.words.get(lang or "en", self.words["en"])


def restore(db: sa.Engine, model: Model, tables: Tables, target: str, *, formats: Mapping[str, Any] | None = None,
            clock: Callable[[], dt.datetime], actor_id: int | None = None) -> RestoreResult:
    """Bring archived data back: `entity.field` or `entity` (see the module's docstring)."""
    entity, _, field = target.partition(".")
    definition = model.entities.get(entity)
    if definition is None or (field and field not in definition.fields_by_name):
        raise ArchiveError("restore_not_declared", target=target)
    with schema_transaction(db) as conn:
        if not sa.inspect(conn).has_table(ARCHIVE.name):
            raise ArchiveError("restore_nothing", target=target)
        if field and definition.field(field).type == "lines":
            raise ArchiveError("restore_nothing", target=target)  # lines are archived with their owned entity
        if field and definition.field(field).type == "links":
            return _restore_members(conn, tables, entity, definition.field(field), clock(), actor_id)
        if field:
            return _restore_field(conn, model, tables, entity, definition.field(field), formats or {}, clock(), actor_id)
        return _restore_entity(conn, model, tables, entity, formats or {}, clock())


def _restore_field(conn: sa.Connection, model: Model, tables: Tables, entity: str, new: FieldDef,
                   formats: Mapping[str, Any], now: dt.datetime, actor_id: int | None) -> RestoreResult:
    target = f"{entity}.{new.name}"
    table = tables.of(entity).name
    inspector = sa.inspect(conn)
    if not inspector.has_table(table) or new.name not in {c["name"] for c in inspector.get_columns(table)}:
        raise ArchiveError("restore_pending", target=target)
    batches, pending = _pending(conn, entity, new.name, target)
    new_rules = FieldRules(new, model, formats)
    old_rules = {
        batch: FieldRules(field_from_snapshot(new.name, data), SnapshotLists(data), formats)  # type: ignore[arg-type]
        for batch, data in batches.items()
    }
    failures = 0
    extent = Extent()
    for rows in _archived_chunks(conn, pending):
        for _row_id, _record_id, batch, value in rows:
            try:
                extent.add(_typed(old_rules[batch], value, new_rules))
            except ConversionError:
                failures += 1
    if failures:
        raise ArchiveError("restore_incompatible", target=target, count=failures, type=new.type)
    widen_to_fit(conn, table, new.name, new, extent)
    t = record_table(table, new.name, new, version=sa.Integer(), updated_at=sa.DateTime(), updated_by=sa.Integer())
    write = sa.update(t).where(t.c.id == sa.bindparam("b_id")).values({
        new.name: sa.bindparam("b_value"), "version": t.c.version + 1, "updated_at": now, "updated_by": actor_id,
    })
    link_target = tables.of(new.entity) if new.type == "link" else None
    restored = has_value = missing = 0
    for rows in _archived_chunks(conn, pending):
        latest: dict[int, tuple[int, Any]] = {}
        for _row_id, record_id, batch, value in rows:
            latest[record_id] = (batch, value)  # rows come by record, then archive order: the last one wins
        ids = list(latest)
        current = {row.id: row for row in conn.execute(sa.select(t.c.id, t.c[new.name], t.c.version).where(t.c.id.in_(ids)))}
        if link_target is not None:
            wanted = {_typed(old_rules[b], v, new_rules) for b, v in latest.values()}
            alive = set(conn.scalars(sa.select(link_target.c.id).where(link_target.c.id.in_(wanted))))
        writes = []
        for record_id, (batch, value) in latest.items():
            if record_id not in current:
                missing += 1
            elif current[record_id]._mapping[new.name] is not None:
                has_value += 1
            else:
                converted = _typed(old_rules[batch], value, new_rules)
                if link_target is not None and converted not in alive:
                    missing += 1
                    continue
                writes.append({"b_id": record_id, "b_value": converted})
        if writes:
            conn.execute(write, writes)
            write_audit(conn, tables, entity, "update", [
                (w["b_id"], current[w["b_id"]].version + 1, {new.name: [None, to_json(w["b_value"])]}) for w in writes
            ], now, actor_id)
            if new.historized:
                write_history(conn, tables, entity, [Change(w["b_id"], new.name, None, w["b_value"]) for w in writes],
                              now, actor_id)
            done = [w["b_id"] for w in writes]
            conn.execute(ARCHIVE.update().where(*pending, ARCHIVE.c.record_id.in_(done)).values(restored_at=now))
            restored += len(writes)
    refresh_breakers(conn, entity, table, new_rules, now)
    return _restore_result(target, restored, has_value, missing)


def _pending(conn: sa.Connection, entity: str, field: str,
             target: str) -> tuple[dict[int, Mapping[str, Any]], tuple[sa.ColumnElement[bool], ...]]:
    """The archive batches of a characteristic (id -> the definition its values had) and the condition
    of its archive rows not restored yet; ArchiveError when there are none."""
    batches = {
        row.id: row.definition for row in conn.execute(
            sa.select(BATCHES.c.id, BATCHES.c.definition).where(BATCHES.c.entity == entity, BATCHES.c.field == field)
        )
    }
    pending = (ARCHIVE.c.entity == entity, ARCHIVE.c.field == field, ARCHIVE.c.restored_at.is_(None))
    if not conn.execute(sa.select(sa.func.count()).select_from(ARCHIVE).where(*pending)).scalar_one():
        raise ArchiveError("restore_nothing", target=target)
    return batches, pending


def _restore_members(conn: sa.Connection, tables: Tables, entity: str, new: FieldDef, now: dt.datetime,
                     actor_id: int | None) -> RestoreResult:
    target = f"{entity}.{new.name}"
    join = tables.join_table(entity, new.name)
    if not sa.inspect(conn).has_table(join.name):
        raise ArchiveError("restore_pending", target=target)
    batches, pending = _pending(conn, entity, new.name, target)
    other = [batch for batch, data in batches.items()
             if data.get("type") not in ("link", "links") or data.get("entity") != new.entity]
    if other:
        count = conn.execute(sa.select(sa.func.count()).select_from(ARCHIVE)
                             .where(*pending, ARCHIVE.c.batch_id.in_(other))).scalar_one()
        if count:
            raise ArchiveError("restore_incompatible", target=target, count=count, type=f"links to {new.entity}")
    table = tables.of(entity)
    targets = tables.of(new.entity)
    restored = has_value = missing = 0
    for rows in _archived_chunks(conn, pending):
        latest: dict[int, list[int]] = {}
        for _row_id, record_id, _batch, value in rows:
            latest[record_id] = sorted(set(value if isinstance(value, list) else [value]))
        ids = list(latest)
        versions = dict(conn.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_(ids))).all())
        with_members = set(conn.scalars(sa.select(join.c.source_id).where(join.c.source_id.in_(ids)).distinct()))
        wanted = sorted({t for members in latest.values() for t in members})
        alive = set(conn.scalars(sa.select(targets.c.id).where(targets.c.id.in_(wanted)))) if wanted else set()
        writes: dict[int, list[int]] = {}
        for record_id, members in latest.items():
            kept = [t for t in members if t in alive]
            if record_id not in versions or not kept:
                missing += 1
            elif record_id in with_members:
                has_value += 1
            else:
                writes[record_id] = kept
        if not writes:
            continue
        conn.execute(join.insert(), [{"source_id": r, "target_id": t} for r, members in writes.items() for t in members])
        conn.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(
            version=table.c.version + 1, updated_at=now, updated_by=actor_id,
        ), [{"b_id": r} for r in writes])
        write_audit(conn, tables, entity, "update", [
            (r, versions[r] + 1, {new.name: [[], members]}) for r, members in writes.items()
        ], now, actor_id)
        if new.historized:
            write_history(conn, tables, entity, [Change(r, new.name, [], members) for r, members in writes.items()],
                          now, actor_id)
        conn.execute(ARCHIVE.update().where(*pending, ARCHIVE.c.record_id.in_(list(writes))).values(restored_at=now))
        restored += len(writes)
    return _restore_result(target, restored, has_value, missing)


def _restore_result(target: str, restored: int, has_value: int, missing: int) -> RestoreResult:
    kept = has_value + missing
    reasons = {
        lang: ", ".join(
            [text("kept_has_value", lang, count=has_value)] * bool(has_value)
            + [text("kept_missing", lang, count=missing)] * bool(missing)
        ) or "-"
        for lang in ("en", "fr")
    }
    words = {lang: text("restored_field", lang, target=target, restored=restored, kept=kept, reasons=reasons[lang])
             for lang in ("en", "fr")}
    return RestoreResult(target, restored, kept, words)


def _archived_chunks(conn: sa.Connection, pending: tuple[Any, ...]) -> Iterator[list[tuple[int, int, int, Any]]]:
    """Unrestored archive rows (id, record_id, batch_id, value), by record then archive order, in chunks
    that never split a record's rows."""
    last = 0
    while True:
        ids = conn.scalars(
            sa.select(ARCHIVE.c.record_id).where(*pending, ARCHIVE.c.record_id > last)
            .group_by(ARCHIVE.c.record_id).order_by(ARCHIVE.c.record_id).limit(CHUNK)
        ).all()
        if not ids:
            return
        rows = conn.execute(
            sa.select(ARCHIVE.c.id, ARCHIVE.c.record_id, ARCHIVE.c.batch_id, ARCHIVE.c.value)
            .where(*pending, ARCHIVE.c.record_id.in_(ids)).order_by(ARCHIVE.c.record_id, ARCHIVE.c.id)
        ).all()
        yield [tuple(row) for row in rows]
        last = ids[-1]


def _typed(old_rules: FieldRules, value: Any, new_rules: FieldRules) -> Any:
    """An archived JSON value typed by its old definition, then converted to the new one."""
    return convert(from_json(old_rules.field, value), old_rules, new_rules)


def _restore_entity(conn: sa.Connection, model: Model, tables: Tables, entity: str, formats: Mapping[str, Any],
                    now: dt.datetime) -> RestoreResult:
    table = tables.of(entity)
    batch = conn.execute(
        sa.select(BATCHES.c.id, BATCHES.c.definition, BATCHES.c.table_name)
        .where(BATCHES.c.entity == entity, BATCHES.c.field == ENTITY_ROW, BATCHES.c.restored_at.is_(None))
        .order_by(BATCHES.c.id.desc()).limit(1)
    ).first()
    if batch is None:
        raise ArchiveError("restore_nothing", target=entity)
    inspector = sa.inspect(conn)
    if not inspector.has_table(table.name):
        raise ArchiveError("restore_pending", target=entity)
    present = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if present:
        raise ArchiveError("restore_not_empty", target=entity, table=table.name, count=present)
    archive_name = batch.table_name
    columns = [c["name"] for c in inspector.get_columns(archive_name)]
    live_columns = {c["name"] for c in inspector.get_columns(table.name)}
    declared = model.entity(entity).fields_by_name
    copied = [c for c in columns if c in SYSTEM_COLUMNS]
    set_aside: list[str] = []
    for name in columns:
        if name in SYSTEM_COLUMNS:
            continue
        old = batch.definition.get(name)
        new = declared.get(name)
        if (old is not None and new is not None and name in live_columns
                and _storage(old) == _storage(field_snapshot(new, model))
                and _links_resolve(conn, archive_name, name, new, tables, entity)):
            copied.append(name)
        else:
            set_aside.append(name)
    owned = [name for name in set_aside if name in OWNED_SYSTEM_FIELDS and model.entity(entity).owned_by]
    if owned:
        # lines cannot come back without the record owning them (parent_id and position are NOT NULL)
        raise ArchiveError("restore_owner_missing", target=entity, owner=model.entity(entity).owned_by)
    for name in set_aside:
        old_def = field_from_snapshot(name, batch.definition.get(name) or {"type": "text"})
        archive_values(conn, entity, archive_name, old_def, batch.definition.get(name) or {"type": "text"}, now)
    restored_fields = [declared[name] for name in copied if name not in SYSTEM_COLUMNS]
    for f in restored_fields:
        widen_to_fit(conn, table.name, f.name, f, column_extent(conn, archive_name, f.name, f))
    source = sa.table(archive_name, *(sa.column(n) for n in copied))
    conn.execute(table.insert().from_select(copied, sa.select(*source.c)))
    count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
        ))
    sa.Table(archive_name, sa.MetaData()).drop(conn)
    for f in restored_fields:
        refresh_breakers(conn, entity, table.name, FieldRules(f, model, formats), now)
    conn.execute(BATCHES.update().where(BATCHES.c.id == batch.id).values(restored_at=now))
    extra = {
        lang: text("restored_entity_extra", lang, fields=", ".join(sorted(set_aside)), entity=entity)
        if set_aside else ""
        for lang in ("en", "fr")
    }
    words = {lang: text("restored_entity", lang, target=entity, restored=count, table=table.name, extra=extra[lang])
             for lang in ("en", "fr")}
    return RestoreResult(entity, count, 0, words)


def _storage(data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a definition that decides how values are stored (and so whether they copy as they are)."""
    return {key: data.get(key) for key in ("type", "list", "entity", "scale", "precision")}


def _links_resolve(conn: sa.Connection, archive: str, column: str, field: FieldDef, tables: Tables,
                   entity: str) -> bool:
    """Every link of an archived column points at a record that exists (in its table, or among the
    archived records themselves for a link to the same entity)."""
    if field.type != "link":
        return True
    source = sa.table(archive, sa.column("id"), sa.column(column))
    target_table = archive if field.entity == entity else TABLE_PREFIX + field.entity
    target = sa.table(target_table, sa.column("id")).alias("target")
    dangling = conn.execute(
        sa.select(sa.func.count()).select_from(source).where(
            source.c[column].is_not(None),
            ~sa.exists().where(target.c.id == source.c[column]),
        )
    ).scalar_one()
    return dangling == 0


def restore_archived(engine: "Engine", target: str, actor_id: int | None = None) -> RestoreResult:
    """`restore` on the engine's database and definitions (`entity.field` or `entity`), by the
    user `actor_id` (None: the system, e.g. the command line)."""
    return restore(engine.db, engine.model, engine.tables, target, formats=engine.hooks.formats,
                   clock=engine.records.clock, actor_id=actor_id)
