"""Lead conversion: a qualified lead becomes an account, a contact and, if asked, an opportunity.

A workflow transition calls it as the `convert_lead` action; its params map each
new record's characteristics to the lead's (target field <- lead field):

    - call: convert_lead
      params:
        account: {name: company, phone: phone, city: city}
        contact: {first_name: first_name, last_name: last_name, email: email}
        opportunity: {name: company, source: source, amount: budget}

The caller chooses, in the transition's inputs, what each part becomes:

    account:     {"id": 5} an existing live account, or {"values": {...}} (default: a new account)
    contact:     {"id": 9} an existing contact OF THAT ACCOUNT, or {"values": {...}} (default: a new contact)
    opportunity: {"values": {...}} creates one; absent or None: no opportunity

`values` override what the mapping copies. New records are linked together (the
contact and the opportunity to the account, the opportunity to the contact and to
the lead); only non-empty lead values are copied, and `assigned_to` follows the lead
when both sides have it. The lead gets `converted_account`, `converted_contact` and
`converted_opportunity` (those it declares). Everything runs in the transition's
transaction: a refusal anywhere leaves nothing created and the lead in its status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from plugins.api import (
    ActionContext,
    EngineError,
    EntityDef,
    Model,
    NotFoundError,
    PluginRuleError,
    RecordValidationError,
    RuleError,
    hookimpl,
    is_empty,
)

PARTS = ("account", "contact", "opportunity")
RESULT_FIELDS = {"account": "converted_account", "contact": "converted_contact", "opportunity": "converted_opportunity"}
FOLLOWED_FIELDS = ("assigned_to",)
"""Copied from the lead to every new record that has them, unless the mapping or the caller says otherwise."""

MESSAGES: dict[str, dict[str, str]] = {
    "already_converted": {
        "en": "This lead has already been converted.",
        "fr": "Cette piste a déjà été convertie.",
    },
    "not_found": {
        "en": "There is no {entity} with id {id} (or it is in the trash).",
        "fr": "Il n'existe aucun enregistrement « {entity} » d'identifiant {id} (ou il est dans la corbeille).",
    },
    "other_account": {
        "en": "Contact {id} does not belong to the chosen account: choose one of that account's contacts, "
              "or create a new contact.",
        "fr": "Le contact {id} n'appartient pas au compte choisi : choisissez un contact de ce compte, "
              "ou créez-en un nouveau.",
    },
    "bad_choice": {
        "en": "Choose either an existing record by its id, or values for a new one.",
        "fr": "Choisissez soit un enregistrement existant par son identifiant, soit des valeurs pour en créer un.",
    },
    "new_only": {
        "en": "Conversion always creates a new {entity}; an existing one cannot be chosen.",
        "fr": "La conversion crée toujours un nouvel enregistrement « {entity} » ; on ne peut pas en choisir un existant.",
    },
}


@dataclass(frozen=True)
class Choice:
    """What the caller chose for one part: an existing record, or values for a new one."""

    existing_id: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


@hookimpl
def ossature_actions() -> dict[str, Any]:
    return {"convert_lead": convert_lead}


def convert_lead(ctx: ActionContext) -> dict[str, Any]:
    model = ctx.model
    lead_def = model.entity(ctx.entity)
    mappings = read_mappings(model, lead_def, ctx.params)
    lead = ctx.record
    _refuse_if_converted(ctx, lead_def)
    choices = _read_choices(ctx)

    account = _existing(ctx, "account", choices["account"])
    contact = _existing(ctx, "contact", choices["contact"])
    if contact is not None:
        _refuse_contact_of_other_account(ctx, contact, account)

    def create(part: str, links: Mapping[str, Any]) -> int:
        target = model.entity(part)
        values = {**_linked(target, links), **_copied(lead_def, target, lead, mappings[part]), **choices[part].values}
        try:
            return ctx.tx.create(part, values)["id"]
        except RecordValidationError as error:
            raise RecordValidationError(
                {f"{part}.{name}": errors for name, errors in error.errors.items()}, ctx.entity
            ) from error

    account_id = account["id"] if account is not None else create("account", {})
    contact_id = contact["id"] if contact is not None else create("contact", {"account": account_id})
    opportunity_id = None
    if choices["opportunity"] is not None:
        opportunity_id = create(
            "opportunity", {"account": account_id, "contact": contact_id, ctx.entity: lead.get("id")}
        )
    produced = {"account": account_id, "contact": contact_id, "opportunity": opportunity_id}
    return {
        RESULT_FIELDS[part]: record_id
        for part, record_id in produced.items()
        if RESULT_FIELDS[part] in lead_def.fields_by_name
    }


def read_mappings(model: Model, lead_def: EntityDef, params: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The params as `{part: {target field: lead field}}`; raises EngineError naming every mistake.

    A mistake here is in the workflow definition, not in the user's input.
    """
    problems = [f"'{key}' is not one of {', '.join(PARTS)}" for key in params if key not in PARTS]
    mappings: dict[str, dict[str, str]] = {}
    for part in PARTS:
        if part not in model.entities:
            problems.append(f"the model has no '{part}' entity")
            continue
        target = model.entity(part)
        mapping = params.get(part) or {}
        if not isinstance(mapping, Mapping):
            problems.append(f"{part}: expected target field: {lead_def.name} field, got {type(mapping).__name__}")
            continue
        for target_field, source_field in mapping.items():
            if target_field not in target.fields_by_name:
                problems.append(f"{part}.{target_field}: {part} has no characteristic '{target_field}'")
            if not isinstance(source_field, str) or source_field not in lead_def.fields_by_name:
                problems.append(f"{part}.{target_field}: {lead_def.name} has no characteristic {source_field!r}")
        mappings[part] = dict(mapping)
    if problems:
        raise EngineError("convert_lead params: " + "; ".join(problems))
    return mappings


def _refuse_if_converted(ctx: ActionContext, lead_def: EntityDef) -> None:
    record = ctx.record
    done = any(record.get(name) is not None for name in RESULT_FIELDS.values() if name in lead_def.fields_by_name)
    if done or ("status" in record and record["status"] == ctx.transition.to):
        raise _refusal(ctx, "status", "already_converted")


def _read_choices(ctx: ActionContext) -> dict[str, Choice | None]:
    inputs = ctx.inputs or {}
    unknown = [key for key in inputs if key not in PARTS]
    if unknown:
        raise RecordValidationError({key: [RuleError(key, "unknown")] for key in unknown}, ctx.entity)
    defaults: dict[str, Choice | None] = {"account": Choice(), "contact": Choice(), "opportunity": None}
    return {part: _read_choice(ctx, part, inputs[part]) if inputs.get(part) is not None else defaults[part]
            for part in PARTS}


def _read_choice(ctx: ActionContext, part: str, raw: Any) -> Choice:
    if (
        not isinstance(raw, Mapping)
        or set(raw) - {"id", "values"}
        or ("id" in raw and "values" in raw)
        or not isinstance(raw.get("values", {}), Mapping)
    ):
        raise _refusal(ctx, part, "bad_choice")
    if "id" not in raw:
        return Choice(values=dict(raw.get("values", {})))
    if part == "opportunity":
        raise _refusal(ctx, part, "new_only", entity=ctx.model.entity(part).label)
    record_id = raw["id"]
    if isinstance(record_id, str) and record_id.strip().isdigit():
        record_id = int(record_id)
    if isinstance(record_id, bool) or not isinstance(record_id, int):
        raise _refusal(ctx, part, "not_found", entity=ctx.model.entity(part).label, id=record_id)
    return Choice(existing_id=record_id)


def _existing(ctx: ActionContext, part: str, choice: Choice | None) -> dict[str, Any] | None:
    if choice is None or choice.existing_id is None:
        return None
    try:
        return ctx.tx.get(part, choice.existing_id)
    except NotFoundError:
        raise _refusal(ctx, part, "not_found", entity=ctx.model.entity(part).label, id=choice.existing_id) from None


def _refuse_contact_of_other_account(
    ctx: ActionContext, contact: Mapping[str, Any], account: Mapping[str, Any] | None
) -> None:
    link = link_field(ctx.model.entity("contact"), "account")
    if link is None:
        return
    if account is None or contact.get(link) != account["id"]:
        raise _refusal(ctx, "contact", "other_account", id=contact["id"])


def link_field(entity: EntityDef, target: str) -> str | None:
    """The characteristic of `entity` linking to `target`: the one named after it, else the first."""
    links = [f.name for f in entity.fields if f.type == "link" and f.entity == target]
    return target if target in links else next(iter(links), None)


def _linked(target: EntityDef, links: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for linked_entity, record_id in links.items():
        name = link_field(target, linked_entity)
        if name is not None and record_id is not None:
            values[name] = record_id
    return values


def _copied(lead_def: EntityDef, target: EntityDef, lead: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    values = {name: lead.get(name) for name in FOLLOWED_FIELDS if _same_field(lead_def, target, name)}
    values.update({target_field: lead.get(source) for target_field, source in mapping.items()})
    return {name: value for name, value in values.items() if not is_empty(value)}


def _same_field(lead_def: EntityDef, target: EntityDef, name: str) -> bool:
    mine, theirs = lead_def.fields_by_name.get(name), target.fields_by_name.get(name)
    return mine is not None and theirs is not None and (mine.type, mine.entity) == (theirs.type, theirs.entity)


def _refusal(ctx: ActionContext, key: str, rule: str, **params: Any) -> RecordValidationError:
    return RecordValidationError({key: [PluginRuleError(key, rule, MESSAGES[rule], params)]}, ctx.entity)
