"""Packs as a product: check a pack directory against an installation, plan it, install it;
and the admin overlay exported as a pack.

A pack fits when its name is free (not the overlay's, not a directory pack's), its version is
newer than the one installed (reinstalling the same content does nothing), what it `requires`
is there in a fitting version, and the whole model (directory packs, installed packs with this
one in its place, the overlay on top) loads. Installing migrates the schema first, then
records the pack's texts in `sys_pack`, where every process finds it (`engine.live`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import metamodel
from metamodel.model import PackInfo, Text
from metamodel.reading.overlay import (
    MANIFEST, MANIFEST_NAMES, OVERLAY_PACK, MemoryPack, manifest_text, overlay_pack, pack_texts, requirement_for,
)
from metamodel.reading.packs import read_memory_pack, unmet_requirements, version_matches
from metamodel.yaml_source import display_name

from engine.core.context import Actor
from .definition_errors import DefinitionChangeError, RequirementsError
from .definitions import INSTALLED_ROOT, Installation, Plan, Snapshot
from .pack_store import record_install

EXPORT_NAME = "admin_overlay"
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?")


@dataclass(frozen=True)
class PackChange:
    """What installing a pack directory would do."""

    name: str
    version: str
    installed_version: str | None
    action: str
    """`install` (new), `upgrade` (newer than the installed one) or `unchanged` (same content)."""
    plan: Plan
    documents: Mapping[str, str]
    requires: Mapping[str, str]

    def headline(self) -> str:
        if self.action == "upgrade":
            return f"upgrade pack {self.name} {self.installed_version} -> {self.version}"
        if self.action == "unchanged":
            return f"pack {self.name} {self.version} is already installed: nothing to do"
        return f"install pack {self.name} {self.version}"


def plan_pack(installation: Installation, directory: Path, *, with_plan: bool = True) -> PackChange:
    """Check the pack in `directory` against the installation and say what installing it changes
    (without `with_plan`, only check it: the plan's changes and steps stay empty).

    Raises `metamodel.DefinitionError` (file:line problems) or `DefinitionChangeError` (it does
    not fit: name taken, older version, unmet `requires`); writes nothing.
    """
    texts, problems = pack_texts(directory)
    if problems:
        raise metamodel.DefinitionError(problems)
    root = display_name(directory)
    info = _manifest(root, texts)
    snapshot = installation.snapshot()
    before = installation.model_before_change(snapshot)
    if before is None:
        installation.load()  # raises the problems of the current definitions
    assert before is not None
    installed = {p.name: p for p in snapshot.packs}
    _check_name(info, before, installed)
    existing = installed.get(info.name)
    action = "install"
    if existing is not None:
        action = _upgrade_action(info, existing.version, texts, existing.documents)
    available = {p.name: p.version for p in before.packs if p.name not in (OVERLAY_PACK, info.name)}
    unmet = unmet_requirements(info, available)
    if unmet:
        raise RequirementsError(unmet)
    candidate = MemoryPack(root, MappingProxyType(dict(texts)))
    model = installation.check_plugins(metamodel.load_model(_layers(installation, snapshot, candidate, info.name)))
    plan = installation.plan(before, model) if with_plan and action != "unchanged" else Plan(model, (), ())
    return PackChange(info.name, info.version, existing.version if existing else None, action, plan,
                      MappingProxyType(dict(texts)), info.requires)


def install_pack(installation: Installation, directory: Path, actor: Actor) -> tuple[PackChange, list[str]]:
    """`plan_pack`, then migrate the schema and record the pack; returns the change and the steps done."""
    installation.ensure_tables()
    with installation.exclusive():
        change = plan_pack(installation, directory)
        if change.action == "unchanged":
            return change, []
        done = installation.migrate_to(change.plan.model)
        with installation.db.begin() as conn:
            record_install(conn, change.name, change.version, change.documents, actor, installation.clock(),
                           change.installed_version)
    return change, done


@dataclass(frozen=True)
class ExportedPack:
    name: str
    version: str
    revision: int
    """The overlay revision it was made from."""
    documents: Mapping[str, str]
    """`pack.yaml` and the overlay's documents."""


def overlay_as_pack(installation: Installation, name: str = EXPORT_NAME, version: str | None = None) -> ExportedPack:
    """The current overlay as a pack: requiring every pack it was made on, from its version up
    to the next major, so that it installs only where it fits."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"'{name}' is not a pack name: lowercase letters, digits and _, starting with a letter")
    if name == OVERLAY_PACK:
        raise DefinitionChangeError("pack_reserved", pack=name)
    loaded = installation.load()
    overlay = loaded.overlay
    if overlay is None or not overlay.documents:
        raise DefinitionChangeError("overlay_empty")
    version = version or f"1.0.{overlay.id}"
    if not _VERSION.fullmatch(version):
        raise ValueError(f"'{version}' is not a version such as 1.2.0")
    requires = {p.name: requirement_for(p.version) for p in loaded.model.packs if p.name != OVERLAY_PACK}
    label = Text(f"Administration overlay, revision {overlay.id}", f"Surcouche d'administration, révision {overlay.id}")
    documents = {MANIFEST: manifest_text(name, version, requires, label), **overlay.documents}
    return ExportedPack(name, version, overlay.id, MappingProxyType(documents))


def _manifest(root: str, texts: Mapping[str, str]) -> PackInfo:
    manifest_only = MemoryPack(root, {name: text for name, text in texts.items() if name in MANIFEST_NAMES})
    pack, problems = read_memory_pack(manifest_only, 0)
    if problems or pack.info is None:
        raise metamodel.DefinitionError(problems)
    return pack.info


def _check_name(info: PackInfo, before: metamodel.Model, installed: Mapping[str, object]) -> None:
    if info.name == OVERLAY_PACK:
        raise DefinitionChangeError("pack_reserved", pack=info.name)
    for loaded in before.packs:
        if loaded.name == info.name and loaded.name not in installed:
            raise DefinitionChangeError("pack_from_directory", pack=info.name, path=loaded.path)


def _upgrade_action(info: PackInfo, installed: str, texts: Mapping[str, str], stored: Mapping[str, str]) -> str:
    if version_matches(info.version, f">{installed}"):
        return "upgrade"
    if version_matches(info.version, f"<{installed}"):
        raise DefinitionChangeError("pack_older", pack=info.name, version=info.version, installed=installed)
    if dict(texts) == dict(stored):
        return "unchanged"
    raise DefinitionChangeError("pack_same_version", pack=info.name, version=info.version)


def _layers(installation: Installation, snapshot: Snapshot, candidate: MemoryPack, name: str) -> list:
    """The directory packs, the installed packs with `candidate` in the place of its older
    version (or last), then the overlay."""
    layers: list = list(installation.pack_dirs)
    for pack in snapshot.packs:
        layers.append(candidate if pack.name == name else MemoryPack(f"{INSTALLED_ROOT}/{pack.name}", pack.documents))
    if name not in {p.name for p in snapshot.packs}:
        layers.append(candidate)
    if snapshot.overlay is not None:
        layers.append(overlay_pack(snapshot.overlay.id, snapshot.overlay.documents))
    return layers
