"""Keeping patient identity at home: what the catalog may store, what leaves for a server or a
cache. Why one module: every place that writes identifiers or paths follows the same rules.

- Patient names and IDs are stored in the local catalog only when the user opts in
  (LOUPE_CATALOG_IDENTIFIERS=1 or the ``catalog_identifiers`` setting); otherwise a keyed hash
  (HMAC-SHA256 with a per-installation secret, ``h:`` + 20 hex) is stored, which still finds a
  study by its exact patient ID but cannot be read back or guessed from a list of IDs without
  the key.
- Local paths are reduced to their last part before anything leaves this process's control
  (a server, the result cache): folder names often carry patient names."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

HASH_PREFIX = "h:"


def identifiers_opted_in() -> bool:
    if os.environ.get("LOUPE_CATALOG_IDENTIFIERS") is not None:
        return os.environ["LOUPE_CATALOG_IDENTIFIERS"] == "1"
    import configparser

    from app.paths import user_dir
    ini = configparser.ConfigParser()
    try:  # the desktop's settings.ini (QSettings keeps top-level keys under [General])
        ini.read(user_dir() / "settings.ini", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return False
    return ini.get("General", "catalog_identifiers", fallback="false").lower() in ("true", "1")


def _key() -> bytes:
    from app.paths import user_dir
    path = user_dir() / "keys" / "identifiers.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
        return key


def hash_identifier(value: str) -> str:
    """Keyed hash of a patient identifier (case and padding ignored); '' stays ''."""
    v = " ".join(str(value or "").split()).upper()
    if not v:
        return ""
    return HASH_PREFIX + hmac.new(_key(), v.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:20]


def stored_identifier(value: str, opted_in: bool | None = None) -> str:
    """What the catalog keeps of a patient name or ID."""
    if opted_in is None:
        opted_in = identifiers_opted_in()
    return str(value or "") if opted_in else hash_identifier(value)


def _looks_like_path(s: str) -> bool:
    return os.sep in s and (s.startswith(os.sep) or s.startswith("~") or Path(s).exists())


def scrub_paths(obj: Any) -> Any:
    """Strings that are local paths reduced to their last part, anywhere in a JSON-like value."""
    if isinstance(obj, dict):
        return {k: scrub_paths(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub_paths(v) for v in obj]
    if isinstance(obj, str) and _looks_like_path(obj):
        return Path(obj).name
    return obj
