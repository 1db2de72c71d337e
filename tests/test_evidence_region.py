"""Evidence regional channel (issue 20 session 13, ``backends/evidence/region.py``): a change in PART
of the frame while the rest keeps playing. Synthetic clips made here: a panning camera over a smooth
random red tissue texture (10 fps), reduced like the reader does, features from ``batch_features``.
An inset (a grey picture over a quarter of a corner) appearing for 4 s over that moving scene is an
event at the product's settings, and is not one with the channel off (the whole-frame statistics
dilute it); the moving scene with specular flashes alone gives no event.

The channel is OFF in the product: it failed its session-13 rule on the dev sets
(docs/figures/evidence_session13_rule.md: no event gained). These tests keep the off switch working
at the grid's smallest weight, ``W_ON``, and check that the product default stays off."""
from __future__ import annotations

import numpy as np
import pytest

from backends.evidence.pipeline import Settings, events_from_features
from backends.evidence.reader import rgb_to_reduced_yuv
from backends.evidence.region import regional_z
from backends.evidence.screen import TILE_DIMS, TILE_GRID, FeatureAccumulator, Features, batch_features

FPS = 10.0
N = 900
W_ON = 0.5   # the smallest weight of the session-13 grid


def scene(seed: int, n: int = N, inset: tuple[int, int] | None = None, flicker: bool = False) -> Features:
    import cv2

    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.normal(0, 1, (600, 600, 3)).astype(np.float32), (0, 0), 6)
    big = (big - big.mean()) / big.std()
    tissue = np.clip(np.stack([150 + 40 * big[..., 0], 70 + 25 * big[..., 1], 60 + 20 * big[..., 2]], -1),
                     0, 255).astype(np.uint8)
    p = cv2.GaussianBlur(np.random.default_rng(seed + 99).normal(0, 1, (64, 64)).astype(np.float32), (0, 0), 3)
    pic = np.repeat((40 + 200 * (p - p.min()) / np.ptp(p))[..., None], 3, 2).astype(np.uint8)  # a grey picture
    pos, vel = np.array([100.0, 100.0]), np.array([2.0, 1.5])
    ys, us, vs = [], [], []
    for t in range(n):
        vel = np.clip(vel + rng.normal(0, 0.3, 2), -4, 4)
        pos = np.clip(pos + vel, 0, 600 - 256 - 1)
        x, y = int(pos[0]), int(pos[1])
        fr = tissue[y: y + 256, x: x + 256].copy()
        if flicker:   # 0-3 specular flashes a frame, anywhere
            for _ in range(rng.integers(0, 4)):
                cx, cy = rng.integers(20, 236, 2)
                cv2.circle(fr, (int(cx), int(cy)), int(rng.integers(2, 6)), (255, 255, 255), -1)
        if inset is not None and inset[0] <= t < inset[1]:
            fr[16:80, 150:214] = pic
        yy, uu, vv = rgb_to_reduced_yuv(fr, 8)
        ys.append(yy), us.append(uu), vs.append(vv)
    desc, sc = batch_features(np.stack(ys), np.stack(us), np.stack(vs), tiles=True)
    return Features(n, desc, sc, np.ones(n, bool))


def _hits(res, a: int, b: int) -> bool:
    return any(e.start <= b + 10 and e.end >= a - 10 for e in res.events)


def test_screening_records_tiles_only_when_asked():
    f = scene(0, n=20)
    assert f.tiles is not None and f.tiles.shape == (20, TILE_GRID * TILE_GRID, TILE_DIMS)
    assert np.isfinite(f.tiles).all()
    assert "tiles" not in f.scalars
    rng = np.random.default_rng(0)
    y = rng.integers(30, 200, (3, 32, 40), dtype=np.uint8)
    assert "tiles" not in batch_features(y, y, y)[1]   # off: screening computes what it did before
    acc = FeatureAccumulator(3)
    acc.add(np.arange(3), y, y, y)
    assert acc.result().tiles is None
    acc = FeatureAccumulator(3, tiles=True)
    acc.add(np.arange(3), y, y, y)
    assert acc.result().tiles.shape == (3, TILE_GRID * TILE_GRID, TILE_DIMS)


def test_product_keeps_the_channel_off():
    """It failed its rule (no event gained on the dev sets): turning it on needs a rule that passes."""
    assert Settings().region_weight == 0.0


def test_inset_over_moving_scene_is_found_and_only_by_the_channel():
    f = scene(3, inset=(600, 640))
    on = events_from_features(f, FPS, Settings(region_weight=W_ON))
    off = events_from_features(f, FPS, Settings(region_weight=0.0))
    assert _hits(on, 600, 639), [(e.start, e.end, e.z) for e in on.events]
    assert not _hits(off, 600, 639)   # whole-frame statistics alone miss it: the channel is what finds it
    assert len(on.events) == 1        # and nothing else in the moving scene


@pytest.mark.parametrize("seed", [5, 7])
def test_moving_scene_with_specular_flicker_gives_no_event(seed):
    f = scene(seed, flicker=True)
    res = events_from_features(f, FPS, Settings(region_weight=W_ON))
    assert res.events == [], [(e.start, e.end, e.z) for e in res.events]


def test_one_tile_alone_does_not_fire_two_side_by_side_do():
    """Spatial coherence: a change in one tile (a flash, a highlight) is not a region event; the same
    change in two side-by-side tiles is."""
    rng = np.random.default_rng(1)
    n, t = 600, TILE_GRID * TILE_GRID
    tiles = rng.normal(0, 1, (n, t, TILE_DIMS)).astype(np.float32)
    tiles = np.cumsum(tiles, axis=0) * 0.05 + rng.normal(0, 0.05, (n, t, TILE_DIMS)).astype(np.float32)
    one, two = tiles.copy(), tiles.copy()
    one[300:330, 5] += 3.0
    two[300:330, [5, 6]] += 3.0
    good = np.ones(n, bool)
    z1 = regional_z(one, good, max_event_frames=120, context_frames=600)
    z2 = regional_z(two, good, max_event_frames=120, context_frames=600)
    assert np.median(z2[300:330]) > 4.0
    assert np.median(z1[300:330]) < 2.0
