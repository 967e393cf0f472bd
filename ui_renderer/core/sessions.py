"""The page session: its cookie's settings, its lifetime, and its end (OWASP ASVS 3.2 to 3.4).

The session is Flask's signed cookie. After logging in it holds the user's id, the user's
session generation (`engine.access.accounts.Accounts.session_actor`), when it was opened
and when it was last used. It is over, and cleared, when:

- it has not been used for `SESSION_IDLE_SECONDS` (default `OSSATURE_SESSION_IDLE_MINUTES`, 30
  minutes), or it was opened `SESSION_MAX_SECONDS` ago (default `OSSATURE_SESSION_MAX_HOURS`,
  12 hours), used or not: checked here, on the server, whatever the browser keeps;
- the user's generation moved on: the user logged out (on any device: logging out ends every
  session of the user), or their password was changed (by them or by `ossature user password`);
- the login cannot be used any more (switched off, user inactive or deleted).

The cookie is `HttpOnly`, `SameSite=Lax`, `Secure` with `OSSATURE_SECURE_COOKIES`, and expires
in the browser after the idle time; an app's own config value for any of these is kept.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask, session

from engine.installation import settings

SESSION_USER = "user_id"
SESSION_GENERATION = "generation"
SESSION_STARTED = "started_at"
SESSION_SEEN = "seen_at"


def now() -> float:
    """The clock of session lifetimes (seconds since the epoch); tests put a fixed one in its place."""
    return time.time()


def configure_session_cookie(app: Flask) -> None:
    """Cookie flags and lifetimes, unless the app's own config gave them (Flask's default values
    do not count: `SESSION_COOKIE_SAMESITE` is None there, which sends no SameSite at all)."""
    idle = int(app.config.get("SESSION_IDLE_SECONDS") or settings.session_idle_seconds())
    app.config["SESSION_IDLE_SECONDS"] = idle
    app.config["SESSION_MAX_SECONDS"] = int(app.config.get("SESSION_MAX_SECONDS") or settings.session_max_seconds())
    _unless_given(app, "SESSION_COOKIE_SAMESITE", "Lax")
    _unless_given(app, "SESSION_COOKIE_HTTPONLY", True)
    _unless_given(app, "SESSION_COOKIE_SECURE", settings.secure_cookies())
    _unless_given(app, "PERMANENT_SESSION_LIFETIME", dt.timedelta(seconds=idle))


def _unless_given(app: Flask, key: str, value: Any) -> None:
    if app.config.get(key) == app.default_config.get(key):
        app.config[key] = value


def start_session(user_id: int, generation: int) -> None:
    """A new session for a user who just logged in: nothing of the previous one is kept (its
    CSRF token neither), so a session id planted before logging in is worth nothing."""
    session.clear()
    session.permanent = True  # the cookie expires after the idle time, not when the browser closes
    moment = int(now())
    session.update({SESSION_USER: int(user_id), SESSION_GENERATION: int(generation), SESSION_STARTED: moment,
                    SESSION_SEEN: moment})


def session_user(idle_seconds: int, max_seconds: int) -> tuple[int, int] | None:
    """(user id, generation) of a logged-in session still within its lifetime, marked as used now;
    None when there is none. A session past its lifetime, or written before sessions had one, is
    cleared."""
    if SESSION_USER not in session:
        return None
    try:
        user_id, generation = int(session[SESSION_USER]), int(session[SESSION_GENERATION])
        started, seen = float(session[SESSION_STARTED]), float(session[SESSION_SEEN])
    except (KeyError, TypeError, ValueError):
        session.clear()
        return None
    moment = now()
    if moment - started >= max_seconds or moment - seen >= idle_seconds:
        session.clear()
        return None
    if int(moment) != int(seen):
        session[SESSION_SEEN] = int(moment)
    return user_id, generation
