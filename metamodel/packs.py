"""Read a pack directory: its manifest and every document, each checked against its schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Sequence

from metamodel.errors import Problem
from metamodel.merge import FOLDERS, KIND_OF_FOLDER, PackDocuments
from metamodel.model import PackInfo, Text
from metamodel.schema_check import check_document
from metamodel.yaml_source import Document, display_name, read_document

MANIFEST_NAMES = ("pack.yaml", "pack.yml")
DOCUMENT_SUFFIXES = (".yaml", ".yml")
_REQUIREMENT = re.compile(r"\s*(>=|<=|==|!=|~=|>|<)?\s*([0-9]+(?:\.[0-9]+)*)\s*")


@dataclass(eq=False)
class Pack:
    info: PackInfo | None
    manifest: Document | None
    documents: PackDocuments


def read_pack(directory: Path, layer: int) -> tuple[Pack, list[Problem]]:
    """Every schema-valid document of the pack, plus the problems of the others."""
    display = display_name(directory)
    documents = PackDocuments(layer)
    empty = Pack(None, None, documents)
    if not directory.exists():
        return empty, [Problem(display, 1, "$", "the pack directory does not exist")]
    if not directory.is_dir():
        return empty, [Problem(display, 1, "$", "a pack must be a directory")]
    problems: list[Problem] = []
    manifest = _read_manifest(directory, display, problems)
    for folder in FOLDERS:
        valid: list[Document] = []
        for path in _document_files(directory / folder):
            doc, found = read_document(path)
            if doc is not None:
                found = check_document(doc, KIND_OF_FOLDER[folder])
            if found:
                problems.extend(found)
            else:
                valid.append(doc)
        documents.folders[folder] = valid
    info = None
    if manifest is not None:
        data = manifest.data
        info = PackInfo(
            name=data["pack"],
            version=data["version"],
            path=display,
            label=Text(data["label"]["en"], data["label"]["fr"]) if "label" in data else None,
            requires=MappingProxyType(dict(data.get("requires", {}))),
        )
    return Pack(info, manifest, documents), problems


def _read_manifest(directory: Path, display: str, problems: list[Problem]) -> Document | None:
    for name in MANIFEST_NAMES:
        path = directory / name
        if path.is_file():
            doc, found = read_document(path)
            if doc is not None:
                found = check_document(doc, "pack")
            problems.extend(found)
            return doc if not found else None
    problems.append(Problem(display_name(directory / MANIFEST_NAMES[0]), 1, "$",
                            "the pack has no pack.yaml manifest (pack: name, version: 1.0.0)"))
    return None


def _document_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in DOCUMENT_SUFFIXES and p.is_file())


def check_requirements(packs: Sequence[Pack]) -> list[Problem]:
    """Pack names are unique, and each pack's `requires` is met by a pack loaded before it."""
    problems: list[Problem] = []
    loaded: dict[str, Pack] = {}
    for pack in packs:
        if pack.info is None or pack.manifest is None:
            continue
        name = pack.info.name
        if name in loaded:
            problems.append(pack.manifest.problem(("pack",), f"pack '{name}' is already loaded from {loaded[name].info.path}"))
            continue
        for required, spec in pack.info.requires.items():
            path = ("requires", required)
            if required not in loaded:
                problems.append(pack.manifest.problem(path, f"needs pack '{required}', which is not loaded before it"))
            elif not version_matches(loaded[required].info.version, spec):
                problems.append(pack.manifest.problem(
                    path, f"needs '{required}' {spec.strip()}, but version {loaded[required].info.version} is loaded"))
        loaded[name] = pack
    return problems


def _version_tuple(text: str) -> tuple[int, ...]:
    numbers = re.match(r"[0-9]+(\.[0-9]+)*", text)
    return tuple(int(n) for n in numbers.group(0).split(".")) if numbers else (0,)


def version_matches(version: str, spec: str) -> bool:
    """`1.2.0` against `>=1.0, <2` (comparison operators, `~=` compatible release; none means ==)."""
    current = _version_tuple(version)
    for clause in spec.split(","):
        match = _REQUIREMENT.fullmatch(clause)
        if match is None:
            return False
        operator, wanted_text = match.group(1) or "==", match.group(2)
        wanted = _version_tuple(wanted_text)
        width = max(len(current), len(wanted))
        have, want = current + (0,) * (width - len(current)), wanted + (0,) * (width - len(wanted))
        if operator == "~=":
            prefix = wanted[:-1] if len(wanted) > 1 else wanted
            ok = have >= want and current[: len(prefix)] == prefix
        else:
            ok = {
                ">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want,
                "==": have == want, "!=": have != want,
            }[operator]
        if not ok:
            return False
    return True
