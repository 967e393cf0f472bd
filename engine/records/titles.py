"""Record titles ("Camille Martin (Acme)") from each entity's `title` template.

Every place that shows a linked record (list cells, link pickers, history, the API)
names it by its title, never by its id.

A placeholder may be a path through links (`"{subject} ({room.name})"`): its values are read
set-based for all the records titled at once (`render_titles`, engine/records/paths.py
`path_values`: one query per path prefix), and a link the reader may not follow gives an
empty part, as an empty characteristic does.
"""

from __future__ import annotations

import re
import string
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from metamodel.field_paths import PathError, is_path
from metamodel.model import EntityDef, Model

from .paths import PathReader, path_values

_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_LOOSE_COMMAS = re.compile(r"\s*,\s*(?=[)\]])|(?<=[(\[])\s*,\s*")
"""A comma left against a bracket by an empty part: `(Lost, )`, `(, Lyon)`."""
_SPACES = re.compile(r"\s+")


class TitleTemplate:
    """The compiled `title` of one entity: which columns and paths it needs and how to write them.

    Without the `model`, a template naming a path falls back to the first string characteristic
    (as one naming a hidden or unknown characteristic does)."""

    def __init__(self, entity: EntityDef, hidden: frozenset[str] = frozenset(), model: Model | None = None):
        self.entity = entity.name
        template = entity.title or ""
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]

        def usable(name: str) -> bool:
            if is_path(name):
                return model is not None and _readable_path(model, entity.name, name) \
                    and name.split(".", 1)[0] not in hidden
            return (name in entity.fields_by_name or name == "id") and name not in hidden

        if not template or not all(usable(name) for name in names):
            fallback = next((f.name for f in entity.fields if f.type == "string" and f.name not in hidden), None)
            template = f"{{{fallback}}}" if fallback else ""
            names = [fallback] if fallback else []
        self.template = template
        self.placeholders: tuple[str, ...] = tuple(names)
        self.paths: tuple[str, ...] = tuple(dict.fromkeys(name for name in names if is_path(name)))
        """The paths through links among the placeholders: their values come from `render_titles`."""
        own = [name for name in names if not is_path(name)] + [path.split(".", 1)[0] for path in self.paths]
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(own))
        """The record's own columns the title needs (the first link of each path included)."""
        self._format = _positional(template)

    def render(self, row: Mapping[str, Any]) -> str:
        """The title; "#<id>" when every part of it is empty. A path's value is read from `row`
        under its text (`render_titles` puts it there)."""
        if self.template:
            values = ["" if row.get(name) is None else row[name] for name in self.placeholders]
            text = _SPACES.sub(" ", _EMPTY_BRACKETS.sub("", _LOOSE_COMMAS.sub("", self._format.format(*values)))).strip()
            if text:
                return text
        return f"#{row['id']}"


def render_titles(
    conn: sa.Connection, reader: PathReader, template: TitleTemplate, rows: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The titles of `rows` (each with `id` and `template.columns`), paths read for all at once."""
    if not template.paths:
        return [template.render(row) for row in rows]
    found = path_values(conn, reader, template.entity, template.paths, rows)
    return [template.render({**row, **values}) for row, values in zip(rows, found)]


def _readable_path(model: Model, entity: str, text: str) -> bool:
    try:
        model.path(entity, text)
    except PathError:
        return False
    return True


def _positional(template: str) -> str:
    """`template` with each placeholder numbered in order (`{room.name}` -> `{1}`): a path's dots
    are no attribute access, and literal braces stay escaped."""
    parts = []
    index = 0
    for literal, name, spec, conversion in string.Formatter().parse(template):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name:
            parts.append("{" + str(index) + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
            index += 1
    return "".join(parts)
