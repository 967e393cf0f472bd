"""`plugins.api`: the one module a plugin imports, and the deprecated names of `plugins` itself."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import plugins
from plugins import api

BUILT_IN = ("lead_conversion", "vcard", "icalendar_export")


def test_every_name_of_the_surface_is_there():
    assert sorted(api.__all__) == sorted(set(api.__all__))
    for name in api.__all__:
        assert getattr(api, name) is not None, name


@pytest.mark.parametrize("name", sorted(plugins.DEPRECATED_NAMES))
def test_a_name_plugins_exported_before_still_works_with_a_warning(name):
    with pytest.warns(DeprecationWarning, match="import it from `plugins.api`"):
        found = getattr(plugins, name)
    assert found is getattr(api, name)


def test_an_unknown_name_of_plugins_is_an_attribute_error_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
            getattr(plugins, "not_a_name")


@pytest.mark.parametrize("module", BUILT_IN)
def test_built_in_plugins_import_only_the_public_surface(module):
    """What a third-party plugin may import, the built-in ones import too: `plugins.api` and
    no other module of Ossature (the contract of .importlinter says the same for CI)."""
    source = Path(importlib.import_module(f"plugins.{module}").__file__).read_text()
    ours = ("engine", "metamodel", "plugins", "ossature", "ui_renderer")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ours:
            imported.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            imported.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names if a.name.split(".")[0] in ours)
    assert imported == {"plugins.api"}
