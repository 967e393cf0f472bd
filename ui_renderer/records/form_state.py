"""A form as one page shows it: its values (read from a record or posted), errors next to
their fields, link pickers, and the renderer the templates call for each row.

Shared by every page with inputs: the record form, a transition's prompt, the conversion
dialog. Dialog inputs carry a prefix ("account.name").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from flask import url_for
from werkzeug.datastructures import MultiDict

from .common import edit_url, links, page_language
from .links import link_text
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import FieldRenderer, FormLayout, LinkWidgets, Option, Widget, display, form_text


@dataclass
class FormState:
    values: dict[str, Any]
    """Form strings per characteristic (multi_choice: a list of codes); prefixed names in dialogs."""
    errors: dict[str, list[str]] = field(default_factory=dict)
    other_errors: list[str] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)
    """On-demand characteristics shown."""
    labels: dict[str, str] = field(default_factory=dict)
    """Field key -> label, for the error summary."""

    def add_errors(self, layout: FormLayout, messages: Mapping[str, list[str]], visible: Iterable[str], prefix: str = "") -> None:
        """Errors next to their fields; those of fields the page does not show go on top."""
        visible = set(visible)
        for name, texts in messages.items():
            bare = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if bare in layout.on_demand:
                self.shown.add(bare)
                visible.add(name)
            if name in visible:
                self.errors.setdefault(name, []).extend(texts)
                if bare in layout.widgets:
                    self.labels[name] = layout.widgets[bare].label
            else:
                widget = layout.widgets.get(bare)
                label = widget.label if widget else bare
                self.other_errors.extend(f"{label}: {text}" for text in texts)


def is_blank(value: Any) -> bool:
    """No value: what a required characteristic may not be."""
    return value is None or value == "" or value == []


def editable_widgets(layout: FormLayout, names: Iterable[str]) -> list[Widget]:
    """The widgets of `names` the actor may fill in (a transition's required fields, say)."""
    return [layout.widgets[n] for n in names if n in layout.widgets and not layout.widgets[n].readonly]


def read_widget(w: Widget, form: MultiDict, name: str) -> Any:
    """One posted value as the form shows it again."""
    if w.kind == "multi_choice":
        return [code for code in form.getlist(name) if code]
    if w.kind == "boolean":
        return "true" if form.get(name) else "false"
    return form.get(name, "").replace("\r\n", "\n")


def read_values(widgets: Iterable[Widget], form: MultiDict, lang: str, state: FormState, prefix: str = "") -> dict[str, Any]:
    """Posted values of `widgets` for the engine: strings and lists, links resolved to ids.

    The raw input goes to `state.values` (shown again if the save fails); a link search that
    names no single record is an error in `state.errors`.
    """
    inputs: dict[str, Any] = {}
    for w in widgets:
        key = prefix + w.name
        raw = read_widget(w, form, key)
        state.values[key] = raw
        if w.kind == "link":
            record_id, problem = links().resolve(w.target or "", raw, lang)
            if problem:
                state.errors.setdefault(key, []).append(problem)
                state.labels[key] = w.label
                continue
            inputs[w.name] = "" if record_id is None else str(record_id)
        else:
            inputs[w.name] = raw
    return inputs


def comparable(value: Any) -> Any:
    """A form value compared regardless of order (a multi_choice's codes, a set of members);
    a list of lines keeps its order, which is theirs."""
    if isinstance(value, list) and not any(isinstance(item, dict) for item in value):
        return sorted(value, key=str)
    return value


def as_form(w: Widget, value: Any) -> Any:
    """A stored value as its form string, comparable with a posted one."""
    return comparable(list(value or []) if w.kind == "multi_choice" else form_text(w.field, value))


def prepare_links(widgets: Iterable[Widget], state: FormState, prefix: str = "", into: LinkWidgets | None = None) -> LinkWidgets:
    """Options of small link targets (one read per target entity), titles for search inputs."""
    reader = links()
    found = into if into is not None else LinkWidgets()
    for w in widgets:
        if w.kind != "link" or w.readonly:
            continue
        key = prefix + w.name
        choices = reader.choices(w.target or "")
        value = state.values.get(key, "")
        known = int(value) if isinstance(value, str) and value.isdigit() else None
        if choices is None:
            found.searches.add(key)
            if known is not None:
                title = reader.titles(w.target or "", [known]).get(known)
                state.values[key] = link_text(title, value) if title else value
            continue
        options = list(choices)
        if known is not None and all(o.value != value for o in options):
            options.append(Option(value, reader.titles(w.target or "", [known]).get(known, f"#{value}"), retired=True))
        found.options[key] = options
    return found


def field_renderer(
    state: FormState, found: LinkWidgets, readonly: Mapping[str, tuple[str, str | None]], record: Mapping[str, Any] | None,
) -> FieldRenderer:
    lookups: dict[str, str] = {}

    def lookup_url(target: str) -> str:
        if target not in lookups:
            lookups[target] = url_for("forms.lookup", entity=target)
        return lookups[target]

    return FieldRenderer(state.values, state.errors, found, readonly, record, words(page_language()), lookup_url, edit_url)


def readonly_values(layout: FormLayout, record: Mapping[str, Any] | None, lang: str) -> dict[str, tuple[str, str | None]]:
    """Read-only characteristics with a value: (text, URL of the linked record or None)."""
    if not record:
        return {}
    shown: dict[str, tuple[str, str | None]] = {}
    linking: dict[str, list[str]] = {}
    for name in layout.on_form:
        w = layout.widgets[name]
        value = record.get(name)
        if not w.readonly or is_blank(value):
            continue
        if w.kind == "link":
            linking.setdefault(w.target or "", []).append(name)
        elif w.kind == "links":
            shown[name] = (display(w, value, lang, links().titles(w.target or "", value)), None)
        else:
            shown[name] = (display(w, value, lang), None)
    for target, names in linking.items():
        titles = links().titles(target, [record[n] for n in names])
        for name in names:
            value = record[name]
            shown[name] = (titles.get(value) or f"#{value}", edit_url(target, value))
    return shown
