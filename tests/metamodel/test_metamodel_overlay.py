"""Packs held as texts (installed packs, the admin overlay): loaded like directories, named in problems."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from metamodel.model import PackInfo
from metamodel.editing.model_diff import describe_changes as changes_of
from metamodel.reading.overlay import (
    MemoryPack, document_name_problem, manifest_text, overlay_pack, pack_texts, requirement_for, write_pack,
)
from metamodel.reading.packs import UnmetRequirement, unmet_requirements, version_matches
from mm_fixture_paths import ACME, BASE, ROLES_BASE

LABEL = "{en: Region, fr: Région}"
REGION = f"extends: lead\ncharacteristics:\n  region: {{type: string, label: {LABEL}, max_length: 40}}\n"


def describe_changes(before, after, **options) -> list[str]:
    return [str(change) for change in changes_of(before, after, **options)]


def memory(directory: Path, root: str) -> MemoryPack:
    texts, problems = pack_texts(directory)
    assert problems == []
    return MemoryPack(root, texts)


def test_a_pack_given_as_texts_loads_the_same_model_as_its_directory():
    from_disk = metamodel.load_model([BASE, ACME])
    from_texts = metamodel.load_model([memory(BASE, "db/base"), memory(ACME, "db/acme")])
    assert describe_changes(from_disk, from_texts) == []
    assert [(p.name, p.version) for p in from_texts.packs] == [("base", "1.2.0"), ("acme", "0.3.0")]
    assert from_texts.entity("lead").field("loyalty").source.file == "db/acme/entities/lead.yaml"
    assert from_texts.entity("lead").field("loyalty").source.line == from_disk.entity("lead").field("loyalty").source.line


def test_the_overlay_is_the_last_layer_and_its_version_is_the_revision():
    model = metamodel.load_model([BASE, overlay_pack(3, {"entities/lead.yaml": REGION})])
    assert [(p.name, p.version) for p in model.packs] == [("base", "1.2.0"), ("overlay", "3")]
    region = model.entity("lead").field("region")
    assert (region.type, region.max_length, region.source.file, region.source.line) == (
        "string", 40, "overlay/entities/lead.yaml", 3)


def test_an_empty_overlay_changes_nothing():
    assert describe_changes(metamodel.load_model([BASE]), metamodel.load_model([BASE, overlay_pack(1, {})])) == [
        "pack overlay 1: added"]


def test_overlay_problems_name_the_document_line_and_path():
    broken = "extends: lead\ncharacteristics:\n  region:\n    type: string\n    label: {en: Region, fr: Région}\n    max_length: -1\n"
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": broken})])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("overlay/entities/lead.yaml", 6, "characteristics.region.max_length")


def test_overlay_merge_conflicts_name_both_files():
    twice = "extends: lead\ncharacteristics:\n  name: {type: string, label: {en: Name, fr: Nom}}\n"
    base_lead = metamodel.load_model([BASE]).entity("lead")
    declared = next(iter(base_lead.fields)).name
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(1, {"entities/lead.yaml": twice.replace("name", declared)})])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("overlay/entities/lead.yaml", 3, f"characteristics.{declared}")
    assert "already declared in tests/fixtures/packs/base/entities/lead.yaml:" in problem.message


@pytest.mark.parametrize("name", [
    "lead.yaml", "things/lead.yaml", "entities/lead.txt", "entities/../lead.yaml", "entities/sub/lead.yaml",
    "/entities/lead.yaml", "entities/.yaml", "Entities/lead.yaml",
])
def test_a_document_name_must_be_folder_slash_name_yaml(name):
    assert document_name_problem(name) is not None
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(1, {name: REGION})])
    (problem,) = caught.value.problems
    assert problem.file == f"overlay/{name}"
    assert "folder" in problem.message.lower()


@pytest.mark.parametrize("name", ["entities/lead.yaml", "lists/a.yml", "workflows/deal_2.yaml", "views/x-y.yaml",
                                  "roles/Sales.yaml"])
def test_document_names_in_every_folder_are_accepted(name):
    assert document_name_problem(name) is None


def test_the_overlay_takes_no_manifest():
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(1, {"pack.yaml": "pack: sneaky\nversion: 1.0.0\n"})])
    assert [str(p) for p in caught.value.problems] == ["overlay/pack.yaml:1: $: the overlay layer takes no manifest"]


def test_an_installed_pack_needs_its_manifest():
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, MemoryPack("installed/x", {"entities/lead.yaml": REGION})])
    assert [str(p) for p in caught.value.problems] == [
        "installed/x/pack.yaml:1: $: the pack has no pack.yaml manifest (pack: name, version: 1.0.0)"]


def test_a_byte_order_mark_at_the_start_of_a_text_is_ignored():
    model = metamodel.load_model([BASE, overlay_pack(1, {"entities/lead.yaml": "\ufeff" + REGION})])
    assert "region" in model.entity("lead").fields_by_name


def test_installed_pack_requirements_are_checked_like_a_directory_pack():
    texts, _ = pack_texts(ACME)
    texts["pack.yaml"] = texts["pack.yaml"].replace('">=1.0, <2"', '">=2.0"')
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, MemoryPack("installed/acme", texts)])
    assert [str(p) for p in caught.value.problems] == [
        "installed/acme/pack.yaml:4: requires.base: needs 'base' >=2.0, but version 1.2.0 is loaded"]


# -- requirements in words ---------------------------------------------------------------


ACME_INFO = PackInfo("acme", "1.2.0", "packs/acme", requires={"base": ">=1.0, <2"})


@pytest.mark.parametrize("base_version, fits", [
    ("0.9.9", False), ("1.0.0", True), ("1.0", True), ("1.9.9", True), ("2.0.0", False), ("2.0.1", False),
])
def test_a_requirement_range_includes_its_minimum_and_excludes_its_maximum(base_version, fits):
    unmet = unmet_requirements(ACME_INFO, {"base": base_version})
    assert (unmet == []) is fits
    if not fits:
        assert [str(u) for u in unmet] == [
            f"pack acme 1.2.0 requires base >=1.0, <2; this installation has base {base_version}"]


def test_a_missing_required_pack_is_said_so():
    info = PackInfo("acme", "1.2.0", "packs/acme", requires={"base": ">=1.0", "crm_plus": "~=1.4"})
    assert unmet_requirements(info, {"base": "1.0.0"}) == [
        UnmetRequirement("acme", "1.2.0", "crm_plus", "~=1.4", None)]
    assert str(unmet_requirements(info, {"base": "1.0.0"})[0]) == (
        "pack acme 1.2.0 requires crm_plus ~=1.4; this installation has no pack crm_plus")


@pytest.mark.parametrize("version, expected", [
    ("1.0.0", ">=1.0.0, <2"), ("1.4.2", ">=1.4.2, <2"), ("0.3.0", ">=0.3.0, <1"), ("2.1.0-rc.1", ">=2.1.0, <3"),
])
def test_an_exported_pack_requires_from_the_version_it_was_made_on_to_the_next_major(version, expected):
    spec = requirement_for(version)
    assert spec == expected
    release = expected.split(",")[0][2:]
    major = int(release.split(".")[0])
    assert version_matches(release, spec)
    assert not version_matches(f"{major + 1}.0.0", spec)


# -- packs as files ----------------------------------------------------------------------


def test_pack_texts_reads_what_the_loader_reads_and_nothing_else(tmp_path):
    pack = tmp_path / "p"
    write_pack(pack, {"pack.yaml": "pack: p\nversion: 1.0.0\n", "entities/room.yaml": "entity: room\n"})
    (pack / "README.md").write_text("not a document")
    (pack / "entities" / "notes.txt").write_text("not a document")
    (pack / "scripts").mkdir()
    (pack / "scripts" / "x.yaml").write_text("a: 1\n")
    texts, problems = pack_texts(pack)
    assert problems == []
    assert texts == {"pack.yaml": "pack: p\nversion: 1.0.0\n", "entities/room.yaml": "entity: room\n"}


def test_pack_texts_names_a_file_that_is_not_utf8(tmp_path):
    pack = tmp_path / "p"
    write_pack(pack, {"pack.yaml": "pack: p\nversion: 1.0.0\n"})
    (pack / "lists").mkdir()
    (pack / "lists" / "bad.yaml").write_bytes(b"list: bad\nlabel: caf\xe9\n")
    texts, problems = pack_texts(pack)
    assert "lists/bad.yaml" not in texts
    assert [(Path(p.file).name, p.line, p.message) for p in problems] == [
        ("bad.yaml", 2, "is not valid UTF-8 (byte 0xe9)")]


def test_pack_texts_of_a_missing_directory(tmp_path):
    texts, problems = pack_texts(tmp_path / "nowhere")
    assert texts == {} and [p.message for p in problems] == ["the pack directory does not exist"]


def test_write_pack_refuses_a_name_outside_the_pack(tmp_path):
    with pytest.raises(ValueError, match="not a document name"):
        write_pack(tmp_path, {"../escape.yaml": "entity: x\n"})
    assert not (tmp_path.parent / "escape.yaml").exists()


def test_a_written_manifest_is_a_valid_pack_manifest(tmp_path):
    from metamodel.model import Text

    text = manifest_text("exported", "1.0.4", {"base": ">=1.2.0, <2"}, Text("Exported", "Exporté"))
    pack = tmp_path / "exported"
    write_pack(pack, {"pack.yaml": text, "entities/lead.yaml": REGION})
    model = metamodel.load_model([BASE, pack])
    info = model.packs[-1]
    assert (info.name, info.version, dict(info.requires), info.label.fr) == (
        "exported", "1.0.4", {"base": ">=1.2.0, <2"}, "Exporté")


# -- what changed ------------------------------------------------------------------------


def test_describe_changes_lists_each_change_once_in_words():
    before = metamodel.load_model([BASE])
    after = metamodel.load_model([BASE, ACME])
    changes = describe_changes(before, after)
    assert "pack acme 0.3.0: added" in changes
    assert "entity lead: characteristic loyalty added (integer)" in changes
    assert "entity lead: characteristic score changed (label, max)" in changes
    assert "entity lead: changed (label)" in changes
    assert len(changes) == len(set(changes))
    assert describe_changes(after, before)[0] == "pack acme 0.3.0: removed"
    assert "entity lead: characteristic loyalty removed" in describe_changes(after, before)


def test_a_new_pack_version_is_a_change_but_not_the_overlay_revision_when_quiet():
    one = metamodel.load_model([BASE, overlay_pack(1, {"entities/lead.yaml": REGION})])
    two = metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": REGION})])
    assert describe_changes(one, two) == ["pack overlay: 1 -> 2"]
    assert describe_changes(one, two, quiet_packs=["overlay"]) == []


def test_changes_read_in_french_too():
    before = metamodel.load_model([BASE])
    after = metamodel.load_model([BASE, ACME])
    french = [change.text("fr") for change in changes_of(before, after)]
    assert "pack acme 0.3.0 : ajout" in french
    assert "entité lead : ajout de la caractéristique loyalty (integer)" in french
    assert "entité lead : modification de la caractéristique score (label, max)" in french
    assert "entité lead : modification (label)" in french
    removed = [change.text("fr") for change in changes_of(after, before)]
    assert "entité lead : suppression de la caractéristique loyalty" in removed


@pytest.mark.parametrize("count, english, french", [
    (0, "0 characteristics", "0 caractéristique"), (1, "1 characteristic", "1 caractéristique"),
    (2, "2 characteristics", "2 caractéristiques"),
])
def test_counts_agree_with_their_number(count, english, french):
    from metamodel.editing.model_diff import _count

    assert _count(count, "characteristic") == (english, french)


def test_a_new_version_reads_old_to_new_in_both_languages():
    from metamodel.editing.model_diff import Change

    change = Change("pack", "acme", "version", detail=("1.0.0 -> 1.1.0",) * 2)
    assert (str(change), change.text("fr")) == ("pack acme: 1.0.0 -> 1.1.0", "pack acme : 1.0.0 -> 1.1.0")


# -- removing and redeclaring a characteristic of an earlier pack ------------------------------

def test_a_removed_characteristic_leaves_the_entity_and_its_views():
    removal = "extends: lead\nremove_characteristics: [score]\nviews: {list: {sort: [-score, last_name]}}\n"
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": removal})])
    # a later document of the same extension naming it again is told where it went
    assert "unknown field 'score' in entity 'lead' (removed by overlay/entities/lead.yaml:2)" in str(caught.value)

    removal = "extends: lead\nremove_characteristics: [company, budget, sector]\n"
    model = metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": removal})])
    lead = model.entity("lead")
    assert not {"company", "budget", "sector"} & set(lead.fields_by_name)
    assert lead.view("list").columns == ("last_name", "status", "score")
    assert (lead.view("list").filters, lead.view("list").mass_update) == (("status",), ("score",))
    assert [s.fields for s in lead.view("form").sections][1] == ("score",)


def test_a_removed_characteristic_leaves_the_roles_hidden_and_readonly_lists():
    removal = "extends: lead\nremove_characteristics: [budget, rank]\n"
    model = metamodel.load_model([ROLES_BASE, overlay_pack(2, {"entities/lead.yaml": removal})])
    permission = model.role("sales").entities["lead"]
    assert permission.hidden == frozenset() and permission.readonly == frozenset({"score"})


def test_a_removed_characteristic_can_be_declared_again_with_another_type():
    again = ("extends: lead\nremove_characteristics: [score]\ncharacteristics:\n"
             "  score: {type: string, label: {en: Grade, fr: Note}, max_length: 2}\n")
    with pytest.raises(metamodel.DefinitionError) as caught:  # the base pack's named view filters it as a number
        metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": again})])
    assert "where.score: a {min, max} range does not apply to a string field" in str(caught.value)


def test_redeclare_replaces_the_declaration_in_its_place_and_keeps_it_in_the_views():
    redeclared = ("extends: lead\ncharacteristics:\n"
                  "  budget: {redeclare: true, type: integer, label: {en: Budget, fr: Budget}, max: 1000000}\n"
                  "  sector: {redeclare: true, type: multi_choice, label: {en: Sectors, fr: Secteurs}, list: sectors}\n")
    base = metamodel.load_model([BASE]).entity("lead")
    model = metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": redeclared})])
    lead = model.entity("lead")
    budget, sector = lead.field("budget"), lead.field("sector")
    assert [f.name for f in lead.fields] == [f.name for f in base.fields]
    assert (budget.type, budget.min, budget.max, budget.historized) == ("integer", None, 1000000, False)
    assert (sector.type, sector.list, sector.default) == ("multi_choice", "sectors", None)
    assert (budget.source.file, budget.source.line) == ("overlay/entities/lead.yaml", 3)
    assert "sector" in lead.view("list").filters and "budget" in lead.view("form").sections[1].fields


def test_a_redeclared_link_may_point_at_another_entity():
    redeclared = ("extends: lead\ncharacteristics:\n"
                  "  company: {redeclare: true, type: link, label: {en: Parent lead, fr: Piste mère}, entity: lead}\n")
    model = metamodel.load_model([BASE, overlay_pack(2, {"entities/lead.yaml": redeclared})])
    assert model.entity("lead").field("company").entity == "lead"


# -- extending a named view ----------------------------------------------------------------------

def test_a_named_view_extension_replaces_the_keys_it_gives():
    extension = "extends: open_leads\nlabel: {en: Hot leads, fr: Pistes chaudes}\ncolumns: [last_name, score]\nwhere: {score: {min: 4}}\n"
    model = metamodel.load_model([BASE, overlay_pack(2, {"views/open_leads.yaml": extension})])
    view = model.entity("lead").view("open_leads")
    assert (view.label.en, view.columns, view.sort) == ("Hot leads", ("last_name", "score"), ("-score", "last_name"))
    assert dict(view.where)["score"] == {"min": 4}
    assert (view.source.file, view.kind) == ("tests/fixtures/packs/base/views/open_leads.yaml", "list")


@pytest.mark.parametrize("extension, message", [
    ("extends: nowhere\ncolumns: [last_name]\n", "extends: unknown view 'nowhere': no earlier pack declares it"),
    ("extends: open_leads\nentity: company\n", "entity: 'entity' cannot be changed by an extends document"),
    ("extends: open_leads\ncolumns: [nickname]\n", "columns.0: unknown field 'nickname' in entity 'lead'"),
])
def test_a_named_view_extension_is_checked_where_it_is_written(extension, message):
    with pytest.raises(metamodel.DefinitionError) as caught:
        metamodel.load_model([BASE, overlay_pack(2, {"views/open_leads.yaml": extension})])
    assert [str(p) for p in caught.value.problems] == [f"overlay/views/open_leads.yaml:{1 if 'nowhere' in extension else 2}: {message}"]
