"""Read a pack directory: its manifest and every document, each checked against its schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

from metamodel.errors import Problem
from metamodel.merge import FOLDERS, KIND_OF_FOLDER, PackDocuments
from metamodel.model import PackInfo, Text
from metamodel.reading.overlay import MemoryPack, document_name_problem
from metamodel.reading.pack_files import MANIFEST_NAMES, document_files, manifest_file
from metamodel.reading.schema_check import check_document
from metamodel.yaml_source import Document, display_name, parse_text, read_document
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
    files, found = document_files(directory)
    problems.extend(found)
    documents.folders.update({folder: [] for folder in FOLDERS})
    for folder, path in files:
        doc, found = read_document(path)
        if doc is not None:
            found = check_document(doc, KIND_OF_FOLDER[folder])
        if found:
            problems.extend(found)
        else:
            documents.folders[folder].append(doc)
    return Pack(_info(manifest, display), manifest, documents), problems


def read_memory_pack(source: MemoryPack, layer: int) -> tuple[Pack, list[Problem]]:
    """`read_pack` for a pack given as texts; its `info`, when given, stands for the manifest."""
    documents = PackDocuments(layer, {folder: [] for folder in FOLDERS})
    problems: list[Problem] = []
    manifest: Document | None = None
    manifest_seen = False
    for name in sorted(source.documents):
        file = f"{source.root}/{name}"
        text = source.documents[name].removeprefix("\ufeff")
        if name in MANIFEST_NAMES:
            if source.info is not None:
                problems.append(Problem(file, 1, "$", f"the {source.info.name} layer takes no manifest"))
            elif manifest_seen:
                problems.append(Problem(file, 1, "$", "a second manifest: the pack already has one"))
            else:
                manifest_seen = True
                manifest = _checked(text, file, "pack", problems)
            continue
        wrong_name = document_name_problem(name)
        if wrong_name:
            problems.append(Problem(file, 1, "$", wrong_name))
            continue
        folder = name.split("/", 1)[0]
        doc = _checked(text, file, KIND_OF_FOLDER[folder], problems)
        if doc is not None:
            documents.folders[folder].append(doc)
    if source.info is not None:
        return Pack(source.info, None, documents), problems
    if not manifest_seen:
        problems.append(Problem(f"{source.root}/{MANIFEST_NAMES[0]}", 1, "$",
                                "the pack has no pack.yaml manifest (pack: name, version: 1.0.0)"))
    return Pack(_info(manifest, source.root), manifest, documents), problems


def _checked(text: str, file: str, kind: str, problems: list[Problem]) -> Document | None:
    doc, found = parse_text(text, file)
    if doc is not None:
        found = check_document(doc, kind)
    problems.extend(found)
    return doc if not found else None


def _info(manifest: Document | None, display: str) -> PackInfo | None:
    if manifest is None:
        return None
    data = manifest.data
    return PackInfo(
        name=data["pack"],
        version=data["version"],
        path=display,
        label=Text(data["label"]["en"], data["label"]["fr"]) if "label" in data else None,
        requires=MappingProxyType(dict(data.get("requires", {}))),
    )


def _read_manifest(directory: Path, display: str, problems: list[Problem]) -> Document | None:
    path, found = manifest_file(directory)
    problems.extend(found)
    if path is not None:
        doc, found = read_document(path)
        if doc is not None:
            found = check_document(doc, "pack")
        problems.extend(found)
        return doc if not found else None
    if found:
        return None
    problems.append(Problem(display_name(directory / MANIFEST_NAMES[0]), 1, "$",
                            "the pack has no pack.yaml manifest (pack: name, version: 1.0.0)"))
    return None


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


@dataclass(frozen=True)
class UnmetRequirement:
    """`pack acme 1.2.0 requires base >=2.0; this installation has base 1.0.0` (or no base at all)."""

    pack: str
    version: str
    required: str
    spec: str
    available: str | None
    """The version of `required` there is, None when there is none."""

    def __str__(self) -> str:
        wanted = f"pack {self.pack} {self.version} requires {self.required} {self.spec}"
        if self.available is None:
            return f"{wanted}; this installation has no pack {self.required}"
        return f"{wanted}; this installation has {self.required} {self.available}"


def unmet_requirements(info: PackInfo, available: Mapping[str, str]) -> list[UnmetRequirement]:
    """What `info.requires` asks that the packs `available` (name -> version) do not give."""
    return [
        UnmetRequirement(info.name, info.version, required, spec.strip(), available.get(required))
        for required, spec in info.requires.items()
        if required not in available or not version_matches(available[required], spec)
    ]
