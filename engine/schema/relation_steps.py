"""The planner's steps for relations: the join tables of `links` characteristics and the owned
entities of `lines` (engine/storage/tables.py says how they are stored).

- a new `links` characteristic gets its join table; one no longer declared has its members
  archived (one `sys_archive` row per record: the list of member ids), then its table dropped;
  one renamed (`renamed_from`) takes its former join table's rows into its own;
- a `link` that becomes a `links` to the same entity turns each value into a member (set-based),
  then its column goes;
- any other change of type to or from `links` or `lines`, another target, and an existing
  entity that becomes owned while it has records, are refused: nothing could say which record
  owns a line, or which one of several members a link should keep. An empty entity may become
  owned: it gets its `parent_id` and `position` columns;
- the count rules of a `links` or `lines` characteristic (min, max, mandatory) made stricter apply
  to new edits; the records breaking them are counted and listed for clean-up
  (engine/schema/collection_rules.py).

Part of the migration planner (engine/schema/plan.py); applied by engine/schema/migrate.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping

import sqlalchemy as sa

from metamodel.field_paths import COLLECTION_TYPES
from metamodel.model import PARENT_FIELD, RELATION_TYPES, FieldDef, Model

from engine.storage.tables import JOIN_TABLE_PREFIX, SOURCE_COLUMN, Tables, join_table_name
from .collection_rules import count_breakers
from .scan import count_records, count_values, sql_breakers
from .state import field_snapshot
from .steps import CreateTable, Offender, Step

# -- what applying a step does ----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkToLinks:
    """A `link` column becomes a `links` characteristic: each value is a member, then the column goes."""

    entity: str
    table: str
    column: str
    join: sa.Table


@dataclass(frozen=True)
class RenameJoinTable:
    """A renamed `links` characteristic: its rows move from its former join table to its own."""

    entity: str
    old_field: str
    new_field: str
    old_table: str
    join: sa.Table


@dataclass(frozen=True)
class ArchiveJoinTable:
    """A `links` characteristic no longer declared: its members go to the archive, its table goes."""

    entity: str
    field: str
    table: str
    data: Mapping[str, Any]
    """Its definition in snapshot form, kept with the archived members."""


@dataclass(frozen=True)
class TightenCount:
    """Records breaking a count rule made stricter go to `sys_cleanup`."""

    entity: str
    field: FieldDef
    rule: str


class RelationSteps:
    """Appends to `steps` what the relations of the model need, given the database (`db`: the
    planner's `Reflected`) and the definitions last applied (`snapshot`)."""

    def __init__(self, conn: sa.Connection, model: Model, tables: Tables, db: Any,
                 snapshot: Mapping[str, Mapping[str, Mapping[str, Any]]], steps: list[Step], limit: int):
        self.conn = conn
        self.model = model
        self.tables = tables
        self.db = db
        self.snapshot = snapshot
        self.steps = steps
        self.limit = limit
        self.taken: set[str] = set()
        """Join tables of the database a declared characteristic keeps or takes (renamed)."""
        self.planned: set[str] = set()
        """Join tables of the model a step already creates."""

    def add(self, step: Step) -> None:
        self.steps.append(step)

    # -- an entity whose table exists --------------------------------------------------------------

    def collection(self, entity: str, table: str, f: FieldDef, columns: Collection[str]) -> set[str]:
        """Steps for `links` or `lines` characteristic `f` of an existing entity; returns the columns
        of `table` it takes (a link converted to links)."""
        old = self._old(entity, f.name)
        if f.name in columns or (old is not None and (old["type"], old.get("entity")) != (f.type, f.entity)):
            return self._changed_shape(entity, table, f, old, columns)
        if f.type == "lines":
            if old is not None and old != field_snapshot(f, self.model):
                self._rules(entity, f, old)
            return set()
        join = self.tables.join_table(entity, f.name)
        if join.name in self.db.names:
            self.taken.add(join.name)
            if old is not None and old != field_snapshot(f, self.model):
                self._rules(entity, f, old)
            return set()
        former = self._former_join_table(entity, f)
        if former is not None:
            self._rename(entity, f, *former)
            return set()
        self._create(entity, f, join)
        return set()

    def new_join_table(self, join: sa.Table) -> None:
        """A join table of the model the database lacks and no step creates yet (its entity is new)."""
        if join.name in self.planned:
            return
        entity, name = next(key for key, table in self.tables.join_tables.items() if table is join)
        self._create(entity, self.model.entity(entity).field(name), join)

    def _create(self, entity: str, f: FieldDef, join: sa.Table) -> None:
        self.planned.add(join.name)
        self.add(Step("create", "create_join_table", {"entity": entity, "field": f.name, "table": join.name,
                                                     "target": f.entity}, entity=entity, field=f.name,
                      action=CreateTable(join)))

    def column_was_collection(self, entity: str, f: FieldDef) -> bool:
        """Whether column characteristic `f`, without a column yet, was a `links` or `lines`: refused
        (and True) then, since no column value can hold several records."""
        old = self._old(entity, f.name)
        if old is None or old["type"] not in COLLECTION_TYPES:
            return False
        self._refuse_shape(entity, f, old)
        return True

    def becomes_owned(self, entity: str, table: str, columns: Collection[str]) -> bool:
        """An existing entity's table without `parent_id` whose entity is now owned: refused while it
        has records (True then); an empty one gets the owned columns as new columns (False)."""
        definition = self.model.entity(entity)
        if definition.owned_by is None or PARENT_FIELD in columns:
            return False
        count = count_records(self.conn, table)
        if not count:
            return False
        self.add(Step("refuse", "owned_refused", {"entity": entity, "owner": definition.owned_by, "count": count},
                      entity=entity, count=count))
        return True

    # -- join tables no longer declared ----------------------------------------------------------

    def removed_join_tables(self) -> set[str]:
        """Archive-and-drop steps for the join tables of the database no declared characteristic
        keeps; returns their names. A join table the snapshot does not know is left alone."""
        wanted = {t.name for t in self.tables.join_tables.values()}
        known = {
            join_table_name(entity, name): (entity, name, data)
            for entity, fields in self.snapshot.items() for name, data in fields.items() if data["type"] == "links"
        }
        leaving = set()
        for name in sorted(self.db.names):
            if not name.startswith(JOIN_TABLE_PREFIX) or name in wanted or name in self.taken or name not in known:
                continue
            entity, field, data = known[name]
            count = count_values(self.conn, name, SOURCE_COLUMN)
            self.add(Step("archive", "archive_join_table", {"entity": entity, "field": field, "table": name,
                                                           "count": count},
                          entity=entity, field=field, count=count,
                          action=ArchiveJoinTable(entity, field, name, data)))
            leaving.add(name)
        return leaving

    # -- helpers ---------------------------------------------------------------------------------

    def _old(self, entity: str, name: str) -> Mapping[str, Any] | None:
        return self.snapshot.get(entity, {}).get(name)

    def _former_join_table(self, entity: str, f: FieldDef) -> tuple[str, str] | None:
        """(former name, its join table) of a renamed `links` whose former join table is still there."""
        declared = self.model.entity(entity).fields_by_name
        for name in reversed(f.renamed_from):
            table = join_table_name(entity, name)
            if name not in declared and table in self.db.names and table not in self.taken:
                return name, table
        return None

    def _rename(self, entity: str, f: FieldDef, old_name: str, old_table: str) -> None:
        old = self._old(entity, old_name)
        self.taken.add(old_table)
        if old is not None and (old["type"], old.get("entity")) != (f.type, f.entity):
            self._refuse_shape(entity, f, old)
            return
        count = count_values(self.conn, old_table, SOURCE_COLUMN)
        join = self.tables.join_table(entity, f.name)
        self.planned.add(join.name)
        self.add(Step("rename", "rename_join_table", {"entity": entity, "old": old_name, "new": f.name,
                                                     "table": join.name, "count": count},
                      entity=entity, field=f.name, count=count,
                      action=RenameJoinTable(entity, old_name, f.name, old_table, join)))
        if old is not None and old != field_snapshot(f, self.model):
            self._rules(entity, f, old, join=old_table, quiet=True)

    def replaces_column(self, entity: str, f: FieldDef, columns: Collection[str]) -> bool:
        """Whether collection `f` takes the name of a column holding another kind of value (a text,
        a number: not a `link`): that column's values are archived, as a removed characteristic's
        are, then it is dropped; a `links` gets its join table. A vendor's pack may so turn a
        free-text `attendees` into members without its users losing what they typed."""
        old = self._old(entity, f.name)
        return f.name in columns and old is not None and old["type"] not in RELATION_TYPES

    def _changed_shape(self, entity: str, table: str, f: FieldDef, old: Mapping[str, Any] | None,
                       columns: Collection[str]) -> set[str]:
        if self.replaces_column(entity, f, columns):
            if f.type == "links":
                join = self.tables.join_table(entity, f.name)
                if join.name in self.db.names:  # a join table of that name already: never merged blindly
                    self._refuse_shape(entity, f, old or {"type": "a column"})
                    return {f.name}
                self._create(entity, f, join)
            return set()
        if (f.type == "links" and f.name in columns and old is not None and old["type"] == "link"
                and old.get("entity") == f.entity):
            join = self.tables.join_table(entity, f.name)
            if join.name in self.db.names:  # left by a conversion that did not finish: never merged blindly
                self._refuse_shape(entity, f, old)
                return set()
            count = count_values(self.conn, table, f.name)
            self.planned.add(join.name)
            self.add(Step("retype", "link_to_links", {"entity": entity, "field": f.name, "count": count,
                                                      "table": join.name},
                          entity=entity, field=f.name, count=count,
                          action=LinkToLinks(entity, table, f.name, join)))
            if f.mandatory:
                self._empty_links(entity, table, f)
            return {f.name}
        self._refuse_shape(entity, f, old or {"type": "a column"})
        return {f.name} if f.name in columns else set()

    def _refuse_shape(self, entity: str, f: FieldDef, old: Mapping[str, Any]) -> None:
        """The refusal of a change of kind or target; the join tables involved stay as they are
        (neither created nor archived) while it blocks the plan."""
        if old["type"] == "links":
            self.taken.add(join_table_name(entity, f.name))
        if f.type == "links":
            self.planned.add(self.tables.join_table(entity, f.name).name)
        self.add(Step("refuse", "relation_refused", {
            "entity": entity, "field": f.name, "old": describe(old), "new": describe(field_snapshot(f, self.model)),
        }, entity=entity, field=f.name))

    def _empty_links(self, entity: str, table: str, f: FieldDef) -> None:
        """A mandatory links made of a link: the live records whose link is empty will have no member;
        listed for clean-up once the members are in (as those of a mandatory link were)."""
        count, ids = sql_breakers(self.conn, table, f.name, FieldDef(f.name, "link", f.label, f.source),
                                  "mandatory", limit=self.limit)
        self._tighten(entity, f, "mandatory", "true", count, ids)

    def _tighten(self, entity: str, f: FieldDef, rule: str, rule_text: str, count: int, ids: list[int]) -> None:
        params = {"entity": entity, "field": f.name, "rule": rule, "rule_text": rule_text, "count": count}
        self.add(Step("tighten", "tighten" if count else "tighten_clean", params, entity=entity, field=f.name,
                      count=count, offenders=tuple(Offender(i) for i in ids), action=TightenCount(entity, f, rule)))

    def _rules(self, entity: str, f: FieldDef, old: Mapping[str, Any], *, join: str | None = None,
               quiet: bool = False) -> None:
        """Count rules made stricter: their breakers counted (and listed when applied); any other
        change of the definition changes no data (a step says so, unless `quiet`: another step of
        the characteristic records the new definition). `join`: where the members are now (a
        renamed links' former join table)."""
        stricter = []
        if f.mandatory and not old.get("mandatory"):
            stricter.append(("mandatory", "true"))
        if f.min is not None and (old.get("min") is None or f.min > old["min"]):
            stricter.append(("min", str(f.min)))
        if f.max is not None and (old.get("max") is None or f.max < old["max"]):
            stricter.append(("max", str(f.max)))
        for rule, rule_text in stricter:
            count, ids = count_breakers(self.conn, self.tables, entity, f, rule, self.limit, join)
            self._tighten(entity, f, rule, rule_text, count, ids)
        if not stricter and not quiet:
            self.add(Step("loosen", "definition_updated", {"entity": entity, "field": f.name},
                          entity=entity, field=f.name))


def describe(data: Mapping[str, Any]) -> str:
    """A characteristic's storage in words, from its snapshot: `link to room`, `links to contact`."""
    kind, target = data["type"], data.get("entity")
    if target and kind in ("link", "links"):
        return f"{kind} to {target}"
    if target and kind == "lines":
        return f"lines of {target}"
    return kind
