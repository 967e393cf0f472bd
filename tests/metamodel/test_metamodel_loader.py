"""The loader's handling of pack directories, problem formatting, and YAML with line marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import DefinitionError, Problem, load_model
from metamodel.reading.packs import version_matches
from metamodel.yaml_source import MAX_DEPTH, parse_text, read_document

from mm_fixture_paths import BASE


def problems_of(*packs: str | Path) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        load_model(list(packs))
    return [str(p) for p in raised.value.problems]


def write_pack(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"pack.yaml": "pack: extra\nversion: 1.0.0\n", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# -- problems ----------------------------------------------------------------------------
def test_problem_prints_file_line_path_message() -> None:
    problem = Problem("definitions/entities/lead.yaml", 14, "characteristics.score.max", "0 is less than min 1")

    assert str(problem) == "definitions/entities/lead.yaml:14: characteristics.score.max: 0 is less than min 1"


def test_definition_error_joins_problems_by_line() -> None:
    error = DefinitionError([Problem("a.yaml", 1, "$", "one"), Problem("b.yaml", 2, "x", "two")])

    assert str(error) == "a.yaml:1: $: one\nb.yaml:2: x: two"
    assert len(error.problems) == 2


# -- pack directories -----------------------------------------------------------------------
def test_missing_directory_is_a_problem() -> None:
    assert problems_of(BASE, "tests/fixtures/packs/nowhere") == ["tests/fixtures/packs/nowhere:1: $: the pack directory does not exist"]


def test_a_file_is_not_a_pack() -> None:
    assert problems_of(BASE / "pack.yaml") == ["tests/fixtures/packs/base/pack.yaml:1: $: a pack must be a directory"]


def test_no_pack_at_all_is_a_problem() -> None:
    assert problems_of() == [".:1: $: no pack directory given: the first one is the base pack"]


def test_files_outside_the_working_directory_are_shown_absolute(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "outside", {"lists/bad.yaml": "list: [\n"})

    [problem] = problems_of(BASE, pack)

    assert problem.startswith(f"{pack / 'lists' / 'bad.yaml'}:2: $: YAML syntax error:")


def test_pack_with_only_a_manifest_adds_nothing(tmp_path: Path) -> None:
    model = load_model([BASE, write_pack(tmp_path / "empty", {})])

    assert [p.name for p in model.packs] == ["base", "extra"]
    assert list(model.entities) == ["company", "lead"]


def test_yml_files_are_read_and_other_files_ignored(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "extra", {
        "lists/sizes.yml": "list: sizes\nlabel: {en: Sizes, fr: Tailles}\nvalues:\n  - {code: s, label: {en: S, fr: S}}\n",
        "lists/README.md": "not a definition",
        "lists/sizes.yaml.bak": "garbage: [",
    })

    assert list(load_model([BASE, pack]).lists) == ["sectors", "sizes"]


def test_every_problem_of_a_phase_is_reported_at_once(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "extra", {
        "entities/a.yaml": "entity: a\nlabel: {en: A}\nplural: {en: As, fr: As}\ncharacteristics: {}\n",
        "entities/b.yaml": "entity: b\nlabel: {en: B, fr: B}\nplural: {en: Bs, fr: Bs}\ncharacteristics: {}\nmood: happy\n",
        "lists/c.yaml": "list: c\n\tlabel: x\n",
    })

    problems = problems_of(BASE, pack)

    assert [p.split(": ", 1)[0].rsplit("/", 2)[-2:] for p in problems] == [
        ["lists", "c.yaml:2"], ["entities", "a.yaml:2"], ["entities", "b.yaml:5"]]


def test_semantic_checks_wait_until_schemas_pass(tmp_path: Path) -> None:
    """A document with schema errors does not also produce the reference errors it would cause."""
    pack = write_pack(tmp_path / "extra", {
        "lists/colours.yaml": "list: colours\nlabel: {en: Colours}\nvalues:\n  - {code: red, label: {en: Red, fr: Rouge}}\n",
        "entities/car.yaml": "entity: car\nlabel: {en: Car, fr: Voiture}\nplural: {en: Cars, fr: Voitures}\n"
                             "characteristics:\n  colour: {type: choice, label: {en: C, fr: C}, list: colours}\n",
    })

    assert [p.split(": ", 1)[1] for p in problems_of(BASE, pack)] == ["label: required property 'fr' is missing"]


# -- versions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("1.2.0", ">=1.0", True),
        ("1.0.0", ">=1.0", True),
        ("0.9.9", ">=1.0", False),
        ("1.2.0", ">=1.0, <2", True),
        ("2.0.0", ">=1.0, <2", False),
        ("1.2.0", "1.2", True),
        ("1.2.1", "==1.2", False),
        ("1.4.5", "~=1.4", True),
        ("2.0.0", "~=1.4", False),
        ("1.3.0", "~=1.4", False),
        ("1.0.0", "!=1.0.0", False),
        ("1.0.0-beta", ">=1.0", True),
    ],
)
def test_version_ranges(version: str, spec: str, expected: bool) -> None:
    assert version_matches(version, spec) is expected


# -- YAML with line marks ----------------------------------------------------------------------
def test_lines_of_values_and_keys() -> None:
    doc, problems = parse_text("entity: lead\ncharacteristics:\n  score:\n    type: integer\n    max: 5\n", "f.yaml")

    assert problems == []
    assert doc.line(("entity",)) == 1
    assert doc.line(("characteristics", "score", "max")) == 5
    assert doc.line(("characteristics", "score")) == 4  # a block mapping starts at its first key
    assert doc.key_line(("characteristics", "score")) == 3
    assert doc.line(("characteristics", "score", "missing")) == 4  # nearest existing ancestor
    assert doc.line(()) == 1


def test_scalars_keep_what_authors_wrote() -> None:
    doc, _ = parse_text("day: 2024-01-01\nyes: no\n10: ten\nsize: 1_000\nrate: 0.5\nnothing:\n", "f.yaml")

    assert doc.data == {"day": "2024-01-01", "yes": False, "10": "ten", "size": 1000, "rate": 0.5, "nothing": None}


def test_anchors_aliases_and_merge_keys() -> None:
    doc, problems = parse_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\ncopy: *b\n", "f.yaml")

    assert problems == []
    assert doc.data["other"] == {"x": 1, "y": 3}
    assert doc.data["copy"] == {"x": 1, "y": 2}


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    _, problems = parse_text("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml")

    assert [str(p) for p in problems] == ["f.yaml:4: b.c: duplicate key 'c' (first on line 3)"]


def test_self_referencing_alias_is_refused() -> None:
    _, problems = parse_text("a: &x [1, *x]\n", "f.yaml")

    assert [str(p) for p in problems] == ["f.yaml:1: a.1: a YAML alias refers to itself"]


def test_nesting_depth_is_bounded() -> None:
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    too_deep = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"

    assert parse_text(ok, "f.yaml")[1] == []
    assert "nested more than 40 levels deep" in str(parse_text(too_deep, "f.yaml")[1][0])


def test_alias_bombs_are_refused() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for previous, name in zip("abcdefgh", "bcdefghi"):
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"

    _, problems = parse_text(text, "f.yaml")

    assert [str(p) for p in problems] == ["f.yaml:6: f.1: aliases expand to more than 200000 values"]


def test_non_scalar_keys_and_unknown_tags_are_refused() -> None:
    assert "a mapping key must be a plain value" in str(parse_text("? [a]\n: 1\n", "f.yaml")[1][0])
    assert "unsupported YAML tag" in str(parse_text("a: !!binary aGk=\n", "f.yaml")[1][0])
    assert "unsupported YAML tag" in str(parse_text("a: !custom x\n", "f.yaml")[1][0])


def test_byte_order_mark_is_accepted_and_bad_bytes_are_located(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")

    assert read_document(bom)[0].data == {"a": 1}
    [problem] = read_document(latin, "latin.yaml")[1]
    assert str(problem) == "latin.yaml:2: $: is not valid UTF-8 (byte 0xe9)"


def test_unreadable_path_is_a_problem(tmp_path: Path) -> None:
    [problem] = read_document(tmp_path, "dir.yaml")[1]

    assert problem.file == "dir.yaml" and problem.message.startswith("cannot be read")

