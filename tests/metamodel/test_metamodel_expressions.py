"""Sandboxed expressions: what they compute, and what they refuse (at compile time and when run)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from metamodel.expressions.sandbox import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_POWER,
    MAX_SOURCE_LENGTH,
    MAX_STRING_LENGTH,
    ExpressionError,
    compile_expression,
)

FIELDS = {"do_not_call", "score", "name", "budget", "due", "tags", "status"}


def run(source: str, **values: object) -> object:
    return compile_expression(source, FIELDS).evaluate(values)


# -- what expressions compute --------------------------------------------------------------
def test_mandatory_when_compares_a_boolean_field() -> None:
    expression = compile_expression("do_not_call == False", FIELDS)

    assert expression.names == frozenset({"do_not_call"})
    assert expression.source == "do_not_call == False"
    assert expression.evaluate({"do_not_call": False}) is True
    assert expression.evaluate({"do_not_call": True}) is False
    assert expression.evaluate({}) is False  # a missing field is None


def test_dates_today_plus_days() -> None:
    today = datetime.now(timezone.utc).date()

    assert run("today() + days(7)") == today + timedelta(days=7)
    assert run("due < today()", due=date(2000, 1, 1)) is True
    assert isinstance(run("now()"), datetime) and run("now()").tzinfo is None


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("score >= 3 and status in ['new', 'qualified']", {"score": 3, "status": "new"}, True),
        ("score >= 3 and status in ['new', 'qualified']", {"score": 2, "status": "new"}, False),
        ("not do_not_call or score > 4", {"do_not_call": True, "score": 5}, True),
        ("1 < score < 5", {"score": 5}, False),
        ("budget * 2 - 1", {"budget": 10}, 19),
        ("score // 2 + score % 2", {"score": 7}, 4),
        ("-score ** 2", {"score": 3}, -9),
        ("len(name)", {"name": "Ada"}, 3),
        ("len(name)", {}, 0),
        ("lower(name) == 'ada'", {"name": "ADA"}, True),
        ("upper(name)", {}, None),
        ("abs(score)", {"score": -4}, 4),
        ("min(score, 3)", {"score": 9}, 3),
        ("max(score, 3)", {"score": 9}, 9),
        ("round(budget, 1)", {"budget": 2.46}, 2.5),
        ("'vip' if score >= 5 else 'regular'", {"score": 5}, "vip"),
        ("name is None", {}, True),
        ("'x' not in tags", {"tags": ["y"]}, True),
        ("name + '!'", {"name": "hi"}, "hi!"),
    ],
)
def test_expressions_evaluate(source: str, values: dict[str, object], expected: object) -> None:
    assert run(source, **values) == expected


def test_names_are_only_the_fields_read() -> None:
    assert compile_expression("today() > due and score > 1 and True", FIELDS).names == frozenset({"due", "score"})


def test_string_formatting_of_a_field_is_refused_when_run() -> None:
    with pytest.raises(ExpressionError, match="string formatting"):
        run("name % 3", name="%999999999s")


def test_evaluation_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="cannot evaluate 'score > 3'"):
        run("score > 3")  # None > 3
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        run("budget / score", budget=1, score=0)


# -- refused when compiled ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os')", "'__import__' is not allowed"),
        ("name.__class__", "attribute access"),
        ("name.upper()", "only the functions"),
        ("tags[0]", "subscripts"),
        ("lambda: 1", "lambda is not allowed"),
        ("[t for t in tags]", "comprehensions are not allowed"),
        ("{t for t in tags}", "comprehensions are not allowed"),
        ("f'{name}'", "f-strings are not allowed"),
        ("max(*tags)", "starred arguments"),
        ("(x := 1)", "assignment expressions"),
        ("{'a': 1}", "dictionaries are not allowed"),
        ("_secret", "names may not start with _"),
        ("nickname == 1", "unknown name 'nickname'"),
        ("today", "unknown name 'today' (call it with parentheses)"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("round(score, ndigits=2)", "takes no keyword arguments"),
        ("score & 1", "'&' is not allowed"),
        ("score << 2", "'<<' is not allowed"),
        ("b'bytes'", "the literal b'bytes' is not allowed"),
        ("score >=", "invalid syntax"),
        ("", "the expression is empty"),
        ("9**9**9", "too large"),
        ("'x'*10**9", "longer than"),
        ("'%s' % name", "string formatting"),
        ("1/0", "ZeroDivisionError"),
    ],
)
def test_hostile_or_invalid_expressions_are_refused(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression(source, FIELDS)
    assert message in raised.value.message


def test_source_length_limit() -> None:
    at_limit = "score + " + "1" * (MAX_SOURCE_LENGTH - len("score + "))

    assert len(compile_expression(at_limit, FIELDS).source) == MAX_SOURCE_LENGTH
    with pytest.raises(ExpressionError, match="longer than 500 characters"):
        compile_expression(at_limit + "1", FIELDS)


def test_node_count_limit() -> None:
    def membership(count: int) -> str:  # Compare, Name, List and `count` constants: count + 3 nodes
        return "score in [" + ",".join(["1"] * count) + "]"

    compile_expression(membership(MAX_NODES - 3), FIELDS)
    with pytest.raises(ExpressionError, match="too complex"):
        compile_expression(membership(MAX_NODES - 2), FIELDS)


def test_nesting_depth_limit() -> None:
    compile_expression("not " * (MAX_DEPTH - 1) + "score", FIELDS)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("not " * MAX_DEPTH + "score", FIELDS)


def test_power_limit() -> None:
    assert run(f"score ** {MAX_POWER}", score=1) == 1
    with pytest.raises(ExpressionError, match="too large"):
        run(f"score ** {MAX_POWER + 1}", score=1)
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression(f"2 ** {MAX_POWER + 1}", FIELDS)


def test_string_length_limit() -> None:
    assert len(run(f"name * {MAX_STRING_LENGTH}", name="x")) == MAX_STRING_LENGTH
    with pytest.raises(ExpressionError, match="longer than"):
        run(f"name * {MAX_STRING_LENGTH + 1}", name="x")
    with pytest.raises(ExpressionError, match="longer than"):
        run("name + name", name="x" * (MAX_STRING_LENGTH // 2 + 1))


def test_round_digits_are_bounded() -> None:
    assert run("round(score, 20)", score=1) == 1
    with pytest.raises(ExpressionError, match="round"):
        run("round(score, -1000000000)", score=1)


def test_days_needs_a_number() -> None:
    with pytest.raises(ExpressionError, match="days"):
        run("days(name)", name="7")


def test_non_string_source_is_refused() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        compile_expression(42, FIELDS)  # type: ignore[arg-type]
