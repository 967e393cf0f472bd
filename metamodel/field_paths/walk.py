"""Paths through links: `account.sector`, `room.site.name`, `opportunity.account.assigned_to`.

A path is names joined by dots, read from one entity. Every name but the last is a `link`
characteristic (one record of its target entity: not `links`, not `lines`, not a system
column); the last is any characteristic, `status` or system column of the entity reached,
except `links` and `lines` (a path reads one value). At most `MAX_PATH_DEPTH` links are
followed. A plain name is a path of no link.

`walk_path` is the one walk: the pack checks run it over the merged specs, `Model.path` over
the built entities; each gives it how to look a name up. It imports nothing of the model so
that `metamodel.model` can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from metamodel.suggestions import did_you_mean

MAX_PATH_DEPTH = 3
"""Links a path may follow (`a.b.c.name` is the deepest): each one is a join in a list query."""

COLLECTION_TYPES = frozenset({"lines", "links"})
"""Characteristics whose value is several records: no path goes through them or ends on them."""


@dataclass(frozen=True)
class Step:
    """One name of a path, looked up: on `entity`, of `type`, linking to `target` (links only)."""

    entity: str
    name: str
    type: str
    target: str | None = None


Lookup = Callable[[str, str], "Step | None"]
"""`lookup(entity, name)`: the step, or None when the entity has no such name."""


class PathError(ValueError):
    """A path that cannot be read: `message` says why in an administrator's words.

    `step` is the index of the offending name in the path (0 for the first), or None when the
    path as a whole is refused (its syntax or its depth).
    """

    def __init__(self, path: str, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.step = step


def is_path(name: str) -> bool:
    """Does `name` go through a link (`account.sector`), rather than name a field of its own?"""
    return "." in name


def split_path(text: str) -> tuple[str, ...]:
    """The names of a path; PathError when it is not names joined by single dots."""
    names = tuple(text.split("."))
    if not text or any(not name for name in names):
        raise PathError(text, f"'{text}' is not a path: names joined by dots, such as account.sector")
    return names


def walk_path(text: str, entity: str, lookup: Lookup, known: Callable[[str], Iterable[str]],
              hint: Callable[[str, str], str] | None = None) -> tuple[Step, ...]:
    """Every step of path `text` read from `entity`: the links, then the last name.

    `known(entity)` lists the names an entity offers (for "did you mean"); `hint(entity, name)`
    may explain an unknown name better (removed by a later pack, say) and falls back to it.
    """
    names = split_path(text)
    depth = len(names) - 1
    if depth > MAX_PATH_DEPTH:
        raise PathError(text, f"path '{text}' follows {depth} links, deeper than the limit of {MAX_PATH_DEPTH}")
    steps: list[Step] = []
    current = entity
    for index, name in enumerate(names):
        step = lookup(current, name)
        if step is None:
            why = (hint(current, name) if hint else "") or did_you_mean(name, known(current))
            raise PathError(text, f"{_where(text, depth)}unknown field '{name}' in entity '{current}'{why}", index)
        last = index == depth
        if not last:
            refusal = _not_a_link(step)
            if refusal:
                raise PathError(text, f"{_where(text, depth)}{refusal}", index)
            current = step.target or ""
        elif depth and step.type in COLLECTION_TYPES:
            raise PathError(text, f"path '{text}': '{name}' holds several records ({step.type}); "
                                  "a path reads one value", index)
        steps.append(step)
    return tuple(steps)


def _where(text: str, depth: int) -> str:
    return f"path '{text}': " if depth else ""


def _not_a_link(step: Step) -> str | None:
    if step.type == "link" and step.target:
        return None
    if step.type == "link":
        return f"'{step.name}' is a system column, not a link characteristic: a path cannot follow it"
    if step.type in COLLECTION_TYPES:
        return (f"'{step.name}' holds several records ({step.type}): a path follows only a link "
                "to one record")
    return f"'{step.name}' is not a link (it is {_an(step.type)} characteristic): a path follows only links"


def _an(word: str) -> str:
    """As `metamodel.values.an` (which imports the model, and the model imports this package)."""
    return f"an {word}" if word[:1] in ("a", "e", "i", "o") else f"a {word}"
