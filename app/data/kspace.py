"""Raw MR k-space: the ``KSpace`` type and a reader for BART's .cfl/.hdr pairs.

Why its own type: k-space is complex, multi-coil and not an image in world space, so it must not
masquerade as a Volume. BART stores complex64 samples in column-major (Fortran) order with up to
16 dimensions listed in the text .hdr (BART's dims: 0-2 readout/phase/partition, 3 coils,
4 maps, 5 echoes, 10 time, ...). The array keeps BART's axis order so BART commands map 1:1.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import ReadError

#: BART dimension names (src/misc/mri.h)
BART_DIMS = ("read", "phase1", "phase2", "coil", "map", "te", "coeff", "coeff2", "iter", "cslice",
             "time", "time2", "lvl", "slice", "avg", "batch")


@dataclass
class KSpace:
    """Complex samples with named axes (BART order, trailing singleton axes dropped)."""

    data: np.ndarray
    dims: tuple[int, ...]  # the full dims line from the .hdr
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return BART_DIMS[: self.data.ndim]

    @property
    def n_coils(self) -> int:
        return int(self.dims[3]) if len(self.dims) > 3 else 1

    def sampled_fraction(self) -> float:
        """Share of non-zero samples (undersampling indicator), over all coils."""
        return float(np.count_nonzero(self.data)) / max(1, self.data.size)


def _hdr_and_cfl(path: Path) -> tuple[Path, Path]:
    base = path.with_suffix("") if path.suffix.lower() in (".cfl", ".hdr") else path
    return base.with_suffix(".hdr"), base.with_suffix(".cfl")


def read_bart_dims(path: str | os.PathLike) -> tuple[int, ...]:
    """The dims listed under '# Dimensions' in a BART .hdr (cheap: no samples read)."""
    hdr, _ = _hdr_and_cfl(Path(path))
    if not hdr.is_file():
        raise ReadError(f"{hdr}: BART header missing (a .cfl needs its .hdr beside it)")
    try:
        lines = hdr.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as exc:
        raise ReadError(f"{hdr}: cannot be read: {exc.strerror or exc}") from exc
    for idx, line in enumerate(lines):
        if line.strip().lower() == "# dimensions":
            if idx + 1 >= len(lines):
                break
            try:
                dims = tuple(int(x) for x in lines[idx + 1].split())
            except ValueError as exc:
                raise ReadError(f"{hdr}: BART dimensions line is not a list of integers: "
                                f"{lines[idx + 1][:80]!r}") from exc
            if not dims or any(d <= 0 for d in dims):
                raise ReadError(f"{hdr}: BART dimensions {list(dims)} must all be positive")
            return dims
    raise ReadError(f"{hdr}: not a BART header: no '# Dimensions' line")


def read_cfl(path: str | os.PathLike, mmap: bool = False) -> KSpace:
    """Read a BART .cfl/.hdr pair (either name, or the common stem) into a KSpace.

    Raises ReadError naming the file when the header is missing/damaged or when the .cfl size
    does not match the header's dims (8 bytes per complex64 sample)."""
    p = Path(path)
    hdr, cfl = _hdr_and_cfl(p)
    dims = read_bart_dims(hdr)
    if not cfl.is_file():
        raise ReadError(f"{cfl}: BART data file missing (found only {hdr.name})")
    n = int(np.prod(dims, dtype=np.int64))
    expected = n * 8
    actual = cfl.stat().st_size
    if actual != expected:
        raise ReadError(f"{cfl}: size {actual} bytes does not match {hdr.name} dims "
                        f"{'x'.join(map(str, dims))} = {n} complex64 samples ({expected} bytes)")
    if mmap:
        flat = np.memmap(cfl, dtype=np.complex64, mode="r", shape=(n,))
    else:
        flat = np.fromfile(cfl, dtype=np.complex64, count=n)
    last = len(dims)
    while last > 1 and dims[last - 1] == 1:
        last -= 1
    data = flat.reshape(dims[:last], order="F")
    return KSpace(data=data, dims=dims, source=str(cfl), meta={"format": "bart"})


def rss_image(ksp: KSpace, fft_axes: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Zero-filled root-sum-of-squares reconstruction over coils (BART ``fft -i`` + ``rss``).

    Default axes are BART's phase-encode dims 1 and 2 (readout is often already transformed);
    pass (0, 1, 2) for fully raw 3D k-space. Returns a float32 magnitude image without coils."""
    axes = tuple(a for a in fft_axes if a < ksp.data.ndim and ksp.data.shape[a] > 1)
    img = np.fft.fftshift(np.fft.ifftn(np.fft.ifftshift(ksp.data, axes=axes), axes=axes, norm="ortho"), axes=axes)
    if ksp.data.ndim > 3:
        return np.sqrt(np.sum(np.abs(img) ** 2, axis=3)).astype(np.float32)
    return np.abs(img).astype(np.float32)
