"""NIfTI-1/2 (.nii, .nii.gz, .hdr/.img) into a Volume in LPS.

Why not just ``img.affine``: nibabel's "best affine" (sform if coded, else qform) differs from ITK
and dcm2niix-based tools when the two forms disagree, carry shear or scales that contradict pixdim.
Geometry must match the peers clinicians use, so the sform/qform choice, spacing from pixdim and
the unit scaling follow ITK's NiftiImageIO (ITK 5.4, SetImageIOOrientationFromNIfTI); the choice is
recorded in ``meta["nifti_xform"]`` and disagreements become warnings. RAS becomes LPS here and
nowhere else. nibabel quietly "fixes" some damaged headers (a wrong sizeof_hdr), so the header is
validated first and damage is reported as a ReadError naming the file.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from app.data.limits import check_allocation, check_gzip_can_hold, check_regular, gzip_trailer
from app.data.types import Intensity, ReadError, Volume, ras_to_lps_affine

_XFORM_NAMES = {0: "unknown", 1: "scanner", 2: "aligned", 3: "talairach", 4: "mni152", 5: "template"}
#: NIfTI xyzt_units spatial code -> factor to millimetres (ITK scales the same way)
_SPACE_UNIT_TO_MM = {0: 1.0, 1: 1000.0, 2: 1.0, 3: 0.001}
_SPACE_UNIT_NAMES = {0: "unknown", 1: "m", 2: "mm", 3: "um"}
_TIME_UNIT_TO_S = {8: 1.0, 16: 1e-3, 24: 1e-6}


def _raw_header(path: Path) -> bytes:
    """The first 540 bytes of the header (decompressed for .gz), for validation before nibabel."""
    with open(path, "rb") as fh:
        head = fh.read(540)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(540)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReadError(f"{path}: NIfTI .gz header cannot be decompressed ({exc})") from exc
    return head


def _validate_header(path: Path) -> None:
    """Raise ReadError for damage nibabel would silently repair or report obscurely."""
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: empty file (0 bytes), not a NIfTI image")
    head = _raw_header(path)
    if len(head) < 4:
        raise ReadError(f"{path}: NIfTI header truncated: {len(head)} bytes, expected 348 (NIfTI-1) or 540 (NIfTI-2)")
    sizes = {int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")}
    if 348 in sizes:
        need, magic_at, magics = 348, 344, (b"n+1", b"ni1")
    elif 540 in sizes:
        need, magic_at, magics = 540, 4, (b"n+2", b"ni2")
    else:
        raise ReadError(
            f"{path}: corrupt NIfTI header: sizeof_hdr is {int.from_bytes(head[:4], 'little')}, "
            "expected 348 (NIfTI-1) or 540 (NIfTI-2)")
    if len(head) < need:
        raise ReadError(f"{path}: NIfTI header truncated: {len(head)} of {need} bytes")
    magic = head[magic_at:magic_at + 3]
    if magic not in magics:
        raise ReadError(f"{path}: corrupt NIfTI header: magic is {magic!r}, expected {magics[0]!r}")


def _data_offset(img) -> int:
    """Where the voxels start. nibabel moves vox_offset from the loaded header (which then reads 0)
    onto the data proxy, so the header field cannot be used after loading."""
    return int(getattr(img.dataobj, "offset", 0) or img.header["vox_offset"])


def _check_dims_and_size(path: Path, hdr, single_file: bool, offset: int = 0) -> tuple[int, ...]:
    dim = [int(x) for x in hdr["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7:
        raise ReadError(f"{path}: corrupt NIfTI header: dim[0] is {ndim}, expected 1 to 7")
    shape = tuple(dim[1:1 + ndim])
    if any(s <= 0 for s in shape):
        raise ReadError(f"{path}: corrupt NIfTI header: dimensions {list(shape)} include a size <= 0")
    is_gz = path.name.lower().endswith(".gz")
    itemsize = max(int(hdr["bitpix"]) // 8, 1)
    nbytes = math.prod(shape) * itemsize
    vox_offset = offset if single_file else 0
    check_allocation(path, nbytes, f"NIfTI image {'x'.join(map(str, shape))} of {hdr.get_data_dtype()}")
    expected = vox_offset + nbytes
    if single_file and not is_gz:
        actual = path.stat().st_size
        if actual < expected:
            raise ReadError(
                f"{path}: NIfTI dimensions {'x'.join(map(str, shape))} of {hdr.get_data_dtype()} need "
                f"{expected} bytes but the file has {actual}: truncated file or wrong dims in the header")
    elif single_file and is_gz:
        check_gzip_can_hold(path, expected, "NIfTI image")
        trailer = gzip_trailer(path)
        if trailer is not None and expected < (1 << 32) and trailer[1] < expected:
            raise ReadError(f"{path}: NIfTI needs {expected} bytes after decompression but the gzip "
                            f"stream says it holds {trailer[1]}: truncated or damaged file")
    return shape


def _is_orthonormal_after_scaling(m3: np.ndarray) -> bool:
    norms = np.linalg.norm(m3, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(m3)):
        return False
    r = m3 / norms
    return bool(np.allclose(r @ r.T, np.eye(3), atol=1e-4))


def _choose_xform(hdr, zooms: np.ndarray, warnings: list[str], path: Path) -> tuple[np.ndarray, str]:
    """The RAS voxel->world matrix ITK would use, and which form it came from."""
    scode, qcode = int(hdr["sform_code"]), int(hdr["qform_code"])
    sform = hdr.get_sform().astype(np.float64) if scode > 0 else None
    qform = None
    if qcode > 0:
        try:
            qform = hdr.get_qform().astype(np.float64)
        except Exception as exc:  # nibabel refuses e.g. negative pixdim in the qform
            raise ReadError(f"{path}: corrupt NIfTI qform: {exc}") from exc
    if sform is None and qform is None:
        warnings.append(f"{path.name}: no qform or sform (Analyze-style header): orientation is "
                        "unknown; shown with identity direction and origin 0")
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.diag([*zooms, 1.0]), "none"
    use_sform = False
    if sform is not None:
        if qform is not None and np.allclose(sform, qform, atol=1e-5, rtol=0):
            use_sform = True
        elif _is_orthonormal_after_scaling(sform[:3, :3]):
            if qform is None or scode == 1:
                use_sform = True
            else:  # aligned/template sform with a known qform: sform only if they agree closely
                us, ws, _ = np.linalg.svd(sform[:3, :3])
                uq, wq, _ = np.linalg.svd(qform[:3, :3])
                use_sform = bool(np.allclose(us @ np.linalg.inv(uq), np.eye(3), atol=1e-4)
                                 and np.allclose(ws, wq, atol=1e-4)
                                 and np.allclose(sform[:3, 3], qform[:3, 3], atol=1e-4))
        else:
            warnings.append(f"{path.name}: sform has shear or is not invertible; "
                            + ("using the qform (as ITK does)" if qform is not None else "cannot be used"))
    if use_sform:
        chosen, name = sform, f"sform:{_XFORM_NAMES.get(scode, scode)}"
        if qform is not None and not np.allclose(sform, qform, atol=1e-3, rtol=0):
            warnings.append(f"{path.name}: qform and sform disagree; using the sform (as ITK does)")
    elif qform is not None:
        chosen, name = qform, f"qform:{_XFORM_NAMES.get(qcode, qcode)}"
        if sform is not None and _is_orthonormal_after_scaling(sform[:3, :3]):
            warnings.append(f"{path.name}: qform and sform disagree; using the qform (as ITK does)")
    else:
        raise ReadError(f"{path}: NIfTI sform has shear and there is no qform: no orthonormal "
                        "orientation can be derived")
    # ITK: direction = normalised columns of the chosen matrix, spacing = pixdim.
    m3 = chosen[:3, :3]
    col_norms = np.linalg.norm(m3, axis=0)
    if np.any(np.abs(col_norms - zooms) > 1e-3):
        warnings.append(f"{path.name}: voxel sizes in the {name.split(':')[0]} "
                        f"({np.round(col_norms, 4).tolist()}) differ from pixdim "
                        f"({np.round(zooms, 4).tolist()}); using pixdim as ITK does")
    out = np.eye(4)
    out[:3, :3] = (m3 / col_norms) * zooms
    out[:3, 3] = chosen[:3, 3]
    return out, name


def _unscaled_gz_voxels_via_itk(path: Path, img, shape: tuple[int, ...]) -> np.ndarray | None:
    """Raw voxels of a scalar, unscaled .nii.gz through ITK's C zlib: about 3x faster than
    Python's gzip here (benchmarks/bench_readers.py). Returns None whenever this shortcut cannot
    be exactly equivalent to nibabel (scaled or structured data, unexpected type or shape), and
    the caller then reads with nibabel."""
    dtype = img.header.get_data_dtype()
    slope = float(getattr(img.dataobj, "slope", 1.0))
    inter = float(getattr(img.dataobj, "inter", 0.0))
    if dtype.names is not None or dtype.kind not in "iuf" or (slope, inter) != (1.0, 0.0):
        return None
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("NiftiImageIO")
    try:
        image = reader.Execute()
    except RuntimeError:
        return None
    view = sitk.GetArrayViewFromImage(image)  # valid only while ``image`` lives: copy before returning
    if view.dtype != dtype.newbyteorder("=") or view.size != int(np.prod(shape, dtype=np.int64)):
        return None
    arr = np.array(view, copy=True)
    del view, image
    if not _stream_crc_matches(path, _data_offset(img), arr):
        return None  # ITK zero-fills a truncated stream: let nibabel's gzip raise instead
    # ITK gives C order (..., z, y, x); hand back nibabel's (x, y, z, ...) view of the same bytes
    return arr.reshape(tuple(reversed(shape))).transpose()


def _stream_crc_matches(path: Path, vox_offset: int, voxels: np.ndarray) -> bool:
    """True when header + voxels reproduce the gzip trailer's CRC-32 and length: the only cheap
    proof that ITK read the whole stream (it fills a truncated one with zeros, silently)."""
    trailer = gzip_trailer(path)
    if trailer is None:
        return False
    with gzip.open(path, "rb") as gz:
        head = gz.read(vox_offset)
    if len(head) != vox_offset:
        return False
    body = memoryview(np.ascontiguousarray(voxels)).cast("B")
    crc = zlib.crc32(body, zlib.crc32(head))
    return crc == trailer[0] and (vox_offset + body.nbytes) % (1 << 32) == trailer[1]


def _to_channels(arr: np.ndarray) -> np.ndarray:
    """RGB24/RGBA32 structured voxels -> a trailing uint8 channel axis."""
    from numpy.lib import recfunctions
    return recfunctions.structured_to_unstructured(arr)


def read_nifti(path: str | os.PathLike) -> Volume:
    """Read a NIfTI file (scaled by scl_slope/inter) into an LPS Volume.

    Arrays come out (k, j, i), (t, k, j, i) for 4D, with a trailing channel axis for RGB/RGBA or a
    5th (vector) dimension. Raises ReadError naming the file for damaged headers or data.
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    p = Path(path)
    check_regular(p)
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    name = p.name.lower()
    single_file = not (name.endswith(".hdr") or name.endswith(".img") or name.endswith(".hdr.gz"))
    if single_file:
        _validate_header(p)
    try:
        img = nib.load(str(p), mmap=False)
    except (ImageFileError, HeaderDataError) as exc:
        raise ReadError(f"{p}: not a readable NIfTI image: {exc}") from exc
    except (OSError, EOFError, zlib.error, ValueError, OverflowError) as exc:
        raise ReadError(f"{p}: cannot read NIfTI header: {exc}") from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image, nib.Nifti1Pair, nib.Nifti2Pair)):
        raise ReadError(f"{p}: is a {type(img).__name__}, not a NIfTI image")
    hdr = img.header
    shape = _check_dims_and_size(p, hdr, single_file, _data_offset(img))
    warnings: list[str] = []

    xyz_code = int(hdr["xyzt_units"]) & 0x07
    t_code = int(hdr["xyzt_units"]) & 0x38
    unit = _SPACE_UNIT_TO_MM.get(xyz_code, 1.0)
    pixdim = np.asarray(hdr["pixdim"], dtype=np.float64)
    zooms = np.array([pixdim[i] if i < len(pixdim) else 1.0 for i in (1, 2, 3)])
    bad = ~np.isfinite(zooms) | (zooms <= 0)
    if np.any(bad[:len(shape)]):
        warnings.append(f"{p.name}: pixdim {zooms.tolist()} has non-positive or invalid sizes; using 1 mm there")
    zooms[bad] = 1.0  # also the unused axes of 1D/2D images
    affine_ras, xform = _choose_xform(hdr, zooms, warnings, p)
    if unit != 1.0:
        affine_ras = np.diag([unit, unit, unit, 1.0]) @ affine_ras
    affine = ras_to_lps_affine(affine_ras)

    # nibabel moves scl_slope/inter from the header onto the data proxy when it loads.
    slope = float(getattr(img.dataobj, "slope", 1.0))
    inter = float(getattr(img.dataobj, "inter", 0.0))
    scaled = np.isfinite(slope) and np.isfinite(inter) and slope != 0.0 and (slope != 1.0 or inter != 0.0)
    data = None
    if p.name.lower().endswith(".gz") and isinstance(img, nib.Nifti1Image) and len(shape) <= 4:
        data = _unscaled_gz_voxels_via_itk(p, img, shape)
    if data is None:
        try:
            data = np.asarray(img.dataobj.get_unscaled())
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise ReadError(f"{p}: NIfTI voxel data cannot be read (truncated or corrupt): {exc}") from exc
    if scaled:
        if data.dtype.names is not None:
            raise ReadError(f"{p}: scl_slope/scl_inter set on a colour (RGB) NIfTI, which the standard forbids")
        # float32 like ITK and the NIfTI header fields themselves; float64 data stays float64
        ftype = np.float64 if data.dtype == np.float64 else np.float32
        data = data.astype(ftype) * ftype(slope) + ftype(inter)
    channel = data.dtype.names is not None
    if channel:
        data = _to_channels(data)
    c = 1 if channel else 0
    while data.ndim - c > 3 and data.shape[data.ndim - c - 1] == 1:  # (x, y, z, 1) -> (x, y, z)
        data = np.squeeze(data, axis=data.ndim - c - 1)
    while data.ndim - c < 3:  # 1D/2D NIfTI
        data = np.expand_dims(data, axis=data.ndim - c)
    nd = data.ndim - c
    time_axis = False
    meta: dict = {"format": "nifti", "nifti_xform": xform, "sform_code": int(hdr["sform_code"]),
                  "qform_code": int(hdr["qform_code"]), "space_units": _SPACE_UNIT_NAMES.get(xyz_code, "?")}
    if nd == 5 and not channel and data.shape[3] == 1:  # NIfTI vector intent: (x, y, z, 1, c)
        data = data[:, :, :, 0, :]
        channel, nd = True, 3
    if nd == 4:
        time_axis = True
        step = float(pixdim[4]) if len(pixdim) > 4 else 0.0
        if t_code in _TIME_UNIT_TO_S and step > 0:
            meta["frame_interval_s"] = step * _TIME_UNIT_TO_S[t_code]
    elif nd > 4:
        raise ReadError(f"{p}: NIfTI with {nd} non-singleton dimensions {list(data.shape)} is not supported "
                        "(expected up to 4: x, y, z, time)")
    # nibabel gives (i, j, k[, t][, c]) ; Loupe wants ([t,] k, j, i[, c])
    if channel:
        order = (3, 2, 1, 0, 4) if time_axis else (2, 1, 0, 3)
    else:
        order = (3, 2, 1, 0) if time_axis else (2, 1, 0)
    data = np.ascontiguousarray(data.transpose(order))
    if scaled:
        meta["scl_slope"], meta["scl_inter"] = slope, inter
    intent = hdr.get_intent()[0] if hasattr(hdr, "get_intent") else ""
    if intent and intent != "none":
        meta["intent"] = intent
    descrip = bytes(hdr["descrip"]).split(b"\x00")[0].decode("latin-1").strip() if "descrip" in hdr else ""
    if descrip:
        meta["description"] = descrip
    intensity = Intensity(photometric="RGB" if channel and data.shape[-1] == 3 else
                          ("RGBA" if channel and data.shape[-1] == 4 else "MONOCHROME2"),
                          rescale_applied=bool(scaled))
    return Volume(array=data, affine=affine, intensity=intensity, meta=meta, warnings=warnings,
                  source=str(p), time_axis=time_axis, channel_axis=channel)
