"""The related panels of an entity's form: which reverse relations show under it, in which
order, with which columns, sort and page size (`views.form.related`).

The page lists every reverse relation of the entity. "Default panels" leaves the choice to the
packs (one panel per relation unless a pack declares them); "these panels" writes `related:`
with the relations given a position, in that order, and none when no position is given
(`related: []`). Columns and sort are names or paths of the relation's source entity, separated
by commas; left as their defaults (the source entity's list) they are not written, so that the
panel keeps following that list. Every path and name is checked by loading the change, as a
pack's would be, before the review page shows it.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue

from metamodel.editing.definition_edits import default_panel
from metamodel.errors import Problem
from metamodel.model import EntityDef, RelationDef

from .context import admin, admin_url, definitions, lang, model, origin, page
from .entity_pages import entity_or_404
from .inputs import FormReader
from .review import review
from .words import say

MAX_PANEL_SIZE = 100
"""As the definition language bounds `size` (1 to 100): said at once on the form."""


def _names(text: str | None) -> list[str] | None:
    """`a, b.c, -d` as a list of names; None for nothing given (the default)."""
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    return names or None


def _shown(entity: EntityDef, view: str) -> dict[str, Any]:
    """The form as the model has it: the mode, and per relation its position, columns, sort, size."""
    form_view = entity.view(view)
    panels: dict[str, dict[str, Any]] = {}
    for index, panel in enumerate(form_view.related):
        panels[panel.relation] = {"position": index + 1 if form_view.declared_related else "",
                                  "columns": ", ".join(panel.columns), "sort": ", ".join(panel.sort),
                                  "size": panel.size}
    return {"mode": "chosen" if form_view.declared_related else "default", "panels": panels}


def _defaults(entity: EntityDef) -> dict[str, Any]:
    current = model()
    return {r.name: default_panel(current, entity.name, r.name) for r in entity.relations}


def _problem_fields(problems: list[Problem], relations: tuple[RelationDef, ...],
                    chosen: list[str]) -> dict[str, str]:
    """A problem at `views.form.related.N.KEY` under the input of the N-th panel given."""
    found: dict[str, str] = {}
    for problem in problems:
        parts = problem.path.split(".")
        if "related" not in parts:
            continue
        at = parts.index("related")
        rest = parts[at + 1:]
        if rest and rest[0].isdigit() and int(rest[0]) < len(chosen):
            key = rest[1] if len(rest) > 1 and rest[1] in ("columns", "sort", "size") else "position"
            found.setdefault(f"{key}-{chosen[int(rest[0])]}", problem.message)
    return found


@admin.route("/entities/<entity>/related", methods=["GET", "POST"])
def related_panels(entity: str) -> ResponseReturnValue:
    """The panels of the entity's form."""
    return _related_page(entity, "form")


@admin.route("/entities/<entity>/views/<view>/related", methods=["GET", "POST"])
def view_related_panels(entity: str, view: str) -> ResponseReturnValue:
    """The panels of a named form view of the entity."""
    return _related_page(entity, view)


def _related_page(entity: str, view: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    if definition.owned_by is not None:  # no form of its own: its lines are edited in its owner's
        abort(404)
    if view != "form" and not any(v.name == view and v.kind == "form" for v in definition.views):
        abort(404)
    relations = definition.relations
    defaults = _defaults(definition)
    action = admin_url("related_panels", entity=entity) if view == "form" else admin_url(
        "view_related_panels", entity=entity, view=view)

    def form(status: int = 200, **context: Any) -> ResponseReturnValue:
        shown = context.pop("shown", None) or _shown(definition, view)
        return page("related.html", status=status, entity=definition, relations=relations, defaults=defaults,
                    shown=shown, origin=origin, max_size=MAX_PANEL_SIZE, action=action,
                    view=definition.view(view), **context)

    if request.method == "GET":
        return form()
    reader = FormReader(request.form, lang())
    mode = reader.choice("mode", ("default", "chosen"), required=True) or "default"
    placed: list[tuple[int, int, str]] = []
    panels: dict[str, dict[str, Any]] = {}
    for index, relation in enumerate(relations):
        name = relation.name
        position = reader.integer(f"position-{name}", minimum=1)
        size = reader.integer(f"size-{name}", minimum=1)
        if size is not None and size > MAX_PANEL_SIZE:
            reader.fail(f"size-{name}", "bad_size", max=MAX_PANEL_SIZE)
        panels[name] = {"columns": _names(request.form.get(f"columns-{name}")),
                        "sort": _names(request.form.get(f"sort-{name}")), "size": size}
        if position is not None:
            placed.append((position, index, name))
    chosen = [name for _position, _index, name in sorted(placed)]
    shown = {"mode": mode, "panels": {
        r.name: {key: request.form.get(f"{key}-{r.name}", "") for key in ("position", "columns", "sort", "size")}
        for r in relations}}

    def retry(status: int = 422, **context: Any) -> ResponseReturnValue:
        problems = context.get("problems") or []
        errors = {**_problem_fields(problems, relations, chosen), **(context.pop("errors", None) or {})}
        return form(status, shown=shown, errors=errors, **context)

    if reader.errors:
        return retry(errors=reader.errors)
    editor = definitions().editor()
    editor.set_related(entity, None if mode == "default" else [{"relation": n, **panels[n]} for n in chosen], view)
    summary = (say(lang(), "summary_related", entity=entity) if view == "form"
               else say(lang(), "summary_view_related", entity=entity, view=view))
    return review(editor, summary, admin_url("entity_page", entity=entity), retry)
