"""Helpers for testing Ossature's pages (the suite's, and a consultant's for their pack)."""

from __future__ import annotations

import secrets
from typing import Any

from flask.testing import FlaskClient

PAGES_WITHOUT_LOGIN = {"LOGIN_REQUIRED": False, "SECRET_KEY": "tests", "TESTING": True}
"""App settings for page tests that are not about logging in: pages act as a demo user
holding every role."""


class FormClient(FlaskClient):
    """A test client that sends the session's CSRF token with every state-changing request,
    as the pages' hidden `csrf_token` field does in a browser."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        method = str(kwargs.get("method") or "GET").upper()
        if method not in ("GET", "HEAD", "OPTIONS"):
            with self.session_transaction() as session:
                token = session.setdefault("csrf_token", secrets.token_urlsafe(16))
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRF-Token", token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)
