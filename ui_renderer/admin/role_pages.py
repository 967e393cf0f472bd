"""Role permissions, entity by entity: operations, scope, hidden and read-only characteristics."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue

from metamodel.editing.definition_edits import DefinitionEditError
from metamodel.model import ENTITY_OPERATIONS, SCOPES, EntityPermission, RoleDef

from .context import admin, admin_url, definitions, lang, model, origin, page
from .entity_pages import entity_or_404
from .inputs import FormReader
from .review import edit_refused, review
from .words import say

PERMISSION_FIELDS = ("can", "scope", "hidden", "readonly", "entities")


def role_or_404(name: str) -> RoleDef:
    found = model().roles.get(name)
    if found is None:
        abort(404)
    return found


@admin.get("/roles/<name>")
def role_page(name: str) -> ResponseReturnValue:
    role = role_or_404(name)
    entities = [e for e in model().entities.values() if e.owned_by is None]  # lines follow their owner's
    return page("role.html", role=role, origin=origin, operations=ENTITY_OPERATIONS,
                entities=sorted(entities, key=lambda e: e.label.get(lang())))


@admin.route("/roles/<name>/<entity>", methods=["GET", "POST"])
def permission(name: str, entity: str) -> ResponseReturnValue:
    role = role_or_404(name)
    definition = entity_or_404(entity)
    if role.admin or definition.owned_by is not None:  # an owned entity's lines follow its owner's permissions
        abort(404)
    granted = role.entities.get(entity, EntityPermission(scope="all"))
    fields = [f.name for f in definition.fields if f.type != "status"]

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        values = context.pop("values", None) or {
            "can": set(granted.operations), "scope": granted.scope, "hidden": set(granted.hidden),
            "readonly": set(granted.readonly),
        }
        return page("permission.html", status=status, role=role, entity=definition, values=values,
                    operations=ENTITY_OPERATIONS, scopes=SCOPES, fields=fields, **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    can = reader.choices("can", ENTITY_OPERATIONS)
    scope = reader.choice("scope", SCOPES, required=True) or "all"
    hidden = reader.choices("hidden", fields)
    readonly = reader.choices("readonly", fields)
    shown = {"can": set(can), "scope": scope, "hidden": set(hidden), "readonly": set(readonly)}

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        return form(status, values=shown, **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    try:
        editor.set_permission(name, entity, can, scope, hidden, readonly)
    except DefinitionEditError as error:
        return edit_refused(error, retry)
    summary = say(lang(), "summary_permissions", role=name, entity=entity)
    return review(editor, summary, admin_url("role_page", name=name), retry, PERMISSION_FIELDS)
