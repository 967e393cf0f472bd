"""What every administration page shares: the blueprint, who may use it, the definitions being
edited (the overlay's latest revision and the `Model` it makes), and page rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from flask import Blueprint, abort, current_app, g, render_template, url_for
from flask.typing import ResponseReturnValue

from engine import Actor
from engine.installation.definitions import Installation
from engine.installation.live import LiveEngine
from engine.installation.runtime import Engine
from metamodel.editing.definition_edits import OverlayEditor
from metamodel.model import Model, Source
from metamodel.reading.overlay import OVERLAY_PACK
from ui_renderer.core.actor import current_actor
from ui_renderer.core.language import request_language
from ui_renderer.core.live_app import live_engine

from .words import admin_words

admin = Blueprint("admin", __name__, url_prefix="/admin")


def is_admin(actor: Actor, model: Model) -> bool:
    """An administrator: the system, a holder of an `admin: true` role, or anybody while the
    definitions declare no role at all (permissions are not enforced then, as in the engine)."""
    if actor.system or not model.roles:
        return True
    return any(model.roles[name].admin for name in actor.roles if name in model.roles)


def lang() -> str:
    return request_language()


def live() -> LiveEngine:
    found = live_engine(current_app)
    if found is None:
        abort(503, admin_words(lang()).no_live_engine)
    return found


def installation() -> Installation:
    return live().installation


@dataclass(frozen=True)
class Definitions:
    """The overlay as it stands (its revision and documents) and the model it makes."""

    revision: int
    documents: Mapping[str, str]
    model: Model

    def editor(self) -> OverlayEditor:
        return OverlayEditor(self.documents, self.model)


def definitions() -> Definitions:
    """Read once per request, and fresh: an administrator edits the newest revision."""
    if "admin_definitions" not in g:
        engine: Engine = live().current(check_now=True)
        snapshot = installation().snapshot()
        model = engine.model
        if live().state != snapshot.state:  # changed between the two reads: load what the snapshot says
            model = installation().load().model
        overlay = snapshot.overlay
        g.admin_definitions = Definitions(
            overlay.id if overlay else 0, dict(overlay.documents) if overlay else {}, model,
        )
    return g.admin_definitions


def model() -> Model:
    return definitions().model


def acting() -> Actor:
    return current_actor()


@admin.before_request
def only_administrators() -> ResponseReturnValue | None:
    current = live().current()
    if not is_admin(current_actor(), current.model):
        w = admin_words(lang())
        return render_template("refused.html", message=w.not_admin), 403
    return None


def admin_home() -> str | None:
    """The administration pages' address for the current user when they may use them, else None
    (for a link in the page header: `{% if admin_home() %}`)."""
    from ui_renderer.core.security import logged_in_actor

    if current_app.config.get("LOGIN_REQUIRED", True) and logged_in_actor() is None:
        return None
    engine = current_app.extensions.get("ossature")
    if engine is None or not is_admin(current_actor(), engine.model):
        return None
    # Every page's header asks: the address is built once per language.
    built = current_app.extensions.setdefault("ossature_admin_home", {})
    language = lang()
    if language not in built:
        built[language] = url_for("admin.overview", lang=language)
    return built[language]


def admin_url(endpoint: str, **values: Any) -> str:
    """An admin page's URL, keeping the language the URL chose."""
    return url_for(f"admin.{endpoint}", **values, lang=lang())


FORM_STATE = {"errors": {}, "problems": [], "notice": None, "refusal": None}
"""What a form page shows besides its inputs: mistakes by field, definition problems, a notice,
and an edit the definition language refuses."""


def page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    language = lang()
    context = {**FORM_STATE, **context}
    body = render_template(
        f"admin/{template}", w=admin_words(language), admin_url=admin_url, model=model(),
        revision=definitions().revision, **context,
    )
    return body, status, {"Vary": "Accept-Language", "Content-Language": language}


def origin(source: Source, model: Model) -> str:
    """The pack a definition was declared in, by its file: the pack whose path holds it."""
    file = source.file
    found = [p for p in model.packs if file == p.path or file.startswith(p.path.rstrip("/") + "/")]
    if found:
        return max(found, key=lambda p: len(p.path)).name
    return OVERLAY_PACK if file.startswith(OVERLAY_PACK + "/") else file


def from_overlay(source: Source) -> bool:
    return source.file.startswith(OVERLAY_PACK + "/")
