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
Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of both clips, the FIRST 3
events of each (tests/evidence_floor.py ``first_events``: each clip's own schedule and draws, so up to
the third event the frames are the report clip's, then the construction's closing filler): 191 of the
0.2-fps clip's frames (15.9 min) and 815 of the 1-fps clip's (13.6 min). Measured there (session 17, the
evidence backend of main at e4bbf3d, ``Settings()``): 2 of 3 (the one-frame pixel mosaic at frame 117
missed) and 3 of 3 found, 2.09% kept of the 0.2-fps clip (its 200-s floor: 4 frames) and 0.98% of the
1-fps clip, 1 and 4 false events (10.2 an hour over both). Floors: at least 4 of 6, the kept ceilings
as before, at most 15 false events an hour over both (7 in 29.5 min). The short clips' recall does not
notice the 200-s floor switched off (mutation ``evidence-no-low-rate-floor``), so the 0.2-fps clip must keep
at least its one frame per ``floor_s`` of video (measured 4 frames).
Clips are cached in ``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import construction_rows, first_events

CLIPS = ("cap_0.2fps_320_msmpeg4v3_avi", "cap_1fps_320x288_wmv1_asf")
FIRST_EVENTS = 3
FOUND_FLOOR = 4             # measured 5 of 6 (session 17; the whole clips: 13 of 15 with the 200-s floor)
KEPT_CEILING = 0.01          # of each clip at 1 fps and faster; below, one frame per floor_s of video
FALSE_PER_HOUR_CEILING = 15.0


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen6 import UNSEEN6
    from benchmarks.evidence_appearances_unseen6 import plan_unseen6
    from benchmarks.evidence_construction_eval import run

    short = first_events(UNSEEN6, plan_unseen6, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run(a, short), "unseen6", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen6_capsule_clips_floor(rows):
    assert [r["frames_total"] for r in rows] == [191, 815]
    assert sum(r["events_true"] for r in rows) == 2 * FIRST_EVENTS
    found = sum(r["events_found"] for r in rows)
    assert found >= FOUND_FLOOR, [(r["variation"], r["events_found"], r["missed"]) for r in rows]
    from backends.evidence.pipeline import Settings

    floor_s = Settings().floor_s
    for r in rows:
        seconds = r["minutes"] * 60
        ceiling = max(KEPT_CEILING, int(seconds / floor_s) / r["frames_total"]) if floor_s > 0 else KEPT_CEILING
        assert r["kept_fraction"] <= ceiling + 1e-9, (r["variation"], r["kept_fraction"], ceiling)
    assert rows[1]["kept_fraction"] <= KEPT_CEILING        # 1 fps: the floor adds nothing
    low = rows[0]                                           # 0.2 fps: it uses its 200-s allowance (measured 4 frames)
    assert round(low["kept_fraction"] * low["frames_total"]) >= int(low["minutes"] * 60 / floor_s), low
    hours = sum(r["minutes"] for r in rows) / 60
    assert sum(r["false_events"] for r in rows) / hours <= FALSE_PER_HOUR_CEILING
