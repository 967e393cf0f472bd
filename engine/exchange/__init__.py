"""Data in and out: imports and exports of any entity, streamed and set-based.

Import: `importer` drives `import_rows` (cells from `csv_source` or a plugin's format,
mapped by `import_mapping`), `import_links` and `import_keys` (links and upsert keys, one
query per chunk), with `import_options` and `import_messages`; `import_checks` checks the
options once, before a job is queued, for the pages, the API and the command line. Export: `exporter` writes a
list view through `export_values` (values as people read them, also used by plugins
through `plugins.api`) and `export_stream`. The lines of records (`lines` characteristics) go in
files of their own, one row per line keyed by its parent: `lines_export` and `lines_import`.

May import `engine.jobs`, `engine.records`, `engine.storage`, `engine.core`, `plugins.host`
and `metamodel`.
"""
