"""Who the web UI acts as.

Users and login come later: until then every page acts as one demo user holding every
role, in the request's language. Pages call `current_actor()` and nothing else, so
login only has to change this function.
"""

from __future__ import annotations

from engine import Actor

from .home import request_language

DEMO_ROLES = frozenset({"sales", "manager", "support", "admin"})


def current_actor() -> Actor:
    return Actor(user_id=None, username="demo", roles=DEMO_ROLES, lang=request_language())
