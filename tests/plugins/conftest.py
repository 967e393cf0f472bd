from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Iterator

import pluggy
import pytest

import metamodel
from metamodel.model import Model
from plugins.host.manager import plugin_manager

PACK = Path(__file__).resolve().parent / "pack"


@pytest.fixture(scope="session")
def pm() -> pluggy.PluginManager:
    """Every installed plugin: the built-ins and the test suite's third-party plugin."""
    return plugin_manager()


@pytest.fixture(scope="session")
def firm_model() -> Model:
    """A small pack using the test plugin's `siret` format and `stamp_note` action."""
    return metamodel.load_model([PACK])


@pytest.fixture(scope="session")
def base_model() -> Model:
    return metamodel.load_model([metamodel.BASE_PACK])


@pytest.fixture
def recorded() -> Iterator[deque[tuple[Any, ...]]]:
    """The test plugin's record of save and transition hook calls, emptied for this test."""
    import ossature_test_plugin

    ossature_test_plugin.RECORDED.clear()
    yield ossature_test_plugin.RECORDED
    ossature_test_plugin.RECORDED.clear()
