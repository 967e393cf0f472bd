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
- `OSSATURE_JOB_STALE_SECONDS`: a running job whose process has not signalled for this long is
  shown as interrupted and may be resumed (default 60).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import metamodel

DEFAULT_DATABASE_URL = "sqlite:///instance/ossature.db"
INSTANCE_DIR = Path("instance")


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
