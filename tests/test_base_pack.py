"""The base CRM pack (definitions/) loads clean and says what the product promises."""

from __future__ import annotations

from pathlib import Path

import pytest

import metamodel
from metamodel.field_paths import is_path
from metamodel.model import ENTITY_OPERATIONS, LIST_TYPES, SYSTEM_COLUMNS, EntityPermission, Model, Text

PACK_DIR = Path(metamodel.BASE_PACK)
ENTITIES = {
    "user", "lead", "account", "contact", "opportunity", "event", "task", "ticket", "activity_report", "contact_list",
}
NAMED_VIEWS = {
    "my_open_leads": "lead",
    "key_accounts": "account",
    "open_tickets": "ticket",
    "this_weeks_events": "event",
}
SCHEMA_OF_FOLDER = {"entities": "entity", "lists": "list", "workflows": "workflow", "views": "view", "roles": "role"}


@pytest.fixture(scope="module")
def model() -> Model:
    return metamodel.load_model([metamodel.BASE_PACK])


def assert_bilingual(text: Text | None, where: str) -> None:
    assert text is not None, f"{where}: no label"
    assert text.en.strip() and text.fr.strip(), f"{where}: label missing a language"


def test_base_pack_loads_every_entity(model: Model) -> None:
    assert set(model.entities) == ENTITIES
    (pack,) = model.packs
    assert (pack.name, pack.version) == ("base", "1.0.0")


def test_every_entity_and_characteristic_is_labelled_in_english_and_french(model: Model) -> None:
    for entity in model.entities.values():
        assert_bilingual(entity.label, entity.name)
        assert_bilingual(entity.plural, f"{entity.name} plural")
        for f in entity.fields:
            assert_bilingual(f.label, f"{entity.name}.{f.name}")


def test_every_choice_field_names_an_existing_list(model: Model) -> None:
    choice_fields = [(e.name, f) for e in model.entities.values() for f in e.fields if f.type in LIST_TYPES]
    assert choice_fields
    for entity_name, f in choice_fields:
        assert f.list in model.lists, f"{entity_name}.{f.name} names unknown list {f.list!r}"


def test_every_link_points_at_an_entity_of_the_pack(model: Model) -> None:
    for entity in model.entities.values():
        for f in entity.fields:
            if f.type == "link":
                assert f.entity in model.entities, f"{entity.name}.{f.name}"


def test_other_entities_are_assigned_to_users(model: Model) -> None:
    for name in ENTITIES - {"user", "activity_report"}:
        assigned_to = model.entity(name).field("assigned_to")
        assert (assigned_to.type, assigned_to.entity) == ("link", "user"), name
    assert model.entity("activity_report").field("author").entity == "user"


def test_value_lists_have_four_bilingual_values_and_the_pack_shows_a_retired_one(model: Model) -> None:
    for value_list in model.lists.values():
        assert_bilingual(value_list.label, value_list.name)
        assert len(value_list.active_codes) >= 4, value_list.name
        for value in value_list.values:
            assert_bilingual(value.label, f"{value_list.name}.{value.code}")
    assert any(v.retired for vl in model.lists.values() for v in vl.values)


def test_each_entity_has_a_list_view_and_a_form_with_two_to_four_sections(model: Model) -> None:
    for entity in model.entities.values():
        kinds = {v.kind for v in entity.views}
        assert {"list", "form"} <= kinds, entity.name
        default_list = next(v for v in entity.views if v.kind == "list")
        assert default_list.columns and default_list.filters and default_list.sort, entity.name
        assert default_list.group_by and default_list.mass_update, entity.name
        form = next(v for v in entity.views if v.kind == "form")
        assert 2 <= len(form.sections) <= 4, entity.name
        for section in form.sections:
            assert_bilingual(section.title, f"{entity.name} form section")


def test_views_name_only_fields_of_their_entity(model: Model) -> None:
    """Fields of the entity, or paths through its links (list columns, filters, sorts, groups,
    `where`) to fields of the entities they reach; forms and mass updates name its own fields."""
    for entity in model.entities.values():
        known = set(entity.fields_by_name) | set(SYSTEM_COLUMNS)
        for view in entity.views:
            listed = [*view.columns, *view.filters, *view.group_by, *view.where, *(s.lstrip("-") for s in view.sort)]
            own = [*view.mass_update, *(f for section in view.sections for f in section.fields)]
            paths = {name for name in listed if is_path(name)}
            assert set(listed) - paths <= known and set(own) <= known, f"{entity.name}.{view.name}"
            for path in paths:  # each resolves: every step a link of the entity reached
                assert model.path(entity.name, path).field.name == path.rsplit(".", 1)[1]


def test_the_opportunity_list_filters_and_groups_by_the_accounts_sector(model: Model) -> None:
    listing = model.entity("opportunity").view("list")
    assert "account.sector" in listing.filters and "account.sector" in listing.group_by
    assert model.path("opportunity", "account.sector").field.list == "sectors"


def test_every_declared_characteristic_appears_on_the_form(model: Model) -> None:
    for entity in model.entities.values():
        form = next(v for v in entity.views if v.kind == "form")
        on_form = {f for section in form.sections for f in section.fields}
        declared = {f.name for f in entity.fields if f.type != "status"}
        assert declared <= on_form, f"{entity.name}: {declared - on_form}"


def test_named_views_exist_on_their_entities(model: Model) -> None:
    for view_name, entity_name in NAMED_VIEWS.items():
        view = model.entity(entity_name).view(view_name)
        assert view.kind == "list"
        assert_bilingual(view.label, view_name)
        assert view.where, view_name


def test_open_views_only_show_open_statuses(model: Model) -> None:
    lead_open = model.workflow("lead").open_codes
    assert set(model.entity("lead").view("my_open_leads").where["status"]) == lead_open
    ticket_open = model.workflow("ticket").open_codes
    assert set(model.entity("ticket").view("open_tickets").where["status"]) == ticket_open


def test_lead_workflow_protects_converted_and_lost(model: Model) -> None:
    workflow = model.workflow("lead")
    assert workflow.initial.code == "new"
    converted, lost = workflow.status("converted"), workflow.status("lost")
    assert converted is not None and lost is not None
    assert converted.protected and converted.won and not converted.open
    assert lost.protected and lost.lost and not lost.open
    assert model.entity("lead").field("status").workflow == "lead"


def test_lead_qualification_is_guarded_with_a_bilingual_message(model: Model) -> None:
    qualify = next(t for t in model.workflow("lead").transitions if t.name == "qualify")
    assert qualify.guard
    assert_bilingual(qualify.guard_message, "lead.qualify guard message")
    convert = next(t for t in model.workflow("lead").transitions if t.name == "convert")
    assert convert.to == "converted"


def test_opportunity_workflow_closes_won_and_lost(model: Model) -> None:
    workflow = model.workflow("opportunity")
    won, lost = workflow.status("closed_won"), workflow.status("closed_lost")
    assert won.protected and won.won and not won.open
    assert lost.protected and lost.lost and not lost.open


def test_every_workflow_is_labelled_and_transitions_lead_to_known_statuses(model: Model) -> None:
    assert {"lead", "opportunity", "task", "ticket"} <= set(model.workflows)
    for workflow in model.workflows.values():
        assert_bilingual(workflow.label, workflow.name)
        codes = {s.code for s in workflow.statuses}
        for status in workflow.statuses:
            assert_bilingual(status.label, f"{workflow.name}.{status.code}")
        for transition in workflow.transitions:
            assert_bilingual(transition.label, f"{workflow.name}.{transition.name}")
            assert transition.to in codes
            assert set(transition.from_statuses) <= codes


@pytest.mark.parametrize(
    ("entity", "field", "low", "high"),
    [
        ("lead", "score", 0, 5),
        ("opportunity", "probability", 0, 100),
        ("opportunity", "recurring_months", 0, 120),
        ("task", "percent_done", 0, 100),
        ("task", "duration_minutes", 0, 100000),
        ("account", "employees", 0, 1000000),
    ],
)
def test_bounds(model: Model, entity: str, field: str, low: int, high: int) -> None:
    f = model.entity(entity).field(field)
    assert (f.min, f.max) == (low, high)


@pytest.mark.parametrize(
    ("entity", "field"),
    [
        ("lead", "score"),
        ("lead", "budget"),
        ("lead", "assigned_to"),
        ("opportunity", "amount"),
        ("opportunity", "probability"),
        ("opportunity", "assigned_to"),
        ("opportunity", "expected_close"),
    ],
)
def test_historized_fields(model: Model, entity: str, field: str) -> None:
    assert model.entity(entity).field(field).historized


def test_user_name_is_mandatory_unique_and_bounded(model: Model) -> None:
    username = model.entity("user").field("username")
    assert username.mandatory and username.unique and username.max_length == 60


def test_every_document_starts_with_a_modeline_to_an_existing_schema() -> None:
    documents = [(PACK_DIR / "pack.yaml", "../metamodel/schemas/pack.schema.json")]
    for folder, kind in SCHEMA_OF_FOLDER.items():
        schema = f"../../metamodel/schemas/{kind}.schema.json"
        documents += [(path, schema) for path in sorted(PACK_DIR.glob(f"{folder}/*.yaml"))]
    assert len(documents) > 30
    for path, schema in documents:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line == f"# yaml-language-server: $schema={schema}", path
        assert (path.parent / schema).resolve().is_file(), f"{path}: {schema} does not exist"


# -- workflows -----------------------------------------------------------------------------------
ROLES = {"sales", "manager", "support", "admin"}


def transition(model: Model, workflow: str, name: str):
    return next(t for t in model.workflow(workflow).transitions if t.name == name)


def test_lead_statuses_follow_the_qualification_process(model: Model) -> None:
    workflow = model.workflow("lead")
    assert [(s.code, s.sequence, s.open, s.won, s.lost, s.protected) for s in workflow.statuses] == [
        ("new", 10, True, False, False, False),
        ("qualification_call", 20, True, False, False, False),
        ("commercial_qualification", 30, True, False, False, False),
        ("converted", 90, False, True, False, True),
        ("lost", 95, False, False, True, True),
    ]
    assert workflow.status("qualification_call").label == Text("Qualification call", "Appel de qualification")
    assert workflow.status("commercial_qualification").label == Text("Commercial qualification", "Qualification commerciale")
    assert not workflow.free


def test_lead_transitions(model: Model) -> None:
    moves = {t.name: (t.from_statuses, t.to, t.roles, t.required) for t in model.workflow("lead").transitions}
    assert moves == {
        "start_call": (("new",), "qualification_call", ("sales", "manager"), ()),
        "qualify": (("qualification_call",), "commercial_qualification", ("sales", "manager"), ("source",)),
        "convert": (("commercial_qualification",), "converted", ("sales", "manager"), ("company",)),
        "lose": (("new", "qualification_call", "commercial_qualification"), "lost", (), ("lost_reason",)),
        "reopen": (("lost",), "new", ("manager",), ()),
    }
    qualify = transition(model, "lead", "qualify")
    assert "score >= 3" in qualify.guard
    assert_bilingual(qualify.guard_message, "lead.qualify guard message")


def test_lead_conversion_dates_the_lead_and_calls_the_plugin(model: Model) -> None:
    set_action, call = transition(model, "lead", "convert").actions
    assert (set_action.kind, dict(set_action.params)) == ("set", {"converted_on": "today()"})
    assert call.kind == "convert_lead"
    assert set(call.params) == {"account", "contact", "opportunity"}
    assert dict(call.params["opportunity"]) == {"name": "company", "source": "source", "amount": "budget"}


def test_lead_keeps_what_it_was_converted_to_and_why_it_was_lost(model: Model) -> None:
    lead = model.entity("lead")
    for name, target in (("converted_account", "account"), ("converted_contact", "contact"),
                         ("converted_opportunity", "opportunity")):
        link = lead.field(name)
        assert (link.type, link.entity, link.readonly) == ("link", target, True), name
    assert lead.field("converted_on").readonly and lead.field("converted_on").type == "date"
    lost_reason = lead.field("lost_reason")
    assert (lost_reason.type, lost_reason.list, lost_reason.readonly) == ("choice", "lost_reasons", False)
    reopen = transition(model, "lead", "reopen")
    assert [dict(a.params) for a in reopen.actions] == [{"lost_reason": "None"}]


def _compatible(source, target) -> str | None:
    """Why a lead field's value cannot be copied into the target field, or None."""
    if source.type != target.type:
        return f"{source.type} -> {target.type}"
    if source.list != target.list:
        return f"list {source.list} -> {target.list}"
    if target.max_length is not None and (source.max_length is None or source.max_length > target.max_length):
        return f"max_length {source.max_length} -> {target.max_length}"
    if target.scale is not None and source.scale > target.scale:
        return f"scale {source.scale} -> {target.scale}"
    if target.min is not None and (source.min is None or source.min < target.min):
        return f"min {source.min} -> {target.min}"
    if target.max is not None and (source.max is None or source.max > target.max):
        return f"max {source.max} -> {target.max}"
    return None


def test_convert_lead_params_map_existing_fields_of_compatible_types(model: Model) -> None:
    """The loader does not know what a plugin's params mean: convert_lead reads
    {target entity: {target field: lead field}}, checked here."""
    (call,) = [a for a in transition(model, "lead", "convert").actions if a.kind == "convert_lead"]
    lead = model.entity("lead")
    mapped = 0
    for entity_name, mapping in call.params.items():
        target_entity = model.entity(entity_name)
        for target_name, source_name in mapping.items():
            assert source_name in lead.fields_by_name, f"lead.{source_name}"
            assert target_name in target_entity.fields_by_name, f"{entity_name}.{target_name}"
            target = target_entity.field(target_name)
            assert not target.readonly, f"{entity_name}.{target_name} is readonly"
            problem = _compatible(lead.field(source_name), target)
            assert problem is None, f"lead.{source_name} -> {entity_name}.{target_name}: {problem}"
            mapped += 1
    assert mapped == 19
    # every mandatory field of the records it creates is filled
    for entity_name, mapping in call.params.items():
        mandatory = {f.name for f in model.entity(entity_name).fields if f.mandatory and f.type != "status"}
        assert mandatory <= set(mapping), entity_name


def test_opportunity_pipeline_sets_the_probability_on_entry(model: Model) -> None:
    workflow = model.workflow("opportunity")
    assert [(s.code, s.sequence, dict(s.on_enter)) for s in workflow.statuses] == [
        ("prospecting", 10, {"probability": "10"}),
        ("qualification", 20, {"probability": "20"}),
        ("proposal", 30, {"probability": "50"}),
        ("negotiation", 40, {"probability": "70"}),
        ("closed_won", 90, {"probability": "100"}),
        ("closed_lost", 95, {"probability": "0"}),
    ]
    moves = {t.name: (t.from_statuses, t.to) for t in workflow.transitions}
    assert moves == {
        "qualify": (("prospecting",), "qualification"),
        "propose": (("qualification",), "proposal"),
        "negotiate": (("proposal",), "negotiation"),
        "win": (("prospecting", "qualification", "proposal", "negotiation"), "closed_won"),
        "lose": (("prospecting", "qualification", "proposal", "negotiation"), "closed_lost"),
        "reopen": (("closed_lost",), "qualification"),
    }
    win = transition(model, "opportunity", "win")
    assert "amount > 0" in win.guard
    assert_bilingual(win.guard_message, "opportunity.win guard message")
    assert transition(model, "opportunity", "reopen").roles == ("manager",)


def test_ticket_resolution_is_required_and_closed_is_protected(model: Model) -> None:
    workflow = model.workflow("ticket")
    assert [s.code for s in workflow.statuses] == ["new", "in_progress", "pending", "resolved", "closed"]
    assert workflow.status("closed").protected and not workflow.status("closed").open
    resolve = transition(model, "ticket", "resolve")
    assert (resolve.to, resolve.required) == ("resolved", ("resolution",))
    assert "support" in resolve.roles


def test_tasks_move_freely_and_done_means_complete(model: Model) -> None:
    workflow = model.workflow("task")
    assert workflow.free
    assert [s.code for s in workflow.statuses] == ["to_do", "in_progress", "done", "cancelled"]
    assert dict(workflow.status("done").on_enter) == {"percent_done": "100"}


def test_roles_named_by_transitions_are_the_known_ones(model: Model) -> None:
    named = {role for w in model.workflows.values() for t in w.transitions for role in t.roles}
    assert named <= ROLES
    assert {"sales", "manager", "support"} <= named
    assert named <= set(model.roles)


def test_each_open_status_can_be_left_and_each_closed_one_reached(model: Model) -> None:
    for workflow in model.workflows.values():
        leaving = {code for t in workflow.transitions for code in t.from_statuses}
        entering = {t.to for t in workflow.transitions}
        for status in workflow.statuses:
            if status.open:
                assert status.code in leaving, f"{workflow.name}.{status.code} is a dead end"
            if not status.initial:
                assert status.code in entering, f"{workflow.name}.{status.code} cannot be reached"


# -- roles ---------------------------------------------------------------------------------------
EVERYTHING = frozenset(ENTITY_OPERATIONS)
SALES_WORK = frozenset({"read", "create", "update", "export", "mass_update"})
CRM_ENTITIES = ENTITIES - {"user"}


def test_the_pack_declares_five_bilingual_roles(model: Model) -> None:
    assert set(model.roles) == ROLES | {"read_only"}
    for role in model.roles.values():
        assert_bilingual(role.label, role.name)
        assert role.source.file.endswith(f"definitions/roles/{role.name}.yaml"), role.source
        assert set(role.entities) <= ENTITIES, role.name


def test_admin_may_do_everything_and_names_no_entity(model: Model) -> None:
    admin = model.role("admin")
    assert admin.admin and not admin.entities
    assert not any(role.admin for role in model.roles.values() if role.name != "admin")


def test_manager_does_everything_on_every_crm_entity_and_reads_users(model: Model) -> None:
    manager = model.role("manager")
    assert set(manager.entities) == ENTITIES
    for name in CRM_ENTITIES:
        assert manager.entities[name] == EntityPermission(operations=EVERYTHING, scope="all"), name
    assert manager.entities["user"] == EntityPermission(operations=frozenset({"read"}), scope="all")


def test_sales_work_their_own_leads_and_opportunities_and_their_teams_accounts(model: Model) -> None:
    sales = model.role("sales").entities
    assert set(sales) == {"lead", "opportunity", "account", "contact", "event", "task", "activity_report",
                          "contact_list", "user"}
    scopes = {name: permission.scope for name, permission in sales.items()}
    assert (scopes["lead"], scopes["opportunity"], scopes["account"], scopes["contact"]) == ("own", "own", "team", "team")
    for name in ("lead", "opportunity", "account", "contact", "activity_report"):
        assert sales[name].operations == SALES_WORK, name
    for name in ("event", "task", "contact_list"):
        assert sales[name].operations == SALES_WORK | {"delete"}, name
    assert sales["contact_list"].scope == "own"
    assert sales["user"].operations == frozenset({"read"})
    assert not any(p.hidden for p in sales.values())
    assert "budget" in sales["lead"].readonly
    assert not any("import" in p.operations for p in sales.values())


def test_support_handles_the_teams_tickets_and_reads_customers(model: Model) -> None:
    support = model.role("support").entities
    assert support["ticket"] == EntityPermission(operations=EVERYTHING, scope="team")
    for name in ("account", "contact"):
        assert support[name].operations == frozenset({"read"}), name
    for name in ("event", "task"):
        assert (support[name].operations, support[name].scope) == (frozenset({"read", "create", "update"}), "own"), name
    assert not {"lead", "opportunity"} & set(support)


def test_read_only_reads_every_entity_and_exports_none(model: Model) -> None:
    read_only = model.role("read_only")
    assert set(read_only.entities) == ENTITIES
    for permission in read_only.entities.values():
        assert permission == EntityPermission(operations=frozenset({"read"}), scope="all")


def test_roles_hide_and_protect_only_characteristics_of_their_entities(model: Model) -> None:
    for role in model.roles.values():
        for name, permission in role.entities.items():
            declared = {f.name for f in model.entity(name).fields if f.type != "status"}
            assert permission.hidden | permission.readonly <= declared, f"{role.name}.{name}"
            assert permission.operations <= EVERYTHING


# -- the workflows run ---------------------------------------------------------------------------
def _user(engine, username: str) -> int:
    from engine import SYSTEM_ACTOR

    return engine.records.create("user", {"username": username, "display_name": username.title()}, SYSTEM_ACTOR)["id"]


def test_a_lost_lead_needs_a_reason_and_a_manager_reopens_it(make_engine, model: Model) -> None:
    from engine import SYSTEM_ACTOR, Actor, TransitionError

    engine = make_engine(model)
    claire = _user(engine, "claire")
    sales = Actor(user_id=claire, username="claire", roles=frozenset({"sales"}))
    lead = engine.records.create("lead", {"last_name": "Durand", "phone": "+33 1 23 45 67 89", "assigned_to": claire},
                                 SYSTEM_ACTOR)

    with pytest.raises(TransitionError) as refused:
        engine.records.transition("lead", lead["id"], "lose", sales)
    assert refused.value.reason == "required" and set(refused.value.errors) == {"lost_reason"}
    lost = engine.records.transition("lead", lead["id"], "lose", sales, values={"lost_reason": "no_budget"})
    assert (lost["status"], lost["lost_reason"]) == ("lost", "no_budget")
    with pytest.raises(TransitionError) as refused:
        engine.records.transition("lead", lead["id"], "reopen", sales)
    assert refused.value.reason == "role"
    reopened = engine.records.transition("lead", lead["id"], "reopen", Actor(username="marc", roles=frozenset({"manager"})))
    assert (reopened["status"], reopened["lost_reason"]) == ("new", None)


def test_a_task_moves_freely_and_is_complete_when_done(make_engine, model: Model) -> None:
    from engine import SYSTEM_ACTOR, Actor

    engine = make_engine(model)
    olivia = _user(engine, "olivia")
    task = engine.records.create("task", {"subject": "Send the quote", "assigned_to": olivia}, SYSTEM_ACTOR)
    anybody = Actor(user_id=olivia, username="olivia", roles=frozenset({"support"}))

    done = engine.records.move_to("task", task["id"], "done", anybody)
    assert (done["status"], done["percent_done"]) == ("done", 100)
    back = engine.records.move_to("task", task["id"], "to_do", anybody)
    assert back["status"] == "to_do"


# -- relations: attendees, participants, contact lists, related panels -----------------------------

PANELS = {
    "account": ["contact_account", "opportunity_account", "event_account", "task_account", "ticket_account",
                "activity_report_account", "subsidiaries"],
    "lead": ["event_lead", "task_lead", "opportunity_lead"],
    "opportunity": ["event_opportunity", "task_opportunity", "activity_report_opportunity"],
    "ticket": ["event_ticket", "task_ticket", "activity_report_ticket"],
    "contact": ["event_contact", "attended_events", "opportunity_contact", "task_contact", "ticket_contact",
                "contact_lists"],
}


def test_events_name_their_attendees_and_participants_as_records(model: Model) -> None:
    event = model.entity("event")
    attendees, participants = event.field("attendees"), event.field("participants")
    assert (attendees.type, attendees.entity, attendees.max, attendees.historized) == ("links", "contact", 200, True)
    assert (participants.type, participants.entity, participants.max, participants.historized) == (
        "links", "user", 50, True)
    assert not {"related_entity", "related_id"} & set(event.fields_by_name)
    for name in ("event", "task", "activity_report"):
        ticket = model.entity(name).field("ticket")
        assert (ticket.type, ticket.entity) == ("link", "ticket"), name
    listed = event.view("list")
    assert {"attendees", "participants"} <= set(listed.filters) and "participants" in listed.mass_update


def test_contact_lists_hold_up_to_ten_thousand_members_shown_on_the_contact(model: Model) -> None:
    members = model.entity("contact_list").field("members")
    assert (members.type, members.entity, members.max, members.historized) == ("links", "contact", 10_000, True)
    assert model.entity("contact_list").natural_key == ("name",)
    lists = model.relation("contact", "contact_lists")
    assert (lists.label.en, lists.label.fr, lists.entity) == ("Contact lists", "Listes de contacts", "contact")
    attended = model.relation("contact", "attended_events")
    assert (attended.label.en, attended.label.fr) == ("Events attended", "Événements auxquels il participe")
    assert model.relation("contact", "event_contact").label.en == "Events as main contact"  # not "Events (Contact)"
    assert model.relation("account", "subsidiaries").label.fr == "Filiales"
    assert model.role("support").entities["contact_list"].operations == frozenset({"read"})


@pytest.mark.parametrize("entity", sorted(PANELS))
def test_forms_show_the_related_records_a_crm_user_expects(model: Model, entity: str) -> None:
    form = model.entity(entity).view("form")
    assert [panel.relation for panel in form.related] == PANELS[entity]
    for panel in form.related:
        relation = model.relation(entity, panel.relation)
        assert_bilingual(relation.label, f"{entity}.{panel.relation}")
        assert panel.columns and panel.sort, f"{entity}.{panel.relation}"
        source = model.entity(relation.source_entity)
        assert relation.source_field not in panel.columns  # the link back is the record itself
        assert set(panel.columns) <= set(source.fields_by_name) | set(SYSTEM_COLUMNS), panel.relation


def test_participants_take_fifty_users_and_refuse_one_more(make_engine, model: Model) -> None:
    from engine import SYSTEM_ACTOR, RecordValidationError

    engine = make_engine(model)
    users = engine.records.create_many(
        "user", [{"username": f"user{n}", "display_name": f"User {n}"} for n in range(51)], SYSTEM_ACTOR)
    event = engine.records.create("event", {"subject": "Seminar", "starts_at": "2026-03-02T09:00:00",
                                            "participants": users[:50]}, SYSTEM_ACTOR)
    assert event["participants"] == sorted(users[:50])
    with pytest.raises(RecordValidationError) as refused:
        engine.records.update("event", event["id"], {"participants": users}, SYSTEM_ACTOR)
    assert [error.rule for error in refused.value.errors["participants"]] == ["max_count"]
    assert engine.records.get("event", event["id"])["participants"] == sorted(users[:50])
