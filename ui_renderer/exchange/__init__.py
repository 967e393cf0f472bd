"""Import and job pages: upload (`uploads`), map and preview (`import_preview`), import
(`import_pages`), and the jobs pages (`jobs_pages`, `job_view`), with their `words`.

May import `ui_renderer.core`, the engine, `plugins.host` and `metamodel`.
"""
