"""The generated record pages: the form (create, edit), workflow actions, lead conversion,
history and trash. Every page comes from the `Model`; nothing here knows an entity by name.

This module is the `forms` blueprint and its URL map; each page lives in its own module:

- form_pages: create and edit, conflicts, the link lookup
- copying: a copy of a record with its lines
- form_workflow: transitions and free moves, with their prompt for required fields
- form_convert: the lead conversion dialog
- form_history: audit log, historized values, time in each status
- form_trash: delete, the trash, restore

They share form_common (engine, actor, language, URLs, responses), form_state (values and
errors of a form on a page), form_links (linked records, through the engine) and
form_status (the workflow bar); widgets.py renders the inputs.
"""

from __future__ import annotations

from flask import Blueprint

from engine.access.permissions import PermissionDenied

from .common import denied
from .convert import convert
from .history import history
from .copying import copy
from .form import edit, lookup, new
from .trash import delete, restore, trash
from .workflow import move, transition

forms = Blueprint("forms", __name__)

GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]
PAGES = (
    ("/<entity>/new", new, BOTH),
    ("/<entity>/<int:record_id>", edit, BOTH),
    ("/<entity>/<int:record_id>/delete", delete, POST),
    ("/<entity>/<int:record_id>/restore", restore, POST),
    ("/<entity>/<int:record_id>/copy", copy, POST),
    ("/<entity>/trash", trash, GET),
    ("/<entity>/<int:record_id>/transition/<name>", transition, BOTH),
    ("/<entity>/<int:record_id>/move", move, POST),
    ("/<entity>/<int:record_id>/convert", convert, BOTH),
    ("/<entity>/<int:record_id>/history", history, GET),
    ("/<entity>/lookup", lookup, GET),
)
"""(URL rule, view, methods); each endpoint is named after its view: forms.new, forms.edit, ..."""

for rule, view, methods in PAGES:
    forms.add_url_rule(rule, view.__name__, view, methods=methods)

forms.register_error_handler(PermissionDenied, denied)
forms.register_error_handler(403, denied)
