"""What the database was last built from, and where removed data went.

The migration planner compares the `Model` with what the engine last applied, so it
can tell a rename from a removal, a retype from a tightened rule. Four system tables,
on their own MetaData (they are the planner's, not the Model's):

- `sys_schema`: one row per entity (field `""`) and per characteristic, holding the
  definition that built the column (type, list codes, bounds, lengths, mandatory, ...)
  as JSON, and the packs (name and version) it came from;
- `sys_archive_batch`: one row per archiving: a removed characteristic (with the
  definition its values had, so they can be read back and converted) or a removed
  entity (whose records were moved to an archive table `arc<id>_<entity>`, without
  constraints, with the definitions of its characteristics);
- `sys_archive`: values of removed characteristics, one row per record, as JSON
  (decimals as strings, dates as ISO text: the audit's format); `restored_at` is set
  once a value went back to its column;
- `sys_cleanup`: records that break a rule tightened after they were written.

A database migrated before this existed has no `sys_schema`: its first snapshot is
taken from the current Model for the columns that exist (a definition changed before
then cannot be seen), and from the column types for columns no longer declared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa

from metamodel.model import SYSTEM_COLUMNS, FieldDef, Model, Source, Text, ValueDef, ValueList

from engine.storage.tables import TABLE_PREFIX
from engine.storage.trail import from_json, to_json

SCHEMA_TABLE = "sys_schema"
ARCHIVE_TABLE = "sys_archive"
ARCHIVE_BATCHES = "sys_archive_batch"
CLEANUP_TABLE = "sys_cleanup"
ENTITY_ROW = ""
"""The `field` of the row that stands for the entity itself."""
SNAPSHOT_SOURCE = Source(SCHEMA_TABLE, 0)

RULE_KEYS = ("mandatory", "min", "max", "min_length", "max_length", "pattern", "format")
STORAGE_KEYS = ("type", "list", "entity", "workflow", "scale", "precision")


def _state_tables() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    schema = sa.Table(
        SCHEMA_TABLE,
        metadata,
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("field", sa.String(40), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("packs", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime, nullable=False),
    )
    batches = sa.Table(
        ARCHIVE_BATCHES,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("table_name", sa.String(63)),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("archived_at", sa.DateTime, nullable=False),
        sa.Column("restored_at", sa.DateTime),
    )
    archive = sa.Table(
        ARCHIVE_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey(f"{ARCHIVE_BATCHES}.id", name="fk_sys_archive_batch"),
                  nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True)),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("archived_at", sa.DateTime, nullable=False),
        sa.Column("restored_at", sa.DateTime),
        sa.Index("ix_sys_archive_field", "entity", "field", "record_id"),
    )
    cleanup = sa.Table(
        CLEANUP_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Index("ix_sys_cleanup_record", "entity", "record_id"),
    )
    return metadata, schema, batches, archive, cleanup


STATE_METADATA, SCHEMA, BATCHES, ARCHIVE, CLEANUP = _state_tables()


def archive_table_name(archive_id: int, entity: str) -> str:
    return f"arc{archive_id}_{entity}"


# -- snapshots of definitions ----------------------------------------------------------------


def field_snapshot(field: FieldDef, model: Model) -> dict[str, Any]:
    """What `sys_schema` keeps of a characteristic: what built its column and its rules."""
    data: dict[str, Any] = {"type": field.type}
    for key in ("list", "entity", "workflow", "scale", "precision", "min_length", "max_length", "pattern", "format"):
        value = getattr(field, key)
        if value is not None:
            data[key] = value
    if field.mandatory:
        data["mandatory"] = True
    for key in ("min", "max"):
        value = getattr(field, key)
        if value is not None:
            data[key] = to_json(value)
    if field.list and field.list in model.lists:
        values = model.value_list(field.list)
        data["codes"] = sorted(values.codes)
        data["active"] = sorted(values.active_codes)
    elif field.type == "status" and field.workflow in model.workflows:
        data["codes"] = sorted(s.code for s in model.workflow(field.workflow).statuses)
    return data


def model_snapshot(model: Model) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        name: {f.name: field_snapshot(f, model) for f in entity.fields} for name, entity in model.entities.items()
    }


def field_from_snapshot(name: str, data: Mapping[str, Any]) -> FieldDef:
    """A `FieldDef` standing for a characteristic as it was when the database was last built."""
    typed = FieldDef(name=name, type=data["type"], label=Text(name, name), source=SNAPSHOT_SOURCE)
    bounds = {key: from_json(typed, data[key]) for key in ("min", "max") if data.get(key) is not None}
    return FieldDef(
        name=name,
        type=data["type"],
        label=Text(name, name),
        source=SNAPSHOT_SOURCE,
        mandatory=bool(data.get("mandatory")),
        list=data.get("list"),
        entity=data.get("entity"),
        workflow=data.get("workflow"),
        scale=data.get("scale"),
        precision=data.get("precision"),
        min_length=data.get("min_length"),
        max_length=data.get("max_length"),
        pattern=data.get("pattern"),
        format=data.get("format"),
        **bounds,
    )


class SnapshotLists:
    """Stands for the `Model` when `FieldRules` judges a value by an old definition: the list
    and workflow codes come from the snapshot, not from today's definitions."""

    def __init__(self, data: Mapping[str, Any]):
        self.codes = tuple(data.get("codes") or ())
        self.active = frozenset(data.get("active") or self.codes)

    def value_list(self, name: str) -> ValueList:
        values = tuple(
            ValueDef(code, Text(code, code), order, retired=code not in self.active)
            for order, code in enumerate(self.codes)
        )
        return ValueList(name, Text(name, name), values, SNAPSHOT_SOURCE)

    def workflow(self, name: str) -> Any:
        return _Statuses(tuple(_Status(code) for code in self.codes))


@dataclass(frozen=True)
class _Status:
    code: str


@dataclass(frozen=True)
class _Statuses:
    statuses: tuple[_Status, ...]


def guessed_snapshot(column: Mapping[str, Any], foreign_keys: Mapping[str, str]) -> dict[str, Any]:
    """A definition for a column `sys_schema` does not know (a database migrated before the planner
    existed, whose definitions dropped the column): guessed from its SQL type."""
    sql_type = column["type"]
    name = column["name"]
    if name in foreign_keys:
        return {"type": "link", "entity": foreign_keys[name]}
    if isinstance(sql_type, sa.Boolean):
        return {"type": "boolean"}
    if isinstance(sql_type, sa.DateTime):
        return {"type": "datetime"}
    if isinstance(sql_type, sa.Date):
        return {"type": "date"}
    if isinstance(sql_type, sa.Integer):
        return {"type": "integer"}
    if isinstance(sql_type, sa.Numeric):
        return {"type": "decimal", "precision": sql_type.precision or 18, "scale": sql_type.scale or 0}
    if isinstance(sql_type, sa.JSON):
        return {"type": "multi_choice"}
    if isinstance(sql_type, sa.String) and not isinstance(sql_type, sa.Text) and sql_type.length:
        return {"type": "string", "max_length": sql_type.length}
    return {"type": "text"}


# -- reading and writing sys_schema ---------------------------------------------------------


def read_snapshot(conn: sa.Connection, *, present: bool | None = None) -> dict[str, dict[str, dict[str, Any]]] | None:
    """Entity -> field -> definition, as last applied; None when the planner never ran here.
    `present` says whether sys_schema exists, when the caller knows."""
    if not (present if present is not None else sa.inspect(conn).has_table(SCHEMA_TABLE)):
        return None
    snapshot: dict[str, dict[str, dict[str, Any]]] = {}
    for entity, field, definition in conn.execute(sa.select(SCHEMA.c.entity, SCHEMA.c.field, SCHEMA.c.definition)):
        fields = snapshot.setdefault(entity, {})
        if field != ENTITY_ROW:
            fields[field] = definition
    return snapshot if snapshot else None


def packs_revision(model: Model) -> str:
    return ", ".join(f"{pack.name} {pack.version}" for pack in model.packs)


def write_snapshot(conn: sa.Connection, model: Model, now: dt.datetime) -> None:
    """Replace the snapshot with the definitions of `model` (they are what the database now has)."""
    packs = packs_revision(model)
    rows = []
    for entity, fields in model_snapshot(model).items():
        rows.append({"entity": entity, "field": ENTITY_ROW, "definition": {"table": TABLE_PREFIX + entity}})
        rows.extend({"entity": entity, "field": name, "definition": data} for name, data in fields.items())
    conn.execute(SCHEMA.delete())
    if rows:
        conn.execute(SCHEMA.insert(), [{**row, "packs": packs, "applied_at": now} for row in rows])


def entity_tables(table_names: set[str]) -> dict[str, str]:
    """Entity name -> table name, for the entity tables present in the database."""
    return {name[len(TABLE_PREFIX):]: name for name in table_names if name.startswith(TABLE_PREFIX)}


def user_columns(columns: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The reflected columns that hold characteristics (not the system columns)."""
    return [c for c in columns if c["name"] not in SYSTEM_COLUMNS]

