"""What the pack check refuses so that the runtime never meets it: sizes, column ranges,
defaults that cannot fit, pack folders in the wrong shape; and what it only warns about."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metamodel import DefinitionError, Problem, load_model
from metamodel.expressions.empty_operands import unguarded_operands
from metamodel.errors import MAX_PROBLEMS
from metamodel.expressions.kinds import ACCEPTED, KIND_WORDS
from metamodel.reading.overlay import MemoryPack, pack_texts
from metamodel.suggestions import did_you_mean
from metamodel.values import INT64_MAX, INT64_MIN, TEXT_LIMIT, VARCHAR_LIMIT, length_limit
from metamodel.yaml_source import MAX_DOCUMENT_BYTES, MAX_TEXT_LENGTH, parse_text

from mm_fixture_paths import BASE

LABEL = "{en: X, fr: X}"
ENTITY_HEAD = "entity: thing\nlabel: {en: Thing, fr: Chose}\nplural: {en: Things, fr: Choses}\ncharacteristics:\n"


def write_pack(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"pack.yaml": "pack: extra\nversion: 1.0.0\n", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def problems_of(*packs: str | Path | MemoryPack) -> list[Problem]:
    with pytest.raises(DefinitionError) as raised:
        load_model(list(packs))
    return list(raised.value.problems)


def entity_pack(tmp_path: Path, characteristics: str) -> Path:
    return write_pack(tmp_path / "extra", {"entities/thing.yaml": ENTITY_HEAD + characteristics})


# -- sizes ---------------------------------------------------------------------------------
def padded(text: str, size: int) -> str:
    """`text` followed by a comment that brings it to exactly `size` bytes."""
    filler = size - len(text.encode("utf-8")) - 2
    return text + "#" + "x" * filler + "\n"


LIST_DOC = "list: sizes\nlabel: {en: Sizes, fr: Tailles}\nvalues:\n  - {code: s, label: {en: S, fr: S}}\n"


@pytest.mark.parametrize("size, refused", [(MAX_DOCUMENT_BYTES, False), (MAX_DOCUMENT_BYTES + 1, True)])
def test_a_document_over_the_size_limit_is_refused_before_parsing(tmp_path: Path, size: int, refused: bool) -> None:
    text = padded(LIST_DOC, size)
    assert len(text.encode("utf-8")) == size
    pack = write_pack(tmp_path / "extra", {"lists/sizes.yaml": text})
    memory = MemoryPack("installed/extra", {"pack.yaml": "pack: extra\nversion: 1.0.0\n", "lists/sizes.yaml": text})
    for source in (pack, memory):
        if not refused:
            assert "sizes" in load_model([BASE, source]).lists
            continue
        [problem] = problems_of(BASE, source)
        assert problem.file.endswith("lists/sizes.yaml") and problem.line == 1
        assert f"{size:,} bytes, more than the {MAX_DOCUMENT_BYTES:,}" in problem.message
        assert "split it" in problem.message


@pytest.mark.parametrize("length, refused", [(MAX_TEXT_LENGTH, False), (MAX_TEXT_LENGTH + 1, True)])
def test_a_text_value_over_the_length_limit_is_refused_at_its_line(length: int, refused: bool) -> None:
    doc, problems = parse_text(f"a: 1\nwidget: {'w' * length}\n", "x.yaml")
    if not refused:
        assert doc is not None and len(doc.data["widget"]) == length
        return
    assert doc is None
    assert [str(p) for p in problems] == [
        f"x.yaml:2: widget: a text of {length:,} characters: at most {MAX_TEXT_LENGTH:,} are allowed"]


@pytest.mark.parametrize("length, refused", [(2000, False), (2001, True)])
def test_a_label_is_at_most_2000_characters(tmp_path: Path, length: int, refused: bool) -> None:
    pack = entity_pack(tmp_path, f"  name: {{type: string, label: {{en: {'l' * length}, fr: X}}}}\n")
    if not refused:
        assert load_model([BASE, pack]).entity("thing").field("name").label.en == "l" * length
        return
    [problem] = problems_of(BASE, pack)
    assert problem.path == "characteristics.name.label.en" and problem.line == 5
    assert problem.message.endswith("is longer than 2000 characters")


@pytest.mark.parametrize("count", [1, MAX_PROBLEMS, MAX_PROBLEMS + 1, 5 * MAX_PROBLEMS])
def test_problems_stop_at_the_limit_with_a_count_of_the_rest(tmp_path: Path, count: int) -> None:
    columns = "".join(f"  - zz{i}\n" for i in range(count))  # one a line: problems come in line order
    pack = write_pack(tmp_path / "extra", {"views/many.yaml": (
        f"view: many\nentity: lead\nkind: list\nlabel: {LABEL}\ncolumns:\n{columns}")})

    problems = problems_of(BASE, pack)

    shown = min(count, MAX_PROBLEMS)
    assert [p.path for p in problems[:shown]] == [f"columns.{i}" for i in range(shown)]
    if count <= MAX_PROBLEMS:
        assert len(problems) == count
    else:
        assert len(problems) == MAX_PROBLEMS + 1
        assert problems[-1].message.startswith(f"and {count - MAX_PROBLEMS:,} more problem(s) not shown")


def test_definition_error_counts_what_it_leaves_out() -> None:
    many = [Problem("a.yaml", i, "$", f"p{i}") for i in range(1, MAX_PROBLEMS + 3)]

    error = DefinitionError(many)

    assert error.omitted == 2
    assert error.problems[:MAX_PROBLEMS] == tuple(many[:MAX_PROBLEMS])
    assert str(error.problems[-1]) == f"a.yaml:{MAX_PROBLEMS + 1}: $: and 2 more problem(s) not shown: " \
                                      "fix the ones above and validate again"
    assert DefinitionError(many[:MAX_PROBLEMS]).omitted == 0


# -- pack folders --------------------------------------------------------------------------
def test_a_pack_folder_that_is_a_file_is_refused_by_loading_and_installing(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "extra", {"views": "view: x\n"})

    assert [str(p) for p in problems_of(BASE, pack)] == [
        f"{pack}/views:1: $: 'views' is a file: it must be a folder of YAML documents (views/NAME.yaml)"]
    assert [p.message for p in pack_texts(pack)[1]] == [
        "'views' is a file: it must be a folder of YAML documents (views/NAME.yaml)"]


@pytest.mark.parametrize("name", ["thing.yaml", "thing.yml"])
def test_a_folder_named_like_a_document_is_refused(tmp_path: Path, name: str) -> None:
    pack = write_pack(tmp_path / "extra", {f"entities/{name}/inner.yaml": "x: 1\n", "entities/notes.txt": "ignored"})

    [problem] = problems_of(BASE, pack)
    assert problem.file == f"{pack}/entities/{name}"
    assert problem.message.startswith("is not a file: a document is a YAML file directly in entities/")
    assert len(pack_texts(pack)[1]) == 1


def test_a_manifest_that_is_a_folder_is_named(tmp_path: Path) -> None:
    pack = tmp_path / "extra"
    (pack / "pack.yaml").mkdir(parents=True)

    [problem] = problems_of(BASE, pack)
    assert problem.file == f"{pack}/pack.yaml"
    assert problem.message.startswith("is a folder, not a file")


# -- what a column holds -------------------------------------------------------------------
TEXT_TYPES = ("string", "email", "phone", "url", "text", "rich_text")


@pytest.mark.parametrize("field_type", TEXT_TYPES)
@pytest.mark.parametrize("key", ["min_length", "max_length"])
def test_a_length_is_refused_one_past_what_its_column_holds(tmp_path: Path, field_type: str, key: str) -> None:
    limit, column = length_limit(field_type)
    assert limit == (TEXT_LIMIT if field_type in ("text", "rich_text") else VARCHAR_LIMIT)
    # a min_length needs a max_length at least as long (a string's is 255 by default)
    other = f", max_length: {limit}" if key == "min_length" else ""
    lines = "".join(f"  f{i}: {{type: {field_type}, label: {LABEL}, {key}: {value}{other}}}\n"
                    for i, value in enumerate((limit, limit + 1, 10**30)))

    problems = problems_of(BASE, entity_pack(tmp_path, lines))

    assert [(p.path, p.line) for p in problems] == [(f"characteristics.f1.{key}", 6), (f"characteristics.f2.{key}", 7)]
    assert problems[0].message.startswith(f"{limit + 1} is more than")
    assert f"({limit:,} characters in a {column} column)" in problems[0].message


@pytest.mark.parametrize("key", ["min", "max", "default"])
def test_an_integer_is_refused_one_past_64_bits(tmp_path: Path, key: str) -> None:
    values = (INT64_MIN, INT64_MAX, INT64_MIN - 1, INT64_MAX + 1)
    lines = "".join(f"  f{i}: {{type: integer, label: {LABEL}, {key}: {value}}}\n" for i, value in enumerate(values))

    problems = problems_of(BASE, entity_pack(tmp_path, lines))

    assert [p.path for p in problems] == [f"characteristics.f2.{key}", f"characteristics.f3.{key}"]
    assert all("is beyond what an integer column holds" in p.message for p in problems)


@pytest.mark.parametrize("precision, scale", [(18, 2), (18, 0), (10, 10 - 1), (5, 3)])
def test_a_decimal_bound_is_refused_one_past_its_digits(tmp_path: Path, precision: int, scale: int) -> None:
    largest = "9" * (precision - scale) + ("." + "9" * scale if scale else "")
    past = "1" + "0" * (precision - scale)
    lines = "".join(f'  f{i}: {{type: decimal, label: {LABEL}, precision: {precision}, scale: {scale}, max: "{v}"}}\n'
                    for i, v in enumerate((largest, past)))

    [problem] = problems_of(BASE, entity_pack(tmp_path, lines))

    assert problem.path == "characteristics.f1.max"
    assert problem.message.endswith(f"has more than {precision - scale} digits before the decimal point")


# -- defaults from expressions -------------------------------------------------------------
KIND_SAMPLES = {
    "text": "upper(src)",
    "number": "len(src) * 2",
    "bool": "src == 'x'",
    "date": "today()",
    "datetime": "now()",
    "duration": "days(1)",
    "list": "[src]",
}
EXTRA = {"choice": ", list: sectors", "multi_choice": ", list: sectors", "link": ", entity: lead"}


def test_kind_samples_cover_every_kind() -> None:
    assert set(KIND_SAMPLES) == set(KIND_WORDS)


def test_a_default_expr_is_refused_exactly_when_no_value_it_gives_fits(tmp_path: Path) -> None:
    """Generated from the table of what each type takes: one characteristic per (type, kind)."""
    lines = [f"  src: {{type: string, label: {LABEL}}}\n"]
    expected: set[str] = set()
    for field_type, accepted in sorted(ACCEPTED.items()):
        for kind, source in KIND_SAMPLES.items():
            name = f"{field_type}_{kind}"
            lines.append(f'  {name}: {{type: {field_type}, label: {LABEL}, default_expr: "{source}"{EXTRA.get(field_type, "")}}}\n')
            if kind not in accepted:
                expected.add(f"characteristics.{name}.default_expr")

    problems = problems_of(BASE, entity_pack(tmp_path, "".join(lines)))

    assert {p.path for p in problems} == expected
    assert all(" characteristic holds " in p.message and "change the expression" in p.message for p in problems)


@pytest.mark.parametrize("field_type, source, refused", [
    ("integer", "'12'", "'12' is not a number"),
    ("integer", "7 // 2", None),
    ("integer", "7 / 2", "3.5 is not an integer"),
    ("string", "5", "5 is not text"),
    ("string", "'a' * 255", None),
    ("string", "'a' * 256", "is longer than max_length 255 of 'f'"),
    ("date", "'2024-02-29'", None),
    ("date", "'2023-02-29'", "'2023-02-29' is not an ISO date (YYYY-MM-DD)"),
    ("boolean", "1 == 1", None),
    ("boolean", "1", "1 is not true or false"),
    ("choice", "'it'", None),
    ("choice", "'food'", "'food' is not a value of list 'sectors'"),
    ("integer", "None", None),
])
def test_a_constant_default_expr_is_checked_like_a_literal_default(
        tmp_path: Path, field_type: str, source: str, refused: str | None) -> None:
    extra = EXTRA.get(field_type, "")
    pack = entity_pack(tmp_path, f'  f: {{type: {field_type}, label: {LABEL}, default_expr: "{source}"{extra}}}\n')
    if refused is None:
        load_model([BASE, pack])
        return
    [problem] = problems_of(BASE, pack)
    assert problem.path == "characteristics.f.default_expr" and problem.line == 5
    assert refused in problem.message


# -- did you mean --------------------------------------------------------------------------
def test_did_you_mean_names_the_closest_known_name_or_nothing() -> None:
    assert did_you_mean("sector", ["sectors", "sizes"]) == " (did you mean 'sectors'?)"
    assert did_you_mean("zzz", ["sectors", "sizes"]) == ""
    assert did_you_mean("x", []) == ""


# -- empty operands ------------------------------------------------------------------------
OPTIONAL = {"quantity", "unit_price", "discount", "amount", "name"}


@pytest.mark.parametrize("source, expected", [
    ("quantity * unit_price", ["quantity", "unit_price"]),
    ("(quantity or 0) * (unit_price or 0)", []),
    ("quantity * unit_price if quantity and unit_price else 0", []),
    ("0 if quantity == None else quantity * 2", []),
    ("amount != None and amount > 1000", []),
    ("amount == None or amount > 1000", []),
    ("amount > 1000", ["amount"]),
    ("amount == 1000", []),
    ("-discount", ["discount"]),
    ("round(discount, 2)", ["discount"]),
    ("len(name) + 1", []),
    ("upper(name)", []),
    ("total * 2", []),
    ("quantity * 2 + total", ["quantity"]),
])
def test_unguarded_operands(source: str, expected: list[str]) -> None:
    tree = ast.parse(source, mode="eval").body

    assert unguarded_operands(tree, OPTIONAL) == expected


def test_an_optional_operand_is_a_warning_with_file_and_line_not_an_error(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "extra", {
        "entities/thing.yaml": ENTITY_HEAD + (
            f"  quantity: {{type: integer, label: {LABEL}}}\n"
            f"  unit_price: {{type: decimal, label: {LABEL}, mandatory: true}}\n"
            f'  total: {{type: decimal, label: {LABEL}, default_expr: "quantity * unit_price"}}\n'
            f'  safe: {{type: decimal, label: {LABEL}, default_expr: "(quantity or 0) * unit_price"}}\n'
        ) + "workflow: flow\n",
        "workflows/flow.yaml": (
            f"workflow: flow\nlabel: {LABEL}\nstatuses:\n"
            f"  - {{code: a, label: {LABEL}, initial: true}}\n  - {{code: b, label: {LABEL}}}\n"
            f"transitions:\n"
            f"  - {{name: go, label: {LABEL}, from: [a], to: b, required: [quantity], guard: \"quantity > 1\","
            f" actions: [{{set: {{total: \"quantity * 2\"}}}}]}}\n"
        ),
    })

    model = load_model([BASE, pack])

    file = f"{pack}/"  # workflows are checked before the entities that use them
    assert [str(w).removeprefix(file) for w in model.warnings if w.file.startswith(file)] == [
        "workflows/flow.yaml:7: transitions.0.guard: 'quantity' may be empty (it is not mandatory), "
        "and the expression fails on a record without it: guard it, e.g. (quantity or 0), "
        "or '... if quantity != None else ...'",
        "entities/thing.yaml:7: characteristics.total.default_expr: 'quantity' may be empty (it is not mandatory), "
        "and the expression fails on a record without it: guard it, e.g. (quantity or 0), "
        "or '... if quantity != None else ...'",
    ]


def test_the_base_pack_has_no_warning_and_the_fixture_pack_the_one_unguarded_guard() -> None:
    from metamodel import BASE_PACK

    assert load_model([BASE_PACK]).warnings == ()
    assert [(w.file, w.line, w.path) for w in load_model([BASE]).warnings] == [
        ("tests/fixtures/packs/base/workflows/deal.yaml", 14, "transitions.0.guard")]  # "score >= 3"


# -- what plugins must provide -------------------------------------------------------------
def test_the_model_lists_every_format_and_action_with_where_it_is_written(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "extra", {
        "entities/thing.yaml": ENTITY_HEAD + f"  siret: {{type: string, label: {LABEL}, format: siret}}\n",
        "workflows/deal.yaml": "extends: deal\ntransitions:\n"
                               f"  - {{name: stamp, label: {LABEL}, from: '*', to: won, actions: [{{call: stamp_note}}]}}\n",
    })

    references = load_model([BASE, pack]).plugin_references

    assert [(r.kind, r.name, r.file, r.line, r.path, r.field_type) for r in references] == [
        ("format", "siret", f"{pack}/entities/thing.yaml", 5, "characteristics.siret.format", "string"),
        ("action", "stamp_note", f"{pack}/workflows/deal.yaml", 3, "transitions.0.actions.0.call", None),
    ]
