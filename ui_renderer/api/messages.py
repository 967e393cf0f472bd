"""The API's own words (engine errors carry theirs), in English and French."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "unauthorized": {
        "en": "Authentication required: send 'Authorization: Bearer <token>' with a valid token.",
        "fr": "Authentification requise : envoyez « Authorization: Bearer <jeton> » avec un jeton valide.",
    },
    "forbidden": {
        "en": "You may not {operation} records of {entity}.",
        "fr": "Vous ne pouvez pas {operation} des enregistrements de {entity}.",
    },
    "forbidden_fields": {
        "en": "You have no access to: {fields}.",
        "fr": "Vous n'avez pas accès à : {fields}.",
    },
    "unknown_entity": {"en": "There is no entity '{entity}'.", "fr": "Il n'y a pas d'entité « {entity} »."},
    "expected_values": {"en": "expected a value or a list of values", "fr": "une valeur ou une liste de valeurs est attendue"},
    "file_required": {"en": "a file is required (multipart field 'file')",
                      "fr": "un fichier est attendu (champ multipart « file »)"},
    "expected_text": {"en": "expected text", "fr": "du texte est attendu"},
    "expected_delimiter": {"en": "expected ',', ';' or 'tab'", "fr": "« , », « ; » ou « tab » est attendu"},
    "expected_mapping": {"en": "expected a JSON object: column header -> characteristic name (or \"\")",
                         "fr": "un objet JSON est attendu : en-tête de colonne -> nom de caractéristique (ou \"\")"},
    "expected_whole_number": {"en": "expected a whole number from 1 to {maximum}",
                              "fr": "un nombre entier de 1 à {maximum} est attendu"},
    "expected_boolean": {"en": "expected true or false", "fr": "true ou false est attendu"},
    "expected_one_of": {"en": "expected one of {available}", "fr": "valeurs possibles : {available}"},
    "unknown_relation": {
        "en": "{entity} has no related records '{relation}'; known: {known}.",
        "fr": "{entity} n'a pas d'enregistrements liés « {relation} » ; connus : {known}.",
    },
    "unknown_list": {"en": "There is no value list '{name}'.", "fr": "Il n'y a pas de liste de valeurs « {name} »."},
    "not_found": {"en": "No {entity} with id {id}.", "fr": "Aucun enregistrement {entity} d'identifiant {id}."},
    "no_route": {"en": "There is nothing at this address.", "fr": "Il n'y a rien à cette adresse."},
    "not_historized": {
        "en": "{entity} has no history for '{field}': only historized characteristics keep one.",
        "fr": "{entity} n'a pas d'historique pour « {field} » : seules les caractéristiques historisées en ont un.",
    },
    "method": {
        "en": "Method not allowed here; allowed: {allowed}.",
        "fr": "Méthode non permise ici ; méthodes permises : {allowed}.",
    },
    "too_large": {
        "en": "The request body is too large (at most {limit} bytes).",
        "fr": "Le corps de la requête est trop grand (au plus {limit} octets).",
    },
    "bad_json": {"en": "The request body is not valid JSON.", "fr": "Le corps de la requête n'est pas du JSON valide."},
    "not_object": {"en": "Expected a JSON object.", "fr": "Un objet JSON est attendu."},
    "bad_text": {
        "en": "Text may not contain NUL characters or invalid Unicode.",
        "fr": "Le texte ne peut contenir ni caractère NUL ni Unicode invalide.",
    },
    "bad_number": {"en": "This number is out of range.", "fr": "Ce nombre est hors limites."},
    "bad_query": {"en": "Invalid query parameter '{parameter}'.", "fr": "Paramètre de requête invalide « {parameter} »."},
    "bad_request": {"en": "The request is not valid.", "fr": "La requête n'est pas valide."},
    "bad_ids": {
        "en": "Give 'ids' (a list of record ids) or 'filter' (list query parameters), not both.",
        "fr": "Donnez « ids » (une liste d'identifiants) ou « filter » (des paramètres de liste), pas les deux.",
    },
    "bad_version": {"en": "A version is a whole number from 0 to {maximum}.",
                    "fr": "Une version est un nombre entier de 0 à {maximum}."},
    "bad_as_of": {
        "en": "'as_of' is an ISO date or date-time (2026-01-31 or 2026-01-31T12:00:00Z).",
        "fr": "« as_of » est une date ou une date-heure ISO (2026-01-31 ou 2026-01-31T12:00:00Z).",
    },
    "conflict": {
        "en": "Someone changed this record since you read it: you sent version {expected}, it is now at version {version}.",
        "fr": "Quelqu'un a modifié cet enregistrement depuis votre lecture : vous avez envoyé la version {expected}, "
              "elle est maintenant à la version {version}.",
    },
    "state": {"en": "This cannot be done in the record's current state: {detail}.",
              "fr": "Impossible dans l'état actuel de l'enregistrement : {detail}."},
    "invalid": {"en": "Some values are not valid.", "fr": "Certaines valeurs ne sont pas valides."},
    "refused": {"en": "Refused: {detail}", "fr": "Refusé : {detail}"},
    "server_error": {
        "en": "Something went wrong on the server; the error was logged under the id {error_id}.",
        "fr": "Une erreur est survenue sur le serveur ; elle a été journalisée sous l'identifiant {error_id}.",
    },
    "version_required": {
        "en": "Send the version you read, as 'version' in the body or as an 'If-Match' header (the record's "
              "ETag): without it, this change could overwrite someone else's.",
        "fr": "Envoyez la version lue, en « version » dans le corps ou en en-tête « If-Match » (l'ETag de "
              "l'enregistrement) : sans elle, cette modification pourrait écraser celle d'un autre.",
    },
    "version_required_query": {
        "en": "Send the version you read, as '?version=' or as an 'If-Match' header (the record's ETag): "
              "without it, this deletion could discard someone else's change.",
        "fr": "Envoyez la version lue, en « ?version= » ou en en-tête « If-Match » (l'ETag de l'enregistrement) : "
              "sans elle, cette suppression pourrait effacer la modification d'un autre.",
    },
    "version_disagree": {
        "en": "'version' ({version}) and 'If-Match' ({if_match}) name different versions.",
        "fr": "« version » ({version}) et « If-Match » ({if_match}) désignent des versions différentes.",
    },
    "bad_if_match": {
        "en": "'If-Match' is the ETag of the record as read (\"3\"): one version, not a list nor '*'.",
        "fr": "« If-Match » est l'ETag de l'enregistrement lu (\"3\") : une seule version, ni une liste ni « * ».",
    },
    "bad_parameter": {"en": "Invalid parameter '{parameter}'.", "fr": "Paramètre invalide « {parameter} »."},
    "batch_invalid": {
        "en": "Some records are not valid: nothing was written.",
        "fr": "Certains enregistrements ne sont pas valides : rien n'a été enregistré.",
    },
    "batch_records": {
        "en": "'records' is a list of records, each a JSON object.",
        "fr": "« records » est une liste d'enregistrements, chacun un objet JSON.",
    },
    "batch_empty": {
        "en": "'records' is empty: send at least one record.",
        "fr": "« records » est vide : envoyez au moins un enregistrement.",
    },
    "batch_too_many": {
        "en": "A batch holds at most {limit} records; this one has {count}.",
        "fr": "Un lot contient au plus {limit} enregistrements ; celui-ci en a {count}.",
    },
    "batch_partial": {"en": "'partial' is true or false.", "fr": "« partial » vaut true ou false."},
    "batch_unknown": {"en": "'{name}' is not expected here: send 'records' and 'partial'.",
                      "fr": "« {name} » n'est pas attendu ici : envoyez « records » et « partial »."},
    "batch_row_too_large": {
        "en": "This record takes {size} bytes of JSON; a record of a batch takes at most {limit}.",
        "fr": "Cet enregistrement occupe {size} octets de JSON ; un enregistrement d'un lot en occupe au plus {limit}.",
    },
    "batch_id": {
        "en": "'id' names the record to change: a whole number from 1 to {maximum}.",
        "fr": "« id » désigne l'enregistrement à modifier : un nombre entier de 1 à {maximum}.",
    },
    "batch_version": {
        "en": "Send the version you read as 'version' (a whole number from 0 to {maximum}) in each record: "
              "without it, this change could overwrite someone else's.",
        "fr": "Envoyez la version lue en « version » (un nombre entier de 0 à {maximum}) dans chaque "
              "enregistrement : sans elle, cette modification pourrait écraser celle d'un autre.",
    },
    "bad_body": {"en": "The request body is not valid.", "fr": "Le corps de la requête n'est pas valide."},
}



def text(key: str, lang: str | None, **params: Any) -> str:
    texts = MESSAGES[key]
    template = texts.get(lang or "en", texts["en"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


