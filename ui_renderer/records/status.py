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
    could_tick = current is not None and any(s.open and s.sequence < current.sequence for s in definition.statuses)
    visited = visited_statuses(entity.name, record) if could_tick else frozenset()
    return SimpleNamespace(
        status_bar=status_bar(entity.name, definition, lang, current, visited), actions=actions,
        free=definition.free, moves=moves,
        current=current.label.get(lang) if current else record.get("status"),
        won=bool(current and current.won), lost=bool(current and current.lost), move_url=urls.page("/move"),
    )


def visited_statuses(entity: str, record: Mapping[str, Any]) -> frozenset[str]:
    """The statuses the record has been in, from its status history (the current one included)."""
    if record.get("id") is None:
        return frozenset({record["status"]}) if record.get("status") else frozenset()
    entered = engine().records.statuses_entered(entity, record["id"], actor=acting())
    return entered | {record["status"]} if record.get("status") else entered


def status_bar(
    entity: str, definition: WorkflowDef, lang: str, current: StatusDef | None, visited: frozenset[str] = frozenset()
) -> Markup:
    """The status bar's HTML: the same for every record in the same status with the same past,
    so rendered once per (status, statuses visited).

    A status is ticked as done only if the record passed through it on its way to the current
    one: it is in the record's status history, open, and before the current status in sequence.
    A status skipped (a lead lost straight from "new") stays to do, whatever its sequence.
    """
    done = frozenset(
        s.code for s in definition.statuses
        if current is not None and s.code in visited and s.open and s.sequence < current.sequence
    )
    bars: dict[tuple[str, str, str | None, frozenset[str]], Markup] = per_app("ossature_status_bars", dict)
    key = (entity, lang, current.code if current else None, done)
    found = bars.get(key)
    if found is None:
        steps = []
        for status in definition.statuses:
            if current is not None and status.code == current.code:
                state = "current"
            elif status.code in done:
                state = "done"
            else:
                state = "todo"
            steps.append(SimpleNamespace(
                label=status.label.get(lang), color=status_color(status.color), state=state, won=status.won, lost=status.lost,
            ))
        found = bars[key] = Markup(get_template_attribute("_form_macros.html", "status_bar")(steps))
    return found
