"""The workflow as the record pages show it: status colours, the status bar, and the
transitions the actor may apply now (refused ones with their reason)."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, Mapping
from urllib.parse import quote

from flask import get_template_attribute
from markupsafe import Markup

from metamodel.model import EntityDef, StatusDef, TransitionDef, WorkflowDef

from .common import RecordUrls, acting, engine, per_app
from ui_renderer.core.widgets import Option

CONVERT_ACTION = "convert_lead"
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
NEUTRAL_COLOR = "#64748b"


def status_color(color: str | None) -> str:
    return color if color and COLOR_RE.match(color) else NEUTRAL_COLOR


def has_convert_action(transition: TransitionDef) -> bool:
    return any(action.kind == CONVERT_ACTION for action in transition.actions)


def workflow_panel(entity: EntityDef, record: Mapping[str, Any], lang: str, urls: RecordUrls) -> SimpleNamespace | None:
    """The status bar and the transitions available now (refused ones with their reason)."""
    flow = engine().records.workflow_of(entity.name, required=False)
    if flow is None:
        return None
    definition = flow.definition
    current = definition.status(record.get("status") or "")
    actions = []
    for transition, refusal in flow.available(record, acting()):
        target = definition.status(transition.to)
        convert = has_convert_action(transition)
        url = (
            urls.page("/convert", transition=transition.name) if convert
            else urls.page("/transition/" + quote(transition.name))
        )
        actions.append(SimpleNamespace(
            name=transition.name, label=transition.label.get(lang),
            to=target.label.get(lang) if target else transition.to,
            color=status_color(target.color if target else None),
            refused=refusal.message(lang) if refusal else None, convert=convert, url=url,
        ))
    moves = []
    if definition.free:
        moves = [Option(s.code, s.label.get(lang)) for s in definition.statuses if current is None or s.code != current.code]
    return SimpleNamespace(
        status_bar=status_bar(entity.name, definition, lang, current), actions=actions,
        free=definition.free, moves=moves,
        current=current.label.get(lang) if current else record.get("status"),
        won=bool(current and current.won), lost=bool(current and current.lost), move_url=urls.page("/move"),
    )


def status_bar(entity: str, definition: WorkflowDef, lang: str, current: StatusDef | None) -> Markup:
    """The status bar's HTML: the same for every record in the same status, so rendered once."""
    bars: dict[tuple[str, str, str | None], Markup] = per_app("ossature_status_bars", dict)
    key = (entity, lang, current.code if current else None)
    found = bars.get(key)
    if found is None:
        steps = []
        for status in definition.statuses:
            if current is not None and status.code == current.code:
                state = "current"
            elif current is not None and status.open and status.sequence < current.sequence:
                state = "done"
            else:
                state = "todo"
            steps.append(SimpleNamespace(
                label=status.label.get(lang), color=status_color(status.color), state=state, won=status.won, lost=status.lost,
            ))
        found = bars[key] = Markup(get_template_attribute("_form_macros.html", "status_bar")(steps))
    return found
