"""Settings read from the environment, so every app server and worker is configured the same way.

- `OSSATURE_DATABASE_URL`: SQLAlchemy URL (default: an SQLite file in `./instance/`).
- `OSSATURE_PACKS`: customer pack directories layered on the base pack, in order,
  separated by `os.pathsep` (`:` on POSIX, `;` on Windows).
- `OSSATURE_SECRET_KEY`: the key signing session cookies; give every app server the same
  one (default: a random key kept in `./instance/secret_key`, fine for one machine).
- `OSSATURE_BROKER_URL`: a Celery broker (`redis://127.0.0.1:6379/0`, `amqp://...`); jobs then
  run on `ossature worker` processes. Unset (the default): jobs run on background threads of
  the app or command that started them, no broker needed.
- `OSSATURE_FILES_DIR`: where jobs keep uploads and exports (default `./instance/files`); app
  servers and workers must share it.
- `OSSATURE_JOB_THRESHOLD`: selections larger than this run as a job (default 2000).
- `OSSATURE_API_BATCH_LIMIT`: records an API batch write (`POST`/`PATCH /api/v1/<entity>/batch`)
  takes at most (default 1000).
- `OSSATURE_JOB_STALE_SECONDS`: a running job whose process has not signalled for this long is
  shown as interrupted and may be resumed (default 60).
- `OSSATURE_SECURE_COOKIES`: `1` (or `true`, `yes`, `on`) when the site is served over HTTPS only:
  the session cookie is then sent with `Secure` (default off, for plain-HTTP trials).
- `OSSATURE_SESSION_IDLE_MINUTES`: a session unused for this long ends (default 30);
  `OSSATURE_SESSION_MAX_HOURS`: a session ends this long after logging in, used or not
  (default 12). Both as OWASP ASVS level 2 asks (re-authentication after 30 minutes idle or
  12 hours).
- `OSSATURE_RATE_LIMIT_STORAGE`: where failed logins and bad API tokens are counted, as a
  Flask-Limiter storage URI (`redis://host:6379/1`, `memcached://...`, `memory://`). Default:
  `OSSATURE_BROKER_URL` when it is a Redis URL (every app server then shares the counts), else
  `memory://` (counts per app process: fine for one server).
- `OSSATURE_LOGIN_ACCOUNT_LIMIT`, `OSSATURE_LOGIN_ADDRESS_LIMIT`, `OSSATURE_TOKEN_ADDRESS_LIMIT`:
  how many failures are allowed before refusing, in Flask-Limiter's notation (`100/hour`,
  `30 per 15 minutes`); defaults in `DEFAULT_FAILURE_LIMITS`.
- `OSSATURE_TRUSTED_PROXIES`: how many reverse proxies stand in front of the app servers
  (default 0). With N > 0 the client address and scheme come from the last N entries of
  `X-Forwarded-For` / `X-Forwarded-Proto`, so that throttling counts clients, not the proxy;
  leave it at 0 when clients reach the app directly (the headers could then be forged).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import metamodel

DEFAULT_DATABASE_URL = "sqlite:///instance/ossature.db"
INSTANCE_DIR = Path("instance")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
DEFAULT_API_BATCH_LIMIT = 1000
DEFAULT_SESSION_IDLE_MINUTES = 30
DEFAULT_SESSION_MAX_HOURS = 12
MEMORY_STORAGE = "memory://"
REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")
DEFAULT_FAILURE_LIMITS: dict[str, str] = {
    "login_account": "100 per hour",
    "login_address": "30 per 15 minutes",
    "token_address": "60 per 10 minutes",
}
"""Failures allowed before refusing (a moving window: the oldest failure leaving it frees a try).

- `login_account`: failed logins naming one username, from anywhere. 100 an hour is the most
  OWASP ASVS 2.2.1 allows, and no fewer, so that others' failures lock a user out no sooner
  than the standard asks.
- `login_address`: failed logins from one client address (IPv6: its /64), whatever the
  username: stops one machine trying many accounts well before it reaches any account's limit,
  while an office behind one address mistyping passwords stays far from it.
- `token_address`: requests with an unknown, revoked or inactive API token from one address.
"""
FAILURE_LIMIT_VARIABLES: dict[str, str] = {
    "login_account": "OSSATURE_LOGIN_ACCOUNT_LIMIT",
    "login_address": "OSSATURE_LOGIN_ADDRESS_LIMIT",
    "token_address": "OSSATURE_TOKEN_ADDRESS_LIMIT",
}


def database_url() -> str:
    """The configured database; the default SQLite file's folder is created on first use."""
    url = os.environ.get("OSSATURE_DATABASE_URL", "").strip()
    if url:
        return url
    INSTANCE_DIR.mkdir(exist_ok=True)
    return DEFAULT_DATABASE_URL


def customer_pack_dirs() -> list[Path]:
    """The packs named in `OSSATURE_PACKS`, in layering order; empty entries are ignored."""
    raw = os.environ.get("OSSATURE_PACKS", "")
    return [Path(entry) for entry in raw.split(os.pathsep) if entry.strip()]


def pack_dirs() -> list[Path]:
    """Every pack to load, base pack first."""
    return [Path(metamodel.BASE_PACK), *customer_pack_dirs()]


def secret_key() -> str:
    """The key that signs session cookies: OSSATURE_SECRET_KEY, or one kept in ./instance/."""
    key = os.environ.get("OSSATURE_SECRET_KEY", "").strip()
    if key:
        return key
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def broker_url() -> str | None:
    return os.environ.get("OSSATURE_BROKER_URL", "").strip() or None


def files_dir() -> Path:
    raw = os.environ.get("OSSATURE_FILES_DIR", "").strip()
    return Path(raw) if raw else INSTANCE_DIR / "files"


def job_options() -> dict[str, float | int]:
    """`Jobs` options from the environment: threshold and the seconds after which a silent job is stale."""
    options: dict[str, float | int] = {}
    threshold = os.environ.get("OSSATURE_JOB_THRESHOLD", "").strip()
    if threshold:
        options["threshold"] = int(threshold)
    stale = os.environ.get("OSSATURE_JOB_STALE_SECONDS", "").strip()
    if stale:
        options["stale_after"] = float(stale)
    return options


def engine_options() -> dict[str, object]:
    """Everything besides the model and database URL an `Engine` takes from the environment."""
    return {"files_dir": files_dir(), "broker_url": broker_url(), "job_options": job_options()}


def _positive_number(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < 1:
        raise ValueError(f"{variable} must be a whole number of at least 1, not {raw!r}")
    return value


def api_batch_limit() -> int:
    """Records an API batch write takes at most (`OSSATURE_API_BATCH_LIMIT`, default 1000)."""
    return _positive_number("OSSATURE_API_BATCH_LIMIT", DEFAULT_API_BATCH_LIMIT)


def secure_cookies() -> bool:
    """Whether the session cookie is `Secure` (the site is served over HTTPS only)."""
    return os.environ.get("OSSATURE_SECURE_COOKIES", "").strip().lower() in TRUE_WORDS


def session_idle_seconds() -> int:
    """How long an unused session lasts (`OSSATURE_SESSION_IDLE_MINUTES`, default 30 minutes)."""
    return 60 * _positive_number("OSSATURE_SESSION_IDLE_MINUTES", DEFAULT_SESSION_IDLE_MINUTES)


def session_max_seconds() -> int:
    """How long a session lasts after logging in (`OSSATURE_SESSION_MAX_HOURS`, default 12 hours)."""
    return 3600 * _positive_number("OSSATURE_SESSION_MAX_HOURS", DEFAULT_SESSION_MAX_HOURS)


def rate_limit_storage() -> str:
    """Where failures are counted: `OSSATURE_RATE_LIMIT_STORAGE`, else a Redis broker, else memory."""
    explicit = os.environ.get("OSSATURE_RATE_LIMIT_STORAGE", "").strip()
    if explicit:
        return explicit
    broker = broker_url()
    if broker and broker.lower().startswith(REDIS_SCHEMES):
        return broker
    return MEMORY_STORAGE


def trusted_proxies() -> int:
    """How many proxies' `X-Forwarded-*` entries to trust (`OSSATURE_TRUSTED_PROXIES`, default 0)."""
    raw = os.environ.get("OSSATURE_TRUSTED_PROXIES", "").strip()
    if not raw:
        return 0
    value = int(raw)
    if not 0 <= value <= 10:
        raise ValueError(f"OSSATURE_TRUSTED_PROXIES must be a whole number from 0 to 10, not {raw!r}")
    return value


def failure_limits() -> dict[str, str]:
    """The failure limits (`DEFAULT_FAILURE_LIMITS`), each replaced by its variable when set."""
    return {name: os.environ.get(FAILURE_LIMIT_VARIABLES[name], "").strip() or default
            for name, default in DEFAULT_FAILURE_LIMITS.items()}
