"""Built-in plugins and the hook specifications third-party plugins implement.

A plugin module needs only what this package exports:

    from plugins import FieldFormat, hookimpl

    @hookimpl
    def ossature_field_formats():
        return {"siret": FieldFormat("siret", frozenset({"string"}), is_siret, {"en": ..., "fr": ...})}

The hooks are listed in `plugins.hookspecs`; `plugins.manager.plugin_manager()`
loads every installed plugin and `plugins.registry` gathers what they register.
"""

from .hookspecs import Action, ActionContext, RecordOperations, hookimpl
from .types import ExportFormat, FieldFormat, ImportFormat

__all__ = [
    "Action",
    "ActionContext",
    "ExportFormat",
    "FieldFormat",
    "ImportFormat",
    "RecordOperations",
    "hookimpl",
]
