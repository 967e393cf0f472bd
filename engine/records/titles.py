"""Record titles ("Camille Martin (Acme)") from each entity's `title` template.

Every place that shows a linked record (list cells, link pickers, history, the API)
names it by its title, never by its id.
"""

from __future__ import annotations

import re
import string
from typing import Any, Mapping

from metamodel.model import EntityDef

_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SPACES = re.compile(r"\s+")


class TitleTemplate:
    """The compiled `title` of one entity: which columns it needs and how to write them."""

    def __init__(self, entity: EntityDef, hidden: frozenset[str] = frozenset()):
        self.entity = entity.name
        template = entity.title or ""
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        usable = lambda name: (name in entity.fields_by_name or name == "id") and name not in hidden  # noqa: E731
        if not template or not all(usable(name) for name in names):
            fallback = next((f.name for f in entity.fields if f.type == "string" and f.name not in hidden), None)
            template = f"{{{fallback}}}" if fallback else ""
            names = [fallback] if fallback else []
        self.template = template
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(names))

    def render(self, row: Mapping[str, Any]) -> str:
        """The title; "#<id>" when every part of it is empty."""
        if self.template:
            values = {name: "" if row.get(name) is None else row[name] for name in self.columns}
            text = _SPACES.sub(" ", _EMPTY_BRACKETS.sub("", self.template.format(**values))).strip()
            if text:
                return text
        return f"#{row['id']}"
