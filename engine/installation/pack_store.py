"""Installed packs: `sys_pack`, one row per install or upgrade, with the pack's texts.

Packs installed with `ossature pack install` live in the database, not on one machine's
disk, so every app server and worker loads the same ones. Rows are never changed: an
upgrade adds a row, and the current version of a pack is its newest row. A pack keeps the
place of its first install in the layering, so an upgrade does not move it above packs
installed after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Mapping

import sqlalchemy as sa

from engine.core.context import Actor

PACK_TABLE = "sys_pack"


@cache
def pack_table() -> sa.Table:
    return sa.Table(
        PACK_TABLE,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("previous_version", sa.String(40)),
        sa.Column("installed_at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("actor_name", sa.String(120), nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Index("ix_sys_pack_name", "name", "id"),
    )


@dataclass(frozen=True)
class InstalledPack:
    name: str
    version: str
    installed_at: dt.datetime
    actor_name: str
    previous_version: str | None = None
    documents: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """`pack.yaml` and `FOLDER/NAME.yaml` -> YAML text, as installed."""


def installed_packs(conn: sa.Connection) -> tuple[list[InstalledPack], int]:
    """The current version of every installed pack, in the order they were first installed,
    and the id of the last install (0: none), read together so that they always agree."""
    table = pack_table()
    first_seen: dict[str, int] = {}
    latest: dict[str, InstalledPack] = {}
    last_id = 0
    for row in conn.execute(sa.select(table).order_by(table.c.id)).mappings():
        first_seen.setdefault(row["name"], row["id"])
        last_id = row["id"]
        latest[row["name"]] = InstalledPack(
            name=row["name"], version=row["version"], installed_at=row["installed_at"],
            actor_name=row["actor_name"], previous_version=row["previous_version"],
            documents=MappingProxyType(dict(row["documents"] or {})),
        )
    return [latest[name] for name in sorted(latest, key=first_seen.__getitem__)], last_id


def record_install(
    conn: sa.Connection, name: str, version: str, documents: Mapping[str, str], actor: Actor, now: dt.datetime,
    previous_version: str | None = None,
) -> InstalledPack:
    values = {
        "name": name, "version": version, "previous_version": previous_version, "installed_at": now,
        "actor_id": actor.user_id, "actor_name": actor.username[:120], "documents": dict(documents),
    }
    conn.execute(pack_table().insert().values(**values))
    return InstalledPack(name, version, now, values["actor_name"], previous_version, MappingProxyType(dict(documents)))
