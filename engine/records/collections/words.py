"""The errors of collection values (`links` members, `lines`), in English and French."""

from __future__ import annotations

from typing import Any

from engine.core.errors import RuleError

WORDS: dict[str, dict[str, str]] = {
    "links_shape": {
        "en": "A list of record ids is expected.",
        "fr": "Une liste d'identifiants d'enregistrements est attendue.",
    },
    "lines_shape": {
        "en": "A list of lines is expected, each an object of values.",
        "fr": "Une liste de lignes est attendue, chacune un objet de valeurs.",
    },
    "line_shape": {
        "en": "A line is an object of values.",
        "fr": "Une ligne est un objet de valeurs.",
    },
    "min_count": {
        "en": "At least {min} expected, {count} given.",
        "fr": "Au moins {min} attendu(s), {count} donné(s).",
    },
    "max_count": {
        "en": "At most {max} allowed, {count} given.",
        "fr": "Au plus {max} autorisé(s), {count} donné(s).",
    },
    "line_id": {
        "en": "{id} is not the id of a line of this record.",
        "fr": "{id} n'est pas l'identifiant d'une ligne de cet enregistrement.",
    },
    "members_change": {
        "en": "Give the members as a list of ids, or as {{\"add\": [...]}}, {{\"remove\": [...]}} or {{\"replace\": [...]}}.",
        "fr": "Donnez les membres comme une liste d'identifiants, ou comme {{\"add\": [...]}}, {{\"remove\": [...]}} "
              "ou {{\"replace\": [...]}}.",
    },
    "mass_lines": {
        "en": "Lines are changed record by record, not by a mass update.",
        "fr": "Les lignes se modifient enregistrement par enregistrement, pas par une modification en masse.",
    },
    "line_repeated": {
        "en": "Line {id} is given twice.",
        "fr": "La ligne {id} est donnée deux fois.",
    },
}


class CollectionError(RuleError):
    """A broken rule of a whole `links` or `lines` value, or of one line's `id`: its shape, its
    count (`min_count`, `max_count`), a line id that is not one of the record's lines."""

    def message(self, lang: str | None = "en") -> str:
        words = WORDS[self.rule]
        lang = lang if lang in words else "en"
        try:
            return words[lang].format(**self.params)
        except (KeyError, IndexError):
            return words[lang]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Copied or pickled (a job's errors) with its parameters."""
        return (CollectionError, (self.field, self.rule, dict(self.params)))
