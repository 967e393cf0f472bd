"""Finding and loading plugins.

Every plugin, built-in or third-party, is a setuptools entry point in the
`ossature.plugins` group; installing a distribution that declares one is all it
takes to enable it.
"""

from __future__ import annotations

import importlib.metadata
from typing import Iterable

import pluggy

from . import hookspecs
from .hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME


class PluginError(Exception):
    """Plugins that cannot work together, or a plugin that breaks the hook contract."""


def plugin_manager(extra: Iterable[object] = (), *, blocked: Iterable[str] = ()) -> pluggy.PluginManager:
    """A manager with the hook specifications and every installed plugin registered.

    `extra` plugins (modules or objects, as tests use) are registered after the
    installed ones; `blocked` names entry points to leave out (e.g. to switch off a
    plugin that clashes with another without uninstalling it).
    Raises PluginError when two distributions declare the same entry point name, and
    pluggy's PluginValidationError when a plugin implements a hook that does not exist
    or with arguments the specification does not have.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    _refuse_shadowed_entry_points()
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def describe_plugin(pm: pluggy.PluginManager, plugin: object) -> str:
    """`name (distribution version)` for an installed plugin; a module's or class's name otherwise."""
    for registered, dist in pm.list_plugin_distinfo():
        if registered is plugin:
            return f"{pm.get_name(plugin)} ({dist.project_name} {dist.version})"
    return getattr(plugin, "__name__", None) or type(plugin).__qualname__


def _refuse_shadowed_entry_points() -> None:
    """pluggy silently keeps the first of two entry points with one name; say so instead.

    The same entry point seen twice (an editable install found both in the source tree
    and in site-packages) is not a clash.
    """
    seen: dict[str, tuple[str, str]] = {}
    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            owner = (dist.metadata["Name"], entry_point.value)
            first = seen.setdefault(entry_point.name, owner)
            if first[1] != owner[1]:
                raise PluginError(
                    f"two installed plugins are both named '{entry_point.name}' in the "
                    f"'{ENTRY_POINT_GROUP}' entry points: {first[1]} (from {first[0]}) and "
                    f"{owner[1]} (from {owner[0]}); uninstall one of them"
                )
