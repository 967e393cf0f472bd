"""Changing many records at once, each with its own values: the engine side of a batch PATCH.

`Transaction.update_many(entity, rows)` takes rows `{"id": .., "version": .., <characteristic>: <value>...}`
(`version`, the version read, may be left out: the change is then not checked against it) and:
1. reads the records they name, LOOKUP_CHUNK ids per SELECT (live ones in the actor's scope for
   `update`), locked until the transaction ends: FOR UPDATE on PostgreSQL, the database's write
   lock taken before reading on SQLite;
2. refuses at its index a row naming no such record (or one outside the actor's scope: the same
   answer, so that no answer tells which ids exist), naming a record an earlier row of the batch
   names, or carrying a stale version (`conflict`, with the version now stored);
3. loads each row's values through the characteristics' rules as a single update does: unknown,
   hidden and read-only characteristics are refused, and so is a status change (statuses move
   through workflow transitions only);
4. checks every row's changes at once (`Transaction.validate_updates`: record rules per row,
   unique values and links set-based, validation hooks) and writes them at once
   (`Transaction.apply_updates`: one executemany UPDATE per set of changed characteristics,
   audit and history rows in bulk).
`links` members and `lines` are given as a single update gives them (engine/records/collections):
the records' current members and lines are read with them (one query per collection characteristic
per READ_CHUNK ids) and changed set-based.
All or nothing by default: one bad row raises BatchValidationError (errors by row index) and
nothing is written. `partial=True` writes the good rows and returns the errors of the others;
`check_only=True` checks every row and writes none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa


from engine.core.errors import BatchValidationError, RuleError
from .collections import read_collections
from .validation import ErrorMap, load_values

if TYPE_CHECKING:
    from .transaction import Transaction

READ_CHUNK = 500
"""Ids per SELECT reading the records a batch names."""
INT64_MAX = 2**63 - 1
KEYS = frozenset({"id", "version"})
"""What names the record a row changes and the version it was based on: not values."""

ROW_WORDS: dict[str, dict[str, str]] = {
    "not_found": {
        "en": "There is no {label} with id {id} that you may change.",
        "fr": "Aucun enregistrement {label} d'identifiant {id} que vous puissiez modifier.",
    },
    "repeated": {
        "en": "Record {id} is already changed by row {first} of this batch.",
        "fr": "L'enregistrement {id} est déjà modifié par la ligne {first} de ce lot.",
    },
    "conflict": {
        "en": "{label} {id} was changed by someone else: you sent version {expected}, it is now at version {version}.",
        "fr": "L'enregistrement {label} {id} a été modifié par quelqu'un d'autre : vous avez envoyé la version {expected}, "
              "elle est maintenant à la version {version}.",
    },
    "record": {"en": "A row is an object of values.", "fr": "Une ligne est un objet de valeurs."},
}


@dataclass(frozen=True)
class BatchResult:
    """What a batch did, by row index (the position of the row in what was sent)."""

    written: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Row index -> (record id, its version now) of the rows that passed; a row that changed
    nothing keeps the version it had and writes nothing (no audit row)."""
    failed: dict[int, ErrorMap] = field(default_factory=dict)
    """Row index -> its errors by characteristic (`id`, `version` for the row's keys)."""


class RowRefused(RuleError):
    """A row of a batch refused as a whole: its record does not exist for the actor (`not_found`),
    an earlier row names the same record (`repeated`), its version is stale (`conflict`, whose
    `params["version"]` is the version now stored), or it is no object (`record`)."""

    def message(self, lang: str | None = "en") -> str:
        words = ROW_WORDS[self.rule]
        lang = lang if lang in words else "en"
        params = {**self.params, "label": self.params.get(f"label_{lang}", "")}
        try:
            return words[lang].format(**params)
        except (KeyError, IndexError):
            return words[lang]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Copied or pickled (a job's errors) with its parameters."""
        return (RowRefused, (self.field, self.rule, dict(self.params)))


class BatchUpdate:
    """One `update_many` call on one entity."""

    def __init__(self, tx: Transaction, entity: str):
        self.tx = tx
        self.entity = entity
        self.access = tx.access(entity, "update")
        self.table = tx.service.table(entity)
        validator = tx.service.validator(entity)
        self.rules = validator.rules
        readonly = frozenset() if tx.actor.system else validator.readonly
        self.protected = validator.system_columns | readonly | self.access.protected
        self.scope = tx.service.permissions.scope_condition(self.access, tx.actor, self.table)
        self.collections = tx.service.collections(entity)
        self.collections_protected = self.protected | (frozenset() if tx.actor.system else self.collections.readonly)
        label = tx.model.entity(entity).label
        self.labels = {"label_en": label.en, "label_fr": label.fr}

    def run(self, rows: Sequence[Mapping[str, Any]], *, partial: bool, check_only: bool) -> BatchResult:
        failed: dict[int, ErrorMap] = {}
        keys = self._keys(rows, failed)
        if not check_only:
            self.tx.lock_for_writing()
        stored = self._read(sorted({record_id for record_id, _ in keys.values()}), lock=not check_only)
        pending: list[tuple[int, dict[str, Any], dict[str, Any], ErrorMap]] = []
        for index, (record_id, version) in keys.items():
            current = stored.get(record_id)
            if current is None:
                failed[index] = {"id": [RowRefused("id", "not_found", {"id": record_id, **self.labels})]}
            elif version is not None and version != current["version"]:
                failed[index] = {"version": [RowRefused("version", "conflict", {
                    "id": record_id, "expected": version, "version": current["version"], **self.labels,
                })]}
            else:
                values, errors = self._load(rows[index], current)
                pending.append((index, current, values, errors))
        changes = self.tx.validate_updates(
            self.entity, [p[1] for p in pending], [p[2] for p in pending], [p[3] for p in pending]
        )
        for index, _, _, errors in pending:
            if errors:
                failed[index] = errors
        if failed and not partial and not check_only:
            raise BatchValidationError(dict(sorted(failed.items())), self.entity)
        if check_only:
            return BatchResult({}, dict(sorted(failed.items())))
        written: dict[int, tuple[int, int]] = {}
        writing: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for (index, current, _, _), change in zip(pending, changes):
            if index in failed:
                continue
            if change:
                writing.append((index, current, change))
            else:
                written[index] = (current["id"], current["version"])
        versions = self.tx.apply_updates(self.entity, [(c, ch) for _, c, ch in writing], access=self.access)
        for (index, current, _), version in zip(writing, versions):
            written[index] = (current["id"], version)
        return BatchResult(dict(sorted(written.items())), dict(sorted(failed.items())))

    def _keys(self, rows: Sequence[Mapping[str, Any]], failed: dict[int, ErrorMap]) -> dict[int, tuple[int, int | None]]:
        """Row index -> (record id, version read) of the rows whose keys are sound; the others fail."""
        keys: dict[int, tuple[int, int | None]] = {}
        first: dict[int, int] = {}
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                failed[index] = {"record": [RowRefused("record", "record")]}
                continue
            errors: ErrorMap = {}
            record_id = _whole(row.get("id"), low=1)
            if "id" not in row or row["id"] is None:
                errors["id"] = [RuleError("id", "mandatory")]
            elif record_id is None:
                errors["id"] = [RuleError("id", "type", {"type": "integer"})]
            version = _whole(row.get("version"), low=0)
            if row.get("version") is not None and version is None:
                errors["version"] = [RuleError("version", "type", {"type": "integer"})]
            if record_id is not None and record_id in first and "id" not in errors:
                errors["id"] = [RowRefused("id", "repeated", {"id": record_id, "first": first[record_id]})]
            if errors:
                failed[index] = errors
                continue
            first[record_id] = index
            keys[index] = (record_id, version)
        return keys

    def _read(self, ids: list[int], *, lock: bool) -> dict[int, dict[str, Any]]:
        """The live records of `ids` in the actor's scope for `update`, READ_CHUNK per SELECT."""
        table, found = self.table, {}
        for start in range(0, len(ids), READ_CHUNK):
            query = sa.select(table).where(table.c.id.in_(ids[start : start + READ_CHUNK]), table.c.deleted_at.is_(None))
            if self.scope is not None:
                query = query.where(self.scope)
            if lock:
                query = query.with_for_update()
            found.update((row["id"], dict(row)) for row in self.tx.conn.execute(query).mappings())
        if self.collections.fields and found:
            for record_id, values in read_collections(self.tx, self.collections, list(found)).items():
                found[record_id].update(values)
        return found

    def _load(self, row: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[dict[str, Any], ErrorMap]:
        """The row's typed values and the errors found, as a single update loads them."""
        columns, given = self.collections.split(row)
        values, errors = load_values(self.rules, self.protected, columns, skip=KEYS)
        if given:
            values.update(self.collections.load(given, self.collections_protected, errors))
        if "status" in values and values["status"] != current.get("status"):
            errors.setdefault("status", []).append(RuleError("status", "transition"))
        return values, errors


def _whole(value: Any, *, low: int) -> int | None:
    """A whole number from `low` to what a 64-bit column holds (3.0 is 3), else None."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= INT64_MAX:
        return value
    return None
