"""Definitions that name what no installed plugin provides: refused when they load.

The metamodel knows no plugin, so a `format: siret` or a `call: convert_lead` passes
`metamodel.load_model`; without this check a missing format would surface as a traceback
at `ossature migrate` and a missing action as a failure of every transition that runs it.
`ossature validate`, every command's model loading and `Installation` (the app, `ossature
migrate`, overlay and pack changes) call `check_plugins`, which raises the same
`metamodel.DefinitionError` (file:line: path: message, with a fix) as any other mistake.
"""

from __future__ import annotations

from typing import Any, Mapping

import pluggy

import metamodel
from metamodel.errors import Problem
from metamodel.model import Model, PluginReference
from metamodel.suggestions import did_you_mean
from metamodel.values import an
from plugins.host.registry import actions, field_formats
from plugins.host.types import FieldFormat


class PluginRegistries:
    """The actions and field formats the plugins of one plugin manager register, read once."""

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        """`manager`: every installed plugin when None (the `ossature.plugins` entry points).
        Raises `plugins.host.manager.PluginError` when the plugins cannot work together."""
        if manager is None:
            from plugins.host.manager import plugin_manager

            manager = plugin_manager()
        self.actions: Mapping[str, Any] = actions(manager)
        self.formats: Mapping[str, FieldFormat] = field_formats(manager)


def plugin_problems(model: Model, registries: PluginRegistries) -> list[Problem]:
    """A problem for each format and action of `model` that the plugins do not provide or that
    does not apply where it is written."""
    problems: list[Problem] = []
    for reference in model.plugin_references:
        if reference.kind == "format":
            message = _format_problem(reference, registries.formats)
        else:
            message = _missing(reference, "action", registries.actions, "`call:` action")
        if message:
            problems.append(reference.problem(message))
    return problems


def check_plugins(model: Model, registries: PluginRegistries) -> None:
    """Raise `metamodel.DefinitionError` when `plugin_problems` finds any."""
    problems = plugin_problems(model, registries)
    if problems:
        raise metamodel.DefinitionError(problems)


def _format_problem(reference: PluginReference, formats: Mapping[str, FieldFormat]) -> str | None:
    fmt = formats.get(reference.name)
    if fmt is None:
        return _missing(reference, "format", formats, "`format:`")
    if reference.field_type not in fmt.base_types:
        return (f"the format '{reference.name}' applies to {', '.join(sorted(fmt.base_types))}, not to "
                f"{an(reference.field_type or '?')} characteristic: change the type, or remove `format:`")
    return None


def _missing(reference: PluginReference, kind: str, provided: Mapping[str, Any], key: str) -> str | None:
    if reference.name in provided:
        return None
    hint = did_you_mean(reference.name, provided)
    installed = ", ".join(sorted(provided)) or "none"
    return (f"no installed plugin provides the {kind} '{reference.name}'{hint}: install the plugin that "
            f"registers it, or remove the {key} (installed {kind}s: {installed})")
