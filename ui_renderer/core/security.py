"""Sessions for the pages: log in, log out, and CSRF protection of every state-changing form.

- Login: a username and password checked by `engine.access.accounts.Accounts` (slow scrypt hashes);
  the session keeps only the user's id. Every page but the login page, /health and the
  static files needs a logged-in user, unless the app is built with `LOGIN_REQUIRED=False`
  (then pages act as a demo user holding every role: for tests and trials only).
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
from .i18n import register_words, words

auth = Blueprint("auth", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ENDPOINTS = frozenset({"auth.login", "home.health", "static"})
SESSION_USER = "user_id"
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
    """The logged-in user as an engine Actor (once per request), or None."""
    if "actor" not in g:
        user_id = session.get(SESSION_USER)
        actor = None
        if user_id is not None:
            try:
                actor = accounts().actor_for(int(user_id), lang=request_language())
            except Exception:  # the user was deleted or its login removed: the session is over
                session.pop(SESSION_USER, None)
        g.actor = actor
    return g.actor


def _protect() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if request.path.startswith(API_PATH) or (endpoint or "").startswith("api."):
        return None
    if request.method not in SAFE_METHODS:
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
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        actor = accounts().authenticate(username, request.form.get("password", ""), lang=lang)
        if actor is not None:
            session.clear()  # a new session (and CSRF token) on login: nothing carried over
            session[SESSION_USER] = actor.user_id
            return redirect(_safe_next(request.args.get("next")))
        error = words(lang)["auth_login_failed"]
    status = 401 if error else 200
    return render_template("login.html", error=error, username=username, next=request.args.get("next", "")), status


@auth.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("auth.login"))


def init_security(app: Flask) -> None:
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
