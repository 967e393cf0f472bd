"""Sandboxed expressions: `mandatory_when`, `default_expr`, transition guards and `set` actions.

An expression is parsed once with `ast` when the pack loads and refused unless every
node is on an allow-list (names, literals, arithmetic, comparisons, `and`/`or`/`not`,
conditional expressions, list/tuple/set literals and calls of the functions below), and
paths through links (`account.sector`: dotted names, nothing else with a dot).
Sub-expressions made only of literals are evaluated right away, so `9**9**9` or
`'x' * 10**9` fail when the pack loads rather than when a record is saved. Evaluation
goes through simpleeval with operators whose limits are much tighter than its defaults:
never `eval`, never attribute access, and no loops, so the time is bounded by the size.

A path is not attribute access: the parsed tree reads `account.sector` as one name whose
text is the path, and the record's values give it under that key (`PathDef` says how the
engine reads it). Only a caller that can resolve paths (`compile_expression(..., paths=)`)
accepts them; without it a dot is refused as attribute access.
"""

from __future__ import annotations

import ast
import operator as op
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Collection, Mapping

from simpleeval import EvalWithCompoundTypes

from metamodel.field_paths import PathError
from metamodel.suggestions import did_you_mean

MAX_SOURCE_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 30
MAX_POWER = 1000
"""Largest base and exponent of `**`."""
MAX_STRING_LENGTH = 10_000
"""Longest string or list `+` and `*` may build."""
MAX_ROUND_DIGITS = 20
CONSTANT_NAMES = {"True": True, "False": False, "None": None}


class ExpressionError(ValueError):
    """An expression is refused (when compiled) or fails (when evaluated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _days(count: Any) -> timedelta:
    if isinstance(count, bool) or not isinstance(count, (int, float, Decimal)):
        raise ExpressionError(f"days() needs a number, not {count!r}")
    return timedelta(days=float(count))


def _len(value: Any) -> int:
    return 0 if value is None else len(value)


def _lower(value: str | None) -> str | None:
    return None if value is None else str(value).lower()


def _upper(value: str | None) -> str | None:
    return None if value is None else str(value).upper()


def _round(value: Any, digits: int = 0) -> Any:
    if isinstance(digits, bool) or not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round() needs a number of digits between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    return round(value, digits)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "today": _today,
    "now": _now,
    "days": _days,
    "len": _len,
    "lower": _lower,
    "upper": _upper,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _round,
}


def _sized(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))


def _add(a: Any, b: Any) -> Any:
    if _sized(a) and _sized(b) and len(a) + len(b) > MAX_STRING_LENGTH:
        raise ExpressionError(f"the result would be longer than {MAX_STRING_LENGTH} characters or items")
    return a + b


def _mult(a: Any, b: Any) -> Any:
    for sized, count in ((a, b), (b, a)):
        if _sized(sized) and isinstance(count, int) and count * len(sized) > MAX_STRING_LENGTH:
            raise ExpressionError(f"the result would be longer than {MAX_STRING_LENGTH} characters or items")
    return a * b


def _power(a: Any, b: Any) -> Any:
    if abs(a) > MAX_POWER or abs(b) > MAX_POWER:
        raise ExpressionError(f"{a} ** {b} is too large (base and exponent are limited to {MAX_POWER})")
    return a**b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise ExpressionError("string formatting with % is not allowed")
    return a % b


OPERATORS: Mapping[type, Callable[..., Any]] = {
    ast.Add: _add,
    ast.Sub: op.sub,
    ast.Mult: _mult,
    ast.Div: op.truediv,
    ast.FloorDiv: op.floordiv,
    ast.Mod: _mod,
    ast.Pow: _power,
    ast.Eq: op.eq,
    ast.NotEq: op.ne,
    ast.Lt: op.lt,
    ast.LtE: op.le,
    ast.Gt: op.gt,
    ast.GtE: op.ge,
    ast.In: lambda x, y: x in y,
    ast.NotIn: lambda x, y: x not in y,
    ast.Is: lambda x, y: x is y,
    ast.IsNot: lambda x, y: x is not y,
    ast.Not: op.not_,
    ast.USub: op.neg,
    ast.UAdd: op.pos,
}

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
    ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Load, ast.And, ast.Or,
) + tuple(OPERATORS)
_REFUSED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "subscripts ('[...]' after a value) are not allowed",
    ast.Slice: "slices are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments ('*') are not allowed",
    ast.NamedExpr: "assignment expressions (':=') are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}
_LITERAL_TYPES = (str, int, float, bool, type(None))
_local = threading.local()


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate against a record's values."""

    source: str
    names: frozenset[str]
    """The names the expression reads: field names, and paths by their text (`account.sector`)."""
    _tree: ast.expr = field(compare=False, repr=False)

    @property
    def tree(self) -> ast.expr:
        """The checked syntax tree (for the pack checks that look at what an expression does);
        a path is an `ast.Name` whose `id` is its text."""
        return self._tree

    @property
    def paths(self) -> frozenset[str]:
        """The paths through links among `names`: what must be read beyond the record itself."""
        return frozenset(name for name in self.names if "." in name)

    @property
    def roots(self) -> frozenset[str]:
        """The record's own fields the value depends on: the plain names, and the first link of
        each path (a change of `account` changes what `account.sector` reads)."""
        return frozenset(name.split(".", 1)[0] for name in self.names)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression's value; names missing from `values` are None. A path is read under
        its text: `{"account": 3, "account.sector": "it"}` (flat, never nested)."""
        evaluator = _evaluator()
        evaluator.names = {name: values.get(name) for name in self.names}
        try:
            return evaluator.eval(self.source, previously_parsed=self._tree)
        except ExpressionError:
            raise
        except Exception as exc:  # simpleeval errors, TypeError, ZeroDivisionError, OverflowError...
            raise ExpressionError(f"cannot evaluate {self.source!r}: {_reason(exc)}") from None
        finally:
            evaluator.names = {}


def compile_expression(source: str, names: Collection[str], paths: Callable[[str], Any] | None = None) -> Expression:
    """Check `source` and return it compiled; `names` are the field names it may read.

    `paths(text)` checks a path through links the expression reads (`account.sector`), raising
    PathError when it cannot be read, e.g. `lambda text: model.path(entity, text)`. Without
    it, a path is refused as attribute access."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type(source).__name__}")
    tree, referenced = _analyse(source)
    for name in referenced:
        if "." in name:
            if paths is None:
                raise ExpressionError(_REFUSED[ast.Attribute])
            try:
                paths(name)
            except PathError as exc:
                raise ExpressionError(exc.message) from None
        elif name not in names:
            hint = " (call it with parentheses)" if name in FUNCTIONS else did_you_mean(name, names)
            raise ExpressionError(f"unknown name '{name}'{hint}")
    return Expression(source, frozenset(referenced), tree)


@lru_cache(maxsize=4096)
def _analyse(source: str) -> tuple[ast.expr, tuple[str, ...]]:
    """Parse and check everything that does not depend on the field names (cached: packs
    repeat the same expressions across entities). Returns the tree and the names read,
    in source order."""
    if not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_SOURCE_LENGTH} characters ({len(source)})")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        detail = "" if exc.msg == "invalid syntax" else f": {exc.msg}"
        raise ExpressionError(f"invalid syntax{detail} (column {exc.offset})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("the expression cannot be parsed") from None
    tree = _PathNames().visit(tree)
    names = _check_tree(tree)
    _fold_literals(tree.body)
    ordered = sorted(names, key=lambda n: (n.lineno, n.col_offset))
    return tree.body, tuple(dict.fromkeys(n.id for n in ordered))


class _PathNames(ast.NodeTransformer):
    """Turns each dotted name (`room.site.name`: names and attributes only) into one `ast.Name`
    whose id is the path; any other attribute access (`f(x).y`, `x.__class__`) is left for
    `_check_node` to refuse, and so is the function of a call (`x.upper()` is not a path)."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or not isinstance(node.ctx, ast.Load) \
                or any(part.startswith("_") for part in parts):
            return self.generic_visit(node)
        parts.append(current.id)
        return ast.copy_location(ast.Name(id=".".join(reversed(parts)), ctx=ast.Load()), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(arg) for arg in node.args]
        node.keywords = [self.visit(keyword) for keyword in node.keywords]
        return node


def _check_tree(tree: ast.Expression) -> list[ast.Name]:
    """Every node is allowed, within the size and depth limits; returns the field name nodes."""
    names: list[ast.Name] = []
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"the expression is too complex (more than {MAX_NODES} elements)")
            if depth > MAX_DEPTH:
                raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        _check_node(node)
        if isinstance(node, ast.Name) and node.id not in CONSTANT_NAMES:
            names.append(node)
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        stack.extend((child, depth + 1) for child in children)
    return names


def _check_node(node: ast.AST) -> None:
    refused = _REFUSED.get(type(node))
    if refused:
        raise ExpressionError(refused)
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(f"{_describe(node)} is not allowed")
    if isinstance(node, ast.Name):
        _check_name(node.id)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"only the functions {', '.join(FUNCTIONS)} can be called")
        _check_name(node.func.id)
        if node.func.id not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{node.func.id}'")
        if node.keywords:
            raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str):
        raise ExpressionError("string formatting with % is not allowed")
    elif isinstance(node, ast.Constant) and not isinstance(node.value, _LITERAL_TYPES):
        raise ExpressionError(f"the literal {node.value!r} is not allowed")


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise ExpressionError(f"'{name}' is not allowed: names may not start with _")


def _describe(node: ast.AST) -> str:
    return {ast.BitAnd: "'&'", ast.BitOr: "'|'", ast.BitXor: "'^'", ast.Invert: "'~'", ast.LShift: "'<<'",
            ast.RShift: "'>>'", ast.MatMult: "'@'"}.get(type(node), type(node).__name__)


def _fold_literals(node: ast.expr) -> None:
    """Evaluate every largest sub-expression that reads no field and calls nothing."""
    if isinstance(node, ast.Constant):
        return
    if not any(isinstance(n, (ast.Name, ast.Call)) for n in ast.walk(node)):
        evaluator = _evaluator()
        evaluator.names = {}
        try:
            evaluator.eval("", previously_parsed=node)
        except ExpressionError:
            raise
        except Exception as exc:
            raise ExpressionError(_reason(exc)) from None
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _fold_literals(child)


def _evaluator() -> EvalWithCompoundTypes:
    """One evaluator per thread: building one costs more than most evaluations."""
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = EvalWithCompoundTypes(operators=dict(OPERATORS), functions=dict(FUNCTIONS), names={})
        _local.evaluator = evaluator
    return evaluator


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message if isinstance(exc, ExpressionError) else f"{type(exc).__name__}: {message}"
