"""What a list page offers besides its rows: the user's running jobs on the entity, and links to
import, export (CSV, vCard, iCalendar... as fit), duplicates and the jobs page.

Cheap by design, since every list page shows it: one query for the active jobs (plus one
for the job named by `?job=`, after a mass update sent to the background), one indexed
lookup for records to clean up (after a rule was made stricter), the rest from
the `Model`, the actor's roles and the plugins' registries, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from flask import url_for

from engine import Actor, Engine, NotFoundError
from engine.schema.cleanup import has_records_to_clean

from .exports import export_links
from ui_renderer.exchange.job_view import JobView, job_view

ACTIVE_SHOWN = 5
ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class ListActions:
    jobs: tuple[JobView, ...]
    import_url: str | None
    exports: tuple[dict[str, Any], ...]
    duplicates_url: str | None
    cleanup_url: str | None
    """The records to clean up after a stricter rule, when there are some."""
    jobs_url: str


def list_actions(
    engine: Engine, entity: str, actor: Actor, args: Mapping[str, Sequence[str]], lang: str, suffix: str = ""
) -> ListActions:
    """`args` are the page's query arguments (`job` names a job just sent to the background)."""
    return ListActions(
        jobs=tuple(job_view(job, engine.model, lang, suffix) for job in _jobs(engine, entity, actor, args)),
        import_url=_import_url(engine, entity, actor, suffix),
        exports=tuple(export_links(entity, {k: v for k, v in args.items() if k != "job"}, lang)),
        duplicates_url=(url_for("duplicates.groups", entity=entity) + suffix
                        if engine.model.entity(entity).duplicate_rules else None),
        cleanup_url=url_for("cleanup.records", entity=entity) + suffix if has_records_to_clean(engine, entity) else None,
        jobs_url=url_for("jobs_pages.index") + suffix,
    )


def _jobs(engine: Engine, entity: str, actor: Actor, args: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    jobs = engine.jobs.list(actor, entity=entity, active=True, limit=ACTIVE_SHOWN)
    asked = (args.get("job") or [""])[0]
    if asked.isdigit() and 0 < int(asked) <= ID_MAX and all(job["id"] != int(asked) for job in jobs):
        try:
            job = engine.jobs.get(int(asked), actor)
        except NotFoundError:
            return jobs
        if job["entity"] == entity:
            jobs.insert(0, job)
    return jobs


def _import_url(engine: Engine, entity: str, actor: Actor, suffix: str) -> str | None:
    if not engine.records.permissions.access(actor, entity).allows("import"):
        return None
    return url_for("imports.upload_form", entity=entity) + suffix
