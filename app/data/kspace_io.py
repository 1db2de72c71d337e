"""Open multi-coil k-space from any supported file into a ``KSpace`` in BART axis order.

Formats: BART .cfl/.hdr (either name or the common stem), fastMRI-layout HDF5 (``kspace``
(slices, coils, kx, ky), optional ``reconstruction_rss`` reference and ``mask``), ISMRMRD HDF5
(``/dataset`` acquisitions, via the ``ismrmrd`` package), and .npy/.npz with declared axes (an
``axes`` entry in the .npz, a sidecar ``NAME.json`` with ``{"axes": [...]}``, or ``axes=``).
Every problem (size mismatch, truncation, NaN/Inf, no coil axis, unknown axis names) is one
``ReadError`` line that names the file."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.data.kspace import BART_DIMS, KSpace, read_cfl
from app.data.types import ReadError

#: friendly axis names accepted in declarations -> BART dimension index
AXIS_ALIASES = {"read": 0, "readout": 0, "kx": 0, "x": 0, "phase1": 1, "phase": 1, "ky": 1, "y": 1,
                "phase2": 2, "partition": 2, "kz": 2, "z": 2, "coil": 3, "coils": 3, "channel": 3,
                "map": 4, "echo": 5, "te": 5, "contrast": 5, "time": 10, "slice": 13, "slices": 13,
                "avg": 14, "average": 14}

SUFFIXES = (".cfl", ".hdr", ".h5", ".hdf5", ".npy", ".npz", ".mrd")


def is_kspace_path(path: str | os.PathLike) -> bool:
    p = Path(path)
    if p.suffix.lower() in SUFFIXES:
        return True
    return p.with_suffix(".hdr").is_file() and p.with_suffix(".cfl").is_file()


def open_kspace(path: str | os.PathLike, axes: Sequence[str] | str | None = None) -> KSpace:
    """Read and check k-space; ``axes`` declares the axes of a .npy/.npz (e.g. "coil,phase1,read")."""
    p = Path(path)
    suf = p.suffix.lower()
    if suf in (".h5", ".hdf5", ".mrd"):
        ksp = _read_h5(p)
    elif suf in (".npy", ".npz"):
        ksp = _read_numpy(p, axes)
    else:
        ksp = read_cfl(p)
    return check_kspace(ksp, require_coils=ksp.meta.get("format") != "bart")


def check_kspace(ksp: KSpace, require_coils: bool = True) -> KSpace:
    name = ksp.source or "k-space"
    data = ksp.data
    if not np.iscomplexobj(data):
        raise ReadError(f"{name}: k-space must be complex, got {data.dtype}")
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:
        raise ReadError(f"{name}: k-space holds {bad} NaN/Inf samples of {data.size}; "
                        f"the file is damaged or was written from an unfinished computation")
    if not np.any(data):
        raise ReadError(f"{name}: k-space is all zeros")
    if require_coils and ksp.meta.get("coil_axis") is False:
        raise ReadError(f"{name}: no coil axis: multi-coil reconstruction needs the coils as an "
                        f"axis (declare it, e.g. axes=coil,phase1,read)")
    return ksp


def _bart_array(arr: np.ndarray, dims_of_axes: Sequence[int], source: str, meta: dict) -> KSpace:
    """Place ``arr``'s axes at the given BART dims (others become singletons)."""
    if len(set(dims_of_axes)) != len(dims_of_axes):
        raise ReadError(f"{source}: an axis is declared twice: {dims_of_axes}")
    order = [int(i) for i in np.argsort(dims_of_axes)]
    arr = np.transpose(arr, order)
    dims = [1] * 16
    for pos, src in enumerate(order):
        dims[int(dims_of_axes[src])] = arr.shape[pos]
    last = max(max(dims_of_axes) + 1, 4)
    data = arr.reshape(dims[:last]).astype(np.complex64, copy=False)
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    meta = dict(meta)
    meta.setdefault("coil_axis", 3 in dims_of_axes)
    return KSpace(data=data, dims=tuple(dims), source=source, meta=meta)


def _parse_axes(axes, source: str) -> list[int]:
    names = [a.strip().lower() for a in (axes.split(",") if isinstance(axes, str) else axes) if str(a).strip()]
    out = []
    for a in names:
        if a not in AXIS_ALIASES:
            raise ReadError(f"{source}: unknown axis name {a!r}; use {', '.join(sorted(set(AXIS_ALIASES)))}")
        out.append(AXIS_ALIASES[a])
    return out


def _read_numpy(p: Path, axes) -> KSpace:
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                key = "kspace" if "kspace" in z.files else (z.files[0] if len(z.files) == 1 else None)
                if key is None:
                    raise ReadError(f"{p}: .npz holds {z.files}; name the k-space array 'kspace'")
                arr = z[key]
                if axes is None and "axes" in z.files:
                    axes = [str(a) for a in z["axes"].tolist()]
        else:
            arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ReadError(f"{p}: not a readable NumPy file ({exc})") from exc
    if axes is None:
        side = p.with_suffix(".json")
        if side.is_file():
            try:
                axes = json.loads(side.read_text()).get("axes")
            except (ValueError, AttributeError) as exc:
                raise ReadError(f"{side}: not JSON with an 'axes' list ({exc})") from exc
    if axes is None:
        raise ReadError(f"{p}: axes not declared: add 'axes' to the .npz, a sidecar {p.stem}.json "
                        f"with {{\"axes\": [\"coil\", \"phase1\", \"read\"]}}, or pass axes=")
    dims = _parse_axes(axes, str(p))
    if len(dims) != arr.ndim:
        raise ReadError(f"{p}: {len(dims)} axes declared ({axes}) for an array of shape {arr.shape}")
    return _bart_array(arr, dims, str(p), {"format": p.suffix.lower()[1:]})


def _read_h5(p: Path) -> KSpace:
    import h5py
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ReadError(f"{p}: not a readable HDF5 file ({exc})") from exc
    with f:
        if "kspace" in f:
            return _read_fastmri(p, f)
        is_mrd = "dataset" in f and "data" in f["dataset"]
        keys = list(f.keys())[:8]
    if is_mrd:
        return _read_ismrmrd(p)
    raise ReadError(f"{p}: HDF5 without k-space: expected a fastMRI 'kspace' dataset or an "
                        f"ISMRMRD '/dataset/data'; found {keys}")


def _read_fastmri(p: Path, f) -> KSpace:
    ds = f["kspace"]
    try:
        arr = ds[()]
    except OSError as exc:
        raise ReadError(f"{p}: 'kspace' cannot be read (truncated file?): {exc}") from exc
    meta = {"format": "fastmri"}
    if "reconstruction_rss" in f:
        meta["reference"] = np.asarray(f["reconstruction_rss"][()], np.float32)
        meta["reference_name"] = "reconstruction_rss"
    if "mask" in f:
        meta["mask"] = np.asarray(f["mask"][()]).astype(bool)
    if arr.ndim == 4:      # (slices, coils, kx, ky)
        return _bart_array(arr, [13, 3, 0, 1], str(p), meta)
    if arr.ndim == 3:
        meta["coil_axis"] = False   # single-coil fastMRI: (slices, kx, ky)
        return _bart_array(arr, [13, 0, 1], str(p), meta)
    raise ReadError(f"{p}: fastMRI 'kspace' should be (slices, coils, kx, ky); got shape {arr.shape}")


def _read_ismrmrd(p: Path) -> KSpace:
    try:
        import ismrmrd
    except ImportError as exc:
        raise ReadError(f"{p}: an ISMRMRD file; install the 'ismrmrd' package to read it") from exc
    try:
        dset = ismrmrd.Dataset(str(p), "dataset", create_if_needed=False)
    except Exception as exc:
        raise ReadError(f"{p}: not a readable ISMRMRD dataset ({type(exc).__name__}: {exc})") from exc
    try:
        header = ismrmrd.xsd.CreateFromDocument(dset.read_xml_header())
        enc = header.encoding[0]
        ny = int(enc.encodedSpace.matrixSize.y)
        nz = int(enc.encodedSpace.matrixSize.z)
        n = dset.number_of_acquisitions()
        acqs = [dset.read_acquisition(i) for i in range(n)]
    except Exception as exc:
        raise ReadError(f"{p}: ISMRMRD header or acquisitions unreadable ({type(exc).__name__}: {exc})") from exc
    finally:
        dset.close()
    noise = ismrmrd.ACQ_IS_NOISE_MEASUREMENT
    acqs = [a for a in acqs if not a.is_flag_set(noise)]
    if not acqs:
        raise ReadError(f"{p}: ISMRMRD file without imaging acquisitions")
    nc, nx = acqs[0].data.shape
    n_sl = 1 + max(a.idx.slice for a in acqs)
    n_e = 1 + max(a.idx.contrast for a in acqs)
    out = np.zeros((nx, ny, nz, nc, 1, n_e), np.complex64) if n_sl == 1 else \
        np.zeros((nx, ny, nz, nc, 1, n_e) + (1,) * 7 + (n_sl,), np.complex64)
    for a in acqs:
        if a.data.shape != (nc, nx):
            raise ReadError(f"{p}: acquisitions differ in size ({a.data.shape} vs {(nc, nx)})")
        e1, e2 = a.idx.kspace_encode_step_1, a.idx.kspace_encode_step_2
        if e1 >= ny or e2 >= nz:
            raise ReadError(f"{p}: encode step ({e1}, {e2}) outside the {ny}x{nz} encoded matrix")
        if n_sl == 1:
            out[:, e1, e2, :, 0, a.idx.contrast] = a.data.T
        else:
            out[:, e1, e2, :, 0, a.idx.contrast, 0, 0, 0, 0, 0, 0, 0, a.idx.slice] = a.data.T
    while out.ndim > 4 and out.shape[-1] == 1:
        out = out[..., 0]
    fov = enc.encodedSpace.fieldOfView_mm
    meta = {"format": "ismrmrd", "coil_axis": True,
            "fov_mm": [float(fov.x), float(fov.y), float(fov.z)]}
    return KSpace(data=out, dims=tuple(out.shape) + (1,) * (16 - out.ndim), source=str(p), meta=meta)


__all__ = ["AXIS_ALIASES", "BART_DIMS", "check_kspace", "is_kspace_path", "open_kspace"]
