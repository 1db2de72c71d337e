"""us-biometry: AoP/HSD geometry on synthetic masks with known answers, segmentation and AoP floors
on fixed held-out PSFHS frames, plane score on images that are not transperineal frames, cine
best frame, CLI outputs, calibration, and AoP corrections stored as human versions."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from app.data.types import LoupeError, Volume
from backends.ultrasound.biometry import (
    AopLines,
    aop_from_lines,
    biometry_from_lines,
    biometry_from_masks,
)

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ geometry with known answers

def synthetic(ps_inf=(140.0, 40.0), ps_len=60.0, ps_angle_deg=20.0, head_c=(150.0, 150.0), head_r=70.0,
              size=256):
    """As PSFHS frames look (probe on top): PS a thin ellipse whose right end ps_inf is its inferior
    end, its superior end ps_angle_deg below the horizontal to the left; FH a disc below it."""
    lab = np.zeros((size, size), np.uint8)
    a = np.radians(ps_angle_deg)
    sup = (ps_inf[0] - ps_len * np.cos(a), ps_inf[1] + ps_len * np.sin(a))
    c = ((ps_inf[0] + sup[0]) / 2, (ps_inf[1] + sup[1]) / 2)
    cv2.ellipse(lab, (round(c[0] * 16), round(c[1] * 16)), (round(ps_len / 2 * 16), 5 * 16),
                -ps_angle_deg, 0, 360, 1, -1, shift=4)
    cv2.circle(lab, (round(head_c[0] * 16), round(head_c[1] * 16)), round(head_r * 16), 2, -1, shift=4)
    return lab, np.array(sup), np.array(ps_inf)


def expected_aop(sup, inf, centre, r) -> float:
    """Angle between the PS axis (towards its superior end) and the far tangent to a circle."""
    u, w = sup - inf, np.asarray(centre) - inf
    to_centre = np.degrees(np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w)))
    return float(to_centre + np.degrees(np.arcsin(r / np.linalg.norm(w))))


def expected_hsd(sup, inf, centre, r) -> float:
    """Distance from inf along the perpendicular to the PS axis (head side) to the circle."""
    u = (inf - sup) / np.linalg.norm(inf - sup)
    n = np.array([-u[1], u[0]])
    w = np.asarray(centre) - inf
    n = n if n @ w >= 0 else -n
    b = n @ w
    return float(b - np.sqrt(b * b - (w @ w - r * r)))


@pytest.mark.parametrize("ps_angle,head_c,head_r", [(20.0, (150.0, 150.0), 70.0), (35.0, (175.0, 160.0), 60.0),
                                                    (10.0, (125.0, 165.0), 75.0), (5.0, (185.0, 130.0), 60.0)])
@pytest.mark.parametrize("definition", ["iugc", "moments"])
def test_aop_and_hsd_on_synthetic_masks_match_the_analytic_answer(ps_angle, head_c, head_r, definition):
    """Both readings (the IUGC contour ellipse, the product's moment ellipse) give the analytic AoP
    of a PS ellipse and a round head: the far (leading-edge) tangent from the PS inferior end."""
    lab, sup, inf = synthetic(ps_angle_deg=ps_angle, head_c=head_c, head_r=head_r)
    b = biometry_from_masks(lab, definition=definition)
    assert 90 < b.aop_deg < 160   # the range of real AoPs, so the cases are plausible
    assert b.aop_deg == pytest.approx(expected_aop(sup, inf, head_c, head_r - 0.5), abs=1.0)  # contour: pixel centres
    assert b.hsd_px == pytest.approx(expected_hsd(sup, inf, head_c, head_r), abs=1.5)
    assert np.allclose(b.lines.ps_inferior, inf, atol=2.0)


def test_aop_from_lines_is_exact_and_hsd_is_scaled_per_axis():
    lines = AopLines((0.0, 0.0), (100.0, 0.0), (100.0 + 50 * np.cos(np.radians(60)), 50 * np.sin(np.radians(60))))
    assert aop_from_lines(lines) == pytest.approx(120.0, abs=1e-6)
    fh = np.zeros((200, 300), bool)
    fh[40:, 80:160] = True                       # head 40 px below the PS inferior end
    b = biometry_from_lines(lines, fh, mm_per_px=(0.5, 0.25))
    assert b.hsd_px == pytest.approx(40.0, abs=0.5)
    assert b.hsd_mm == pytest.approx(10.0, abs=0.2)   # 40 px along y at 0.25 mm/px


def test_missing_structures_give_no_angle_but_a_reason():
    lab = np.zeros((256, 256), np.uint8)
    cv2.circle(lab, (128, 150), 60, 2, -1)
    b = biometry_from_masks(lab)
    assert b.aop_deg is None and any("pubic symphysis" in p for p in b.problems)


# ------------------------------------------------------------------ the trained model on held-out frames

SUBSET = slice(0, 207, 6)   # every 6th test frame (35 frames), fixed
# floors a little under what the shipped model gives on this subset (measured: FH 0.952, PS 0.870,
# AoP MAE 6.19 deg with the IUGC reference and the product's reading; whole test split: 0.953, 0.870, 5.79)
FLOOR_FH, FLOOR_PS, CEIL_AOP_MAE = 0.94, 0.86, 6.5
GOAL_AOP_MAE = 6.0          # the goal, checked on the whole test split


@pytest.fixture(scope="module")
def heldout(data_dir):
    from backends.ultrasound.analyze import analyse_frames
    from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir

    split = load_split()
    ids = split["test"][SUBSET]
    assert not set(ids) & set(split["train"]) and not set(ids) & set(split["dev"])
    pairs = [load_pair(psfhs_dir(data_dir), i) for i in ids]
    return pairs, analyse_frames([p[0] for p in pairs])


def test_segmentation_and_aop_floors_on_heldout_frames(heldout):
    from backends.ultrasound.metrics import dice

    pairs, res = heldout
    d_ps = np.mean([dice(r.labels == 1, ref == 1) for (_, ref), r in zip(pairs, res)])
    d_fh = np.mean([dice(r.labels == 2, ref == 2) for (_, ref), r in zip(pairs, res)])
    errs = []
    for (_, ref), r in zip(pairs, res):
        a_ref, a_pred = biometry_from_masks(ref).aop_deg, r.bio.aop_deg   # IUGC reference vs the product's reading
        errs.append(abs(a_ref - a_pred) if a_pred is not None else 90.0)   # a missing angle counts as 90 deg off
    usable = np.mean([r.plane.usable for r in res])
    print(f"held-out subset: Dice PS {d_ps:.3f} FH {d_fh:.3f} AoP MAE {np.mean(errs):.2f} usable {usable:.2f}")
    assert d_fh >= FLOOR_FH
    assert d_ps >= FLOOR_PS
    assert np.mean(errs) <= CEIL_AOP_MAE
    assert usable >= 0.8


def test_aop_goal_on_the_whole_test_split(data_dir):
    """The headline: AoP MAE <= 6 deg on all 207 test frames (never used for training, checkpoint or
    reading choice), the product's reading of its masks against the IUGC reference on the manual masks."""
    from backends.ultrasound.analyze import analyse_frames
    from backends.ultrasound.metrics import dice
    from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir

    pairs = [load_pair(psfhs_dir(data_dir), i) for i in load_split()["test"]]
    res = analyse_frames([p[0] for p in pairs])
    errs = [90.0 if r.bio.aop_deg is None else abs(r.bio.aop_deg - biometry_from_masks(ref).aop_deg)
            for (_, ref), r in zip(pairs, res)]
    d_ps = np.mean([dice(r.labels == 1, ref == 1) for (_, ref), r in zip(pairs, res)])
    print(f"test split: {len(errs)} frames, AoP MAE {np.mean(errs):.2f}, Dice PS {d_ps:.3f}")
    assert len(errs) == 207
    assert np.mean(errs) <= GOAL_AOP_MAE
    assert d_ps >= 0.85


# ------------------------------------------------------------------ not a transperineal frame

def _not_transperineal(data_dir):
    from PIL import Image

    rng = np.random.default_rng(0)
    fundus = np.asarray(Image.open(data_dir / "retina/DRIVE/test/images/01_test.tif").convert("RGB"))
    import pydicom
    ct = pydicom.dcmread(str(data_dir / "dicom/dcm_qa_ct_philips_head_140/dicom/I630")).pixel_array
    cxr = np.asarray(Image.open(data_dir / "xray_iqa/cxr/00000001_000.png").convert("L"))
    return {"noise": rng.integers(0, 256, (256, 256)).astype(np.uint8), "fundus": fundus, "ct": ct,
            "chest x-ray": cxr, "blank": np.zeros((256, 256), np.uint8)}


def test_images_that_are_not_transperineal_get_a_low_score_and_no_angle(data_dir):
    from backends.ultrasound.analyze import analyse_frames

    imgs = _not_transperineal(data_dir)
    for name, r in zip(imgs, analyse_frames(list(imgs.values()))):
        d = r.to_dict()
        assert d["plane_score"] < 0.5, (name, d["plane_score"], d["plane_terms"])
        assert d["aop_deg"] is None and d["hsd_px"] is None, name
        assert any("transperineal" in w for w in d["warnings"]), name


def test_a_3d_volume_is_refused_with_one_clear_line():
    from backends.base import BackendInput
    from backends.ultrasound.backend import frames_of

    vol = Volume(np.zeros((5, 64, 64), np.int16), np.eye(4), source="ct.nii.gz")
    with pytest.raises(LoupeError, match="5-slice volume"):
        frames_of(BackendInput("volume", volume=vol), 10)


# ------------------------------------------------------------------ cine: per-frame values and best frame

def _run_backend(vol, path=None, out_dir=None):
    from backends.base import BackendInput, RunContext, run_pipeline
    from backends.ultrasound.backend import UsBiometry
    from backends.ultrasound.spec import SPEC

    inp = BackendInput.from_volume(vol)
    inp.path = path
    params = SPEC.parse_params({})
    return run_pipeline(SPEC, UsBiometry(), inp, params, RunContext(SPEC, params, out_dir=out_dir))


def test_cine_gives_per_frame_values_and_suggests_a_real_transperineal_frame(data_dir, heldout):
    pairs, res = heldout
    good = [k for k, r in enumerate(res) if r.plane.usable][:3]
    noise = np.random.default_rng(1).integers(0, 256, (256, 256)).astype(np.uint8)
    frames = [noise, pairs[good[0]][0], np.zeros((256, 256), np.uint8), pairs[good[1]][0], pairs[good[2]][0]]
    vol = Volume(np.stack(frames)[:, None], np.eye(4), meta={"modality": "US"}, time_axis=True)
    doc = _run_backend(vol).documents["biometry"]
    assert len(doc["frames"]) == 5
    assert doc["frames"][0]["aop_deg"] is None and doc["frames"][2]["aop_deg"] is None
    assert doc["best_frame"] in (1, 3, 4)
    scores = [f["plane_score"] for f in doc["frames"]]
    assert doc["best_frame"] == int(np.argmax(scores))
    assert doc["aop_deg"] == doc["frames"][doc["best_frame"]]["aop_deg"]


def test_echo_cine_is_read_per_frame_and_not_called_transperineal(data_dir):
    from app.jobs.inputs import open_input

    path = data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm"
    inp = open_input(path)
    doc = _run_backend(inp.volume, str(path)).documents["biometry"]
    assert len(doc["frames"]) == 10 and doc["best_frame"] is None
    assert all(f["aop_deg"] is None for f in doc["frames"])
    assert any("no frame of this cine" in w for w in doc["warnings"])


# ------------------------------------------------------------------ CLI

def test_cli_writes_mask_at_input_size_and_biometry_json(data_dir, tmp_path):
    from PIL import Image

    from backends.ultrasound.psfhs import load_split

    fid = load_split()["test"][0]
    img = data_dir / "ultrasound/PSFHS_png/images" / f"{fid}.png"
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "infer", "us-biometry", str(img), "-o", str(out),
                        "-q", "--no-cache"], capture_output=True, text=True, timeout=240, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    mask = np.asarray(Image.open(out / "us_mask.png"))
    assert mask.shape == (256, 256) and set(np.unique(mask)) <= {0, 1, 2}
    doc = json.loads((out / "biometry.json").read_text())
    for k in ("aop_deg", "hsd_px", "hsd_mm", "plane_score", "model_version"):
        assert k in doc
    assert doc["hsd_mm"] is None and doc["calibrated"] is False   # a PNG has no calibration
    assert doc["model_version"].startswith("psfhs_unet iters=")


def test_cli_on_a_missing_file_says_so_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "infer", "us-biometry", str(tmp_path / "nope.png"),
                        "-o", str(tmp_path / "o")], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "nope.png" in r.stderr


# ------------------------------------------------------------------ calibration and cine timing

def test_calibrated_philips_still_and_uncalibrated_echo_cine(data_dir):
    from app.jobs.inputs import open_input
    from app.ultrasound.cine import UsCine

    p = data_dir / "ultrasound/dicom_us/OBXXXX1A.dcm"
    cine = UsCine(open_input(p).volume, p)
    assert cine.calibrated and len(cine) == 1 and len(cine.regions) == 1   # the M-mode/Doppler strip has no cm x cm
    c = cine.regions[0]
    assert c.mm_per_px_x == pytest.approx(0.2623, abs=1e-4)
    assert c.zero_row == pytest.approx(60 + 36)                             # ReferencePixelY0 = 36, value 0 cm
    assert c.depth_mm == pytest.approx((518 + 1 - 96) * 0.2622878766, abs=0.01)
    assert round(c.depth_mm / 10) == 11                                      # the scanner's burned-in "11cm"
    assert cine.length_mm((200, 100), (200, 140)) == pytest.approx(40 * 0.2622878766, abs=1e-6)
    assert cine.length_mm((200, 100), (200, 560)) is None                 # leaves the region: no mm
    p = data_dir / "ultrasound/dicom_us/OBXXXX1A_2frame.dcm"
    two = UsCine(open_input(p).volume, p)                                 # a calibrated cine: regions hold for every frame
    assert len(two) == 2 and two.calibrated and two.regions[0].depth_mm == pytest.approx(c.depth_mm)
    assert not np.array_equal(two.frame(0), two.frame(1))
    p = data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm"
    echo = UsCine(open_input(p).volume, p)
    assert not echo.calibrated and len(echo) == 10 and echo.frame_ms == pytest.approx(76.0)
    assert "UNCALIBRATED" in echo.calibration_text()


# ------------------------------------------------------------------ AoP corrections with audit

def test_moving_a_handle_updates_aop_and_hsd_and_is_saved_as_a_human_version(tmp_path):
    from app.layers import Provenance
    from app.review.store import ReviewStore
    from app.ultrasound.aop_edit import AopEdit, save_ai, save_human

    lab, _, _ = synthetic()
    b = biometry_from_masks(lab)
    edit = AopEdit(b.lines, lab == 2, (0.2, 0.2))
    before_aop, before_hsd = edit.result.aop_deg, edit.result.hsd_px
    p = np.asarray(edit.lines.ps_inferior)
    edit.move("ps_superior", p[0] - 60.0, p[1])                 # PS axis now horizontal
    assert edit.result.aop_deg != pytest.approx(before_aop, abs=1.0)
    assert edit.result.aop_deg == pytest.approx(aop_from_lines(edit.lines), abs=1e-9)
    assert edit.result.hsd_px != pytest.approx(before_hsd, abs=0.5)
    assert edit.result.hsd_mm == pytest.approx(edit.result.hsd_px * 0.2, abs=1e-6)
    store = ReviewStore(tmp_path / "review.sqlite")
    original = AopEdit(b.lines, lab == 2, (0.2, 0.2))
    layer, ai = save_ai(store, original, np.eye(4), Provenance.backend("us-biometry", "test"))
    info = save_human(store, edit, np.eye(4), layer.id, "dr.a")
    assert info.source_kind == "human" and info.parent_version == ai.version_id
    stored = store.load_layer(layer.id)
    assert stored.shapes[0].attrs["aop_deg"] == pytest.approx(edit.result.aop_deg)
    assert [d.decision for d in store.decisions(layer.id)] == ["edit"]
    assert [a.action for a in store.audit(layer.id)][-2:] == ["save_version", "edit"]
    with pytest.raises(LoupeError):
        save_human(store, original, np.eye(4), layer.id, "dr.a")   # nothing moved: nothing to save
    # without the run's signed document the "AI" lines are an import naming the claim; with it, the
    # backend's; a document changed after the run is not vouched for
    from app.jobs.attest import document_signature
    assert ai.source_kind == "file"
    doc = {"aop_deg": before_aop, "model_version": "test"}
    sig = document_signature("biometry", doc)
    _, signed = save_ai(store, original, np.eye(4), Provenance.backend("us-biometry", "test"), made_from=(doc, sig))
    assert signed.source_kind == "backend"
    _, forged = save_ai(store, original, np.eye(4), Provenance.backend("us-biometry", "test"),
                        made_from=({**doc, "aop_deg": 99.0}, sig))
    assert forged.source_kind == "file"


def test_core_has_no_qt_and_the_pane_has_no_torch():
    code = ("import sys; import backends.ultrasound.backend, backends.ultrasound.analyze, app.ultrasound.cine, "
            "app.ultrasound.aop_edit; assert not [m for m in sys.modules if m.startswith('PySide6')]; "
            "import viewers.ultrasound.pane, app.shell.panels.ultrasound_panel; assert 'torch' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr[-1500:]


def test_hsd_in_mm_uses_the_scale_of_the_region_holding_the_symphysis(heldout):
    from app.scene.measure import UsRegion
    from backends.ultrasound.analyze import analyse_frames
    from backends.ultrasound.backend import region_scale

    pairs, res = heldout
    k = next(i for i, r in enumerate(res) if r.plane.usable and r.bio.hsd_px is not None)
    inside = UsRegion(0, 0, 255, 255, 0.02, 0.03, "cm", "cm", 1)           # 0.2 x 0.3 mm per pixel
    r = analyse_frames([pairs[k][0]], region_scale([inside]))[0]
    d = np.subtract(r.bio.lines.hsd_end, r.bio.lines.ps_inferior) * (0.2, 0.3)
    assert r.bio.hsd_mm == pytest.approx(float(np.hypot(*d)), rel=1e-6)
    elsewhere = UsRegion(300, 300, 400, 400, 0.02, 0.03, "cm", "cm", 1)    # no region holds the PS: no mm
    assert analyse_frames([pairs[k][0]], region_scale([elsewhere]))[0].bio.hsd_mm is None
