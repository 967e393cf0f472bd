"""The JSON Schemas editors use (metamodel/schemas), on relations: every document of the packs
that use them is valid (the base pack, the example packs, the relations test packs), and a typo
in a relation construct is refused, by the schema and by the fast test compiled from it alike."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import pytest

from metamodel.reading.schema_check import quick_test, validator
from metamodel.yaml_source import read_document

from mm_fixture_paths import REPO
from test_relations_tools import _mutations

KIND_OF_FOLDER = {"entities": "entity", "lists": "list", "workflows": "workflow", "views": "view", "roles": "role"}
PACKS = [
    REPO / "definitions", *sorted(p for p in (REPO / "examples" / "packs").iterdir() if p.is_dir()),
    REPO / "tests" / "api" / "relations_pack", *sorted((REPO / "tests" / "engine" / "relations").glob("*_pack")),
    REPO / "tests" / "metamodel" / "packs" / "relations",
]
RELATION_PACKS = PACKS[-5:]


def documents(packs: list[Path]) -> Iterator[tuple[str, Path, Any]]:
    for pack in packs:
        if (pack / "pack.yaml").is_file():
            yield "pack", pack / "pack.yaml", read_document(pack / "pack.yaml")[0].data
        for folder, kind in KIND_OF_FOLDER.items():
            for path in sorted((pack / folder).glob("*.yaml")):
                doc, _ = read_document(path)
                if doc is not None:
                    yield kind, path, doc.data


ALL = list(documents(PACKS))


def test_the_packs_are_all_there() -> None:
    assert {p.name for p in RELATION_PACKS} == {"relations_pack", "collections_pack", "copy_pack", "paths_pack",
                                                "relations"}
    assert all(p.is_dir() for p in PACKS) and len(ALL) > 100


@pytest.mark.parametrize("kind, path, data", ALL, ids=[str(p.relative_to(REPO)) for _, p, _ in ALL])
def test_every_document_of_the_packs_is_valid_for_its_schema_and_the_fast_test(kind: str, path: Path, data: Any) -> None:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator(kind).iter_errors(data)]
    assert errors == []
    assert quick_test(kind)(data) is True


def test_the_fast_test_agrees_with_jsonschema_on_mutations_of_the_relations_test_packs() -> None:
    checked = 0
    for kind, _path, data in documents(RELATION_PACKS[:-1]):  # the last one: test_relations_tools
        if kind == "pack" or len(str(data)) > 2500:
            continue
        for candidate in _mutations(data):
            assert quick_test(kind)(candidate) is validator(kind).is_valid(candidate), (kind, candidate)
            checked += 1
    assert checked > 1000


LABEL = {"en": "A", "fr": "A"}
ENTITY = {"entity": "x", "label": LABEL, "plural": LABEL, "characteristics": {
    "a": {"type": "link", "entity": "y", "label": LABEL},
    "b": {"type": "links", "entity": "y", "label": LABEL, "max": 50, "historized": True},
    "c": {"type": "lines", "entity": "z", "label": LABEL, "min": 1, "max": 1000},
}, "views": {
    "list": {"columns": ["a", "a.name"], "filters": ["a.region.country", "b"], "sort": ["-a.name"],
             "group_by": ["a.kind"], "where": {"a.region.name": "Auvergne", "a.size": {"min": 1}}},
    "form": {"related": [{"relation": "w_x", "columns": ["name", "owner.name"], "sort": ["-owner.name"], "size": 100}]},
}}
OWNED = {"entity": "z", "label": LABEL, "plural": LABEL, "owned_by": "x",
         "characteristics": {"d": {"type": "string", "label": LABEL}}}
EXTENSION = {"extends": "x", "characteristics": {"a": {"reverse": None}, "b": {"reverse": {"label": LABEL}}},
             "views": {"form": {"related": []}}}
FORM_VIEW = {"view": "v", "entity": "x", "kind": "form", "label": LABEL,
             "related": [{"relation": "w_x", "size": 1}]}
VIEW_EXTENSION = {"extends": "v", "related": [{"relation": "w_x", "columns": ["a.b.c.name"]}]}


def changed(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of `data` with the value at `path` set (`...` removes it)."""
    result = copy.deepcopy(data)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


@pytest.mark.parametrize("kind, data", [
    ("entity", ENTITY), ("entity", OWNED), ("entity", EXTENSION), ("view", FORM_VIEW), ("view", VIEW_EXTENSION),
    ("entity", changed(ENTITY, ("characteristics", "a", "reverse"), "accounts")),
    ("entity", changed(ENTITY, ("characteristics", "a", "reverse"), {"name": "accounts", "label": LABEL})),
    ("entity", changed(ENTITY, ("views", "form", "related"), [])),
])
def test_every_relation_construct_is_accepted(kind: str, data: dict[str, Any]) -> None:
    assert validator(kind).is_valid(data)
    assert quick_test(kind)(data) is True


CHAR = ("characteristics", "a")
PANEL = ("views", "form", "related", 0)


@pytest.mark.parametrize("kind, data", [
    ("entity", changed(ENTITY, (*CHAR, "type"), "many")),                       # a type that does not exist
    ("entity", changed(ENTITY, (*CHAR, "type"), "line")),
    ("entity", changed(ENTITY, (*CHAR, "entitiy"), "y")),                        # a misspelt key
    ("entity", changed(ENTITY, (*CHAR, "revers"), "accounts")),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), {"nom": "accounts"})),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), {"name": "accounts", "label": {"en": "A"}})),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), {})),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), "Accounts")),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), 3)),
    ("entity", changed(ENTITY, (*CHAR, "reverse"), None)),                      # null: only to override
    ("entity", changed(ENTITY, (*CHAR, "entity"), "Y")),
    ("entity", changed(OWNED, ("owned_by",), "X")),
    ("entity", changed(OWNED, ("ownedby",), "x")),
    ("entity", changed(EXTENSION, ("owned_by",), "x")),                          # owned_by is for good
    ("entity", changed(EXTENSION, ("characteristics", "b", "reverse"), {"label": LABEL, "stray": 1})),
    ("entity", changed(ENTITY, (*PANEL, "relation"), ...)),
    ("entity", changed(ENTITY, (*PANEL, "colums"), ["name"])),
    ("entity", changed(ENTITY, (*PANEL, "size"), 0)),
    ("entity", changed(ENTITY, (*PANEL, "size"), 101)),
    ("entity", changed(ENTITY, (*PANEL, "size"), "10")),
    ("entity", changed(ENTITY, (*PANEL, "columns"), [])),
    ("entity", changed(ENTITY, (*PANEL, "columns"), ["owner..name"])),
    ("entity", changed(ENTITY, (*PANEL, "sort"), ["+owner.name"])),
    ("entity", changed(ENTITY, ("views", "form", "related"), {"relation": "w_x"})),
    ("entity", changed(ENTITY, ("views", "list", "columns"), ["a."])),
    ("entity", changed(ENTITY, ("views", "list", "filters"), [".name"])),
    ("entity", changed(ENTITY, ("views", "list", "group_by"), ["a.Kind"])),
    ("entity", changed(ENTITY, ("views", "list", "where"), {"a..name": "x"})),
    ("entity", changed(ENTITY, ("views", "list", "relatd"), [])),
    ("view", changed(FORM_VIEW, ("related", 0, "size"), 101)),
    ("view", changed(FORM_VIEW, ("related", 0, "relaton"), "w_x")),
    ("view", changed(VIEW_EXTENSION, ("related", 0, "columns"), ["a.b c"])),
])
def test_a_typo_in_a_relation_construct_is_refused(kind: str, data: dict[str, Any]) -> None:
    assert validator(kind).is_valid(data) is False
    assert quick_test(kind)(data) is False
