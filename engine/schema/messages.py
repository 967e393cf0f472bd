"""The migration plan, the archive and the clean-up list in plain words, English and French."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    # -- creating ---------------------------------------------------------------------------
    "create_table": {
        "en": "create table {table} ({columns} columns)",
        "fr": "créer la table {table} ({columns} colonnes)",
    },
    "add_column": {
        "en": "add column {table}.{column} ({type})",
        "fr": "ajouter la colonne {table}.{column} ({type})",
    },
    "create_join_table": {
        "en": "{entity}.{field}: new many-to-many link to {target}: create join table {table}",
        "fr": "{entity}.{field} : nouveau lien multiple vers {target} : créer la table de liaison {table}",
    },
    "create_index": {"en": "create index {index} on {table}", "fr": "créer l'index {index} sur {table}"},
    "drop_index": {
        "en": "drop index {index} on {table} (no longer declared; no data involved)",
        "fr": "supprimer l'index {index} sur {table} (plus déclaré ; aucune donnée concernée)",
    },
    "search_extension": {
        "en": "install the PostgreSQL extension pg_trgm (the trigram indexes of the quick search)",
        "fr": "installer l'extension PostgreSQL pg_trgm (les index de trigrammes de la recherche rapide)",
    },
    "search_index_create": {
        "en": "{entity}: index the quick search over {columns} ({count} record(s); no data change)",
        "fr": "{entity} : indexer la recherche rapide sur {columns} ({count} enregistrement(s) ; données inchangées)",
    },
    "search_index_rebuild": {
        "en": "{entity}: the quick search now reads {columns}: rebuild its index ({count} record(s); no data change)",
        "fr": "{entity} : la recherche rapide lit désormais {columns} : reconstruire son index "
              "({count} enregistrement(s) ; données inchangées)",
    },
    "search_index_drop": {
        "en": "{entity}: no characteristic is searchable any more: drop the quick-search index (no data involved)",
        "fr": "{entity} : plus aucune caractéristique n'est cherchable : supprimer l'index de la recherche rapide "
              "(aucune donnée concernée)",
    },
    "search_index_drop_columns": {
        "en": "{entity}: {columns} no longer searchable: drop their quick-search index (no data involved)",
        "fr": "{entity} : {columns} : plus cherchable(s) : supprimer leur index de recherche rapide "
              "(aucune donnée concernée)",
    },
    "record_definitions": {
        "en": "record the current definitions in sys_schema (first run of the migration planner on this database)",
        "fr": "enregistrer les définitions actuelles dans sys_schema (premier passage du planificateur sur cette base)",
    },
    # -- archiving, renaming, retyping --------------------------------------------------------
    "archive_field": {
        "en": "{entity}.{field}: no longer declared: archive its {count} value(s), then drop the column "
              "(`ossature archive restore {entity}.{field}` brings them back once it is declared again)",
        "fr": "{entity}.{field} : plus déclaré : archiver ses {count} valeur(s), puis supprimer la colonne "
              "(`ossature archive restore {entity}.{field}` les rétablit une fois la caractéristique redéclarée)",
    },
    "archive_entity": {
        "en": "{entity}: no longer declared: move table {table} ({count} record(s)) to the archive "
              "(`ossature archive restore {entity}` brings them back once it is declared again)",
        "fr": "{entity} : plus déclarée : déplacer la table {table} ({count} enregistrement(s)) dans l'archive "
              "(`ossature archive restore {entity}` les rétablit une fois l'entité redéclarée)",
    },
    "archive_join_table": {
        "en": "{entity}.{field}: no longer declared: archive its {count} link(s) (the members of each record), "
              "then drop join table {table} "
              "(`ossature archive restore {entity}.{field}` brings them back once it is declared again)",
        "fr": "{entity}.{field} : plus déclaré : archiver ses {count} lien(s) (les membres de chaque "
              "enregistrement), puis supprimer la table de liaison {table} "
              "(`ossature archive restore {entity}.{field}` les rétablit une fois la caractéristique redéclarée)",
    },
    "rename_join_table": {
        "en": "{entity}.{old}: renamed to {new}: its {count} link(s) move to join table {table}",
        "fr": "{entity}.{old} : renommé en {new} : ses {count} lien(s) passent dans la table de liaison {table}",
    },
    "archive_replaced": {
        "en": "{entity}.{field}: {old} -> {new}: archive its {count} value(s), then drop the column "
              "(they stay in the archive: `ossature archive list`; they cannot become {new})",
        "fr": "{entity}.{field} : {old} -> {new} : archiver ses {count} valeur(s), puis supprimer la colonne "
              "(elles restent dans l'archive : `ossature archive list` ; elles ne peuvent devenir {new})",
    },
    "link_to_links": {
        "en": "{entity}.{field}: link -> links: each of the {count} value(s) becomes a member (join table "
              "{table}), then the column is dropped",
        "fr": "{entity}.{field} : lien -> liens multiples : chacune des {count} valeur(s) devient un membre "
              "(table de liaison {table}), puis la colonne est supprimée",
    },
    "relation_refused": {
        "en": "{entity}.{field}: {old} -> {new} refused: a relation cannot change its kind or target "
              "(only a link may become links to the same entity); declare a new characteristic and remove this "
              "one: its values are archived",
        "fr": "{entity}.{field} : {old} -> {new} refusé : une relation ne peut changer ni de nature ni de cible "
              "(seul un lien peut devenir des liens multiples vers la même entité) ; déclarez une nouvelle "
              "caractéristique et retirez celle-ci : ses valeurs sont archivées",
    },
    "owned_refused": {
        "en": "{entity}: now owned by {owner} (owned_by), but its {count} existing record(s) belong to no {owner}: "
              "an entity with records cannot become owned; declare a new owned entity instead",
        "fr": "{entity} : désormais possédée par {owner} (owned_by), mais ses {count} enregistrement(s) "
              "existant(s) n'appartiennent à aucun(e) {owner} : une entité qui a des enregistrements ne peut "
              "devenir possédée ; déclarez plutôt une nouvelle entité possédée",
    },
    "rename": {
        "en": "{entity}.{old}: renamed to {new}: the column moves with its {count} value(s)",
        "fr": "{entity}.{old} : renommé en {new} : la colonne est déplacée avec ses {count} valeur(s)",
    },
    "retype": {
        "en": "{entity}.{field}: type {old} -> {new}: all {count} value(s) convert",
        "fr": "{entity}.{field} : type {old} -> {new} : les {count} valeur(s) se convertissent",
    },
    "retype_refused": {
        "en": "{entity}.{field}: type {old} -> {new} refused: {count} value(s) do not convert; nothing is changed "
              "until they are corrected",
        "fr": "{entity}.{field} : type {old} -> {new} refusé : {count} valeur(s) ne se convertissent pas ; rien "
              "n'est modifié tant qu'elles ne sont pas corrigées",
    },
    "link_refused": {
        "en": "{entity}.{field}: {old} -> {new} refused: a link cannot change its target or type "
              "(declare a new characteristic and remove this one: its values are archived)",
        "fr": "{entity}.{field} : {old} -> {new} refusé : un lien ne peut changer ni de cible ni de type "
              "(déclarez une nouvelle caractéristique et retirez celle-ci : ses valeurs sont archivées)",
    },
    "widen": {
        "en": "{entity}.{field}: widen column to {type} (no data change)",
        "fr": "{entity}.{field} : élargir la colonne en {type} (données inchangées)",
    },
    "entity_referenced": {
        "en": "{entity}: cannot be archived: {table}.{column} still refers to it",
        "fr": "{entity} : archivage impossible : {table}.{column} y fait encore référence",
    },
    "unique_refused": {
        "en": "{entity}.{field}: cannot be made unique: {count} value(s) are used by several records",
        "fr": "{entity}.{field} : ne peut devenir unique : {count} valeur(s) sont utilisées par plusieurs "
              "enregistrements",
    },
    # -- rules --------------------------------------------------------------------------------
    "tighten": {
        "en": "{entity}.{field}: {rule} now {rule_text}: {count} existing record(s) break it "
              "(kept as they are, listed for clean-up; the rule applies to new edits)",
        "fr": "{entity}.{field} : {rule} désormais {rule_text} : {count} enregistrement(s) existant(s) ne le "
              "respectent pas (conservés tels quels, listés pour nettoyage ; la règle s'applique aux "
              "nouvelles saisies)",
    },
    "tighten_clean": {
        "en": "{entity}.{field}: {rule} now {rule_text}: every existing record complies",
        "fr": "{entity}.{field} : {rule} désormais {rule_text} : tous les enregistrements existants le respectent",
    },
    "loosen": {
        "en": "{entity}.{field}: {rule} now {rule_text} (no data change)",
        "fr": "{entity}.{field} : {rule} désormais {rule_text} (données inchangées)",
    },
    "value_removed_refused": {
        "en": "{entity}.{field}: value '{code}' was removed from list '{list}' but {count} record(s) use it: "
              "mark it `retired: true` instead of deleting it",
        "fr": "{entity}.{field} : la valeur « {code} » a été supprimée de la liste « {list} » alors que "
              "{count} enregistrement(s) l'utilisent : marquez-la `retired: true` au lieu de la supprimer",
    },
    "definition_updated": {
        "en": "{entity}.{field}: definition updated (no data change)",
        "fr": "{entity}.{field} : définition mise à jour (données inchangées)",
    },
    # -- offenders ----------------------------------------------------------------------------
    "offender": {"en": "record {id}: {value}: {reason}", "fr": "enregistrement {id} : {value} : {reason}"},
    "offender_rule": {"en": "record {id}", "fr": "enregistrement {id}"},
    "more_records": {"en": "... and {count} more", "fr": "... et {count} de plus"},
    "refused": {"en": "REFUSED: {words}", "fr": "REFUSÉ : {words}"},
    "migration_refused": {
        "en": "the migration is refused, nothing was changed: {problems}",
        "fr": "la migration est refusée, rien n'a été modifié : {problems}",
    },
    "lossy": {"en": "would become {converted}", "fr": "deviendrait {converted}"},
    # -- the archive ------------------------------------------------------------------------------
    "restore_not_declared": {
        "en": "{target} is not declared: declare it again before restoring its archive",
        "fr": "{target} n'est pas déclaré : redéclarez-le avant de rétablir son archive",
    },
    "restore_nothing": {"en": "{target}: nothing archived to restore", "fr": "{target} : rien d'archivé à rétablir"},
    "restore_incompatible": {
        "en": "{target}: {count} archived value(s) do not convert to {type}; nothing was restored",
        "fr": "{target} : {count} valeur(s) archivée(s) ne se convertissent pas en {type} ; rien n'a été rétabli",
    },
    "restore_not_empty": {
        "en": "{target}: table {table} already holds {count} record(s): the archived records can only come "
              "back into an empty table",
        "fr": "{target} : la table {table} contient déjà {count} enregistrement(s) : les enregistrements "
              "archivés ne peuvent revenir que dans une table vide",
    },
    "restore_pending": {
        "en": "{target}: the database is not up to date; run `ossature migrate` first",
        "fr": "{target} : la base n'est pas à jour ; lancez d'abord `ossature migrate`",
    },
    "restore_owner_missing": {
        "en": "{target}: some archived lines belong to {owner} records that no longer exist, or the archive has no "
              "owner for them: nothing was restored",
        "fr": "{target} : des lignes archivées appartiennent à des enregistrements {owner} qui n'existent plus, ou "
              "l'archive ne leur connaît pas de propriétaire : rien n'a été rétabli",
    },
    "restored_field": {
        "en": "{target}: {restored} value(s) restored; {kept} kept in the archive ({reasons})",
        "fr": "{target} : {restored} valeur(s) rétablie(s) ; {kept} conservée(s) dans l'archive ({reasons})",
    },
    "restored_entity": {
        "en": "{target}: {restored} record(s) restored into {table}{extra}",
        "fr": "{target} : {restored} enregistrement(s) rétabli(s) dans {table}{extra}",
    },
    "restored_entity_extra": {
        "en": "; values of {fields} kept in the archive (not declared now, or of another type): "
              "restore them with `ossature archive restore {entity}.FIELD`",
        "fr": " ; valeurs de {fields} conservées dans l'archive (non déclarées ou d'un autre type) : "
              "rétablissez-les avec `ossature archive restore {entity}.CHAMP`",
    },
    "kept_has_value": {
        "en": "{count} record(s) have a value now", "fr": "{count} enregistrement(s) ont désormais une valeur",
    },
    "kept_missing": {"en": "{count} record(s) no longer exist", "fr": "{count} enregistrement(s) n'existent plus"},
}

RULE_NAMES: dict[str, dict[str, str]] = {
    "mandatory": {"en": "mandatory", "fr": "obligatoire"},
    "min": {"en": "minimum", "fr": "minimum"},
    "max": {"en": "maximum", "fr": "maximum"},
    "min_length": {"en": "minimum length", "fr": "longueur minimale"},
    "max_length": {"en": "maximum length", "fr": "longueur maximale"},
    "pattern": {"en": "pattern", "fr": "motif"},
    "format": {"en": "format", "fr": "format"},
    "retired": {"en": "retired value", "fr": "valeur retirée"},
    "status": {"en": "status removed", "fr": "statut supprimé"},
    "values": {"en": "list values", "fr": "valeurs de liste"},
    "type": {"en": "type", "fr": "type"},
}


def text(key: str, lang: str | None = "en", **params: Any) -> str:
    texts = MESSAGES.get(key, {"en": key, "fr": key})
    template = texts.get(lang or "en", texts["en"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def rule_name(rule: str, lang: str | None = "en") -> str:
    names = RULE_NAMES.get(rule, {"en": rule, "fr": rule})
    return names.get(lang or "en", names["en"])
