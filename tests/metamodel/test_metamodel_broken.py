"""The corpus of broken definitions: each case is a customer pack layered on the fixture base
pack, and must fail with exactly the listed problems (`file:line: path: message`).

Paths without a directory prefix are inside the case's own pack, as is `{pack}` in messages.
"""

from __future__ import annotations

import pytest

from metamodel import DefinitionError, load_model

from mm_fixture_paths import BASE, BROKEN
from test_metamodel_duplicates import DUPLICATE_CASES

BROKEN_CASES = {
    'dup_default_view_name': [
        "views/list.yaml:1: view: 'list' is the name of the entity's default list view",
    ],
    'dup_entity_same_pack': [
        "entities/b.yaml:2: entity: entity 'thing' already declared in {pack}/entities/a.yaml:1",
    ],
    'dup_list_same_pack': [
        "lists/b.yaml:1: list: list 'sizes' already declared in {pack}/lists/a.yaml:1",
    ],
    'dup_status_codes': [
        "workflows/flow.yaml:5: statuses.1.code: status 'a' already declared in {pack}/workflows/flow.yaml:4",
    ],
    'dup_transition_names': [
        "workflows/flow.yaml:8: transitions.1.name: transition 'go' already declared in {pack}/workflows/flow.yaml:7",
    ],
    'dup_value_codes': [
        "lists/sizes.yaml:6: values.2.code: value 's' already declared in {pack}/lists/sizes.yaml:4",
    ],
    'dup_view_columns': [
        "views/my_view.yaml:5: columns.2: 'last_name' is listed twice (also at columns.0)",
    ],
    'dup_view_name': [
        "views/open_leads.yaml:1: view: view 'open_leads' already declared in tests/fixtures/packs/base/views/open_leads.yaml:2",
    ],
    'dup_workflow_two_packs': [
        "workflows/deal.yaml:1: workflow: workflow 'deal' already declared in tests/fixtures/packs/base/workflows/deal.yaml:2",
    ],
    'expr_comprehension': [
        'entities/lead.yaml:3: characteristics.phone.mandatory_when: comprehensions are not allowed',
    ],
    'expr_deep_nesting': [
        'entities/lead.yaml:3: characteristics.phone.mandatory_when: the expression is nested too deeply (more than 30 levels)',
    ],
    'expr_dunder_attribute': [
        "entities/lead.yaml:3: characteristics.phone.mandatory_when: attribute access ('.') is not allowed",
    ],
    'expr_huge_power': [
        'entities/lead.yaml:3: characteristics.score.default_expr: 9 ** 387420489 is too large (base and exponent are limited to 1000)',
    ],
    'expr_huge_string': [
        'entities/lead.yaml:3: characteristics.first_name.default_expr: the result would be longer than 10000 characters or items',
    ],
    'expr_import': [
        "entities/lead.yaml:3: characteristics.phone.mandatory_when: '__import__' is not allowed: names may not start with _",
    ],
    'expr_lambda': [
        'entities/lead.yaml:3: characteristics.phone.mandatory_when: lambda is not allowed',
    ],
    'expr_subscript': [
        "entities/lead.yaml:3: characteristics.phone.mandatory_when: subscripts ('[...]' after a value) are not allowed",
    ],
    'expr_syntax_error': [
        'entities/lead.yaml:3: characteristics.phone.mandatory_when: invalid syntax (column 0)',
    ],
    'expr_too_long': [
        'entities/lead.yaml:3: characteristics.phone.mandatory_when: the expression is longer than 500 characters (612)',
    ],
    'expr_unknown_function': [
        "workflows/deal.yaml:8: transitions.0.actions.0.set.closed_on: unknown function 'yesterday'",
    ],
    'expr_unknown_name_in_guard': [
        "workflows/deal.yaml:7: transitions.0.guard: unknown name 'nickname'",
    ],
    'layer_change_list': [
        "entities/lead.yaml:3: characteristics.sector.list: cannot change the list of 'sector' from sectors to other (declared in tests/fixtures/packs/base/entities/lead.yaml:22)"
        "; to change it, declare it again in full with `redeclare: true`",
        "entities/lead.yaml:4: characteristics.company.entity: cannot change the entity of 'company' from company to lead (declared in tests/fixtures/packs/base/entities/lead.yaml:21)"
        "; to change it, declare it again in full with `redeclare: true`",
    ],
    'layer_change_type': [
        "entities/lead.yaml:3: characteristics.score.type: cannot change the type of 'score' from integer to decimal (declared in tests/fixtures/packs/base/entities/lead.yaml:13)"
        "; to change it, declare it again in full with `redeclare: true`",
    ],
    'layer_characteristic_exists': [
        'entities/lead.yaml:3: characteristics.score: already declared in tests/fixtures/packs/base/entities/lead.yaml:13'
        '; to change it, declare it again in full with `redeclare: true`',
    ],
    'layer_remove_characteristic_unknown': [
        "entities/lead.yaml:2: remove_characteristics.0: unknown characteristic 'nickname' of entity 'lead'"
        " (declared in tests/fixtures/packs/base/entities/lead.yaml:2)",
        "entities/lead.yaml:2: remove_characteristics.2: 'closed_on' is listed twice",
    ],
    'layer_redeclare_unknown': [
        "entities/lead.yaml:3: characteristics.nickname.redeclare: nothing to redeclare: no earlier pack declares"
        " 'nickname' of entity 'lead'; leave `redeclare` out to add it",
    ],
    'layer_redeclare_in_declaration': [
        "entities/thing.yaml:5: characteristics.name.redeclare: only an `extends:` document can redeclare a characteristic",
    ],
    'layer_removed_still_named': [
        "tests/fixtures/packs/base/entities/lead.yaml:5: title: unknown field 'first_name' in title placeholder"
        " (removed by {pack}/entities/lead.yaml:2)",
        "tests/fixtures/packs/base/workflows/deal.yaml:23: transitions.1.actions.0.set.score: 5 is not text",
        "tests/fixtures/packs/base/views/open_leads.yaml:8: where.score: a {min, max} range does not apply to a string field",
    ],
    'layer_entity_redeclared': [
        "entities/company.yaml:1: entity: entity 'company' already declared in tests/fixtures/packs/base/entities/company.yaml:2",
    ],
    'layer_extends_unknown': [
        "lists/sizes.yaml:1: extends: unknown list 'sizes': no earlier pack declares it",
        "entities/ticket.yaml:1: extends: unknown entity 'ticket': no earlier pack declares it",
    ],
    'layer_override_breaks_bounds': [
        'entities/lead.yaml:3: characteristics.score.max: 0 is less than min 1',
    ],
    'layer_override_breaks_default': [
        'entities/lead.yaml:3: characteristics.score.min: 2 is greater than the default 1',
    ],
    'layer_override_default_pattern': [
        'entities/lead.yaml:4: characteristics.last_name.default: "O\'Brien" does not match the pattern [A-Z]+',
    ],
    'layer_retire_default': [
        "lists/sectors.yaml:3: overrides.it.retired: 'it' cannot be retired: it is the default of a characteristic (tests/fixtures/packs/base/entities/lead.yaml:22)",
    ],
    'layer_status_exists': [
        "workflows/deal.yaml:3: statuses.0.code: status 'won' already declared in tests/fixtures/packs/base/workflows/deal.yaml:7",
    ],
    'layer_transition_exists': [
        "workflows/deal.yaml:3: transitions.0.name: transition 'win' already declared in tests/fixtures/packs/base/workflows/deal.yaml:18",
    ],
    'layer_unknown_characteristic': [
        "entities/lead.yaml:3: characteristics.nickname: unknown characteristic 'nickname' of entity 'lead' (declared in tests/fixtures/packs/base/entities/lead.yaml:2); give it a type to add it",
    ],
    'layer_unknown_value_override': [
        "lists/sectors.yaml:3: overrides.food: unknown value 'food' in list 'sectors' (declared in tests/fixtures/packs/base/lists/sectors.yaml:2)",
    ],
    'layer_value_exists': [
        "lists/sectors.yaml:4: values.1.code: value 'it' already declared in tests/fixtures/packs/base/lists/sectors.yaml:5",
    ],
    'layer_view_extends': [
        "views/open_leads.yaml:2: kind: 'kind' cannot be changed by an extends document",
        "views/open_leads.yaml:3: page_size: 501 is greater than the maximum of 500",
    ],
    'pack_bad_version': [
        "pack.yaml:2: version: '1.0' is not a version such as 1.0.0",
    ],
    'pack_duplicate_name': [
        "pack.yaml:1: pack: pack 'base' is already loaded from tests/fixtures/packs/base",
    ],
    'pack_missing_manifest': [
        'pack.yaml:1: $: the pack has no pack.yaml manifest (pack: name, version: 1.0.0)',
    ],
    'pack_requires_unknown': [
        "pack.yaml:5: requires.crm: needs pack 'crm', which is not loaded before it",
    ],
    'pack_requires_unmet': [
        "pack.yaml:3: requires.base: needs 'base' >=2.0, but version 1.2.0 is loaded",
    ],
    'ref_action_two_kinds': [
        'workflows/deal.yaml:8: transitions.0.actions.0: an action has exactly one of set, create, copy or call (found set, call)',
    ],
    'ref_create_action_entity': [
        "workflows/deal.yaml:8: transitions.0.actions.0.create.entity: unknown entity 'task'",
    ],
    'ref_extends_unknown_workflow': [
        "entities/lead.yaml:2: workflow: unknown workflow 'pipeline'",
    ],
    'ref_form_fields': [
        "entities/lead.yaml:5: views.form.sections.0.fields.1: unknown field 'nickname' in entity 'lead'",
        "entities/lead.yaml:6: views.form.sections.1.fields.1: 'created_at' is a system column and cannot be in a form",
        "entities/lead.yaml:6: views.form.sections.1.fields.2: 'first_name' is listed twice (also at sections.0.fields.0)",
    ],
    'ref_link_target': [
        "entities/thing.yaml:5: characteristics.owner.entity: unknown entity 'nobody'",
    ],
    'ref_mass_update': [
        "views/my_view.yaml:5: mass_update.0: 'next_event' is readonly and cannot be in mass_update",
        "views/my_view.yaml:5: mass_update.1: 'email' is unique and cannot be in mass_update",
        'views/my_view.yaml:5: mass_update.2: status cannot be in mass_update: the status changes through workflow transitions (unless the workflow is free)',
        "views/my_view.yaml:5: mass_update.3: 'created_by' is a system column and cannot be in mass_update",
    ],
    'ref_required_field': [
        "workflows/deal.yaml:7: transitions.0.required.1: 'nickname' is not a characteristic of entity 'lead'",
    ],
    'ref_set_action_field': [
        "workflows/deal.yaml:8: transitions.0.actions.0.set.created_at: 'created_at' cannot be set by an action",
        "workflows/deal.yaml:8: transitions.0.actions.0.set.nickname: 'nickname' is not a characteristic of entity 'lead'",
    ],
    'ref_title_format_spec': [
        "entities/thing.yaml:4: title: placeholder '{name.__class__}' must be a plain field name",
    ],
    'ref_title_placeholder': [
        "entities/thing.yaml:4: title: unknown field 'nickname' in title placeholder (did you mean 'name'?)",
    ],
    'ref_transition_statuses': [
        "workflows/flow.yaml:7: transitions.0.from.1: unknown status 'pending' in workflow 'flow'",
        "workflows/flow.yaml:7: transitions.0.to: unknown status 'closed' in workflow 'flow'",
    ],
    'ref_unknown_list': [
        "entities/thing.yaml:5: characteristics.colour.list: unknown value list 'colours'",
    ],
    'ref_unknown_workflow': [
        "entities/thing.yaml:4: workflow: unknown workflow 'ticket'",
    ],
    'ref_view_columns': [
        "views/my_view.yaml:5: columns.1: unknown field 'nickname' in entity 'lead'",
        "views/my_view.yaml:6: filters.1: unknown field 'mood' in entity 'lead'",
    ],
    'ref_view_entity': [
        "views/my_view.yaml:2: entity: unknown entity 'ghost'",
    ],
    'ref_view_sort_group': [
        "views/my_view.yaml:5: sort.0: unknown field 'nickname' in entity 'lead'",
        "views/my_view.yaml:6: group_by.0: unknown field 'colour' in entity 'lead'",
    ],
    'ref_where_values': [
        "views/my_view.yaml:5: where.score: 'low' is not an integer",
        "views/my_view.yaml:5: where.sector: 'food' is not a value of list 'sectors'",
        "views/my_view.yaml:5: where.status: 'archived' is not a status of workflow 'deal'",
    ],
    'reserved_characteristics': [
        "entities/thing.yaml:5: characteristics.select: 'select' is a reserved SQL keyword",
        "entities/thing.yaml:6: characteristics.class: 'class' is a reserved Python keyword",
        "entities/thing.yaml:7: characteristics.created_at: 'created_at' is reserved for a system column",
        "entities/thing.yaml:8: characteristics.status: 'status' is reserved for a system column",
        "entities/thing.yaml:9: characteristics.user: 'user' is a reserved SQL keyword",
        "entities/thing.yaml:10: characteristics.order: 'order' is a reserved SQL keyword",
    ],
    'reserved_entity': [
        "entities/class.yaml:1: entity: 'class' is a reserved Python keyword",
    ],
    'schema_bad_color': [
        "workflows/flow.yaml:4: statuses.0.color: 'blue' is not a colour such as #3b82f6",
    ],
    'schema_bad_enum': [
        "views/my_view.yaml:3: kind: 'table' is not one of: list, form",
    ],
    'schema_bad_identifier': [
        "entities/thing.yaml:5: characteristics.FirstName: 'FirstName' is not a valid name (lowercase letters, digits and _, starting with a letter)",
    ],
    'schema_decimal_scale': [
        'entities/thing.yaml:5: characteristics.rate.precision: 19 is greater than the maximum of 18',
        'entities/thing.yaml:5: characteristics.rate.scale: 11 is greater than the maximum of 10',
    ],
    'schema_empty_values': [
        'lists/sizes.yaml:3: values: must not be empty',
    ],
    'schema_from_single_code': [
        "workflows/deal.yaml:5: transitions.0.from: 'new' is not one of: *, open",
    ],
    'schema_identifier_too_long': [
        "lists/long.yaml:1: list: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 40 characters",
        "lists/long.yaml:4: values.0.code: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...' is longer than 60 characters",
    ],
    'schema_label_extra_language': [
        "lists/sizes.yaml:2: label.de: unknown property 'de'",
    ],
    'schema_label_missing_fr': [
        "entities/thing.yaml:2: label: required property 'fr' is missing",
    ],
    'schema_missing_label': [
        "entities/thing.yaml:6: characteristics.name: required property 'label' is missing",
    ],
    'schema_missing_type': [
        "entities/thing.yaml:5: characteristics.name: required property 'type' is missing",
    ],
    'schema_no_kind_key': [
        "entities/thing.yaml:1: $: required property 'entity' is missing",
        "entities/thing.yaml:1: name: unknown property 'name'",
    ],
    'schema_override_help_incomplete': [
        "entities/lead.yaml:3: characteristics.score.help: required property 'fr' is missing",
    ],
    'schema_override_unique': [
        "entities/lead.yaml:3: characteristics.email.unique: 'unique' cannot be changed by an extends document",
    ],
    'schema_page_size': [
        'views/my_view.yaml:5: page_size: 0 is less than the minimum of 1',
    ],
    'schema_several_files': [
        "lists/sizes.yaml:2: label: required property 'fr' is missing",
        "lists/sizes.yaml:4: values.0: required property 'label' is missing",
        "entities/thing.yaml:5: characteristics.size.maxx: unknown property 'maxx' (did you mean 'max'?)",
        "entities/thing.yaml:6: characteristics.name.type: 'strng' is not one of the types: string, text, rich_text, email, phone, url, integer, decimal, date, datetime, boolean, choice, multi_choice, link, links, lines",
    ],
    'schema_status_override_rename': [
        "workflows/deal.yaml:3: override_statuses.qualified.renamed_from: unknown property 'renamed_from'",
        'workflows/deal.yaml:4: override_statuses.lost: must not be empty',
        'workflows/deal.yaml:5: remove_statuses: must not be empty',
    ],
    'schema_unknown_property': [
        "entities/thing.yaml:5: characteristics.size.maxx: unknown property 'maxx' (did you mean 'max'?)",
    ],
    'schema_unknown_type': [
        "entities/thing.yaml:5: characteristics.name.type: 'strng' is not one of the types: string, text, rich_text, email, phone, url, integer, decimal, date, datetime, boolean, choice, multi_choice, link, links, lines",
    ],
    'schema_wrong_type': [
        "entities/thing.yaml:5: characteristics.name.max_length: '80' is not an integer",
    ],
    'sem_bad_date': [
        "entities/thing.yaml:5: characteristics.day.min: '2024-13-01' is not an ISO date (YYYY-MM-DD)",
        "entities/thing.yaml:6: characteristics.at.max: 'tomorrow' is not an ISO datetime (YYYY-MM-DDTHH:MM:SS)",
    ],
    'sem_bad_pattern': [
        'entities/thing.yaml:5: characteristics.code.pattern: invalid regular expression: unterminated character set at position 1',
    ],
    'sem_choice_needs_list': [
        "entities/thing.yaml:5: characteristics.sector: a choice characteristic needs 'list' (a value list)",
        "entities/thing.yaml:6: characteristics.owner: a link characteristic needs 'entity' (the target entity)",
    ],
    'sem_date_bounds': [
        "entities/thing.yaml:5: characteristics.day.max: '2024-01-01' is less than min '2024-12-31'",
    ],
    'sem_decimal_precision': [
        'entities/thing.yaml:5: characteristics.price.precision: precision 4 must be greater than scale 4',
        'entities/thing.yaml:6: characteristics.rate.precision: precision 5 must be greater than scale 6',
    ],
    'sem_decimal_values': [
        'entities/thing.yaml:5: characteristics.price.min: 1.234 has more than 2 decimal places',
        'entities/thing.yaml:6: characteristics.small.max: 12345 has more than 3 digits before the decimal point',
    ],
    'sem_default_and_expr': [
        'entities/thing.yaml:5: characteristics.day.default: default and default_expr cannot both be set',
    ],
    'sem_default_list_values': [
        "entities/thing.yaml:5: characteristics.sector.default: 'food' is not a value of list 'sectors'",
        "entities/thing.yaml:6: characteristics.old.default: 'mining' is retired in list 'sectors'",
        "entities/thing.yaml:7: characteristics.tags.default: 'it' is not a list of codes",
        "entities/thing.yaml:8: characteristics.more.default.2: 'it' is listed twice",
    ],
    'sem_default_out_of_bounds': [
        'entities/thing.yaml:5: characteristics.size.default: 7 is greater than max 5',
        'entities/thing.yaml:6: characteristics.price.default: 0.5 is less than min 1',
    ],
    'sem_default_text_rules': [
        "entities/thing.yaml:5: characteristics.code.default: 'abcd' is longer than max_length 3",
        "entities/thing.yaml:6: characteristics.ref.default: 'abc' does not match the pattern [A-Z]+",
        "entities/thing.yaml:7: characteristics.memo.default: 'abc' is shorter than min_length 5",
    ],
    'sem_default_wrong_type': [
        "entities/thing.yaml:5: characteristics.flag.default: 'yes' is not true or false",
        'entities/thing.yaml:6: characteristics.size.default: 1.5 is not an integer',
        "entities/thing.yaml:7: characteristics.owner.default: 'default' does not apply to a link characteristic",
    ],
    'sem_duplicate_sequence': [
        "workflows/deal.yaml:3: statuses.0.sequence: sequence 20 is already used by status 'qualified' (tests/fixtures/packs/base/workflows/deal.yaml:6)",
    ],
    'sem_format_not_applicable': [
        "entities/thing.yaml:5: characteristics.flag.format: 'format' does not apply to a boolean characteristic",
        "entities/thing.yaml:6: characteristics.owner.format: 'format' does not apply to a link characteristic",
    ],
    'sem_integer_bound_float': [
        'entities/thing.yaml:5: characteristics.size.min: 1.5 is not an integer',
    ],
    'sem_lengths': [
        'entities/thing.yaml:5: characteristics.code.max_length: 5 is less than min_length 10',
        'entities/thing.yaml:6: characteristics.memo.min_length: 300 is greater than max_length 255 (the default for string)',
    ],
    'sem_min_greater_than_max': [
        'entities/thing.yaml:5: characteristics.size.max: 1 is less than min 5',
    ],
    'sem_property_not_applicable': [
        "entities/thing.yaml:5: characteristics.name.list: 'list' does not apply to a string characteristic",
        "entities/thing.yaml:5: characteristics.name.scale: 'scale' does not apply to a string characteristic",
        "entities/thing.yaml:6: characteristics.size.entity: 'entity' does not apply to an integer characteristic",
        "entities/thing.yaml:6: characteristics.size.min_length: 'min_length' does not apply to an integer characteristic",
        "entities/thing.yaml:6: characteristics.size.searchable: 'searchable' does not apply to an integer characteristic",
        "entities/thing.yaml:7: characteristics.tags.unique: 'unique' does not apply to a multi_choice characteristic",
    ],
    'sem_renamed_from': [
        "entities/thing.yaml:6: characteristics.title_text.renamed_from: 'name' is still declared: a renamed characteristic must disappear",
    ],
    'sem_status_flags': [
        'workflows/flow.yaml:5: statuses.1.lost: a status cannot be both won and lost',
        'workflows/flow.yaml:6: statuses.2.open: a won status cannot be open',
    ],
    'sem_two_initial_statuses': [
        "workflows/flow.yaml:5: statuses.1.initial: status 'b' is also initial: a workflow has one initial status ('a' at {pack}/workflows/flow.yaml:4)",
    ],
    'wf_on_enter_constants': [
        "workflows/deal.yaml:3: override_statuses.new.on_enter.budget: -1 is less than min 0 of 'budget'",
        'workflows/deal.yaml:3: override_statuses.new.on_enter.do_not_call: 1 is not true or false',
        "workflows/deal.yaml:3: override_statuses.new.on_enter.score: 6 is greater than max 5 of 'score'",
        "workflows/deal.yaml:3: override_statuses.new.on_enter.sector: 'food' is not a value of list 'sectors'",
    ],
    'wf_on_enter_fields': [
        "workflows/deal.yaml:5: statuses.0.on_enter.created_at: 'created_at' cannot be set by entering a status",
        "workflows/deal.yaml:5: statuses.0.on_enter.nickname: 'nickname' is not a characteristic of entity 'lead'",
        "workflows/deal.yaml:5: statuses.0.on_enter.score: unknown name 'missing'",
        "workflows/deal.yaml:5: statuses.0.on_enter.status: 'status' cannot be set by entering a status",
    ],
    'wf_override_breaks_flags': [
        'workflows/deal.yaml:3: override_statuses.won.open: a won status cannot be open',
        'workflows/deal.yaml:4: override_statuses.lost.won: a status cannot be both won and lost',
    ],
    'wf_override_transition_statuses': [
        "workflows/deal.yaml:4: override_transitions.qualify.from.1: unknown status 'nowhere' in workflow 'deal'",
        "workflows/deal.yaml:5: override_transitions.qualify.to: unknown status 'ghost' in workflow 'deal'",
        "workflows/deal.yaml:6: override_transitions.qualify.guard: unknown name 'nickname'",
    ],
    'wf_override_unknown': [
        "workflows/deal.yaml:3: override_statuses.ghost: unknown status 'ghost' in workflow 'deal' (declared in tests/fixtures/packs/base/workflows/deal.yaml:2)",
        "workflows/deal.yaml:5: override_transitions.nope: unknown transition 'nope' in workflow 'deal' (declared in tests/fixtures/packs/base/workflows/deal.yaml:2)",
    ],
    'wf_protected_flag': [
        "workflows/deal.yaml:3: override_statuses.lost.protected: 'lost' is protected (declared in tests/fixtures/packs/base/workflows/deal.yaml:8) and stays protected: only the pack that declares a status sets this flag",
        "workflows/deal.yaml:4: override_statuses.qualified.protected: only the pack that declares status 'qualified' (tests/fixtures/packs/base/workflows/deal.yaml:6) can set its protected flag",
    ],
    'wf_remove_protected': [
        "workflows/deal.yaml:2: remove_statuses.1: 'won' is protected (declared in tests/fixtures/packs/base/workflows/deal.yaml:7) and cannot be removed",
    ],
    'wf_remove_unknown': [
        "workflows/deal.yaml:2: remove_statuses.0: unknown status 'ghost' in workflow 'deal' (declared in tests/fixtures/packs/base/workflows/deal.yaml:2)",
        "workflows/deal.yaml:2: remove_statuses.2: 'qualified' is listed twice",
        "workflows/deal.yaml:3: remove_transitions.1: unknown transition 'nope' in workflow 'deal' (declared in tests/fixtures/packs/base/workflows/deal.yaml:2)",
    ],
    'wf_transition_to_removed_status': [
        "workflows/deal.yaml:4: transitions.0.from.0: unknown status 'qualified' in workflow 'deal' (removed by {pack}/workflows/deal.yaml:2)",
    ],
    'wf_two_initial_in_extension': [
        "workflows/deal.yaml:4: statuses.1.initial: status 'idea' is also initial: a workflow has one initial status ('draft' at {pack}/workflows/deal.yaml:3)",
    ],
    'pack_document_is_folder': [
        'entities/thing.yaml:1: $: is not a file: a document is a YAML file directly in entities/ (folders inside it are not read)',
    ],
    'pack_folder_is_file': [
        "entities:1: $: 'entities' is a file: it must be a folder of YAML documents (entities/NAME.yaml)",
    ],
    'ref_did_you_mean': [
        "entities/thing.yaml:4: workflow: unknown workflow 'dael' (did you mean 'deal'?)",
        "entities/thing.yaml:6: characteristics.colour.list: unknown value list 'sector' (did you mean 'sectors'?)",
        "entities/thing.yaml:7: characteristics.owner.entity: unknown entity 'leed' (did you mean 'lead'?)",
        "entities/thing.yaml:8: characteristics.total.default_expr: unknown name 'ownr' (did you mean 'owner'?)",
        "views/my_view.yaml:5: columns.1: unknown field 'compnay' in entity 'lead' (did you mean 'company'?)",
    ],
    'sem_default_expr_wrong_type': [
        "entities/thing.yaml:6: characteristics.count.default_expr: 'abc' is not a number",
        "entities/thing.yaml:7: characteristics.code.default_expr: the expression gives text, but an integer characteristic holds a number: change the expression or the characteristic's type",
        "entities/thing.yaml:8: characteristics.flag.default_expr: the expression gives a date, but a boolean characteristic holds true or false: change the expression or the characteristic's type",
        "entities/thing.yaml:9: characteristics.note.default_expr: the expression gives a number, but a string characteristic holds text: change the expression or the characteristic's type",
        "entities/thing.yaml:10: characteristics.short.default_expr: 'abcd' is longer than max_length 3 of 'short'",
        "entities/thing.yaml:11: characteristics.tiny.default_expr: 15 is greater than max 10 of 'tiny'",
        'entities/thing.yaml:12: characteristics.huge.default_expr: 9223372036854775808 is beyond what an integer column holds (-9223372036854775808 to 9223372036854775807): use a decimal characteristic for larger numbers',
        'entities/thing.yaml:13: characteristics.price.default_expr: 0.3333333333333333 has more than 2 decimal places',
        "entities/thing.yaml:14: characteristics.due.default_expr: the expression gives a date and time, but a date characteristic holds a date: change the expression or the characteristic's type",
    ],
    'sem_integer_beyond_64_bits': [
        'entities/thing.yaml:6: characteristics.too_low.min: -9223372036854775809 is beyond what an integer column holds (-9223372036854775808 to 9223372036854775807): use a decimal characteristic for larger numbers',
        'entities/thing.yaml:7: characteristics.too_high.max: 9223372036854775808 is beyond what an integer column holds (-9223372036854775808 to 9223372036854775807): use a decimal characteristic for larger numbers',
        'entities/thing.yaml:8: characteristics.float_high.max: 1e+30 is beyond what an integer column holds (-9223372036854775808 to 9223372036854775807): use a decimal characteristic for larger numbers',
        'entities/thing.yaml:9: characteristics.big_default.default: 100000000000000000000 is beyond what an integer column holds (-9223372036854775808 to 9223372036854775807): use a decimal characteristic for larger numbers',
        "entities/thing.yaml:11: characteristics.too_much.max: '10000000000000000' has more than 16 digits before the decimal point",
    ],
    'sem_length_beyond_column': [
        'entities/thing.yaml:5: characteristics.huge.max_length: 1000000000000000000000000000000 is more than a string characteristic holds (10,485,760 characters in a VARCHAR column): use type text for longer values',
        'entities/thing.yaml:7: characteristics.past.max_length: 10485761 is more than a url characteristic holds (10,485,760 characters in a VARCHAR column): use type text for longer values',
        'entities/thing.yaml:9: characteristics.novel.min_length: 1073741824 is more than a rich_text characteristic holds (1,073,741,823 characters in a TEXT column): lower it',
    ],
    'wf_set_wrong_kind': [
        "workflows/flow.yaml:4: statuses.0.on_enter.due: the expression gives a date and time, but a date characteristic holds a date: change the expression or the characteristic's type",
        "workflows/flow.yaml:11: transitions.0.required.0: 'nmae' is not a characteristic of entity 'thing' (did you mean 'name'?)",
        "workflows/flow.yaml:13: transitions.0.actions.0.set.amount: the expression gives text, but an integer characteristic holds a number: change the expression or the characteristic's type",
        "workflows/flow.yaml:13: transitions.0.actions.0.set.nme: 'nme' is not a characteristic of entity 'thing' (did you mean 'name'?)",
        "workflows/flow.yaml:14: transitions.0.actions.1.create.entity: unknown entity 'thng' (did you mean 'thing'?)",
        "workflows/flow.yaml:15: transitions.0.actions.2.create.values.last_name: the expression gives a number, but a string characteristic holds text: change the expression or the characteristic's type",
        "workflows/flow.yaml:15: transitions.0.actions.2.create.values.scroe: 'scroe' is not a characteristic of entity 'lead' (did you mean 'score'?)",
    ],
    'yaml_bad_indent': [
        'entities/thing.yaml:3: $: YAML syntax error: did not find expected key (while parsing a block mapping started on line 1)',
    ],
    'yaml_comments_only': [
        'lists/nothing.yaml:1: $: the document is empty',
    ],
    'yaml_duplicate_key': [
        "entities/thing.yaml:7: characteristics.name: duplicate key 'name' (first on line 5)",
    ],
    'yaml_empty_file': [
        'entities/empty.yaml:1: $: the document is empty',
    ],
    'yaml_not_mapping': [
        'entities/thing.yaml:1: $: the document must be a mapping, not a list',
    ],
    'yaml_not_utf8': [
        'entities/thing.yaml:2: $: is not valid UTF-8 (byte 0xe9)',
    ],
    'yaml_python_tag': [
        "entities/thing.yaml:1: entity: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ],
    'yaml_scalar_root': [
        "workflows/flow.yaml:1: $: the document must be a mapping, not the scalar 'just a sentence'",
    ],
    'yaml_tab': [
        'entities/thing.yaml:5: $: YAML syntax error: found character that cannot start any token (while scanning for the next token)',
    ],
    'yaml_two_documents': [
        'entities/thing.yaml:5: $: YAML syntax error: but found another document (expected a single document in the stream started on line 1)',
    ],
    'yaml_unclosed_bracket': [
        "entities/thing.yaml:3: $: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping started on line 2)",
    ],
}


def _expected(case: str) -> list[str]:
    pack = f"tests/fixtures/broken/{case}"
    return [(line if line.startswith("tests/") else f"{pack}/{line}").replace("{pack}", pack) for line in BROKEN_CASES[case]]


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_definition_is_reported_with_file_line_and_path(case: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, BROKEN / case])

    assert [str(p) for p in raised.value.problems] == _expected(case)


def test_every_broken_fixture_has_expectations() -> None:
    on_disk = {p.name for p in BROKEN.iterdir() if p.is_dir()}

    assert on_disk == set(BROKEN_CASES) | set(DUPLICATE_CASES)
    assert len(on_disk) >= 45


def test_error_message_lists_every_problem_one_per_line() -> None:
    with pytest.raises(DefinitionError) as raised:
        load_model([BASE, BROKEN / "schema_several_files"])

    assert str(raised.value).splitlines() == _expected("schema_several_files")
