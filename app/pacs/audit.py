"""Append-only audit of everything Loupe sends to a PACS or writes de-identified: what (instances,
SOP classes, studies), where (node), when (UTC), who (OS user), de-identified or not, and the outcome.
JSON lines, one per operation, appended with O_APPEND and fsync so a crash cannot lose or garble
earlier records; failed sends are recorded too."""
from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path


def audit_path() -> Path:
    from app.paths import user_dir

    return user_dir() / "audit" / "pacs.jsonl"


def record(event: str, **fields) -> dict:
    """Append one record; returns it (with its time) for the caller's report."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    rec = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event,
           "user": user, **fields}
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(rec, sort_keys=False, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return rec


def read_all(path: Path | None = None) -> list[dict]:
    path = Path(path) if path else audit_path()
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out
