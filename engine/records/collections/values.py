"""Collection values given to a write: `links` members and `lines`, loaded, completed and checked.

A write goes through three steps, each set-based where the database is involved:
1. `load` (no database): the shape of each given value — a list of ids for `links` (duplicates
   collapse, sorted), a list of objects for `lines` — its size against `max` before any item is
   read, then each line's values typed by the owned entity's rules (`load_values`);
2. `complete_many` (the records' current collections and their owners as they will be at
   hand): line ids must name lines of this record, new lines get the owned entity's defaults
   (paths through links they read, `parent_id.room` included, read once for the batch), changed
   lines keep their other values, each line's record rules (mandatory, retired values) are
   checked; then `check_counts`, the count rules of the whole value (`min`, `max`, `mandatory`,
   `mandatory_when`);
3. `check_targets`: members, and the links of lines, name live records the actor may read, one
   query per characteristic per LOOKUP_CHUNK ids for all records of a batch.
Errors are keyed by where they are: `attendees`, `meals.2.dish`, `meals.2.id` (line index 0-based).

A `lines` value after step 2 is the list of the record's lines as they will be: dicts of the owned
entity's values with `position` (their index) and, for lines kept, their `id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from metamodel.expressions.sandbox import compile_expression
from metamodel.model import PARENT_FIELD, POSITION_FIELD, SYSTEM_COLUMNS, EntityDef, FieldDef, Model

from engine.core.errors import RuleError
from ..paths import path_values
from ..validation import EntityValidator, ErrorMap, evaluate, load_values
from .words import CollectionError

if TYPE_CHECKING:
    from ..transaction import Transaction

INT64_MAX = 2**63 - 1
LINE_KEYS = frozenset({"id", POSITION_FIELD})
"""What a line given to a write may carry beside its values: its id (a kept line), its position
(ignored: the list order is the position), so that lines read can be sent back as they are."""


@dataclass
class LineInput:
    """One line of a `lines` value as given: its index in the list, its id (None: a new line),
    its values typed by the owned entity's rules and the errors found loading them."""

    index: int
    id: int | None
    values: dict[str, Any]
    errors: ErrorMap = field(default_factory=dict)
    broken: bool = False
    """Refused whole (not an object, an id of the wrong type): it keeps its place in the list, so
    that the errors of the lines after it name their index as given."""


class EntityCollections:
    """The `links` and `lines` characteristics of one entity, and what their values must obey."""

    def __init__(self, model: Model, entity: EntityDef, validators: Mapping[str, EntityValidator]):
        self.entity = entity
        self.fields: tuple[FieldDef, ...] = tuple(f for f in entity.fields if f.is_collection)
        self.by_name: dict[str, FieldDef] = {f.name: f for f in self.fields}
        self.names = frozenset(self.by_name)
        self.readonly = frozenset(f.name for f in self.fields if f.readonly)
        self.links = tuple(f for f in self.fields if f.type == "links")
        self.lines = tuple(f for f in self.fields if f.type == "lines")
        self.line_names = frozenset(f.name for f in self.lines)
        self.owned: dict[str, EntityValidator] = {f.name: validators[f.entity] for f in self.lines}
        self.line_links: dict[str, EntityCollections] = {
            f.name: EntityCollections(model, model.entity(f.entity), validators) for f in self.lines
        }
        """Per `lines` characteristic, the `links` of its owned entity (a line's members)."""
        names = [f.name for f in entity.fields] + list(SYSTEM_COLUMNS)
        self.conditions = {
            f.name: compile_expression(f.mandatory_when, names, paths=lambda text: model.path(entity.name, text))
            for f in self.fields if f.mandatory_when
        }

    def split(self, raw: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
        """`raw` as (the other characteristics' values, the collections' values); `raw` itself
        when it gives no collection (no copy per row on the bulk paths)."""
        if not self.names or not any(name in self.names for name in raw):
            return raw, {}
        columns = {k: v for k, v in raw.items() if k not in self.names}
        return columns, {k: v for k, v in raw.items() if k in self.names}

    # -- 1. loading ------------------------------------------------------------------

    def load(self, given: Mapping[str, Any], protected: frozenset[str], errors: ErrorMap) -> dict[str, Any]:
        """The given collection values, loaded (step 1): sorted member ids for `links`, LineInput
        lists for `lines`; a protected characteristic (hidden or read-only for the actor's roles,
        in `protected`; read-only in the definitions, in `readonly`) is refused."""
        loaded: dict[str, Any] = {}
        for name, value in given.items():
            f = self.by_name[name]
            if name in protected:
                errors.setdefault(name, []).append(RuleError(name, "readonly"))
                continue
            if f.type == "links":
                members = load_members(f, value, errors)
                if members is not None:
                    loaded[name] = members
            else:
                lines = self._load_lines(f, value, errors)
                if lines is not None:
                    loaded[name] = lines
        return loaded

    def _load_lines(self, f: FieldDef, value: Any, errors: ErrorMap) -> list[LineInput] | None:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            errors.setdefault(f.name, []).append(CollectionError(f.name, "lines_shape"))
            return None
        if len(value) > f.max:
            errors.setdefault(f.name, []).append(CollectionError(f.name, "max_count", {"max": f.max, "count": len(value)}))
            return None
        validator = self.owned[f.name]
        protected = validator.system_columns | validator.readonly | {PARENT_FIELD}
        lines: list[LineInput] = []
        for index, raw in enumerate(value):
            if not isinstance(raw, Mapping):
                errors.setdefault(f"{f.name}.{index}", []).append(CollectionError(f"{f.name}.{index}", "line_shape"))
                lines.append(LineInput(index, None, {}, broken=True))
                continue
            line_id = None
            if raw.get("id") is not None:
                line_id = _whole(raw["id"])
                if line_id is None:
                    key = f"{f.name}.{index}.id"
                    errors.setdefault(key, []).append(RuleError(key, "type", {"type": "integer"}))
                    lines.append(LineInput(index, None, {}, broken=True))
                    continue
            members = self.line_links[f.name]
            columns, given = members.split(raw)
            values, line_errors = load_values(validator.rules, protected, columns, skip=LINE_KEYS)
            if given:
                values.update(members.load(given, members.readonly, line_errors))
            lines.append(LineInput(index, line_id, values, line_errors))
        return lines

    # -- 2. completing -----------------------------------------------------------------

    def complete_many(
        self,
        tx: Transaction,
        loaded: Sequence[Mapping[str, Any]],
        currents: Sequence[Mapping[str, Any] | None],
        owners: Sequence[Mapping[str, Any]],
        errors: Sequence[ErrorMap],
    ) -> list[dict[str, Any]]:
        """The collection values writes give records (step 2), from what `load` made of their
        input, the records' `current` values (None for new ones) and the `owners` as they will be
        (what a line's `parent_id.room` reads); errors by where they are into each `errors`.

        The paths through links the owned entity's rules read are read set-based, once for all
        the records: `parent_id.X` from the owners, the others from the lines."""
        values: list[dict[str, Any]] = [
            {name: value for name, value in given.items() if self.by_name[name].type == "links"} for given in loaded
        ]
        for f in self.lines:
            wanted = [i for i, given in enumerate(loaded) if f.name in given]
            if not wanted:
                continue
            current_lines = [((currents[i] or {}).get(f.name) or []) for i in wanted]
            paths = self._line_paths(
                tx, f, [owners[i] for i in wanted], [loaded[i][f.name] for i in wanted], current_lines
            )
            for i, lines, found in zip(wanted, current_lines, paths):
                owner = (currents[i] or {}).get("id")
                values[i][f.name] = self._complete_lines(f.name, loaded[i][f.name], lines, owner, errors[i], found)
        return values

    def _line_paths(
        self,
        tx: Transaction,
        f: FieldDef,
        owners: Sequence[Mapping[str, Any]],
        given: Sequence[Sequence[LineInput]],
        current: Sequence[Sequence[Mapping[str, Any]]],
    ) -> list[list[Mapping[str, Any] | None]]:
        """Per record, per line given: the values of the paths the owned entity's rules read. A
        path through the owner (`parent_id.room`) is the owner's own value or path (`room`): the
        owner may not be saved yet, and it is the same for all its lines."""
        validator = self.owned[f.name]
        if not validator.paths:
            return [[None] * len(lines) for lines in given]
        prefix = PARENT_FIELD + "."
        through_owner = {path: path[len(prefix):] for path in validator.paths if path.startswith(prefix)}
        own = sorted(path for path in validator.paths if not path.startswith(prefix))
        deep = sorted({rest for rest in through_owner.values() if "." in rest})
        reader = tx.path_reader()
        read = path_values(tx.conn, reader, self.entity.name, deep, owners) if deep else [{} for _ in owners]
        by_owner = [
            {path: found.get(rest) if "." in rest else owner.get(rest) for path, rest in through_owner.items()}
            for owner, found in zip(owners, read)
        ]
        rows = []
        for lines, old in zip(given, current):
            by_id = {line["id"]: line for line in old}
            rows.extend({**validator.literal_defaults, **by_id.get(line.id, {}), **line.values} for line in lines)
        line_values = iter(path_values(tx.conn, reader, validator.entity.name, own, rows) if own else [{} for _ in rows])
        return [[{**from_owner, **next(line_values)} for _ in lines] for lines, from_owner in zip(given, by_owner)]

    def _complete_lines(
        self, name: str, given: Sequence[LineInput], current: Sequence[Mapping[str, Any]], owner: int | None,
        errors: ErrorMap, paths: Sequence[Mapping[str, Any] | None],
    ) -> list[dict[str, Any]]:
        """The record's lines as they will be. `parent_id` (the owner's id, None for a new owner)
        and `position` (the index among the lines kept) are the engine's: given to the owned
        entity's rules so that its expressions may read them, never required of the input."""
        validator = self.owned[name]
        by_id = {line["id"]: line for line in current}
        seen: set[int] = set()
        lines: list[dict[str, Any]] = []
        for line, read in zip(given, paths):
            found = line.errors
            refused_parent = PARENT_FIELD in found  # given by the input: refused as read-only
            place = {PARENT_FIELD: owner, POSITION_FIELD: len(lines)}
            if line.broken:
                lines.append({POSITION_FIELD: place[POSITION_FIELD]})  # the record is refused anyway
                continue
            members = self.line_links[name]
            if line.id is None:
                values = validator.complete_new({**line.values, **place}, found, paths=read)
                members.check_counts(values, [g.name for g in members.links], found)
            elif line.id not in by_id or line.id in seen:
                rule = "line_repeated" if line.id in seen else "line_id"
                key = f"{name}.{line.index}.id"
                errors.setdefault(key, []).append(CollectionError(key, rule, {"id": line.id}))
                lines.append({POSITION_FIELD: place[POSITION_FIELD]})  # the record is refused anyway
                continue
            else:
                seen.add(line.id)
                old = {**by_id[line.id], PARENT_FIELD: owner}
                columns, given = members.split(line.values)
                values = {**old, **validator.changed_values(old, {**columns, **place}, found, paths=read), **given}
                members.check_counts(values, list(given), found)
            if not refused_parent:
                found.pop(PARENT_FIELD, None)  # still unknown for a new owner
            values.pop(PARENT_FIELD, None)
            for key, problems in found.items():
                errors.setdefault(f"{name}.{line.index}.{key}", problems)
            lines.append({**values, POSITION_FIELD: place[POSITION_FIELD]})
        return lines

    def checked_on_update(self, given: Mapping[str, Any]) -> list[str]:
        """The collections whose count rules an update checks: those it gives, and those whose
        `mandatory_when` may hold now because of other values."""
        return [f.name for f in self.fields if f.name in given or f.name in self.conditions]

    def check_counts(self, record: Mapping[str, Any], names: Sequence[str], errors: ErrorMap) -> None:
        """The count rules of the collections `names` on the record as it will be: `mandatory`
        (`mandatory_when`) means at least one, then `min` and `max`."""
        for name in names:
            if name in errors:
                continue
            f = self.by_name[name]
            count = len(record.get(name) or ())
            error = count_error(f, count, required=count == 0 and self._condition_holds(name, record, errors))
            if error is not None and name not in errors:  # (an expression that failed is reported)
                errors[name] = [error]

    def _condition_holds(self, name: str, record: Mapping[str, Any], errors: ErrorMap) -> bool:
        condition = self.conditions.get(name)
        if condition is None:
            return False
        try:
            return bool(evaluate(self.entity, name, condition, record))
        except RuleError as error:
            errors[name] = [error]
            return False

    # -- 3. the records named --------------------------------------------------------

    def check_targets(
        self,
        tx: Transaction,
        values: Sequence[Mapping[str, Any]],
        currents: Sequence[Mapping[str, Any] | None],
        errors: Sequence[ErrorMap],
    ) -> None:
        """Members added, and links of lines new or changed, must name live records the actor may
        read (a record outside their scope gets the very error of a missing one); unique values of
        lines must be free (in other records' lines, in the batch): one query per characteristic
        per LOOKUP_CHUNK ids or values, whatever the number of records."""
        for f in self.links:
            added = [
                set(value[f.name]) - set((current or {}).get(f.name) or ()) if f.name in value else set()
                for value, current in zip(values, currents)
            ]
            wanted = set().union(*added) if added else set()
            if not wanted:
                continue
            found = tx.in_scope(f.entity, wanted, "read")
            for ids, found_errors in zip(added, errors):
                missing = sorted(ids - found)
                if missing:
                    found_errors.setdefault(f.name, []).extend(
                        RuleError(f.name, "link", {"entity": f.entity, "value": i}) for i in missing
                    )
        self._check_unique_lines(tx, values, currents, errors)
        self._check_line_members(tx, values, currents, errors)
        for f in self.lines:
            owned = self.owned[f.name].entity
            for link in (g for g in owned.column_fields if g.type == "link" and g.name != PARENT_FIELD):
                named = [
                    [(i, line[link.name]) for i, line in enumerate(value.get(f.name) or ())
                     if line.get(link.name) is not None and _changed(line, link.name, old)]
                    for value, old in zip(values, (_lines_by_id(current, f.name) for current in currents))
                ]
                wanted = {target for pairs in named for _, target in pairs}
                if not wanted:
                    continue
                found = tx.in_scope(link.entity, wanted, "read")
                for pairs, found_errors in zip(named, errors):
                    for i, target in pairs:
                        if target not in found:
                            key = f"{f.name}.{i}.{link.name}"
                            found_errors.setdefault(key, [RuleError(key, "link", {"entity": link.entity, "value": target})])


    def _check_line_members(
        self, tx: Transaction, values: Sequence[Mapping[str, Any]], currents: Sequence[Mapping[str, Any] | None],
        errors: Sequence[ErrorMap],
    ) -> None:
        """The members added to lines (their owned entity's `links`) must be live records the actor
        may read: one query per characteristic per LOOKUP_CHUNK ids, for all the lines of a batch."""
        for f in self.lines:
            for link in self.line_links[f.name].links:
                added = [
                    [(i, set(line.get(link.name) or ()) - set(old.get(line.get("id"), {}).get(link.name) or ()))
                     for i, line in enumerate(value.get(f.name) or ())]
                    for value, old in zip(values, (_lines_by_id(current, f.name) for current in currents))
                ]
                wanted = {t for lines in added for _, ids in lines for t in ids}
                if not wanted:
                    continue
                found = tx.in_scope(link.entity, wanted, "read")
                for lines, found_errors in zip(added, errors):
                    for i, ids in lines:
                        missing = sorted(ids - found)
                        if missing:
                            key = f"{f.name}.{i}.{link.name}"
                            found_errors.setdefault(key, [
                                RuleError(key, "link", {"entity": link.entity, "value": t}) for t in missing
                            ])

    def _check_unique_lines(
        self, tx: Transaction, values: Sequence[Mapping[str, Any]], currents: Sequence[Mapping[str, Any] | None],
        errors: Sequence[ErrorMap],
    ) -> None:
        """A unique characteristic of lines: a value the lines of another record hold, or that two
        lines of the batch would hold, is refused (at the later line). The lines of the records
        written do not count as holders: they all are in `values` as they will be."""
        for f in self.lines:
            owned = self.owned[f.name].entity
            unique = [g for g in owned.column_fields if g.unique]
            given = [(r, value[f.name]) for r, value in enumerate(values) if f.name in value]
            if not unique or not given:
                continue
            table = tx.service.table(owned.name)
            owners = sorted({(currents[r] or {}).get("id") for r, _ in given} - {None})
            for u in unique:
                wanted = {line[u.name] for _, lines in given for line in lines if line.get(u.name) is not None}
                if not wanted:
                    continue
                others = table.c[PARENT_FIELD].not_in(owners) if owners else None
                taken = tx._existing(table.c[u.name], wanted, table, where=others)
                seen: set[Any] = set()
                for r, lines in given:
                    for i, line in enumerate(lines):
                        value = line.get(u.name)
                        if value is None:
                            continue
                        if value in taken or value in seen:
                            key = f"{f.name}.{i}.{u.name}"
                            errors[r].setdefault(key, [RuleError(key, "unique", {"value": value})])
                        seen.add(value)


def changed_collections(current: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The collection `values` that differ from the record's `current` ones: a set of members
    given again, or the same lines in the same order, is no change."""
    return {name: value for name, value in values.items() if (current.get(name) or []) != value}


def _lines_by_id(current: Mapping[str, Any] | None, name: str) -> dict[int, Mapping[str, Any]]:
    return {line["id"]: line for line in (current or {}).get(name) or ()}


def _changed(line: Mapping[str, Any], name: str, old: Mapping[int, Mapping[str, Any]]) -> bool:
    """Whether a line's `name` is new: a new line, or a kept line whose value differs."""
    if "id" not in line:
        return True
    was = old.get(line["id"])
    return was is None or was.get(name) != line.get(name)


def count_error(f: FieldDef, count: int, *, required: bool = False) -> RuleError | None:
    """The count rule `count` members or lines break, if any: `mandatory` (also when `required`,
    a `mandatory_when` that holds) means at least one, then `min` and `max`."""
    if count == 0 and (f.mandatory or required):
        return RuleError(f.name, "mandatory")
    if f.min is not None and count < f.min:
        return CollectionError(f.name, "min_count", {"min": f.min, "count": count})
    if count > f.max:
        return CollectionError(f.name, "max_count", {"max": f.max, "count": count})
    return None


def load_members(f: FieldDef, value: Any, errors: ErrorMap) -> list[int] | None:
    """A `links` value: the sorted distinct ids, or None (the error noted) for a wrong shape or
    a list longer than `max` (refused before any of its items is read)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        errors.setdefault(f.name, []).append(CollectionError(f.name, "links_shape"))
        return None
    if len(value) > f.max:
        errors.setdefault(f.name, []).append(CollectionError(f.name, "max_count", {"max": f.max, "count": len(value)}))
        return None
    ids = [_whole(item) for item in value]
    if any(i is None for i in ids):
        errors.setdefault(f.name, []).append(CollectionError(f.name, "links_shape"))
        return None
    return sorted(set(ids))  # type: ignore[arg-type]


def _whole(value: Any) -> int | None:
    """A record id: a whole number from 1 to what a 64-bit column holds (3.0 and "3" are 3)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        value = int(value)
    if isinstance(value, int) and 1 <= value <= INT64_MAX:
        return value
    return None
