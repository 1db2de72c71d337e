"""Write/read BART .cfl/.hdr and run the ``bart`` command line as the peer in benchmarks/tests,
plus BART's intensity-scaling rule (pics without -S returns x / scale)."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np


def write_cfl(base: str | Path, arr: np.ndarray) -> None:
    arr = np.asarray(arr, np.complex64)
    dims = list(arr.shape) + [1] * (16 - arr.ndim)
    Path(f"{base}.hdr").write_text("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    arr.ravel(order="F").tofile(f"{base}.cfl")


def bart_available() -> bool:
    return shutil.which("bart") is not None


def bart_pics(kspace_bart: np.ndarray, workdir: str | Path, reg: str = "W:7:0:0.005",
              rescale: bool = True) -> tuple[np.ndarray, float]:
    """``bart ecalib -m1`` then ``bart pics [-S] -R reg`` on k-space in BART order
    ([read, phase1, phase2, coil]); returns (complex image squeezed, wall seconds of both)."""
    from app.data.kspace import read_cfl
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    write_cfl(wd / "ksp", kspace_bart)
    t0 = time.perf_counter()
    subprocess.run(["bart", "ecalib", "-m1", "ksp", "maps"], cwd=wd, check=True, capture_output=True)
    cmd = ["bart", "pics"] + (["-S"] if rescale else []) + ["-R", reg, "ksp", "maps", "rec"]
    subprocess.run(cmd, cwd=wd, check=True, capture_output=True)
    dt = time.perf_counter() - t0
    return np.asarray(read_cfl(wd / "rec").data).squeeze(), dt


def bart_scale(adjoint_image: np.ndarray) -> float:
    """BART pics' automatic scale from |A^H y|: the 90th percentile, or the maximum when the top
    decile is not spread far beyond the median (src/pics: estimate_scaling_norm)."""
    x = np.sort(np.abs(adjoint_image).ravel())
    med, p90, mx = x[int(x.size * 0.5)], x[int(x.size * 0.9)], x[-1]
    s = p90 if (mx - p90) < 2 * (p90 - med) else mx
    return float(s) or 1.0
