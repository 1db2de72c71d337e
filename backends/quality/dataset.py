"""Real clean images for training and validating the quality assessor, split by *source* (a patient
series, a photograph, a block of ultrasound frames) so no validation image, nor a neighbouring
slice of it, is ever used for training.

The data folder is passed in (``--data`` / LOUPE_DATA); nothing here knows where it lives."""
from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .imaging import luminance, to_unit


@dataclass(frozen=True)
class Source:
    id: str                     # unit of the train/validation split
    modality: str               # "CT" | "MR" | "other"
    split: str                  # "train" | "val"
    load: Callable[[], list[np.ndarray]]  # clean [0, 1] grey images


def _cap(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape
    s = max_side / max(h, w)
    if s >= 1:
        return img
    return cv2.resize(img, (max(16, round(w * s)), max(16, round(h * s))), interpolation=cv2.INTER_AREA)


def _png(path: Path, max_side: int = 256, grey_feed: bool = False):
    """Loader of one photograph. ``grey_feed``: a colour photograph as a grey luminance image
    delivers it (Rec. 601 luminance of the 8-bit values / 255, no stretch: a fundus photo is then
    dim, its red-dominated content far from white) -- and nothing (``[]``) for a grey photograph,
    whose grey feed is what the ordinary loader gives already."""
    def load():
        a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if a is None:
            raise OSError(f"cannot read {path}")
        if a.ndim == 3:
            a = a[..., ::-1]  # BGR -> RGB before luminance
        if grey_feed:
            if a.ndim != 3 or a.dtype != np.uint8:
                return []
            return [_cap((luminance(a) / 255.0).astype(np.float32), max_side)]
        return [_cap(to_unit(a), max_side)]
    return load


def _dicom_pixels(path: str) -> np.ndarray:
    import pydicom
    from pydicom.pixels import apply_modality_lut
    ds = pydicom.dcmread(path)
    a = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        a = a.max() - a
    return a


def _dicom_series(folder: Path, n: int, max_side: int, crop_frac: float = 0.0):
    """``n`` evenly spaced slices of a single-frame DICOM series (sorted by instance number)."""
    def load():
        import pydicom
        files = []
        for f in glob.glob(str(folder / "**" / "*"), recursive=True):
            if not os.path.isfile(f):
                continue
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True)
            except Exception:
                continue  # the dcm_qa folders hold stray non-DICOM files on purpose
            if "Rows" in ds:
                files.append((int(getattr(ds, "InstanceNumber", 0) or 0), f))
        files.sort()
        pick = [files[i][1] for i in np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int)]
        out = []
        for f in pick:
            a = _dicom_pixels(f)
            if a.ndim == 3:  # multi-frame or colour: first frame / luminance
                a = a[0] if a.shape[-1] not in (3, 4) else a
            out.append(_cap(to_unit(a), max_side))
        return out
    return load


def _multiframe(path: Path, frames: list[int], max_side: int):
    def load():
        a = _dicom_pixels(str(path))
        return [_cap(to_unit(a[i]), max_side) for i in frames if i < len(a)]
    return load


def _mha_slices(path: Path, n: int, max_side: int):
    def load():
        import SimpleITK as sitk
        a = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float64)
        idx = np.linspace(a.shape[0] * 0.15, a.shape[0] * 0.85, n).round().astype(int)
        return [_cap(to_unit(a[i]), max_side) for i in idx]
    return load


def _cfl_magnitude(path: Path, max_side: int):
    def load():
        hdr = path.with_suffix(".hdr").read_text().splitlines()
        dims = [int(v) for v in hdr[1].split()]
        data = np.fromfile(path, np.complex64).reshape(dims[::-1])  # BART stores column-major
        img = np.abs(data).squeeze()
        if img.ndim == 3:
            img = np.sqrt((img ** 2).sum(0))
        return [_cap(to_unit(img.T), max_side)]
    return load


def sources(root: Path | str) -> list[Source]:
    """The clean sources under the shared data folder, each tagged train or val."""
    root = Path(root)
    out: list[Source] = []
    cxr = root / "xray_iqa" / "cxr"
    for name, split in (("00000001_000.png", "train"), ("h0001.png", "train"), ("tb0005.png", "train"),
                        ("00027426_000.png", "val"), ("tb0007.png", "val")):
        out.append(Source(f"cxr/{name}", "other", split, _png(cxr / name)))
    out.append(Source("cxr/RG1_J2KI", "other", "train", _multiframe_single(cxr / "RG1_J2KI.dcm", 256)))
    drive = root / "retina" / "DRIVE"
    for p in sorted((drive / "training" / "images").glob("*")):
        out.append(Source(f"drive/{p.name}", "other", "train", _png(p)))
    for p in sorted((drive / "test" / "images").glob("*")):
        out.append(Source(f"drive/{p.name}", "other", "val", _png(p)))
    us = sorted((root / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    if us:
        cut = int(0.7 * len(us))  # consecutive ids are neighbouring frames: split by block
        for p in us[:cut:24]:
            out.append(Source(f"psfhs/{p.name}", "other", "train", _png(p)))
        for p in us[cut::30]:
            out.append(Source(f"psfhs/{p.name}", "other", "val", _png(p)))
    d = root / "dicom"
    out.append(Source("ct/philips_head_140", "CT", "train", _dicom_series(d / "dcm_qa_ct_philips_head_140", 14, 256)))
    out.append(Source("ct/philips_phantom", "CT", "train", _dicom_series(d / "dcm_qa_ct_philips_phantom", 4, 256)))
    out.append(Source("ct/GE_gantry_tilt", "CT", "val", _dicom_series(d / "dcm_qa_ct_GE_gantry_tilt", 6, 256)))
    out.append(Source("ct/enhanced_ct", "CT", "val", _multiframe(d / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm", [0, 1], 256)))
    out.append(Source("mr/vmtk_aorta", "MR", "train", _mha_slices(root / "vessel3d" / "vmtk_aorta" / "aorta.mha", 8, 256)))
    out.append(Source("mr/siemens_mosaic_sag", "MR", "train", _dicom_series(d / "dcm_qa_siemens_mosaic_sagittal", 2, 256)))
    out.append(Source("mr/siemens_mosaic_jpgll", "MR", "train", _dicom_series(d / "dcm_qa_siemens_mosaic_jpeglossless", 2, 256)))
    out.append(Source("mr/bart_brain", "MR", "val", _cfl_magnitude(root / "kspace" / "bart_pics_brain" / "img.cfl", 256)))
    out.append(Source("mr/MR2_UNCR", "MR", "val", _multiframe_single(root / "xray_iqa" / "iqa_compression_pairs" / "MR2_UNCR.dcm", 256)))
    return out


def _multiframe_single(path: Path, max_side: int):
    def load():
        return [_cap(to_unit(_dicom_pixels(str(path))), max_side)]
    return load


def images(srcs: list[Source]) -> Iterator[tuple[Source, int, np.ndarray]]:
    for s in srcs:
        for i, img in enumerate(s.load()):
            yield s, i, img
