"""The trash: moving a record to it, the list of what is in it, and restoring from it."""

from __future__ import annotations

from flask import abort, redirect, request
from flask.typing import ResponseReturnValue

from engine import ConflictError, NotFoundError, RecordValidationError, StateError

from .common import acting, engine, entity_or_404, form_cache, html, list_url, page_language, page_url, posted_version
from .form import refused_page
from ui_renderer.core.i18n import format_datetime, words

TRASH_PAGE = 200
"""The trash page lists this many of the most recently trashed records."""


def delete(entity: str, record_id: int) -> ResponseReturnValue:
    definition = entity_or_404(entity)
    try:
        engine().records.delete(entity, record_id, acting(), version=posted_version())
    except NotFoundError:
        abort(404)
    except StateError:
        return redirect(page_url("forms.trash", entity=entity), 303)
    except ConflictError as error:
        return refused_page(definition, error.current, words(page_language())["f_stale_action"])
    return redirect(page_url("forms.trash", entity=entity, deleted=record_id), 303)


def restore(entity: str, record_id: int) -> ResponseReturnValue:
    entity_or_404(entity)
    try:
        engine().records.restore(entity, record_id, acting())
    except NotFoundError:
        abort(404)
    except StateError:
        return redirect(page_url("forms.edit", entity=entity, record_id=record_id), 303)
    except RecordValidationError as error:
        return trash_page(entity, status=409, problem=error.describe(page_language()))
    return redirect(page_url("forms.edit", entity=entity, record_id=record_id, restored=1), 303)


def trash(entity: str) -> ResponseReturnValue:
    entity_or_404(entity)
    return trash_page(entity)


def trash_page(entity: str, *, status: int = 200, problem: str | None = None) -> ResponseReturnValue:
    lang = page_language()
    records, actor, cache = engine().records, acting(), form_cache()
    rows = [
        {
            "id": row["id"], "title": cache.named(entity, row["id"], row["title"], lang),
            "deleted_at": format_datetime(row["deleted_at"], lang),
            "restore_url": page_url("forms.restore", entity=entity, record_id=row["id"]),
        }
        for row in records.trashed(entity, limit=TRASH_PAGE, actor=actor)
    ]
    notice = None
    deleted = request.args.get("deleted", "")
    if deleted.isdigit():
        trashed = next((r for r in rows if r["id"] == int(deleted)), None)
        if trashed:
            text = words(lang)["f_deleted_notice"].format(title=trashed["title"])
            notice = {"text": text, "restore_url": trashed["restore_url"]}
    total = records.count(entity, include_deleted=True, actor=actor) - records.count(entity, actor=actor)
    return html(
        "trash.html", status, entity=engine().model.entity(entity), rows=rows, notice=notice, problem=problem,
        list_url=list_url(entity), total=total,
    )
