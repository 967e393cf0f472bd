"""The admin overlay's revisions: `sys_definition_revision`, one row per change, never rewritten.

A revision holds the whole overlay as it stands after its change (document name -> YAML
text), who made it, when and why, so that any revision can be loaded on its own and a
revert is simply a new revision holding the documents of an earlier one (`reverts` says
which revision it undid). Revision ids are 1, 2, 3...: a writer takes the next number
itself, so two writers working from the same revision cannot both succeed.

This module only reads and writes rows; `engine.installation.definitions.Installation` validates a
revision against the packs and migrates the database before recording it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Mapping

import sqlalchemy as sa

from engine.core.context import Actor

REVISION_TABLE = "sys_definition_revision"
SUMMARY_LENGTH = 200


@cache
def revision_table() -> sa.Table:
    return sa.Table(
        REVISION_TABLE,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("actor_name", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(SUMMARY_LENGTH), nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("reverts", sa.Integer),
    )


@dataclass(frozen=True)
class Revision:
    id: int
    created_at: dt.datetime
    actor_id: int | None
    actor_name: str
    summary: str
    reverts: int | None
    documents: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The whole overlay after this change: document name (`entities/lead.yaml`) -> YAML text."""


def _revision(row: Mapping[str, Any]) -> Revision:
    return Revision(
        id=row["id"], created_at=row["created_at"], actor_id=row["actor_id"], actor_name=row["actor_name"],
        summary=row["summary"], reverts=row["reverts"], documents=MappingProxyType(dict(row["documents"] or {})),
    )


def latest_revision(conn: sa.Connection) -> Revision | None:
    table = revision_table()
    row = conn.execute(sa.select(table).order_by(table.c.id.desc()).limit(1)).mappings().first()
    return _revision(row) if row is not None else None


def find_revision(conn: sa.Connection, revision_id: int) -> Revision | None:
    table = revision_table()
    row = conn.execute(sa.select(table).where(table.c.id == revision_id)).mappings().first()
    return _revision(row) if row is not None else None


def revision_before(conn: sa.Connection, revision_id: int) -> Revision | None:
    """The revision that was current when `revision_id` was made (None: the overlay was empty)."""
    table = revision_table()
    row = conn.execute(
        sa.select(table).where(table.c.id < revision_id).order_by(table.c.id.desc()).limit(1)
    ).mappings().first()
    return _revision(row) if row is not None else None


def list_revisions(conn: sa.Connection, limit: int | None = None) -> list[Revision]:
    """The newest first, without their documents (a listing never needs them)."""
    table = revision_table()
    columns = [c for c in table.c if c.name != "documents"]
    query = sa.select(*columns).order_by(table.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [Revision(**row) for row in conn.execute(query).mappings()]


def record_revision(
    conn: sa.Connection, revision_id: int, documents: Mapping[str, str], actor: Actor, summary: str,
    now: dt.datetime, reverts: int | None = None,
) -> Revision:
    """Insert revision `revision_id`; a concurrent writer who took that number makes this fail
    (IntegrityError), which the caller reports as a conflict."""
    values = {
        "id": revision_id, "created_at": now, "actor_id": actor.user_id, "actor_name": actor.username[:120],
        "summary": summary.strip()[:SUMMARY_LENGTH], "documents": dict(documents), "reverts": reverts,
    }
    conn.execute(revision_table().insert().values(**values))
    return _revision(values)
