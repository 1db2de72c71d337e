"""The TWELFTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent12.py`` (Tukey contaminated-Gaussian,
negative-binomial and Butterworth band-pass noise; Deriche recursive, anisotropic Wells triple-box and
diamond-pillbox defocus; Bartlett / Akima, point / nearest / median and cell-mean / smoothing-spline
resampling; curtate-cycloid, tractrix and superellipse camera paths; own Walsh-Hadamard and block-KLT
codecs and VP8 (libvpx) intra compression; erf, Kubelka-Munk and signed-power contrast; Insomniac (Day),
Reinhard-Devlin photoreceptor and Mitsunaga-Nayar polynomial exposure, under- and over-exposure as
separate halves). A REPORT construction: committed FROZEN ("V17 frozen: family 12 construction") before
any model was scored on it; score it once per released model and never tune a method on it.

Images are fed as the product feeds them (family 4's ``load_native``: the product's ``open_path`` ->
the quality backend's ``_slice``; then ``assess.analysis_image`` through family 4's ``analysis``)
BEFORE degrading, except the CT views marked with a window: those are the slice's Hounsfield units
(family 10's ``hu_slice``) through a clinical window (subdural 75 / 215, stroke 40 / 40, soft tissue
50 / 350, temporal bone 600 / 2800 HU), then ``analysis``; the modality passed to the assessor is the
loader's ("CT").

Sources: 48 held-out views, 8 per modality (X-ray, fundus, ultrasound, CT, MR, endoscopy), none of
them a view (image + crop + window) any family 1-11 used (a test checks families 3-11; families 1-2
drew whole images of the training split); images are shared where the data hold no other held-out
image (``OVERLAP``). X-ray: two SIIM CR crops (640 px), two NIH 00027426, three TBX11K tb0007 and one
torchxrayvision 16747_3_1 crop at new offsets / sizes;
fundus: DRIVE test 03-10 in 320 px UPPER crops (odd: upper left, even: upper right); ultrasound: eight
PSFHS frames of the held-out block that no family took; CT: GE gantry-tilt slices 01 and 12 whole and
09 and 15 in new crops, full-range through the product's HU scaling; GE 14 at a subdural window, GE 19 at
a stroke window, GE 24 at a soft-tissue window and GE 10 at a temporal-bone window (no family windowed
those slices); MR: the uncompressed MR2 in eight crops at new offsets / sizes (the data hold no other
held-out MR larger than 64 px: the EPI and enhanced series are 64 x 64); endoscopy: four new crops of
the EndoVis 2017 frame (the clip's left / right_frame.png are label masks, not pictures) and four
Kvasir-SEG frames in new crops. Refused if any has become training data (family 4's
``training_paths`` through the shared ``check_held_out``; PSFHS frames must sit in the held-out last
30 %).

Per view: 2 clean samples (as cropped; mirrored left-right: a top-bottom flip was tried first and
dropped before any scoring, as an upside-down view that the product may rightly call "rotation") and
each of the 7 construction groups ONCE on the view as cropped; the implementation taken in turn (view
number + group number, so each modality gets each implementation about equally), its parameters from a seed fixed by (SEED, source,
group). Exposure: OVER for odd view numbers, UNDER for even ones (4 + 4 per modality; each
implementation in both directions), so under- and over-exposure are separate halves of the group. No
stacked pairs. 48 x (2 + 7) = 432 samples (96 clean).

Severity: family 4's middle level (see ``quality_independent12.py``), and the VISIBILITY RULE, fixed
before any scoring (family 9's, imported: ``build_quality_independent9_set.visible``): every degraded
sample is at PSNR <= 38 dB or SSIM <= 0.95 against its clean view; the build fails otherwise. Views
that failed it on the images alone were replaced before anything was scored (a PSNR / SSIM table of
the degradations on candidate views, no model involved): SIIM crops (384, 0, 448) and (576, 576, 448),
NIH (256, 0, 256) and then (64, 0, 416), the lossless NEMA CR RG3_J2KR at (300, 1000, 640) (and at
(200, 700, 1024) / (600, 300, 960): its smooth 1760 px image kept compression at 39-41 dB), GE 28 in a
352 px crop at (64, 96) and the EndoVis corner crop (0, 0, 440) (low resolution, compression or defocus
at 38.3-45.5 dB, SSIM 0.956-0.995), replaced by SIIM 640 px crops, NIH (96, 96, 416), tb0007 (0, 160,
352), GE 09 in a 384 px crop at (64, 64) and EndoVis (0, 200, 640) (GE 28 whole was tried first: family 7's
view, caught by the builder test; GE 26 at (80, 80, 352) failed the rule at 40-48 dB).
``--cache DIR`` keeps the samples (.npz per source); ``set_hash`` is the SHA-256 of every sample (meta
and float32 pixels) in order: the same seed gives the same hash.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent12_set.py [--cache /tmp/qi12]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent10_set as b10  # noqa: E402
import quality_family_build as qfb  # noqa: E402
import quality_independent12 as q12  # noqa: E402
from build_quality_independent4_set import load_native, training_paths  # noqa: E402
from build_quality_independent9_set import VISIBLE_PSNR_DB, VISIBLE_SSIM, sample_digest, set_hash, visible  # noqa: E402,F401

FAMILY = 12
SEED = 2026120312     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-mirrored")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR", "endoscopy")
WINDOWS = {"subdural": (75.0, 215.0), "stroke": (40.0, 40.0), "soft50": (50.0, 350.0),
           "temporal": (600.0, 2800.0)}    # (centre, width) HU

_GE = "dicom/dcm_qa_ct_GE_gantry_tilt/dicom"
_MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
_SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
_CXR = "xray_iqa/cxr/16747_3_1.jpg"
_NIH = "xray_iqa/cxr/00027426_000.png"
_TBX = "xray_iqa/cxr/tb0007.png"
_EV = "endoscopy/endovis2017_clip/frame.png"
_KV = "endoscopy/Kvasir-SEG/images"
PSFHS_FRAMES = ("04693", "04754", "04821", "04876", "04927", "04985", "05037", "05092")
KVASIR = (("cju0qkwl35piu0993l0dewei2", (100, 180, 360)), ("cju0qoxqj9q6s0835b43399p4", (500, 200, 560)),
          ("cju0roawvklrq0799vmjorwfv", (60, 60, 420)), ("cju0rx1idathl0835detmsp84", (128, 200, 384)))

# (source id, modality group, path under the data root, slice index, crop (row, col, size) or None,
#  CT window name or "")
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None, str], ...] = (
    ("siim_cr:sq640_0_384", "X-ray", _SIIM, -1, (0, 384, 640), ""),
    ("siim_cr:sq640_384_0", "X-ray", _SIIM, -1, (384, 0, 640), ""),
    ("nih_00027426:sq352_160_160", "X-ray", _NIH, -1, (160, 160, 352), ""),
    ("tbx_tb0007:sq352_0_160", "X-ray", _TBX, -1, (0, 160, 352), ""),
    ("tbx_tb0007:sq320_128_192", "X-ray", _TBX, -1, (128, 192, 320), ""),
    ("tbx_tb0007:sq288_224_0", "X-ray", _TBX, -1, (224, 0, 288), ""),
    ("cxr/16747_3_1:sq512_300_100", "X-ray", _CXR, -1, (300, 100, 512), ""),
    ("nih_00027426:sq416_96_96", "X-ray", _NIH, -1, (96, 96, 416), ""),
    *((f"drive/{i:02d}_test.tif:{'upperleft320' if i % 2 else 'upperright320'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (20, 30, 320) if i % 2 else (20, 215, 320), "")
      for i in range(3, 11)),
    *((f"psfhs/{f}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{f}.png", -1, None, "") for f in PSFHS_FRAMES),
    ("ct/GE_gantry_tilt/01:whole", "CT", f"{_GE}/01.dcm", 0, None, ""),
    ("ct/GE_gantry_tilt/12:whole", "CT", f"{_GE}/12.dcm", 11, None, ""),
    ("ct/GE_gantry_tilt/09:sq384_64_64", "CT", f"{_GE}/09.dcm", 8, (64, 64, 384), ""),
    ("ct/GE_gantry_tilt/15:sq352_96_64", "CT", f"{_GE}/15.dcm", 14, (96, 64, 352), ""),
    ("ct/GE_gantry_tilt/14:subdural", "CT", f"{_GE}/14.dcm", 13, None, "subdural"),
    ("ct/GE_gantry_tilt/19:stroke", "CT", f"{_GE}/19.dcm", 18, None, "stroke"),
    ("ct/GE_gantry_tilt/24:soft50", "CT", f"{_GE}/24.dcm", 23, None, "soft50"),
    ("ct/GE_gantry_tilt/10:temporal", "CT", f"{_GE}/10.dcm", 9, None, "temporal"),
    *((f"mr/MR2_UNCR:sq{s}_{r}_{c}", "MR", _MR2, -1, (r, c, s), "")
      for r, c, s in ((100, 360, 384), (360, 100, 384), (520, 360, 384), (360, 620, 384),
                      (20, 700, 320), (700, 300, 320), (250, 250, 448), (600, 40, 320))),
    *((f"endovis2017/frame:sq{s}_{r}_{c}", "endoscopy", _EV, -1, (r, c, s), "")
      for r, c, s in ((0, 200, 640), (300, 650, 560), (600, 800, 440), (0, 1480, 440))),
    *((f"kvasir/{k}:sq{c[2]}_{c[0]}_{c[1]}", "endoscopy", f"{_KV}/{k}.jpg", -1, c, "") for k, c in KVASIR),
)
NUMBER = {s[0]: n for n, s in enumerate(SOURCES)}

# images (not views) that families 1-11 also used, and by whom (read from their builders)
OVERLAP = {
    _SIIM: "families 4-11 (other crops)", _CXR: "families 4, 9-11 (other crops)",
    _NIH: "families 3, 7-11 (other crops)", _TBX: "families 3, 7-11 (other crops)",
    "retina/DRIVE/test/images": "families 3-11 (other crops / whole)",
    _GE: "families 3-11 (other slices, windows or crops)",
    _MR2: "families 3-11 (other crops)", _EV: "families 9-11 (other crops)",
    _KV: "families 9-11 (whole frames; other crops)",
}


def over_exposed(n: int) -> bool:
    """Exposure direction of view ``n``: over for odd view numbers, under for even ones."""
    return n % 2 == 1


def check_held_out(root) -> None:
    """The shared held-out check (``quality_family_build.check_held_out``) over every source (the
    module's SOURCES as they are now: a test adds a training image to them)."""
    qfb.check_held_out(root, [s[:5] for s in SOURCES], FAMILY, training_paths)


VIEWS = qfb.ViewFamily(q=q12, family=FAMILY, seed=SEED, tag="indep12", sources=SOURCES, windows=WINDOWS,
                      clean_views=CLEAN_VIEWS, hu_slice=b10.hu_slice, load_native=load_native,
                      check=lambda r: check_held_out(r), mirror=lambda img: img[:, ::-1], over_exposed=over_exposed)
# the family's names, bound to the shared construction (quality_family_build.ViewFamily)
window, implementation = VIEWS.window, VIEWS.implementation
view_of, make, samples, n_expected = VIEWS.view_of, VIEWS.make, VIEWS.samples, VIEWS.n_expected


def main(argv=None) -> int:
    return VIEWS.main(__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
