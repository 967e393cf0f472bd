"""Definitions that change between migrations, for the planner's tests.

A fixed base pack (tests/engine/evolution_pack: the `colors` list and an `owner` entity)
and, per step, a pack written to a directory with the entities and lists under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import yaml

import metamodel
from engine import Engine
from metamodel.model import Model

BASE_PACK = Path(__file__).resolve().parent / "evolution_pack"

Fields = Mapping[str, Mapping[str, Any]]


def _label(name: str) -> dict[str, str]:
    words = name.replace("_", " ").capitalize()
    return {"en": words, "fr": words}


def entity_document(entity: str, fields: Fields, **keys: Any) -> dict[str, Any]:
    """An entity document: `fields` maps characteristic -> properties (labels added); `keys` are
    other entity-level keys (`owned_by`...)."""
    return {
        "entity": entity, "label": _label(entity), "plural": _label(entity + "s"), **keys,
        "characteristics": {name: {**spec, "label": _label(name)} for name, spec in fields.items()},
    }


def write_documents(root: Path, documents: Sequence[Mapping[str, Any]]) -> Path:
    """Write the step pack (on the evolution base) holding these entity documents."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "entities").mkdir(parents=True)
    (root / "pack.yaml").write_text(yaml.safe_dump({
        "pack": "evolution_step", "version": "1.0.0", "label": _label("evolution step"),
        "requires": {"evolution_base": ">=1.0"},
    }), encoding="utf-8")
    for document in documents:
        (root / "entities" / f"{document['entity']}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return root


def write_pack(root: Path, entities: Mapping[str, Fields], lists: Mapping[str, Sequence[Any]] | None = None) -> Path:
    """Write the step pack: `entities` maps entity -> characteristic -> properties (labels added);
    `lists` maps list -> values (a code, or a dict such as {code: x, retired: true})."""
    write_documents(root, [entity_document(entity, fields) for entity, fields in entities.items()])
    if lists:
        (root / "lists").mkdir()
        for name, values in lists.items():
            entries = [
                {**({"code": v} if isinstance(v, str) else v), "label": _label(v if isinstance(v, str) else v["code"])}
                for v in values
            ]
            document = {"list": name, "label": _label(name), "values": entries}
            (root / "lists" / f"{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


def load(root: Path) -> Model:
    return metamodel.load_model([BASE_PACK, root])


class Evolution:
    """One database and the successive definitions applied to it (an Engine per definition)."""

    def __init__(self, database_url: str, folder: Path):
        self.url = database_url
        self.folder = folder
        self.engines: list[Engine] = []
        self.steps = 0

    def engine(self, entities: Mapping[str, Fields], lists: Mapping[str, Sequence[Any]] | None = None) -> Engine:
        """An Engine on the definitions given (not migrated)."""
        self.steps += 1
        model = load(write_pack(self.folder / f"step{self.steps}", entities, lists))
        engine = Engine(model, self.url, files_dir=self.folder / "files")
        self.engines.append(engine)
        return engine

    def migrate(self, entities: Mapping[str, Fields], lists: Mapping[str, Sequence[Any]] | None = None) -> Engine:
        engine = self.engine(entities, lists)
        engine.migrate()
        return engine

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()
        self.engines.clear()


def evolution(database_url: str, folder: Path) -> Iterator[Evolution]:
    history = Evolution(database_url, folder)
    try:
        yield history
    finally:
        history.dispose()
