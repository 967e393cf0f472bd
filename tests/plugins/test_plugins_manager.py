"""Loading plugins: built-ins and third parties alike come from `ossature.plugins` entry points."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

import plugins.lead_conversion
from plugins.api import hookimpl
from plugins.host.manager import PluginError, plugin_manager
from plugins.host.registry import actions

ROOT = Path(__file__).resolve().parents[2]


def test_built_in_and_third_party_plugins_load_through_entry_points(pm):
    loaded = {pm.get_name(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()}
    assert loaded["lead_conversion"] == "ossature"
    assert loaded["test_plugin"] == "ossature-test-plugin"


def test_an_entry_point_registers_its_module_as_the_plugin(pm):
    import ossature_test_plugin

    assert pm.get_plugin("lead_conversion") is plugins.lead_conversion
    assert pm.get_plugin("test_plugin") is ossature_test_plugin


def test_extra_plugins_join_the_installed_ones():
    class Extra:
        @hookimpl
        def ossature_actions(self):
            return {"extra_action": lambda ctx: None}

    registered = actions(plugin_manager([Extra()]))
    assert {"extra_action", "convert_lead", "stamp_note"} <= set(registered)


def test_a_blocked_plugin_is_left_out():
    pm = plugin_manager(blocked=["test_plugin"])
    assert pm.get_plugin("test_plugin") is None
    assert set(actions(pm)) == {"convert_lead"}


def test_a_hook_that_does_not_exist_is_refused():
    class Typo:
        @hookimpl
        def ossature_action(self):
            return {}

    with pytest.raises(pluggy.PluginValidationError, match="ossature_action"):
        plugin_manager([Typo()])


def test_a_hook_argument_the_specification_lacks_is_refused():
    class Wrong:
        @hookimpl
        def ossature_after_save(self, entity, recrd):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="recrd"):
        plugin_manager([Wrong()])


def test_a_hook_may_take_only_the_arguments_it_uses():
    seen = []

    class Partial:
        @hookimpl
        def ossature_after_transition(self, transition, to_status):
            seen.append((transition, to_status))

    pm = plugin_manager([Partial()])
    pm.hook.ossature_after_transition(
        tx=None, entity="lead", record={}, transition="convert", from_status="qualified", to_status="converted"
    )
    assert seen == [("convert", "converted")]


class FakeDistribution:
    def __init__(self, name: str, *entry_points: tuple[str, str]):
        self.metadata = {"Name": name}
        self.entry_points = importlib.metadata.EntryPoints(
            importlib.metadata.EntryPoint(ep_name, value, "ossature.plugins") for ep_name, value in entry_points
        )


def test_two_distributions_using_one_entry_point_name_are_refused(monkeypatch):
    dists = [FakeDistribution("first", ("clash", "first_module")), FakeDistribution("second", ("clash", "second_module"))]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))
    with pytest.raises(PluginError) as caught:
        plugin_manager()
    message = str(caught.value)
    assert "'clash'" in message
    assert "first_module (from first)" in message and "second_module (from second)" in message


def test_one_entry_point_seen_twice_is_not_a_clash(monkeypatch):
    """An editable install is found both in the source tree and in site-packages."""
    dists = [FakeDistribution("ossature", ("lead_conversion", "plugins.lead_conversion"))] * 2
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))
    assert set(actions(plugin_manager())) == {"convert_lead"}


def test_the_hook_specifications_do_not_import_the_engine():
    """The engine imports the plugin machinery; the other way round would be a cycle."""
    code = (
        "import sys, plugins, plugins.host.hookspecs, plugins.host.manager, plugins.host.registry, plugins.host.types\n"
        "loaded = sorted(m for m in sys.modules if m == 'engine' or m.startswith('engine.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
