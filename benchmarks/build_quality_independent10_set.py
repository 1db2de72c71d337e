"""The TENTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent10.py`` (generalised-normal,
Skellam dark-subtracted and causal-IIR noise; chromatic-disc, coded-aperture and binomial-cascade
defocus; rotated-lattice, hexagonal-lattice and integral-area / PCHIP resampling; rose-curve, von
Mises walk and Dubins camera paths; MPEG-1, MS-MPEG-4 v3 and H.263+ intra pictures; mu-law,
guided-filter and BT.1886 black-lift contrast; AgX, ARRI LogC3 and tanh exposure). A REPORT
construction: committed FROZEN ("V15 frozen: family 10 construction") before any model was scored on
it; score it once per released model and never tune a method on it.

Images are fed as the product feeds them (family 4's ``load_native``: the product's ``open_path`` ->
the quality backend's ``_slice``; then ``assess.analysis_image`` through family 4's ``analysis``)
BEFORE degrading, except the CT views marked with a window: those are the slice's Hounsfield units
through a clinical window (soft tissue 50 / 350, bone 400 / 1800 and 600 / 2800, posterior fossa
40 / 150 HU), then ``analysis``; the modality passed to the assessor is the loader's ("CT").

Sources: 48 held-out views, 8 per modality (X-ray, fundus, ultrasound, CT, MR, endoscopy), none of
them a view (image + crop + window) any family 1-9 used; images are shared where the data hold no
other held-out image (``OVERLAP``). X-ray the SIIM CR (768 px top-left), NIH 00027426 (416 px),
TBX11K tb0007 (two 352 px, one 400 px crop) and the torchxrayvision chest 16747_3_1 (two 600 px, one
436 px crop); fundus DRIVE test 03-10 in 336 px crops (odd: centre, even: upper centre); ultrasound
seven PSFHS frames of the held-out block that no family took and a 320 px crop of the uncompressed
US1; CT the two slices of pydicom's enhanced CT (eCT_Supplemental: used by no family) full-range
through the product's HU scaling and at a soft-tissue / bone window, GE gantry-tilt slice 04 at a
bone window and 18 at a posterior-fossa window (no family windowed them), slices 07 and 11
full-range in central 320 px crops (earlier families took them whole); MR the uncompressed MR2 in
eight 320 px crops; endoscopy three 480 px crops of the EndoVis 2017 frame (family 9 took 720 px
ones) and 400 px crops of the five Kvasir-SEG frames (family 9 took them whole). Refused if any has
become training data (family 4's ``training_paths`` through the shared ``check_held_out``; PSFHS
frames must sit in the held-out last 30 %).

Per view: 2 clean samples (as cropped; turned 180 degrees) and each of the 7 construction groups ONCE
on the view as cropped; the implementation taken in turn (view number + group number, so each modality
gets each implementation about equally), its parameters from a seed fixed by (SEED, source, group). No
stacked pairs. 48 x (2 + 7) = 432 samples (96 clean).

Severity: family 4's middle level (see ``quality_independent10.py``), and the VISIBILITY RULE, fixed
before any scoring (family 9's, imported: ``build_quality_independent9_set.visible``): every degraded
sample is at PSNR <= 38 dB or SSIM <= 0.95 against its clean view; the build fails otherwise. Views
that failed it on the images alone were replaced before anything was scored: the whole EndoVis left /
right frames (nearly black), and X-ray crops of RG3_J2KR (560 / 320 px) and of the SIIM CR (416 / 384 /
288 / 256 px), too smooth at the analysis scale for a middle-severity blur or compression to reach
38 dB (defocus, resampling and compression at 39-53 dB); the check was a PSNR / SSIM table of the
degradations on the candidate views, no model involved. ``--cache DIR`` keeps the samples (.npz per source); ``set_hash`` is the
SHA-256 of every sample (meta and float32 pixels) in order: the same seed gives the same hash.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent10_set.py [--cache /tmp/qi10]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_family_build as qfb  # noqa: E402
import quality_independent10 as q10  # noqa: E402
from build_quality_independent4_set import load_native, training_paths  # noqa: E402
from build_quality_independent9_set import VISIBLE_PSNR_DB, VISIBLE_SSIM, sample_digest, set_hash, visible  # noqa: E402,F401

FAMILY = 10
SEED = 2026120310     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-rot180")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR", "endoscopy")
WINDOWS = {"soft50": (50.0, 350.0), "bone400": (400.0, 1800.0), "bone600": (600.0, 2800.0),
           "fossa": (40.0, 150.0)}    # (centre, width) HU

_GE = "dicom/dcm_qa_ct_GE_gantry_tilt/dicom"
_ECT = "dicom/pydicom_data_enhanced_ct/eCT_Supplemental.dcm"
_MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
_SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
_CXR = "xray_iqa/cxr/16747_3_1.jpg"
_NIH = "xray_iqa/cxr/00027426_000.png"
_TBX = "xray_iqa/cxr/tb0007.png"
_US1 = "xray_iqa/iqa_compression_pairs/US1_UNCR.dcm"
_EV = "endoscopy/endovis2017_clip/frame.png"
_KV = "endoscopy/Kvasir-SEG/images"
PSFHS_FRAMES = ("04722", "04791", "04846", "04900", "04960", "05018", "05072")
KVASIR = ("cju0qkwl35piu0993l0dewei2", "cju0qoxqj9q6s0835b43399p4", "cju0qx73cjw570799j4n5cjze",
          "cju0roawvklrq0799vmjorwfv", "cju0rx1idathl0835detmsp84")

# (source id, modality group, path under the data root, slice index, crop (row, col, size) or None,
#  CT window name or "")
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None, str], ...] = (
    ("siim_cr:sq768_0_0", "X-ray", _SIIM, -1, (0, 0, 768), ""),
    ("nih_00027426:sq416_0_96", "X-ray", _NIH, -1, (0, 96, 416), ""),
    ("tbx_tb0007:sq352_40_160", "X-ray", _TBX, -1, (40, 160, 352), ""),
    ("tbx_tb0007:sq352_160_0", "X-ray", _TBX, -1, (160, 0, 352), ""),
    ("tbx_tb0007:sq400_100_100", "X-ray", _TBX, -1, (100, 100, 400), ""),
    ("cxr/16747_3_1:sq600_0_250", "X-ray", _CXR, -1, (0, 250, 600), ""),
    ("cxr/16747_3_1:sq600_285_0", "X-ray", _CXR, -1, (285, 0, 600), ""),
    ("cxr/16747_3_1:sq436_200_600", "X-ray", _CXR, -1, (200, 600, 436), ""),
    *((f"drive/{i:02d}_test.tif:{'centre336' if i % 2 else 'uppercentre336'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (124, 115, 336) if i % 2 else (40, 115, 336), "")
      for i in range(3, 11)),
    *((f"psfhs/{f}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{f}.png", -1, None, "") for f in PSFHS_FRAMES),
    ("us/US1_UNCR:sq320_120_170", "ultrasound", _US1, -1, (120, 170, 320), ""),
    ("ct/eCT:0:full", "CT", _ECT, 0, None, ""),
    ("ct/eCT:1:full", "CT", _ECT, 1, None, ""),
    ("ct/eCT:0:soft50", "CT", _ECT, 0, None, "soft50"),
    ("ct/eCT:1:bone400", "CT", _ECT, 1, None, "bone400"),
    ("ct/GE_gantry_tilt/04:bone600", "CT", f"{_GE}/04.dcm", 3, None, "bone600"),
    ("ct/GE_gantry_tilt/18:fossa", "CT", f"{_GE}/18.dcm", 17, None, "fossa"),
    ("ct/GE_gantry_tilt/07:centre320", "CT", f"{_GE}/07.dcm", 6, (96, 96, 320), ""),
    ("ct/GE_gantry_tilt/11:centre320", "CT", f"{_GE}/11.dcm", 10, (96, 96, 320), ""),
    *((f"mr/MR2_UNCR:sq320_{r}_{c}", "MR", _MR2, -1, (r, c, 320), "")
      for r, c in ((60, 300), (60, 620), (250, 120), (250, 560), (450, 300), (450, 700), (640, 120), (640, 520))),
    *((f"endovis2017/frame:sq480_{r}_{c}", "endoscopy", _EV, -1, (r, c, 480), "")
      for r, c in ((100, 400), (400, 900), (300, 1300))),
    *((f"kvasir/{k}:centre400", "endoscopy", f"{_KV}/{k}.jpg", -1, (64, 110, 400), "") for k in KVASIR),
)
NUMBER = {s[0]: n for n, s in enumerate(SOURCES)}

# images (not views) that families 1-9 also used, and by whom (read from their builders)
OVERLAP = {
    _SIIM: "families 4-9 (other crops)", _CXR: "families 4, 9",
    _NIH: "families 3, 7, 8, 9 (other crops)", _TBX: "families 3, 7, 8, 9 (other crops)",
    "retina/DRIVE/test/images": "families 3-9 (other crops / whole)", _US1: "families 3, 7, 8, 9 (other crops)",
    _GE: "families 3-9 (other slices, windows or crops)", _MR2: "families 3-9 (other crops)",
    _EV: "family 9 (720 px crops)", _KV: "family 9 (whole frames)",
}


def hu_slice(root, rel: str, index: int) -> tuple[np.ndarray, str]:
    """The slice's Hounsfield units, as the product's loader reads them."""
    from app.data.open import best_volume, open_path
    from app.data.types import LoupeError
    path = Path(root) / rel
    if not path.is_file():
        raise LoupeError(f"{path}: not found (independent set {FAMILY} source)")
    vol = best_volume(open_path(path))
    arr = np.asarray(vol.array)
    if vol.intensity.units != "HU" or arr.ndim != 3 or not 0 <= index < arr.shape[0]:
        raise LoupeError(f"{path}: not a CT volume in HU with slice {index}")
    return np.asarray(arr[index], np.float64), "CT"


def check_held_out(root) -> None:
    """The shared held-out check (``quality_family_build.check_held_out``) over every source (the
    module's SOURCES as they are now: a test adds a training image to them)."""
    qfb.check_held_out(root, [s[:5] for s in SOURCES], FAMILY, training_paths)


VIEWS = qfb.ViewFamily(q=q10, family=FAMILY, seed=SEED, tag="indep10", sources=SOURCES, windows=WINDOWS,
                      clean_views=CLEAN_VIEWS, hu_slice=hu_slice, load_native=load_native,
                      check=lambda r: check_held_out(r), mirror=lambda img: img[::-1, ::-1])
# the family's names, bound to the shared construction (quality_family_build.ViewFamily)
window, implementation = VIEWS.window, VIEWS.implementation
view_of, make, samples, n_expected = VIEWS.view_of, VIEWS.make, VIEWS.samples, VIEWS.n_expected


def main(argv=None) -> int:
    return VIEWS.main(__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
