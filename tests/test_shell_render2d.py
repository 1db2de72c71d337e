"""render2d without Qt: presets, MONOCHROME1 default inversion, auto window, and compositing of
label/heatmap overlays and vector drawing into an RGB picture."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import Intensity, Volume
from app.scene import render2d as r


def test_presets_file_has_the_clinical_windows():
    keys = {p["key"]: p for p in r.presets()}
    for k in ("ct_brain", "ct_subdural", "ct_bone", "ct_lung", "ct_abdomen", "ct_soft_tissue", "auto"):
        assert k in keys
    assert (r.preset("ct_lung").width, r.preset("ct_lung").level) == (1500, -600)
    with pytest.raises(KeyError, match="unknown window preset"):
        r.preset("nope")


def test_default_window_rules():
    a = np.random.default_rng(0).normal(500, 100, (4, 32, 32)).astype(np.int16)
    mono1 = Volume(a, np.eye(4), Intensity(photometric="MONOCHROME1", window=(500, 400)))
    wl = r.default_window(mono1)
    assert wl.invert and (wl.width, wl.level) == (400, 500)
    hu = Volume(a, np.eye(4), Intensity(units="HU"))
    assert (r.default_window(hu).width, r.default_window(hu).level) == (80, 40)
    # a file window far below the data (stored values after a vendor rescale) falls back to auto
    odd = Volume(a.astype(np.int32) * 100, np.eye(4), Intensity(window=(10, 20)))
    w2 = r.default_window(odd)
    assert w2.low > 10000


def test_compose_labels_heatmap_and_lines():
    img = np.full((20, 30), 100, np.int16)
    lab = np.zeros((20, 30), np.uint8)
    lab[5:10, 5:10] = 1
    lut = r.label_lut(lambda v: (1.0, 0.0, 0.0), [1])
    heat = np.zeros((20, 30), np.float32)
    heat[15:, 20:] = 1.0
    rgb = r.compose(img, r.WindowLevel(200, 100), [r.labels_rgba(lab, lut, 1.0),
                                                    r.heatmap_rgba(heat, 0.0, 1.0, "hot", 1.0)])
    assert tuple(rgb[7, 7]) == (255, 0, 0)
    assert tuple(rgb[0, 0]) == (127, 127, 127)
    assert tuple(rgb[17, 25]) == (255, 255, 255)  # 'hot' at 1.0 is white
    r.draw_line(rgb, (0, 19), (29, 19), (0.0, 1.0, 0.0))
    assert tuple(rgb[19, 15]) == (0, 255, 0)
    outline = r.labels_rgba(lab, lut, 1.0, outline=True)
    assert outline[5, 5, 3] == 255 and outline[7, 7, 3] == 0
    bgra = r.premultiplied_bgra(r.label_table(lut, 0.5))
    assert tuple(bgra[1]) == (0, 0, 128, 128)  # blue, green, red*alpha, alpha


def test_window_and_value_text_readable_on_any_scale_whole_hu_on_ct():
    """Window / level and pixel values of any scale in about four significant digits (engineering
    notation outside 0.001-99999) with the unit; CT windows whole HU; ordinary MR / 8-bit windows
    unchanged (session-17 walk: a k-space recon read W 2946604797420 L 1513365221724)."""
    recon = Volume(np.zeros((1, 4, 4), np.float32), np.eye(4), Intensity(units="a.u."), meta={"modality": "MR"})
    photo = Volume(np.zeros((1, 4, 4), np.float32), np.eye(4), Intensity())
    ct = Volume(np.zeros((1, 4, 4), np.float32), np.eye(4), Intensity(units="HU"), meta={"modality": "CT"})
    assert r.window_text(r.WindowLevel(2946604797420, 1513365221724), recon) == "W 2.947e12  L 1.513e12 a.u."
    assert r.window_text(r.WindowLevel(3.981e12, 996.1e9), recon) == "W 3.981e12  L 0.9961e12 a.u."  # one exponent
    assert r.window_text(r.WindowLevel(2e-6, 1e-6), recon) == "W 2e-6  L 1e-6 a.u."
    assert r.window_text(r.WindowLevel(1.0, 0.5, True), photo) == "W 1  L 0.5 a.u.  inv"   # was "W 1  L 0"
    assert r.window_text(r.WindowLevel(400.0, 200.4), photo) == "W 400  L 200"               # as before
    assert r.window_text(r.WindowLevel(80.0, 40.0), ct) == "W 80  L 40"
    assert r.window_text(r.WindowLevel(5.4, 1e6), ct) == "W 5  L 1000000"                  # HU: whole, always
    assert [r.readable_number(x) for x in (345.678, 12345.6, 999950000000, -3.5e7, 1.234e-6, 0)] == \
        ["345.7", "12346", "1e12", "-35e6", "1.234e-6", "0"]
    assert r.value_text(1513365221724, recon) == "1.513e12" and r.value_text(-1000, ct) == "-1000"
    assert r.value_text(345.5, recon) == "345.5" and r.value_text(3e6, ct) == "3e+06"   # HU: as before
