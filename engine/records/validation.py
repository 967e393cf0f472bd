"""Record validation generated from the `Model`.

`EntityValidator` owns one entity's rules: the per-characteristic `FieldRules`,
defaults, and the record-level rules (mandatory, `mandatory_when`, retired list
values). It has two doors that end in the same rules:

- `load_one` reads a single record through a marshmallow schema generated from
  the entity (the shape the API and forms send: JSON or form strings);
- `load_many` reads rows for the bulk paths in a tight loop, without
  marshmallow's per-row machinery, calling the very same `FieldRules`.

Rules that need the database (links exist, unique values) live in `records.py`,
where they are checked set-based for a whole batch.

An expression may read paths through links (`room.capacity`): their values are not in the
record, the caller gives them, as a mapping for one record (`paths=`) or, on the bulk paths,
as a `PathSource` the validator calls once for all the rows (engine/records/paths.py
`path_source`: one query per path prefix per chunk, never per row). Without them a path
reads None, as it does through an empty link.
"""

from __future__ import annotations

import logging
import secrets
from collections import ChainMap
from typing import Any, Callable, Iterable, Mapping, Sequence

import marshmallow as mm

from metamodel.expressions.sandbox import Expression, ExpressionError, compile_expression
from metamodel.model import SYSTEM_COLUMNS, EntityDef, Model

from engine.core.context import Actor
from engine.core.errors import RuleError
from .field_rules import FieldRules

ErrorMap = dict[str, list[RuleError]]
PathSource = Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]]
"""`source(records)`: for each record (maybe unsaved), the values of the paths through links its
expressions read, `{path text: value}`, read for all of them at once."""
log = logging.getLogger(__name__)

EXPRESSION_WORDS = {
    "en": "The rule of “{label}” could not be applied: a value it uses is empty or of the wrong kind "
          "(reference {reference}).",
    "fr": "La règle de « {label} » n'a pas pu être appliquée : une valeur qu'elle utilise est vide ou "
          "d'un type inattendu (référence {reference}).",
}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


class ExpressionFailed(RuleError):
    """An expression of the definitions (`default_expr`, `mandatory_when`, a `set` or `create`
    action, an `on_enter` value) failed on this record's values: rule `expression`.

    The evaluator's own text (a Python TypeError, say) is for the log, under a reference the
    message shows; the message names the characteristic by its label, in the reader's language.
    """

    def __init__(self, entity: EntityDef, name: str, source: str, detail: str):
        reference = secrets.token_hex(4)
        log.warning("expression failed [%s] on %s.%s (%s): %s", reference, entity.name, name, source, detail)
        field = entity.fields_by_name.get(name)
        labels = {"en": field.label.en, "fr": field.label.fr} if field is not None else {"en": name, "fr": name}
        super().__init__(name, "expression", {
            "label_en": labels["en"], "label_fr": labels["fr"], "reference": reference, "expression": source,
        })

    def message(self, lang: str | None = "en") -> str:
        lang = lang if lang in EXPRESSION_WORDS else "en"
        return EXPRESSION_WORDS[lang].format(label=self.params[f"label_{lang}"], reference=self.params["reference"])

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Copied or pickled (a job's errors) as it is, without logging it again."""
        return (_expression_failed, (self.field, dict(self.params)))


def _expression_failed(name: str, params: dict[str, Any]) -> ExpressionFailed:
    error = ExpressionFailed.__new__(ExpressionFailed)
    RuleError.__init__(error, name, "expression", params)
    return error


def with_paths(record: Mapping[str, Any], paths: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """What an expression reads: the record's values, and the values of its paths through links
    under their text (a view: a value the record takes later is read too)."""
    return ChainMap(record, paths) if paths else record  # type: ignore[arg-type]


def expression_paths(expressions: Iterable[Expression]) -> frozenset[str]:
    """The paths through links some expressions read."""
    return frozenset(path for expression in expressions for path in expression.paths)


def evaluate(entity: EntityDef, name: str, expression: Expression, values: Mapping[str, Any]) -> Any:
    """`expression` on `values`, for the characteristic `name`: an evaluation failure is an
    `ExpressionFailed` rule error of that characteristic."""
    try:
        return expression.evaluate(values)
    except ExpressionError as error:
        raise ExpressionFailed(entity, name, expression.source, error.message) from None


class CharacteristicField(mm.fields.Field):
    """A marshmallow field that loads through a characteristic's `FieldRules`."""

    def __init__(self, rules: FieldRules, **kwargs: Any):
        super().__init__(allow_none=True, **kwargs)
        self.rules = rules

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return self.rules.load(value)
        except RuleError as error:
            raise mm.ValidationError([error]) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def build_schema(entity: EntityDef, rules: Mapping[str, FieldRules]) -> type[mm.Schema]:
    """The marshmallow schema of one entity's input: one field per characteristic."""
    fields = {name: CharacteristicField(r) for name, r in rules.items()}
    schema = mm.Schema.from_dict(fields, name=f"{entity.name.title().replace('_', '')}Input")
    schema.Meta.unknown = mm.RAISE  # type: ignore[attr-defined]
    return schema


def load_values(
    rules: Mapping[str, FieldRules], protected: frozenset[str] | set[str], raw: Mapping[str, Any], *,
    skip: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], ErrorMap]:
    """One row's values typed by their characteristics' rules, and the errors found: a name that is
    no characteristic is `unknown`, a protected one (or a system column) `readonly`. The bulk
    paths' loop (no marshmallow schema per row); `skip` names keys the caller reads itself."""
    values: dict[str, Any] = {}
    errors: ErrorMap = {}
    for name, value in raw.items():
        if name in skip:
            continue
        field_rules = rules.get(name)
        if field_rules is None or name in protected:
            rule = "unknown" if field_rules is None and name not in SYSTEM_COLUMNS else "readonly"
            errors.setdefault(name, []).append(RuleError(name, rule))
            continue
        try:
            values[name] = field_rules.load(value)
        except RuleError as error:
            errors.setdefault(name, []).append(error)
    return values, errors


class EntityValidator:
    def __init__(self, entity: EntityDef, model: Model, formats: Mapping[str, Any] | None = None):
        self.entity = entity
        # Collections (`links`, `lines`) are no column: engine/records/collections checks their
        # values; expressions still read a `links` value (its member ids), and paths through links.
        columns = entity.column_fields
        self.rules: dict[str, FieldRules] = {f.name: FieldRules(f, model, formats or {}) for f in columns}
        names = [f.name for f in entity.fields] + list(SYSTEM_COLUMNS)

        def compiled(source: str) -> Any:
            return compile_expression(source, names, paths=lambda text: model.path(entity.name, text))

        self.literal_defaults: dict[str, Any] = {}
        self.expression_defaults = []
        for f in columns:
            if not f.systematic:
                continue  # an on-demand characteristic stays empty until someone sets it
            if f.default_expr:
                self.expression_defaults.append((f.name, compiled(f.default_expr)))
            elif f.default is not None:
                self.literal_defaults[f.name] = list(f.default) if isinstance(f.default, (list, tuple)) else f.default
            elif f.type == "boolean":
                self.literal_defaults[f.name] = False
        self.mandatory = tuple(f.name for f in columns if f.mandatory)
        self.mandatory_when = tuple((f.name, compiled(f.mandatory_when)) for f in columns if f.mandatory_when)
        self.readonly = frozenset(f.name for f in entity.fields if f.readonly)
        self.system_columns = frozenset(SYSTEM_COLUMNS)
        self.list_fields = tuple(name for name, r in self.rules.items() if r.active_choices is not None)
        self.schema = build_schema(entity, self.rules)()
        self.paths = expression_paths(e for _, e in (*self.expression_defaults, *self.mandatory_when))
        """The paths through links the defaults and `mandatory_when` rules read (what a caller reads
        for them: `paths=` of `complete_new`, `changed_values`...)."""

    # -- the two doors -------------------------------------------------------

    def load_one(
        self, data: Mapping[str, Any], actor: Actor, *, partial: bool, protected: frozenset[str] = frozenset()
    ) -> tuple[dict[str, Any], ErrorMap]:
        """Typed values of one input record through the marshmallow schema, and the errors found.

        `protected` names characteristics this actor may not set (hidden or read-only for their roles).
        """
        errors: ErrorMap = {}
        data = self._refuse_protected(data, actor, errors, protected)
        try:
            values = self.schema.load(data, partial=partial)
        except mm.ValidationError as error:
            values = error.valid_data if isinstance(error.valid_data, dict) else {}
            for name, messages in error.normalized_messages().items():
                for m in messages if isinstance(messages, list) else [messages]:
                    errors.setdefault(name, []).append(m if isinstance(m, RuleError) else RuleError(name, "unknown"))
        return values, errors

    def load_many(
        self, rows: Iterable[Mapping[str, Any]], actor: Actor, *, protected: frozenset[str] = frozenset(),
        paths: PathSource | None = None,
    ) -> tuple[list[dict[str, Any]], dict[int, ErrorMap]]:
        """Complete new records for every row, and the errors of the bad rows by row index.
        `paths`: where the values of the paths the rules read come from, asked once for every row."""
        rules = self.rules
        protected = self._protected(actor) | protected
        loaded = [load_values(rules, protected, raw) for raw in rows]
        found = self._path_values([{**self.literal_defaults, **values} for values, _ in loaded], paths)
        records: list[dict[str, Any]] = []
        failed: dict[int, ErrorMap] = {}
        for index, ((values, errors), read) in enumerate(zip(loaded, found)):
            records.append(self.complete_new(values, errors, paths=read))
            if errors:
                failed[index] = errors
        return records, failed

    def _path_values(self, records: Sequence[Mapping[str, Any]], source: PathSource | None) -> Sequence[Mapping[str, Any] | None]:
        if source is None or not self.paths:
            return [None] * len(records)
        return source(records)

    # -- record-level rules ----------------------------------------------------

    def complete_new(
        self, values: dict[str, Any], errors: ErrorMap, *, paths: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Apply defaults to a new record and check its record-level rules; errors go to `errors`.
        `paths`: the values of the paths through links the rules read (`self.paths`)."""
        record = self.literal_defaults.copy()
        for name, value in values.items():
            if value is not None:
                record[name] = value
        seen = with_paths(record, paths)
        for name, expression in self.expression_defaults:
            if name not in record:
                try:
                    record[name] = self.rules[name].load(evaluate(self.entity, name, expression, seen))
                except RuleError as error:
                    errors.setdefault(name, []).append(error)
        for name in self.list_fields:
            value = values.get(name)
            if value is not None:
                try:
                    self.rules[name].check_retired(value)
                except RuleError as error:
                    errors.setdefault(name, []).append(error)
        self.check_mandatory(record, errors, paths=paths)
        return record

    def changed_values(
        self, current: Mapping[str, Any], values: Mapping[str, Any], errors: ErrorMap, *,
        paths: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The values of an update that differ from `current`, with record-level rules checked
        (`paths`: the values of the paths they read, for the record as changed)."""
        changes = {name: value for name, value in values.items() if current.get(name) != value}
        for name, value in changes.items():
            try:
                self.rules[name].check_retired(_newly_chosen(current.get(name), value))
            except RuleError as error:
                errors.setdefault(name, []).append(error)
        self.check_mandatory({**current, **changes}, errors, paths=paths)
        return changes

    def changed_many(
        self, currents: Sequence[Mapping[str, Any]], values: Sequence[Mapping[str, Any]], errors: Sequence[ErrorMap],
        *, paths: PathSource | None = None,
    ) -> list[dict[str, Any]]:
        """`changed_values` of many updates, the values of the paths read once for all of them."""
        found = self._path_values([{**current, **given} for current, given in zip(currents, values)], paths)
        return [self.changed_values(current, given, found_errors, paths=read)
                for current, given, found_errors, read in zip(currents, values, errors, found)]

    def check_mandatory(
        self, record: Mapping[str, Any], errors: ErrorMap, *, paths: Mapping[str, Any] | None = None
    ) -> None:
        for name in self.mandatory:
            if is_empty(record.get(name)) and name not in errors:
                errors[name] = [RuleError(name, "mandatory")]
        self.check_conditions(with_paths(record, paths), errors, self.mandatory_when)

    def check_conditions(self, record: Mapping[str, Any], errors: ErrorMap, conditions: Iterable[tuple[str, Any]]) -> None:
        """`mandatory_when` rules: the field is mandatory when its expression holds."""
        for name, expression in conditions:
            if name in errors or not is_empty(record.get(name)):
                continue
            try:
                if evaluate(self.entity, name, expression, record):
                    errors[name] = [RuleError(name, "mandatory")]
            except RuleError as error:
                errors[name] = [error]

    def conditions(self) -> dict[str, frozenset[str]]:
        """Characteristic -> the names its `mandatory_when` reads."""
        return {name: expression.names for name, expression in self.mandatory_when}

    def condition_holds(self, name: str, record: Mapping[str, Any], *, paths: Mapping[str, Any] | None = None) -> bool:
        """Whether `name`'s `mandatory_when` holds on `record` (False if it has none). One that
        cannot be evaluated counts as holding: saving will report it as an `expression` error."""
        for field_name, expression in self.mandatory_when:
            if field_name == name:
                try:
                    return bool(expression.evaluate(with_paths(record, paths)))
                except ExpressionError:
                    return True
        return False

    def _protected(self, actor: Actor) -> frozenset[str]:
        """System columns are never input; readonly characteristics only from the system itself."""
        return self.system_columns if actor.system else self.system_columns | self.readonly

    def _refuse_protected(
        self, data: Mapping[str, Any], actor: Actor, errors: ErrorMap, extra: frozenset[str] = frozenset()
    ) -> Mapping[str, Any]:
        protected = self._protected(actor) | extra
        refused = [k for k in data if k in protected]
        if not refused:
            return data
        for name in refused:
            errors.setdefault(name, []).append(RuleError(name, "readonly"))
        return {k: v for k, v in data.items() if k not in refused}


def _newly_chosen(old: Any, new: Any) -> Any:
    """For multi_choice only the codes added by this change must be active."""
    if isinstance(new, list):
        kept = set(old or [])
        return [code for code in new if code not in kept]
    return new
