"""Fields a workflow prompt's own answers can make mandatory (`mandatory_when` naming a field the
prompt asks for), and, for the page's script, the answers under which each one is.

The engine stays the truth: it checks `mandatory_when` on the values of the transition when it
saves, and its refusal is shown next to the field. This module only decides which fields the
prompt shows, and tells `static/form.js` when to show and require them before anything is sent:
for a condition reading only prompt fields with a few possible answers (a choice, a yes/no, stars),
every combination of those answers is evaluated here, with the engine's own evaluator, and the
ones under which the field is mandatory are written into the page. A condition reading a free
value (a number, a text) is not decided in the page: its field is always shown.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Iterable, Mapping, Sequence

from ui_renderer.core.widgets import FormLayout, Widget

MAX_COMBINATIONS = 512
"""Beyond this many combinations of answers, the page shows the field always."""


def conditional_names(layout: FormLayout, conditions: Mapping[str, frozenset[str]], asked: Iterable[str]) -> list[str]:
    """Editable fields whose `mandatory_when` reads a field the prompt asks for, or reads one of
    these in turn (in the entity's order)."""
    shown = set(asked)
    found: list[str] = []
    grown = True
    while grown:
        grown = False
        for name, reads in conditions.items():
            w = layout.widgets.get(name)
            if name in shown or w is None or w.readonly or not (reads & shown):
                continue
            shown.add(name)
            found.append(name)
            grown = True
    order = list(layout.widgets)
    return sorted(found, key=order.index)


def answers(w: Widget, current: Any) -> list[tuple[str, Any]] | None:
    """Every answer a prompt field can be given, as (form string, typed value); None for a free value."""
    if w.kind == "boolean":
        return [("false", False), ("true", True)]
    if w.kind == "choice":
        found = [("", None)] + [(o.value, o.value) for o in w.options]
        if isinstance(current, str) and all(code != current for _, code in found):
            found.append((current, current))  # a retired value the record still holds
        return found
    if w.kind == "stars":
        return [("", None)] + [(str(n), n) for n in w.stars]
    return None


def page_rule(
    name: str, reads: frozenset[str], prompt: Sequence[Widget], record: Mapping[str, Any],
    holds: Callable[[str, Mapping[str, Any]], bool],
) -> str | None:
    """The JSON `static/form.js` reads to show `name` (`{"deps": [...], "when": [[...], ...]}`: the
    answers of `deps` under which it is mandatory), or None when the page cannot decide it.

    `holds(name, values)` is the engine's evaluation of the field's `mandatory_when`."""
    by_name = {w.name: w for w in prompt}
    deps = [n for n in sorted(reads) if n in by_name and n != name]
    domains = []
    for dep in deps:
        domain = answers(by_name[dep], record.get(dep))
        if domain is None:
            return None
        domains.append(domain)
    total = 1
    for domain in domains:
        total *= len(domain)
    if not deps or total > MAX_COMBINATIONS:
        return None
    when = []
    for combination in itertools.product(*domains):
        values = {**record, **{dep: typed for dep, (_, typed) in zip(deps, combination)}}
        if holds(name, values):
            when.append([text for text, _ in combination])
    return json.dumps({"deps": deps, "when": when}, separators=(",", ":"))
