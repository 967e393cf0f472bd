"""Record error messages in English and French, keyed by rule name."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "mandatory": {"en": "This field is mandatory.", "fr": "Ce champ est obligatoire."},
    "type": {"en": "Not a valid {type}.", "fr": "Valeur invalide pour le type {type}."},
    "min": {"en": "Must be at least {min}.", "fr": "Doit valoir au moins {min}."},
    "max": {"en": "Must be at most {max}.", "fr": "Doit valoir au plus {max}."},
    "min_length": {
        "en": "Must be at least {min_length} characters long.",
        "fr": "Doit contenir au moins {min_length} caractères.",
    },
    "max_length": {
        "en": "Must be at most {max_length} characters long.",
        "fr": "Doit contenir au plus {max_length} caractères.",
    },
    "characters": {
        "en": "Contains characters that cannot be stored (such as NUL).",
        "fr": "Contient des caractères impossibles à enregistrer (comme NUL).",
    },
    "pattern": {"en": "Does not match the expected format.", "fr": "Ne respecte pas le format attendu."},
    "email": {"en": "Not a valid email address.", "fr": "Adresse e-mail invalide."},
    "url": {"en": "Not a valid URL (http or https).", "fr": "URL invalide (http ou https)."},
    "phone": {"en": "Not a valid phone number.", "fr": "Numéro de téléphone invalide."},
    "scale": {
        "en": "At most {scale} digits after the decimal point.",
        "fr": "Au plus {scale} chiffres après la virgule.",
    },
    "precision": {"en": "At most {precision} digits in all.", "fr": "Au plus {precision} chiffres au total."},
    "choice": {"en": "'{value}' is not a value of this list.", "fr": "« {value} » n'est pas une valeur de cette liste."},
    "retired": {
        "en": "'{value}' is retired and can no longer be chosen.",
        "fr": "« {value} » est retiré et ne peut plus être choisi.",
    },
    "status": {"en": "'{value}' is not a status of this workflow.", "fr": "« {value} » n'est pas un statut de ce processus."},
    "link": {"en": "No {entity} with id {value}.", "fr": "Aucun enregistrement {entity} d'identifiant {value}."},
    "unique": {"en": "This value is already used.", "fr": "Cette valeur est déjà utilisée."},
    "readonly": {"en": "This field is read-only.", "fr": "Ce champ est en lecture seule."},
    "unknown": {"en": "Unknown field.", "fr": "Champ inconnu."},
    "conflict": {
        "en": "{entity} {id} was changed by someone else: you edited version {expected}, it is now at version {version}",
        "fr": "{entity} {id} a été modifié par quelqu'un d'autre : vous avez modifié la version {expected}, elle est maintenant à la version {version}",
    },
    "transition": {
        "en": "The status changes only through a workflow transition.",
        "fr": "Le statut ne change que par une transition du processus.",
    },
    "initial": {"en": "A new record starts in status '{value}'.", "fr": "Un nouvel enregistrement commence au statut « {value} »."},
    "required_on_entry": {
        "en": "Required to enter status '{status}'.",
        "fr": "Obligatoire pour passer au statut « {status} ».",
    },
    "format": {"en": "{message_en}", "fr": "{message_fr}"},
    "no_workflow": {"en": "{entity} has no workflow.", "fr": "{entity} n'a pas de processus."},
    "unknown_transition": {
        "en": "There is no transition '{transition}' in this workflow.",
        "fr": "Il n'y a pas de transition « {transition} » dans ce processus.",
    },
    "not_from": {
        "en": "'{transition}' cannot start from status '{status}'.",
        "fr": "« {transition} » ne peut pas partir du statut « {status} ».",
    },
    "role": {
        "en": "'{transition}' needs one of the roles: {roles}.",
        "fr": "« {transition} » demande l'un des rôles : {roles}.",
    },
    "guard": {
        "en": "The condition of '{transition}' is not met: {condition}.",
        "fr": "La condition de « {transition} » n'est pas remplie : {condition}.",
    },
    "required": {
        "en": "Fields required to enter '{status}' are missing: {fields}.",
        "fr": "Des champs obligatoires pour passer à « {status} » manquent : {fields}.",
    },
    "no_transition_to": {
        "en": "No transition leads from status '{status}' to '{to}'.",
        "fr": "Aucune transition ne mène du statut « {status} » à « {to} ».",
    },
    "not_free": {
        "en": "This workflow has no free mode: use one of its transitions.",
        "fr": "Ce processus n'a pas de mode libre : utilisez l'une de ses transitions.",
    },
    "unknown_status": {
        "en": "There is no status '{status}' in this workflow.",
        "fr": "Il n'y a pas de statut « {status} » dans ce processus.",
    },
    "unknown_action": {
        "en": "No plugin provides the action '{action}'.",
        "fr": "Aucun greffon ne fournit l'action « {action} ».",
    },
    "expression": {"en": "Could not evaluate the rule: {error}", "fr": "Impossible d'évaluer la règle : {error}"},
}


def message(rule: str, lang: str | None, params: dict[str, Any]) -> str:
    texts = MESSAGES.get(rule, {"en": rule, "fr": rule})
    template = texts.get(lang or "en", texts["en"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


OPERATION_WORDS: dict[str, dict[str, str]] = {
    "read": {"en": "read", "fr": "lire"},
    "create": {"en": "create", "fr": "créer"},
    "update": {"en": "change", "fr": "modifier"},
    "delete": {"en": "delete", "fr": "supprimer"},
    "export": {"en": "export", "fr": "exporter"},
    "import": {"en": "import", "fr": "importer"},
    "mass_update": {"en": "mass-update", "fr": "modifier en masse"},
}
"""The operations of metamodel.model.ENTITY_OPERATIONS, as a sentence says them ("allowed to ...")."""


def operation_word(operation: str, lang: str | None) -> str:
    words = OPERATION_WORDS.get(operation)
    return words.get(lang or "en", words["en"]) if words else operation.replace("_", " ")
