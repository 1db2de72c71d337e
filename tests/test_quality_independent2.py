"""The second independent evaluation family of the quality assessor (benchmarks/quality_independent2.py,
issue 25 item 5): the builder is deterministic, each construction changes the image at the severity
it claims (in the catalogue's own unit), and no training code touches it. Fast: no model is run."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import build_quality_independent2_set as b2  # noqa: E402
import quality_independent2 as q2  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))
from backends.quality.catalog import TYPES  # noqa: E402  (the catalogue's levels, the unit of severity)

EE50_GAUSS = float(np.sqrt(2 * np.log(2)))   # 50 % encircled-energy radius of a 2-D Gaussian / sigma


@pytest.fixture(scope="module")
def real(data_dir):
    """A held-out fundus image at half size (real texture, fast)."""
    src = next(s for s in b2.held_out(data_dir) if s.id == "drive/03_test.tif")
    return np.ascontiguousarray(src.load()[0][::2, ::2], np.float64)


def _draws(x, group, sev, n=6, tag="t"):
    out = []
    for d in range(n):
        rng = np.random.default_rng(b2._seed(tag, group, sev, d))
        out.append(q2.IMPL[group](np.asarray(x, np.float64), sev, rng))
    return out


def test_builder_is_deterministic_and_complete(real):
    a = list(b2.samples_for("drive/03_test.tif", "other", 0, real))
    b = list(b2.samples_for("drive/03_test.tif", "other", 0, real))
    assert len(a) == len(b2.CLEAN_VIEWS) + len(q2.GROUPS) * 3 * b2.DRAWS + b2.N_STACKED
    for s, t in zip(a, b):
        assert s.how == t.how and s.labels == t.labels and s.severity == t.severity
        np.testing.assert_array_equal(s.image, t.image)
        assert s.image.dtype == np.float32 and np.isfinite(s.image).all()
        assert 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert {s.group for s in a} >= set(q2.GROUPS)
    assert sum(s.stacked for s in a) == b2.N_STACKED
    # every degraded sample differs from the clean image; the clean views are exact permutations
    for s in a:
        if s.labels:
            assert np.abs(s.image.astype(np.float64) - real).mean() > 1e-3, s.how
        else:
            assert sorted(s.image.ravel().tolist()) == sorted(real.astype(np.float32).ravel().tolist())


def test_pinned_sources_are_the_held_out_split(data_dir):
    from backends.quality.train_sets import held_out_sources, train_sources
    held = {s.id for s in held_out_sources(data_dir)}
    trained = {s.id for s in train_sources(data_dir)}
    assert set(b2.SOURCE_IDS) <= held and not set(b2.SOURCE_IDS) & trained
    assert len(b2.held_out(data_dir)) == len(b2.SOURCE_IDS)


@pytest.mark.parametrize("sev", [1, 2, 3])
def test_noise_std_matches_the_catalogue_sigma(sev):
    flat = np.full((96, 96), 0.5)
    for y, how in _draws(flat, "noise", sev, 9):
        got = float(np.std(y - flat))
        assert 0.75 * TYPES["gaussian_noise"].levels[sev - 1] <= got <= 1.3 * TYPES["gaussian_noise"].levels[sev - 1], (how, got)


def _impulse(n=121):
    x = np.zeros((n, n))
    x[n // 2, n // 2] = 1.0
    return x


@pytest.mark.parametrize("sev", [1, 2, 3])
def test_defocus_psf_encircled_energy_matches_the_catalogue_sigma(sev):
    for y, how in _draws(_impulse(), "defocus", sev, 8):
        sigma_eq = q2.ee50(y) / EE50_GAUSS
        assert 0.8 * TYPES["gaussian_blur"].levels[sev - 1] <= sigma_eq <= 1.22 * TYPES["gaussian_blur"].levels[sev - 1], (how, sigma_eq)


@pytest.mark.parametrize("sev", [1, 2, 3])
def test_motion_path_extent_matches_the_catalogue_length(sev):
    for y, how in _draws(_impulse(), "motion_blur", sev, 8):
        yy, xx = np.nonzero(y > 1e-3 * y.max())
        w = np.abs(y[yy, xx])
        cy, cx = np.average(yy, weights=w), np.average(xx, weights=w)
        ext = 2 * np.hypot(yy - cy, xx - cx).max()
        assert 0.75 * TYPES["motion_blur"].levels[sev - 1] <= ext <= 1.35 * TYPES["motion_blur"].levels[sev - 1] + 3, (how, ext)


def test_low_resolution_removes_detail_by_the_factor(real):
    # k-space cropping is exact: nothing survives outside the kept band of 1/factor
    for sev in (1, 2, 3):
        found = 0
        for d in range(40):
            y, tag = q2.low_resolution(real, sev, np.random.default_rng(b2._seed("lr", sev, d)))
            if not tag.startswith("kspace"):
                continue
            found += 1
            k = np.abs(np.fft.fftshift(np.fft.fft2(y)))
            h, w = y.shape
            f = h / np.count_nonzero(k[:, w // 2] > 1e-9 * k.max())
            assert 0.85 * TYPES["low_resolution"].levels[sev - 1] <= f <= 1.2 * TYPES["low_resolution"].levels[sev - 1] + 0.1, (tag, f)
        assert found >= 3
    # all implementations: changed, and more loss with severity
    loss = [np.mean([q2._psnr(real, y) for y, _ in _draws(real, "low_resolution", s, 8)]) for s in (1, 2, 3)]
    assert loss[0] > loss[1] > loss[2] and loss[0] < 45, loss


@pytest.mark.skipif(not q2.have_dcmtk(), reason="DCMTK not installed (scripts/setup.sh --test installs it)")
@pytest.mark.parametrize("sev", [1, 2, 3])
def test_jpeg_psnr_matches_the_catalogue_reference(real, sev):
    ref = q2.reference_jpeg_psnr(real, sev)
    got = [q2._psnr(np.round(real * 255) / 255, y) for y, _ in _draws(real, "jpeg", sev, 8)]
    assert abs(np.median(got) - ref) <= 2.0, (ref, got)
    assert all(g < 45 for g in got)


def test_own_dct_codec_is_a_blockwise_quantiser(real):
    y = q2.dct_codec(real, "flat", 16.0)
    assert 25 < q2._psnr(real, y) < 45
    # quantising with step 1 on the orthonormal DCT changes almost nothing
    assert q2._psnr(np.round(real * 255) / 255, q2.dct_codec(real, "flat", 1.0)) > 45


@pytest.mark.parametrize("sev", [1, 2, 3])
def test_contrast_factor(real, sev):
    c = TYPES["contrast"].levels[sev - 1]
    from scipy.ndimage import uniform_filter  # a test-side measurement, not a construction
    for y, how in _draws(real, "contrast", sev, 9):
        if how == "veiling_glare":
            ratio = np.std(y - uniform_filter(y, 5)) / np.std(real - uniform_filter(real, 5))
        else:
            ratio = y.std() / real.std()
        assert 0.8 * c <= ratio <= 1.25 * c, (how, ratio)


@pytest.mark.parametrize("sev", [1, 2, 3])
def test_exposure_gain_is_the_catalogue_gain(real, sev):
    """Knee: gain g below the knee point; under-exposure: slope 1/g where not clipped; filmic: the
    mean intensity change of the catalogue gain g (over or under)."""
    g = TYPES["exposure"].levels[sev - 1]
    seen = set()
    for y, how in _draws(real, "exposure", sev, 12):
        seen.add(how.split("-")[0])
        if how == "knee_saturation":
            m = (real > 0.05) & (real * g * 1.1 < 0.68)
            ratio = np.median(y[m] / real[m])
            assert 0.88 * g <= ratio <= 1.12 * g, (how, ratio)
        elif how == "under_black_clip":
            m = y > 0.01
            slope = np.polyfit(real[m], y[m], 1)[0]
            assert 0.88 / g <= slope <= 1.12 / g, (how, slope)
        else:
            over = how.endswith("over")
            gg = [g * f for f in (0.9, 1.1)]
            ref = [np.mean(np.abs((np.clip(real * v, 0, 1) if over else real / v) - real)) for v in gg]
            d = float(np.mean(y - real))
            assert (d > 0) == over and 0.97 * min(ref) <= abs(d) <= 1.03 * max(ref), (how, d, ref)
    assert len(seen) >= 2


def test_training_code_never_touches_the_second_family():
    """No module under backends/ imports the evaluation-only family, and the quality training code uses
    none of its constructions (DCMTK JPEG, torch interpolation / grid sampling)."""
    for f in (ROOT / "backends").rglob("*.py"):
        text = f.read_text()
        tree = ast.parse(text)
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any("quality_independent" in n or n.startswith("benchmarks") for n in names), (f, names)
        assert "quality_independent2" not in text, f
    for f in (ROOT / "backends" / "quality").glob("*.py"):
        text = f.read_text()
        for marker in ("dcmcjpeg", "grid_sample", "interpolate(", "zernike", "kolmogorov", "lissajous"):
            assert marker not in text.lower(), (f.name, marker)
    code = ("import sys; import backends.quality.train_assessor, backends.quality.variety, "
            "backends.quality.mlsamples, backends.quality.assess; "
            "bad = [m for m in sys.modules if 'quality_independent' in m]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_summary_scores_like_the_first_family():
    """macro-F1 over families + none on single rows; clean false alarms from status; stacked apart."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import eval_quality_independent2 as ev
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    def row(truth, call, status, how="x:y", src="cxr/a", labels=None, reported=None):
        lab = truth if labels is None else labels
        return {"source": src, "modality_group": ev.modality_group(src), "labels": "" if lab == "none" else lab,
                "truth": truth, "call": call, "status": status, "how": how, "severity": 1, "kind": truth,
                "subtype": "", "reported": reported or ([] if call == "none" else [call])}
    rows = [row("none", "none", "clean"), row("none", "noise", "degraded", src="ct/b"),
            row("noise", "noise", "degraded", "noise:sensor-10bit"), row("noise", "none", "uncertain", "noise:fixed"),
            row("blur", "blur", "degraded", "defocus:kolmogorov"),
            row("x", "noise", "degraded", labels="noise|blur", reported=["noise"])]
    s = ev.summarise(rows)
    assert s["n_single"] == 5 and s["stacked_n"] == 1 and s["stacked_component_recall"] == 0.5
    assert s["per_class"]["noise"]["precision"] == 0.5 and s["per_class"]["noise"]["recall"] == 0.5
    assert s["per_class"]["none"]["f1"] == 0.5 and s["per_class"]["blur"]["f1"] == 1.0
    assert abs(s["macro_f1"] - (0.5 + 0.5 + 1.0) / 3) < 1e-12 and s["min_recall"] == 0.5
    assert s["false_alarm_clean"] == 0.5 and s["by_modality"]["CT"]["false_alarm_clean"] == 1.0
    assert s["by_implementation"]["noise:sensor"]["recall"] == 1.0


def test_evaluator_scores_through_the_product_path(data_dir):
    """One held-out image's 50 samples through ``assess`` (whatever model is installed): every row
    carries a call the product can make and the summary is computed from them."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import eval_quality_independent2 as ev
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from backends.quality.assess import assess, default_model
    from backends.quality.families import FAMILIES
    rows = ev.assess_rows(data_dir, limit_images=1)
    assert len(rows) == len(b2.CLEAN_VIEWS) + len(q2.GROUPS) * 3 * b2.DRAWS + b2.N_STACKED
    assert all(r["call"] in set(FAMILIES) | {"none"} and r["status"] in ("clean", "uncertain", "degraded")
               for r in rows)
    s = ev.summarise(rows)
    assert s["n"] == len(rows) and 0.0 <= s["macro_f1"] <= 1.0
    # a row is what assess says of the regenerated image
    smp = next(x for x in b2.samples(data_dir, limit_images=1) if x.group == "noise" and x.severity == 3)
    a = assess(smp.image, smp.modality, default_model())
    r = next(r for r in rows if r["how"] == smp.how and r["severity"] == 3)
    assert r["call"] == (a.degradations[0].family if a.degradations else "none")


def test_construction_is_frozen():
    """The family was frozen (commit bf6d08e) before any model was scored on it; a changed
    construction is a NEW family (new module name, new baseline), never an edit of this one."""
    import hashlib
    digest = hashlib.sha256((ROOT / "benchmarks" / "quality_independent2.py").read_bytes()).hexdigest()
    assert digest == "7df65b0c4d5cac5ac96733ab392645c4ed2bd7065941039eb9e5cf415dc37b8b"
    assert (b2.DRAWS, b2.N_STACKED, len(b2.SOURCE_IDS)) == (2, 4, 27)
    assert b2.CLEAN_VIEWS == ("clean", "clean-mirror", "clean-flipud", "clean-transpose")
