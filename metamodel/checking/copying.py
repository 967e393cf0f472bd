"""What a workflow `copy` action copies: the characteristics two entities share.

A `copy` action creates a record of a target entity from the record being moved (a quote's
revision from the quote, an order from an accepted quote). Which values go across is decided
by the definitions alone, so the loader (metamodel/checking/checks.py: a mandatory characteristic the
copy would leave empty) and the engine (engine/records/workflow.py: the values it writes)
compute it with the same function, `copy_plan`, over `Slot`s: the few facts about a
characteristic that copying needs, read from a merged spec or from a built `EntityDef`.

The rule: a characteristic of the target is copied from the source characteristic of the same
name when their types fit (`fits`), unless it is unique or in the natural key (a copy would
collide), read-only (a workflow sets it), a system field, or listed in `except`. `lines` of
the two are paired by name (or as each one's only `lines`), and each line copied the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping

from metamodel.model import EntityDef

WIDENING = frozenset({("integer", "decimal"), ("string", "text")})
"""Source type -> target type pairs that copy without loss besides equal types."""


@dataclass(frozen=True)
class Slot:
    """One characteristic as copying sees it."""

    name: str
    type: str
    entity: str | None = None
    list: str | None = None
    copied: bool = True
    """False: never copied implicitly (unique, natural key, read-only or system)."""
    needed: bool = False
    """Mandatory without `default` or `default_expr`: a new record needs a value for it."""


@dataclass(frozen=True)
class LinesCopy:
    """A `lines` characteristic of the source copied into one of the target."""

    source: str
    target: str
    fields: tuple[str, ...]
    """The line characteristics copied (same name in both owned entities)."""


@dataclass(frozen=True)
class CopyPlan:
    fields: tuple[str, ...]
    """Characteristics (with a column, or `links`) copied under the same name."""
    lines: tuple[LinesCopy, ...] = ()


def fits(source: Slot, target: Slot) -> bool:
    """A value of `source` is a valid value of `target`: the same type (or a widening), the same
    target entity for links, the same value list for choices."""
    if source.type != target.type and (source.type, target.type) not in WIDENING:
        return False
    if target.type in ("link", "links", "lines"):
        return source.entity == target.entity or target.type == "lines"
    if target.type in ("choice", "multi_choice"):
        return source.list == target.list
    return True


def spec_slots(characteristics: Mapping[str, Mapping[str, Any]], natural_key: Collection[str] = ()) -> dict[str, Slot]:
    """The slots of a merged entity spec's characteristics."""
    return {
        name: Slot(
            name, char.get("type", ""), char.get("entity"), char.get("list"),
            copied=not (char.get("unique") or char.get("readonly") or name in natural_key),
            needed=bool(char.get("mandatory")) and "default" not in char and "default_expr" not in char,
        )
        for name, char in characteristics.items()
    }


def entity_slots(entity: EntityDef) -> dict[str, Slot]:
    """The slots of a built entity (its system fields are never copied)."""
    return {
        f.name: Slot(
            f.name, f.type, f.entity, f.list,
            copied=not (f.unique or f.readonly or f.system or f.name in entity.natural_key),
            needed=f.mandatory and f.default is None and f.default_expr is None and not f.system,
        )
        for f in entity.fields
    }


def copy_plan(
    source: Mapping[str, Slot], target: Mapping[str, Slot], skip: Collection[str],
    owned: Callable[[str], Mapping[str, Slot]],
) -> CopyPlan:
    """What copying a record with `source` characteristics into `target` ones copies; `skip`:
    target characteristics left out (`except`); `owned`: the slots of an owned entity by name."""
    fields = tuple(
        name for name, slot in target.items()
        if slot.type != "lines" and slot.copied and name not in skip
        and name in source and fits(source[name], slot)
    )
    lines = []
    for source_name, target_name in _paired_lines(source, target, skip):
        source_line = owned(source[source_name].entity or "")
        target_line = owned(target[target_name].entity or "")
        names = tuple(
            name for name, slot in target_line.items()
            if slot.copied and slot.type != "lines" and name in source_line and fits(source_line[name], slot)
        )
        lines.append(LinesCopy(source_name, target_name, names))
    return CopyPlan(fields, tuple(lines))


def left_empty(
    plan: CopyPlan, target: Mapping[str, Slot], valued: Collection[str], owned: Callable[[str], Mapping[str, Slot]],
) -> list[str]:
    """The characteristics (`lines.product` for a line's) a copy would leave empty although a new
    record needs them: mandatory, no default, neither copied nor given in `values`."""
    missing = [name for name, slot in target.items()
               if slot.needed and slot.type != "lines" and name not in plan.fields and name not in valued]
    for pair in plan.lines:
        line = owned(target[pair.target].entity or "")
        missing += [f"{pair.target}.{name}" for name, slot in line.items() if slot.needed and name not in pair.fields]
    return missing


def _paired_lines(source: Mapping[str, Slot], target: Mapping[str, Slot], skip: Collection[str]) -> list[tuple[str, str]]:
    """`lines` of the target with the source's of the same name, or each one's only `lines`."""
    source_lines = [n for n, s in source.items() if s.type == "lines"]
    target_lines = [n for n, s in target.items() if s.type == "lines" and n not in skip]
    if len(source_lines) == 1 and len(target_lines) == 1:
        return [(source_lines[0], target_lines[0])]
    return [(n, n) for n in target_lines if n in source_lines]
