"""A second report construction for the widened evidence evaluation, of appearances the gate was
never developed on (issue 20, second round). The first report set (``evidence_appearances.py``,
seed 11) has been looked at, so it is development material now; this one is built from real
images in the shared data that no earlier construction used, with two window shapes not used before:

- ``mra``: axial slices and a maximum-intensity projection of the VMTK aorta MR angiogram;
- ``us_dicom``: frames of the four ultrasound DICOMs (Philips obstetric with a caliper, the palette-
  colour echo cine, the Aloka palette image);
- ``iqa``: the uncompressed MR, US and CR images of the image-quality pairs;
- ``brain``: BART's reconstruction of the 8-coil brain k-space (magnitude);
- ``ct_offcentre``: CT slices a quarter and three quarters through the 140-slice head CT and the
  enhanced CT (earlier constructions used middle slices only);
- ``dark_sector``: one of these pictures through a fan-shaped sector (as a small-sector ultrasound
  view) covering about a third of the camera's view, the rest black;
- ``dark_ring``: one of these pictures through an annulus (a ring-shaped field of view) on black,
  half of them in red false colour;
- ``small_dim``: a small square crop (about 6% of the picture) at 60% brightness on black;
- ``polyp``: the Kvasir polyps (the original event kind, for comparison).

There is no dev/report split here: every picture is report material, and the construction is run
once (seed 31) after the method is fixed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from benchmarks.build_evidence_videos import Picture, load_pictures
from benchmarks.evidence_appearances import _fit, _gray_rgb

UNSEEN = ("polyp", "mra", "us_dicom", "iqa", "brain", "ct_offcentre", "dark_sector", "dark_ring", "small_dim")


def _dicom_frames(path: Path, at: tuple[float, ...] = (0.5,)) -> list[np.ndarray]:
    import pydicom

    try:
        ds = pydicom.dcmread(str(path))
        arr = ds.pixel_array
    except Exception:  # noqa: BLE001 - unreadable here (codec missing): not a picture for this set
        return []
    if getattr(ds, "PhotometricInterpretation", "") == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
    frames = []
    if arr.ndim == 4 or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        for a in at:
            frames.append(arr[min(arr.shape[0] - 1, int(a * arr.shape[0]))])
    else:
        frames.append(arr)
    out = []
    for f in frames:
        if f.ndim == 3:
            f = f[..., :3].astype(np.float32)
            lo, hi = np.percentile(f, [1, 99.5])
            out.append(np.clip((f - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8))
        else:
            out.append(_gray_rgb(f))
    return out


def _mra(path: Path) -> list[np.ndarray]:
    import SimpleITK as sitk

    v = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float32)  # (z, y, x)
    pics = [_gray_rgb(v[int(a * (v.shape[0] - 1))]) for a in (0.3, 0.5, 0.7)]
    pics.append(_gray_rgb(v.max(axis=0)))   # maximum-intensity projection along the slices
    return pics


def _brain(folder: Path) -> list[np.ndarray]:
    hdr = (folder / "img.hdr").read_text().split("\n")
    dims = [int(x) for x in hdr[1].split()]
    data = np.fromfile(folder / "img.cfl", np.complex64)
    img = np.abs(data.reshape(dims[::-1] if False else dims, order="F")).squeeze()
    while img.ndim > 2:
        img = img[..., 0]
    return [_gray_rgb(np.rot90(img))]


def _stretch(pic: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The window's own content stretched to its 1-99.5 percentiles, as a viewer would show it."""
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g[mask], [1, 99.5])
    return np.clip((pic.astype(np.float32) - lo) * (255.0 / max(hi - lo, 1.0)), 0, 255).astype(np.uint8)


def _sector(pic: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A fan of 80-110 degrees from an apex near the top, reaching past the picture's centre."""
    h, w = pic.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    apex = (w // 2, int(h * 0.15))
    r = int(min(h, w) * rng.uniform(0.55, 0.62))
    a0 = 90 - rng.uniform(40, 55)
    cv2.ellipse(mask, apex, (r, r), 0, a0, 180 - a0, 255, -1)
    m = mask > 0
    out = np.zeros_like(pic)
    out[m] = _stretch(pic, m)[m]
    return out, m


def _ring(pic: np.ndarray, rng: np.random.Generator, red: bool) -> tuple[np.ndarray, np.ndarray]:
    h, w = pic.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    r = int(min(h, w) * rng.uniform(0.26, 0.3))
    cv2.circle(mask, (w // 2, h // 2), r, 255, -1)
    cv2.circle(mask, (w // 2, h // 2), int(r * 0.45), 0, -1)
    out = np.zeros_like(pic)
    src = _stretch(pic, mask > 0)
    if red:
        g = cv2.cvtColor(src, cv2.COLOR_RGB2GRAY)
        src = np.stack([g, g // 4, g // 6], -1)
    out[mask > 0] = src[mask > 0]
    return out, mask > 0


def _small_dim(pic: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A square crop of about 6% of the picture (the most structured of a few random ones) at 60%
    brightness, on black."""
    h, w = pic.shape[:2]
    c = int(min(h, w) * 0.24)
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    best, by, bx = -1.0, 0, 0
    for _ in range(30):
        y, x = int(rng.integers(0, h - c)), int(rng.integers(0, w - c))
        sd = float(g[y:y + c, x:x + c].std())
        if sd > best:
            best, by, bx = sd, y, x
    crop = (pic[by:by + c, bx:bx + c].astype(np.float32) * 0.6).astype(np.uint8)
    out = np.zeros_like(pic)
    y0, x0 = (h - c) // 2, (w - c) // 2
    out[y0:y0 + c, x0:x0 + c] = crop
    lesion = np.zeros((h, w), bool)
    lesion[y0:y0 + c, x0:x0 + c] = True
    return out, lesion


def load_unseen_appearances(data_dir: Path, seed: int = 31) -> dict[str, list[Picture]]:
    d = Path(data_dir)
    rng = np.random.default_rng(seed + 500)
    base = load_pictures(d)
    out: dict[str, list[Picture]] = {"polyp": base["polyps"]}
    us = []
    for f in sorted((d / "ultrasound" / "dicom_us").glob("*.dcm")):
        us += [(f"{f.stem}:{i}", p) for i, p in enumerate(_dicom_frames(f, (0.2, 0.7)))]
    iqa = [(f.stem, p) for f in sorted((d / "xray_iqa" / "iqa_compression_pairs").glob("*_UNCR.dcm"))
           for p in _dicom_frames(f)]
    ct = []
    for series in ("dcm_qa_ct_philips_head_140", "pydicom_data_enhanced_ct"):
        files = sorted(p for p in (d / "dicom" / series).rglob("*") if p.is_file() and p.suffix.lower() not in
                       (".json", ".nii", ".gz", ".md", ".txt"))
        if len(files) > 4:
            for a in (0.25, 0.75):
                ct += [(f"{series[:16]}:{a}", p) for p in _dicom_frames(files[int(a * len(files))])]
        else:
            for f in files:
                ct += [(f"{series[:16]}:{f.stem}", p) for p in _dicom_frames(f, (0.25, 0.75))]
    mra = [(f"aorta:{i}", p) for i, p in enumerate(_mra(d / "vessel3d" / "vmtk_aorta" / "aorta.mha"))]
    brain = [("bart_brain", p) for p in _brain(d / "kspace" / "bart_pics_brain")]
    for name, items in (("mra", mra), ("us_dicom", us), ("iqa", iqa), ("brain", brain), ("ct_offcentre", ct)):
        out[name] = [Picture(f"{name}:{n}", _fit(i)) for n, i in items if i is not None and min(i.shape[:2]) >= 48]
    pool = out["mra"] + out["us_dicom"] + out["iqa"] + out["brain"] + out["ct_offcentre"]
    order = rng.permutation(len(pool))
    out["dark_sector"] = [Picture(f"dark_sector:{pool[i].name}", *_sector(pool[i].image, rng)) for i in order[:8]]
    out["dark_ring"] = [Picture(f"dark_ring:{pool[i].name}", *_ring(pool[i].image, rng, red=bool(k % 2)))
                        for k, i in enumerate(order[8:16])]
    out["small_dim"] = [Picture(f"small_dim:{pool[i].name}", *_small_dim(pool[i].image, rng))
                        for i in np.roll(order, 4)[:8]]
    return out
