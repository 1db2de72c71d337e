"""Session 21b's low-blocking JPEG-type rows (issue 25; backends/quality/lowblock_jpeg_rows.py,
docs/figures/quality_session21b_rule.md): the switch is OFF and gates the rows, the codec gives 8-bit Snow pictures near
the reference JPEG's PSNR, and the spread tool's ``drop`` draws the same row whatever rows a recipe appends. A few
seconds (small synthetic images; no fit)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import dev_quality_spread as sp  # noqa: E402

from backends.quality import exposure_rows, lowblock_jpeg_rows, mlsamples, train_assessor  # noqa: E402


def _set(n, tag):
    X = np.random.default_rng(n).normal(size=(n, 2))
    return mlsamples.MLSet(X, np.array(["jpeg"] * n), np.array(["jpeg"] * n), np.ones(n, np.int64),
                           np.array([f"cxr/{i}" for i in range(n)]), np.array(["xray"] * n), np.zeros(n),
                           np.array([f"{tag}{i}" for i in range(n)]))


def test_switch_is_off_and_gates_the_rows(monkeypatch):
    assert train_assessor.LOWBLOCK is False                      # FAILED rule 21b (G2 contrast): off
    calls = []
    monkeypatch.setattr(train_assessor, "train_sources", lambda data: ["src"])
    monkeypatch.setattr(exposure_rows, "build", lambda *a, **k: _set(2, "lin_"))
    monkeypatch.setattr(lowblock_jpeg_rows, "build", lambda *a, **k: calls.append(a) or _set(3, "snow_"))
    off = train_assessor.extra_rows("data", log=lambda *x: None)
    assert len(off) == 1 and not calls
    on = train_assessor.extra_rows("data", log=lambda *x: None, lowblock=True)
    assert len(on) == 2 and len(calls) == 1 and list(on[1].how)[0].startswith("snow_")
    assert '"--lowblock"' in Path(train_assessor.__file__).read_text()       # the CLI carries the switch
    assert sp.RECIPES["floorsnow"] == {"floor": True, "lowblock": True} and "lowblock" not in sp.RECIPES["floor"]


def test_snow_rendering_is_8bit_and_near_the_reference_psnr():
    yy, xx = np.mgrid[0:96, 0:96] / 96.0
    x = 0.5 + 0.3 * np.sin(9 * xx) * np.cos(7 * yy) + 0.1 * (np.random.default_rng(0).random((96, 96)) > 0.5)
    y, tag = lowblock_jpeg_rows.compress(np.clip(x, 0, 1), 2, np.random.default_rng(1))
    assert y.shape == x.shape and np.allclose(y * 255, np.round(y * 255))
    assert tag.startswith(("snow_dwt97", "snow_dwt53"))
    got, target = float(tag.split("-")[3][:-2]), float(tag.split("-")[4][1:])
    assert abs(got - target) < 3.0 and not np.array_equal(y, np.round(x * 255) / 255)


def test_drop_draws_the_same_row_with_rows_appended():
    base = _set(40, "h")
    more = mlsamples.concat(base, _set(10, "x"))
    d0, d1 = sp.perturb(base, "drop:11", len(base)), sp.perturb(more, "drop:11", len(base))
    assert set(base.how) - set(d0.how) == set(more.how) - set(d1.how)
    assert sp.perturb(base, "drop:11", len(base)).how.tolist() == sp.perturb(base, "drop:11").how.tolist()
    r0, r1 = sp.perturb(base, "round:0"), sp.perturb(more, "round:0")
    assert np.array_equal(r0.X, r1.X[:40])
