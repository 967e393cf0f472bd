"""Lines (owned entities), many-to-many links, reverse relations and form panels in the Model,
and every rule about them with the file, line and words of its error."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import BASE_PACK, load_model
from metamodel.model import MAX_LINES, MAX_LINKS, PARENT_FIELD, POSITION_FIELD, UnknownRelation

from mm_relations import QUOTE, QUOTE_LINE, RELATIONS, load, messages, problems, write_pack

MODEL = load_model([BASE_PACK, RELATIONS])


# -- lines ---------------------------------------------------------------------------------
def test_lines_characteristic_names_the_owned_entity_with_its_bounds() -> None:
    meals = MODEL.entity("booking").field("meals")

    assert (meals.type, meals.entity, meals.min, meals.max, meals.is_collection) == ("lines", "meal", None, 50, True)
    assert MODEL.entity("meal").owned_by == "booking"
    assert MODEL.owner_field("meal") is meals
    assert MODEL.owner_field("booking") is None


def test_owned_entity_gets_parent_and_position_system_characteristics() -> None:
    meal = MODEL.entity("meal")
    parent, position = meal.field(PARENT_FIELD), meal.field(POSITION_FIELD)

    assert (parent.type, parent.entity, parent.mandatory, parent.readonly, parent.system, parent.indexed) == (
        "link", "booking", True, True, True, True)
    assert (position.type, position.mandatory, position.readonly, position.system, position.systematic) == (
        "integer", True, True, True, False)
    assert [f.name for f in meal.fields] == ["dish", "quantity", "diet", "served_in", "parent_id", "position"]


def test_line_editor_columns_are_the_owned_entity_form_fields_and_lines_have_no_column() -> None:
    booking = MODEL.entity("booking")

    assert MODEL.entity("meal").line_columns == ("quantity", "dish")
    assert "meals" not in [f.name for f in booking.column_fields]
    assert "attendees" not in [f.name for f in booking.column_fields]
    assert "room" in [f.name for f in booking.column_fields]


def test_default_line_columns_are_the_systematic_characteristics_without_system_ones(tmp_path: Path) -> None:
    model = load(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": QUOTE_LINE})

    assert model.entity("quote_line").line_columns == ("product", "quantity")
    assert model.entity("quote").view("list").columns == ("name",)
    assert model.entity("quote").view("form").sections[0].fields == ("name", "lines")


def test_undeclared_max_of_lines_and_links_is_the_hard_ceiling(tmp_path: Path) -> None:
    event = "extends: event\ncharacteristics:\n  guests: {type: links, entity: contact, label: {en: G, fr: I}}\n"
    model = load(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": QUOTE_LINE,
                            "entities/event.yaml": event})

    assert model.entity("quote").field("lines").max == MAX_LINES == 1000
    assert model.entity("event").field("guests").max == MAX_LINKS == 10_000


@pytest.mark.parametrize("kind, bounds, message", [
    ("lines", "max: 1000", None),
    ("lines", "max: 1001", "characteristics.items.max: 1,001 is more than the limit of 1,000 lines"),
    ("lines", "max: 0", "characteristics.items.max: 0 is not a number of lines: a whole number from 1"),
    ("lines", "max: 1", None),
    ("lines", "min: -1", "characteristics.items.min: -1 is not a number of lines: a whole number from 0"),
    ("lines", "min: 2.5", "characteristics.items.min: 2.5 is not a number of lines: a whole number from 0"),
    ("lines", "min: '3'", "characteristics.items.min: '3' is not a number of lines: a whole number from 0"),
    ("lines", "min: 3, max: 3", None),
    ("lines", "min: 4, max: 3", "characteristics.items.max: 3 is less than min 4"),
    ("links", "max: 10000", None),
    ("links", "max: 10001", "characteristics.items.max: 10,001 is more than the limit of 10,000 members"),
    ("links", "min: 1, max: 1", None),
])
def test_min_and_max_count_lines_and_members_within_the_ceiling(tmp_path: Path, kind: str, bounds: str,
                                                                 message: str | None) -> None:
    target = "quote_line" if kind == "lines" else "contact"
    quote = QUOTE.replace("  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}\n",
                          f"  items: {{type: {kind}, entity: {target}, label: {{en: I, fr: I}}, {bounds}}}\n"
                          + ("  lines: {type: lines, entity: quote_line, label: {en: L, fr: L}}\n" if kind == "links" else ""))
    files = {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE}

    if message is None:
        assert load(tmp_path, files).entity("quote").field("items").type == kind
    else:
        assert messages(tmp_path, files) == [f"entities/quote.yaml:6: {message}"]


def test_min_and_max_are_typed_counts(tmp_path: Path) -> None:
    quote = QUOTE.replace("label: {en: Lines, fr: Lignes}}", "label: {en: Lines, fr: Lignes}, min: 1, max: 20}")
    field = load(tmp_path, {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE}).entity(
        "quote").field("lines")

    assert (field.min, field.max) == (1, 20)


def test_owned_by_an_unknown_entity_says_where_and_suggests(tmp_path: Path) -> None:
    assert problems(tmp_path, {"entities/quote.yaml": QUOTE.replace("  lines:", "  other:").replace(
        "entity: quote_line", "entity: contact").replace("type: lines", "type: links"),
        "entities/quote_line.yaml": QUOTE_LINE.replace("owned_by: quote", "owned_by: quot")}) == [
        ("entities/quote_line.yaml", 4, "owned_by", "unknown entity 'quot' (did you mean 'quote'?)")]


def test_an_entity_cannot_own_itself(tmp_path: Path) -> None:
    assert messages(tmp_path, {"entities/quote_line.yaml": QUOTE_LINE.replace("owned_by: quote", "owned_by: quote_line")}) == [
        "entities/quote_line.yaml:4: owned_by: entity 'quote_line' cannot own its own records"]


def test_owner_without_a_lines_characteristic_for_the_owned_entity(tmp_path: Path) -> None:
    quote = QUOTE.replace("  lines: {type: lines, entity: quote_line, label: {en: Lines, fr: Lignes}}\n", "")

    assert messages(tmp_path, {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE}) == [
        "entities/quote_line.yaml:4: owned_by: entity 'quote' has no lines characteristic for 'quote_line': "
        "declare one in 'quote', e.g. `lines: {type: lines, entity: quote_line, label: ...}`"]


def test_a_second_lines_characteristic_for_the_same_owned_entity(tmp_path: Path) -> None:
    quote = QUOTE + "  more: {type: lines, entity: quote_line, label: {en: More, fr: Plus}}\n"

    assert messages(tmp_path, {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE}) == [
        f"entities/quote.yaml:7: characteristics.more.entity: 'quote_line' already holds the lines of characteristic "
        f"'lines' ({tmp_path}/p/entities/quote.yaml:6): an owned entity is the lines of one characteristic only"]


def test_lines_of_an_entity_that_is_not_owned(tmp_path: Path) -> None:
    quote = QUOTE.replace("entity: quote_line", "entity: contact")

    assert messages(tmp_path, {"entities/quote.yaml": quote}) == [
        "entities/quote.yaml:6: characteristics.lines.entity: 'contact' is not an owned entity "
        "(definitions/entities/contact.yaml:2): lines are the records of an entity declared with `owned_by: quote`"]


def test_lines_of_an_entity_owned_by_another(tmp_path: Path) -> None:
    order = QUOTE.replace("entity: quote\n", "entity: order_form\n")

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": QUOTE_LINE,
                               "entities/order_form.yaml": order}) == [
        f"entities/order_form.yaml:6: characteristics.lines.entity: 'quote_line' is owned by 'quote' "
        f"({tmp_path}/p/entities/quote_line.yaml:4): its records are the lines of one entity only"]


@pytest.mark.parametrize("kind, what", [("link", "a link"), ("links", "a links characteristic")])
def test_no_link_may_name_an_owned_entity(tmp_path: Path, kind: str, what: str) -> None:
    event = f"extends: event\ncharacteristics:\n  line: {{type: {kind}, entity: quote_line, label: {{en: L, fr: L}}}}\n"

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": QUOTE_LINE,
                               "entities/event.yaml": event}) == [
        f"entities/event.yaml:3: characteristics.line.entity: 'quote_line' is owned by 'quote': its records are "
        f"lines of a quote record, edited with it; {what} cannot name them (name 'quote' instead)"]


def test_lines_are_one_level_deep(tmp_path: Path) -> None:
    line = QUOTE_LINE + "  parts: {type: lines, entity: part, label: {en: Parts, fr: Pièces}}\n"
    part = QUOTE_LINE.replace("entity: quote_line", "entity: part").replace("owned_by: quote", "owned_by: quote_line")

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": line,
                               "entities/part.yaml": part}) == [
        "entities/part.yaml:4: owned_by: 'quote_line' is itself owned by 'quote': lines are one level deep, "
        "lines cannot have lines",
        "entities/quote_line.yaml:8: characteristics.parts.type: lines cannot have lines: 'quote_line' is itself "
        "owned by 'quote' (one level of lines)",
    ]


OWNED_RULES = [
    ("workflow: w\n", "entities/quote_line.yaml:5: workflow: an owned entity has no workflow: its records are "
                         "the lines of 'quote' and follow it"),
    ("views:\n  list: {columns: [product]}\n", "entities/quote_line.yaml:9: views.list: an owned entity has no list "
                                               "of its own: its records are the lines of 'quote', edited on its form "
                                               "with the columns of this entity's form (views.form)"),
    ("views:\n  form: {related: []}\n", "entities/quote_line.yaml:9: views.form.related: an owned entity has no page "
                                        "of its own, hence no related panels: its records are the lines of 'quote'"),
    ("duplicates:\n  same: {label: {en: S, fr: S}, match: [product]}\n",
     "entities/quote_line.yaml:9: duplicates.same: an owned entity has no duplicate rules: its records are the "
     "lines of 'quote'"),
]


@pytest.mark.parametrize("extra, message", OWNED_RULES)
def test_owned_entity_has_no_workflow_list_panels_or_duplicate_rules(tmp_path: Path, extra: str, message: str) -> None:
    line = QUOTE_LINE + extra if not extra.startswith("workflow") else QUOTE_LINE.replace(
        "owned_by: quote\n", "owned_by: quote\n" + extra)
    flow = "workflow: w\nlabel: {en: W, fr: W}\nstatuses:\n  - {code: a, label: {en: A, fr: A}}\n"

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": line,
                               "workflows/w.yaml": flow}) == [message]


def test_owned_entity_cannot_declare_parent_id_or_position(tmp_path: Path) -> None:
    line = QUOTE_LINE + "  position: {type: integer, label: {en: P, fr: P}}\n"

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": line}) == [
        "entities/quote_line.yaml:8: characteristics.position: 'position' is reserved for a system column of "
        "owned entities"]


def test_owned_entity_has_no_named_view_role_entry_or_create_action(tmp_path: Path) -> None:
    view = "view: lines_view\nentity: quote_line\nkind: list\nlabel: {en: L, fr: L}\n"
    role = "role: clerk\nlabel: {en: C, fr: C}\nentities:\n  quote_line: {can: [read]}\n  quote: {can: [read]}\n"
    flow = ("workflow: q\nlabel: {en: Q, fr: Q}\nstatuses:\n  - {code: a, label: {en: A, fr: A}}\n"
            "transitions:\n  - name: go\n    label: {en: G, fr: G}\n    from: [a]\n    to: a\n"
            "    actions:\n      - {create: {entity: quote_line, values: {product: \"'x'\"}}}\n")
    quote = QUOTE.replace("characteristics:", "workflow: q\ncharacteristics:")

    assert messages(tmp_path, {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE,
                               "views/lines_view.yaml": view, "roles/clerk.yaml": role, "workflows/q.yaml": flow}) == [
        "workflows/q.yaml:11: transitions.0.actions.0.create.entity: 'quote_line' is owned by 'quote': its records "
        "are lines of a quote record, edited with it; an action cannot name them (name 'quote' instead)",
        "views/lines_view.yaml:2: entity: 'quote_line' is owned by 'quote': its lines have no views of their own "
        "(the owner's form edits them with the columns of their form)",
        "roles/clerk.yaml:4: entities.quote_line: 'quote_line' is owned by 'quote': its lines follow the "
        "permissions of 'quote' (hide or protect its lines characteristic in the entry of 'quote')",
    ]


def test_roles_everything_entry_leaves_owned_entities_out() -> None:
    assert "meal" not in MODEL.role("read_only").entities
    assert "booking" in MODEL.role("read_only").entities


@pytest.mark.parametrize("key, value", [("unique", "true"), ("default", "[1]"), ("default_expr", "'1'"),
                                        ("indexed", "true"), ("historized", "true"), ("format", "siret"),
                                        ("reverse", "owners")])
def test_properties_that_do_not_apply_to_lines(tmp_path: Path, key: str, value: str) -> None:
    quote = QUOTE.replace("label: {en: Lines, fr: Lignes}}", f"label: {{en: Lines, fr: Lignes}}, {key}: {value}}}")

    assert messages(tmp_path, {"entities/quote.yaml": quote, "entities/quote_line.yaml": QUOTE_LINE}) == [
        f"entities/quote.yaml:6: characteristics.lines.{key}: '{key}' does not apply to a lines characteristic"]


def test_lines_and_links_need_an_entity(tmp_path: Path) -> None:
    quote = QUOTE.replace(", entity: quote_line", "") + "  people: {type: links, label: {en: P, fr: P}}\n"

    assert messages(tmp_path, {"entities/quote.yaml": quote}) == [
        "entities/quote.yaml:6: characteristics.lines: a lines characteristic needs 'entity' (the owned entity "
        "whose records are the lines)",
        "entities/quote.yaml:7: characteristics.people: a links characteristic needs 'entity' (the target entity)",
    ]


# -- many-to-many links --------------------------------------------------------------------
def test_links_characteristic_has_a_join_table_and_counts() -> None:
    attendees = MODEL.entity("booking").field("attendees")

    assert (attendees.type, attendees.entity, attendees.join_table, attendees.max, attendees.historized) == (
        "links", "contact", "booking__attendees", 500, True)


@pytest.mark.parametrize("key, value", [("unique", "true"), ("default", "[1]"), ("default_expr", "'1'"),
                                        ("indexed", "true"), ("format", "siret")])
def test_properties_that_do_not_apply_to_links(tmp_path: Path, key: str, value: str) -> None:
    event = f"extends: event\ncharacteristics:\n  guests: {{type: links, entity: contact, label: {{en: G, fr: I}}, {key}: {value}}}\n"

    assert messages(tmp_path, {"entities/event.yaml": event}) == [
        f"entities/event.yaml:3: characteristics.guests.{key}: '{key}' does not apply to a links characteristic"]


ENTITY_40 = "e" * 40


@pytest.mark.parametrize("field, fits", [("f" * 13, True), ("f" * 14, False)])
def test_join_table_name_fits_55_characters(tmp_path: Path, field: str, fits: bool) -> None:
    entity = (f"entity: {ENTITY_40}\nlabel: {{en: E, fr: E}}\nplural: {{en: E, fr: E}}\ncharacteristics:\n"
              f"  {field}: {{type: links, entity: contact, label: {{en: F, fr: F}}}}\n")
    files = {"entities/long.yaml": entity}

    if fits:
        assert len(load(tmp_path, files).entity(ENTITY_40).field(field).join_table) == 55
    else:
        assert messages(tmp_path, files) == [
            f"entities/long.yaml:5: characteristics.{field}: the join table of '{field}', '{ENTITY_40}__{field}', "
            f"would have 56 characters, more than 55: shorten the characteristic's name"]


def test_join_table_name_cannot_be_an_entity_or_another_join_table(tmp_path: Path) -> None:
    a = ("entity: a\nlabel: {en: A, fr: A}\nplural: {en: A, fr: A}\ncharacteristics:\n"
         "  b__c: {type: links, entity: contact, label: {en: B, fr: B}}\n")
    a_b = ("entity: a__b\nlabel: {en: A, fr: A}\nplural: {en: A, fr: A}\ncharacteristics:\n"
           "  c: {type: links, entity: contact, label: {en: C, fr: C}}\n")
    x = ("entity: x\nlabel: {en: X, fr: X}\nplural: {en: X, fr: X}\ncharacteristics:\n"
         "  a: {type: links, entity: contact, label: {en: A, fr: A}}\n")
    x__a = "entity: x__a\nlabel: {en: X, fr: X}\nplural: {en: X, fr: X}\ncharacteristics: {}\n"

    assert messages(tmp_path, {"entities/a.yaml": a, "entities/a__b.yaml": a_b, "entities/x.yaml": x,
                               "entities/x__a.yaml": x__a}) == [
        f"entities/a__b.yaml:5: characteristics.c: the join table of 'c', 'a__b__c', is also the one of "
        f"'a.b__c' ({tmp_path}/p/entities/a.yaml:5): rename one of them",
        f"entities/x.yaml:5: characteristics.a: the join table of 'a', 'x__a', has the name of entity 'x__a' "
        f"({tmp_path}/p/entities/x__a.yaml:1): rename one of them",
    ]


# -- reverse relations ---------------------------------------------------------------------
def test_every_link_and_links_makes_a_reverse_relation_with_default_names_and_labels() -> None:
    room = MODEL.relations("room")

    assert [(r.name, r.label.en, r.label.fr, r.source_entity, r.source_field, r.kind) for r in room] == [
        ("booking_room", "Bookings (Room)", "Réservations (Salle)", "booking", "room", "link"),
        ("booking_backup_room", "Bookings (Backup room)", "Réservations (Salle de secours)", "booking",
         "backup_room", "link"),
    ]
    attendees = MODEL.relation("contact", "booking_attendees")
    assert (attendees.label.en, attendees.kind, attendees.entity) == ("Bookings", "links", "contact")


def test_reverse_gives_the_name_or_the_name_and_label() -> None:
    rooms = MODEL.relation("site", "rooms")
    bookings = MODEL.relation("account", "bookings")

    assert (rooms.label.en, rooms.label.fr, rooms.source.line) == ("Rooms", "Salles", 7)
    assert (bookings.label.en, bookings.source_field) == ("Bookings", "account")
    assert MODEL.entity("room").field("site").reverse_name == "rooms"
    assert MODEL.entity("booking").field("room").reverse_name is None
    assert MODEL.reverse_relation("booking", "account") is bookings
    assert MODEL.reverse_relation("booking", "subject") is None


def test_lines_and_owned_entities_links_make_no_reverse_relation() -> None:
    assert MODEL.relations("meal") == ()
    assert [r.name for r in MODEL.relations("booking")] == []
    assert [r.source_entity for r in MODEL.relations("room")] == ["booking", "booking"]  # not meal.served_in


def test_unknown_relation_is_a_key_error_with_did_you_mean() -> None:
    with pytest.raises(UnknownRelation) as raised:
        MODEL.relation("room", "booking_rom")

    assert isinstance(raised.value, KeyError)
    assert str(raised.value) == "entity 'room' has no relation 'booking_rom' (did you mean 'booking_room'?)"


def base_line(relative: str, text: str) -> int:
    """The line of the base pack's file `relative` starting with `text` (the base pack changes)."""
    lines = (Path(BASE_PACK) / relative).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(text))


# The base pack's forms name their panels; a lead's converted account is in none of them, so the
# reverse relation it makes (lead_converted_account) can be renamed without touching a form.
def test_default_reverse_name_taken_by_a_characteristic_of_the_target(tmp_path: Path) -> None:
    account = "extends: account\ncharacteristics:\n  lead_converted_account: {type: string, label: {en: E, fr: E}}\n"
    line = base_line("entities/lead.yaml", "  converted_account:")

    assert messages(tmp_path, {"entities/account.yaml": account}) == [
        f"definitions/entities/lead.yaml:{line}: characteristics.converted_account: characteristic "
        f"'converted_account' makes the reverse relation 'lead_converted_account' on entity 'account', which is the "
        f"name of characteristic 'lead_converted_account' of 'account' ({tmp_path}/p/entities/account.yaml:3): name "
        f"the relation with `reverse: NAME` on the characteristic"]


def test_declared_reverse_name_taken_by_another_relation(tmp_path: Path) -> None:
    lead = "extends: lead\ncharacteristics:\n  converted_account: {reverse: contact_account}\n"
    line = base_line("entities/contact.yaml", "  account:")

    assert messages(tmp_path, {"entities/lead.yaml": lead}) == [
        "entities/lead.yaml:3: characteristics.converted_account.reverse: characteristic 'converted_account' makes "
        "the reverse relation 'contact_account' on entity 'account', which characteristic 'account' of entity "
        f"'contact' makes too (definitions/entities/contact.yaml:{line}): give the relation another name",
    ]


def test_reverse_name_of_a_system_column(tmp_path: Path) -> None:
    lead = "extends: lead\ncharacteristics:\n  converted_account: {reverse: created_at}\n"

    assert messages(tmp_path, {"entities/lead.yaml": lead}) == [
        "entities/lead.yaml:3: characteristics.converted_account.reverse: characteristic 'converted_account' makes "
        "the reverse relation 'created_at' on entity 'account', which is the name of the system column 'created_at' "
        "of 'account': give the relation another name"]


def test_an_extension_renames_a_reverse_relation_and_null_restores_the_default(tmp_path: Path) -> None:
    renamed = load(tmp_path, {"entities/lead.yaml": "extends: lead\ncharacteristics:\n  converted_account: "
                                                     "{reverse: {name: converted_leads, label: {en: Leads, fr: Pistes}}}\n"})
    before = [r.name for r in load_model([BASE_PACK]).relations("account")]
    after = [r.name for r in renamed.relations("account")]
    assert after[before.index("lead_converted_account")] == "converted_leads"

    restore = write_pack(tmp_path, {"entities/lead.yaml": "extends: lead\ncharacteristics:\n"
                                                          "  converted_account: {reverse: null}\n"}, name="q")
    layered = load_model([BASE_PACK, tmp_path / "p", restore])
    assert "lead_converted_account" in [r.name for r in layered.relations("account")]


# -- related panels ------------------------------------------------------------------------
def test_a_form_without_related_shows_every_reverse_relation_with_the_source_list_columns() -> None:
    panels = MODEL.entity("room").view("form").related

    assert [(p.relation, p.size) for p in panels] == [("booking_room", 10), ("booking_backup_room", 10)]
    booking_list = MODEL.entity("booking").view("list")
    assert panels[0].columns == ("subject", "account.sector", "attendees")  # without room and room.*
    assert panels[1].columns == ("subject", "room", "room.site.name", "account.sector", "attendees")
    assert panels[0].sort == booking_list.sort
    assert set(panels[0].paths) == {"account.sector", "room.site.name"}
    assert MODEL.entity("room").view("form").declared_related is False


def test_declared_panels_and_an_empty_related() -> None:
    summary = MODEL.entity("room").view("booking_summary")

    assert summary.declared_related is True
    assert [(p.relation, p.columns, p.sort, p.size) for p in summary.related] == [
        ("booking_room", ("subject", "account", "account.sector"), ("-created_at",), 5)]
    assert summary.related[0].paths["account.sector"].field.list == "sectors"


def test_related_empty_list_means_no_panel(tmp_path: Path) -> None:
    site = "extends: account\nviews:\n  form: {related: []}\n"

    assert load(tmp_path, {"entities/account.yaml": site}).entity("account").view("form").related == ()


PANEL = "extends: account\nviews:\n  form:\n    related:\n      - {relation: contact_account%s}\n"


@pytest.mark.parametrize("extra, message", [
    (", size: 100", None),
    (", size: 101", "views.form.related.0.size: 101 is greater than the maximum of 100"),
    (", size: 0", "views.form.related.0.size: 0 is less than the minimum of 1"),
    (", columns: [last_name, account.sector]", None),
    (", columns: [last_nam]", "views.form.related.0.columns.0: unknown field 'last_nam' in entity 'contact' "
                              "(did you mean 'last_name'?)"),
    (", columns: [account.sectr]", "views.form.related.0.columns.0: path 'account.sectr': unknown field 'sectr' "
                                   "in entity 'account' (did you mean 'sector'?)"),
    (", sort: [-birthday]", None),
    (", sort: [-nope]", "views.form.related.0.sort.0: unknown field 'nope' in entity 'contact'"),
])
def test_panel_columns_sort_and_size_are_checked_against_the_source_entity(tmp_path: Path, extra: str,
                                                                            message: str | None) -> None:
    files = {"entities/account.yaml": PANEL % extra}

    if message is None:
        assert load(tmp_path, files).entity("account").view("form").related[0].relation == "contact_account"
    else:
        assert messages(tmp_path, files) == [f"entities/account.yaml:5: {message}"]


def test_panel_of_an_unknown_relation_or_listed_twice(tmp_path: Path) -> None:
    form = ("extends: account\nviews:\n  form:\n    related:\n      - {relation: contact_acount}\n"
            "      - {relation: task_account}\n      - {relation: task_account}\n")

    assert messages(tmp_path, {"entities/account.yaml": form}) == [
        "entities/account.yaml:5: views.form.related.0.relation: entity 'account' has no relation 'contact_acount' "
        "(did you mean 'contact_account'?)",
        "entities/account.yaml:7: views.form.related.2.relation: 'task_account' is listed twice (also at related.1)",
    ]


def test_related_does_not_apply_to_a_list_view(tmp_path: Path) -> None:
    view = "view: accounts_x\nentity: account\nkind: list\nlabel: {en: A, fr: A}\nrelated: []\n"

    assert messages(tmp_path, {"views/accounts_x.yaml": view}) == [
        "views/accounts_x.yaml:5: related: 'related' does not apply to a list view"]


def test_an_owned_entity_link_takes_no_reverse(tmp_path: Path) -> None:
    line = QUOTE_LINE + "  buyer: {type: link, entity: contact, label: {en: B, fr: A}, reverse: purchases}\n"

    assert messages(tmp_path, {"entities/quote.yaml": QUOTE, "entities/quote_line.yaml": line}) == [
        "entities/quote_line.yaml:8: characteristics.buyer.reverse: the links of an owned entity make no reverse "
        "relation: its records are the lines of 'quote', which have no page of their own"]


def test_an_action_creating_a_record_cannot_set_its_links(tmp_path: Path) -> None:
    flow = ("extends: booking\ntransitions:\n  - name: again\n    label: {en: A, fr: A}\n    from: [confirmed]\n"
            "    to: requested\n    actions:\n"
            "      - {create: {entity: booking, values: {subject: \"subject\", attendees: \"attendees\"}}}\n")

    assert messages(tmp_path, {"workflows/booking.yaml": flow}, on=(RELATIONS,)) == [
        "workflows/booking.yaml:8: transitions.0.actions.0.create.values.attendees: 'attendees' holds several "
        "records: an action cannot set it"]
