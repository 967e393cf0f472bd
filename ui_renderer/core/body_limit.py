"""The size cap of what a page receives: a form post larger than `FORM_MAX_CONTENT_LENGTH` bytes
(default 1 MiB, as the API's `API_MAX_CONTENT_LENGTH`) is refused with a 413 page in the user's
language, before anything of it is stored.

An upload page has its own, larger cap: its file limit (the app config key named in
`UPLOAD_LIMITS`) plus a form's cap for the other fields. When that key is not in the app's
config, the page applies its own default while copying the file
(ui_renderer/exchange/uploads.py); Werkzeug still caps each non-file field at
`MAX_FORM_MEMORY_SIZE`.
"""

from __future__ import annotations

from flask import current_app, render_template_string, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from .i18n import format_integer, register_words, words
from .language import request_language

DEFAULT_FORM_MAX_BYTES = 1024 * 1024
UPLOAD_LIMITS: dict[str, str] = {"imports.upload": "IMPORT_MAX_BYTES"}
"""Endpoint of an upload page -> the app config key of its file limit (bytes)."""
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

register_words({
    "en": {
        "body_too_large_title": "Too large",
        "body_too_large": "What you sent is too large: this page accepts at most {limit} bytes. "
                          "Shorten the text and try again.",
        "body_back": "Back to the home page",
    },
    "fr": {
        "body_too_large_title": "Trop volumineux",
        "body_too_large": "Ce que vous avez envoyé est trop volumineux : cette page accepte au plus {limit} octets. "
                          "Raccourcissez le texte et réessayez.",
        "body_back": "Retour à l'accueil",
    },
})

TOO_LARGE_PAGE = """{% extends "base.html" %}
{% block title %}{{ w.body_too_large_title }} · Ossature{% endblock %}
{% block content %}
  <h1>{{ w.body_too_large_title }}</h1>
  <p class="notice notice-error" role="alert">{{ message }}</p>
  <p><a href="{{ url_for('home.index', lang=lang) }}">{{ w.body_back }}</a></p>
{% endblock %}
"""


def form_max_bytes() -> int:
    return int(current_app.config.get("FORM_MAX_CONTENT_LENGTH") or DEFAULT_FORM_MAX_BYTES)


def page_body_limit() -> int | None:
    """The cap of this request's body: a form's, or an upload page's (None: the page checks its own)."""
    form = form_max_bytes()
    upload_key = UPLOAD_LIMITS.get(request.endpoint or "")
    if upload_key is None:
        return form
    file_limit = current_app.config.get(upload_key)
    return int(file_limit) + form if file_limit else None


def check_page_body() -> ResponseReturnValue | None:
    """Before a page handles a POST (PUT, PATCH, DELETE): the 413 page when the body is over the
    cap (by its announced length, or as read for a body sent in chunks), else None."""
    limit = page_body_limit()
    if limit is None:
        return None
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        return too_large_page(limit)
    if request.endpoint not in UPLOAD_LIMITS:
        request.max_form_memory_size = limit  # one field may take the whole cap: the cap is what is said
        if request.content_length is None and _sent_in_chunks_over(limit):
            return too_large_page(limit)
    if request.mimetype in FORM_TYPES:
        try:
            request.form  # read now, under the cap: the CSRF check and the page read it next
        except RequestEntityTooLarge:
            return too_large_page(limit)
    return None


def _sent_in_chunks_over(limit: int) -> bool:
    """Whether a body of unannounced length is over `limit`. Werkzeug stops reading such a body
    at the cap without a word (a form would be cut short, not refused), so one byte more than
    the cap is read here, and kept for the form to be parsed from."""
    request.max_content_length = limit + 1
    try:
        over = len(request.get_data(cache=True)) > limit
    except RequestEntityTooLarge:
        over = True
    finally:
        request.max_content_length = limit
    return over


def too_large_page(limit: int) -> ResponseReturnValue:
    lang = request_language()
    w = words(lang)
    message = w["body_too_large"].format(limit=format_integer(limit, lang))
    return render_template_string(TOO_LARGE_PAGE, w=w, message=message), 413
