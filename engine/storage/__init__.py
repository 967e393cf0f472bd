"""The database shape derived from the `Model`, and the rows every write leaves behind.

`tables` builds the SQLAlchemy Core tables (one per entity, plus audit, history and the job
tables of `job_tables`) with the column types of `column_types`; `trail` writes the audit log
and the history set-based, `sqljson` builds their JSON inside the database, `keyset`
reads a whole list chunk by chunk in its sort order, and `search_index` keeps the quick
search's trigram index (an FTS5 table on SQLite, pg_trgm indexes on PostgreSQL).

May import `engine.core` and `metamodel`; nothing above.
"""
