"""The count rules of `links` and `lines` (mandatory, min, max), judged in SQL.

A `links` counts the rows of its join table, a `lines` the rows of its owned entity's table,
per record: one grouped subquery, joined to the entity's table. The planner counts the live
records breaking a rule made stricter, the migration lists them for clean-up (one INSERT ...
SELECT), and the clean-up list checks them again (engine/schema/cleanup.py).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import sqlalchemy as sa

from metamodel.model import PARENT_FIELD, FieldDef

from engine.storage.tables import SOURCE_COLUMN, Tables

COUNT_RULES = ("mandatory", "min", "max")


def counts(tables: Tables, entity: str, f: FieldDef, join: str | None = None) -> sa.Subquery:
    """(owner, n): how many members or lines each record of `entity` that has any holds (the members
    in join table `join` when given: a renamed links' former one)."""
    if f.type == "links":
        owner = (sa.table(join, sa.column(SOURCE_COLUMN, sa.Integer)) if join
                 else tables.join_table(entity, f.name)).c[SOURCE_COLUMN]
    else:
        owner = tables.of(f.entity).c[PARENT_FIELD]  # type: ignore[arg-type]
    return sa.select(owner.label("owner"), sa.func.count().label("n")).group_by(owner).subquery()


def breaks(rule: str, f: FieldDef, n: int) -> bool:
    """Whether a record holding `n` members or lines breaks count rule `rule` of `f` as declared."""
    if rule == "mandatory":
        return f.mandatory and n == 0
    if rule == "min":
        return f.min is not None and n < f.min
    return rule == "max" and f.max is not None and n > f.max


def breaking(tables: Tables, entity: str, f: FieldDef, rule: str, join: str | None = None) -> sa.Select:
    """The ids of the live records of `entity` breaking count rule `rule` of `f`."""
    table = tables.of(entity)
    found = counts(tables, entity, f, join)
    n = sa.func.coalesce(found.c.n, 0)
    if rule == "mandatory":
        condition = n == 0
    elif rule == "min":
        condition = n < f.min
    else:
        condition = n > f.max
    return (sa.select(table.c.id).select_from(table.outerjoin(found, found.c.owner == table.c.id))
            .where(table.c.deleted_at.is_(None), condition))


def count_breakers(conn: sa.Connection, tables: Tables, entity: str, f: FieldDef, rule: str,
                   limit: int, join: str | None = None) -> tuple[int, list[int]]:
    """How many live records break count rule `rule` of `f`, and the first ids."""
    ids = breaking(tables, entity, f, rule, join).subquery()
    count = conn.execute(sa.select(sa.func.count()).select_from(ids)).scalar_one()
    first = conn.scalars(sa.select(ids.c.id).order_by(ids.c.id).limit(limit)).all() if count else []
    return count, list(first)


def counts_of(conn: sa.Connection, tables: Tables, entity: str, f: FieldDef, ids: Sequence[int]) -> Mapping[int, int]:
    """Record id -> how many members or lines it holds, for the records `ids` that hold any."""
    found = counts(tables, entity, f)
    return dict(conn.execute(sa.select(found.c.owner, found.c.n).where(found.c.owner.in_(list(ids)))).all())
