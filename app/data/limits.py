"""Checks every reader makes before it trusts a file: is it a regular file at all, and do the
sizes its header declares fit both the bytes present and the memory we are willing to spend.

Why here: a header is written by whoever made the file. A 760 KB .nii.gz can declare 1024^3
voxels, a DICOM NumberOfFrames=100000 asks for 49 GiB, a FIFO blocks the first read forever. Each
reader calls these before allocating, so the user gets one line naming the file instead of a
swap storm, a hang or zero-filled voxels."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from app.data.types import ReadError

#: deflate cannot compress better than about 1032:1 (RFC 1951 stored maximum-length matches)
MAX_DEFLATE_RATIO = 1032
_KINDS = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
          stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}


def max_array_bytes() -> int:
    """Largest single image Loupe will allocate: LOUPE_MAX_ARRAY_BYTES, else 60% of memory."""
    env = os.environ.get("LOUPE_MAX_ARRAY_BYTES")
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 16 << 30
    return int(total * 0.6)


def check_regular(path: str | os.PathLike) -> None:
    """Refuse FIFOs, devices and sockets up front: reading one blocks or never ends."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        raise ReadError(f"{p}: cannot be opened: {exc.strerror or exc}") from None
    for test, what in _KINDS.items():
        if test(mode):
            raise ReadError(f"{p}: is {what}, not a file; Loupe reads regular files and folders only")


def check_allocation(path: str | os.PathLike, nbytes: int, what: str) -> None:
    """Refuse an image whose declared size is over the memory limit, before allocating it."""
    limit = max_array_bytes()
    if nbytes < 0:
        raise ReadError(f"{Path(path)}: {what} has a negative size")
    if nbytes > limit:
        raise ReadError(f"{Path(path)}: {what} would need {_human(nbytes)}, over the memory limit of "
                        f"{_human(limit)} (set LOUPE_MAX_ARRAY_BYTES to raise it)")


def check_gzip_can_hold(path: str | os.PathLike, nbytes: int, what: str) -> None:
    """A gzip file of N bytes cannot expand to more than ~1032 N: a tiny file declaring a huge
    image is damaged or hostile, and is refused without decompressing anything."""
    size = Path(path).stat().st_size
    if nbytes > size * MAX_DEFLATE_RATIO:
        raise ReadError(f"{Path(path)}: {what} declares {_human(nbytes)} but the {_human(size)} "
                        "compressed file cannot hold that much: damaged header or truncated file")


def gzip_trailer(path: str | os.PathLike) -> tuple[int, int] | None:
    """(CRC-32, uncompressed size mod 2^32) from a gzip file's last 8 bytes (RFC 1952)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < 18:
            return None
        fh.seek(-8, os.SEEK_END)
        tail = fh.read(8)
    return int.from_bytes(tail[:4], "little"), int.from_bytes(tail[4:], "little")


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"
