"""No glare on a colourless frame (issue 20 part B, session 15d; docs/figures/evidence_session15d_rule.md):
the switch ``screen.GRAY_NO_GLARE``, OFF in the product because it failed its rule (on the dev replay it
found 2 of the CT scroll's 7 events but lost unseen12's one found bright_focus and raised unseen12's kept
by 0.29 pp). These tests check the switch when on, and that the product's default is 0.3.0's features.

Telling glare from tissue rests on colour: a specular highlight is bright and nearly white, tissue is
coloured. In a grayscale stream every pixel is nearly white, so every pixel over 150 was set aside as
glare - a head CT's skull ring, an ultrasound's bright echoes - with its rim, and the appearance features
were computed from a handful of pixels (unseen12's CT scroll: 7-32 of 2,120), whose frame-to-frame
flicker matched a cut. With the switch on, a frame whose every chroma sample is neutral has no glare; a frame with any
colour is computed exactly as before."""
from __future__ import annotations

import numpy as np
import pytest

import backends.evidence.screen as screen
from backends.evidence.screen import batch_features

H, W = 32, 40


def _ring_scene(seed: int, tissue: float = 70.0) -> np.ndarray:
    """A head-CT-like slice on black: a thin bright ring (bone, > 150) around dim textured tissue."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    r = np.hypot((yy - H / 2) / 12.0, (xx - W / 2) / 15.0)
    y = np.zeros((H, W), np.float32)
    inside = r < 0.9
    y[inside] = tissue + rng.normal(0, 8, inside.sum())
    y[(r >= 0.9) & (r < 1.0)] = 235 + rng.normal(0, 5, ((r >= 0.9) & (r < 1.0)).sum())
    return np.clip(y, 0, 255).astype(np.uint8)


def _gray(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.full_like(y, 128)
    return y[None], c[None], c.copy()[None]


def _tinted(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same picture with a red tint on its lit pixels (a colour frame)."""
    lit = y > 28
    u = np.full_like(y, 128)
    v = np.full_like(y, 128)
    u[lit] = 120
    v[lit] = 150
    return y[None], u[None], v[None]


@pytest.fixture
def on(monkeypatch):
    monkeypatch.setattr(screen, "GRAY_NO_GLARE", True)


def test_a_colourless_frame_sets_nothing_aside_as_glare(on) -> None:
    y8, u8, v8 = _gray(_ring_scene(1))
    _, sc = batch_features(y8, u8, v8)
    assert sc["bright"][0] == 0.0 and sc["spots"][0] == 0.0


def test_the_product_default_is_still_0p3p0_a_colourless_bone_ring_set_aside_as_glare() -> None:
    """The switch failed its rule: the product keeps 0.3.0's features (the ring is taken as glare)."""
    y8, u8, v8 = _gray(_ring_scene(1))
    _, sc = batch_features(y8, u8, v8)
    assert sc["bright"][0] > 0.05   # the whole ring, and it is thin: spots
    assert sc["spots"][0] > 0.05


def test_slices_of_one_gray_scene_stay_near_and_a_new_picture_stands_out(on) -> None:
    """Two slices of the same scene (the dim tissue level changes a little, noise redrawn) against a
    different gray picture: the step within the scene must be well under the jump to the new picture."""
    a, b = _ring_scene(1, tissue=70), _ring_scene(2, tissue=64)
    rng = np.random.default_rng(3)
    new = np.clip(150 + 60 * np.sin(np.mgrid[:H, :W][1] / 3.0) + rng.normal(0, 10, (H, W)), 0, 255).astype(np.uint8)
    d = [batch_features(*_gray(x))[0][0] for x in (a, b, new)]
    step = float(np.linalg.norm(d[0] - d[1]))
    jump = float(np.linalg.norm(d[1] - d[2]))
    assert jump > 3.0 * step, (step, jump)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_frame_with_colour_is_computed_as_before(monkeypatch, seed: int) -> None:
    """Per frame, with the switch on: a colour frame in a batch with a colourless one gives exactly 0.3.0's features."""
    monkeypatch.setattr(screen, "GRAY_NO_GLARE", True)
    cy, cu, cv = _tinted(_ring_scene(seed))
    gy, gu, gv = _gray(_ring_scene(seed + 10))
    batch = (np.concatenate([cy, gy]), np.concatenate([cu, gu]), np.concatenate([cv, gv]))
    desc_on, sc_on = batch_features(*batch)
    monkeypatch.setattr(screen, "GRAY_NO_GLARE", False)
    desc_off, sc_off = batch_features(*batch)
    assert np.array_equal(desc_on[0], desc_off[0])
    for k in sc_on:
        assert sc_on[k][0] == sc_off[k][0], k
    assert not np.array_equal(desc_on[1], desc_off[1])   # the colourless one did change
