"""Every change goes through review: its plan in plain words first, then Apply or Cancel.

A form's submit never changes anything: it turns the edit into overlay documents, loads them
(a definition problem goes back to the form, naming the field) and shows the plan: what
changes in the definitions, what the migration will do to the database, and what blocks it
(values that do not convert, listed by record). The review page carries the change, signed
with the app's secret key so that Apply runs exactly what was reviewed, and the revision it
was made from, so that a change made meanwhile by someone else is not silently undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from flask import current_app, flash, redirect, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer

import metamodel
from engine.installation.definition_errors import DefinitionChangeError
from engine.installation.definitions import AppliedRevision
from engine.schema.archive import ArchiveError
from engine.schema.archive_restore import restore_archived
from engine.schema.steps import MigrationRefused, Step
from metamodel.editing.definition_edits import DefinitionEditError, OverlayEditor
from metamodel.errors import Problem

from .context import acting, admin, admin_url, definitions, installation, lang, live, page
from .words import admin_words, say

SALT = "ossature.admin.change"
Retry = Callable[..., ResponseReturnValue]
"""Shows the form again: `retry(status=422, errors={field: message}, problems=[...], notice=..., refusal=...)`."""


@dataclass(frozen=True)
class Proposal:
    summary: str
    base: int
    """The overlay revision the change was made from (0: the empty overlay)."""
    back: str
    """Where to go after applying or cancelling (a path of this site)."""
    changes: Mapping[str, str | None]
    """Document name -> its text after the change (None: removed)."""
    revert: int | None = None


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def sign(proposal: Proposal) -> str:
    return _signer().dumps({"summary": proposal.summary, "base": proposal.base, "back": proposal.back,
                            "changes": dict(proposal.changes), "revert": proposal.revert})


def unsign(token: str) -> Proposal | None:
    try:
        data = _signer().loads(token)
    except BadSignature:
        return None
    return Proposal(data["summary"], int(data["base"]), data["back"], data["changes"], data.get("revert"))


def field_errors(problems: Sequence[Problem], names: Sequence[str]) -> dict[str, str]:
    """Each problem under the form field its path ends with (`characteristics.score.max` -> max)."""
    found: dict[str, str] = {}
    for problem in problems:
        for segment in reversed(problem.path.split(".")):
            if segment in names:
                found.setdefault(segment, problem.message)
                break
    return found


def edit_refused(error: DefinitionEditError, retry: Retry) -> ResponseReturnValue:
    message = error.message(lang())
    return retry(status=422, errors={error.field: message}, refusal=message)


def review(editor: OverlayEditor, summary: str, back: str, retry: Retry, names: Sequence[str] = ()) -> ResponseReturnValue:
    """The review page of the change `editor` made, or the form again with what is wrong."""
    changes = editor.changes()
    if not changes:
        return retry(status=200, notice=admin_words(lang()).nothing_changed)
    try:
        plan = installation().plan_overlay(editor.texts())
    except metamodel.DefinitionError as error:
        return retry(status=422, problems=list(error.problems), errors=field_errors(error.problems, names))
    proposal = Proposal(summary, definitions().revision, back, changes)
    return review_page(proposal, plan.change_lines(lang()), _steps(plan.schema), plan.steps)


def review_page(
    proposal: Proposal, change_lines: Sequence[str], steps: Sequence[Step], words_only: Sequence[str] = (),
    *, status: int = 200, error: str | None = None,
) -> ResponseReturnValue:
    blocked = any(step.blocking for step in steps)
    schema = [
        {"text": step.text(lang()), "details": step.details(lang()), "blocking": step.blocking, "kind": step.kind}
        for step in steps
    ] or [{"text": line, "details": [], "blocking": False, "kind": ""} for line in words_only]
    return page(
        "review.html", status=status if not blocked or status != 200 else 409, proposal=proposal,
        token=sign(proposal), change_lines=change_lines, schema=schema, blocked=blocked, error=error,
    )


def _steps(schema: Any) -> list[Step]:
    return list(schema.steps) if schema is not None else []


@admin.post("/apply")
def apply() -> ResponseReturnValue:
    w = admin_words(lang())
    proposal = unsign(request.form.get("change", ""))
    if proposal is None:
        return page("message.html", status=400, title=w.conflict_title, message=w.bad_token)
    try:
        applied = _apply(proposal)
    except MigrationRefused as refused:
        return review_page(proposal, [], list(refused.plan.steps), status=409)
    except DefinitionChangeError as error:
        return review_page(proposal, [], [], status=409, error=error.message(lang()))
    except metamodel.DefinitionError as error:
        return review_page(proposal, [], [], status=422, error="\n".join(str(p) for p in error.problems))
    live().refresh()
    _announce(applied)
    return redirect(proposal.back)


def _apply(proposal: Proposal) -> AppliedRevision:
    inst = installation()
    actor = acting()
    if proposal.revert is not None:
        return inst.revert_overlay(proposal.revert, actor, proposal.summary, expected_revision=proposal.base)
    documents = dict(inst.revision(proposal.base).documents) if proposal.base else {}
    for name, text in proposal.changes.items():
        if text is None:
            documents.pop(name, None)
        else:
            documents[name] = text
    return inst.apply_overlay(documents, actor, proposal.summary, expected_revision=proposal.base)


def _announce(applied: AppliedRevision) -> None:
    language = lang()
    flash(say(language, "applied", revision=applied.revision.id, summary=applied.revision.summary), "success")
    if applied.done:
        flash(say(language, "applied_steps", steps="; ".join(applied.done)), "info")
    if applied.restorable:
        flash(say(language, "restorable", targets=", ".join(e.target for e in applied.restorable)), "info")


@admin.post("/archive/restore")
def restore() -> ResponseReturnValue:
    """Bring back archived values whose characteristic is declared again (after a revert, say)."""
    target = request.form.get("target", "")
    engine = live().current(check_now=True)
    try:
        result = restore_archived(engine, target, actor_id=acting().user_id)
    except ArchiveError as error:
        flash(error.message(lang()), "error")
    else:
        flash(result.message(lang()), "success")
    return redirect(admin_url("revisions"))
