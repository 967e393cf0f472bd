"""UI words of the generated pages, and numbers and dates written the way each language reads them.

Entity, field, value and status labels come from the `Model`; only the words of the
interface itself live here. `words(lang)` merges the home page's catalog (`ui_text`) with
the list pages' one, so templates use a single `ui` mapping; other modules add their own
catalogs with `register_words`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Mapping

from metamodel.model import LANGUAGES, Text

from ui_renderer.core.language import ui_text

DEFAULT_LANGUAGE = LANGUAGES[0]

LIST_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "new": "New",
        "search": "Search",
        "search_placeholder": "Search…",
        "filters": "Filters",
        "apply_filters": "Apply",
        "clear_filters": "Clear all",
        "remove_filter": "Remove this filter",
        "any": "Any",
        "yes": "Yes",
        "no": "No",
        "none": "(none)",
        "min": "From",
        "max": "To",
        "contains": "contains",
        "record_id": "Record number",
        "tab_open": "Open",
        "tab_history": "History",
        "tab_all": "All",
        "views": "Views",
        "group_by": "Group by",
        "no_grouping": "No grouping",
        "groups": "Groups",
        "page_size": "Per page",
        "page": "Page",
        "of": "of",
        "previous": "Previous",
        "next": "Next",
        "pagination": "Pages",
        "records_count_one": "1 record",
        "records_count": "{count} records",
        "showing": "{first}–{last} of {total}",
        "no_records": "No record matches.",
        "sort_by": "Sort by {label}",
        "sorted_asc": "sorted ascending",
        "sorted_desc": "sorted descending",
        "bad_request_title": "This list cannot be shown",
        "bad_request": "The address asks for something this list does not have.",
        "back_to_default": "Show the default list",
        "select_page": "Select all on this page",
        "select_all_matching": "Select all {count} records matching this filter",
        "mass_update": "Change several records",
        "mass_update_hint": "Tick the records below (or all of them), choose the characteristics to change and their new value.",
        "change": "Change",
        "new_value": "New value",
        "preview": "Preview the change",
        "preview_again": "Preview again",
        "apply": "Apply the change",
        "back_to_list": "Back to the list",
        "mass_update_title": "Change several {plural}",
        "selection_ids_one": "1 selected record",
        "selection_ids": "{count} selected records",
        "selection_all": "All {count} records matching the list's filter",
        "will_change_one": "1 record of {matched} will change.",
        "will_change": "{count} records of {matched} will change.",
        "will_change_none": "No record of {matched} would change: they already have these values.",
        "changed_one": "1 record changed.",
        "changed": "{count} records changed.",
        "changed_none": "No record changed.",
        "matched": "{matched} records were selected.",
        "refused_title": "Left unchanged",
        "record": "Record",
        "reason": "Reason",
        "no_selection": "Select at least one record (or all the records matching the filter).",
        "no_field": "Choose at least one characteristic to change.",
        "invalid_values": "These values cannot be given to the records: nothing was changed.",
        "mass_update_done_title": "{plural}: changes applied",
        "unchanged_value": "— choose —",
        "empty_value": "(empty)",
    },
    "fr": {
        "new": "Nouveau",
        "search": "Rechercher",
        "search_placeholder": "Rechercher…",
        "filters": "Filtres",
        "apply_filters": "Appliquer",
        "clear_filters": "Tout effacer",
        "remove_filter": "Retirer ce filtre",
        "any": "Indifférent",
        "yes": "Oui",
        "no": "Non",
        "none": "(aucun)",
        "min": "Du",
        "max": "Au",
        "contains": "contient",
        "record_id": "Numéro d'enregistrement",
        "tab_open": "En cours",
        "tab_history": "Historique",
        "tab_all": "Tous",
        "views": "Vues",
        "group_by": "Regrouper par",
        "no_grouping": "Sans regroupement",
        "groups": "Groupes",
        "page_size": "Par page",
        "page": "Page",
        "of": "sur",
        "previous": "Précédente",
        "next": "Suivante",
        "pagination": "Pages",
        "records_count_one": "1 enregistrement",
        "records_count": "{count} enregistrements",
        "showing": "{first}–{last} sur {total}",
        "no_records": "Aucun enregistrement ne correspond.",
        "sort_by": "Trier par {label}",
        "sorted_asc": "tri croissant",
        "sorted_desc": "tri décroissant",
        "bad_request_title": "Cette liste ne peut pas être affichée",
        "bad_request": "L'adresse demande quelque chose que cette liste n'a pas.",
        "back_to_default": "Afficher la liste par défaut",
        "select_page": "Tout sélectionner sur cette page",
        "select_all_matching": "Sélectionner les {count} enregistrements qui correspondent au filtre",
        "mass_update": "Modifier plusieurs enregistrements",
        "mass_update_hint": "Cochez les enregistrements ci-dessous (ou tous), choisissez les caractéristiques à modifier et leur nouvelle valeur.",
        "change": "Modifier",
        "new_value": "Nouvelle valeur",
        "preview": "Prévisualiser la modification",
        "preview_again": "Prévisualiser à nouveau",
        "apply": "Appliquer la modification",
        "back_to_list": "Retour à la liste",
        "mass_update_title": "Modifier plusieurs {plural}",
        "selection_ids_one": "1 enregistrement sélectionné",
        "selection_ids": "{count} enregistrements sélectionnés",
        "selection_all": "Les {count} enregistrements qui correspondent au filtre de la liste",
        "will_change_one": "1 enregistrement sur {matched} sera modifié.",
        "will_change": "{count} enregistrements sur {matched} seront modifiés.",
        "will_change_none": "Aucun des {matched} enregistrements ne changerait : ils ont déjà ces valeurs.",
        "changed_one": "1 enregistrement modifié.",
        "changed": "{count} enregistrements modifiés.",
        "changed_none": "Aucun enregistrement modifié.",
        "matched": "{matched} enregistrements étaient sélectionnés.",
        "refused_title": "Laissés inchangés",
        "record": "Enregistrement",
        "reason": "Motif",
        "no_selection": "Sélectionnez au moins un enregistrement (ou tous ceux qui correspondent au filtre).",
        "no_field": "Choisissez au moins une caractéristique à modifier.",
        "invalid_values": "Ces valeurs ne peuvent pas être données aux enregistrements : rien n'a été modifié.",
        "mass_update_done_title": "{plural} : modification appliquée",
        "unchanged_value": "— choisir —",
        "empty_value": "(vide)",
    },
}

SYSTEM_COLUMN_LABELS: dict[str, Text] = {
    "id": Text("No.", "N°"),
    "created_at": Text("Created", "Créé le"),
    "created_by": Text("Created by", "Créé par"),
    "updated_at": Text("Updated", "Modifié le"),
    "updated_by": Text("Updated by", "Modifié par"),
    "version": Text("Version", "Version"),
    "deleted_at": Text("Deleted", "Supprimé le"),
}

MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
}

NUMBER_SEPARATORS: dict[str, tuple[str, str]] = {"en": (",", "."), "fr": ("\u202f", ",")}
"""Language -> (thousands separator, decimal mark)."""

_catalogs: list[Mapping[str, Mapping[str, str]]] = [LIST_WORDS]
_merged: dict[str, dict[str, str]] = {}


def register_words(catalog: Mapping[str, Mapping[str, str]]) -> None:
    """Add another module's UI words (language -> key -> text) to `words()`."""
    _catalogs.append(catalog)
    _merged.clear()


def words(lang: str) -> dict[str, str]:
    """Every UI word in `lang` (the default language fills any gap)."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    merged = _merged.get(lang)
    if merged is None:
        merged = dict(ui_text(lang))
        for catalog in _catalogs:
            merged.update(catalog.get(DEFAULT_LANGUAGE, {}))
            merged.update(catalog.get(lang, {}))
        _merged[lang] = merged
    return merged


def count_words(lang: str, key: str, count: int, **params: object) -> str:
    """`key` with its `_one` form for a count of 1 (`records_count_one`), the plural form otherwise."""
    catalog = words(lang)
    template = catalog.get(f"{key}_one") if count == 1 else None
    if count == 0 and f"{key}_none" in catalog:
        template = catalog[f"{key}_none"]
    return (template or catalog[key]).format(count=format_integer(count, lang), **params)


def format_integer(value: int, lang: str) -> str:
    thousands, _ = NUMBER_SEPARATORS.get(lang, NUMBER_SEPARATORS[DEFAULT_LANGUAGE])
    return f"{value:,}".replace(",", thousands)


def format_decimal(value: Decimal | float | int, scale: int | None, lang: str) -> str:
    thousands, mark = NUMBER_SEPARATORS.get(lang, NUMBER_SEPARATORS[DEFAULT_LANGUAGE])
    digits = 2 if scale is None else scale
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\0").replace(".", mark).replace("\0", thousands)


def format_date(value: dt.date, lang: str) -> str:
    months = MONTHS.get(lang, MONTHS[DEFAULT_LANGUAGE])
    return f"{value.day} {months[value.month - 1]} {value.year}"


def format_datetime(value: dt.datetime, lang: str) -> str:
    return f"{format_date(value, lang)} {value:%H:%M}"
