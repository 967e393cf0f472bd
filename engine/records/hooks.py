"""The engine's side of the plugin hooks: what it calls, and when.

Plugins (built-in and third-party alike) come from a pluggy `PluginManager`
(`plugins.host.manager.plugin_manager`, which loads the `ossature.plugins` entry points).
The engine only calls the hooks declared in `plugins/host/hookspecs.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pluggy

from plugins.host.registry import actions, field_formats
from plugins.host.types import FieldFormat

if TYPE_CHECKING:
    from .transaction import Transaction


class Hooks:
    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager
        self.hook = manager.hook
        self.actions = actions(manager)
        self.formats: Mapping[str, FieldFormat] = field_formats(manager)
        self.validates = bool(self.hook.ossature_validate_record.get_hookimpls())

    def validate_record(self, entity: str, record: Mapping[str, Any], changes: Mapping[str, Any], errors: dict) -> None:
        if self.validates:
            self.hook.ossature_validate_record(entity=entity, record=record, changes=changes, errors=errors)

    def before_save(self, tx: Transaction, entity: str, record: Mapping[str, Any], changes: dict, is_new: bool) -> None:
        self.hook.ossature_before_save(tx=tx, entity=entity, record=record, changes=changes, is_new=is_new)

    def after_save(self, tx: Transaction, entity: str, record: Mapping[str, Any], changes: Mapping, is_new: bool) -> None:
        self.hook.ossature_after_save(tx=tx, entity=entity, record=record, changes=changes, is_new=is_new)

    def after_transition(
        self, tx: Transaction, entity: str, record: Mapping[str, Any], transition: str,
        from_status: str | None, to_status: str,
    ) -> None:
        self.hook.ossature_after_transition(
            tx=tx, entity=entity, record=record, transition=transition, from_status=from_status, to_status=to_status
        )


def default_hooks() -> Hooks:
    from plugins.host.manager import plugin_manager

    return Hooks(plugin_manager())
