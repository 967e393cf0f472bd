"""`load_model`: definition packs in, frozen `Model` out, or every problem at once.

Phases, each ending with `DefinitionError` when it found problems, so that a later
phase never reports what an earlier one already explains:

1. read every document (YAML with line marks) and check it against its JSON Schema;
   check pack names and `requires`;
2. layer the packs: declarations, `extends:` overrides and their conflicts;
3. semantic rules and references on the merged definitions;
4. build the `Model`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence, Union

from metamodel.building.allocation import collector_paused
from metamodel.building.build import build_model
from metamodel.checking.checks import check_merged
from metamodel.errors import DefinitionError, Problem
from metamodel.merge import merge_packs
from metamodel.model import Model, PackInfo
from metamodel.reading.overlay import MemoryPack
from metamodel.reading.packs import check_requirements, read_memory_pack, read_pack


PackSource = Union[str, "os.PathLike[str]", MemoryPack]
"""A pack directory, or a pack held as texts (installed packs and the admin overlay)."""


def load_model(pack_dirs: Sequence[PackSource]) -> Model:
    """Load the base pack (first) and the packs layered on it, in order.

    Each is a directory or a `MemoryPack` (texts kept in the database, the overlay last).
    """
    with collector_paused():
        return _load([d if isinstance(d, MemoryPack) else Path(d) for d in pack_dirs])


def _load(sources: list[Path | MemoryPack]) -> Model:
    if not sources:
        raise DefinitionError([Problem(".", 1, "$", "no pack directory given: the first one is the base pack")])
    packs = []
    problems: list[Problem] = []
    for layer, source in enumerate(sources):
        if isinstance(source, MemoryPack):
            pack, found = read_memory_pack(source, layer)
        else:
            pack, found = read_pack(source, layer)
        packs.append(pack)
        problems.extend(found)
    problems.extend(check_requirements(packs))
    _raise_if_any(problems)

    merged, problems = merge_packs(pack.documents for pack in packs)
    _raise_if_any(problems)

    warnings: list[Problem] = []
    _raise_if_any(check_merged(merged, warnings))

    infos: tuple[PackInfo, ...] = tuple(pack.info for pack in packs if pack.info is not None)
    return build_model(merged, infos, tuple(_ordered(warnings)))


def _raise_if_any(problems: Iterable[Problem]) -> None:
    problems = list(problems)
    if problems:
        raise DefinitionError(_ordered(problems))


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Once each, file by file in the order files were first named, then by line."""
    first_seen: dict[str, int] = {}
    for problem in problems:
        first_seen.setdefault(problem.file, len(first_seen))
    return sorted(dict.fromkeys(problems), key=lambda p: (first_seen[p.file], p.line, p.path))
