"""A job (`engine.jobs.service.Jobs.get`) as the pages show it: words in the user's language, URLs, buttons.

Shared by the jobs pages, the list page's progress bars and the JSON the progress script
polls, so all three say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from flask import url_for

from engine.jobs.service import ACTIVE
from metamodel.model import Model
from ui_renderer.core.i18n import format_datetime, format_integer, words

from . import words as _exchange_words  # noqa: F401  (registers the words used here)

COUNT_ORDER = ("matched", "would_create", "created", "would_update", "updated", "changed", "unchanged", "exported",
               "refused")
CANCELLABLE = ("queued", "running")
RESUMABLE = ("failed", "interrupted")


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    kind_label: str
    entity: str | None
    entity_label: str
    state: str
    state_label: str
    active: bool
    done: int
    total: int | None
    percent: int
    progress_text: str
    counts: tuple[tuple[str, str, int], ...]
    """(code, label, value) in a stable order."""
    counts_text: str
    error_count: int
    created: str
    finished: str
    message: str | None
    dry_run: bool
    url: str
    progress_url: str
    output_url: str | None
    output_name: str | None
    can_cancel: bool
    can_resume: bool

    def progress_json(self) -> dict[str, Any]:
        """What the progress script reads (ui_renderer/static/jobs.js)."""
        return {
            "id": self.id, "state": self.state, "state_label": self.state_label, "active": self.active,
            "done": self.done, "total": self.total, "percent": self.percent, "text": self.progress_text,
            "counts_text": self.counts_text, "error_count": self.error_count,
        }


IMPORT_KINDS = frozenset({"import", "import_lines"})
"""Jobs reading an uploaded file, which may be a dry run (engine/exchange/importer.py, lines_import.py)."""


def job_view(job: Mapping[str, Any], model: Model, lang: str, suffix: str = "") -> JobView:
    """`suffix` ends the job's URLs (`?lang=fr` when the page's URL names the language)."""
    ui = words(lang)
    state = job["state"]
    params = job.get("params") or {}
    dry_run = job["kind"] in IMPORT_KINDS and bool((params.get("options") or {}).get("dry_run"))
    kind_key = f"kind_{job['kind']}_dry_run" if dry_run else f"kind_{job['kind']}"
    entity = job.get("entity")
    entity_label = model.entity(entity).plural.get(lang) if entity in model.entities else (entity or "")
    done, total = job.get("done") or 0, job.get("total")
    percent = int(job.get("percent") or 0)
    if total:
        progress = ui["job_progress_text"].format(
            done=format_integer(done, lang), total=format_integer(total, lang), percent=percent
        )
    else:
        progress = ui["job_progress_unknown"].format(done=format_integer(done, lang))
    counts = job.get("counts") or {}
    ordered = sorted(counts, key=lambda name: (COUNT_ORDER.index(name) if name in COUNT_ORDER else 99, name))
    labelled = tuple((name, ui.get(f"count_{name}", name.replace("_", " ")), int(counts[name])) for name in ordered)
    has_output = state == "done" and bool(job.get("output_name"))
    return JobView(
        id=job["id"],
        kind=job["kind"],
        kind_label=ui.get(kind_key, job["kind"]),
        entity=entity,
        entity_label=entity_label,
        state=state,
        state_label=ui.get(f"state_{state}", state),
        active=state in ACTIVE,
        done=done,
        total=total,
        percent=percent,
        progress_text=progress,
        counts=labelled,
        counts_text=", ".join(f"{format_integer(value, lang)} {label}" for _, label, value in labelled),
        error_count=job.get("error_count") or 0,
        created=format_datetime(job["created_at"], lang) if job.get("created_at") else "",
        finished=format_datetime(job["finished_at"], lang) if job.get("finished_at") else "",
        message=job.get("message"),
        dry_run=dry_run,
        url=url_for("jobs_pages.detail", job_id=job["id"]) + suffix,
        progress_url=url_for("jobs_pages.progress", job_id=job["id"]) + suffix,
        output_url=url_for("jobs_pages.output", job_id=job["id"]) if has_output else None,
        output_name=job.get("output_name") if has_output else None,
        can_cancel=state in CANCELLABLE,
        can_resume=state in RESUMABLE,
    )
