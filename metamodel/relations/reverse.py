"""The reverse relations every `link` and `links` makes on its target entity, from the merged specs.

`event.account: {type: link, entity: account}` makes on account the relation `event_account`
(`<source entity>_<characteristic>`), labelled with the source entity's plural ("Events"),
followed by the characteristic's label in brackets when the source entity has several links
to that target ("Events (Account)", "Events (Billed account)"). `reverse: events` names it,
`reverse: {name: events, label: {en: .., fr: ..}}` names and labels it.

A characteristic renamed by a later pack (`renamed_from`) keeps the default name of its
oldest name, so that the forms' panels and the API naming the relation keep working.

`lines` make none (their reverse is the owner), nor do the links of an owned entity (its
records have no page of their own). The pack checks use these specs for the name collisions
and the form panels; `relations.build` turns them into `RelationDef`s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from metamodel.merge import EntitySpec, Merged, former_names
from metamodel.sources import Origin, Props

REVERSED_TYPES = frozenset({"link", "links"})


@dataclass(frozen=True)
class ReverseSpec:
    name: str
    label: dict[str, str]
    """`{en: .., fr: ..}`, defaults filled."""
    target: str
    source_entity: str
    source_field: str
    kind: str
    origin: Origin
    """Where the name is given: the `reverse:` key, or the characteristic that makes it."""
    declared: bool
    """The name comes from `reverse:` (the default otherwise)."""


def default_name(entity: str, field_name: str) -> str:
    return f"{entity}_{field_name}"


def declared_reverse(char: Props) -> tuple[str | None, dict[str, str] | None]:
    """The name and the label a characteristic's `reverse:` gives (None for what it leaves out)."""
    reverse: Any = char.get("reverse")
    if isinstance(reverse, str):
        return reverse, None
    if isinstance(reverse, dict):
        return reverse.get("name"), reverse.get("label")
    return None, None


def reverse_specs(merged: Merged) -> dict[str, list[ReverseSpec]]:
    """Target entity -> its reverse relations, in the order of the declaring entities and their
    characteristics. Characteristics whose target is unknown or owned make none (the checks
    report them)."""
    found: dict[str, list[ReverseSpec]] = {}
    for spec in merged.entities.values():
        if spec.props.get("owned_by"):
            continue
        reversed_chars = [(name, char) for name, char in spec.characteristics.items() if _makes_reverse(char, merged)]
        per_target = Counter(char["entity"] for _, char in reversed_chars)
        for name, char in reversed_chars:
            target = char["entity"]
            found.setdefault(target, []).append(_reverse(spec, name, char, several=per_target[target] > 1))
    return found


def _makes_reverse(char: Props, merged: Merged) -> bool:
    if char.get("type") not in REVERSED_TYPES:
        return False
    target = merged.entities.get(char.get("entity") or "")
    return target is not None and not target.props.get("owned_by")


def _reverse(spec: EntitySpec, name: str, char: Props, *, several: bool) -> ReverseSpec:
    declared_name, declared_label = declared_reverse(char)
    label = declared_label
    if label is None:
        plural = spec.props["plural"]
        if several:
            label = {lang: f"{plural[lang]} ({char['label'][lang]})" for lang in ("en", "fr")}
        else:
            label = {"en": plural["en"], "fr": plural["fr"]}
    origin = char.origin_of("reverse") if "reverse" in char else char.origin
    return ReverseSpec(
        name=declared_name or default_name(spec.name, (*former_names(char.get("renamed_from")), name)[0]),
        label=label,
        target=char["entity"],
        source_entity=spec.name,
        source_field=name,
        kind=char["type"],
        origin=origin,
        declared=declared_name is not None,
    )
