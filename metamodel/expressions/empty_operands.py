"""Optional fields an expression uses where an empty value makes it fail.

`quantity * unit_price` fails on a record whose quantity is empty (None * 3 is an error),
and so do `amount > 1000`, `-discount` or `round(rate)`. An operand is safe when the field
is mandatory, or when the expression makes sure of it first: an earlier operand of
`and` / `or` or the condition of `... if ... else ...` naming the field
(`amount != None and amount > 1000`), or a fallback (`(discount or 0) * 2`). What is left is a
warning, not an error: the pack loads, and the runtime reports the empty field clearly.
"""

from __future__ import annotations

import ast
from typing import Collection

_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_NUMERIC_FUNCTIONS = frozenset({"abs", "round", "min", "max"})
"""Functions that fail on an empty argument (len, lower and upper take None)."""


def unguarded_operands(tree: ast.expr, optional: Collection[str]) -> list[str]:
    """The names of `optional` fields that reach arithmetic, an ordering comparison or a
    numeric function with nothing in the expression making sure they hold a value; in order."""
    found: dict[str, None] = {}
    _visit(tree, frozenset(), optional, found)
    return list(found)


def _names(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _visit(node: ast.AST, guarded: frozenset[str], optional: Collection[str], found: dict[str, None]) -> None:
    if isinstance(node, ast.BoolOp):
        seen = guarded
        for value in node.values:
            _visit(value, seen, optional, found)
            seen = seen | _names(value)
        return
    if isinstance(node, ast.IfExp):
        _visit(node.test, guarded, optional, found)
        tested = guarded | _names(node.test)
        _visit(node.body, tested, optional, found)
        _visit(node.orelse, tested, optional, found)
        return
    operands: list[ast.expr] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
        operands = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operands = [node.operand]
    elif isinstance(node, ast.Compare) and any(isinstance(o, _ORDERING) for o in node.ops):
        operands = [node.left, *node.comparators]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NUMERIC_FUNCTIONS:
        operands = list(node.args)
    for operand in operands:
        if isinstance(operand, ast.Name) and operand.id in optional and operand.id not in guarded:
            found[operand.id] = None
    children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
    for child in children:
        _visit(child, guarded, optional, found)
