"""Paths through links read over the merged specs, before the `Model` exists: what the pack
checks resolve (`Model.path` does the same walk over the built entities)."""

from __future__ import annotations

from metamodel.field_paths import PathError, Step, walk_path
from metamodel.merge import Merged, removed_by
from metamodel.model import OWNED_SYSTEM_FIELDS, PARENT_FIELD, SYSTEM_FIELDS


class SpecPaths:
    """The names each entity of `merged` offers, their types, and the paths through them (cached)."""

    def __init__(self, merged: Merged) -> None:
        self.merged = merged
        self._found: dict[tuple[str, str], tuple[Step, ...] | PathError] = {}

    def field_type(self, entity: str, name: str) -> str | None:
        """The type of field `name` of `entity` (a characteristic, `status`, an owned entity's
        `parent_id` and `position`, a system column), None when it has none of that name."""
        spec = self.merged.entities.get(entity)
        if spec is None:
            return None
        if name == "status" and spec.props.get("workflow"):
            return "status"
        char = spec.characteristics.get(name)
        if char is not None:
            return char.get("type")
        if spec.props.get("owned_by") and name in OWNED_SYSTEM_FIELDS:
            return "link" if name == PARENT_FIELD else "integer"
        system = SYSTEM_FIELDS.get(name)
        return system.type if system is not None else None

    def link_target(self, entity: str, name: str) -> str | None:
        """The entity the link `name` of `entity` points at (None for a system column)."""
        spec = self.merged.entities[entity]
        if name == PARENT_FIELD and spec.props.get("owned_by"):
            return spec.props["owned_by"]
        char = spec.characteristics.get(name)
        return char.get("entity") if char is not None else None

    def names(self, entity: str) -> list[str]:
        """Every name `entity` offers a path (for "did you mean")."""
        spec = self.merged.entities.get(entity)
        if spec is None:
            return []
        found = [*spec.characteristics, *SYSTEM_FIELDS]
        if spec.props.get("workflow"):
            found.append("status")
        if spec.props.get("owned_by"):
            found.extend(OWNED_SYSTEM_FIELDS)
        return found

    def resolve(self, entity: str, text: str) -> tuple[Step, ...]:
        """The steps of path `text` read from `entity`; PathError says why it cannot be read."""
        key = (entity, text)
        if key not in self._found:
            try:
                self._found[key] = walk_path(text, entity, self._step, self.names, self._removed)
            except PathError as exc:
                self._found[key] = exc
        found = self._found[key]
        if isinstance(found, PathError):
            raise found
        return found

    def may_be_empty(self, entity: str, text: str) -> bool:
        """Does some record read nothing through path `text`: an optional link on the way, or an
        optional last field? (False for a path that cannot be read: reported elsewhere.)"""
        try:
            steps = self.resolve(entity, text)
        except PathError:
            return False
        for step in steps:
            char = self.merged.entities[step.entity].characteristics.get(step.name)
            if char is not None and not char.get("mandatory"):
                return True
        return False

    def _step(self, entity: str, name: str) -> Step | None:
        field_type = self.field_type(entity, name)
        if field_type is None:
            return None
        return Step(entity, name, field_type, self.link_target(entity, name) if field_type == "link" else None)

    def _removed(self, entity: str, name: str) -> str:
        spec = self.merged.entities.get(entity)
        return removed_by(spec, name) if spec is not None else ""
