"""Workflow changes from the record pages: a transition, or a free move to a status. Either
first asks for the characteristics it requires that are still empty, in a small form, with the
ones its answers can make mandatory (see `conditions`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping

from flask import abort, redirect, request
from flask.typing import ResponseReturnValue

from engine import ConflictError, RecordValidationError, TransitionError
from metamodel.model import EntityDef, TransitionDef

from .common import (
    acting, actor_layout, engine, entity_or_404, form_cache, html, list_url, live_record, page_language, page_url,
    posted_version, rule_messages,
)
from .conditions import conditional_names, page_rule
from .form import refused_page
from .form_state import FormState, editable_widgets, field_renderer, is_blank, prepare_links, read_values
from .status import has_convert_action
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import Widget, form_values

EngineCall = Callable[[dict[str, Any] | None, int | None], Any]
"""(values, version) -> the changed record; raises what the engine raises."""


def transition(entity: str, record_id: int, name: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    chosen = transition_or_404(definition, name)
    if has_convert_action(chosen):
        return redirect(page_url("forms.convert", entity=entity, record_id=record_id, transition=name), 303)
    current = live_record(entity, record_id)
    change = WorkflowChange(
        definition, current, chosen.label.get(page_language()),
        page_url("forms.transition", entity=entity, record_id=record_id, name=name), list(chosen.required),
        to=chosen.to, creating=[str(a.params["link"]) for a in chosen.actions if a.params.get("link")],
    )
    if request.method == "GET":
        return change.prompt(FormState(values={}))
    records = engine().records
    return change.apply(
        lambda values, version: records.transition(entity, record_id, name, acting(), values=values, version=version),
        done=name,
    )


def move(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    if not definition.workflow:
        abort(404)
    workflow = engine().model.workflow(definition.workflow)
    status = workflow.status(request.form.get("status", ""))
    if status is None:
        abort(400)
    current = live_record(entity, record_id)
    change = WorkflowChange(
        definition, current, status.label.get(page_language()), page_url("forms.move", entity=entity, record_id=record_id),
        list(dict.fromkeys(f for t in workflow.transitions if t.to == status.code for f in t.required)),
        hidden={"status": status.code}, move=True, to=status.code,
    )
    records = engine().records
    return change.apply(
        lambda values, version: records.move_to(entity, record_id, status.code, acting(), values=values, version=version),
        done=f"move:{status.code}",
    )


def transition_or_404(entity: EntityDef, name: str) -> TransitionDef:
    if not entity.workflow:
        abort(404)
    found = next((t for t in engine().model.workflow(entity.workflow).transitions if t.name == name), None)
    if found is None:
        abort(404)
    return found


class WorkflowChange:
    """One workflow change of one record, and the small form asking for what it needs: the fields
    it requires that are still empty, the fields its answers can make mandatory (`mandatory_when`
    reading one of them: shown by the page's script when they are), and any other field the
    engine found missing when it tried (`_asked` names those the form carries)."""

    def __init__(
        self, entity: EntityDef, record: dict[str, Any], label: str, url: str, fields: list[str], *, to: str,
        hidden: Mapping[str, str] | None = None, move: bool = False, creating: Iterable[str] = (),
    ):
        self.entity, self.record, self.label, self.url = entity, record, label, url
        self.creating = tuple(creating)
        """The links the change's actions fill with the records they make (`link:`)."""
        self.arriving = {**record, "status": to}
        """The record as its conditions see it once moved (a `mandatory_when` may read the status)."""
        self.hidden, self.move = hidden or {}, move
        self.lang = page_language()
        self.layout = actor_layout(entity.name, self.lang)
        self.widgets = editable_widgets(self.layout, fields)
        self.validator = engine().records.validator(entity.name)
        self.conditions = self.validator.conditions()
        self.conditional = editable_widgets(
            self.layout, conditional_names(self.layout, self.conditions, [w.name for w in self.widgets])
        )
        self.extra: list[Widget] = []

    def apply(self, call: EngineCall, *, done: str) -> ResponseReturnValue:
        """Apply the change, asking first for what it needs that is still empty."""
        lang = self.lang
        asked = request.form.get("_prompt") == "1"
        state = FormState(values={})
        values: dict[str, Any] = {}
        if asked:
            posted = request.form.getlist("_asked")
            self._ask_also(posted)
            read = [*self.widgets, *(w for w in (*self.conditional, *self.extra) if w.name in posted)]
            values = read_values(read, request.form, lang, state)
            if state.errors:
                return self.prompt(state, status=422)
        elif self._incomplete():
            return self.prompt(state)
        try:
            updated = call(values or None, posted_version())
        except TransitionError as error:
            if error.reason == "required":
                return self.prompt(self._with_errors(state, error.errors), status=422 if asked else 200)
            return self.refused(error.message(lang))
        except RecordValidationError as error:
            fillable = [n for n in error.errors if self._fillable(n)]
            if asked or fillable:
                self._ask_also(fillable)
                return self.prompt(self._with_errors(state, error.errors), status=422 if asked else 200)
            return self.refused(error.describe(lang))
        except ConflictError as error:
            return refused_page(self.entity, error.current, words(lang)["f_stale_action"])
        return redirect(page_url("forms.edit", entity=self.entity.name, record_id=self.record["id"], done=done,
                                 created=self._created(updated)), 303)

    def _created(self, updated: Any) -> list[str]:
        """The links the change filled with a record its actions made (an action naming `link:`,
        as `copy` does): the page then names those records, with links to them."""
        if not isinstance(updated, Mapping):
            return []
        return [name for name in self.creating if updated.get(name) is not None
                and updated.get(name) != self.record.get(name)]

    def _shown(self) -> list[Widget]:
        return [*self.widgets, *self.conditional, *self.extra]

    def _fillable(self, name: str) -> bool:
        w = self.layout.widgets.get(name)
        return w is not None and not w.readonly

    def _ask_also(self, names: Iterable[str]) -> None:
        """Ask for these fields too (the actor may fill them in; the others are ignored)."""
        shown = {w.name for w in self._shown()}
        self.extra.extend(editable_widgets(self.layout, [n for n in dict.fromkeys(names) if n not in shown]))

    def _incomplete(self) -> bool:
        """A required field is empty, or a field the record's answers make mandatory is."""
        record = self.arriving
        return any(is_blank(record.get(w.name)) for w in self.widgets) or any(
            is_blank(record.get(w.name)) and self.validator.condition_holds(w.name, record) for w in self.conditional
        )

    def _with_errors(self, state: FormState, errors: Mapping[str, Any]) -> FormState:
        state.add_errors(self.layout, rule_messages(errors, self.lang), [w.name for w in self._shown()])
        return state

    def refused(self, reason: str) -> ResponseReturnValue:
        problem = words(self.lang)["f_transition_refused"].format(transition=self.label, reason=reason)
        return refused_page(self.entity, self.record, problem)

    def prompt(self, state: FormState, status: int = 200) -> ResponseReturnValue:
        """The small form asking for the change's fields (or confirming it)."""
        lang, record, label = self.lang, self.record, self.label
        shown = self._shown()
        original = form_values(self.layout, record)
        for w in shown:
            state.values.setdefault(w.name, original[w.name])
        ui = words(lang)
        if shown:
            intro = ui["f_move_fill" if self.move else "f_transition_fill"].format(transition=label, status=label)
        else:
            intro = ui["f_transition_confirm"].format(transition=label)
        conditional = {w.name for w in self.conditional}
        required = {w.name for w in self.widgets}
        rows = [
            SimpleNamespace(
                widget=w, asked=w.name not in required,
                rule=page_rule(w.name, self.conditions[w.name], shown, self.arriving, self.validator.condition_holds)
                if w.name in conditional else None,
            )
            for w in shown
        ]
        title = form_cache().title(self.entity.name, record, lang)
        return html(
            "form_transition.html", status, entity=self.entity, record=record, layout=self.layout, rows=rows,
            state=state, field=field_renderer(state, prepare_links(shown, state), {}, record),
            heading=ui["f_transition_title"].format(transition=label, title=title), title=title,
            intro=intro, action=self.url, hidden=self.hidden, version=request.form.get("_version") or record["version"],
            back_url=page_url("forms.edit", entity=self.entity.name, record_id=record["id"]), list_url=list_url(self.entity.name),
        )
