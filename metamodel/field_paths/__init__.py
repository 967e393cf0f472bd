"""Paths through links (`room.site.name`): their syntax, depth limit and the one walk that reads them.

Its own package below `metamodel.model` (it imports nothing of the model) so that `Model.path`
and the pack checks (`metamodel.checking.checks`, over the merged specs) walk paths the same way, and
`metamodel.relations`, which builds on the model, stays above it.
"""

from metamodel.field_paths.walk import (
    COLLECTION_TYPES,
    MAX_PATH_DEPTH,
    PathError,
    Step,
    is_path,
    split_path,
    walk_path,
)

__all__ = ["COLLECTION_TYPES", "MAX_PATH_DEPTH", "PathError", "Step", "is_path", "split_path", "walk_path"]
