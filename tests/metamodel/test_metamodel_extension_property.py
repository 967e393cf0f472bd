"""Any set of characteristics can be reached from an earlier pack's by an `extends:` document:
removals, redeclarations (another type, list, length...), removal then declaration again, and
new characteristics give the entity a later pack means, no more and no less (Hypothesis).

The same target written as one declaration is the reference; the views of the earlier pack
(the entity's and a named view) keep the characteristics that stay, in their places, lose
those removed, and show a renamed one (removed, then declared with `renamed_from`) in its places.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import metamodel
from metamodel.model import Model
from metamodel.reading.overlay import MemoryPack, manifest_text, overlay_pack

NAMES = ("f1", "f2", "f3", "f4", "f5", "f6")
SPECS = (
    {"type": "string", "max_length": 20}, {"type": "string", "max_length": 80}, {"type": "text"},
    {"type": "integer"}, {"type": "integer", "min": 0, "max": 9}, {"type": "decimal", "scale": 3},
    {"type": "date"}, {"type": "boolean"}, {"type": "choice", "list": "sizes"}, {"type": "choice", "list": "colors"},
    {"type": "multi_choice", "list": "sizes"}, {"type": "email", "unique": True},
)
LISTS = {
    "lists/sizes.yaml": "list: sizes\nlabel: {en: Sizes, fr: Tailles}\nvalues: [{code: s, label: {en: S, fr: S}}]\n",
    "lists/colors.yaml": "list: colors\nlabel: {en: Colors, fr: Couleurs}\nvalues: [{code: red, label: {en: Red, fr: Rouge}}]\n",
}
COMPARED = ("type", "label", "list", "min", "max", "max_length", "scale", "unique")


def declared(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return {**spec, "label": {"en": name.upper(), "fr": name}}


def entity_text(fields: dict[str, dict[str, Any]]) -> str:
    document = {
        "entity": "item", "label": {"en": "Item", "fr": "Article"}, "plural": {"en": "Items", "fr": "Articles"},
        "characteristics": {name: declared(spec, name) for name, spec in fields.items()},
        "views": {"list": {"columns": list(fields)}, "form": {"sections": [
            {"title": {"en": "All", "fr": "Tout"}, "fields": list(fields)}]}},
    }
    return yaml.safe_dump(document, sort_keys=False)


def named_view_text(fields: dict[str, dict[str, Any]]) -> str:
    document = {"view": "everything", "entity": "item", "kind": "list", "label": {"en": "All", "fr": "Tout"},
                "columns": list(fields), "sort": [f"-{name}" for name in fields]}
    return yaml.safe_dump(document, sort_keys=False)


def pack(root: str, fields: dict[str, dict[str, Any]]) -> MemoryPack:
    return MemoryPack(root, {"pack.yaml": manifest_text(root, "1.0.0", {}), "entities/item.yaml": entity_text(fields),
                             "views/everything.yaml": named_view_text(fields), **LISTS})


def compared(model: Model) -> dict[str, tuple[Any, ...]]:
    return {f.name: tuple(getattr(f, key) for key in COMPARED) for f in model.entity("item").fields}


fates = st.sampled_from(("keep", "remove", "redeclare", "remove_and_declare", "rename"))


@st.composite
def evolutions(draw: st.DrawFn) -> tuple[dict, dict, dict, dict]:
    """(earlier fields, later fields, the extension document from one to the other, renames)."""
    base_names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    base = {name: draw(st.sampled_from(SPECS)) for name in base_names}
    target: dict[str, dict[str, Any]] = {}
    extension: dict[str, Any] = {"extends": "item"}
    removed: list[str] = []
    characteristics: dict[str, Any] = {}
    renames: dict[str, str] = {}
    for name, spec in base.items():
        fate = draw(fates)
        if fate == "keep":
            target[name] = spec
        elif fate == "remove":
            removed.append(name)
        elif fate == "rename":
            renames[name] = f"{name}_renamed"
            removed.append(name)
            target[renames[name]] = spec
            characteristics[renames[name]] = {**declared(spec, renames[name]), "renamed_from": name}
        else:
            new = draw(st.sampled_from(SPECS))
            target[name] = new
            if fate == "redeclare":
                characteristics[name] = {"redeclare": True, **declared(new, name)}
            else:
                removed.append(name)
                characteristics[name] = declared(new, name)
    for name in draw(st.lists(st.sampled_from([n for n in NAMES if n not in base]), max_size=2, unique=True)):
        target[name] = draw(st.sampled_from(SPECS))
        characteristics[name] = declared(target[name], name)
    assume(target)  # an entity has at least one characteristic
    if removed:
        extension["remove_characteristics"] = removed
    if characteristics:
        extension["characteristics"] = characteristics
    return base, target, extension, renames


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(evolutions())
def test_an_extension_reaches_any_set_of_characteristics(evolution: tuple[dict, dict, dict, dict]) -> None:
    base, target, extension, renames = evolution
    later = metamodel.load_model([pack("base", base), overlay_pack(1, {"entities/item.yaml": yaml.safe_dump(extension)})])
    reference = metamodel.load_model([pack("base", target)])
    assert compared(later) == compared(reference)

    staying = [n for n in base if n in target and n not in extension.get("remove_characteristics", ())]
    item = later.entity("item")
    assert [f.name for f in item.fields][:len(staying)] == staying  # kept and redeclared: in their places
    assert {f.name: f.renamed_from for f in item.fields if f.renamed_from} == {new: (old,) for old, new in renames.items()}
    staying = [renames.get(n, n) for n in base if n in staying or n in renames]  # a renamed one in its places
    if staying:
        assert list(item.view("list").columns) == list(item.view("everything").columns) == staying
        assert list(item.view("everything").sort) == [f"-{name}" for name in staying]
        assert [s.fields for s in item.view("form").sections] == [tuple(staying)]
    else:  # every field of the layouts removed: the generated ones
        assert [s.fields for s in item.view("form").sections] == [tuple(f.name for f in item.fields)]
