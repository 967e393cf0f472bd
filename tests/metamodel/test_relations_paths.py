"""Paths through links (`room.site.name`): `Model.path`, and where the definitions may use them,
checked when the pack loads with the file, line and words of each error."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel import BASE_PACK, Expression, compile_expression, load_model
from metamodel.expressions.sandbox import ExpressionError
from metamodel.model import PathError
from metamodel.field_paths import MAX_PATH_DEPTH

from mm_relations import RELATIONS, load, messages

MODEL = load_model([BASE_PACK, RELATIONS])


# -- Model.path ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, links, entities, field", [
    ("subject", (), ("booking",), "subject"),
    ("room.name", ("room",), ("booking", "room"), "name"),
    ("room.site.name", ("room", "site"), ("booking", "room", "site"), "name"),
    ("room.site.region.country", ("room", "site", "region"), ("booking", "room", "site", "region"), "country"),
    ("room.site.region.name", ("room", "site", "region"), ("booking", "room", "site", "region"), "name"),
    ("account.created_at", ("account",), ("booking", "account"), "created_at"),
    ("room.site.status", None, None, None),
])
def test_path_gives_the_links_followed_the_entities_and_the_last_field(text: str, links: tuple[str, ...] | None,
                                                                        entities: tuple[str, ...] | None,
                                                                        field: str | None) -> None:
    if links is None:
        with pytest.raises(PathError):
            MODEL.path("booking", text)
        return
    path = MODEL.path("booking", text)

    assert ([s.name for s in path.steps], path.entities, path.field.name) == (list(links), entities, field)
    assert (path.depth, path.entity, path.target, path.text) == (len(links), "booking", entities[-1], text)


def test_path_steps_are_the_model_characteristics_and_paths_are_cached() -> None:
    path = MODEL.path("booking", "room.site.name")

    assert path.steps == (MODEL.entity("booking").field("room"), MODEL.entity("room").field("site"))
    assert path.field is MODEL.entity("site").field("name")
    assert MODEL.path("booking", "room.site.name") is path
    assert MODEL.path("booking", "account.created_at").field.system is True


def test_depth_three_is_the_limit() -> None:
    assert MAX_PATH_DEPTH == 3
    assert MODEL.path("booking", "room.site.region.country").depth == 3
    with pytest.raises(PathError) as raised:
        MODEL.path("booking", "room.site.region.country.name")

    assert raised.value.message == (
        "path 'room.site.region.country.name' follows 4 links, deeper than the limit of 3")
    assert raised.value.step is None


@pytest.mark.parametrize("text, step, message", [
    ("room.sit.name", 1, "path 'room.sit.name': unknown field 'sit' in entity 'room' (did you mean 'site'?)"),
    ("rom", 0, "unknown field 'rom' in entity 'booking' (did you mean 'room'?)"),
    ("subject.name", 0, "path 'subject.name': 'subject' is not a link (it is a string characteristic): a path "
                        "follows only links"),
    ("attendees.last_name", 0, "path 'attendees.last_name': 'attendees' holds several records (links): a path "
                               "follows only a link to one record"),
    ("meals.dish", 0, "path 'meals.dish': 'meals' holds several records (lines): a path follows only a link to "
                      "one record"),
    ("room.created_by.name", 1, "path 'room.created_by.name': 'created_by' is a system column, not a link "
                                "characteristic: a path cannot follow it"),
    ("account.parent.tags", None, None),
    ("room.site.rooms", 2, "path 'room.site.rooms': unknown field 'rooms' in entity 'site'"),
    ("room..name", None, "'room..name' is not a path: names joined by dots, such as account.sector"),
])
def test_bad_paths_say_which_step_and_why(text: str, step: int | None, message: str | None) -> None:
    if message is None:
        assert MODEL.path("booking", text).field.type == "multi_choice"
        return
    with pytest.raises(PathError) as raised:
        MODEL.path("booking", text)

    assert (raised.value.message, raised.value.step) == (message, step)
    assert isinstance(raised.value, ValueError)


def test_a_path_may_not_end_on_links_or_lines() -> None:
    with pytest.raises(PathError) as raised:
        MODEL.path("meal", "parent_id.attendees")

    assert raised.value.message == ("path 'parent_id.attendees': 'attendees' holds several records (links); a path "
                                    "reads one value")


def test_a_line_reads_its_owner_through_parent_id() -> None:
    assert MODEL.path("meal", "parent_id.room.name").entities == ("meal", "booking", "room")


def test_unknown_entity_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        MODEL.path("nothing", "name")


# -- views ---------------------------------------------------------------------------------
def test_list_views_expose_the_paths_they_name() -> None:
    booking = MODEL.entity("booking").view("list")
    controlled = MODEL.entity("booking").view("controlled_bookings")

    assert set(booking.paths) == {"room.site.name", "account.sector", "room.site", "room.site.region.country",
                                  "room.access_mode"}
    assert booking.paths["room.site.region.country"].depth == 3
    assert [c for c in booking.columns if c in booking.paths] == ["room.site.name", "account.sector"]
    assert set(controlled.paths) == {"room.name", "room.site.city", "room.access_mode", "room.site.region.name"}
    assert dict(controlled.where) == {"room.access_mode": "controlled", "room.site.region.name": "Auvergne"}


LIST = "extends: booking\nviews:\n  list:\n    %s\n"


@pytest.mark.parametrize("layout, message", [
    ("columns: [room.site.region.country]", None),
    ("columns: [room.site.region.country.name]", "views.list.columns.0: path 'room.site.region.country.name' "
                                                 "follows 4 links, deeper than the limit of 3"),
    ("filters: [room.sit]", "views.list.filters.0: path 'room.sit': unknown field 'sit' in entity 'room' "
                            "(did you mean 'site'?)"),
    ("sort: [-subject.name]", "views.list.sort.0: path 'subject.name': 'subject' is not a link (it is a string "
                              "characteristic): a path follows only links"),
    ("group_by: [room.site.rooms]", "views.list.group_by.0: path 'room.site.rooms': unknown field 'rooms' in "
                                    "entity 'site'"),
    ("columns: [meals]", "views.list.columns.0: 'meals' holds lines, which cannot be in columns: they are edited "
                         "on the form"),
    ("columns: [attendees, subject]", None),
    ("sort: [attendees]", "views.list.sort.0: 'attendees' holds several records and cannot be in sort"),
    ("group_by: [attendees]", "views.list.group_by.0: 'attendees' holds several records and cannot be in group_by"),
    ("mass_update: [meals]", "views.list.mass_update.0: 'meals' holds lines, which cannot be in mass_update: they "
                             "are edited on the form"),
    ("mass_update: [room.name]", "views.list.mass_update.0: 'room.name' is a path through links: only a "
                                 "characteristic of the entity itself can be named here"),
    ("where: {room.capacity: {min: 10}}", None),
    ("where: {room.access_mode: open}", "views.list.where.room.access_mode: 'open' is not a value of list "
                                        "'room_access'"),
    ("where: {room.capacity: lots}", "views.list.where.room.capacity: 'lots' is not an integer"),
    ("where: {room.nam: x}", "views.list.where.room.nam: path 'room.nam': unknown field 'nam' in entity 'room' "
                             "(did you mean 'name'?)"),
    ("where: {meals: 1}", "views.list.where.meals: 'meals' holds lines, which cannot be in where: they are "
                          "edited on the form"),
    ("where: {attendees: 12}", None),
])
def test_list_layouts_check_paths_and_where_types_them_by_the_last_field(tmp_path: Path, layout: str,
                                                                         message: str | None) -> None:
    files = {"entities/booking.yaml": LIST % layout}

    if message is None:
        assert load(tmp_path, files, on=(RELATIONS,)).entity("booking")
    else:
        assert messages(tmp_path, files, on=(RELATIONS,)) == [f"entities/booking.yaml:4: {message}"]


def test_where_on_a_path_is_typed_like_its_last_field(tmp_path: Path) -> None:
    model = load(tmp_path, {"entities/booking.yaml": LIST % "where: {room.capacity: {min: 10}}"}, on=(RELATIONS,))

    assert dict(model.entity("booking").view("list").where) == {"room.capacity": {"min": 10}}


@pytest.mark.parametrize("sections, message", [
    ("[room.name]", "views.form.sections.0.fields.0: 'room.name' is a path through links: only a characteristic of "
                    "the entity itself can be named here"),
    ("[subject, meals, attendees]", None),
])
def test_form_sections_name_only_own_characteristics(tmp_path: Path, sections: str, message: str | None) -> None:
    files = {"entities/booking.yaml": f"extends: booking\nviews:\n  form:\n    sections: [{{title: {{en: T, fr: T}}, fields: {sections}}}]\n"}

    if message is None:
        assert load(tmp_path, files, on=(RELATIONS,)).entity("booking")
    else:
        assert messages(tmp_path, files, on=(RELATIONS,)) == [f"entities/booking.yaml:4: {message}"]


@pytest.mark.parametrize("document, message", [
    ("extends: booking\nnatural_key: [room.name]\n", "entities/booking.yaml:2: natural_key.0: 'room.name' is a path "
                                                     "through links: only a characteristic of the entity itself can "
                                                     "be named here"),
    ("extends: booking\nnatural_key: [attendees]\n", "entities/booking.yaml:2: natural_key.0: 'attendees' is a links "
                                                     "characteristic and cannot be in natural_key (allowed types: "
                                                     "choice, date, email, integer, link, phone, string, text, url)"),
    ("extends: booking\nduplicates:\n  same: {label: {en: S, fr: S}, match: [room.name]}\n",
     "entities/booking.yaml:3: duplicates.same.match.0: 'room.name' is a path through links: only a characteristic "
     "of the entity itself can be named here"),
])
def test_natural_keys_and_duplicate_rules_take_no_path(tmp_path: Path, document: str, message: str) -> None:
    assert messages(tmp_path, {"entities/booking.yaml": document}, on=(RELATIONS,)) == [message]


# -- titles --------------------------------------------------------------------------------
@pytest.mark.parametrize("title, message", [
    ("{subject} ({room.site.name})", None),
    ("{room.site.nme}", "title: title placeholder: path 'room.site.nme': unknown field 'nme' in entity 'site' "
                        "(did you mean 'name'?)"),
    ("{attendees}", "title: placeholder '{attendees}' holds several records: a title shows one value per "
                    "placeholder"),
    ("{room.site.region.country.name}", "title: title placeholder: path 'room.site.region.country.name' follows 4 "
                                        "links, deeper than the limit of 3"),
])
def test_title_templates_read_through_links(tmp_path: Path, title: str, message: str | None) -> None:
    files = {"entities/booking.yaml": f"extends: booking\ntitle: \"{title}\"\n"}

    if message is None:
        assert load(tmp_path, files, on=(RELATIONS,)).entity("booking").title == title
    else:
        assert messages(tmp_path, files, on=(RELATIONS,)) == [f"entities/booking.yaml:2: {message}"]


# -- expressions ---------------------------------------------------------------------------
def test_expressions_of_the_pack_read_paths() -> None:
    booking = MODEL.entity("booking")

    assert booking.field("badge").mandatory_when == "room.access_mode == 'controlled'"
    assert MODEL.workflow("booking").transitions[0].guard == "room.access_mode != 'controlled' or badge"


@pytest.mark.parametrize("characteristic, message", [
    ("{type: boolean, label: {en: X, fr: X}, mandatory_when: \"room.site.region.name == 'Ain'\"}", None),
    ("{type: boolean, label: {en: X, fr: X}, mandatory_when: \"room.sitte.name == 'x'\"}",
     "characteristics.extra.mandatory_when: path 'room.sitte.name': unknown field 'sitte' in entity 'room' "
     "(did you mean 'site'?)"),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"room.site.name\"}",
     "characteristics.extra.default_expr: the expression gives text, but an integer characteristic holds a number: "
     "change the expression or the characteristic's type"),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"room.capacity * 2\"}", None),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"subject.name\"}",
     "characteristics.extra.default_expr: path 'subject.name': 'subject' is not a link (it is a string "
     "characteristic): a path follows only links"),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"len(attendees)\"}", None),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"len(meals)\"}",
     "characteristics.extra.default_expr: 'meals' holds the lines of the record: an expression cannot read them"),
    ("{type: integer, label: {en: X, fr: X}, default_expr: \"room.site.region.country.code\"}",
     "characteristics.extra.default_expr: path 'room.site.region.country.code' follows 4 links, deeper than the "
     "limit of 3"),
])
def test_expressions_check_paths_and_type_them_by_the_last_field(tmp_path: Path, characteristic: str,
                                                                 message: str | None) -> None:
    files = {"entities/booking.yaml": f"extends: booking\ncharacteristics:\n  extra: {characteristic}\n"}

    if message is None:
        assert load(tmp_path, files, on=(RELATIONS,)).entity("booking").field("extra")
    else:
        assert messages(tmp_path, files, on=(RELATIONS,)) == [f"entities/booking.yaml:3: {message}"]


def test_guards_and_set_actions_read_paths_of_every_entity_using_the_workflow(tmp_path: Path) -> None:
    flow = ("extends: booking\ntransitions:\n  - name: check\n    label: {en: C, fr: C}\n    from: [confirmed]\n"
            "    to: requested\n    guard: \"room.site.citty == 'Lyon'\"\n"
            "    actions:\n      - {set: {meals: \"1\"}}\n      - {set: {seats: \"room.site.name\"}}\n")

    assert messages(tmp_path, {"workflows/booking.yaml": flow}, on=(RELATIONS,)) == [
        "workflows/booking.yaml:7: transitions.0.guard: path 'room.site.citty': unknown field 'citty' in entity "
        "'site' (did you mean 'city'?)",
        "workflows/booking.yaml:9: transitions.0.actions.0.set.meals: 'meals' holds several records: an action "
        "cannot set it",
        "workflows/booking.yaml:10: transitions.0.actions.1.set.seats: the expression gives text, but an integer "
        "characteristic holds a number: change the expression or the characteristic's type",
    ]


def test_an_optional_path_in_arithmetic_is_a_warning_and_a_mandatory_one_is_not(tmp_path: Path) -> None:
    files = {"entities/booking.yaml": (
        "extends: booking\ncharacteristics:\n"
        "  extra: {type: integer, label: {en: X, fr: X}, default_expr: \"room.capacity * 2\"}\n"
        "  other: {type: boolean, label: {en: X, fr: X}, default_expr: \"len(room.site.name) > 3\"}\n")}
    model = load(tmp_path, files, on=(RELATIONS,))

    assert [(w.line, w.message) for w in model.warnings if "booking.yaml" in w.file] == [
        (3, "'room.capacity' may be empty (it is not mandatory), and the expression fails on a record without it: "
            "guard it, e.g. (room.capacity or 0), or '... if room.capacity != None else ...'")]


def test_a_workflow_no_entity_uses_refuses_paths(tmp_path: Path) -> None:
    flow = ("workflow: lonely\nlabel: {en: L, fr: L}\nstatuses:\n  - {code: a, label: {en: A, fr: A}}\n"
            "transitions:\n  - {name: go, label: {en: G, fr: G}, from: [a], to: a, guard: \"room.site.name == 'x'\"}\n")

    assert messages(tmp_path, {"workflows/lonely.yaml": flow}) == [
        "workflows/lonely.yaml:6: transitions.0.guard: attribute access ('.') is not allowed"]


def test_compiled_expression_names_paths_and_roots_and_reads_a_flat_mapping() -> None:
    compiled = compile_expression("room.site.name == 'Lyon' and seats > 2", ["room", "seats"],
                                  paths=lambda text: MODEL.path("booking", text))

    assert isinstance(compiled, Expression)
    assert (compiled.names, compiled.paths, compiled.roots) == (
        frozenset({"room.site.name", "seats"}), frozenset({"room.site.name"}), frozenset({"room", "seats"}))
    assert compiled.evaluate({"room": 4, "room.site.name": "Lyon", "seats": 3}) is True
    assert compiled.evaluate({"room": None, "seats": 3}) is False


def test_compile_expression_without_a_path_resolver_refuses_dots() -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression("room.name == 'x'", ["room"])

    assert raised.value.message == "attribute access ('.') is not allowed"


@pytest.mark.parametrize("source, message", [
    ("room.__class__", "attribute access ('.') is not allowed"),
    ("room.name.upper()", "only the functions today, now, days, len, lower, upper, abs, min, max, round can be called"),
    ("upper(room).x", "attribute access ('.') is not allowed"),
    ("room.nam", "path 'room.nam': unknown field 'nam' in entity 'room' (did you mean 'name'?)"),
])
def test_only_dotted_names_are_paths(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression(source, ["room"], paths=lambda text: MODEL.path("booking", text))

    assert raised.value.message == message
