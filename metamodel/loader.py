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
from typing import Iterable, Sequence

from metamodel.allocation import collector_paused
from metamodel.build import build_model
from metamodel.checks import check_merged
from metamodel.errors import DefinitionError, Problem
from metamodel.merge import merge_packs
from metamodel.model import Model, PackInfo
from metamodel.packs import check_requirements, read_pack


def load_model(pack_dirs: Sequence[str | os.PathLike[str]]) -> Model:
    """Load the base pack (first) and the customer packs layered on it, in order."""
    with collector_paused():
        return _load([Path(d) for d in pack_dirs])


def _load(directories: list[Path]) -> Model:
    if not directories:
        raise DefinitionError([Problem(".", 1, "$", "no pack directory given: the first one is the base pack")])
    packs = []
    problems: list[Problem] = []
    for layer, directory in enumerate(directories):
        pack, found = read_pack(directory, layer)
        packs.append(pack)
        problems.extend(found)
    problems.extend(check_requirements(packs))
    _raise_if_any(problems)

    merged, problems = merge_packs(pack.documents for pack in packs)
    _raise_if_any(problems)

    _raise_if_any(check_merged(merged))

    infos: tuple[PackInfo, ...] = tuple(pack.info for pack in packs if pack.info is not None)
    return build_model(merged, infos)


def _raise_if_any(problems: Iterable[Problem]) -> None:
    problems = list(problems)
    if not problems:
        return
    first_seen: dict[str, int] = {}
    for problem in problems:
        first_seen.setdefault(problem.file, len(first_seen))
    ordered = sorted(dict.fromkeys(problems), key=lambda p: (first_seen[p.file], p.line, p.path))
    raise DefinitionError(ordered)
