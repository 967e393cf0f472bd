"""Refusals of a change of definitions (overlay revisions, pack installs), in English and French.

A definition that does not load is a `metamodel.DefinitionError` (file:line problems); these
are the refusals around it: a stale overlay, an unknown revision, a pack that does not fit.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Sequence

from metamodel.reading.packs import UnmetRequirement

from engine.core.errors import EngineError

MESSAGES: dict[str, dict[str, str]] = {
    "overlay_conflict": {
        "en": "The overlay changed since revision {expected}: it is now at revision {current}. "
              "Reload it and make your change again.",
        "fr": "La surcouche a changé depuis la révision {expected} : elle en est à la révision {current}. "
              "Rechargez-la et refaites votre modification.",
    },
    "unknown_revision": {
        "en": "There is no overlay revision {revision}.",
        "fr": "Il n'y a pas de révision {revision} de la surcouche.",
    },
    "overlay_empty": {
        "en": "The overlay is empty: there is nothing to export.",
        "fr": "La surcouche est vide : il n'y a rien à exporter.",
    },
    "requires_version": {
        "en": "pack {pack} {version} requires {required} {spec}; this installation has {required} {available}",
        "fr": "le pack {pack} {version} demande {required} {spec} ; cette installation a {required} {available}",
    },
    "requires_missing": {
        "en": "pack {pack} {version} requires {required} {spec}; this installation has no pack {required}",
        "fr": "le pack {pack} {version} demande {required} {spec} ; cette installation n'a pas de pack {required}",
    },
    "pack_reserved": {
        "en": "'{pack}' is the name of the administration overlay's layer: a pack cannot take it.",
        "fr": "« {pack} » est le nom de la couche de la surcouche d'administration : un pack ne peut pas le prendre.",
    },
    "pack_from_directory": {
        "en": "pack {pack} is loaded from the directory {path} (base pack or OSSATURE_PACKS); "
              "it cannot also be installed.",
        "fr": "le pack {pack} est chargé depuis le répertoire {path} (pack de base ou OSSATURE_PACKS) ; "
              "il ne peut pas aussi être installé.",
    },
    "pack_older": {
        "en": "pack {pack} {version} is older than the installed version {installed}: it is not installed.",
        "fr": "le pack {pack} {version} est plus ancien que la version installée {installed} : il n'est pas installé.",
    },
    "pack_same_version": {
        "en": "pack {pack} {version} is already installed with other content: give the new content a new version.",
        "fr": "le pack {pack} {version} est déjà installé avec un autre contenu : donnez une nouvelle version "
              "au nouveau contenu.",
    },
}


class DefinitionChangeError(EngineError):
    """A change of definitions was refused before anything was written."""

    def __init__(self, reason: str, **params: Any):
        self.reason = reason
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = "en") -> str:
        texts = MESSAGES[self.reason]
        return texts.get(lang or "en", texts["en"]).format(**self.params)


class RequirementsError(DefinitionChangeError):
    """A pack requires packs (or versions) this installation does not have: one line per requirement."""

    def __init__(self, unmet: Sequence[UnmetRequirement]):
        self.unmet = tuple(unmet)
        super().__init__("requires_version")

    def message(self, lang: str | None = "en") -> str:
        lines = []
        for item in self.unmet:
            texts = MESSAGES["requires_missing" if item.available is None else "requires_version"]
            lines.append(texts.get(lang or "en", texts["en"]).format(**asdict(item)))
        return "\n".join(lines)
