"""A record's history page: every change from the audit log, the validity periods of its
historized characteristics, the statuses it went through and the time spent in each."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Mapping

from flask import abort
from flask.typing import ResponseReturnValue

from engine import NotFoundError
from metamodel.model import EntityDef

from .duplicates import merge_changes
from .common import (
    acting, actor_layout, engine, entity_or_404, form_cache, hidden_of, html, links, list_url, page_language, page_url,
)
from .status import NEUTRAL_COLOR, status_color
from ui_renderer.core.i18n import format_datetime, words
from ui_renderer.core.language import sort_key
from .words import human_duration
from ui_renderer.core.widgets import FormLayout, Widget, display

Who = Callable[[int | None], str]
"""A user id (None: the system) -> the name the page shows."""


def history(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    records = engine().records
    actor = acting()
    try:
        record = records.get(entity, record_id, include_deleted=True, actor=actor)
    except NotFoundError:
        abort(404)
    layout = actor_layout(entity, lang)
    hidden = hidden_of(entity)
    audit = under_current_names(definition, records.audit_log(entity, record_id, actor=actor), hidden)
    periods = {
        f.name: records.history(entity, record_id, f.name, actor=actor)
        for f in definition.historized_fields if f.name not in hidden
    }
    statuses = records.status_history(entity, record_id, actor=actor) if definition.workflow else []
    found = linked_titles(layout, audit, periods)
    who = names_of_users(audit, periods, statuses, lang)
    title = form_cache().title(entity, record, lang)
    status_rows, totals = status_tables(definition, record_id, statuses, who, lang)
    return html(
        "history.html", entity=definition, record=record,
        entries=audit_entries(layout, audit, found, who, lang), timelines=timelines(layout, periods, found, who, lang),
        status_rows=status_rows, totals=totals, heading=words(lang)["f_history_title"].format(title=title), title=title,
        edit_url=page_url("forms.edit", entity=entity, record_id=record_id), list_url=list_url(entity),
        in_trash=record["deleted_at"] is not None,
    )


def current_names(definition: EntityDef) -> dict[str, str]:
    """Every name a characteristic had -> its name now (`renamed_from`). A name that is a
    characteristic's name now stays that characteristic's, even if another one had it once."""
    names = {old: f.name for f in definition.fields for old in f.renamed_from}
    names.update({f.name: f.name for f in definition.fields})
    return names


def under_current_names(
    definition: EntityDef, audit: list[dict[str, Any]], hidden: frozenset[str]
) -> list[dict[str, Any]]:
    """The audit log with each change under the characteristic's current name: changes made
    before a rename are stored under the old column name. Changes of a characteristic the
    actor may not see are left out, whatever name they were stored under."""
    names = current_names(definition)
    shown = []
    for entry in audit:
        changes = entry.get("changes")
        if changes and entry["action"] != "merge":
            renamed: dict[str, Any] = {}
            for name, pair in changes.items():
                current = names.get(name, name)
                if current not in hidden:
                    renamed.setdefault(current, pair)
            entry = {**entry, "changes": renamed}
        shown.append(entry)
    return shown


def linked_titles(
    layout: FormLayout, audit: list[dict[str, Any]], periods: Mapping[str, list[dict[str, Any]]]
) -> dict[str, dict[int, str]]:
    """Target entity -> id -> title of every record a change or a period links to (one read per entity)."""
    link_ids: dict[str, set[int]] = {}
    for entry in audit:
        if entry["action"] == "merge":
            continue  # it names records, not characteristics
        for name, pair in (entry.get("changes") or {}).items():
            w = layout.widgets.get(name)
            if w is not None and w.kind == "link":
                link_ids.setdefault(w.target or "", set()).update(int(v) for v in pair if v is not None)
            elif w is not None and w.kind == "links":  # the members before and after
                link_ids.setdefault(w.target or "", set()).update(int(v) for side in pair for v in side or ())
    for name, rows in periods.items():
        w = layout.widgets[name]
        if w.kind == "link":
            link_ids.setdefault(w.target or "", set()).update(int(p["value"]) for p in rows if p["value"] is not None)
    return {target: links().titles(target, ids) for target, ids in link_ids.items()}


def names_of_users(
    audit: list[dict[str, Any]], periods: Mapping[str, list[dict[str, Any]]], statuses: list[dict[str, Any]], lang: str
) -> Who:
    """Who made each change: the user's title, "#12" for one the actor may not see, or the system."""
    ids = {entry["actor_id"] for entry in audit}
    ids.update(p["changed_by"] for rows in periods.values() for p in rows)
    ids.update(p["changed_by"] for p in statuses)
    ids.discard(None)
    people = links().titles("user", ids) if "user" in engine().model.entities and ids else {}
    system = words(lang)["f_system"]
    return lambda actor_id: system if actor_id is None else people.get(actor_id, f"#{actor_id}")


def audit_entries(
    layout: FormLayout, audit: list[dict[str, Any]], found: Mapping[str, Mapping[int, str]], who: Who, lang: str
) -> list[dict[str, Any]]:
    """The audit log, newest first, each change as the values a reader expects."""
    ui = words(lang)
    entries = []
    for entry in reversed(audit):
        changes = merge_changes(entry.get("changes"), lang) if entry["action"] == "merge" else []
        for name, (old, new_value) in (entry.get("changes") or {}).items() if entry["action"] != "merge" else ():
            w = layout.widgets.get(name)
            if w is None:  # a characteristic removed from the definitions: its name and its values as stored
                changes.append({"label": name, "old": stored_text(old, lang), "new": stored_text(new_value, lang)})
                continue
            if w.kind == "lines" and isinstance(old, Mapping) and isinstance(new_value, Mapping):
                changes.append({"label": w.label, "old": None, "new": lines_change(old, new_value, lang)})
                continue
            targets = found.get(w.target or "", {})
            if w.kind == "links" and isinstance(old, list) and isinstance(new_value, list):
                changes.append({"label": w.label, "old": None, "new": members_change(old, new_value, targets, lang)})
                continue
            changes.append({"label": w.label, "old": display(w, old, lang, targets), "new": display(w, new_value, lang, targets)})
        entries.append({
            "when": format_datetime(entry["changed_at"], lang), "who": who(entry["actor_id"]),
            "action": ui.get(f"f_action_{entry['action']}", entry["action"]), "kind": entry["action"],
            "version": entry["version"], "changes": changes,
        })
    return entries


def members_change(before: list[Any], after: list[Any], titles: Mapping[int, str], lang: str) -> str:
    """Who joined and who left a `links` characteristic ("added: Ann Durand · removed: Bob
    Martin"), by title: the whole sets before and after would bury a change of one member of a
    list of hundreds."""
    ui = words(lang)
    kept_before, kept_after = {int(i) for i in before}, {int(i) for i in after}
    named = lambda ids: ", ".join(sorted((titles.get(i) or f"#{i}" for i in ids), key=sort_key))  # noqa: E731
    parts = [ui[word].format(names=named(ids)) for word, ids in
             (("f_members_added", kept_after - kept_before), ("f_members_removed", kept_before - kept_after)) if ids]
    return " · ".join(parts) or ui["f_none"]


def lines_change(before: Mapping[str, Any], after: Mapping[str, Any], lang: str) -> str:
    """What a change did to a record's lines, from the audit's summary of it (engine/records/
    collections/store.py `lines_summary`): "2 added, 1 removed, 1 changed". Moved lines count as
    changed (their position is a value of theirs)."""
    ui = words(lang)
    counts = (
        ("f_lines_added", len(after.get("added") or [])), ("f_lines_removed", len(before.get("removed") or [])),
        ("f_lines_edited", len(after.get("changed") or [])),
    )
    return ", ".join(ui[word].format(count=count) for word, count in counts if count) or ui["f_lines_changed"]


def stored_text(value: Any, lang: str) -> str:
    """A value of the audit log's JSON with no characteristic to read it by: empty as the page
    writes empty values, a list as its items."""
    if value is None or value == "" or value == []:
        return words(lang)["f_none"]
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return words(lang)["f_yes" if value else "f_no"]
    return str(value)


def timelines(
    layout: FormLayout, periods: Mapping[str, list[dict[str, Any]]], found: Mapping[str, Mapping[int, str]], who: Who,
    lang: str,
) -> list[dict[str, Any]]:
    """Per historized characteristic, its values and when each held, newest first."""
    ui = words(lang)
    shown = []
    for name, rows in periods.items():
        w: Widget = layout.widgets[name]
        targets = found.get(w.target or "", {})
        shown.append({"label": w.label, "periods": [
            {
                "from": format_datetime(p["valid_from"], lang),
                "to": format_datetime(p["valid_to"], lang) if p["valid_to"] else ui["f_now"],
                "value": display(w, p["value"], lang, targets), "who": who(p["changed_by"]), "current": p["valid_to"] is None,
            }
            for p in reversed(rows)
        ]})
    return shown


def status_tables(
    definition: EntityDef, record_id: int, statuses: list[dict[str, Any]], who: Who, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Status periods (newest first) and the total time spent in each status."""
    if not definition.workflow:
        return [], []
    records = engine().records
    workflow = engine().model.workflow(definition.workflow)
    now = records.clock()
    ui = words(lang)

    def label(code: str | None) -> tuple[str, str]:
        status = workflow.status(code or "")
        return (status.label.get(lang), status_color(status.color)) if status else (code or ui["f_none"], NEUTRAL_COLOR)

    transitions = {t.name: t.label.get(lang) for t in workflow.transitions}
    rows = []
    for period in reversed(statuses):
        text, color = label(period["status"])
        end = period["left_at"] or now
        moved = period["transition"] or ""
        rows.append({
            "status": text, "color": color, "entered": format_datetime(period["entered_at"], lang),
            "left": format_datetime(period["left_at"], lang) if period["left_at"] else ui["f_now"],
            "duration": human_duration(end - period["entered_at"], lang),
            "transition": transitions.get(moved, moved.replace("move:", "→ ") if moved else ""),
            "who": who(period["changed_by"]), "current": period["left_at"] is None,
        })
    spent = records.time_in_status(definition.name, record_id, now=now, actor=acting())
    totals = []
    for status in workflow.statuses:
        if status.code in spent:
            totals.append({
                "status": status.label.get(lang), "color": status_color(status.color),
                "duration": human_duration(spent[status.code], lang),
                "share": _share(spent[status.code], spent.values()),
            })
    return rows, totals


def _share(part: dt.timedelta, whole: Iterable[dt.timedelta]) -> int:
    total = sum((d.total_seconds() for d in whole), 0.0)
    return round(100 * part.total_seconds() / total) if total > 0 else 0
