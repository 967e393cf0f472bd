"""Record titles ("Camille Martin (Acme)") from each entity's `title` template.

Pages show linked records by title, never by id. `RecordTitles` is made per request:
it reads the titles of many records of one entity in one query, and remembers what it
read, so a page costs one query per linked entity however many rows it shows.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from engine import Actor, Engine
from engine.records.titles import TitleTemplate

from ui_renderer.core.language import sort_key

CHOICE_LIMIT = 200
"""Above this many records, a link is entered by record number instead of picked in a select."""

__all__ = ["CHOICE_LIMIT", "RecordTitles", "TitleTemplate"]


class RecordTitles:
    """Titles read for one request through the engine (one query per entity and batch of ids),
    as the acting user may see them."""

    def __init__(self, engine: Engine, templates: dict[str, TitleTemplate] | None = None, actor: Actor | None = None):
        self.engine = engine
        self.actor = actor
        self._templates = templates if templates is not None else {}
        self._known: dict[str, dict[int, str]] = {}
        self._choices: dict[str, list[tuple[int, str]] | None] = {}

    def template(self, entity: str) -> TitleTemplate:
        compiled = self._templates.get(entity)
        if compiled is None:
            compiled = self._templates[entity] = TitleTemplate(self.engine.model.entity(entity))
        return compiled

    def title(self, entity: str, row: Mapping[str, Any]) -> str:
        return self.template(entity).render(row)

    def titles(self, entity: str, ids: Iterable[int | None]) -> dict[int, str]:
        """Titles of the records `ids` (trashed ones included); unknown ids are left out."""
        known = self._known.setdefault(entity, {})
        wanted = {i for i in ids if i is not None}
        missing = wanted.difference(known)
        if missing:
            known.update(self.engine.records.titles(entity, missing, actor=self.actor))
        return {i: known[i] for i in wanted if i in known}

    def choices(self, entity: str, limit: int | None = None) -> list[tuple[int, str]] | None:
        """(id, title) of every live record sorted by title, or None when there are more than
        `limit` (default CHOICE_LIMIT)."""
        if entity not in self._choices:
            pairs = self.engine.records.choices(entity, limit=CHOICE_LIMIT if limit is None else limit, actor=self.actor)
            if pairs is not None:
                self._known.setdefault(entity, {}).update(pairs)
                pairs.sort(key=lambda pair: sort_key(pair[1]))
            self._choices[entity] = pairs
        return self._choices[entity]
