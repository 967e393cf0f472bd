"""Demo records shipped by a pack: `demo/*.yaml` in the pack's folder, loaded by `ossature seed-demo`.

The base demo (ossature/demo.py) is generated; a customer pack rather writes its few demo
records by hand, in YAML, beside its definitions. Each file is one document:

```yaml
entity: quote
records:
  - number: Q-2026-001
    title: Boilers for the new site
    opportunity: {pick: 0}                  # the first opportunity of the base demo
    account: Acme                           # a one-field natural key (account's `name`)
    valid_until: today+30                   # a date relative to the day of seeding
    lines:
      - {product: SRV-AUDIT, quantity: 3}   # lines inline; a product by its code
    transitions: [send, accept]             # run in order once every record of the file exists
```

Files load in name order, pack after pack in the order of the model (the base pack first),
after the base demo. A file whose entity already holds records is skipped, so `seed-demo` can
run again. Each file is one set-based `create_many` (lines included), with the link values it
names looked up first, one query per target entity and kind of reference; its `transitions`
then run record by record (they create what their actions create: a `copy` into an order...).
Records are created by the system: any status may be given, read-only fields too.

A link (and each member of a `links` list) is named by:
- a scalar: the value of the target's natural key, when it has one field (`SRV-AUDIT`);
- `{pick: N}`: the N-th live record of the target, by id (0 is the first), for records the
  base demo generates with names nobody can know in advance;
- any other mapping, field -> value: the live record with those values (`{number: Q-1, revision: 1}`).
A reference that matches no record, or several, is an error naming the file, line and field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from engine import SYSTEM_ACTOR
from engine.core.errors import BatchValidationError, RecordValidationError, TransitionError
from metamodel.model import EntityDef, FieldDef, Model
from metamodel.suggestions import did_you_mean
from metamodel.yaml_source import Document, PathKey, dotted, read_document

DEMO_FOLDER = "demo"
MAX_RECORDS_PER_FILE = 5_000
"""A demo file is a few dozen records; far more is a mistake (a data import belongs to `ossature import`)."""
PICK = "pick"
TRANSITIONS = "transitions"
RELATIVE_DAY = re.compile(r"today(?:\s*([+-])\s*(\d{1,5}))?")
LINK_TYPES = frozenset({"link", "links"})


class DemoError(Exception):
    """A demo file that cannot be loaded: `problems` are `file:line: path: message` lines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def demo_files(model: Model) -> list[Path]:
    """The demo files of the model's packs: each pack's `demo/*.yaml`, by name, in pack order."""
    found: list[Path] = []
    for pack in model.packs:
        folder = Path(pack.path) / DEMO_FOLDER if pack.path else None
        if folder is not None and folder.is_dir():
            found.extend(sorted(folder.glob("*.yaml")))
    return found


def seed_pack_demo(engine: Any, *, today: dt.date | None = None, files: Sequence[Path] | None = None) -> dict[str, int]:
    """Load every pack's demo files (or `files`) into the entities that have no records yet;
    returns the records created per entity (those the files' transitions create included)."""
    day = today or _engine_today(engine)
    counts: dict[str, int] = {}
    for path in demo_files(engine.model) if files is None else files:
        for entity, count in _DemoFile(engine, path, day).load().items():
            counts[entity] = counts.get(entity, 0) + count
    return counts


def _engine_today(engine: Any) -> dt.date:
    clock = getattr(engine.records, "clock", None)
    return (clock() if callable(clock) else dt.datetime.now(dt.timezone.utc)).date()


@dataclass
class _Reference:
    """One link value of the file: where it is written and the record it names."""

    where: PathKey
    target: str
    given: Any
    id: int | None = None


@dataclass
class _DemoFile:
    engine: Any
    path: Path
    today: dt.date
    problems: list[str] = field(default_factory=list)

    def load(self) -> dict[str, int]:
        document = self._read()
        entity = self.engine.model.entity(document.data["entity"])
        if self.engine.records.count(entity.name) > 0:
            return {}
        records = document.data["records"]
        references: list[_Reference] = []
        rows = [self._row(document, entity, record, ("records", index), references)
                for index, record in enumerate(records)]
        self._raise_if_any()
        self._resolve(document, references)
        self._raise_if_any()
        for reference in references:
            _assign(rows, reference)
        touched = self._touched(entity, [n for record in records for n in record.get(TRANSITIONS) or ()])
        before = self._counts(touched)
        try:
            ids = self.engine.records.create_many(entity.name, rows, SYSTEM_ACTOR)
        except BatchValidationError as error:
            raise DemoError([self._error(document, ("records", index), failure.describe())
                             for index, failure in sorted((i, RecordValidationError(e)) for i, e in error.rows.items())])
        for index, (record_id, record) in enumerate(zip(ids, records)):
            for step, name in enumerate(record.get(TRANSITIONS) or ()):
                try:
                    self.engine.records.transition(entity.name, record_id, name, SYSTEM_ACTOR)
                except (TransitionError, RecordValidationError) as error:
                    message = error.message() if isinstance(error, TransitionError) else error.describe()
                    raise DemoError([self._error(document, ("records", index, TRANSITIONS, step), message)])
        after = self._counts(touched)
        return {name: after[name] - before[name] for name in after if after[name] > before[name]}

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> Document:
        document, problems = read_document(self.path)
        if document is None:
            raise DemoError([f"{p.file}:{p.line}: {p.path}: {p.message}" for p in problems])
        data = document.data
        if not isinstance(data, dict) or set(data) - {"entity", "records"} or "entity" not in data:
            raise DemoError([self._error(document, (), "a demo file is a mapping of `entity` and `records`")])
        model = self.engine.model
        name = data["entity"]
        if name not in model.entities:
            raise DemoError([self._error(document, ("entity",), f"unknown entity '{name}'{did_you_mean(name, model.entities)}")])
        owner = model.entity(name).owned_by
        if owner is not None:
            raise DemoError([self._error(document, ("entity",), f"'{name}' is owned by '{owner}': give its records as "
                                                                 f"the lines of {owner} records")])
        records = data.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DemoError([self._error(document, ("records",), "`records` is a list of mappings, field -> value")])
        if len(records) > MAX_RECORDS_PER_FILE:
            raise DemoError([self._error(document, ("records",), f"{len(records)} records: at most "
                                                                  f"{MAX_RECORDS_PER_FILE} in a demo file")])
        return document

    def _row(self, document: Document, entity: EntityDef, record: Mapping[str, Any], where: PathKey,
             references: list[_Reference]) -> dict[str, Any]:
        """The record's values as `create_many` takes them; its link values noted in `references`."""
        row: dict[str, Any] = {}
        for name, value in record.items():
            here = (*where, name)
            if name == TRANSITIONS and entity.owned_by is None:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    self.problems.append(self._error(document, here, "`transitions` is a list of transition names"))
                continue
            found = entity.fields_by_name.get(name)
            if found is None:
                self.problems.append(self._error(document, here, f"'{name}' is not a characteristic of entity "
                                                                 f"'{entity.name}'{did_you_mean(name, entity.fields_by_name)}"))
                continue
            row[name] = self._value(document, found, value, here, references)
        return row

    def _value(self, document: Document, found: FieldDef, value: Any, here: PathKey,
               references: list[_Reference]) -> Any:
        if found.type == "link" and value is not None:
            references.append(_Reference(here, found.entity or "", value))
            return None
        if found.type == "links" and value is not None:
            if not isinstance(value, list):
                self.problems.append(self._error(document, here, "a links value is a list of records"))
                return []
            references.extend(_Reference((*here, i), found.entity or "", v) for i, v in enumerate(value))
            return [None] * len(value)
        if found.type == "lines" and value is not None:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                self.problems.append(self._error(document, here, "lines are a list of mappings, field -> value"))
                return []
            owned = self.engine.model.entity(found.entity)
            return [self._row(document, owned, line, (*here, i), references) for i, line in enumerate(value)]
        if found.type in ("date", "datetime") and isinstance(value, str):
            relative = RELATIVE_DAY.fullmatch(value.strip())
            if relative:
                sign, days = relative.groups()
                day = self.today + dt.timedelta(days=int(days or 0) * (-1 if sign == "-" else 1))
                return day.isoformat() if found.type == "date" else f"{day.isoformat()}T12:00:00"
        return value

    # -- references --------------------------------------------------------------------

    def _resolve(self, document: Document, references: list[_Reference]) -> None:
        """Give every reference its record id: per target entity, one query for the natural keys,
        one for the picks and one for the field matches."""
        by_target: dict[str, list[_Reference]] = {}
        for reference in references:
            by_target.setdefault(reference.target, []).append(reference)
        with self.engine.db.connect() as conn:
            for target, found in by_target.items():
                table = self.engine.records.table(target)
                live = table.c.deleted_at.is_(None)
                keys = [r for r in found if not isinstance(r.given, dict)]
                picks = [r for r in found if isinstance(r.given, dict) and set(r.given) == {PICK}]
                matches = [r for r in found if isinstance(r.given, dict) and set(r.given) != {PICK}]
                self._by_key(conn, document, table, live, target, keys)
                self._by_pick(conn, document, table, live, picks)
                self._by_match(conn, document, table, live, target, matches)

    def _by_key(self, conn: sa.Connection, document: Document, table: sa.Table, live: Any, target: str,
                found: list[_Reference]) -> None:
        if not found:
            return
        key = self.engine.model.entity(target).natural_key
        if len(key) != 1:
            for r in found:
                self.problems.append(self._error(document, r.where, f"entity '{target}' has no one-field natural key: "
                                                                    f"name the record by its values or by {{pick: N}}"))
            return
        column = table.c[key[0]]
        values = list({str(r.given): r.given for r in found}.values())
        ids: dict[str, list[int]] = {}
        for record_id, value in conn.execute(sa.select(table.c.id, column).where(live, column.in_(values))):
            ids.setdefault(str(value), []).append(record_id)
        for r in found:
            self._settle(document, r, ids.get(str(r.given), []), f"{key[0]} '{r.given}'")

    def _by_pick(self, conn: sa.Connection, document: Document, table: sa.Table, live: Any,
                 found: list[_Reference]) -> None:
        if not found:
            return
        wanted = [r.given[PICK] for r in found]
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < MAX_RECORDS_PER_FILE for n in wanted):
            for r in found:
                self.problems.append(self._error(document, r.where, f"pick takes a record's rank, 0 to "
                                                                    f"{MAX_RECORDS_PER_FILE - 1}"))
            return
        ranked = list(conn.scalars(sa.select(table.c.id).where(live).order_by(table.c.id).limit(max(wanted) + 1)))
        for r in found:
            n = r.given[PICK]
            self._settle(document, r, ranked[n:n + 1], f"record number {n} (there are {len(ranked)})")

    def _by_match(self, conn: sa.Connection, document: Document, table: sa.Table, live: Any, target: str,
                  found: list[_Reference]) -> None:
        if not found:
            return
        entity = self.engine.model.entity(target)
        usable = []
        for r in found:
            unknown = [n for n in r.given if n not in entity.fields_by_name or n not in table.c]
            if unknown:
                self.problems.append(self._error(document, r.where, f"'{unknown[0]}' is not a characteristic of "
                                                                    f"entity '{target}'"))
            else:
                usable.append(r)
        if not usable:
            return
        names = sorted({n for r in usable for n in r.given})
        condition = sa.or_(*(sa.and_(*(table.c[n] == v for n, v in r.given.items())) for r in usable))
        rows = conn.execute(sa.select(table.c.id, *(table.c[n] for n in names)).where(live, condition)).all()
        for r in usable:
            ids = [row.id for row in rows if all(_same(row._mapping[n], v) for n, v in r.given.items())]
            self._settle(document, r, ids, ", ".join(f"{n} {v!r}" for n, v in r.given.items()))

    def _settle(self, document: Document, reference: _Reference, ids: list[int], named: str) -> None:
        if len(ids) == 1:
            reference.id = ids[0]
        else:
            what = f"no live '{reference.target}' record" if not ids else f"{len(ids)} live '{reference.target}' records"
            self.problems.append(self._error(document, reference.where, f"{what} with {named}: name exactly one"))

    # -- helpers -----------------------------------------------------------------------

    def _touched(self, entity: EntityDef, transitions: Sequence[str]) -> set[str]:
        """The entities a file creates records of: its own, and those its transitions' `create`
        and `copy` actions name (a copy without `entity` copies into its own)."""
        touched = {entity.name}
        if entity.workflow and transitions:
            named = set(transitions)
            for transition in self.engine.model.workflow(entity.workflow).transitions:
                for action in transition.actions if transition.name in named else ():
                    if action.kind in ("create", "copy"):
                        touched.add(action.params.get("entity") or entity.name)
        return touched

    def _counts(self, entities: set[str]) -> dict[str, int]:
        return {name: self.engine.records.count(name) for name in sorted(entities)}

    def _error(self, document: Document, where: PathKey, message: str) -> str:
        return f"{document.file}:{document.line(where)}: {dotted(where)}: {message}"

    def _raise_if_any(self) -> None:
        if self.problems:
            raise DemoError(self.problems)


def _same(stored: Any, given: Any) -> bool:
    """A stored value equals the one a demo file gives (`1` for 1, `'2026-01-05'` for a date)."""
    return stored == given or str(stored) == str(given)


def _assign(rows: list[dict[str, Any]], reference: _Reference) -> None:
    """Write the reference's id where it is written: records.I.field[.J] or records.I.lines.J.field[.K]."""
    _, index, *rest = reference.where
    target: Any = rows[index]
    for step in rest[:-1]:
        target = target[step]
    target[rest[-1]] = reference.id
