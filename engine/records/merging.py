"""Merging two records of one entity: the one kept takes the chosen values of the other,
every link to the other moves to it, and the other goes to the trash.

All of it runs in the caller's `Transaction`, so a merge commits whole or not at all:
1. checks (permissions, both records live and in scope, the fields taken);
2. `other` goes to the trash first, which frees its unique values for `keep`;
3. `keep` takes the chosen values through `Transaction.update` (validation, audit,
   history and plugin hooks as for any edit);
4. per link characteristic of any entity that targets this one: one INSERT ... SELECT
   of audit rows, history rows when the link is historized, then one UPDATE;
   per `links` characteristic targeting it: the records holding `other` as a member hold `keep`
   instead (no pair twice, no record its own member), with their audit and history rows, in a
   few statements per LOOKUP_CHUNK such records;
5. an audit row `merge` on both records.

Taking a `links` value takes the other's members; taking `lines` copies the other's lines as new
lines of `keep` (the other keeps its own, in the trash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import sqlalchemy as sa

from metamodel.model import FieldDef, Model, Text

from engine.core.errors import ConflictError, EngineError, NotFoundError
from engine.access.permissions import Access
from engine.storage.sqljson import json_changes, json_literal
from engine.storage.trail import write_audit
from .collections import replace_member

if TYPE_CHECKING:
    from engine.core.context import Actor
    from .service import RecordService
    from .transaction import Transaction

MERGE_MESSAGES: dict[str, dict[str, str]] = {
    "same_record": {
        "en": "{entity} {id} cannot be merged with itself.",
        "fr": "{entity} {id} ne peut pas être fusionné avec lui-même.",
    },
    "trashed": {
        "en": "{entity} {id} is in the trash: restore it before merging it.",
        "fr": "{entity} {id} est dans la corbeille : restaurez-le avant de le fusionner.",
    },
    "other_missing": {
        "en": "There is no {entity} {id} to merge into this one.",
        "fr": "Il n'existe pas de {entity} {id} à fusionner dans celui-ci.",
    },
    "unknown_field": {
        "en": "'{field}' is not a characteristic of {entity}.",
        "fr": "« {field} » n'est pas une caractéristique de {entity}.",
    },
    "not_updatable": {
        "en": "You may not change '{field}' of {entity}, so it cannot be taken from the other record.",
        "fr": "Vous ne pouvez pas modifier « {field} » de {entity} : impossible de le reprendre de l'autre enregistrement.",
    },
    "status": {
        "en": "The status cannot be taken from the other record: it changes only through a workflow transition.",
        "fr": "Le statut ne peut pas être repris de l'autre enregistrement : il ne change que par une transition du processus.",
    },
    "unique_link": {
        "en": "'{field}' of {source} is unique and records link to both {entity} {keep} and {other}: "
              "clear one of those links first.",
        "fr": "« {field} » de {source} est unique et des enregistrements sont liés à la fois à {entity} {keep} et {other} : "
              "supprimez d'abord l'un de ces liens.",
    },
}


class MergeError(EngineError):
    """A merge was refused before anything was written.

    `reason` is one of MERGE_MESSAGES' keys; `params` may hold `Text` labels, shown in
    the reader's language.
    """

    def __init__(self, reason: str, params: Mapping[str, Any] | None = None):
        self.reason = reason
        self.params = dict(params or {})
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        texts = MERGE_MESSAGES[self.reason]
        params = {k: v.get(lang) if isinstance(v, Text) else v for k, v in self.params.items()}
        return texts.get(lang or "en", texts["en"]).format(**params)

    def as_dict(self, lang: str | None = "en") -> dict[str, str]:
        return {"reason": self.reason, "message": self.message(lang)}


@dataclass(frozen=True)
class IncomingLink:
    """A link characteristic of some entity (`source`) whose target is the merged entity."""

    source: str
    field: FieldDef

    @property
    def name(self) -> str:
        return f"{self.source}.{self.field.name}"


def incoming_links(model: Model, entity: str) -> list[IncomingLink]:
    """Every link characteristic, of every entity, that targets `entity` (but the `parent_id` of
    its lines: they stay with their owner)."""
    return [
        IncomingLink(source.name, f)
        for source in model.entities.values()
        for f in source.fields
        if f.type == "link" and f.entity == entity and not f.system
    ]


def incoming_members(model: Model, entity: str) -> list[IncomingLink]:
    """Every `links` characteristic, of every entity, whose members are records of `entity`."""
    return [
        IncomingLink(source.name, f)
        for source in model.entities.values()
        for f in source.fields
        if f.type == "links" and f.entity == entity
    ]


def merge_records(
    tx: Transaction, entity: str, keep_id: int, other_id: int, take: Iterable[str], *,
    keep_version: int | None = None, other_version: int | None = None,
) -> dict[str, Any]:
    """Merge `other_id` into `keep_id`; see the module docstring for the steps.

    `take` names the characteristics whose value comes from `other`. Stale versions
    (when given) raise ConflictError. Returns `record` (the kept record as the actor sees
    it), `merged_from`, `taken` and `moved` (`"entity.field"` -> records moved, non-zero only).
    """
    access = tx.access(entity, "update")
    deleting = tx.access(entity, "delete")
    definition = tx.model.entity(entity)
    label = definition.label
    taken = list(dict.fromkeys(take))
    if keep_id == other_id:
        raise MergeError("same_record", {"entity": label, "id": keep_id})
    _check_taken(tx, entity, access, taken)
    # `keep` is updated, so it must be in the scope of updating; `other` goes to the trash and
    # gives its values, so it must be in the scopes of deleting and of reading.
    needs = {keep_id: access, other_id: deleting}
    # Locked in id order, so that two merges of the same pair cannot deadlock. A missing `keep`
    # (the record addressed) is NotFoundError; a missing `other` is a bad reference in the
    # request (MergeError), as a link to a missing record is.
    locked: dict[int, dict[str, Any]] = {}
    for record_id in sorted((keep_id, other_id)):
        try:
            locked[record_id] = tx._row(entity, record_id, include_deleted=True, for_update=True, access=needs[record_id])
        except NotFoundError:
            if record_id != other_id:
                raise
    if other_id not in locked or not tx.in_scope(entity, [other_id], "read", live=False):
        raise MergeError("other_missing", {"entity": label, "id": other_id})
    keep, other = locked[keep_id], locked[other_id]
    for row, version in ((keep, keep_version), (other, other_version)):
        if row["deleted_at"] is not None:
            raise MergeError("trashed", {"entity": label, "id": row["id"]})
        if version is not None and version != row["version"]:
            raise ConflictError(entity, row["id"], version, access.visible(row))
    links = incoming_links(tx.model, entity)
    _refuse_unique_clash(tx, entity, links, keep_id, other_id)

    tx.delete(entity, other_id)
    values = {name: other[name] for name in taken}
    for f in definition.fields:  # keep must not end up linking to itself or to the trashed record
        if f.type == "link" and f.entity == entity and values.get(f.name, keep[f.name]) in (keep_id, other_id):
            values[f.name] = None
        elif f.type == "links" and f.name in values:
            values[f.name] = [i for i in values[f.name] if f.entity != entity or i not in (keep_id, other_id)]
        elif f.type == "lines" and f.name in values:
            values[f.name] = [{k: v for k, v in line.items() if k not in ("id", "position")} for line in values[f.name]]
    if values:
        tx.update(entity, keep_id, values)
    moved: dict[str, int] = {}
    for link in links:
        count = _move_links(tx, link, other_id, keep_id, skip=keep_id if link.source == entity else None)
        if count:
            moved[link.name] = count
    for link in incoming_members(tx.model, entity):
        count = replace_member(tx, link.source, link.field, other_id, keep_id)
        if count:
            moved[link.name] = count
    _write_merge_audit(tx, entity, keep_id, other_id, moved)
    kept = tx._row(entity, keep_id)
    return {"record": access.visible(kept), "merged_from": other_id, "taken": taken, "moved": moved}


def _check_taken(tx: Transaction, entity: str, access: Access, taken: list[str]) -> None:
    definition = tx.model.entity(entity)
    readonly = frozenset() if tx.actor.system else frozenset(f.name for f in definition.fields if f.readonly)
    for name in taken:
        params = {"field": name, "entity": definition.label}
        f = definition.fields_by_name.get(name)
        if f is None or name in access.hidden:
            raise MergeError("unknown_field", params)
        if f.type == "status":
            raise MergeError("status")
        if name in access.protected or name in readonly:
            raise MergeError("not_updatable", {**params, "field": f.label})


def _refuse_unique_clash(tx: Transaction, entity: str, links: list[IncomingLink], keep_id: int, other_id: int) -> None:
    """A unique link already used by a live record for each of both records cannot take both."""
    for link in links:
        if not link.field.unique:
            continue
        table = tx.service.table(link.source)
        column = table.c[link.field.name]
        live = sa.and_(table.c.deleted_at.is_(None), table.c.id.not_in([keep_id, other_id]) if link.source == entity else sa.true())
        found = set(tx.conn.execute(
            sa.select(column).where(live, column.in_([keep_id, other_id])).distinct()
        ).scalars())
        if found == {keep_id, other_id}:
            source = tx.model.entity(link.source)
            raise MergeError("unique_link", {
                "field": link.field.label, "source": source.plural, "entity": tx.model.entity(entity).label,
                "keep": keep_id, "other": other_id,
            })


def _move_links(tx: Transaction, link: IncomingLink, other_id: int, keep_id: int, *, skip: int | None) -> int:
    """Point every record linking to `other_id` through `link` at `keep_id`, set-based; returns how many."""
    conn, dialect = tx.conn, tx.conn.dialect.name
    table = tx.service.table(link.source)
    column = table.c[link.field.name]
    where = column == other_id if skip is None else sa.and_(column == other_id, table.c.id != skip)
    old, new = json_literal(other_id, dialect), json_literal(keep_id, dialect)
    conn.execute(tx.tables.audit.insert().from_select(
        ["entity", "record_id", "action", "version", "changed_at", "actor_id", "changes"],
        sa.select(
            sa.literal(link.source, sa.String), table.c.id, sa.literal("update", sa.String),
            table.c.version + 1, sa.literal(tx.now, sa.DateTime), sa.literal(tx.actor.user_id, sa.Integer),
            json_changes([(link.field.name, old, new, sa.true())], dialect),
        ).where(where),
    ))
    if link.field.historized:
        history = tx.tables.history
        ids = sa.select(table.c.id).where(where).scalar_subquery()
        conn.execute(
            history.update()
            .where(history.c.entity == link.source, history.c.field == link.field.name,
                   history.c.record_id.in_(ids), history.c.valid_to.is_(None))
            .values(valid_to=tx.now)
        )
        conn.execute(history.insert().from_select(
            ["entity", "record_id", "field", "old_value", "new_value", "valid_from", "actor_id"],
            sa.select(
                sa.literal(link.source, sa.String), table.c.id, sa.literal(link.field.name, sa.String),
                json_literal(other_id, dialect), json_literal(keep_id, dialect),
                sa.literal(tx.now, sa.DateTime), sa.literal(tx.actor.user_id, sa.Integer),
            ).where(where),
        ))
    return conn.execute(
        table.update().where(where).values(
            {column: keep_id, table.c.version: table.c.version + 1, table.c.updated_at: tx.now,
             table.c.updated_by: tx.actor.user_id}
        )
    ).rowcount


def _write_merge_audit(tx: Transaction, entity: str, keep_id: int, other_id: int, moved: Mapping[str, int]) -> None:
    """The `merge` entries: on the kept record where it came from, on the trashed one where it went."""
    table = tx.service.table(entity)
    versions = dict(tx.conn.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_([keep_id, other_id]))).all())
    write_audit(tx.conn, tx.tables, entity, "merge", [
        (keep_id, versions[keep_id], {"merged_from": other_id}),
        (other_id, versions[other_id], {"merged_into": keep_id, "moved": dict(moved)}),
    ], tx.now, tx.actor.user_id)


def merge(
    service: RecordService, entity: str, keep_id: int, other_id: int, take: Iterable[str], actor: Actor, *,
    keep_version: int | None = None, other_version: int | None = None,
) -> dict[str, Any]:
    """`merge_records` in a transaction of its own (what the pages, the API and the CLI call)."""
    with service.transaction(actor) as tx:
        return merge_records(tx, entity, keep_id, other_id, take, keep_version=keep_version, other_version=other_version)
