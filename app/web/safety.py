"""What the web face refuses, checked before anything is served: binding beyond loopback without
a token, opening files outside the configured roots, oversized uploads, identifying text in logs."""
from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path

from app.data.types import LoupeError

UPLOAD_LIMIT = "200mb"   # gradio's max_file_size: a CT series zipped, not a whole archive
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True only for names and addresses that cannot be reached from another machine."""
    h = host.strip().strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse, before any socket opens, to listen beyond loopback without a token."""
    if not host:
        raise LoupeError("--host is empty: give 127.0.0.1 (this machine only) or an address with --token")
    if not is_loopback(host) and not (token or "").strip():
        raise LoupeError(f"refusing to listen on {host} without a token: anyone on the network could open "
                         "studies. Pass --token T (or set LOUPE_WEB_TOKEN), or use --host 127.0.0.1")
    if token is not None and token.strip() and len(token.strip()) < 8:
        raise LoupeError("--token is too short: use at least 8 characters")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Roots:
    """The folders the browser may open files from. A path (relative to the first root, or
    absolute) is resolved with symlinks followed and must land inside one root."""

    def __init__(self, roots: list[str | os.PathLike]) -> None:
        if not roots:
            raise LoupeError("no --root folder given: the web face opens files only under the roots")
        self.roots: list[Path] = []
        for r in roots:
            p = Path(r).expanduser()
            if not p.is_dir():
                raise LoupeError(f"--root {r}: not a folder")
            self.roots.append(p.resolve())

    def resolve(self, path: str) -> Path:
        """The real path for ``path``, or a LoupeError naming the path (never its resolution,
        which could tell the browser about folders outside the roots)."""
        text = (path or "").strip()
        if not text:
            raise LoupeError("no path given")
        if "\x00" in text:
            raise LoupeError("path contains a NUL character")
        p = Path(text).expanduser()
        candidates = [p] if p.is_absolute() else [r / p for r in self.roots]
        for c in candidates:
            real = c.resolve()
            if any(real == r or real.is_relative_to(r) for r in self.roots):
                if real.exists():
                    return real
        if not any(c.resolve().exists() for c in candidates) and all(
                any(c.resolve().is_relative_to(r) for r in self.roots) for c in candidates):
            raise LoupeError(f"{text}: no such file or folder under the roots")
        raise LoupeError(f"{text}: outside the folders this server may open")

    def contains(self, path: str | os.PathLike) -> bool:
        real = Path(path).resolve()
        return any(real == r or real.is_relative_to(r) for r in self.roots)


_UID = re.compile(r"\b\d+(?:\.\d+){4,}\b")


def scrub(text: str, names: tuple[str, ...] = ()) -> str:
    """Log text without DICOM UIDs or the given patient names / IDs."""
    out = _UID.sub("<uid>", str(text))
    for n in names:
        if n and len(n) > 1:
            out = out.replace(n, "<patient>")
    return out
