"""The `stamp_or_fail` action that tests/engine/pack's sample workflow calls: a plugin for tests only.

An installation of that pack must be given it (`engine_options={"plugins": stamp_plugins()}`):
definitions naming an action no plugin provides are refused at load.
"""

from __future__ import annotations

import pluggy

from engine import EngineError
from plugins.api import hookimpl
from plugins.host.manager import plugin_manager


class StampActions:
    """An action that sets a value, or fails on demand."""

    @staticmethod
    @hookimpl
    def ossature_actions():
        def stamp_or_fail(ctx):
            if ctx.inputs.get("fail"):
                raise EngineError("the stamping machine is out of ink")
            assert ctx.record["notes"] == "stamped"  # sees what earlier actions set
            return {"code": ctx.params["stamp"]}

        return {"stamp_or_fail": stamp_or_fail}


def stamp_plugins() -> pluggy.PluginManager:
    """The installed plugins plus `StampActions`."""
    return plugin_manager(extra=[StampActions])
