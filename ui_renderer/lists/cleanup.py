"""The records to clean up after a rule was made stricter: the `cleanup` blueprint.

`/<entity>/cleanup` lists the records (in the user's scope) that break a rule tightened after
they were written (engine/schema/cleanup.py): which characteristic, which rule, the value it
has. They keep their values; whoever edits them must correct them. A record corrected since
drops off the list.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from engine.schema.cleanup import records_to_clean

from ui_renderer.records.common import (
    acting, actor_layout, engine, entity_or_404, form_cache, hidden_of, html, links, list_url, page_language, page_url,
)
from ui_renderer.core.i18n import register_words
from ui_renderer.core.widgets import display

cleanup = Blueprint("cleanup", __name__)

SHOWN = 500
"""The page lists at most this many problems (and says when there are more)."""

register_words({
    "en": {
        "cleanup_link": "To clean up",
        "cleanup_title": "{plural} to clean up",
        "cleanup_help": "These records were written before a rule became stricter. They keep their values: "
                        "correct them the next time you edit them.",
        "cleanup_none": "Nothing to clean up: every record follows the current rules.",
        "cleanup_more": "Only the first {count} are shown.",
        "cleanup_record": "Record",
        "cleanup_field": "Characteristic",
        "cleanup_rule": "Rule",
        "cleanup_value": "Value",
        "cleanup_since": "Listed on",
    },
    "fr": {
        "cleanup_link": "À corriger",
        "cleanup_title": "{plural} à corriger",
        "cleanup_help": "Ces enregistrements ont été saisis avant qu'une règle devienne plus stricte. Ils gardent "
                        "leurs valeurs : corrigez-les à leur prochaine modification.",
        "cleanup_none": "Rien à corriger : chaque enregistrement respecte les règles actuelles.",
        "cleanup_more": "Seuls les {count} premiers sont affichés.",
        "cleanup_record": "Enregistrement",
        "cleanup_field": "Caractéristique",
        "cleanup_rule": "Règle",
        "cleanup_value": "Valeur",
        "cleanup_since": "Signalé le",
    },
})


@cleanup.get("/<entity>/cleanup")
def records(entity: str) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    lang = page_language()
    hidden = hidden_of(entity)
    found = [item for item in records_to_clean(engine(), entity, limit=SHOWN + 1) if item.field not in hidden]
    more = len(found) > SHOWN
    found = found[:SHOWN]
    titles = links().titles(entity, [item.record_id for item in found])  # only the records in the actor's scope
    values = {}
    if titles:
        with engine().records.reading(acting()) as tx:
            values = {record_id: tx.get(entity, record_id) for record_id in titles}
    layout = actor_layout(entity, lang)
    rows = []
    for item in found:
        if item.record_id not in titles:
            continue
        widget = layout.widgets.get(item.field)
        value = values[item.record_id].get(item.field)
        rows.append({
            "title": form_cache().named(entity, item.record_id, titles[item.record_id], lang),
            "url": page_url("forms.edit", entity=entity, record_id=item.record_id),
            "field": widget.label if widget is not None else item.field,
            "rule": item.message(lang),
            "value": display(widget, value, lang) if widget is not None else str(value),
            "since": item.detected_at,
        })
    return html("cleanup/list.html", entity=definition, rows=rows, more=more, count=SHOWN, list_url=list_url(entity))
