"""Record titles told apart: two records may share a title (two contacts named Margaux Martin),
and a select, a filter or a picker listing both must still let the user choose the right one."""

from __future__ import annotations

from collections import Counter
from typing import Iterable


def told_apart(pairs: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """(id, title) pairs, in their order, each title shared by several of them followed by the
    record's number as a link input reads it back ("Margaux Martin #12"); the others as they are."""
    pairs = list(pairs)
    shared = Counter(title for _, title in pairs)
    return [(record_id, f"{title} #{record_id}" if shared[title] > 1 else title) for record_id, title in pairs]


def told_apart_or_none(pairs: Iterable[tuple[int, str]] | None) -> list[tuple[int, str]] | None:
    """`told_apart`, or None for no choices at all (too many records: a number input instead)."""
    return None if pairs is None else told_apart(pairs)
