"""What kind of value an expression can give, known from its tree and the types of the fields it reads.

The pack check uses it to refuse a `default_expr` (or a `set` / `on_enter` value) that can
never fit its field, `upper(name)` for an integer say, when the pack loads rather than at
the first record. The inference is deliberately lenient: an expression is refused only
when none of the kinds it may give fits the field; whatever it cannot tell (an operator on
kinds it does not know to combine) makes the whole answer unknown, and nothing is refused.
"""

from __future__ import annotations

import ast
from typing import Callable, Iterable

from metamodel.model import TEXT_TYPES
from metamodel.values import an

Kinds = frozenset[str]
"""Some of: number, text, bool, date, datetime, duration, list, none."""

NUMBER, TEXT, BOOL, DATE, DATETIME, DURATION, LIST, NONE = (
    "number", "text", "bool", "date", "datetime", "duration", "list", "none")
KIND_WORDS = {
    NUMBER: "a number", TEXT: "text", BOOL: "true or false", DATE: "a date", DATETIME: "a date and time",
    DURATION: "a duration", LIST: "a list",
}
_TYPE_KINDS: dict[str, str] = {
    **{t: TEXT for t in TEXT_TYPES}, "choice": TEXT, "status": TEXT, "integer": NUMBER, "decimal": NUMBER,
    "link": NUMBER, "date": DATE, "datetime": DATETIME, "boolean": BOOL, "multi_choice": LIST,
    "links": LIST,
}
"""A path (`account.sector`) has the kind of the field it ends on; links read as the list of member ids."""
ACCEPTED: dict[str, Kinds] = {
    **{t: frozenset({TEXT}) for t in TEXT_TYPES}, "choice": frozenset({TEXT}), "integer": frozenset({NUMBER}),
    "decimal": frozenset({NUMBER}), "link": frozenset({NUMBER}), "date": frozenset({DATE}),
    "datetime": frozenset({DATETIME, DATE}), "boolean": frozenset({BOOL}), "multi_choice": frozenset({LIST}),
}
"""What a field of each type takes from an expression (a datetime field takes a date as midnight)."""

_CALLS: dict[str, Kinds] = {
    "today": frozenset({DATE}), "now": frozenset({DATETIME}), "days": frozenset({DURATION}),
    "len": frozenset({NUMBER}), "lower": frozenset({TEXT, NONE}), "upper": frozenset({TEXT, NONE}),
    "round": frozenset({NUMBER}),
}
_SAME_AS_ARGUMENTS = frozenset({"abs", "min", "max"})
_BINARY: dict[type, dict[tuple[str, str], str]] = {
    ast.Add: {(NUMBER, NUMBER): NUMBER, (TEXT, TEXT): TEXT, (LIST, LIST): LIST, (DATE, DURATION): DATE,
              (DURATION, DATE): DATE, (DATETIME, DURATION): DATETIME, (DURATION, DATETIME): DATETIME,
              (DURATION, DURATION): DURATION},
    ast.Sub: {(NUMBER, NUMBER): NUMBER, (DATE, DATE): DURATION, (DATETIME, DATETIME): DURATION,
              (DATE, DURATION): DATE, (DATETIME, DURATION): DATETIME, (DURATION, DURATION): DURATION},
    ast.Mult: {(NUMBER, NUMBER): NUMBER, (TEXT, NUMBER): TEXT, (NUMBER, TEXT): TEXT, (LIST, NUMBER): LIST,
               (NUMBER, LIST): LIST, (DURATION, NUMBER): DURATION, (NUMBER, DURATION): DURATION},
    ast.Div: {(NUMBER, NUMBER): NUMBER, (DURATION, NUMBER): DURATION, (DURATION, DURATION): NUMBER},
    ast.FloorDiv: {(NUMBER, NUMBER): NUMBER, (DURATION, NUMBER): DURATION, (DURATION, DURATION): NUMBER},
    ast.Mod: {(NUMBER, NUMBER): NUMBER},
    ast.Pow: {(NUMBER, NUMBER): NUMBER},
}


def field_kind(field_type: str | None) -> str | None:
    return _TYPE_KINDS.get(field_type or "")


def result_kinds(tree: ast.expr, type_of: Callable[[str], str | None]) -> Kinds | None:
    """The kinds of value `tree` may give, or None when it cannot tell. `type_of(name)` is the
    type of a field the expression reads (None when unknown); an empty field gives `none`."""
    return _Infer(type_of).kinds(tree)


def describe(kinds: Iterable[str]) -> str:
    words = [KIND_WORDS[k] for k in sorted(kinds) if k in KIND_WORDS]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def kind_refusal(tree: ast.expr, type_of: Callable[[str], str | None], field_type: str) -> str | None:
    """Why no value of `tree` can go into a field of `field_type`, or None (it may fit, or we cannot tell)."""
    accepted = ACCEPTED.get(field_type)
    kinds = result_kinds(tree, type_of)
    if accepted is None or kinds is None:
        return None
    given = kinds - {NONE}
    if not given or given & accepted:
        return None
    return (f"the expression gives {describe(given)}, but {an(field_type)} characteristic holds "
            f"{describe(accepted)}: change the expression or the characteristic's type")


class _Infer:
    def __init__(self, type_of: Callable[[str], str | None]) -> None:
        self.type_of = type_of

    def kinds(self, node: ast.expr) -> Kinds | None:
        if isinstance(node, ast.Constant):
            return frozenset({_constant_kind(node.value)})
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return frozenset({BOOL})
            if node.id == "None":
                return frozenset({NONE})
            kind = field_kind(self.type_of(node.id))
            return frozenset({kind, NONE}) if kind else None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return frozenset({LIST})
        if isinstance(node, ast.Compare):
            return frozenset({BOOL})
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return frozenset({BOOL})
            operand = self.kinds(node.operand)
            return None if operand is None else _only(operand - {NONE}, {NUMBER, DURATION})
        if isinstance(node, (ast.BoolOp, ast.IfExp)):
            parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            return _union(self.kinds(part) for part in parts)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in _CALLS:
                return _CALLS[name]
            if name in _SAME_AS_ARGUMENTS:
                found = _union(self.kinds(arg) for arg in node.args)
                return None if found is None or LIST in found else found - {NONE} or None
        return None

    def binary(self, node: ast.BinOp) -> Kinds | None:
        table = _BINARY.get(type(node.op))
        left, right = self.kinds(node.left), self.kinds(node.right)
        if table is None or left is None or right is None:
            return None
        found = {table[(a, b)] for a in left for b in right if (a, b) in table}
        return frozenset(found) or None  # no combination works: another check's business, not ours


def _constant_kind(value: object) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return NONE


def _only(kinds: Kinds, allowed: set[str]) -> Kinds | None:
    kept = kinds & allowed
    return frozenset(kept) or None


def _union(parts: Iterable[Kinds | None]) -> Kinds | None:
    result: set[str] = set()
    for part in parts:
        if part is None:
            return None
        result |= part
    return frozenset(result)
