"""What a JSON Schema of the OpenAPI document expects, in words (English and French).

The API checks parameters and bodies against its own document (`conformance.py`); when a
value fails, the caller reads what was expected ("a whole number from 1 to 200"), never
the validator's own text.
"""

from __future__ import annotations

from typing import Any

ENUM_SHOWN = 12
"""Codes listed at most in a message (a value list may hold hundreds)."""

WORDS: dict[str, dict[str, str]] = {
    "expected": {"en": "expected {what}", "fr": "attendu : {what}"},
    "or": {"en": " or ", "fr": " ou "},
    "text": {"en": "text", "fr": "du texte"},
    "text_pattern": {"en": "text of the form {pattern}", "fr": "du texte de la forme {pattern}"},
    "text_length": {"en": "text of {low} to {high} characters", "fr": "du texte de {low} à {high} caractères"},
    "date": {"en": "a date (2026-01-31)", "fr": "une date (2026-01-31)"},
    "date-time": {"en": "a date-time (2026-01-31T12:00:00Z)", "fr": "une date-heure (2026-01-31T12:00:00Z)"},
    "email": {"en": "an email address", "fr": "une adresse e-mail"},
    "uri": {"en": "a web address (https://...)", "fr": "une adresse web (https://...)"},
    "integer": {"en": "a whole number", "fr": "un nombre entier"},
    "integer_range": {"en": "a whole number from {low} to {high}", "fr": "un nombre entier de {low} à {high}"},
    "number": {"en": "a number", "fr": "un nombre"},
    "number_range": {"en": "a number from {low} to {high}", "fr": "un nombre de {low} à {high}"},
    "boolean": {"en": "true or false", "fr": "true ou false"},
    "null": {"en": "null", "fr": "null"},
    "array": {"en": "a list of {items}", "fr": "une liste de : {items}"},
    "unique": {"en": "a list without repeated values", "fr": "une liste sans valeur répétée"},
    "object": {"en": "a JSON object", "fr": "un objet JSON"},
    "one_of": {"en": "one of {values}", "fr": "une valeur parmi {values}"},
    "required": {"en": "'{name}' is required", "fr": "« {name} » est obligatoire"},
    "unknown": {"en": "'{name}' is not expected here", "fr": "« {name} » n'est pas attendu ici"},
    "empty": {"en": "send null, not an empty text, to leave it empty",
              "fr": "envoyez null, et non un texte vide, pour laisser vide"},
    "invalid": {"en": "not a valid value", "fr": "valeur invalide"},
    "body": {"en": "a JSON body is required", "fr": "un corps JSON est obligatoire"},
    "once": {"en": "{what}, given once", "fr": "{what}, donné une seule fois"},
}


def word(key: str, lang: str, **params: Any) -> str:
    texts = WORDS[key]
    return texts.get(lang, texts["en"]).format(**params)


def expected(schema: Any, lang: str) -> str:
    """`expected <what the schema admits>`."""
    return word("expected", lang, what=describe(schema, lang))


def describe(schema: Any, lang: str) -> str:
    """The values a (sub)schema admits, as a phrase."""
    if not isinstance(schema, dict):
        return word("invalid", lang)
    if "enum" in schema:
        shown = [("null" if v is None else str(v)) for v in schema["enum"]]
        more = ", ..." if len(shown) > ENUM_SHOWN else ""
        return word("one_of", lang, values=", ".join(shown[:ENUM_SHOWN]) + more)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return word("or", lang).join(describe(part, lang) for part in schema[combinator])
    kind = schema.get("type")
    if isinstance(kind, list):
        return word("or", lang).join(describe({**schema, "type": one}, lang) for one in kind)
    if kind == "string":
        if schema.get("format") in ("date", "date-time", "email", "uri"):
            return word(schema["format"], lang)
        if "pattern" in schema:
            return word("text_pattern", lang, pattern=schema["pattern"])
        if "maxLength" in schema:
            return word("text_length", lang, low=schema.get("minLength", 0), high=schema["maxLength"])
        return word("text", lang)
    if kind in ("integer", "number"):
        if "minimum" in schema and "maximum" in schema:
            return word(f"{kind}_range", lang, low=_number(schema["minimum"]), high=_number(schema["maximum"]))
        return word(kind, lang)
    if kind == "array":
        return word("array", lang, items=describe(schema.get("items", {}), lang))
    if kind in ("boolean", "null", "object"):
        return word(kind, lang)
    return word("invalid", lang)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
