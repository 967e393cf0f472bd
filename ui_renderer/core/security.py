"""Sessions for the pages: log in, log out, and CSRF protection of every state-changing form.

`init_security(app)` is all the app factory calls; it also sets the session cookie's flags
and lifetimes (ui_renderer/core/sessions.py), the failure throttle (throttle.py), the security
headers of every response (headers.py) and the size cap of form posts (body_limit.py).

- Login: a username and password checked by `engine.access.accounts.Accounts` (slow scrypt hashes);
  the session keeps the user's id and session generation (sessions.py says when it ends).
  Every page but the login page, /health and the static files needs a logged-in user, unless
  the app is built with `LOGIN_REQUIRED=False` (then pages act as a demo user holding every
  role: for tests and trials only). Failed logins are counted per username and per client
  address; past the limit the login page answers 429 with `Retry-After`.
- Logout ends every session of the user, on every device (their session generation moves on).
- CSRF: each session has a random token; every POST (PUT, PATCH, DELETE) to a page must
  carry it, as the `csrf_token` form field or the `X-CSRF-Token` header, or it is refused
  with 403. The JSON API is exempt: it authenticates with bearer tokens, never cookies.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from engine import Actor, PermissionDenied
from engine.access.accounts import Accounts

from ui_renderer.core.language import request_language
from .body_limit import check_page_body
from .headers import init_headers
from .i18n import register_words, words
from .sessions import configure_session_cookie, session_user, start_session
from .throttle import current_throttle, init_throttle, login_counts, wait_words

auth = Blueprint("auth", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ENDPOINTS = frozenset({"auth.login", "home.health", "static"})
SESSION_CSRF = "csrf_token"
API_PATH = "/api/"

register_words({
    "en": {
        "auth_csrf_refused": "This form has expired or did not come from this site. Reload the page and try again.",
        "auth_login_failed": "Unknown username or wrong password.",
        "auth_login_title": "Log in",
        "auth_username": "Username",
        "auth_password": "Password",
        "auth_log_in": "Log in",
        "auth_log_out": "Log out",
        "auth_refused_title": "Not allowed",
        "auth_permission_refused": "Your roles do not allow this.",
        "auth_throttled": "Too many failed log-in attempts. Try again in {wait}.",
    },
    "fr": {
        "auth_csrf_refused": "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et réessayez.",
        "auth_login_failed": "Identifiant inconnu ou mot de passe erroné.",
        "auth_login_title": "Connexion",
        "auth_username": "Identifiant",
        "auth_password": "Mot de passe",
        "auth_log_in": "Se connecter",
        "auth_log_out": "Se déconnecter",
        "auth_refused_title": "Accès refusé",
        "auth_permission_refused": "Vos rôles ne le permettent pas.",
        "auth_throttled": "Trop de tentatives de connexion échouées. Réessayez dans {wait}.",
    },
})


def accounts() -> Accounts:
    found = current_app.extensions.get("ossature.accounts")
    if found is None:
        found = current_app.extensions["ossature.accounts"] = Accounts(current_app.extensions["ossature"])
    return found


def csrf_token() -> str:
    token = session.get(SESSION_CSRF)
    if not token:
        token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_field() -> Markup:
    """The hidden input every `<form method="post">` of the pages carries."""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">')


def logged_in_actor() -> Actor | None:
    """The logged-in user as an engine Actor (once per request), or None: no session, or it is
    over (sessions.py), which clears it."""
    if "actor" not in g:
        actor = None
        found = session_user(current_app.config["SESSION_IDLE_SECONDS"], current_app.config["SESSION_MAX_SECONDS"])
        if found is not None:
            user_id, generation = found
            actor = accounts().session_actor(user_id, generation, lang=request_language())
            if actor is None:
                session.clear()
        g.actor = actor
    return g.actor


def _protect() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if request.path.startswith(API_PATH) or (endpoint or "").startswith("api."):
        return None
    if request.method not in SAFE_METHODS:
        too_large = check_page_body()
        if too_large is not None:
            return too_large
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get(SESSION_CSRF) or ""
        if not expected or not hmac.compare_digest(sent, expected):
            lang = request_language()
            return render_template("refused.html", message=words(lang)["auth_csrf_refused"]), 403
    if current_app.config.get("LOGIN_REQUIRED", True) and endpoint not in OPEN_ENDPOINTS:
        if endpoint is not None and logged_in_actor() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host) may be the page after logging in."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


@auth.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    lang = request_language()
    error = None
    username = ""
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        counts = login_counts(username)
        wait = current_throttle().wait(counts)
        if wait is not None:  # refused unchecked, even a right password: else guessing would go on
            error = words(lang)["auth_throttled"].format(wait=wait_words(wait, lang))
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            service = accounts()
            actor = service.authenticate(username, request.form.get("password", ""), lang=lang)
            if actor is not None:
                start_session(actor.user_id, service.session_generation(actor.user_id))
                return redirect(_safe_next(request.args.get("next")))
            current_throttle().failed(counts)
            error, status = words(lang)["auth_login_failed"], 401
    page = render_template("login.html", error=error, username=username, next=request.args.get("next", ""))
    return page, status, headers


@auth.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends every session of the user (a copy of this cookie elsewhere stops working too)."""
    actor = logged_in_actor()
    if actor is not None and actor.user_id is not None:
        accounts().end_sessions(actor.user_id)
    session.clear()
    return redirect(url_for("auth.login"))


def init_security(app: Flask) -> None:
    configure_session_cookie(app)
    init_throttle(app)
    init_headers(app)
    app.register_blueprint(auth)
    app.before_request(_protect)
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["words"] = words
    app.jinja_env.globals["current_user"] = logged_in_actor

    @app.errorhandler(PermissionDenied)
    def permission_refused(error: PermissionDenied) -> ResponseReturnValue:
        lang = request_language()
        return render_template("refused.html", message=words(lang)["auth_permission_refused"], detail=str(error)), 403

    @app.context_processor
    def login_context() -> dict[str, Any]:
        return {"login_required": current_app.config.get("LOGIN_REQUIRED", True)}
