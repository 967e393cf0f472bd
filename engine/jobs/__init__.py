"""Long operations in the background, in chunks that commit with their checkpoint.

`service` (`Jobs`) keeps the `sys_job` rows and runs jobs on threads of this process, or
sends them to Celery workers (`celery_worker`) when a broker is configured;
`mass_update_job` is the mass update as a job. What a failed job says to people is
`failures` (its own words if expected, else an error id the log has the details under), and
`stored_text` keeps what a job writes storable (no NUL, no lone surrogate). The import and
export job kinds live in `engine.exchange` and register themselves.

May import `engine.records`, `engine.access`, `engine.storage` and `engine.core`.
"""
