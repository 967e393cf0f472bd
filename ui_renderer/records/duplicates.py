"""Probable duplicates and merging, as pages: the `duplicates` blueprint.

- `/<entity>/duplicates`: the groups each duplicate rule finds (`?rule=` for one rule),
  each record linked to its form and to the page comparing it with the oldest of its group;
- `/<entity>/merge/<keep_id>/<other_id>`: both records side by side, a choice per differing
  value; posting merges (engine/records/merging.py) and redirects to the kept record's form with
  `?merged=<other_id>`.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, abort, redirect, request
from flask.typing import ResponseReturnValue

from engine import ConflictError, NotFoundError, RecordValidationError
from engine.records.duplicates import DuplicateGroup, find_duplicates
from engine.records.merging import MergeError, merge
from engine.access.permissions import PermissionDenied
from metamodel.model import EntityDef

from .common import (
    acting, actor_layout, allows, denied, engine, entity_or_404, entity_url, form_cache, hidden_of, html, links, list_url,
    live_record, page_language, page_url, posted_version,
)
from ui_renderer.core.i18n import register_words, words
from ui_renderer.core.widgets import FormLayout, display

duplicates = Blueprint("duplicates", __name__)

GROUPS_SHOWN = 100
"""The duplicates page shows at most this many groups (and says when there are more)."""
KEEP, OTHER = "keep", "other"
"""The values of each `choose_<field>` radio of the merge page."""

register_words({
    "en": {
        "dup_link": "Duplicates",
        "dup_title": "Probable duplicates: {plural}",
        "dup_all_rules": "All rules",
        "dup_rule": "Rule",
        "dup_no_rules": "No duplicate rule is declared for {plural}.",
        "dup_none": "No probable duplicates found.",
        "dup_more": "Only the first {count} groups are shown: merge these, then look again.",
        "dup_group": "{count} records",
        "dup_oldest": "oldest",
        "dup_compare": "Compare and merge",
        "dup_merge_title": "Merge “{other}” into “{keep}”",
        "dup_merge_help": "For each value that differs, choose the one to keep. Every record linked to the other "
                          "record will then link to the record kept, and the other record goes to the trash.",
        "dup_characteristic": "Characteristic",
        "dup_kept": "Record kept",
        "dup_merged": "Merged, then moved to the trash",
        "dup_same": "Same value",
        "dup_locked": "You may not change this value: the kept record's stays.",
        "dup_merge": "Merge",
        "dup_swap": "Keep the other record instead",
        "dup_stale": "One of the records was changed meanwhile: check the values again, then merge.",
        "dup_merged_notice": "Record no. {id} was merged into “{title}” and moved to the trash.",
        "dup_refused": "These records cannot be merged: {reason}",
        "dup_history_from": "Merged from",
        "dup_history_into": "Merged into",
        "dup_history_moved": "Links moved",
        "f_action_merge": "Merged",
    },
    "fr": {
        "dup_link": "Doublons",
        "dup_title": "Doublons probables : {plural}",
        "dup_all_rules": "Toutes les règles",
        "dup_rule": "Règle",
        "dup_no_rules": "Aucune règle de doublons n'est déclarée pour {plural}.",
        "dup_none": "Aucun doublon probable trouvé.",
        "dup_more": "Seuls les {count} premiers groupes sont affichés : fusionnez-les, puis regardez à nouveau.",
        "dup_group": "{count} enregistrements",
        "dup_oldest": "le plus ancien",
        "dup_compare": "Comparer et fusionner",
        "dup_merge_title": "Fusionner « {other} » dans « {keep} »",
        "dup_merge_help": "Pour chaque valeur qui diffère, choisissez celle à garder. Tous les enregistrements liés à "
                          "l'autre enregistrement seront ensuite liés à celui conservé, et l'autre ira à la corbeille.",
        "dup_characteristic": "Caractéristique",
        "dup_kept": "Enregistrement conservé",
        "dup_merged": "Fusionné, puis mis à la corbeille",
        "dup_same": "Même valeur",
        "dup_locked": "Vous ne pouvez pas modifier cette valeur : celle de l'enregistrement conservé reste.",
        "dup_merge": "Fusionner",
        "dup_swap": "Conserver plutôt l'autre enregistrement",
        "dup_stale": "L'un des enregistrements a été modifié entre-temps : vérifiez à nouveau les valeurs, puis fusionnez.",
        "dup_merged_notice": "L'enregistrement n° {id} a été fusionné dans « {title} » puis mis à la corbeille.",
        "dup_refused": "Ces enregistrements ne peuvent pas être fusionnés : {reason}",
        "dup_history_from": "Fusionné depuis",
        "dup_history_into": "Fusionné dans",
        "dup_history_moved": "Liens déplacés",
        "f_action_merge": "Fusion",
    },
})


# -- the groups ------------------------------------------------------------------------------


@duplicates.get("/<entity>/duplicates")
def groups(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    rule = request.args.get("rule") or None
    if rule is not None and rule not in {r.name for r in definition.duplicate_rules}:
        abort(404)
    lang = page_language()
    found = find_duplicates(engine().records, entity, acting(), rule=rule, limit=GROUPS_SHOWN + 1)
    more = len(found) > GROUPS_SHOWN
    found = found[:GROUPS_SHOWN]
    titles = links().titles(entity, [i for group in found for i in group.ids])
    can_merge = allows(entity, "update") and allows(entity, "delete")
    layout = actor_layout(entity, lang)
    rules = [
        {"name": r.name, "label": r.label.get(lang), "url": page_url("duplicates.groups", entity=entity, rule=r.name),
         "current": r.name == rule, "groups": [_group(entity, layout, r.fields, g, titles, can_merge, lang)
                                               for g in found if g.rule == r.name]}
        for r in definition.duplicate_rules if rule is None or r.name == rule
    ]
    return html(
        "duplicates/groups.html", entity=definition, rules=rules, rule=rule, more=more, count=GROUPS_SHOWN,
        any_group=bool(found), all_url=entity_url("duplicates.groups", entity), list_url=list_url(entity),
    )


def _group(
    entity: str, layout: FormLayout, fields: tuple[str, ...], group: DuplicateGroup, titles: Mapping[int, str],
    can_merge: bool, lang: str,
) -> dict[str, Any]:
    """One group as the page shows it: the shared key, then its records, oldest first."""
    key_titles = {
        name: links().titles(layout.widgets[name].target or "", [value])
        for name, value in zip(fields, group.key) if name in layout.widgets and layout.widgets[name].kind == "link"
    }
    key = [display(layout.widgets[name], value, lang, key_titles.get(name)) for name, value in zip(fields, group.key)
           if name in layout.widgets]
    oldest = group.ids[0]
    records = [
        {
            "id": record_id, "title": form_cache().named(entity, record_id, titles.get(record_id, f"#{record_id}"), lang),
            "url": page_url("forms.edit", entity=entity, record_id=record_id),
            "merge_url": page_url("duplicates.merge_page", entity=entity, keep_id=oldest, other_id=record_id)
            if can_merge and record_id != oldest else None,
        }
        for record_id in group.ids
    ]
    return {"key": " · ".join(key), "records": records}


# -- comparing and merging ---------------------------------------------------------------------


@duplicates.route("/<entity>/merge/<int:keep_id>/<int:other_id>", methods=["GET", "POST"])
def merge_page(entity: str, keep_id: int, other_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    if not (allows(entity, "update") and allows(entity, "delete")):
        raise PermissionDenied(entity, "update" if not allows(entity, "update") else "delete")
    keep, other = live_record(entity, keep_id), live_record(entity, other_id)
    lang = page_language()
    if keep_id == other_id:
        return _compare(definition, keep, other, status=409,
                        problem=words(lang)["dup_refused"].format(reason=MergeError(
                            "same_record", {"entity": definition.label, "id": keep_id}).message(lang)))
    if request.method != "POST":
        return _compare(definition, keep, other)
    rows = _rows(definition, keep, other, lang)
    take = [row["name"] for row in rows if row["choice"] and request.form.get(f"choose_{row['name']}") == OTHER]
    try:
        merge(engine().records, entity, keep_id, other_id, take, acting(),
              keep_version=posted_version(), other_version=_version("_other_version"))
    except NotFoundError:
        abort(404)
    except ConflictError:
        fresh_keep, fresh_other = live_record(entity, keep_id), live_record(entity, other_id)
        return _compare(definition, fresh_keep, fresh_other, status=409, problem=words(lang)["dup_stale"])
    except MergeError as error:
        if error.reason == "other_missing":  # trashed for good or gone out of reach since the page was read
            abort(404)
        return _compare(definition, keep, other, status=409,
                        problem=words(lang)["dup_refused"].format(reason=error.message(lang)))
    except RecordValidationError as error:
        return _compare(definition, keep, other, status=422,
                        problem=words(lang)["dup_refused"].format(reason=error.describe(lang)))
    return redirect(page_url("forms.edit", entity=entity, record_id=keep_id, merged=other_id), 303)


def _version(name: str) -> int | None:
    text = request.form.get(name, "")
    return int(text) if text.isdigit() else None


def _compare(
    definition: EntityDef, keep: Mapping[str, Any], other: Mapping[str, Any], *, status: int = 200,
    problem: str | None = None,
) -> ResponseReturnValue:
    lang = page_language()
    cache = form_cache()
    keep_title, other_title = cache.title(definition.name, keep, lang), cache.title(definition.name, other, lang)
    return html(
        "duplicates/merge.html", status, entity=definition, keep=keep, other=other, keep_title=keep_title,
        other_title=other_title, rows=_rows(definition, keep, other, lang), problem=problem,
        heading=words(lang)["dup_merge_title"].format(keep=keep_title, other=other_title),
        can_submit=keep["id"] != other["id"],
        action=page_url("duplicates.merge_page", entity=definition.name, keep_id=keep["id"], other_id=other["id"]),
        swap_url=page_url("duplicates.merge_page", entity=definition.name, keep_id=other["id"], other_id=keep["id"]),
        keep_url=page_url("forms.edit", entity=definition.name, record_id=keep["id"]),
        other_url=page_url("forms.edit", entity=definition.name, record_id=other["id"]),
        list_url=list_url(definition.name), duplicates_url=entity_url("duplicates.groups", definition.name),
    )


def _rows(definition: EntityDef, keep: Mapping[str, Any], other: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per characteristic the actor sees and one of the records fills: both values, and whether
    (and how) to choose one.

    `choice` is set on values that differ and that the actor may change: the radio's checked
    side is the kept record's value, unless it is empty and the other's is not.
    """
    layout = actor_layout(definition.name, lang)
    hidden = hidden_of(definition.name)
    targets: dict[str, set[int]] = {}
    for name, w in layout.widgets.items():
        if w.kind == "link" and name not in hidden:
            targets.setdefault(w.target or "", set()).update(v for v in (keep.get(name), other.get(name)) if v is not None)
    titles = {target: links().titles(target, ids) for target, ids in targets.items()}
    rows = []
    for f in definition.fields:
        w = layout.widgets.get(f.name)
        if w is None or f.name in hidden:
            continue
        mine, theirs = keep.get(f.name), other.get(f.name)
        if _empty(mine) and _empty(theirs):
            continue  # nothing to compare or to keep
        differs = mine != theirs
        choosable = differs and not w.readonly and f.type != "status"
        rows.append({
            "name": f.name, "label": w.label,
            "keep": display(w, mine, lang, titles.get(w.target or "")),
            "other": display(w, theirs, lang, titles.get(w.target or "")),
            "differs": differs, "locked": differs and not choosable,
            "choice": (OTHER if _empty(mine) and not _empty(theirs) else KEEP) if choosable else None,
        })
    return rows


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# -- the history page ------------------------------------------------------------------------


def merge_changes(changes: Mapping[str, Any] | None, lang: str) -> list[dict[str, str]]:
    """The rows the history page shows for a `merge` audit entry, whose `changes` name records
    (`{"merged_from": id}` or `{"merged_into": id, "moved": {"entity.link": count}}`), not fields."""
    ui = words(lang)
    changes = changes or {}
    rows = []
    for key, word in (("merged_from", "dup_history_from"), ("merged_into", "dup_history_into")):
        if isinstance(changes.get(key), int):
            rows.append({"label": ui[word], "old": "", "new": ui["f_record_no"].format(id=changes[key])})
    moved = changes.get("moved")
    if isinstance(moved, Mapping) and moved:
        rows.append({"label": ui["dup_history_moved"], "old": "",
                     "new": ", ".join(f"{name}: {count}" for name, count in moved.items())})
    return rows


duplicates.register_error_handler(PermissionDenied, denied)
duplicates.register_error_handler(403, denied)
