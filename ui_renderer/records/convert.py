"""The lead conversion dialog: which account, contact and opportunity a conversion creates
or picks, prefilled from the lead, sent as the inputs of the converting transition.

Without JavaScript, choosing an existing account and asking for its contacts reloads the
dialog through a GET with `_reload=1` that carries what was entered so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from flask import abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from engine import ConflictError, RecordValidationError, TransitionError
from metamodel.model import EntityDef, TransitionDef
from plugins.lead_conversion import PARTS, RESULT_FIELDS, link_field

from .common import (
    acting, actor_layout, engine, entity_or_404, form_cache, hidden_of, html, lang_args, links, list_url, live_record,
    page_language, page_url, posted_version, rule_messages,
)
from .links import link_text
from .form_state import FormState, editable_widgets, field_renderer, is_blank, prepare_links, read_values
from .status import CONVERT_ACTION, has_convert_action
from ui_renderer.core.i18n import words
from ui_renderer.core.widgets import FormLayout, Option, Widget, form_text


@dataclass
class Part:
    """One record a conversion creates or picks: account, contact or opportunity."""

    name: str
    entity: EntityDef
    label: str
    widgets: list[Widget]
    prefill: dict[str, Any]
    mode: str = "new"
    existing: str = ""
    choices: list[Option] | None = None
    search: bool = False
    errors: list[str] = field(default_factory=list)
    hint: str | None = None

    @property
    def prefix(self) -> str:
        return f"{self.name}."


def convert(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    chosen = convert_transition(definition, request.args.get("transition") or request.form.get("transition"))
    lead = live_record(entity, record_id)
    lang = page_language()
    params = next(a.params for a in chosen.actions if a.kind == CONVERT_ACTION)
    parts = [
        new_part(name, dict(params.get(name) or {}), definition, lead, lang)
        for name in PARTS if name in engine().model.entities
    ]
    missing = [w for w in editable_widgets(actor_layout(entity, lang), chosen.required) if is_blank(lead.get(w.name))]
    state = FormState(values={})
    form = request.form if request.method == "POST" else (request.args if request.args.get("_reload") else None)
    if form is None:
        initial_convert_state(parts, state, lang)
    else:
        read_convert_state(parts, missing, form, state, lang)
    for part in parts:
        fill_part_choices(parts, part, lang)
    if request.method == "POST" and not state.errors and not any(p.errors for p in parts):
        outcome = apply_conversion(definition, lead, chosen, parts, missing, state, lang)
        if outcome is not None:
            return outcome
    return convert_page(definition, lead, chosen, parts, missing, state, status=422 if request.method == "POST" else 200)


def convert_transition(entity: EntityDef, name: str | None) -> TransitionDef:
    if not entity.workflow:
        abort(404)
    transitions = [t for t in engine().model.workflow(entity.workflow).transitions if has_convert_action(t)]
    chosen = next((t for t in transitions if t.name == name), None) if name else next(iter(transitions), None)
    if chosen is None:
        abort(404)
    return chosen


def new_part(name: str, mapping: Mapping[str, str], lead_entity: EntityDef, lead: Mapping[str, Any], lang: str) -> Part:
    """A part of the dialog, its inputs prefilled from the lead's mapped characteristics."""
    part_def = engine().model.entity(name)
    widgets = part_widgets(part_def, mapping, lead_entity, lang)
    prefill = {
        f"{name}.{w.name}": (list(lead.get(mapping[w.name]) or []) if w.kind == "multi_choice"
                             else form_text(w.field, lead.get(mapping[w.name])))
        if w.name in mapping else ("false" if w.kind == "boolean" else "")
        for w in widgets
    }
    return Part(name, part_def, part_def.label.get(lang), widgets, prefill)


def part_widgets(part: EntityDef, mapping: Mapping[str, str], lead: EntityDef, lang: str) -> list[Widget]:
    """The mapped characteristics, then the other mandatory ones; links the conversion sets itself are left out."""
    layout = actor_layout(part.name, lang, "create")
    automatic = {lead.name, *PARTS}
    names = [n for n in mapping if n in layout.widgets]
    names += [f.name for f in part.fields if f.mandatory and f.name not in names]
    return [w for w in editable_widgets(layout, names) if not (w.kind == "link" and w.target in automatic)]


def initial_convert_state(parts: list[Part], state: FormState, lang: str) -> None:
    """The dialog as first shown: the lead's values, and an existing account picked when exactly
    one has the name the lead gives."""
    for part in parts:
        state.values.update(part.prefill)
    account = next((p for p in parts if p.name == "account"), None)
    if account is None:
        return
    first_title_field = next(iter(form_cache().template("account").columns), None)
    if first_title_field not in account.entity.fields_by_name or first_title_field in hidden_of("account"):
        return
    value = state.values.get(f"account.{first_title_field}")
    if isinstance(value, str) and value.strip():
        matches = links().where("account", first_title_field, value.strip(), limit=2)
        if len(matches) == 1:
            account.mode, account.existing = "existing", matches[0].value
            account.hint = words(lang)["f_convert_match"].format(entity=account.label.lower())


def read_convert_state(parts: list[Part], missing: list[Widget], form: MultiDict, state: FormState, lang: str) -> None:
    read_values(missing, form, lang, state)
    for part in parts:
        read_values(part.widgets, form, lang, state, prefix=part.prefix)
        if part.name == "opportunity":
            part.mode = "new" if form.get("opportunity_create") else "none"
            continue
        part.mode = "existing" if form.get(f"{part.name}_mode") == "existing" else "new"
        part.existing = form.get(f"{part.name}_id", "").strip()


def fill_part_choices(parts: list[Part], part: Part, lang: str) -> None:
    """The records one may pick for a part: any account; the chosen account's contacts."""
    if part.name == "opportunity":
        return
    reader = links()
    if part.name == "account":
        choices = reader.choices("account")
        if choices is None:
            part.search = True
            if part.existing.isdigit():
                title = reader.titles("account", [int(part.existing)]).get(int(part.existing))
                part.existing = link_text(title, part.existing) if title else part.existing
        else:
            part.choices = choices
        return
    account = next((p for p in parts if p.name == "account"), None)
    account_id = None
    if account is not None and account.mode == "existing":
        account_id, _problem = reader.resolve("account", account.existing, lang)
    link = link_field(part.entity, "account")
    part.choices = reader.where(part.name, link, account_id) if account_id is not None and link else None


def apply_conversion(
    definition: EntityDef, lead: dict[str, Any], chosen: TransitionDef, parts: list[Part], missing: list[Widget],
    state: FormState, lang: str,
) -> ResponseReturnValue | None:
    """Run the transition with the dialog's inputs; None when it was refused (errors are in `state`)."""
    reader = links()
    inputs: dict[str, Any] = {}
    for part in parts:
        if part.mode == "none":
            inputs[part.name] = None
        elif part.mode == "existing":
            record_id, problem = reader.resolve(part.name, part.existing, lang)
            if record_id is None:
                part.errors.append(problem or words(lang)["f_link_none"].format(entity=part.label, value=part.existing))
                continue
            inputs[part.name] = {"id": record_id}
        else:
            inputs[part.name] = {"values": new_record_values(part, state, lang)}
    if any(p.errors for p in parts):
        return None
    values = {w.name: state.values.get(w.name, "") for w in missing} or None
    layout = actor_layout(definition.name, lang)
    try:
        updated = engine().records.transition(
            definition.name, lead["id"], chosen.name, acting(), values=values, inputs=inputs, version=posted_version()
        )
    except (RecordValidationError, TransitionError) as error:
        if isinstance(error, TransitionError) and not error.errors:
            state.other_errors.append(error.message(lang))
        else:
            apply_convert_errors(layout, parts, missing, rule_messages(error.errors, lang), state)
        return None
    except ConflictError:
        state.other_errors.append(words(lang)["f_stale_action"])
        return None
    created = [
        name for name in RESULT_FIELDS.values()
        if name in definition.fields_by_name and updated.get(name) is not None and lead.get(name) != updated.get(name)
    ]
    return redirect(page_url("forms.edit", entity=definition.name, record_id=lead["id"], done=chosen.name, created=created), 303)


def new_record_values(part: Part, state: FormState, lang: str) -> dict[str, Any]:
    """What the dialog holds for a record the conversion creates, links resolved to ids."""
    values = {}
    for w in part.widgets:
        entered = state.values[part.prefix + w.name]
        values[w.name] = links().resolved(w.target or "", entered, lang) if w.kind == "link" else entered
    return values


def apply_convert_errors(
    layout: FormLayout, parts: list[Part], missing: list[Widget], messages: Mapping[str, list[str]], state: FormState
) -> None:
    """Each refusal next to its input, in its part, or on top."""
    by_part = {p.name: p for p in parts}
    visible = {w.name for w in missing} | {p.prefix + w.name for p in parts for w in p.widgets}
    rest: dict[str, list[str]] = {}
    for key, texts in messages.items():
        part_name, dot, field_name = key.partition(".")
        if key in by_part:
            by_part[key].errors.extend(texts)
        elif key in visible:
            state.errors.setdefault(key, []).extend(texts)
        elif dot and part_name in by_part:
            widget = actor_layout(part_name, layout.lang, "create").widgets.get(field_name)
            by_part[part_name].errors.extend(f"{widget.label if widget else key}: {t}" for t in texts)
        else:
            rest[key] = texts
    state.add_errors(layout, rest, ())


def convert_page(
    definition: EntityDef, lead: dict[str, Any], chosen: TransitionDef, parts: list[Part], missing: list[Widget],
    state: FormState, *, status: int,
) -> ResponseReturnValue:
    lang = page_language()
    found = prepare_links(missing, state)
    for part in parts:
        prepare_links(part.widgets, state, prefix=part.prefix, into=found)
    title = form_cache().title(definition.name, lead, lang)
    return html(
        "convert.html", status, entity=definition, record=lead, transition=chosen, parts=parts, missing=missing,
        state=state, field=field_renderer(state, found, {}, None),
        heading=words(lang)["f_convert_title"].format(title=title), title=title,
        action=page_url("forms.convert", entity=definition.name, record_id=lead["id"], transition=chosen.name),
        reload_action=url_for("forms.convert", entity=definition.name, record_id=lead["id"]),
        version=request.form.get("_version") or lead["version"],
        back_url=page_url("forms.edit", entity=definition.name, record_id=lead["id"]), list_url=list_url(definition.name),
        lang_arg=lang_args().get("lang"),
    )
