"""What the tools around the definitions make of relations: pack and overlay diffs in words,
admin overlay edits, removals and renames through paths, and the JSON Schemas editors use."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pytest
import yaml

import metamodel
from metamodel import BASE_PACK, load_model
from metamodel.editing.definition_edits import OverlayEditor, declaration_of, field_values
from metamodel.model import Model
from metamodel.editing.model_diff import describe_changes
from metamodel.reading.overlay import overlay_pack
from metamodel.reading.schema_check import quick_test, validator
from metamodel.yaml_source import read_document

from mm_relations import QUOTE, QUOTE_LINE, RELATIONS, load, messages, write_pack

BASE: Model = load_model([BASE_PACK])
ATTENDEES = "extends: event\ncharacteristics:\n  guests: {type: links, entity: contact, label: {en: Guests, fr: Invités}}\n"


def overlay(texts: Mapping[str, str]) -> Model:
    return metamodel.load_model([BASE_PACK, overlay_pack(1, texts)])


# -- pack and overlay diffs ----------------------------------------------------------------
def test_adding_links_and_lines_is_said_with_their_target(tmp_path: Path) -> None:
    after = load(tmp_path, {"entities/event.yaml": ATTENDEES, "entities/quote.yaml": QUOTE,
                            "entities/quote_line.yaml": QUOTE_LINE})
    changes = describe_changes(BASE, after)
    said = [str(c) for c in changes]

    assert "entity event: characteristic guests added (links to contact)" in said
    assert "entity quote: added (2 characteristics)" in said
    assert [c.text("fr") for c in changes if c.member == "guests"] == [
        "entité event : ajout de la caractéristique guests (liens vers contact)"]
    assert "entity event: characteristic guests removed" in [str(c) for c in describe_changes(after, BASE)]
    assert not [c for c in changes if c.kind == "entity" and c.name == "contact"]  # its default panels follow


def test_a_lines_characteristic_added_to_an_existing_entity(tmp_path: Path) -> None:
    loose = load(tmp_path, {"entities/quote.yaml": QUOTE.replace(
        "  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}\n", ""),
        "entities/quote_line.yaml": QUOTE_LINE.replace("owned_by: quote\n", "")})
    owned = load_model([BASE_PACK, write_pack(tmp_path, {"entities/quote.yaml": QUOTE,
                                                         "entities/quote_line.yaml": QUOTE_LINE}, name="q")])
    said = [str(c) for c in describe_changes(loose, owned)]

    assert "entity quote: characteristic lines added (lines of quote_line)" in said
    assert "entity quote_line: changed (owned_by)" in said
    assert "entity quote_line: characteristic parent_id added (link to quote)" in said


def test_a_renamed_or_relabelled_reverse_relation_is_said_in_words(tmp_path: Path) -> None:
    # a reverse relation no form of the base pack names as a panel (renaming one there is an error)
    renamed = load(tmp_path, {"entities/lead.yaml": "extends: lead\ncharacteristics:\n"
                                                    "  converted_account: {reverse: converted_leads}\n"})
    relabelled = load_model([BASE_PACK, write_pack(tmp_path, {"entities/lead.yaml": (
        "extends: lead\ncharacteristics:\n  converted_account: {reverse: {label: {en: Origins, fr: Origines}}}\n")},
        name="q")])

    assert [str(c) for c in describe_changes(BASE, renamed)] == [
        "pack p 1.0.0: added", "entity lead: characteristic converted_account changed (reverse relation "
                               "lead_converted_account renamed converted_leads)"]
    assert [c.text("fr") for c in describe_changes(BASE, renamed)][1] == (
        "entité lead : modification de la caractéristique converted_account (relation inverse lead_converted_account "
        "renommée converted_leads)")
    assert [str(c) for c in describe_changes(BASE, relabelled)][1:] == [
        "entity lead: characteristic converted_account changed (label of the reverse relation lead_converted_account)"]


def test_declared_panels_are_a_change_of_the_form(tmp_path: Path) -> None:
    after = load(tmp_path, {"entities/account.yaml": "extends: account\nviews:\n  form: {related: [{relation: task_account}]}\n"})

    assert [str(c) for c in describe_changes(BASE, after)][1:] == ["entity account: view form changed (related)"]


# -- admin overlay edits -------------------------------------------------------------------
def test_an_admin_adds_a_links_characteristic_and_the_overlay_loads() -> None:
    edit = OverlayEditor({}, BASE)
    values = {"type": "links", "label": {"en": "Guests", "fr": "Invités"}, "mandatory": True, "systematic": True,
              "historized": True, "indexed": False, "min": None, "max": 200, "max_length": None, "list": None,
              "entity": "contact"}
    edit.set_characteristic("event", "guests", values, new=True)
    texts = edit.texts()

    assert yaml.safe_load(texts["entities/event.yaml"])["characteristics"]["guests"] == {
        "type": "links", "label": {"en": "Guests", "fr": "Invités"}, "mandatory": True, "historized": True,
        "max": 200, "entity": "contact"}
    guests = overlay(texts).entity("event").field("guests")
    assert (guests.type, guests.max, guests.join_table) == ("links", 200, "event__guests")


def test_renaming_a_link_keeps_its_reverse_relation_name() -> None:
    edit = OverlayEditor({}, BASE)
    edit.rename_characteristic("event", "account", "company")
    model = overlay(edit.texts())

    assert yaml.safe_load(edit.texts()["entities/event.yaml"])["characteristics"]["company"]["renamed_from"] == "account"
    assert model.reverse_relation("event", "company").name == "event_account"  # the default of its former name


def test_a_declared_reverse_is_kept_when_the_link_is_declared_again() -> None:
    # activity_report.contact: its reverse relation is on no form of the base pack, by name
    model = overlay({"entities/activity_report.yaml": "extends: activity_report\ncharacteristics:\n"
                                                      "  contact: {reverse: {name: reports, label: {en: Reports, fr: CR}}}\n"})
    contact = model.entity("activity_report").field("contact")

    assert declaration_of(contact)["reverse"] == {"name": "reports", "label": {"en": "Reports", "fr": "CR"}}
    edit = OverlayEditor({"entities/activity_report.yaml": "extends: activity_report\ncharacteristics:\n"
                                                           "  contact: {reverse: reports}\n"}, model)
    edit.set_characteristic("activity_report", "contact", {**field_values(contact), "entity": "account"}, new=False)
    entry = yaml.safe_load(edit.texts()["entities/activity_report.yaml"])["characteristics"]["contact"]
    assert (entry["redeclare"], entry["entity"], entry["reverse"]["name"]) == (True, "account", "reports")
    assert overlay(edit.texts()).relation("account", "reports").source_field == "contact"


def test_removing_a_link_takes_the_paths_through_it_out_of_the_overlay_views() -> None:
    texts = {"entities/event.yaml": "extends: event\nviews:\n  list: {columns: [subject, account.sector], "
                                    "sort: [-account.name], filters: [account.city]}\n"}
    edit = OverlayEditor(texts, overlay(texts))
    edit.remove_characteristic("event", "account")

    assert yaml.safe_load(edit.texts()["entities/event.yaml"]) == {
        "extends": "event", "remove_characteristics": ["account"], "views": {"list": {"columns": ["subject"]}}}
    assert overlay(edit.texts()).entity("event").view("list").columns == ("subject",)


# -- removals and renames by packs ---------------------------------------------------------
def test_a_removed_link_leaves_the_views_with_its_paths(tmp_path: Path) -> None:
    removed = load(tmp_path, {"entities/booking.yaml": "extends: booking\nremove_characteristics: [account]\n",
                              "views/booking_summary.yaml": "extends: booking_summary\nrelated: [{relation: booking_room}]\n"},
                   on=(RELATIONS,))

    assert removed.entity("booking").view("list").columns == ("subject", "room", "room.site.name", "attendees")


RENAMED = {
    "entities/site.yaml": "entity: site\nlabel: {en: S, fr: S}\nplural: {en: S, fr: S}\ncharacteristics:\n"
                          "  name: {type: string, label: {en: N, fr: N}}\nviews:\n  form: {related: [{relation: room_site}]}\n",
    "entities/room.yaml": "entity: room\nlabel: {en: R, fr: R}\nplural: {en: R, fr: R}\ntitle: \"{site.name}\"\n"
                          "characteristics:\n  site: {type: link, entity: site, label: {en: S, fr: S}}\n"
                          "views:\n  list: {columns: [site, site.name], sort: [-site.name], where: {site.name: x}}\n",
}


def test_a_renamed_link_takes_its_paths_and_its_reverse_relation_along(tmp_path: Path) -> None:
    base = write_pack(tmp_path, RENAMED, name="rooms")
    renamed = load(tmp_path, {"entities/room.yaml": (
        "extends: room\nremove_characteristics: [site]\ncharacteristics:\n"
        "  place: {type: link, entity: site, label: {en: P, fr: P}, renamed_from: site}\n")}, on=(base,))
    room = renamed.entity("room")

    assert (room.view("list").columns, room.view("list").sort, dict(room.view("list").where), room.title) == (
        ("place", "place.name"), ("-place.name",), {"place.name": "x"}, "{place.name}")
    assert renamed.reverse_relation("room", "place").name == "room_site"
    assert renamed.entity("site").view("form").related[0].relation == "room_site"


def test_a_removed_link_still_named_by_an_expression_is_reported(tmp_path: Path) -> None:
    found = messages(tmp_path, {"entities/booking.yaml": "extends: booking\nremove_characteristics: [backup_room]\n"
                                                         "characteristics:\n  seats: {default_expr: 'backup_room.capacity'}\n"},
                     on=(RELATIONS,))

    assert found == [
        "entities/booking.yaml:4: characteristics.seats.default_expr: path 'backup_room.capacity': unknown field "
        f"'backup_room' in entity 'booking' (removed by {tmp_path}/p/entities/booking.yaml:2)"]


# -- JSON Schemas --------------------------------------------------------------------------
KINDS = {"entities": "entity", "views": "view", "workflows": "workflow", "lists": "list"}


def _documents() -> list[tuple[str, object]]:
    found = []
    for folder, kind in KINDS.items():
        for path in sorted((RELATIONS / folder).glob("*.yaml")):
            doc, _ = read_document(path)
            found.append((kind, doc.data))
    return found


def test_the_relations_pack_is_valid_for_the_schemas_and_the_fast_test() -> None:
    for kind, data in _documents():
        assert validator(kind).is_valid(data), (kind, data)
        assert quick_test(kind)(data) is True


@pytest.mark.parametrize("kind, data", [
    ("entity", {"extends": "x", "owned_by": "y"}),
    ("entity", {"entity": "x", "label": {"en": "X", "fr": "X"}, "plural": {"en": "X", "fr": "X"},
                "characteristics": {"a": {"type": "link", "entity": "y", "label": {"en": "A", "fr": "A"},
                                          "reverse": {"nom": "z"}}}}),
    ("entity", {"entity": "x", "label": {"en": "X", "fr": "X"}, "plural": {"en": "X", "fr": "X"},
                "characteristics": {}, "views": {"form": {"related": [{"columns": ["a"]}]}}}),
    ("view", {"view": "v", "entity": "x", "kind": "list", "label": {"en": "V", "fr": "V"}, "columns": ["a..b"]}),
    ("view", {"view": "v", "entity": "x", "kind": "list", "label": {"en": "V", "fr": "V"}, "sort": ["-a.B"]}),
])
def test_schemas_refuse_malformed_relation_keys_and_the_fast_test_agrees(kind: str, data: object) -> None:
    assert validator(kind).is_valid(data) is False
    assert quick_test(kind)(data) is False


@pytest.mark.parametrize("document, message", [
    ("extends: booking\nowned_by: room\n", "entities/booking.yaml:2: owned_by: 'owned_by' cannot be changed by an "
                                           "extends document"),
    ("extends: booking\nviews:\n  list: {columns: [room..name]}\n",
     "entities/booking.yaml:3: views.list.columns.0: 'room..name' is not a field name or a path through links "
     "(names joined by dots, such as account.sector)"),
    ("extends: booking\nviews:\n  list: {sort: [+room.name]}\n",
     "entities/booking.yaml:3: views.list.sort.0: '+room.name' is not a field name or a path through links "
     "(optionally prefixed with - for descending order)"),
])
def test_schema_errors_of_relation_keys_are_worded_for_people(tmp_path: Path, document: str, message: str) -> None:
    assert messages(tmp_path, {"entities/booking.yaml": document}, on=(RELATIONS,)) == [message]


def _mutations(data: object) -> list[object]:
    """Copies of `data` with one value replaced by another type, removed, or given a stray key."""
    import copy
    found: list[object] = []

    def walk(node: object, path: tuple[object, ...]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in list(items):
            for replacement in (None, "Zz", "a.b", 7, True, [], {}, "__removed__", "__stray__"):
                mutated = copy.deepcopy(data)
                parent = mutated
                for step in path:
                    parent = parent[step]
                if replacement == "__removed__":
                    del parent[key]
                elif replacement == "__stray__":
                    if not isinstance(parent[key], dict):
                        continue
                    parent[key]["stray"] = 1
                else:
                    parent[key] = replacement
                found.append(mutated)
            walk(value, (*path, key))

    walk(data, ())
    return found


def test_the_fast_test_agrees_with_jsonschema_on_every_mutation_of_the_relations_pack() -> None:
    checked = 0
    for kind, data in _documents():
        for candidate in _mutations(data):
            assert quick_test(kind)(candidate) is validator(kind).is_valid(candidate), (kind, candidate)
            checked += 1
    assert checked > 1000
