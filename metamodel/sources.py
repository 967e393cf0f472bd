"""Where each merged value was written, so that a problem found after merging points at it.

Merging never deep-copies documents: a `Props` wraps the mapping a document declared
and copies it only when a later pack overrides one of its properties, remembering the
`Origin` (document and path) of each overriding value.
"""

from __future__ import annotations

from typing import Any, Iterator

from metamodel.errors import Problem
from metamodel.model import Source
from metamodel.yaml_source import Document, PathKey


class Origin:
    """A place in a document: the document, the path of a value in it, and the pack's layer."""

    __slots__ = ("doc", "path", "layer")

    def __init__(self, doc: Document, path: PathKey, layer: int) -> None:
        self.doc = doc
        self.path = path
        self.layer = layer

    def child(self, *keys: str | int) -> Origin:
        return Origin(self.doc, self.path + keys, self.layer)

    def problem(self, message: str, *, at_key: bool = False) -> Problem:
        return self.doc.problem(self.path, message, at_key=at_key)

    @property
    def line(self) -> int:
        return self.doc.key_line(self.path)

    def source(self) -> Source:
        return Source(self.doc.file, self.line)

    def __str__(self) -> str:
        """`file:line` of the key that names this value: what "declared in ..." shows."""
        return f"{self.doc.file}:{self.line}"

    def __repr__(self) -> str:
        return f"Origin({self})"


class Props:
    """A declared mapping, merged with the overrides of later packs (copy on first write)."""

    __slots__ = ("values", "origin", "_where", "_owned", "typed")

    def __init__(self, values: dict[str, Any], origin: Origin) -> None:
        self.values = values
        self.origin = origin
        self._where: dict[str, Origin] | None = None
        self._owned = False
        self.typed: dict[str, Any] = {}
        """Values converted by the checks (bounds and defaults typed like the field)."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.values.items())

    def set(self, key: str, value: Any, origin: Origin) -> None:
        """Override `key` (None removes it), remembering where the new value was written."""
        if not self._owned:
            self.values = dict(self.values)
            self._owned = True
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value
        if self._where is None:
            self._where = {}
        self._where[key] = origin

    def origin_of(self, key: str) -> Origin:
        """Where the current value of `key` was written (its own path in that document)."""
        if self._where is not None and key in self._where:
            return self._where[key]
        return self.origin.child(key)

    def problem(self, key: str | None, message: str, *, at_key: bool = False) -> Problem:
        origin = self.origin if key is None else self.origin_of(key)
        return origin.problem(message, at_key=at_key)
