"""Helpers of the relations tests (a uniquely named module, imported by them): small packs
written in a temporary directory, and their problems as (file, line, path, message)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from metamodel import BASE_PACK, DefinitionError, load_model
from metamodel.model import Model

from mm_fixture_paths import REPO

RELATIONS = REPO / "tests" / "metamodel" / "packs" / "relations"
"""A valid pack using every relation: bookings of rooms of sites, with meals (lines) and attendees (links)."""

QUOTE = """\
entity: quote
label: {en: Quote, fr: Devis}
plural: {en: Quotes, fr: Devis}
characteristics:
  name: {type: string, label: {en: Name, fr: Nom}, mandatory: true}
  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}
"""
QUOTE_LINE = """\
entity: quote_line
label: {en: Quote line, fr: Ligne de devis}
plural: {en: Quote lines, fr: Lignes de devis}
owned_by: quote
characteristics:
  product: {type: string, label: {en: Product, fr: Produit}, mandatory: true}
  quantity: {type: integer, label: {en: Quantity, fr: Quantité}, min: 1}
"""


def write_pack(root: Path, files: dict[str, str], name: str = "p") -> Path:
    """A pack `name` under `root` with `files` (relative path -> text, dedented)."""
    directory = root / name
    for relative, text in {"pack.yaml": f"pack: {name}\nversion: 1.0.0\n", **files}.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def load(root: Path, files: dict[str, str], *, on: tuple[Path, ...] = ()) -> Model:
    """The model of the base pack, the packs `on`, then a pack of `files`."""
    return load_model([BASE_PACK, *on, write_pack(root, files)])


def problems(root: Path, files: dict[str, str], *, on: tuple[Path, ...] = ()) -> list[tuple[str, int, str, str]]:
    """Every problem of the pack (layered as `load` does): (file inside the pack, line, path, message)."""
    pack = write_pack(root, files)
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE_PACK, *on, pack])
    return [(p.file.split(f"/{pack.name}/", 1)[-1], p.line, p.path, p.message) for p in raised.value.problems]


def messages(root: Path, files: dict[str, str], *, on: tuple[Path, ...] = ()) -> list[str]:
    return [f"{file}:{line}: {path}: {message}" for file, line, path, message in problems(root, files, on=on)]
