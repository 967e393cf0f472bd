"""Workflows: statuses (with their sequence, colour and state) and transitions (from, to, roles)."""

from __future__ import annotations

from typing import Any, Callable

from flask import abort, request
from flask.typing import ResponseReturnValue

from metamodel.editing.definition_edits import DefinitionEditError, text_data
from metamodel.model import StatusDef, TransitionDef, WorkflowDef

from .context import admin, admin_url, definitions, lang, model, origin, page
from .inputs import CODE_LENGTH, FormReader
from .review import edit_refused, review
from .words import say

STATUS_KINDS = ("open", "won", "lost", "closed")
KIND_FLAGS = {
    "open": {"open": True, "won": False, "lost": False},
    "won": {"open": False, "won": True, "lost": False},
    "lost": {"open": False, "won": False, "lost": True},
    "closed": {"open": False, "won": False, "lost": False},
}
STATUS_FIELDS = ("code", "label_en", "label_fr", "label", "sequence", "color", "kind", "open", "won", "lost")
TRANSITION_FIELDS = ("name", "label_en", "label_fr", "label", "from", "to", "roles")


def workflow_or_404(name: str) -> WorkflowDef:
    found = model().workflows.get(name)
    if found is None:
        abort(404)
    return found


def status_kind(status: StatusDef) -> str:
    return "won" if status.won else "lost" if status.lost else "open" if status.open else "closed"


def _workflow_page(workflow: WorkflowDef, status: int = 200, **context: Any) -> ResponseReturnValue:
    current = model()
    return page(
        "workflow.html", status=status, workflow=workflow, origin=origin, status_kind=status_kind,
        entities=[e for e in current.entities.values() if e.workflow == workflow.name],
        status_values=context.pop("status_values", {"kind": "open"}),
        transition_values=context.pop("transition_values", {}), form=context.pop("form", None),
        roles=sorted(current.roles), **context,
    )


def _submitted() -> dict[str, Any]:
    shown: dict[str, Any] = {key: request.form.get(key) for key in request.form}
    shown["label"] = {"en": request.form.get("label_en", ""), "fr": request.form.get("label_fr", "")}
    shown["from"] = request.form.getlist("from")
    shown["roles"] = request.form.getlist("roles")
    return shown


# -- statuses --------------------------------------------------------------------------------


def _status_values(reader: FormReader) -> dict[str, Any]:
    kind = reader.choice("kind", STATUS_KINDS, required=True) or "open"
    return {"label": reader.label(), "sequence": reader.integer("sequence", minimum=0), "color": reader.color("color"),
            **KIND_FLAGS[kind]}


@admin.get("/workflows/<name>")
def workflow_page(name: str) -> ResponseReturnValue:
    return _workflow_page(workflow_or_404(name))


@admin.post("/workflows/<name>/statuses")
def add_status(name: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    reader = FormReader(request.form, lang())
    code = reader.identifier("code", length=CODE_LENGTH)
    values = _status_values(reader)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _workflow_page(workflow, status, status_values=_submitted(), form="status", **context)

    return _change(reader, retry, lambda editor: editor.add_status(name, code, values),
                   say(lang(), "summary_add_status", workflow=name, code=code), name, STATUS_FIELDS)


@admin.route("/workflows/<name>/statuses/<code>", methods=["GET", "POST"])
def edit_status(name: str, code: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    status_def = workflow.status(code)
    if status_def is None:
        abort(404)

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        values = context.pop("values", None) or {
            "label": text_data(status_def.label), "sequence": status_def.sequence, "color": status_def.color,
            "kind": status_kind(status_def),
        }
        return page("status.html", status=status, workflow=workflow, status_def=status_def, values=values, **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    values = _status_values(reader)
    if values["sequence"] is None and not reader.errors:
        values["sequence"] = status_def.sequence

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, values=_submitted(), **context)

    return _change(reader, retry, lambda editor: editor.set_status(name, code, values),
                   say(lang(), "summary_edit_status", workflow=name, code=code), name, STATUS_FIELDS)


@admin.post("/workflows/<name>/statuses/<code>/remove")
def remove_status(name: str, code: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    if workflow.status(code) is None:
        abort(404)
    reader = FormReader(request.form, lang())

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _workflow_page(workflow, status, **context)

    return _change(reader, retry, lambda editor: editor.remove_status(name, code),
                   say(lang(), "summary_remove_status", workflow=name, code=code), name, STATUS_FIELDS)


# -- transitions -----------------------------------------------------------------------------


def _transition_values(reader: FormReader, workflow: WorkflowDef) -> dict[str, Any]:
    codes = [s.code for s in workflow.statuses]
    sources = reader.choices("from", codes)
    if not sources:
        reader.fail("from", "need_from")
    return {"label": reader.label(), "from": sources, "to": reader.choice("to", codes, required=True),
            "roles": reader.choices("roles", sorted(model().roles))}


@admin.post("/workflows/<name>/transitions")
def add_transition(name: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    reader = FormReader(request.form, lang())
    transition = reader.identifier("name")
    values = _transition_values(reader, workflow)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _workflow_page(workflow, status, transition_values=_submitted(), form="transition", **context)

    return _change(reader, retry, lambda editor: editor.add_transition(name, transition, values),
                   say(lang(), "summary_add_transition", workflow=name, name=transition), name, TRANSITION_FIELDS)


def _transition_or_404(workflow: WorkflowDef, transition: str) -> TransitionDef:
    found = next((t for t in workflow.transitions if t.name == transition), None)
    if found is None:
        abort(404)
    return found


@admin.route("/workflows/<name>/transitions/<transition>", methods=["GET", "POST"])
def edit_transition(name: str, transition: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    current = _transition_or_404(workflow, transition)

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        values = context.pop("values", None) or {
            "label": text_data(current.label), "from": list(current.from_statuses), "to": current.to,
            "roles": list(current.roles),
        }
        return page("transition.html", status=status, workflow=workflow, transition=current, values=values,
                    roles=sorted(model().roles), **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    values = _transition_values(reader, workflow)

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, values=_submitted(), **context)

    return _change(reader, retry, lambda editor: editor.set_transition(name, transition, values),
                   say(lang(), "summary_edit_transition", workflow=name, name=transition), name, TRANSITION_FIELDS)


@admin.post("/workflows/<name>/transitions/<transition>/remove")
def remove_transition(name: str, transition: str) -> ResponseReturnValue:
    workflow = workflow_or_404(name)
    _transition_or_404(workflow, transition)
    reader = FormReader(request.form, lang())

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return _workflow_page(workflow, status, **context)

    return _change(reader, retry, lambda editor: editor.remove_transition(name, transition),
                   say(lang(), "summary_remove_transition", workflow=name, name=transition), name, TRANSITION_FIELDS)


def _change(
    reader: FormReader, retry: Callable[..., ResponseReturnValue], edit: Callable[[Any], None], summary: str,
    workflow: str, names: tuple[str, ...],
) -> ResponseReturnValue:
    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    try:
        edit(editor)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    return review(editor, summary, admin_url("workflow_page", name=workflow), retry, names)
