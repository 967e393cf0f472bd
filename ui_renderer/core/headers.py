"""Security headers on every response: pages, API, static files, errors (OWASP ASVS 14.4).

- `Content-Security-Policy`: scripts only from this site's files (the templates hold no inline
  script and no `on...=` attribute: keep it so, tests/ui/test_security_headers.py checks),
  styles from this site plus inline ones (the templates set colours and widths in `style`
  attributes and two `<style>` blocks), no plugin objects, forms posting only here, and no
  framing (`frame-ancestors 'none'`);
- `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`;
- `X-Content-Type-Options: nosniff`;
- `Referrer-Policy: same-origin`: record addresses are not sent to other sites;
- `Cache-Control: no-store` where the response sets no caching of its own (static files
  do): pages show the user's records, which must not stay in a shared or browser cache;
- `Strict-Transport-Security` when the request came over HTTPS or the cookies are `Secure`.

A response that set one of these itself keeps its own (`X-Content-Type-Options` excepted).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000"
"""One year; no includeSubDomains: other sites of the domain are not this app's to decide."""


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if "Cache-Control" not in headers and request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_headers(app: Flask) -> None:
    app.after_request(security_headers)
