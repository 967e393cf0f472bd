"""Built-in plugins, the plugin host and the one module plugins import (`plugins.api`).

- `plugins/api.py`: the public surface. A plugin imports from it and from nothing else.
- `plugins/host/`: the hook specifications and the registry the engine calls plugins through.
- `plugins/lead_conversion.py`, `plugins/vcard.py`, `plugins/icalendar_export.py`: built-in
  plugins, loaded through entry points exactly like third-party ones.

`from plugins import hookimpl` (and the other names of `plugins.api` that this package
exported before) still works for third-party plugins written against it, with a
`DeprecationWarning`: import them from `plugins.api`.
"""

from __future__ import annotations

import warnings
from typing import Any

DEPRECATED_NAMES = frozenset({"Action", "ActionContext", "ExportFormat", "FieldFormat", "ImportFormat",
                              "RecordOperations", "hookimpl"})
"""What this package exported before `plugins.api` existed."""


def __getattr__(name: str) -> Any:
    if name in DEPRECATED_NAMES:
        warnings.warn(f"`from plugins import {name}` is deprecated: import it from `plugins.api`",
                      DeprecationWarning, stacklevel=2)
        from plugins import api

        return getattr(api, name)
    raise AttributeError(f"module 'plugins' has no attribute {name!r}")
