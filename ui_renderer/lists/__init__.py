"""The list pages: a view's `layout` compiled once, the `page` of rows, mass updates
(`mass_update_form`), `exports`, the running `actions`, and the `cleanup` page after a
rule was tightened; registered by `blueprint`.

May import `ui_renderer.records`, `ui_renderer.exchange`, `ui_renderer.core` and the engine.
"""
