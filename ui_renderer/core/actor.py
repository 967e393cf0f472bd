"""Who the web UI acts as: the logged-in user (ui_renderer/core/security.py), in the request's language.

Pages call `current_actor()` and nothing else. An app built with `LOGIN_REQUIRED=False`
(tests, trials) acts as a demo user holding every role.
"""

from __future__ import annotations

from flask import abort, current_app

from engine import Actor

from ui_renderer.core.language import request_language

DEMO_ROLES = frozenset({"sales", "manager", "support", "admin"})


def current_actor() -> Actor:
    from .security import logged_in_actor

    actor = logged_in_actor()
    if actor is not None:
        return actor
    if current_app.config.get("LOGIN_REQUIRED", True):
        abort(401)  # the login check runs before every page: reaching here is a bug, not a user error
    return Actor(user_id=None, username="demo", roles=DEMO_ROLES, lang=request_language())
