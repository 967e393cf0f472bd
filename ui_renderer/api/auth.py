"""Who calls the API: `Authorization: Bearer <token>`, a token made by `ossature token create`.

A request carrying a token that is unknown, revoked or of an inactive user is a failure,
counted per client address (ui_renderer/core/throttle.py); past the limit, requests with a
token from that address get 429 and `Retry-After` without their token being looked up. A
request with no token at all is answered 401 and not counted: it guesses nothing.
"""

from __future__ import annotations

from flask import Response, current_app, request

from engine import Actor
from engine.access.accounts import Accounts
from ui_renderer.core.throttle import current_throttle, token_counts, wait_words

from .errors import ApiError, json_error

ACCOUNTS_KEY = "ossature.accounts"
"""Shared with the login pages (ui_renderer/core/security.py): one `Accounts` per app."""
MAX_TOKEN_LENGTH = 200

THROTTLED: dict[str, str] = {
    "en": "Too many requests with an invalid token from your address. Try again in {wait}.",
    "fr": "Trop de requêtes avec un jeton invalide depuis votre adresse. Réessayez dans {wait}.",
}


class TooManyFailures(ApiError):
    """429: too many bad tokens from the caller's address; `Retry-After` says when to try again."""

    def __init__(self, wait: int):
        super().__init__(429, "too_many_requests", headers={"Retry-After": str(wait)})
        self.wait = wait

    def response(self, lang: str) -> Response:
        template = THROTTLED.get(lang, THROTTLED["en"])
        message = template.format(wait=wait_words(self.wait, lang if lang in THROTTLED else "en"))
        return json_error(429, {"error": "too_many_requests", "message": message}, self.headers)


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
    """The caller's actor, or a 401 ApiError (no token, unknown, revoked, or an inactive user), or a
    429 `TooManyFailures` while the caller's address has had too many bad tokens."""
    token = bearer_token()
    if token is None:
        raise _unauthorized()
    counts = token_counts()
    wait = current_throttle().wait(counts)
    if wait is not None:
        raise TooManyFailures(wait)
    service = accounts()
    actor = service.actor_for_token(token, lang=lang) if service and len(token) <= MAX_TOKEN_LENGTH else None
    if actor is None:
        current_throttle().failed(counts)
        raise _unauthorized()
    return actor


def _unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="ossature"'})
