"""The twelfth blind quality family (benchmarks/quality_independent12.py and its builder) does what it
says: every implementation degrades a real image visibly, in the way its type means, at family 4's
middle severity, deterministically; the constructions are what they claim (Deriche ~ a smoothing
filter, Wells' boxes anisotropic, the diamond an L1 ball, the codecs lose more at a coarser step, the
tone curves monotone, the paths not straight); exposure comes in separate under / over halves; the set
is built from 48 held-out views (8 per modality, CT full-range and at clinical windows), none a view of
families 1-11, labelled by what was done, and the same seed gives byte-identical samples. These test
the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent12_set as b12  # noqa: E402
import quality_independent12 as q12  # noqa: E402

TRUTH = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def views(data_dir):
    return {"ct_soft": b12.view_of(data_dir, "ct/GE_gantry_tilt/24:soft50")[0].astype(np.float64),
            "kvasir": b12.view_of(data_dir, "kvasir/cju0roawvklrq0799vmjorwfv:sq420_60_60")[0].astype(np.float64)}


def _fine(x) -> float:
    """Energy of the finest detail: the image minus its 3 x 3 box mean."""
    from scipy.ndimage import uniform_filter
    return float(np.mean((x - uniform_filter(x, 3, mode="nearest")) ** 2))


@pytest.mark.parametrize("group", q12.GROUPS)
def test_each_implementation_is_in_band_visible_and_of_its_type(views, group):
    lo, hi = q12.band(group)
    for i, how in enumerate(q12.IMPLEMENTATIONS[group]):
        for j, (name, x) in enumerate(views.items()):
            over = (i + j) % 2 == 0
            y, tag, m = q12.apply(x, group, np.random.default_rng(12), how, over=over)
            at = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how), at
            assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0, at
            assert lo <= m <= hi, (at, m, (lo, hi))
            assert b12.visible(x, y)[0], (at, b12.visible(x, y))
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, at          # the same picture
            d = np.asarray(y, np.float64) - x
            if group == "noise":
                assert _fine(d) > 0.2 * np.var(d) and abs(np.mean(d)) < 0.02, at  # grainy, not a shift
            elif how == "point_nearest_median3":           # a staircase: runs of equal neighbours, not smooth
                fg = (x > 0.02)[:, 1:] & (x > 0.02)[:, :-1]
                same = [float(np.mean((v[:, 1:] == v[:, :-1])[fg])) for v in (x, np.asarray(y, np.float64))]
                assert same[1] > same[0] + 0.3, (at, same)
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
    # Deriche's filter: normalised, symmetric, peaked, wider at a smaller alpha
    k1, k2 = q12.deriche_psf(1.0), q12.deriche_psf(0.5)
    for k in (k1, k2):
        assert abs(k.sum() - 1) < 1e-9 and np.allclose(k, k.T, atol=1e-9) and np.allclose(k, k[::-1, ::-1], atol=1e-9)
        assert k[k.shape[0] // 2, k.shape[1] // 2] == k.max()
    assert q12.q4.kernel_rms(k2) > 1.5 * q12.q4.kernel_rms(k1)
    # Wells' cascade: normalised, and anisotropic (one axis narrower)
    ky, kx = q12.wells_psf(3.0, 0.7, 0.5, 0.5, True)
    assert abs(ky.sum() - 1) < 1e-12 and abs(kx.sum() - 1) < 1e-12
    sd = [float(np.sqrt(np.sum(k * (np.arange(k.size) - k.size // 2) ** 2))) for k in (ky, kx)]
    assert sd[1] < 0.7 * sd[0], sd
    # the diamond is an L1 ball: zero at the corners of its bounding square, flat inside
    k = q12.diamond_psf(5.0, 0.0)
    c = k.shape[0] // 2
    assert abs(k.sum() - 1) < 1e-12 and k[0, 0] == 0 and k[c, c] == pytest.approx(k[c, c + 2]) and k[c, 0] == 0
    # the codecs lose more at a coarser step; the WHT basis is orthonormal in sequency order
    H, seq = q12.walsh_hadamard_matrix()
    assert np.allclose(H @ H.T, np.eye(8)) and list(seq) == list(range(8))
    u8 = (np.clip(np.add.outer(np.linspace(0, 1, 70), np.linspace(0, 0.5, 90)) * 0.7 + 0.3 * z[:70, :64].mean()
                  + 0.2 * np.random.default_rng(1).random((70, 90)), 0, 1) * 255).round().astype(np.uint8)
    x8 = u8 / 255.0
    for run in (lambda s: q12.wht_codec(u8, s, 0.2), lambda s: q12.klt_codec(u8, s, 0.05)):
        assert np.abs(run(0.05) - x8).max() <= 1 / 255 + 1e-9
        assert q12.q4.psnr(x8, run(60.0)) < q12.q4.psnr(x8, run(10.0))
    a, b = q12.vp8_codec(u8, 60), q12.vp8_codec(u8, 4)
    assert a.shape == b.shape == u8.shape and q12.q4.psnr(x8, a) < q12.q4.psnr(x8, b)
    # the tone curves are continuous and non-decreasing; Day's reaches 1 at its white point
    v = np.linspace(0, 4, 4001)
    coef = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    for y in (q12.day_curve(v, 3.0, 0.0, 0.4, 0.8, 0.3), q12.bernstein_crf(v, coef)):
        assert np.all(np.diff(y) >= -1e-12) and np.abs(np.diff(y)).max() < 0.01
    assert q12.day_curve(np.array([3.0]), 3.0, 0.0, 0.4, 0.8, 0.3)[0] == pytest.approx(1.0)
    # Kubelka-Munk: a thicker layer flattens the picture more
    R = np.linspace(0.05, 0.9, 20)
    assert np.ptp(q12.kubelka_munk(R, 1.0, 0.1)) < np.ptp(q12.kubelka_munk(R, 0.1, 0.1)) < np.ptp(R)
    # the motion paths are not straight lines, and their kernels are normalised
    for make in (q12._cycloid, q12._tractrix, q12._superellipse):
        p, w, _ = make(np.random.default_rng(4))
        k = q12.binned_kernel(8 * p / q12.q4.path_rms(p, w), w)
        assert abs(k.sum() - 1) < 1e-9 and np.linalg.matrix_rank((k > 1e-3 * k.max()).astype(float)) > 2, make.__name__
    # the exposure direction is what the builder asks for
    x = np.clip(np.random.default_rng(2).random((48, 48)) * 0.8 + 0.1, 0, 1)
    for how in q12.IMPLEMENTATIONS["exposure"]:
        for over in (True, False):
            tag = q12.apply(x, "exposure", np.random.default_rng(3), how, over=over)[1]
            assert tag.split("-")[1] == ("over" if over else "under"), tag


def test_same_seed_same_samples(views):
    x = views["ct_soft"][:128, :128]
    for g in q12.GROUPS:
        for how in q12.IMPLEMENTATIONS[g]:
            a = q12.apply(x, g, np.random.default_rng(3), how)
            b = q12.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q12.IMPLEMENTATIONS["noise"]:
        assert not np.array_equal(q12.apply(x, "noise", np.random.default_rng(3), how)[0],
                                  q12.apply(x, "noise", np.random.default_rng(4), how)[0]), how


def test_the_builder_labels_what_it_did_and_repeats_itself(data_dir, tmp_path):
    n = b12.NUMBER["ct/GE_gantry_tilt/19:stroke"]
    first = list(b12.samples(data_dir, only=[n]))
    again = list(b12.samples(data_dir, tmp_path, only=[n]))
    cached = list(b12.samples(data_dir, tmp_path, only=[n]))
    assert b12.set_hash(first) == b12.set_hash(again) == b12.set_hash(cached)
    assert [s.measured for s in first if s.labels] == [s.measured for s in cached if s.labels]
    assert len(first) == len(b12.CLEAN_VIEWS) + len(q12.GROUPS)
    clean = [s for s in first if s.labels == ""]
    assert [s.how for s in clean] == list(b12.CLEAN_VIEWS) and all(s.kind == "none" for s in clean)
    assert np.array_equal(clean[1].image, clean[0].image[:, ::-1])
    assert all(s.modality == "CT" and s.modality_group == "CT" for s in first)
    deg = [s for s in first if s.labels]
    assert [s.group for s in deg] == list(q12.GROUPS)
    for s in deg:
        assert s.labels == TRUTH[s.group], s.how
        assert s.how.startswith(f"{s.group}:{b12.implementation(n, s.group)}-"), s.how
        assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
        lo, hi = q12.band(s.group)
        assert lo <= s.measured <= hi and s.severity == 2, s.how
        assert b12.visible(clean[0].image, s.image)[0], s.how
    exp = [s for s in deg if s.group == "exposure"][0]
    assert ("-over-" in exp.how) == b12.over_exposed(n)
    # the evaluator's binding yields the same samples (from the cache) and hashes every one it yields
    import hashlib

    import eval_quality_independent12 as e12
    h = hashlib.sha256()
    bound = list(e12.qfe.Bound(e12.b12, only=[n], digest=h).samples(data_dir, tmp_path, None))
    assert e12.FAMILY == 12 and len(bound) == len(first) and h.hexdigest() == b12.set_hash(first)
    rows = [{"group": "exposure", "how": f"exposure:x-{d}-k1", "call": c, "truth": "exposure"}
            for d, c in (("under", "exposure"), ("under", "none"), ("over", "exposure"))]
    by = e12.exposure_by_direction(rows)
    assert by["under"]["recall"] == 0.5 and by["over"]["recall"] == 1.0 and by["under"]["calls"] == {"exposure": 1, "none": 1}
    # ECE: 0 when the probabilities are the outcome rates, |p - rate| otherwise
    assert e12.ece([0.25] * 4, [1, 0, 0, 0]) == pytest.approx(0.0)
    assert e12.ece([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)
    rows = [{"truth": t, "call": c, "probabilities": {"noise": pn, "none": 1 - pn}}
            for t, c, pn in (("noise", "noise", 1.0), ("none", "none", 0.0))]
    cal = e12.calibration(rows)
    assert cal["ece_per_type"] == pytest.approx(0.0) and cal["ece_top"] == pytest.approx(0.0)
    assert cal["ece_by_type"]["blur"] == pytest.approx(0.0) and cal["top_accuracy"] == 1.0


def test_views_are_new_balanced_and_held_out(data_dir):
    ids = [s[0] for s in b12.SOURCES]
    assert len(ids) == len(set(ids)) == 48 and b12.n_expected() == 432
    assert all([s[1] for s in b12.SOURCES].count(g) == 8 for g in b12.MODALITY_GROUPS)
    ct = [s for s in b12.SOURCES if s[1] == "CT"]
    assert sum(bool(s[5]) for s in ct) == 4 and {s[5] for s in ct if s[5]} == set(b12.WINDOWS)
    assert all(s[5] == "" for s in b12.SOURCES if s[1] != "CT")
    assert (b12.VISIBLE_PSNR_DB, b12.VISIBLE_SSIM) == (38.0, 0.95)          # the rule fixed before scoring
    b12.check_held_out(data_dir)
    from app.data.types import LoupeError
    for bad in (("cxr/tb0005", "X-ray", "xray_iqa/cxr/tb0005.png", -1, None, ""),           # a training image
                ("psfhs/03744.png", "ultrasound", "ultrasound/PSFHS_png/images/03744.png", -1, None, "")):
        orig = b12.SOURCES
        try:
            b12.SOURCES = orig + (bad,)
            with pytest.raises(LoupeError, match=bad[0]):
                b12.check_held_out(data_dir)
        finally:
            b12.SOURCES = orig
    for mg in b12.MODALITY_GROUPS:                  # each modality gets each implementation, both directions
        ns = [n for n, s in enumerate(b12.SOURCES) if s[1] == mg]
        for g in q12.GROUPS:
            assert {b12.implementation(n, g) for n in ns} == set(q12.IMPLEMENTATIONS[g]), (mg, g)
        assert sum(b12.over_exposed(n) for n in ns) == 4, mg
    for how in q12.IMPLEMENTATIONS["exposure"]:
        dirs = {b12.over_exposed(n) for n in range(48) if b12.implementation(n, "exposure") == how}
        assert dirs == {True, False}, how
    # no view (image + crop + CT window) of families 3-11; families 1 and 2 drew whole training-split images
    import build_quality_independent3_set as b3
    import build_quality_independent4_set as b4
    import build_quality_independent5_set as b5
    import build_quality_independent6_set as b6
    import build_quality_independent7_set as b7
    import build_quality_independent8_set as b8
    import build_quality_independent9_set as b9
    import build_quality_independent10_set as b10
    import build_quality_independent11_set as b11
    old = {(s[2], s[4], "") for b in (b4, b5, b6, b7, b8) for s in b.SOURCES}
    old |= {(s[2], s[4], s[5]) for b in (b9, b10, b11) for s in b.SOURCES} | {(s[4], None, "") for s in b3.SOURCES}
    new = {(s[2], s[4], s[5]) for s in b12.SOURCES}
    assert not old & new, old & new
    # the PSFHS frames are ones no family took
    olds = {Path(s[2]).name for b in (b4, b5, b6, b7, b8, b9, b10, b11) for s in b.SOURCES}
    olds |= {Path(s[4]).name for s in b3.SOURCES}
    assert not olds & {Path(s[2]).name for s in b12.SOURCES if "PSFHS" in s[2]}


def test_implementations_are_new_and_not_in_the_product():
    import quality_independent3 as q3
    import quality_independent5 as q5
    import quality_independent6 as q6
    import quality_independent7 as q7
    import quality_independent8 as q8
    import quality_independent9 as q9
    import quality_independent10 as q10
    import quality_independent11 as q11
    old = {h for q in (q3, q12.q4, q5, q6, q7, q8, q9, q10, q11) for v in q.IMPLEMENTATIONS.values() for h in v}
    assert not old & {h for v in q12.IMPLEMENTATIONS.values() for h in v}
    assert all(len(v) == 3 for v in q12.IMPLEMENTATIONS.values())
    # families 1 and 2 have no IMPLEMENTATIONS list: none of their construction words in the names
    for word in ("gaussian_noise", "speckle", "poisson", "pink", "laplace", "butterworth_lowpass", "airy",
                 "itk", "lorentz", "swscale", "mjpeg", "dcmtk", "zernike", "iris", "annular", "kolmogorov",
                 "tremor", "lissajous", "hable", "knee"):
        assert not any(word in h for v in q12.IMPLEMENTATIONS.values() for h in v), word
    root = BENCH.parent
    for d in ("backends", "app"):
        for f in (root / d).rglob("*.py"):
            assert "quality_independent12" not in f.read_text(encoding="utf-8", errors="replace"), f
