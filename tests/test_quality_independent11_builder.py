"""The eleventh blind quality family (benchmarks/quality_independent11.py and its builder) does what it
says: every implementation degrades a real image visibly, in the way its type means, at family 4's
middle severity, deterministically; the compression group uses no FFmpeg DCT codec; exposure comes
in separate under / over halves; the set is built from 48 held-out views (8 per modality, CT
full-range and at clinical windows), none a view of families 1-10, labelled by what was done, and
the same seed gives byte-identical samples. These test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent11_set as b11  # noqa: E402
import quality_independent11 as q11  # noqa: E402

TRUTH = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def views(data_dir):
    return {"ct_soft": b11.view_of(data_dir, "ct/eCT:1:soft40")[0].astype(np.float64)[:320, :320],
            "kvasir": b11.view_of(data_dir, "kvasir/cju0qx73cjw570799j4n5cjze:sq400_0_219")[0].astype(np.float64)}


def _fine(x) -> float:
    """Energy of the finest detail: the image minus its 3 x 3 box mean."""
    from scipy.ndimage import uniform_filter
    return float(np.mean((x - uniform_filter(x, 3, mode="nearest")) ** 2))


@pytest.mark.parametrize("group", q11.GROUPS)
def test_each_implementation_is_in_band_visible_and_of_its_type(views, group):
    lo, hi = q11.band(group)
    for i, how in enumerate(q11.IMPLEMENTATIONS[group]):
        for j, (name, x) in enumerate(views.items()):
            over = (i + j) % 2 == 0
            y, tag, m = q11.apply(x, group, np.random.default_rng(11), how, over=over)
            at = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how), at
            assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0, at
            assert lo <= m <= hi, (at, m, (lo, hi))
            assert b11.visible(x, y)[0], (at, b11.visible(x, y))
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, at          # the same picture
            d = np.asarray(y, np.float64) - x
            if group == "noise":
                assert _fine(d) > 0.2 * np.var(d), at                          # grainy, not a shift
            elif group in ("defocus", "low_resolution", "motion_blur"):
                assert _fine(y) < 0.6 * _fine(x), at
            elif group == "jpeg":
                assert abs(m) <= 1.6 and np.abs(d).max() > 0, at
            elif group == "contrast":
                assert 0.4 < np.std(y) / np.std(x) < 0.6 and abs(np.mean(d)) < 0.08, at
            elif group == "exposure":
                assert abs(np.mean(d)) > 0.02 and (np.mean(d) > 0) == over and ("-over-" in tag) == over, at


def test_the_constructions_are_what_they_claim():
    rng = np.random.default_rng(0)
    z = rng.random((64, 64))
    # the Young - van Vliet filter is a Gaussian of its sigma; the radial PSFs are normalised, round;
    # the gamma ring has a dip at its centre
    k = q11.yvv_psf(2.0)
    r = np.arange(k.shape[0]) - k.shape[0] // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / 8.0)
    assert abs(k.sum() - 1) < 1e-9 and np.abs(k - g / g.sum()).max() < 0.1 * k.max()   # a 3-pole approximation
    for k in (q11.biweight_psf(4.0), q11.gamma_ring_psf(1.0, 2.5)):
        assert abs(k.sum() - 1) < 1e-12 and k.min() >= 0 and np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])
    k = q11.gamma_ring_psf(1.0, 2.5)
    assert k[k.shape[0] // 2, k.shape[1] // 2] < 0.8 * k.max()
    # the Laplacian pyramid reconstructs exactly; the own wavelet codec is near-lossless at a tiny step
    # and loses more at a larger one
    assert np.allclose(q11.collapse(q11.burt_adelson(z[:61, :57], 4)), z[:61, :57], atol=1e-12)
    u8 = (z * 255).round().astype(np.uint8)
    assert np.abs(q11.wavelet_codec(u8, 0.05) * 255 - u8).max() <= 1
    assert q11.q4.psnr(u8 / 255, q11.wavelet_codec(u8, 200.0)) < q11.q4.psnr(u8 / 255, q11.wavelet_codec(u8, 20.0))
    # AVIF and VC-2 round trips keep the shape and lose less at a higher setting
    x = np.clip(np.add.outer(np.linspace(0, 1, 70), np.linspace(0, 0.5, 90)) + 0.1 * z[:70, :64].mean(), 0, 1)
    x8 = q11.q4._u8(x * 0.7 + 0.3 * np.random.default_rng(1).random(x.shape))
    for run, lo, hi in ((q11.avif_codec, 5, 90), (q11.vc2_codec, 3 * 96 * 96 * 25, 20 * 96 * 96 * 25)):
        a, b = run(x8, lo), run(x8, hi)
        assert a.shape == b.shape == x8.shape
        assert q11.q4.psnr(x8 / 255, a) < q11.q4.psnr(x8 / 255, b), run.__name__
    # the tone curves are continuous and non-decreasing; the soft clip reaches 1
    v = np.linspace(0, 4, 4001)
    for y in (q11.ue4_filmic(v + 1e-4), q11.piecewise_power(v, 0.1, 0.08, 0.5, 0.55, 2.0), q11.cubic_softclip(v, 0.7)):
        assert np.all(np.diff(y) >= -1e-12) and np.abs(np.diff(y)).max() < 0.01
    assert q11.cubic_softclip(np.array([0.7, 1.6, 3.0]), 0.7).tolist() == pytest.approx([0.7, 1.0, 1.0])
    # the motion paths are not straight lines, and their kernels are normalised
    for make in (q11._gerono, q11._cardiac, q11._bspline_hann):
        p, w = make(np.random.default_rng(4))
        w = None if isinstance(w, str) else w
        k = q11.splat_kernel(8 * p / q11.q4.path_rms(p, w), w)
        assert abs(k.sum() - 1) < 1e-9 and np.linalg.matrix_rank((k > 1e-3 * k.max()).astype(float)) > 2, make.__name__
    # the exposure direction is what the builder asks for
    x = np.clip(np.random.default_rng(2).random((48, 48)) * 0.8 + 0.1, 0, 1)
    for how in q11.IMPLEMENTATIONS["exposure"]:
        for over in (True, False):
            tag = q11.apply(x, "exposure", np.random.default_rng(3), how, over=over)[1]
            assert tag.split("-")[1] == ("over" if over else "under"), tag


def test_same_seed_same_samples(views):
    x = views["ct_soft"][:128, :128]
    for g in q11.GROUPS:
        for how in q11.IMPLEMENTATIONS[g]:
            a = q11.apply(x, g, np.random.default_rng(3), how)
            b = q11.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q11.IMPLEMENTATIONS["noise"]:
        assert not np.array_equal(q11.apply(x, "noise", np.random.default_rng(3), how)[0],
                                  q11.apply(x, "noise", np.random.default_rng(4), how)[0]), how


def test_the_builder_labels_what_it_did_and_repeats_itself(data_dir, tmp_path):
    n = b11.NUMBER["ct/GE_gantry_tilt/16:brain"]
    first = list(b11.samples(data_dir, only=[n]))
    again = list(b11.samples(data_dir, tmp_path, only=[n]))
    cached = list(b11.samples(data_dir, tmp_path, only=[n]))
    assert b11.set_hash(first) == b11.set_hash(again) == b11.set_hash(cached)
    assert [s.measured for s in first if s.labels] == [s.measured for s in cached if s.labels]
    assert len(first) == len(b11.CLEAN_VIEWS) + len(q11.GROUPS)
    clean = [s for s in first if s.labels == ""]
    assert [s.how for s in clean] == list(b11.CLEAN_VIEWS) and all(s.kind == "none" for s in clean)
    assert np.array_equal(clean[1].image, clean[0].image[:, ::-1])
    assert all(s.modality == "CT" and s.modality_group == "CT" for s in first)
    deg = [s for s in first if s.labels]
    assert [s.group for s in deg] == list(q11.GROUPS)
    for s in deg:
        assert s.labels == TRUTH[s.group], s.how
        assert s.how.startswith(f"{s.group}:{b11.implementation(n, s.group)}-"), s.how
        assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
        lo, hi = q11.band(s.group)
        assert lo <= s.measured <= hi and s.severity == 2, s.how
        assert b11.visible(clean[0].image, s.image)[0], s.how
    exp = [s for s in deg if s.group == "exposure"][0]
    assert ("-over-" in exp.how) == b11.over_exposed(n)
    # the evaluator's binding yields the same samples (from the cache) and hashes every one it yields
    import hashlib

    import eval_quality_independent11 as e11
    h = hashlib.sha256()
    bound = list(e11.qfe.Bound(e11.b11, only=[n], digest=h).samples(data_dir, tmp_path, None))
    assert e11.FAMILY == 11 and len(bound) == len(first) and h.hexdigest() == b11.set_hash(first)
    rows = [{"group": "exposure", "how": f"exposure:x-{d}-k1", "call": c, "truth": "exposure"}
            for d, c in (("under", "exposure"), ("under", "none"), ("over", "exposure"))]
    by = e11.exposure_by_direction(rows)
    assert by["under"]["recall"] == 0.5 and by["over"]["recall"] == 1.0 and by["under"]["calls"] == {"exposure": 1, "none": 1}


def test_views_are_new_balanced_and_held_out(data_dir):
    ids = [s[0] for s in b11.SOURCES]
    assert len(ids) == len(set(ids)) == 48 and b11.n_expected() == 432
    assert all([s[1] for s in b11.SOURCES].count(g) == 8 for g in b11.MODALITY_GROUPS)
    ct = [s for s in b11.SOURCES if s[1] == "CT"]
    assert sum(bool(s[5]) for s in ct) == 4 and {s[5] for s in ct if s[5]} == set(b11.WINDOWS)
    assert set(b11.WINDOWS) == {"lung", "brain", "bone500", "soft40"}
    assert all(s[5] == "" for s in b11.SOURCES if s[1] != "CT")
    assert (b11.VISIBLE_PSNR_DB, b11.VISIBLE_SSIM) == (38.0, 0.95)          # the rule fixed before scoring
    b11.check_held_out(data_dir)
    from app.data.types import LoupeError
    for bad in (("cxr/tb0005", "X-ray", "xray_iqa/cxr/tb0005.png", -1, None, ""),           # a training image
                ("psfhs/03744.png", "ultrasound", "ultrasound/PSFHS_png/images/03744.png", -1, None, "")):
        orig = b11.SOURCES
        try:
            b11.SOURCES = orig + (bad,)
            with pytest.raises(LoupeError, match=bad[0]):
                b11.check_held_out(data_dir)
        finally:
            b11.SOURCES = orig
    for mg in b11.MODALITY_GROUPS:                  # each modality gets each implementation, both directions
        ns = [n for n, s in enumerate(b11.SOURCES) if s[1] == mg]
        for g in q11.GROUPS:
            assert {b11.implementation(n, g) for n in ns} == set(q11.IMPLEMENTATIONS[g]), (mg, g)
        assert sum(b11.over_exposed(n) for n in ns) == 4, mg
    for how in q11.IMPLEMENTATIONS["exposure"]:
        dirs = {b11.over_exposed(n) for n in range(48) if b11.implementation(n, "exposure") == how}
        assert dirs == {True, False}, how
    # no view (image + crop + CT window) of families 3-10; families 1 and 2 drew whole training-split images
    import build_quality_independent3_set as b3
    import build_quality_independent4_set as b4
    import build_quality_independent5_set as b5
    import build_quality_independent6_set as b6
    import build_quality_independent7_set as b7
    import build_quality_independent8_set as b8
    import build_quality_independent9_set as b9
    import build_quality_independent10_set as b10
    old = {(s[2], s[4], "") for b in (b4, b5, b6, b7, b8) for s in b.SOURCES}
    old |= {(s[2], s[4], s[5]) for b in (b9, b10) for s in b.SOURCES} | {(s[4], None, "") for s in b3.SOURCES}
    new = {(s[2], s[4], s[5]) for s in b11.SOURCES}
    assert not old & new, old & new
    # the PSFHS frames are ones no family took
    olds = {Path(s[2]).name for b in (b4, b5, b6, b7, b8, b9, b10) for s in b.SOURCES} | {Path(s[4]).name for s in b3.SOURCES}
    assert not olds & {Path(s[2]).name for s in b11.SOURCES if "PSFHS" in s[2]}


def test_implementations_are_new_and_not_in_the_product():
    import quality_independent3 as q3
    import quality_independent5 as q5
    import quality_independent6 as q6
    import quality_independent7 as q7
    import quality_independent8 as q8
    import quality_independent9 as q9
    import quality_independent10 as q10
    old = {h for q in (q3, q11.q4, q5, q6, q7, q8, q9, q10) for v in q.IMPLEMENTATIONS.values() for h in v}
    assert not old & {h for v in q11.IMPLEMENTATIONS.values() for h in v}
    assert all(len(v) == 3 for v in q11.IMPLEMENTATIONS.values())
    # no FFmpeg DCT codec in the compression group (an own wavelet codec, libavif / libaom, VC-2 wavelet)
    src = (BENCH / "quality_independent11.py").read_text(encoding="utf-8")
    for dct in ("mjpeg", "mpeg1video", "mpeg2video", "mpeg4", "msmpeg4", "h263", "h261", "wmv", "flv", "rv20",
                "speedhq", "libx26", "dnxhd", "prores"):
        assert f'"{dct}' not in src, dct
    root = BENCH.parent
    for d in ("backends", "app"):
        for f in (root / d).rglob("*.py"):
            assert "quality_independent11" not in f.read_text(encoding="utf-8", errors="replace"), f
