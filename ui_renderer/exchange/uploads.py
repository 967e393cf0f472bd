"""Files people upload for an import: stored under the jobs' files folder, under a random name.

`<files_dir>/uploads/<token>.<extension>` holds the file and `<token>.json` what the pages
need to know about it (who uploaded it, for which entity, in which format, its original
name). The token is random (192 bits), never derived from the uploaded name, and a page
only opens an upload of the user who sent it. The size limit is checked while copying,
so a file over it is never kept whole.

Uploads are kept `KEEP_DAYS` days (the app's `IMPORT_KEEP_DAYS`), long enough to resume a
failed import; each new upload removes those older, except the file of an import still
queued or running.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Mapping

from flask import current_app

from engine import SYSTEM_ACTOR, Engine

UPLOADS = "uploads"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""The largest file an import accepts unless the app's `IMPORT_MAX_BYTES` says otherwise."""
MULTIPART_SLACK = 64 * 1024
"""Room for a multipart body's headers and form fields around the file itself."""
KEEP_DAYS = 7
"""How long an upload is kept unless the app's `IMPORT_KEEP_DAYS` says otherwise."""
BLOCK = 1 << 16
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
EXTENSION = re.compile(r"^[A-Za-z0-9]{1,12}$")


class UploadError(Exception):
    """The upload was refused: `key` names the words (ui_renderer/exchange/words.py) saying why, `status` the HTTP status."""

    def __init__(self, key: str, status: int = 400, **params: Any):
        super().__init__(key)
        self.key, self.status, self.params = key, status, params


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    owner: int | None
    entity: str
    format: str
    name: str
    """The name the file had on the uploader's machine (shown, never used as a path)."""
    size: int


def max_bytes() -> int:
    """The largest file the app accepts for an import."""
    return int(current_app.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def uploads_dir(engine: Engine) -> Path:
    return engine.jobs.files_dir / UPLOADS


def store_upload(
    engine: Engine, stream: IO[bytes], *, name: str, extension: str, owner: int | None, entity: str, format: str,
    limit: int,
) -> Upload:
    """Copy `stream` to a new upload (the uploads older than the app keeps them go first);
    UploadError when it is empty or larger than `limit` bytes."""
    folder = uploads_dir(engine)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_uploads(engine, dt.timedelta(days=float(current_app.config.get("IMPORT_KEEP_DAYS") or KEEP_DAYS)))
    token = secrets.token_urlsafe(24)
    extension = extension if EXTENSION.match(extension or "") else "dat"
    path = folder / f"{token}.{extension}"
    size = 0
    try:
        with path.open("xb") as out:
            while block := stream.read(BLOCK):
                size += len(block)
                if size > limit:
                    raise UploadError("import_too_large", 413, limit=limit, size=size)
                out.write(block)
        if size == 0:
            raise UploadError("import_empty_file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    upload = Upload(token, path, owner, entity, format, _shown_name(name), size)
    meta = {"owner": owner, "entity": entity, "format": format, "name": upload.name, "size": size,
            "file": path.name}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return upload


def sweep_uploads(engine: Engine, keep: dt.timedelta) -> int:
    """Remove the uploads older than `keep`, except those an active import job reads; returns
    how many went."""
    folder = uploads_dir(engine)
    limit = time.time() - keep.total_seconds()
    old = [meta for meta in folder.glob("*.json") if TOKEN.match(meta.stem) and meta.stat().st_mtime < limit]
    if not old:
        return 0
    in_use = {upload_token(engine, job["params"].get("path", "")) for job in engine.jobs.list(SYSTEM_ACTOR, active=True)
              if isinstance(job.get("params"), Mapping)}
    removed = 0
    for meta in old:
        if meta.stem in in_use:
            continue
        for path in folder.glob(f"{meta.stem}.*"):
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def load_upload(engine: Engine, token: str, owner: int | None) -> Upload | None:
    """The upload `token` of `owner`, or None (unknown token, someone else's, or its file is gone)."""
    if not TOKEN.match(token or ""):
        return None
    folder = uploads_dir(engine)
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, Mapping) or meta.get("owner") != owner:
        return None
    path = folder / str(meta.get("file", ""))
    if path.parent != folder or not path.name.startswith(token + ".") or not path.is_file():
        return None
    return Upload(token, path, owner, str(meta.get("entity")), str(meta.get("format")), str(meta.get("name", "")),
                  int(meta.get("size", 0)))


def upload_token(engine: Engine, path: str | Path) -> str | None:
    """The token of the upload at `path` (an import job's file), or None if it is not an upload."""
    path = Path(path)
    if path.parent.resolve() != uploads_dir(engine).resolve():
        return None
    token = path.name.split(".", 1)[0]
    return token if TOKEN.match(token) else None


def _shown_name(name: str) -> str:
    """The uploaded file's own name, for display: no folders, no control characters, not too long."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned[:200] or "upload"
