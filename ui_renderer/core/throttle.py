"""Failed logins and bad API tokens are counted; past a limit, more attempts are refused for a while.

OWASP ASVS 2.2.1: no more than 100 failed attempts an hour on one account, and anti-automation
against trying many accounts. Three counts, each a moving window (the oldest failure leaving
the window frees one attempt), with the limits of `engine.installation.settings.DEFAULT_FAILURE_LIMITS`
unless the app's config (`LOGIN_ACCOUNT_LIMIT`, `LOGIN_ADDRESS_LIMIT`, `TOKEN_ADDRESS_LIMIT`)
or the environment says otherwise:

- failed logins naming one username (from any address);
- failed logins from one client address (whatever the username);
- requests from one client address carrying an unknown, revoked or inactive API token (a token
  names no account: it is random, so only the address is counted).

Only failures count: a successful login or call adds nothing. While a count is at its limit,
every attempt it covers is refused, a correct one too (else a guess would still be checked),
with the number of seconds until one is free again (the `Retry-After` header).

The counts live in a storage of `limits` (the library Flask-Limiter is built on:
`RATELIMIT_STORAGE_URI`, default `settings.rate_limit_storage()`: Redis when several app servers
must share them, memory for one), with its moving-window strategy. Flask-Limiter's own request
hooks are not installed: they would run on every request to check route limits this app does
not declare, and only failures are counted here. If that storage fails, the error is logged
with an id and the counts go on in this process's memory until it answers again;
`RATELIMIT_ENABLED=False` leaves the shared storage out the same way, never the counting itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from engine.installation import settings

from .i18n import count_words, register_words

log = logging.getLogger(__name__)

THROTTLE_KEY = "failure_throttle"
"""On `app.extensions`; not named "ossature...", which the live engine drops on every swap."""
LIMIT_CONFIG = {"login_account": "LOGIN_ACCOUNT_LIMIT", "login_address": "LOGIN_ADDRESS_LIMIT",
                "token_address": "TOKEN_ADDRESS_LIMIT"}
"""Failure count -> the app config key of its limit."""
IPV6_PREFIX = 64
"""An IPv6 client is counted by its /64: one subscriber usually holds a whole /64."""

_T = TypeVar("_T")

register_words({
    "en": {"wait_seconds_one": "1 second", "wait_seconds": "{count} seconds",
           "wait_minutes_one": "1 minute", "wait_minutes": "{count} minutes"},
    "fr": {"wait_seconds_one": "1 seconde", "wait_seconds": "{count} secondes",
           "wait_minutes_one": "1 minute", "wait_minutes": "{count} minutes"},
})


@dataclass(frozen=True)
class Count:
    """One failure count: which limit (`LIMIT_CONFIG` name) and whose failures (a username, an address)."""

    limit: str
    subject: str


def wait_words(seconds: int, lang: str) -> str:
    """A wait as a reader wants it: seconds under a minute, else whole minutes rounded up."""
    if seconds < 60:
        return count_words(lang, "wait_seconds", seconds)
    return count_words(lang, "wait_minutes", -(-seconds // 60))


def client_address() -> str:
    """The client's address as counted: the connection's address (`request.remote_addr`; behind
    a reverse proxy the app must trust its `X-Forwarded-For`, werkzeug's `ProxyFix`), an IPv6
    address reduced to its /64."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def username_subject(username: str) -> str:
    """A username as counted: case and surrounding spaces ignored (so `Sam` and `sam ` share one
    count), digested so that any length makes a short storage key."""
    return hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()[:32]


def login_counts(username: str) -> list[Count]:
    return [Count("login_account", username_subject(username)), Count("login_address", client_address())]


def token_counts() -> list[Count]:
    return [Count("token_address", client_address())]


class FailureThrottle:
    """The failure counts of one app, on its shared storage (`shared`, None when switched off)."""

    def __init__(self, shared: RateLimiter | None, limits: Mapping[str, str], prefix: str = "ossature"):
        self.shared = shared
        self.items: dict[str, list[RateLimitItem]] = {name: parse_many(text) for name, text in limits.items()}
        self.prefix = prefix
        self._fallback = MovingWindowRateLimiter(MemoryStorage())

    def wait(self, counts: Iterable[Count]) -> int | None:
        """Seconds until an attempt covered by `counts` is allowed again, or None if it is allowed now."""
        waits = []
        for item, ids in self._keys(counts):
            if not self._run(lambda strategy: strategy.test(item, *ids)):
                reset_at = self._run(lambda strategy: strategy.get_window_stats(item, *ids)).reset_time
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits) if waits else None

    def failed(self, counts: Iterable[Count]) -> None:
        """Count one failure in each of `counts`."""
        for item, ids in self._keys(counts):
            self._run(lambda strategy: strategy.hit(item, *ids))

    def clear(self, counts: Iterable[Count]) -> None:
        """Forget the failures of `counts` (an administrator's relief; logging in does not do it)."""
        for item, ids in self._keys(counts):
            self._run(lambda strategy: strategy.clear(item, *ids))

    def _keys(self, counts: Iterable[Count]) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        """Each limit of each count (a limit may be several: `10 per minute; 100 per hour`), with its storage key."""
        return [(item, (self.prefix, count.limit, count.subject)) for count in counts for item in self.items[count.limit]]

    def _run(self, operation: Callable[[RateLimiter], _T]) -> _T:
        if self.shared is None:
            return operation(self._fallback)
        try:
            return operation(self.shared)
        except Exception:  # the shared storage is down: count in this process meanwhile
            log.exception("failure throttle storage error %s: counting in memory", uuid.uuid4().hex[:12])
            return operation(self._fallback)


def init_throttle(app: Flask) -> FailureThrottle:
    """The app's failure counts (`app.extensions[THROTTLE_KEY]`), from the app's config or else the settings."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.rate_limit_storage())
    defaults = settings.failure_limits()
    limits = {name: str(app.config.get(key) or defaults[name]) for name, key in LIMIT_CONFIG.items()}
    shared = None
    if app.config.get("RATELIMIT_ENABLED", True):
        shared = MovingWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    throttle = app.extensions[THROTTLE_KEY] = FailureThrottle(
        shared, limits, prefix=str(app.config.get("RATELIMIT_KEY_PREFIX") or "ossature"))
    return throttle


def current_throttle() -> FailureThrottle:
    return current_app.extensions[THROTTLE_KEY]
