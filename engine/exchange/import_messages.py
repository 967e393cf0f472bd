"""What an import says about a file, a column or a row, in English and French.

Record rules (mandatory, max_length, ...) keep their own messages (engine/core/messages.py);
these are the problems only an import meets: how the file is read, how its columns map
to characteristics, how a cell is matched to a value list entry or a linked record.
"""

from __future__ import annotations

from typing import Any, Sequence

from engine.core.errors import EngineError, RuleError
from engine.records.queries import QueryError

IMPORT_MESSAGES: dict[str, dict[str, str]] = {
    # the file
    "file_missing": {"en": "File not found: {path}", "fr": "Fichier introuvable : {path}"},
    "file_empty": {"en": "The file is empty: it needs at least a header line.",
                   "fr": "Le fichier est vide : il lui faut au moins une ligne d'en-tête."},
    "unknown_encoding": {"en": "Unknown encoding '{encoding}': give one such as utf-8, cp1252 or iso-8859-1.",
                         "fr": "Encodage inconnu « {encoding} » : indiquez-en un comme utf-8, cp1252 ou iso-8859-1."},
    "not_text_encoding": {
        "en": "'{encoding}' is not an encoding of text files: give one such as utf-8, cp1252 or iso-8859-1.",
        "fr": "« {encoding} » n'est pas un encodage de fichiers texte : indiquez-en un comme utf-8, cp1252 ou "
              "iso-8859-1.",
    },
    "bad_delimiter": {
        "en": "The separator must be one character other than a letter, a digit, a quote or a line break "
              "(got '{delimiter}').",
        "fr": "Le séparateur doit être un seul caractère, ni lettre, ni chiffre, ni guillemet, ni saut de ligne "
              "(reçu « {delimiter} »).",
    },
    "undecodable": {
        "en": "The file is neither UTF-8 nor Windows-1252 (byte 0x{byte} at offset {offset}): give its encoding.",
        "fr": "Le fichier n'est ni en UTF-8 ni en Windows-1252 (octet 0x{byte} à la position {offset}) : "
              "indiquez son encodage.",
    },
    "decoding": {"en": "Row {row} cannot be read as {encoding} (byte 0x{byte}): check the file's encoding.",
                 "fr": "La ligne {row} ne peut pas être lue en {encoding} (octet 0x{byte}) : vérifiez l'encodage "
                       "du fichier."},
    "csv_syntax": {"en": "Row {row} is not valid CSV (error id {error_id}).",
                   "fr": "La ligne {row} n'est pas du CSV valide (identifiant d'erreur {error_id})."},
    "cell_too_long": {"en": "Row {row} has a cell longer than {limit} characters.",
                      "fr": "La ligne {row} a une cellule de plus de {limit} caractères."},
    "header_quote": {"en": "A quote opened in the header is never closed.",
                     "fr": "Un guillemet ouvert dans l'en-tête n'est jamais fermé."},
    "header_characters": {
        "en": "Column {position} of the header ('{header}') contains the character {character}, which cannot be "
              "stored: remove it from the file.",
        "fr": "La colonne {position} de l'en-tête (« {header} ») contient le caractère {character}, qui ne peut pas "
              "être enregistré : retirez-le du fichier.",
    },
    "duplicate_header": {"en": "The column '{header}' appears twice in the header.",
                         "fr": "La colonne « {header} » figure deux fois dans l'en-tête."},
    "unknown_format": {"en": "No import format '{format}' (available: {available}).",
                       "fr": "Aucun format d'import « {format} » (disponibles : {available})."},
    "format_entity": {"en": "The import format '{format}' does not fit {entity} records.",
                      "fr": "Le format d'import « {format} » ne convient pas aux enregistrements {entity}."},
    "format_failed": {"en": "The import format '{format}' could not read the file: {error}",
                      "fr": "Le format d'import « {format} » n'a pas pu lire le fichier : {error}"},
    "format_unreadable_id": {
        "en": "The import format '{format}' could not read the file (error id {error_id}; the details are in the "
              "server log under that id).",
        "fr": "Le format d'import « {format} » n'a pas pu lire le fichier (identifiant d'erreur {error_id} ; "
              "le détail est dans le journal du serveur sous cet identifiant).",
    },
    "format_failed_id": {
        "en": "The import format '{format}' could not read the file after row {row} (error id {error_id}; "
              "the details are in the server log under that id).",
        "fr": "Le format d'import « {format} » n'a pas pu lire le fichier après la ligne {row} (identifiant "
              "d'erreur {error_id} ; le détail est dans le journal du serveur sous cet identifiant).",
    },
    # the columns
    "column_characters": {
        "en": "The column '{header}' has a name containing the character {character}, which cannot be stored.",
        "fr": "Le nom de la colonne « {header} » contient le caractère {character}, qui ne peut pas être enregistré.",
    },
    "unknown_column": {
        "en": "Unknown column '{header}': map it to one of {fields}, or skip it (map it to nothing).",
        "fr": "Colonne inconnue « {header} » : associez-la à l'un de {fields}, ou ignorez-la (associez-la à rien).",
    },
    "ambiguous_column": {
        "en": "The column '{header}' matches the labels of several characteristics ({fields}): map it to one "
              "of them explicitly.",
        "fr": "La colonne « {header} » correspond aux libellés de plusieurs caractéristiques ({fields}) : "
              "associez-la explicitement à l'une d'elles.",
    },
    "ambiguous_former_name": {
        "en": "The column '{header}' matches the former names of several characteristics ({fields}): map it to "
              "one of them explicitly.",
        "fr": "La colonne « {header} » correspond aux anciens noms de plusieurs caractéristiques ({fields}) : "
              "associez-la explicitement à l'une d'elles.",
    },
    "unknown_field": {
        "en": "The mapping of '{header}' names '{field}', which is not a characteristic of {entity} ({fields}).",
        "fr": "L'association de « {header} » désigne « {field} », qui n'est pas une caractéristique de {entity} "
              "({fields}).",
    },
    "mapped_header_missing": {
        "en": "The mapping names the column '{header}', which the file does not have (columns: {headers}).",
        "fr": "L'association désigne la colonne « {header} », absente du fichier (colonnes : {headers}).",
    },
    "field_twice": {"en": "The columns {headers} all map to '{field}'.",
                    "fr": "Les colonnes {headers} correspondent toutes à « {field} »."},
    "protected_column": {"en": "The column '{header}' maps to '{field}', which you may not set.",
                         "fr": "La colonne « {header} » correspond à « {field} », que vous ne pouvez pas modifier."},
    "no_key": {
        "en": "{entity} declares no natural key: name the fields that identify a record (key).",
        "fr": "{entity} ne déclare pas de clé naturelle : indiquez les champs qui identifient un enregistrement (clé).",
    },
    "key_not_mapped": {"en": "The key field '{field}' has no column in the file.",
                       "fr": "Le champ clé « {field} » n'a pas de colonne dans le fichier."},
    "key_type": {"en": "The key field '{field}' is of type {type}, which cannot identify a record.",
                 "fr": "Le champ clé « {field} » est de type {type}, qui ne peut pas identifier un enregistrement."},
    "key_unknown": {"en": "The key field '{field}' is not a characteristic of {entity}.",
                    "fr": "Le champ clé « {field} » n'est pas une caractéristique de {entity}."},
    # the options, checked before a job is queued
    "unknown_option": {"en": "Unknown import option(s): {names} (options: {known}).",
                       "fr": "Option(s) d'import inconnue(s) : {names} (options : {known})."},
    "option_text": {"en": "The import option '{option}' must be a text.",
                    "fr": "L'option d'import « {option} » doit être un texte."},
    "option_flag": {"en": "The import option '{option}' must be true or false.",
                    "fr": "L'option d'import « {option} » doit valoir vrai ou faux."},
    "option_list": {"en": "The import option '{option}' must be a list of characteristic names.",
                    "fr": "L'option d'import « {option} » doit être une liste de noms de caractéristiques."},
    "option_mapping": {
        "en": "The import option '{option}' must pair column headers with characteristics (\"\" skips a column).",
        "fr": "L'option d'import « {option} » doit associer des en-têtes de colonnes à des caractéristiques "
              "(\"\" ignore une colonne).",
    },
    "option_characters": {
        "en": "The import option '{option}' contains the character {character}, which cannot be stored.",
        "fr": "L'option d'import « {option} » contient le caractère {character}, qui ne peut pas être enregistré.",
    },
    "chunk_size": {"en": "The chunk size must be a whole number from 1 to {max} (got '{value}').",
                   "fr": "La taille des lots doit être un nombre entier de 1 à {max} (reçu « {value} »)."},
    # the rows
    "cell_characters": {
        "en": "This cell contains the character {character}, which cannot be stored.",
        "fr": "Cette cellule contient le caractère {character}, qui ne peut pas être enregistré.",
    },
    "row_conflict": {"en": "Row {row} could not be written: {message}",
                     "fr": "La ligne {row} n'a pas pu être enregistrée : {message}"},
    "extra_cells": {
        "en": "This row has {count} value(s) beyond the columns of the header.",
        "fr": "Cette ligne a {count} valeur(s) au-delà des colonnes de l'en-tête.",
    },
    "link_not_found": {"en": "No {entity} with {field} '{value}'.",
                       "fr": "Aucun enregistrement {entity} avec {field} « {value} »."},
    "link_ambiguous": {"en": "Several {entity} records have {field} '{value}': give the number (#id).",
                       "fr": "Plusieurs enregistrements {entity} ont {field} « {value} » : indiquez le numéro (#id)."},
    "key_empty": {"en": "The key ({fields}) is empty in this row.",
                  "fr": "La clé ({fields}) est vide sur cette ligne."},
    "key_repeated_earlier": {"en": "The key {value} already appeared in an earlier row.",
                             "fr": "La clé {value} figure déjà sur une ligne précédente."},
    "key_ambiguous": {"en": "{count} {entity} records have the key {value}.",
                      "fr": "{count} enregistrements {entity} ont la clé {value}."},
    "lines_column": {
        "en": "Column '{header}' is the lines characteristic '{field}': lines are imported from a file of their own "
              "(ossature import {entity} FILE --lines {field}).",
        "fr": "La colonne « {header} » est la caractéristique de lignes « {field} » : les lignes s'importent depuis "
              "un fichier à part (ossature import {entity} FICHIER --lines {field}).",
    },
    "not_lines": {
        "en": "{entity} has no lines characteristic '{field}' (lines characteristics: {fields}).",
        "fr": "{entity} n'a pas de caractéristique de lignes « {field} » (caractéristiques de lignes : {fields}).",
    },
    "lines_options": {
        "en": "A lines file imports with the options encoding, delimiter, dry_run and chunk_size only, not {option}.",
        "fr": "Un fichier de lignes s'importe avec les options encoding, delimiter, dry_run et chunk_size seulement, "
              "pas {option}.",
    },
    "parent_header": {
        "en": "The first column of a lines file names the {entity} each line belongs to: give it a header.",
        "fr": "La première colonne d'un fichier de lignes nomme l'enregistrement {entity} de chaque ligne : "
              "donnez-lui un en-tête.",
    },
    "parent_empty": {"en": "The {entity} this line belongs to is not given (first column, '{header}').",
                     "fr": "L'enregistrement {entity} de cette ligne n'est pas indiqué (première colonne, « {header} »)."},
    "parent_apart": {
        "en": "The lines of {entity} '{value}' must follow each other: it already had lines on rows before row {row}.",
        "fr": "Les lignes de {entity} « {value} » doivent se suivre : il en avait déjà avant la ligne {row}.",
    },
    "parent_locked": {
        "en": "There is no {entity} '{value}' this user may change (none has it, or it is in the trash or out of "
              "their scope).",
        "fr": "Il n'y a pas d'enregistrement {entity} « {value} » que cet utilisateur puisse modifier (aucun, ou à la "
              "corbeille, ou hors de son périmètre).",
    },
}


def import_message(key: str, lang: str | None, params: dict[str, Any]) -> str:
    texts = IMPORT_MESSAGES[key]
    template = texts.get(lang or "en", texts["en"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


class ImportRuleError(RuleError):
    """A row-level import problem on one field: a RuleError whose message is an import message."""

    def message(self, lang: str | None = "en") -> str:
        return import_message(self.rule, lang, self.params)


class ImportFileError(EngineError):
    """The file (or its mapping) cannot be imported at all: nothing was written.

    `row` is the row the problem was found in (1 is the header), when there is one.
    """

    def __init__(self, key: str, params: dict[str, Any] | None = None, *, row: int | None = None,
                 column: str | None = None):
        self.key = key
        self.params = params or {}
        self.row = row
        self.column = column
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        return import_message(self.key, lang, self.params)


class ImportFileProblems(EngineError):
    """Several problems with the file as a whole (every unknown column, say), reported together."""

    def __init__(self, problems: list[ImportFileError]):
        self.problems = problems
        super().__init__(" ".join(p.message("en") for p in problems))


class ImportOptionError(QueryError):
    """An import option that cannot work (an unknown encoding, a separator of two characters, a
    key that is not a characteristic...), refused before any job is queued.

    `parameter` names the option (`encoding`, `delimiter`, `format`, `mapping`, `key`, ...):
    as an `engine.records.queries.QueryError`, the API answers it with 400 naming that parameter,
    and the pages and the command line show `message(lang)`.
    """

    MESSAGES = IMPORT_MESSAGES

    def message(self, lang: str | None = "en") -> str:
        return import_message(self.reason, lang, self.params)

    def as_file_error(self) -> ImportFileError:
        """The same problem as the import reports it on the file (an import started without the checks)."""
        return ImportFileError(self.reason, self.params)


class ImportRefused(EngineError):
    """The file could not be imported (further); the job's errors say where and why."""

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))

    def message(self, lang: str | None = "en") -> str:
        return str(self)  # already in the language of the actor the import ran for
