"""What the plugins register, gathered into one mapping per kind.

Each registry hook returns `{name: thing}` from every plugin; a name registered
by two plugins is refused (naming both), since the engine could only guess which
one the definitions mean. Everything a plugin returns is checked here, so that a
broken plugin is reported when the engine starts rather than at the first save.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

import pluggy

from metamodel.model import FIELD_TYPES

from .hookspecs import Action
from .manager import PluginError, describe_plugin
from .types import ExportFormat, FieldFormat, ImportFormat

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""Names are written in YAML (`call: convert_lead`, `format: siret`): definition identifiers."""

LANGUAGES = ("en", "fr")
FORMAT_BASE_TYPES = FIELD_TYPES - {"status"}

Check = Callable[[str, Any], "str | None"]
"""Given a name and what was registered under it, the problem in words, or None."""


def actions(pm: pluggy.PluginManager) -> dict[str, Action]:
    return _collect(pm, "ossature_actions", "action", _check_action)


def field_formats(pm: pluggy.PluginManager) -> dict[str, FieldFormat]:
    return _collect(pm, "ossature_field_formats", "field format", _check_field_format)


def import_formats(pm: pluggy.PluginManager) -> dict[str, ImportFormat]:
    return _collect(pm, "ossature_import_formats", "import format", _check_file_format(ImportFormat, "read"))


def export_formats(pm: pluggy.PluginManager) -> dict[str, ExportFormat]:
    return _collect(pm, "ossature_export_formats", "export format", _check_file_format(ExportFormat, "write"))


def _collect(pm: pluggy.PluginManager, hook_name: str, kind: str, check: Check) -> dict[str, Any]:
    found: dict[str, Any] = {}
    owners: dict[str, object] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        registered = impl.function()
        if registered is None:
            continue

        def refuse(problem: str) -> PluginError:
            return PluginError(f"plugin {describe_plugin(pm, impl.plugin)}: {problem}")

        if not isinstance(registered, Mapping):
            raise refuse(f"{hook_name}() must return a dict of {kind}s by name, not {type(registered).__name__}")
        for name, thing in registered.items():
            if not isinstance(name, str) or not NAME_RE.match(name):
                raise refuse(f"{kind} name {name!r} must be lowercase letters, digits and _, "
                             f"starting with a letter, at most 40 characters")
            problem = check(name, thing)
            if problem:
                raise refuse(f"{kind} '{name}' {problem}")
            if name in owners:
                raise PluginError(
                    f"{kind} '{name}' is registered by two plugins, {describe_plugin(pm, owners[name])} and "
                    f"{describe_plugin(pm, impl.plugin)}; uninstall or block one of them"
                )
            found[name] = thing
            owners[name] = impl.plugin
    return found


def _check_action(name: str, action: Any) -> str | None:
    return None if callable(action) else f"must be a function taking the action context, not {type(action).__name__}"


def _check_field_format(name: str, fmt: Any) -> str | None:
    if not isinstance(fmt, FieldFormat):
        return f"must be a plugins.FieldFormat, not {type(fmt).__name__}"
    if fmt.name != name:
        return f"is registered under another name than its own ('{fmt.name}')"
    unknown = set(fmt.base_types) - FORMAT_BASE_TYPES
    if not fmt.base_types or unknown:
        return f"needs base types among {', '.join(sorted(FORMAT_BASE_TYPES))} (got {sorted(fmt.base_types)})"
    if not callable(fmt.check):
        return "needs a check function"
    return _check_texts(fmt.message, "message")


def _check_file_format(expected: type, function: str) -> Check:
    def check(name: str, fmt: Any) -> str | None:
        if not isinstance(fmt, expected):
            return f"must be a plugins.{expected.__name__}, not {type(fmt).__name__}"
        if fmt.name != name:
            return f"is registered under another name than its own ('{fmt.name}')"
        if not callable(getattr(fmt, function)):
            return f"needs a {function} function"
        if not fmt.extension or fmt.extension.startswith("."):
            return f"needs a file extension without the dot (got {fmt.extension!r})"
        return _check_texts(fmt.label, "label")

    return check


def _check_texts(texts: Any, what: str) -> str | None:
    if not isinstance(texts, Mapping) or any(not isinstance(texts.get(lang), str) or not texts[lang]
                                             for lang in LANGUAGES):
        return f"needs a {what} in every language ({', '.join(LANGUAGES)})"
    return None
