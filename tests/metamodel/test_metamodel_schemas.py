"""The shipped JSON Schemas, and the fast validity test compiled from them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from metamodel.model import CHARACTERISTIC_TYPES
from metamodel.reading.schema_check import KINDS, quick_test, raw_schema, schema_path, validator
from metamodel.yaml_source import read_document

from mm_fixture_paths import ACME, BASE, BROKEN, REPO, ROLES_ACME, ROLES_BASE, ROLES_BROKEN

KIND_OF_FOLDER = {"entities": "entity", "lists": "list", "workflows": "workflow", "views": "view", "roles": "role"}


@pytest.mark.parametrize("kind", KINDS)
def test_schema_files_are_valid_draft_2020_12_with_id_and_title(kind: str) -> None:
    schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{kind}.schema.json")
    assert schema["title"] and schema["description"]


def test_schemas_ship_inside_the_package() -> None:
    assert {p.name for p in (REPO / "metamodel" / "schemas").glob("*.schema.json")} == {f"{k}.schema.json" for k in KINDS}


def test_characteristic_types_are_the_model_characteristic_types_but_status() -> None:
    declared = raw_schema("entity")["$defs"]["characteristic"]["properties"]["type"]["enum"]

    assert set(declared) == CHARACTERISTIC_TYPES - {"status"}


def test_validators_are_built_once() -> None:
    assert validator("entity") is validator("entity")
    assert raw_schema("list") is raw_schema("list")


def _fixture_documents() -> Iterator[tuple[str, Any]]:
    for pack in [BASE, ACME, *sorted(BROKEN.iterdir()), ROLES_BASE, ROLES_ACME, *sorted(ROLES_BROKEN.iterdir())]:
        manifest = pack / "pack.yaml"
        if manifest.is_file():
            yield from _parsed("pack", manifest)
        for folder, kind in KIND_OF_FOLDER.items():
            for path in sorted((pack / folder).glob("*.yaml")):
                yield from _parsed(kind, path)


def _parsed(kind: str, path: Path) -> Iterator[tuple[str, Any]]:
    doc, _ = read_document(path)
    if doc is not None:
        yield kind, doc.data


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield prefix + (index,)
            yield from _paths(value, prefix + (index,))


def _mutations(data: Any) -> Iterator[Any]:
    """Copies of `data` with one value removed, replaced by another type, or given a stray key."""
    for path in _paths(data):
        for replacement in (None, "Zz", 7, 2.5, True, [], {}, "__removed__", "__stray__"):
            mutated = copy.deepcopy(data)
            parent = mutated
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if replacement == "__removed__":
                del parent[last]
            elif replacement == "__stray__":
                if not isinstance(parent[last], dict):
                    continue
                parent[last]["stray"] = 1
            else:
                parent[last] = replacement
            yield mutated


def test_fast_test_agrees_with_jsonschema_on_every_fixture_and_its_mutations() -> None:
    checked = 0
    for kind, data in _fixture_documents():
        for candidate in [data, *_mutations(data)] if len(str(data)) < 1500 else [data]:
            expected = validator(kind).is_valid(candidate)
            assert quick_test(kind)(candidate) is expected, (kind, candidate)
            checked += 1
    assert checked > 1000
