"""Which files of a pack directory are its manifest and documents, and what is in the way.

`read_pack` (loading) and `pack_texts` (installing) both read a directory through here, so
that a pack folder that is a file, or a folder named like a document, is a problem in both
rather than a part of the pack silently left out.
"""

from __future__ import annotations

from pathlib import Path

from metamodel.errors import Problem
from metamodel.merge import FOLDERS
from metamodel.yaml_source import display_name

MANIFEST_NAMES = ("pack.yaml", "pack.yml")
DOCUMENT_SUFFIXES = (".yaml", ".yml")


def manifest_file(directory: Path) -> tuple[Path | None, list[Problem]]:
    """The pack's manifest file (the first of `MANIFEST_NAMES` there is), or None and why."""
    for name in MANIFEST_NAMES:
        path = directory / name
        if path.is_file():
            return path, []
        if path.exists():
            return None, [Problem(display_name(path), 1, "$", "is a folder, not a file: the manifest "
                                                              "(pack: name, version: 1.0.0) must be a YAML file")]
    return None, []


def document_files(directory: Path) -> tuple[list[tuple[str, Path]], list[Problem]]:
    """`(folder, file)` of every document, folder by folder in merge order, files sorted by name;
    and a problem for each pack folder that is not a folder and each document that is not a file."""
    found: list[tuple[str, Path]] = []
    problems: list[Problem] = []
    for folder in FOLDERS:
        path = directory / folder
        if not path.exists():
            continue
        if not path.is_dir():
            problems.append(Problem(display_name(path), 1, "$", f"'{folder}' is a file: it must be a folder "
                                                                f"of YAML documents ({folder}/NAME.yaml)"))
            continue
        for entry in sorted(path.iterdir()):
            if entry.suffix not in DOCUMENT_SUFFIXES:
                continue
            if entry.is_file():
                found.append((folder, entry))
            else:
                problems.append(Problem(display_name(entry), 1, "$", f"is not a file: a document is a YAML file "
                                                                     f"directly in {folder}/ (folders inside it are not read)"))
    return found, problems
