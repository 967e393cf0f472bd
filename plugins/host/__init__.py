"""The plugin host: the hooks plugins implement (`hookspecs`), what they register (`types`),
the manager that finds them through entry points (`manager`) and the registry the engine
reads (`registry`). Imports nothing of the engine: the engine calls plugins through it.

Plugins import these names from `plugins.api`, not from here.
"""
