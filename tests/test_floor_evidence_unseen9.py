"""Floor of the evidence backend's session-12 REPORT figure on two of its clips: unseen9
(benchmarks/evidence_appearances_unseen9.py, seed 127, built blind by an eighth evaluator and frozen
before it was ever screened). Run once on the merged method (evidence 0.3.0): 20/30 events = 0.667,
1.19% of frames kept pooled, 17.0 false events per hour over 1.12 h. This test builds its CI pair at
the product's settings: lossless JPEG-LS in AVI at 0.75 fps (capsule, 8/9, 8 false events in 38.4 min,
0.98% kept) and CineForm in MOV at 100 fps (surgical, 2/6, none false, 1.77% kept: a 40-s clip, whose
1% cannot hold one event's 0.5-s core, may keep 2 s of video by design); measured 10 of 15 and 12.3
false events an hour over both. Floors: at least 9 of 15 found, at most 1% of the capsule clip and
1.8% of the 40-s clip kept, at most 15 false events an hour. It guards what was measured; it does not
bless it (the goal, 0.95 at <= 1%, is far from met: a partial view peeking in from an edge was found
0 of 3 times, and the 100-fps clip 2 of 6). Clips are cached in ``$LOUPE_TEST_CACHE`` when set.

Session 15 (suite time): the floor is on a FIXED subset of that pair, the capsule clip alone (the frozen
CI_SUBSET9 is unchanged; the CineForm clip, ~24 s of CPU to build and ~10 s to screen, is left out, as
unseen10's floor leaves out its negative control). Measured on it (evidence 0.3.0, the REPORT run and
S13's rerun): 8 of 9 found, 0.98% kept, 8 false events in 38.4 min (12.5 an hour). Floors in the pair's
margins: at least 7 of 9, at most 1% kept, at most 15 false events an hour.

Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of that capsule clip, its
FIRST 3 events (tests/evidence_floor.py ``first_events``: the clip's own schedule and draws, so up to the
third event the frames are the report clip's, then the construction's closing filler): 689 of 1,727
frames, 15.3 min; the file's CPU went from 55.9 s to 26.9 s (alone, niced). Measured there (session 17,
the evidence backend of main at e4bbf3d, ``Settings()``): 2 of 3 found (the one-frame combed view at frame
335 missed), 0.87% kept, 4 false events (15.7 an hour). Floors: at least 2 of 3, at most 1% kept, at most
20 false events an hour (5 in 15.3 min)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows, first_events

CLIPS = ("cap_0.75fps_256_jpegls_avi",)
FIRST_EVENTS = 3
FOUND_FLOOR = 2            # measured 2 of 3 (session 17)
KEPT_CEILING = 0.01        # measured 0.87%
FALSE_PER_HOUR_CEILING = 20.0   # measured 4 in 15.3 min = 15.7 an hour


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen9 import UNSEEN9
    from benchmarks.evidence_appearances_unseen9 import plan_unseen9
    from benchmarks.evidence_construction_eval import run

    short = first_events(UNSEEN9, plan_unseen9, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run(a, short), "unseen9", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen9_floor_on_the_capsule_stream(rows):
    assert rows[0]["frames_total"] == 689
    assert_evidence_floor(rows, events_true=FIRST_EVENTS, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
