"""Where a PACS is: ``dicom://AET@host:port`` (DIMSE) or ``http(s)://host:port/dicom-web`` (DICOMweb).
One parsed form so the CLI, the shell's node list and the audit log name a node the same way."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from app.data.types import LoupeError


@dataclass(frozen=True)
class PacsNode:
    url: str
    protocol: str          # "dimse" or "dicomweb"
    host: str
    port: int
    called_aet: str = ""   # DIMSE only: the PACS's AE title

    @property
    def is_dimse(self) -> bool:
        return self.protocol == "dimse"


def parse_node(url: str) -> PacsNode:
    """Parse a node URL; a malformed one is one clear error line."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme == "dicom":
        aet = parts.username or ""
        if not aet or not parts.hostname or parts.port is None:
            raise LoupeError(f"PACS URL {url!r}: expected dicom://AET@host:port")
        if len(aet) > 16:
            raise LoupeError(f"PACS URL {url!r}: AE title {aet!r} is longer than 16 characters")
        return PacsNode(text, "dimse", parts.hostname, parts.port, aet)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise LoupeError(f"PACS URL {url!r}: no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise LoupeError(f"PACS URL {url!r}: bad port") from None
        return PacsNode(text.rstrip("/"), "dicomweb", parts.hostname, port)
    raise LoupeError(f"PACS URL {url!r}: expected dicom://AET@host:port or http(s)://host:port/dicom-web")


def check_aet(aet: str) -> str:
    """Calling AE title: 1-16 characters, no backslash or control characters (PS3.5 AE VR)."""
    if not aet or len(aet) > 16 or "\\" in aet or any(ord(c) < 32 for c in aet) or not aet.strip():
        raise LoupeError(f"calling AE title {aet!r}: must be 1-16 printable characters without '\\'")
    return aet
