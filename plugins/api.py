"""Everything a plugin may import, and nothing else: the one public surface for plugins.

Built-in plugins (`plugins/lead_conversion.py`, `plugins/vcard.py`,
`plugins/icalendar_export.py`) import only from here, as a third-party plugin would:

    from plugins.api import FieldFormat, hookimpl

    @hookimpl
    def ossature_field_formats():
        return {"siret": FieldFormat("siret", frozenset({"string"}), is_siret, {"en": ..., "fr": ...})}

What it holds:
- the hook marker and what hooks receive or return (`plugins/host/`): `hookimpl`,
  `Action`, `ActionContext`, `RecordOperations` (the transaction methods an action may
  call), `FieldFormat`, `ImportFormat`, `ExportFormat`;
- the errors a plugin raises or catches: `EngineError`, `NotFoundError`,
  `RecordValidationError`, `RuleError`, and `PluginRuleError` (a rule error with the
  plugin's own words);
- value helpers: `is_empty` (what counts as no value), `plain_text` (a stored value as
  people read it, for exports);
- the definitions plugins read: `Model`, `EntityDef`, `Text`, and `load_model`/`BASE_PACK`.

Anything not named here is internal and may move without notice. The hooks themselves are
documented in `plugins/host/hookspecs.py` and docs/plugins.md.
"""

from __future__ import annotations

from engine.core.errors import EngineError, NotFoundError, RecordValidationError, RuleError
from engine.exchange.export_values import plain_text
from engine.records.validation import is_empty
from metamodel import BASE_PACK, load_model
from metamodel.model import EntityDef, Model, Text
from plugins.errors import PluginRuleError
from plugins.host.hookspecs import Action, ActionContext, RecordOperations, hookimpl
from plugins.host.types import ExportFormat, FieldFormat, ImportFormat

__all__ = [
    "Action",
    "ActionContext",
    "BASE_PACK",
    "EngineError",
    "EntityDef",
    "ExportFormat",
    "FieldFormat",
    "ImportFormat",
    "Model",
    "NotFoundError",
    "PluginRuleError",
    "RecordOperations",
    "RecordValidationError",
    "RuleError",
    "Text",
    "hookimpl",
    "is_empty",
    "load_model",
    "plain_text",
]
