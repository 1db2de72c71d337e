"""The ELEVENTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent11.py`` (filtered-back-projection,
variable-density k-space magnitude and heteroscedastic hyperbolic-secant noise; Young - van Vliet
recursive, quartic-biweight and gamma-ring defocus; VTK Kaiser-sinc / B-spline, jittered-grid Shepard
and fill-factor / Clough-Tocher resampling; lemniscate, cardiac-timed loop and Hann-shuttered B-spline
camera paths; an own Coiflet wavelet codec, AVIF (libaom) and SMPTE VC-2 compression, none of them
FFmpeg's DCT core; Beta-CDF, Laplacian-pyramid and Yule-Nielsen print contrast; UE4 filmic,
piecewise-power and cubic soft-clip exposure, under- and over-exposure as separate halves). A REPORT
construction: committed FROZEN ("V16 frozen: family 11 construction") before any model was scored on
it; score it once per released model and never tune a method on it.

Images are fed as the product feeds them (family 4's ``load_native``: the product's ``open_path`` ->
the quality backend's ``_slice``; then ``assess.analysis_image`` through family 4's ``analysis``)
BEFORE degrading, except the CT views marked with a window: those are the slice's Hounsfield units
through a clinical window (lung -600 / 1500, brain 40 / 80, bone 500 / 2000, soft tissue 40 / 400 HU),
then ``analysis``; the modality passed to the assessor is the loader's ("CT").

Sources: 48 held-out views, 8 per modality (X-ray, fundus, ultrasound, CT, MR, endoscopy), none of
them a view (image + crop + window) any family 1-10 used (a test checks families 3-10; families 1-2
drew whole images of the training split); images are shared where the data hold no other held-out
image (``OVERLAP``). X-ray: one SIIM CR crop (768 px at 256 / 200), two NIH 00027426, two TBX11K
tb0007 and two torchxrayvision 16747_3_1 crops at new offsets / sizes; fundus: DRIVE test 01-08 in
352 px LOWER crops (odd: lower left, even: lower right; no family cropped there); ultrasound: seven
PSFHS frames of the held-out block that no family took and a 320 px crop of the uncompressed US1;
CT: GE gantry-tilt slices 02, 13, 17 and the enhanced CT's slice 0 full-range through the product's
HU scaling in new crops, GE 09 at a lung window, GE 16 at a brain window, GE 06 at a bone window and
the enhanced CT's slice 1 at a soft-tissue window (no family windowed them so); MR: the uncompressed
MR2 in eight crops at new offsets (352 / 288 px); endoscopy: the five Kvasir-SEG frames in new crops
and three new 480-520 px crops of the EndoVis 2017 frame. Refused if any has become training data
(family 4's ``training_paths`` through the shared ``check_held_out``; PSFHS frames must sit in the
held-out last 30 %).

Per view: 2 clean samples (as cropped; mirrored left-right) and each of the 7 construction groups ONCE
on the view as cropped; the implementation taken in turn (view number + group number, so each
modality gets each implementation about equally), its parameters from a seed fixed by (SEED, source,
group). Exposure: OVER for odd view numbers, UNDER for even ones (4 + 4 per modality; each
implementation in both directions), so under- and over-exposure are separate halves of the group. No
stacked pairs. 48 x (2 + 7) = 432 samples (96 clean).

Severity: family 4's middle level (see ``quality_independent11.py``), and the VISIBILITY RULE, fixed
before any scoring (family 9's, imported: ``build_quality_independent9_set.visible``): every degraded
sample is at PSNR <= 38 dB or SSIM <= 0.95 against its clean view; the build fails otherwise. Views
that failed it on the images alone were replaced before anything was scored: GE 13 and 27 in 352 px
crops at 32 / 128 and 128 / 32 and GE 24 at the bone window (compression at the catalogue JPEG's PSNR
reached 38-40 dB, SSIM 0.97-0.99), replaced by GE 13 and 17 in central crops and GE 06 at the bone
window (GE 20 and 22 in central crops failed the same way and were not taken); the check was a PSNR /
SSIM table of the degradations on the candidate views, no model involved. The first build also
showed the Beta-CDF contrast unable to reach the band on images with a black background (the curve
was about 0.5, not the image mean); fixed before the freeze.
``--cache DIR`` keeps the samples (.npz per source); ``set_hash`` is the SHA-256 of every sample (meta
and float32 pixels) in order: the same seed gives the same hash.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent11_set.py [--cache /tmp/qi11]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent10_set as b10  # noqa: E402
import quality_family_build as qfb  # noqa: E402
import quality_independent11 as q11  # noqa: E402
from build_quality_independent4_set import load_native, training_paths  # noqa: E402
from build_quality_independent9_set import VISIBLE_PSNR_DB, VISIBLE_SSIM, sample_digest, set_hash, visible  # noqa: E402,F401

FAMILY = 11
SEED = 2026120311     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-mirrored")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR", "endoscopy")
WINDOWS = {"lung": (-600.0, 1500.0), "brain": (40.0, 80.0), "bone500": (500.0, 2000.0),
           "soft40": (40.0, 400.0)}    # (centre, width) HU

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
PSFHS_FRAMES = ("04743", "04802", "04853", "04898", "04952", "05003", "05052")
KVASIR = (("cju0qkwl35piu0993l0dewei2", (129, 0, 400)), ("cju0qoxqj9q6s0835b43399p4", (300, 500, 640)),
          ("cju0qx73cjw570799j4n5cjze", (0, 219, 400)), ("cju0roawvklrq0799vmjorwfv", (128, 222, 400)),
          ("cju0rx1idathl0835detmsp84", (0, 0, 400)))

# (source id, modality group, path under the data root, slice index, crop (row, col, size) or None,
#  CT window name or "")
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None, str], ...] = (
    ("siim_cr:sq768_256_200", "X-ray", _SIIM, -1, (256, 200, 768), ""),
    ("nih_00027426:sq384_128_32", "X-ray", _NIH, -1, (128, 32, 384), ""),
    ("nih_00027426:sq288_0_224", "X-ray", _NIH, -1, (0, 224, 288), ""),
    ("tbx_tb0007:sq448_32_32", "X-ray", _TBX, -1, (32, 32, 448), ""),
    ("tbx_tb0007:sq256_256_128", "X-ray", _TBX, -1, (256, 128, 256), ""),
    ("cxr/16747_3_1:sq480_400_300", "X-ray", _CXR, -1, (400, 300, 480), ""),
    ("cxr/16747_3_1:sq520_0_480", "X-ray", _CXR, -1, (0, 480, 520), ""),
    ("cxr/16747_3_1:sq400_485_636", "X-ray", _CXR, -1, (485, 636, 400), ""),
    *((f"drive/{i:02d}_test.tif:{'lowerleft352' if i % 2 else 'lowerright352'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (220, 40, 352) if i % 2 else (220, 180, 352), "")
      for i in range(1, 9)),
    *((f"psfhs/{f}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{f}.png", -1, None, "") for f in PSFHS_FRAMES),
    ("us/US1_UNCR:sq320_160_288", "ultrasound", _US1, -1, (160, 288, 320), ""),
    ("ct/GE_gantry_tilt/02:sq384_64_64", "CT", f"{_GE}/02.dcm", 1, (64, 64, 384), ""),
    ("ct/GE_gantry_tilt/13:sq352_80_80", "CT", f"{_GE}/13.dcm", 12, (80, 80, 352), ""),
    ("ct/GE_gantry_tilt/17:sq352_80_80", "CT", f"{_GE}/17.dcm", 16, (80, 80, 352), ""),
    ("ct/eCT:0:sq320_96_96", "CT", _ECT, 0, (96, 96, 320), ""),
    ("ct/GE_gantry_tilt/09:lung", "CT", f"{_GE}/09.dcm", 8, None, "lung"),
    ("ct/GE_gantry_tilt/16:brain", "CT", f"{_GE}/16.dcm", 15, None, "brain"),
    ("ct/GE_gantry_tilt/06:bone500", "CT", f"{_GE}/06.dcm", 5, None, "bone500"),
    ("ct/eCT:1:soft40", "CT", _ECT, 1, None, "soft40"),
    *((f"mr/MR2_UNCR:sq{s}_{r}_{c}", "MR", _MR2, -1, (r, c, s), "")
      for r, c, s in ((140, 260, 352), (420, 200, 352), (600, 420, 352), (200, 520, 352),
                      (0, 120, 288), (300, 0, 288), (700, 60, 288), (480, 600, 288))),
    *((f"endovis2017/frame:sq{s}_{r}_{c}", "endoscopy", _EV, -1, (r, c, s), "")
      for r, c, s in ((560, 100, 480), (40, 1000, 520), (560, 1400, 480))),
    *((f"kvasir/{k}:sq{c[2]}_{c[0]}_{c[1]}", "endoscopy", f"{_KV}/{k}.jpg", -1, c, "") for k, c in KVASIR),
)
NUMBER = {s[0]: n for n, s in enumerate(SOURCES)}

# images (not views) that families 1-10 also used, and by whom (read from their builders)
OVERLAP = {
    _SIIM: "families 4-10 (other crops)", _CXR: "families 4, 9, 10 (other crops)",
    _NIH: "families 3, 7-10 (other crops)", _TBX: "families 3, 7-10 (other crops)",
    "retina/DRIVE/test/images": "families 3-10 (other crops / whole)", _US1: "families 3, 7-10 (other crops)",
    _GE: "families 3-10 (other slices, windows or crops)", _ECT: "family 10 (whole, other windows)",
    _MR2: "families 3-10 (other crops)", _EV: "families 9, 10 (other crops)",
    _KV: "families 9, 10 (whole frames; a 400 px crop at 64 / 110)",
}


def over_exposed(n: int) -> bool:
    """Exposure direction of view ``n``: over for odd view numbers, under for even ones."""
    return n % 2 == 1


def check_held_out(root) -> None:
    """The shared held-out check (``quality_family_build.check_held_out``) over every source (the
    module's SOURCES as they are now: a test adds a training image to them)."""
    qfb.check_held_out(root, [s[:5] for s in SOURCES], FAMILY, training_paths)


VIEWS = qfb.ViewFamily(q=q11, family=FAMILY, seed=SEED, tag="indep11", sources=SOURCES, windows=WINDOWS,
                      clean_views=CLEAN_VIEWS, hu_slice=b10.hu_slice, load_native=load_native,
                      check=lambda r: check_held_out(r), mirror=lambda img: img[:, ::-1], over_exposed=over_exposed)
# the family's names, bound to the shared construction (quality_family_build.ViewFamily)
window, implementation = VIEWS.window, VIEWS.implementation
view_of, make, samples, n_expected = VIEWS.view_of, VIEWS.make, VIEWS.samples, VIEWS.n_expected


def main(argv=None) -> int:
    return VIEWS.main(__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
