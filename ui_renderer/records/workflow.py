"""Workflow changes from the record pages: a transition, or a free move to a status. Either
first asks for the characteristics it requires that are still empty, in a small form."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import abort, redirect, request
from flask.typing import ResponseReturnValue

from engine import ConflictError, RecordValidationError, TransitionError
from metamodel.model import EntityDef, TransitionDef

from .common import (
    acting, actor_layout, engine, entity_or_404, form_cache, html, list_url, live_record, page_language, page_url,
    posted_version, rule_messages,
)
from .form import refused_page
from .form_state import FormState, editable_widgets, field_renderer, is_blank, prepare_links, read_values
from .status import has_convert_action
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import form_values

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
        hidden={"status": status.code}, move=True,
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
    """One workflow change of one record, and the small form asking for its required fields."""

    def __init__(
        self, entity: EntityDef, record: dict[str, Any], label: str, url: str, fields: list[str], *,
        hidden: Mapping[str, str] | None = None, move: bool = False,
    ):
        self.entity, self.record, self.label, self.url = entity, record, label, url
        self.hidden, self.move = hidden or {}, move
        self.lang = page_language()
        self.layout = actor_layout(entity.name, self.lang)
        self.widgets = editable_widgets(self.layout, fields)

    def apply(self, call: EngineCall, *, done: str) -> ResponseReturnValue:
        """Apply the change, asking first for its required fields that are still empty."""
        lang = self.lang
        asked = request.form.get("_prompt") == "1"
        state = FormState(values={})
        values: dict[str, Any] = {}
        if asked:
            values = read_values(self.widgets, request.form, lang, state)
            if state.errors:
                return self.prompt(state, status=422)
        elif any(is_blank(self.record.get(w.name)) for w in self.widgets):
            return self.prompt(state)
        try:
            call(values or None, posted_version())
        except TransitionError as error:
            if error.reason == "required":
                return self.prompt(self._with_errors(state, error.errors), status=422 if asked else 200)
            return self.refused(error.message(lang))
        except RecordValidationError as error:
            if asked:
                return self.prompt(self._with_errors(state, error.errors), status=422)
            return self.refused(error.describe(lang))
        except ConflictError as error:
            return refused_page(self.entity, error.current, words(lang)["f_stale_action"])
        return redirect(page_url("forms.edit", entity=self.entity.name, record_id=self.record["id"], done=done), 303)

    def _with_errors(self, state: FormState, errors: Mapping[str, Any]) -> FormState:
        state.add_errors(self.layout, rule_messages(errors, self.lang), [w.name for w in self.widgets])
        return state

    def refused(self, reason: str) -> ResponseReturnValue:
        problem = words(self.lang)["f_transition_refused"].format(transition=self.label, reason=reason)
        return refused_page(self.entity, self.record, problem)

    def prompt(self, state: FormState, status: int = 200) -> ResponseReturnValue:
        """The small form asking for the change's required fields (or confirming it)."""
        lang, record, label = self.lang, self.record, self.label
        original = form_values(self.layout, record)
        for w in self.widgets:
            state.values.setdefault(w.name, original[w.name])
        ui = words(lang)
        if self.widgets:
            intro = ui["f_move_fill" if self.move else "f_transition_fill"].format(transition=label, status=label)
        else:
            intro = ui["f_transition_confirm"].format(transition=label)
        title = form_cache().title(self.entity.name, record, lang)
        return html(
            "form_transition.html", status, entity=self.entity, record=record, layout=self.layout, widgets=self.widgets,
            state=state, field=field_renderer(state, prepare_links(self.widgets, state), {}, record),
            heading=ui["f_transition_title"].format(transition=label, title=title), title=title,
            intro=intro, action=self.url, hidden=self.hidden, version=request.form.get("_version") or record["version"],
            back_url=page_url("forms.edit", entity=self.entity.name, record_id=record["id"]), list_url=list_url(self.entity.name),
        )
