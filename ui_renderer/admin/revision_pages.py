"""The overlay's revisions: who changed what and when, each one's documents, and Revert."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

import metamodel
from engine.installation.definition_errors import DefinitionChangeError

from .context import admin, admin_url, definitions, installation, lang, model, page
from .review import Proposal, review_page
from .words import admin_words, say

LISTED = 200
"""Revisions listed on the page, newest first."""


@admin.get("/revisions")
def revisions() -> ResponseReturnValue:
    inst = installation()
    return page("revisions.html", revisions=inst.revisions(LISTED), restorable=inst.restorable(model()))


@admin.get("/revisions/<int:revision_id>")
def revision_page(revision_id: int) -> ResponseReturnValue:
    try:
        found = installation().revision(revision_id)
    except DefinitionChangeError as error:
        return page("message.html", status=404, title=admin_words(lang()).revisions, message=error.message(lang()))
    return page("revision.html", found=found, documents=sorted(found.documents.items()))


@admin.post("/revisions/<int:revision_id>/revert")
def revert(revision_id: int) -> ResponseReturnValue:
    """The review of a revert: the plan of going back to the overlay before `revision_id`."""
    w = admin_words(lang())
    inst = installation()
    try:
        reverted = inst.revision(revision_id)
        plan = inst.plan_revert(revision_id)
    except DefinitionChangeError as error:
        return page("message.html", status=404, title=w.revisions, message=error.message(lang()))
    except metamodel.DefinitionError as error:
        return page("message.html", status=422, title=w.problems,
                    message="\n".join(str(problem) for problem in error.problems))
    summary = say(lang(), "revert_summary", revision=revision_id, summary=reverted.summary)
    proposal = Proposal(summary, definitions().revision, admin_url("revisions"), {}, revert=revision_id)
    schema = list(plan.schema.steps) if plan.schema is not None else []
    return review_page(proposal, plan.change_lines(lang()), schema, plan.steps)
