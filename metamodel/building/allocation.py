"""Pausing the cyclic garbage collector while a large, long-lived structure is built."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """Building a `Model` (or the engine's tables and schemas from it) allocates hundreds of
    thousands of objects and frees few: the collector's passes over them find nothing and
    cost a fifth of the time or more."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
