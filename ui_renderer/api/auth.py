"""Who calls the API: `Authorization: Bearer <token>`, a token made by `ossature token create`."""

from __future__ import annotations

from flask import current_app, request

from engine import Actor
from engine.access.accounts import Accounts

from .errors import ApiError

ACCOUNTS_KEY = "ossature.accounts"
"""Shared with the login pages (ui_renderer/core/security.py): one `Accounts` per app."""


def accounts() -> Accounts | None:
    """None when the definitions have no `user` entity: then nobody can call the API."""
    return current_app.extensions.get(ACCOUNTS_KEY)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticated_actor(lang: str) -> Actor:
    """The caller's actor, or a 401 ApiError (no token, unknown, revoked, or an inactive user)."""
    token = bearer_token()
    service = accounts()
    actor = service.actor_for_token(token, lang=lang) if service and token and len(token) <= 200 else None
    if actor is None:
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="ossature"'})
    return actor
