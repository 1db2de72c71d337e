"""Turn a path on the command line into a BackendInput. Videos and k-space travel as paths (the
backend decodes what it needs, in its worker); images and volumes are read here with Loupe's
shared opener (``app.data.open.open_path``)."""
from __future__ import annotations

from pathlib import Path

from app.data.types import ReadError
from backends.base import INPUT_KINDS, BackendInput

PATH_KINDS = {"video": "video", "bart": "kspace", "bart_hdr": "kspace"}


def open_input(path: str | Path, kind: str | None = None) -> BackendInput:
    """Read ``path`` as the input of a backend; ``kind`` overrides the inferred input kind."""
    p = Path(path)
    if kind is not None and kind not in INPUT_KINDS:
        raise ReadError(f"{p}: input kind {kind!r} is not one of {', '.join(INPUT_KINDS)}")
    if kind == "kspace" and not p.exists() and p.with_name(p.name + ".cfl").is_file():
        return BackendInput("kspace", path=str(p.with_name(p.name + ".cfl")))  # BART stem -> its .cfl
    if not p.exists():
        raise ReadError(f"{p}: no such file or folder")
    if p.is_file():
        from app.data.readers.sniff import sniff
        by_content, by_name = sniff(p)
        fmt = by_content or by_name
        if fmt in PATH_KINDS or kind in ("video", "kspace"):
            return BackendInput(kind or PATH_KINDS[fmt], path=str(p))
    from app.data.open import open_path  # the shared opener (DICOM folders, series, files)

    vols = open_path(p)
    if not vols:
        raise ReadError(f"{p}: opened, but it is not an image or volume a backend can take")
    vol = vols[0]   # the best candidate comes first
    inp = BackendInput.from_volume(vol, kind)
    inp.path = str(p)
    return inp
