"""Record errors whose words a plugin brings, for rules the engine's messages do not know.

Imports the engine, so only plugins import this module (the engine never does).
"""

from __future__ import annotations

from typing import Any, Mapping

from engine.core.errors import RuleError
from metamodel.model import Text


class PluginRuleError(RuleError):
    """A `RuleError` with its own message in every language.

    `texts` are `str.format` templates by language; a `Text` parameter (an entity
    label, say) is shown in the message's language.
    """

    def __init__(self, field: str, rule: str, texts: Mapping[str, str], params: dict[str, Any] | None = None):
        super().__init__(field, rule, params)
        self.texts = texts

    def message(self, lang: str | None = "en") -> str:
        template = self.texts.get(lang or "en") or self.texts["en"]
        params = {name: value.get(lang) if isinstance(value, Text) else value for name, value in self.params.items()}
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template
