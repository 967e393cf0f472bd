"""The record pages: the form (create, edit), workflow changes, lead conversion, history,
trash and the duplicates and merge pages, registered by `blueprint`; their words in `words`.

May import `ui_renderer.core`, the engine and `metamodel`.
"""
