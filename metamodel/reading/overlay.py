"""Packs held as texts rather than directories: the admin overlay and the installed packs.

A pack kept in the database has no directory: its documents are YAML texts keyed by their
name inside the pack (`pack.yaml`, `entities/room.yaml`, ...). A `MemoryPack` carries them
to `load_model` beside directory packs, and problems name them `ROOT/entities/room.yaml`.
`pack_texts` reads a pack directory into that form (what `pack install` stores) and
`write_pack` writes it back out (what `pack export` produces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import yaml

from metamodel.errors import Problem
from metamodel.merge import FOLDERS
from metamodel.model import PackInfo, Text
from metamodel.reading.pack_files import MANIFEST_NAMES, document_files, manifest_file
from metamodel.yaml_source import display_name, read_text

OVERLAY_PACK = "overlay"
"""The name of the admin overlay's layer; no installed or directory pack may take it."""
OVERLAY_LABEL = Text("Administration overlay", "Surcouche d'administration")
MANIFEST = "pack.yaml"
_DOCUMENT_NAME = re.compile(r"(?P<folder>[a-z]+)/(?P<stem>[A-Za-z0-9_][A-Za-z0-9_.-]*)\.ya?ml")


@dataclass(frozen=True)
class MemoryPack:
    """A pack given as texts: `documents` maps `pack.yaml` and `FOLDER/NAME.yaml` to YAML.

    `info` stands in for the manifest of a pack that has none (the overlay: its name and
    version come from the revision, and it requires nothing, sitting on whatever is loaded).
    """

    root: str
    """What problems show before each document's name, e.g. `overlay` or `packs/acme`."""
    documents: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    info: PackInfo | None = None


def overlay_pack(revision: int, documents: Mapping[str, str], root: str = OVERLAY_PACK) -> MemoryPack:
    """The admin overlay at `revision` as the last layer (its version is the revision number)."""
    info = PackInfo(name=OVERLAY_PACK, version=str(revision), path=root, label=OVERLAY_LABEL)
    return MemoryPack(root, MappingProxyType(dict(documents)), info)


def document_name_problem(name: str) -> str | None:
    """Why `name` cannot be a document of a pack (None when it can): `FOLDER/NAME.yaml`."""
    match = _DOCUMENT_NAME.fullmatch(name)
    if match is None or ".." in name:
        return f"'{name}' is not a document name: expected FOLDER/NAME.yaml with FOLDER one of {', '.join(FOLDERS)}"
    if match.group("folder") not in FOLDERS:
        return f"'{match.group('folder')}' is not a pack folder: expected one of {', '.join(FOLDERS)}"
    return None


def pack_texts(directory: Path) -> tuple[dict[str, str], list[Problem]]:
    """The manifest and every document of a pack directory as texts, as `read_pack` would read them.

    Files in other places (a README, a folder the language does not know) are not part of it.
    """
    display = display_name(directory)
    if not directory.is_dir():
        return {}, [Problem(display, 1, "$", "the pack directory does not exist" if not directory.exists()
                            else "a pack must be a directory")]
    texts: dict[str, str] = {}
    manifest, problems = manifest_file(directory)
    documents, found = document_files(directory)
    problems.extend(found)
    candidates = [(manifest.name, manifest)] if manifest is not None else []
    candidates.extend((f"{folder}/{path.name}", path) for folder, path in documents)
    for name, path in candidates:
        text, found = read_text(path, display_name(path))
        problems.extend(found)
        if text is not None:
            texts[name] = text
    return texts, problems


def write_pack(directory: Path, documents: Mapping[str, str]) -> list[Path]:
    """Write `documents` (names as in `MemoryPack`) under `directory`; returns the files written."""
    written: list[Path] = []
    for name in sorted(documents):
        if name not in MANIFEST_NAMES and document_name_problem(name):
            raise ValueError(document_name_problem(name))
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = documents[name]
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        written.append(path)
    return written


def manifest_text(name: str, version: str, requires: Mapping[str, str], label: Text | None = None) -> str:
    """A `pack.yaml` for a pack made by a program (an exported overlay), with the editor modeline."""
    data: dict[str, object] = {"pack": name, "version": version}
    if label is not None:
        data["label"] = {"en": label.en, "fr": label.fr}
    if requires:
        data["requires"] = dict(requires)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def requirement_for(version: str) -> str:
    """The range an exported pack asks of a pack it was made on: this version up to the next major."""
    numbers = re.match(r"[0-9]+(\.[0-9]+)*", version)
    if numbers is None:
        return ">=0"
    release = numbers.group(0)
    return f">={release}, <{int(release.split('.')[0]) + 1}"
