"""Write a Volume as NIfTI-1 the way dcm2niix does, plus a BIDS-style JSON sidecar.

Why dcm2niix's conventions: it is the reference converter in neuroimaging, so a Loupe conversion
must be comparable voxel for voxel: rows flipped (NIfTI j runs bottom-up) or, for 3D
acquisitions, axes reoriented nearest to RAS (``nifti_ortho``), RAS affine in both
qform and sform (code 1, scanner), stored integers with scl_slope/scl_inter (Philips: the
"precise" float scaling), unsigned 16-bit stored as int16 when Bits Stored < 16, mosaics in CSA slice
order. RAS appears only here (types.py keeps LPS everywhere else).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.data.nifti_ortho import reorients_3d_acquisition, set_ortho
from app.data.types import ReadError, Volume, lps_to_ras_affine

CONVERSION_SOFTWARE = "Loupe"

#: BIDS sidecar fields taken from the DICOM header (keyword -> converter).
_SIDECAR_FIELDS = [
    ("Modality", "Modality", str), ("MagneticFieldStrength", "MagneticFieldStrength", float),
    ("Manufacturer", "Manufacturer", str), ("ManufacturersModelName", "ManufacturerModelName", str),
    ("InstitutionName", "InstitutionName", str), ("SoftwareVersions", "SoftwareVersions", str),
    ("BodyPartExamined", "BodyPartExamined", str), ("PatientPosition", "PatientPosition", str),
    ("SeriesDescription", "SeriesDescription", str), ("ProtocolName", "ProtocolName", str),
    ("ScanningSequence", "ScanningSequence", str), ("SequenceVariant", "SequenceVariant", str),
    ("ScanOptions", "ScanOptions", str), ("MRAcquisitionType", "MRAcquisitionType", str),
    ("SeriesNumber", "SeriesNumber", int),
    ("AcquisitionNumber", "AcquisitionNumber", int), ("SliceThickness", "SliceThickness", float),
    ("SpacingBetweenSlices", "SpacingBetweenSlices", float), ("FlipAngle", "FlipAngle", float),
    ("ConvolutionKernel", "ConvolutionKernel", str), ("KVP", "KVP", float),
    ("XRayExposure", "Exposure", float), ("ExposureTime", "ExposureTime", float),
    ("GantryDetectorTilt", "GantryDetectorTilt", float), ("ImageType", "ImageType", list),
]


_VENDORS = (("PHILIPS", "Philips"), ("SIEMENS", "Siemens"), ("GE ", "GE"), ("GE_", "GE"), ("GEMS", "GE"),
            ("TOSHIBA", "Toshiba"), ("CANON", "Canon"), ("HITACHI", "Hitachi"), ("UIH", "UIH"), ("BRUKER", "Bruker"))


def _vendor(name: str) -> str:
    """dcm2niix's short vendor names ('Philips Medical Systems' -> 'Philips')."""
    up = name.upper() + " "
    for key, short in _VENDORS:
        if up.startswith(key) or (len(key) > 3 and key in up):
            return short
    return name


def _nifti_arrays(vol: Volume):
    """Voxel data in dcm2niix layout and its RAS affine: x=i, y=rows bottom-up (dcm2niix's row
    flip), z, t; or, for a single-volume 3D acquisition, dcm2niix's nearest-to-RAS reorientation
    (``nifti_ortho``) instead of the row flip."""
    arr = vol.array
    rgb24 = False
    if vol.channel_axis:
        if arr.shape[-1] != 3 or arr.dtype != np.uint8:
            raise ReadError(f"{vol.source}: colour volume of {arr.shape[-1]} x {arr.dtype} channels; NIfTI "
                            f"RGB24 needs 3 x uint8")
        rgb = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
        arr = np.ascontiguousarray(arr).view(rgb)[..., 0]  # DT_RGB24, as dcm2niix writes colour
        rgb24 = True
    if not vol.time_axis:
        arr = arr[None]
    aff = vol.affine.copy()
    if vol.meta.get("nifti_flip_k"):
        nk = arr.shape[1]
        arr = arr[:, ::-1]
        aff[:3, 3] = aff[:3, 3] + aff[:3, 2] * (nk - 1)
        aff[:3, 2] = -aff[:3, 2]
    # (t, k, j, i) -> (i, j, k, t), rows still in DICOM order
    data = np.transpose(arr, (3, 2, 1, 0))
    aff_ras = lps_to_ras_affine(aff)
    if reorients_3d_acquisition(vol.meta.get("mr_acquisition_type"), data.shape[2], data.shape[3]):
        if not rgb24:  # dcm2niix leaves RGB 3D acquisitions as stored (neither reoriented nor flipped)
            data, aff_ras = set_ortho(data, aff_ras)
    else:
        rows = data.shape[1]
        data = data[:, ::-1]
        aff_ras = aff_ras.copy()
        aff_ras[:3, 3] = aff_ras[:3, 3] + aff_ras[:3, 1] * (rows - 1)
        aff_ras[:3, 1] = -aff_ras[:3, 1]
    if data.shape[3] == 1:
        data = data[..., 0]
    return data, aff_ras


def _stored(vol: Volume, data: np.ndarray):
    """(stored array, scl_slope, scl_inter) reproducing dcm2niix's integer storage when possible."""
    sc = vol.meta.get("scaling")
    if data.dtype.names:  # RGB24
        return data, 1.0, 0.0
    if not sc:
        return data.astype(np.float32), 1.0, 0.0
    slope, inter = float(sc["slope"]), float(sc["intercept"])
    dtype = np.dtype(sc["stored_dtype"])
    if slope == 1.0 and inter == 0.0 and data.dtype == dtype:
        raw = data
    else:
        est = (data.astype(np.float64) - inter) / slope
        raw = np.rint(est)
        if raw.size and float(np.max(np.abs(est - raw))) > 0.01:
            raise ReadError(f"{vol.source}: voxel values do not invert to stored integers with slope {slope} "
                            f"and intercept {inter}; cannot write dcm2niix-compatible NIfTI")
        raw = raw.astype(dtype)
    if raw.dtype == np.uint16 and 0 < int(vol.meta.get("bits_stored") or 16) < 16:
        # dcm2niix (default '-l o'): unsigned 16-bit with Bits Stored < 16 is written as int16 (same
        # bytes, values 0..32767); a full 16-bit unsigned range stays uint16 whatever its maximum
        raw = raw.astype(np.int16)
    elif raw.dtype == np.int8:
        raw = raw.astype(np.int16)
    return raw, slope, inter


def nifti_image(data_ijk: np.ndarray, affine_ras: np.ndarray, *, descrip: str = "",
                time_unit: str = "unknown"):
    """The one NIfTI-1 writer's header: data in NIfTI (i, j, k[, ...]) order, RAS affine in both
    qform and sform (code 1, scanner), millimetres. Every NIfTI Loupe writes is made here."""
    import nibabel as nib

    img = nib.Nifti1Image(data_ijk, affine_ras)
    img.header.set_data_dtype(np.asarray(data_ijk).dtype)
    img.set_qform(affine_ras, code=1)
    img.set_sform(affine_ras, code=1)
    img.header.set_xyzt_units("mm", time_unit)
    if descrip:
        img.header["descrip"] = descrip.encode()[:79]
    return img


def grid_to_nifti(arr_kji: np.ndarray, affine_lps: np.ndarray, *, descrip: str = ""):
    """A Loupe grid ((k, j, i[, c]) array, LPS affine) as NIfTI. The axes are swapped as a *view*
    so nibabel writes the bytes as they are (an explicit copy made writing 20x slower)."""
    data = np.moveaxis(np.ascontiguousarray(arr_kji), (0, 1, 2), (2, 1, 0))
    return nifti_image(data, lps_to_ras_affine(affine_lps), descrip=descrip)


def save_grid_nifti(path: str | Path, arr_kji: np.ndarray, affine_lps: np.ndarray, *, descrip: str = "") -> Path:
    import nibabel as nib

    nib.save(grid_to_nifti(arr_kji, affine_lps, descrip=descrip), str(path))
    return Path(path)


def to_nifti(vol: Volume):
    """A nibabel Nifti1Image laid out exactly as dcm2niix would write it."""

    data, aff_ras = _nifti_arrays(vol)
    raw, slope, inter = _stored(vol, data)
    img = nifti_image(np.asarray(raw), aff_ras, time_unit="sec")
    hdr = img.header
    tr = vol.meta.get("repetition_time")
    if vol.time_axis and tr:
        hdr["pixdim"][4] = float(tr) / 1000.0
    hdr.set_slope_inter(np.float32(slope), np.float32(inter))
    te = vol.meta.get("echo_time")
    hdr["descrip"] = (f"TE={te:g};" if te is not None else "") + "Loupe"
    return img


def write_nifti(vol: Volume, path: str | Path) -> Path:
    import nibabel as nib

    path = Path(path)
    img = to_nifti(vol)
    # keep the scaling we set (nibabel would otherwise recompute it for the stored dtype)
    img.header.set_data_dtype(img.get_data_dtype())
    nib.save(img, str(path))
    return path


_SITE_FIELDS = ("InstitutionName",)  # names the site: kept only in an identified export


def sidecar(vol: Volume, identified: bool = False) -> dict:
    """BIDS-style metadata (no patient name, ID, birth date or any other identifier; the site's
    name only in an identified export, app/export/policy.py)."""
    ds = vol.meta.get("header")
    out: dict = {}
    if ds is not None:
        for name, kw, conv in _SIDECAR_FIELDS:
            v = ds.get(kw)
            if v in (None, ""):
                continue
            try:
                if conv is list:
                    out[name] = [str(x) for x in v]
                elif conv is str and not isinstance(v, str) and hasattr(v, "__iter__"):
                    out[name] = "\\".join(str(x) for x in v)
                else:
                    out[name] = conv(v)
            except (TypeError, ValueError):
                continue
    if not identified:
        for name in _SITE_FIELDS:
            out.pop(name, None)
    if "Manufacturer" in out:
        out["Manufacturer"] = _vendor(out["Manufacturer"])
    if vol.meta.get("image_type"):
        out["ImageType"] = list(vol.meta["image_type"])
    if vol.meta.get("echo_time") is not None:
        out["EchoTime"] = round(float(vol.meta["echo_time"]) / 1000.0, 6)
    if vol.meta.get("repetition_time"):
        out["RepetitionTime"] = round(float(vol.meta["repetition_time"]) / 1000.0, 6)
    d = vol.direction
    row, col = d[:, 0], d[:, 1]
    out["ImageOrientationPatientDICOM"] = [round(float(x), 5) + 0.0 for x in (*row, *col)]
    if vol.meta.get("philips_scale_slope"):
        out["PhilipsRescaleSlope"] = vol.meta.get("rescale_slope")
        out["PhilipsRescaleIntercept"] = vol.meta.get("rescale_intercept")
        out["PhilipsScaleSlope"] = vol.meta["philips_scale_slope"]
        out["UsePhilipsFloatNotDisplayScaling"] = int(vol.meta.get("philips_scaling") == "precise")
    if vol.warnings:
        out["ConversionWarnings"] = list(vol.warnings)
    out["ConversionSoftware"] = CONVERSION_SOFTWARE
    out["ConversionSoftwareVersion"] = _version()
    return out


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("loupe")
    except Exception:
        return "dev"


def write_sidecar(vol: Volume, path: str | Path, identified: bool = False) -> Path:
    path = Path(path)
    path.write_text(json.dumps(sidecar(vol, identified), indent="\t") + "\n")
    return path
