"""Files uploaded for a preview (a spreadsheet, a vCard file, an .ics invitation) wait in the instance folder
under their SHA-256 — never under static/ — until the preview is saved or, abandoned, swept a day later."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app

DIGEST = re.compile(r"[0-9a-f]{64}")
TTL = timedelta(hours=24)  # an upload waits this long for its preview to be saved


def folder(kind: str = "imports") -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / kind


def keep(data: bytes, kind: str = "imports") -> str:
    """Store an upload for its preview; returns its digest, the preview's key. What earlier readers uploaded
    and never saved is swept first."""
    where = folder(kind)
    where.mkdir(parents=True, exist_ok=True)
    sweep(where)
    digest = hashlib.sha256(data).hexdigest()
    (where / digest).write_bytes(data)
    return digest


def path_of(digest: str, kind: str = "imports") -> Path | None:
    """Where the upload `digest` waits, or None when the digest is malformed or the file is gone."""
    if not DIGEST.fullmatch(digest or ""):
        return None
    path = folder(kind) / digest
    return path if path.is_file() else None


def sweep(where: Path, *, older_than: timedelta = TTL, now: float | None = None) -> int:
    """Delete the uploads in `where` that have waited for their preview longer than `older_than` (abandoned: a
    saved import deletes its own); returns how many went. A file another request removes first is skipped."""
    if not where.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    removed = 0
    for path in where.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
