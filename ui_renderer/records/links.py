"""Linked records on the record pages, read through the engine as the acting user.

A `LinkReader` lives for one request: it gives the options of small link targets, finds
records of large ones by their title words, and works out which record a link input
names. What it reads is remembered for that request only, so a page never shows a title
or an option that changed since. A target the actor may not read shows ids, not titles.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Iterable, TypeVar

from engine import Actor, Engine
from engine.access.permissions import PermissionDenied

from ui_renderer.core.language import sort_key
from ui_renderer.core.i18n import words
from ui_renderer.core.record_titles import RecordTitles, TitleTemplate
from ui_renderer.core.titles_apart import told_apart
from ui_renderer.core.widgets import Option

LINK_SELECT_LIMIT = 100
"""Link targets with at most this many live records get a select; larger ones a search input."""
SEARCH_LIMIT = 20
LINK_ID_RE = re.compile(r"(?:^|#)\s*(\d{1,18})\s*$")

T = TypeVar("T")


class LinkReader:
    """One request's reads of linked records, as `actor`."""

    def __init__(self, engine: Engine, templates: dict[str, TitleTemplate], actor: Actor):
        self.records = engine.records
        self.model = engine.model
        self.actor = actor
        self._titles = RecordTitles(engine, templates, actor)
        self._choices: dict[str, list[tuple[int, str]] | None] = {}

    def titles(self, entity: str, ids: Iterable[int | None]) -> dict[int, str]:
        """id -> title of the given records (those in the trash too) the actor may see."""
        return _unless_denied(lambda: self._titles.titles(entity, ids), {})

    def choices(self, entity: str) -> list[Option] | None:
        """Every live record as an option sorted by title (a shared title followed by the record's
        number), or None when there are more than
        `LINK_SELECT_LIMIT` (a search input then); none at all when the actor may not read them."""
        if entity not in self._choices:
            self._choices[entity] = _unless_denied(
                lambda: self.records.choices(entity, limit=LINK_SELECT_LIMIT, actor=self.actor), []
            )
        pairs = self._choices[entity]
        return None if pairs is None else _sorted_options(told_apart(pairs))  # two Margaux Martin: #ids

    def search(self, entity: str, text: str, limit: int = SEARCH_LIMIT) -> list[Option]:
        """Live records whose title words contain every word of `text` (or whose number it is)."""
        found = _unless_denied(lambda: self.records.search_titles(entity, text, limit=limit, actor=self.actor), [])
        return _sorted_options(found)

    def where(self, entity: str, field: str, value: Any, limit: int = LINK_SELECT_LIMIT) -> list[Option]:
        """Live records whose `field` equals `value` (the contacts of one account), sorted by title."""
        found = _unless_denied(
            lambda: self.records.titles_where(entity, field, value, limit=limit, actor=self.actor), []
        )
        return _sorted_options(found)

    def resolve(self, target: str, text: str, lang: str) -> tuple[int | None, str | None]:
        """The record a link input names: "Title #12", "12", or words matching one title.

        Returns (id, None), or (None, message) when nothing or several records match.
        """
        text = text.strip()
        if not text:
            return None, None
        match = LINK_ID_RE.search(text)
        if match:
            return int(match.group(1)), None
        found = self.search(target, text)
        exact = [o for o in found if o.label.casefold() == text.casefold()]
        if len(found) == 1 or len(exact) == 1:
            return int((exact or found)[0].value), None
        key = "f_link_none" if not found else "f_link_many"
        return None, words(lang)[key].format(entity=self.model.entity(target).label.get(lang), value=text)

    def resolved(self, target: str, text: str, lang: str) -> str:
        """The id a link input names as a form string, "" when it names none."""
        record_id, _problem = self.resolve(target, text, lang)
        return "" if record_id is None else str(record_id)


def link_text(title: str, record_id: Any) -> str:
    """What a search input shows for a chosen record: its title and number."""
    return f"{title} #{record_id}"


def _sorted_options(pairs: Iterable[tuple[int, str]]) -> list[Option]:
    return list(_sorted(tuple(pairs)))


@lru_cache(maxsize=256)
def _sorted(pairs: tuple[tuple[int, str], ...]) -> tuple[Option, ...]:
    """Options sorted by title; keyed by the records' ids and titles, so it never outlives a change."""
    return tuple(sorted((Option(str(record_id), title) for record_id, title in pairs), key=lambda o: sort_key(o.label)))


def _unless_denied(read: Callable[[], T], refused: T) -> T:
    """What `read` finds, or `refused` when the actor's roles do not let them read that entity."""
    try:
        return read()
    except PermissionDenied:
        return refused
