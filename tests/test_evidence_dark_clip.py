"""A short clip that is mostly dark (issue 20, noticed in the lead's walk: a 30-s clip whose filler
was 90% dark gave no event at all, 270 frames "dark", 30 "good", 0 candidates). The views amid
the dark stretches are all there is to see, so they are offered: a short shot with no long
background within reach is compared with whatever usable frames are there (or, with none, scored
at the threshold), and a short clip's budget is never under ``Settings.min_kept_s`` of video."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FPS = 10.0


@pytest.fixture(scope="module")
def dark_clip(tmp_path_factory, data_dir):
    """30 s at 10 fps: 270 frames of the constructed benchmark's light failures (gain 0.18-0.32)
    around two 15-frame polyp views."""
    from benchmarks.build_evidence_videos import SceneMaker, _encode, _flush, _open_encoder, load_pictures

    pics = load_pictures(data_dir)
    maker = SceneMaker(pics, (256, 256), FPS, step=0.03, seed=2, filler_kinds=("polyps",), episodes=False,
                       scope_border=True)

    def dark(n, seed):
        maker.deg.episode = ["dark", n, seed]
        return maker.filler_frames(n, glitches=False)

    frames, truth = dark(120, 1), []
    truth.append((len(frames), len(frames) + 14))
    frames += maker.event_frames(15, pics["polyps"][3])
    frames += dark(120, 2)
    truth.append((len(frames), len(frames) + 14))
    frames += maker.event_frames(15, pics["polyps"][-1])
    frames += dark(30, 3)
    out = tmp_path_factory.mktemp("dark_clip") / "dark_clip.mp4"
    c, s = _open_encoder(out, (256, 256), FPS, gop=int(FPS * 10))
    for f in frames:
        _encode(c, s, f)
    _flush(c, s)
    return out, truth


def test_views_amid_a_mostly_dark_clip_are_offered(dark_clip):
    from backends.evidence.pipeline import Settings, find_evidence

    path, truth = dark_clip
    res = find_evidence(path, Settings())
    assert res.frames_total == 300
    assert res.stats["quality"]["dark"] >= 200          # the filler really is set aside as dark
    for a, b in truth:
        assert any(e.start <= b + 10 and e.end >= a - 10 for e in res.events), (truth, res.stats, res.events)
    assert res.frames_kept <= int(round(Settings().min_kept_s * FPS))   # the short clip's budget


def test_a_shot_with_nothing_usable_around_it_scores_the_isolated_value():
    from backends.evidence.shots import short_shots

    rng = np.random.default_rng(0)
    n = 400
    desc = (0.3 * rng.standard_normal((n, 20))).astype(np.float32)
    desc[100:115] += 3.0
    good = np.zeros(n, bool)
    good[100:115] = True            # the only usable frames of the clip
    good[300:340] = True            # another view, far beyond reach
    shots = short_shots(desc, good, cut_z=6.0, min_frames=3, max_frames=60, context_frames=300,
                        reach_frames=100, isolated_z=4.0)
    assert [(sh.start, sh.end, sh.z) for sh in shots if sh.start == 100] == [(100, 114, 4.0)]
    assert not short_shots(desc, good, cut_z=6.0, min_frames=3, max_frames=60, context_frames=300,
                           reach_frames=100)    # None: dropped, as before


def test_glimpses_within_reach_are_compared_with_when_there_is_no_background():
    """Usable glimpses of other content (dim frames passing the gate between dark ones) are what a
    shot amid the dark is compared with: a real distance, far above the threshold here."""
    from backends.evidence.shots import short_shots

    rng = np.random.default_rng(1)
    n = 400
    desc = (0.3 * rng.standard_normal((n, 20))).astype(np.float32)
    desc[100:115] += 3.0
    desc[300:340] -= 3.0            # another view, far beyond reach
    good = np.zeros(n, bool)
    good[100:115] = True
    good[[60, 64, 130, 131, 140]] = True     # glimpses: too short to be a background
    good[300:340] = True
    shots = short_shots(desc, good, cut_z=6.0, min_frames=3, max_frames=60, context_frames=300,
                        reach_frames=100, isolated_z=4.0)
    z = [sh.z for sh in shots if sh.start == 100]
    assert len(z) == 1 and z[0] > 8.0, shots
