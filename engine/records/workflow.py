"""Workflow rules of one entity: which transition may run, and what it does.

`WorkflowRuntime` compiles a `WorkflowDef`'s expressions (guards, `set`, `create` and `copy`
actions, `on_enter` values) once, against the entity that uses the workflow, and
answers the questions a `Transaction` asks while moving a record. The evaluator stays
separate from the definitions, as in state-machine libraries: the YAML is data, this
module is the only place that interprets it.

Its expressions may read paths through links (`room.site.name`): `self.paths` names them, and
the caller gives their values for the record being moved (`paths=`, engine/records/paths.py
`path_values`); without them a path reads None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from metamodel.checking.copying import CopyPlan
from metamodel.expressions.sandbox import Expression, ExpressionError, compile_expression
from metamodel.model import SYSTEM_COLUMNS, ActionDef, EntityDef, Model, TransitionDef, WorkflowDef

from plugins.host.hookspecs import Action

from engine.core.context import Actor
from engine.core.errors import RecordValidationError, RuleError, TransitionError
from .copying import copied_values, plan_between
from .field_rules import FieldRules
from .validation import ExpressionFailed, expression_paths, is_empty, with_paths

if TYPE_CHECKING:
    from .transaction import Transaction



@dataclass
class ActionContext:
    """What a plugin action receives (the `ActionContext` protocol of plugins/host/hookspecs.py):
    the transaction to write through, the record being moved (with the values this
    transition set so far) and the action's parameters."""

    tx: Transaction
    entity: str
    record: dict[str, Any]
    transition: TransitionDef
    params: Mapping[str, Any]
    inputs: Mapping[str, Any]
    actor: Actor
    model: Model


class WorkflowRuntime:
    def __init__(
        self, entity: EntityDef, workflow: WorkflowDef, rules: Mapping[str, FieldRules], actions: Mapping[str, Action],
        model: Model,
    ):
        self.entity = entity
        self.definition = workflow
        self.rules = rules
        self.actions = actions
        self.model = model
        self.admin_roles = frozenset(name for name, role in model.roles.items() if role.admin)
        """Roles declared with `admin: true`: they hold the roles of every transition."""
        names = [f.name for f in entity.fields] + list(SYSTEM_COLUMNS)

        def compiled(source: str) -> Expression:  # paths through links were checked when the pack loaded
            return compile_expression(source, names, paths=lambda text: model.path(entity.name, text))

        self._copy_plans: dict[str, CopyPlan] = {}
        """What a `copy` action copies into each target entity (whatever its `except`), made once."""
        self._transitions = {t.name: t for t in workflow.transitions}
        self._guards = {t.name: compiled(t.guard) for t in workflow.transitions if t.guard}
        self._expressions: dict[str, Expression] = {}
        for t in workflow.transitions:
            for action in t.actions:
                for source in _action_expressions(action):
                    self._expressions.setdefault(source, compiled(source))
        for status in workflow.statuses:
            for source in status.on_enter.values():
                self._expressions.setdefault(source, compiled(source))
        self.paths = expression_paths([*self._guards.values(), *self._expressions.values()])
        """The paths through links the guards, actions and `on_enter` values read."""

    # -- checks -------------------------------------------------------------------

    def transition(self, name: str) -> TransitionDef:
        transition = self._transitions.get(name)
        if transition is None:
            raise TransitionError("unknown_transition", {"transition": name})
        return transition

    def check_source(self, transition: TransitionDef, record: Mapping[str, Any]) -> None:
        if record.get("status") not in transition.from_statuses:
            raise TransitionError(
                "not_from", {"transition": transition.name, "status": record.get("status")}
            )

    def check_roles(self, transitions: Sequence[TransitionDef], actor: Actor) -> None:
        """A transition that names roles is for those roles and for the administrators.

        The one rule for administrators: a role declared with `admin: true` may do everything,
        on every record, so it holds every transition's roles; a transition without `roles` is
        open to every user who may update the record. Guards, source statuses and required
        fields apply to administrators as to anyone.
        """
        roles = {role for t in transitions for role in t.roles}
        if roles and not actor.system and not (actor.roles & (roles | self.admin_roles)):
            name = transitions[0].name if len(transitions) == 1 else "/".join(t.name for t in transitions)
            raise TransitionError("role", {"transition": name, "roles": ", ".join(sorted(roles))})

    def check_required(self, transitions: Iterable[TransitionDef], record: Mapping[str, Any], status: str) -> None:
        label = self._status_label(status)
        missing = [f for t in transitions for f in t.required if is_empty(record.get(f))]
        if missing:
            errors = {f: [RuleError(f, "required_on_entry", {"status": label})] for f in dict.fromkeys(missing)}
            raise TransitionError("required", {"status": label, "fields": ", ".join(errors)}, errors=errors)

    def check_guard(
        self, transition: TransitionDef, record: Mapping[str, Any], *, paths: Mapping[str, Any] | None = None
    ) -> None:
        """Refuse the transition unless its guard holds on `record` (and the `paths` it reads)."""
        guard = self._guards.get(transition.name)
        if guard is None:
            return
        try:
            passed = bool(guard.evaluate(with_paths(record, paths)))
        except ExpressionError:
            passed = False  # a guard that cannot be evaluated (an empty operand) is not met: its message says why
        if not passed:
            custom = (
                {"en": transition.guard_message.en, "fr": transition.guard_message.fr}
                if transition.guard_message
                else None
            )
            raise TransitionError("guard", {"transition": transition.name, "condition": guard.source}, custom=custom)

    def check_free_move(self, status: str) -> None:
        if not self.definition.free:
            raise TransitionError("not_free")
        if self.definition.status(status) is None:
            raise TransitionError("unknown_status", {"status": status})

    def transitions_into(self, status: str) -> list[TransitionDef]:
        return [t for t in self.definition.transitions if t.to == status]

    def available(
        self, record: Mapping[str, Any], actor: Actor, *, paths: Mapping[str, Any] | None = None
    ) -> list[tuple[TransitionDef, TransitionError | None]]:
        """Transitions out of the record's status, each with why it is refused now (or None).

        Missing required fields do not refuse a transition here: the form asks for them.
        """
        found: list[tuple[TransitionDef, TransitionError | None]] = []
        for t in self.definition.transitions:
            if record.get("status") not in t.from_statuses:
                continue
            try:
                self.check_roles([t], actor)
                self.check_guard(t, record, paths=paths)
                found.append((t, None))
            except TransitionError as refused:
                found.append((t, refused))
        return found

    # -- effects ------------------------------------------------------------------

    def run_action(
        self, tx: Transaction, action: ActionDef, transition: TransitionDef, record: dict[str, Any],
        inputs: Mapping[str, Any], *, paths: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run one action; returns the typed values it sets on the record being moved. `paths`:
        the values of the paths through links its expressions read."""
        if action.kind == "set":
            return self._typed(self._evaluated(action.params, record, paths=paths))
        if action.kind == "create":
            target = action.params["entity"]
            target_entity = self.model.entities.get(target)
            tx.create(target, self._evaluated(action.params["values"], record, target_entity, paths=paths))
            return {}
        if action.kind == "copy":
            return self._copy(tx, action, record, paths=paths)
        plugin_action = self.actions.get(action.kind)
        if plugin_action is None:
            raise TransitionError("unknown_action", {"action": action.kind})
        context = ActionContext(tx, self.entity.name, dict(record), transition, action.params, inputs, tx.actor, tx.model)
        return self._typed(dict(plugin_action(context) or {}))

    def _copy(
        self, tx: Transaction, action: ActionDef, record: Mapping[str, Any], *, paths: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """A `copy` action: create a record of the target entity (this one by default) from
        `record` (engine/records/copying.py: what the plan copies and the actor may read and set),
        then `values` override. Returns `{link: new id}` for the moving record when the action
        names a `link`."""
        target = self.model.entity(action.params["entity"] or self.entity.name)
        plan = self._copy_plans.get(target.name)
        if plan is None:
            plan = self._copy_plans[target.name] = plan_between(self.model, self.entity, target)
        values = copied_values(tx, self.entity, record, target, plan, action.params.get("except", ()))
        values.update(self._evaluated(action.params["values"], record, target, paths=paths))
        created = tx.create(target.name, values)
        link = action.params.get("link")
        return self._typed({link: created["id"]}) if link else {}

    def on_enter(self, status: str, record: Mapping[str, Any], *, paths: Mapping[str, Any] | None = None) -> dict[str, Any]:
        definition = self.definition.status(status)
        if definition is None or not definition.on_enter:
            return {}
        return self._typed(self._evaluated(definition.on_enter, record, paths=paths))

    def _evaluated(
        self, sources: Mapping[str, str], record: Mapping[str, Any], target: EntityDef | None = None, *,
        paths: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The values of `sources` (name -> expression) on `record`; a failure is an `expression`
        error of the characteristic of `target` (this workflow's entity unless a `create` names another)."""
        target = target or self.entity
        values: dict[str, Any] = {}
        errors: dict[str, list[RuleError]] = {}
        seen = with_paths(record, paths)
        for name, source in sources.items():
            try:
                values[name] = self._expressions[source].evaluate(seen)
            except ExpressionError as error:
                errors[name] = [ExpressionFailed(target, name, source, error.message)]
        if errors:
            raise RecordValidationError(errors, target.name)
        return values

    def _typed(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values computed by the workflow, loaded through their characteristics' rules."""
        typed: dict[str, Any] = {}
        errors: dict[str, list[RuleError]] = {}
        for name, value in values.items():
            rules = self.rules.get(name)
            if rules is None:
                errors.setdefault(name, []).append(RuleError(name, "unknown"))
                continue
            try:
                typed[name] = rules.load(value)
            except RuleError as error:
                errors.setdefault(name, []).append(error)
        if errors:
            raise RecordValidationError(errors, self.entity.name)
        return typed

    def _status_label(self, status: str) -> str:
        definition = self.definition.status(status)
        return definition.label.en if definition else status


def _action_expressions(action: ActionDef) -> list[str]:
    if action.kind == "set":
        return list(action.params.values())
    if action.kind in ("create", "copy"):
        return list(action.params.get("values", {}).values())
    return []


def build_workflows(model: Model, validators: Mapping[str, Any], actions: Mapping[str, Action]) -> dict[str, WorkflowRuntime]:
    """One runtime per entity that names a workflow."""
    return {
        name: WorkflowRuntime(entity, model.workflow(entity.workflow), validators[name].rules, actions, model)
        for name, entity in model.entities.items()
        if entity.workflow
    }
