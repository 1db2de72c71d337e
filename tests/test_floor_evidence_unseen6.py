"""Floor of the evidence backend's session-9 REPORT figure on two of its clips: unseen6
(benchmarks/evidence_appearances_unseen6.py, seed 97, built blind by a fifth evaluator and frozen
before it was ever screened). Run once on the merged method: 27/34 events = 0.794, 0.77% of frames
kept, 14.7 false events per hour over 1.97 h. The whole set takes ~12 CPU-min to build, so this test
builds its two capsule-rate clips, the slowest streams of the set (MS-MPEG-4 v3 at 0.2 fps, 4/7;
WMV7 at 1 fps, 7/8, 11 false events), and checks at the product's settings: at least 10 of their 15
events found, at most 1% of each clip kept, at most 15 false events per hour over both (measured
9.6). It guards what was measured; it does not bless it (the goal, 0.95 at <= 1%, is not met).
Session 10 (E20f, DEV): below 0.5 fps a clip keeps one frame per ``Settings.floor_s`` (200 s) of video, so
the 0.2-fps clip may keep 10 frames (2.4%), and finds 6/7 (measured 13 of 15 over both clips, 11.4 false/h);
the 1-fps clip stays at 1%.
Clips are cached in ``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import construction_rows

CLIPS = ("cap_0.2fps_320_msmpeg4v3_avi", "cap_1fps_320x288_wmv1_asf")
FOUND_FLOOR = 12            # measured 11 of 15 at 1% per clip; 13 with the 200-s floor (session 10)
KEPT_CEILING = 0.01          # of each clip at 1 fps and faster; below, one frame per floor_s of video
FALSE_PER_HOUR_CEILING = 15.0


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen6 import run_unseen6

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen6, "unseen6", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen6_capsule_clips_floor(rows):
    assert sum(r["events_true"] for r in rows) == 15
    found = sum(r["events_found"] for r in rows)
    assert found >= FOUND_FLOOR, [(r["variation"], r["events_found"], r["missed"]) for r in rows]
    from backends.evidence.pipeline import Settings

    floor_s = Settings().floor_s
    for r in rows:
        seconds = r["minutes"] * 60
        ceiling = max(KEPT_CEILING, int(seconds / floor_s) / r["frames_total"]) if floor_s > 0 else KEPT_CEILING
        assert r["kept_fraction"] <= ceiling + 1e-9, (r["variation"], r["kept_fraction"], ceiling)
    assert rows[1]["kept_fraction"] <= KEPT_CEILING        # 1 fps: the floor adds nothing
    hours = sum(r["minutes"] for r in rows) / 60
    assert sum(r["false_events"] for r in rows) / hours <= FALSE_PER_HOUR_CEILING
