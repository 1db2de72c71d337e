"""Floor of the evidence backend's REPORT figure on one clip of unseen10
(benchmarks/evidence_appearances_unseen10.py, seed 139, built blind by helper V13 and frozen in
"V13: unseen10 frozen" before it was ever screened). The whole set was run once on the shipped
method (evidence 0.3.0): 14/30 = 0.467, 1.02% of frames kept pooled, 16.9 false events an hour over
0.95 h (docs/figures/evidence_unseen10_report.json). This test builds one clip at the product's
settings, the cheapest with events that is not a toy: JPEG 2000 in MOV at 0.6 fps, 320x320, 28.3 min
(1,020 frames, 8 events, 9 negative-control stretches of flicker, bubbles and camera jolts). Measured
there: 5 of 8 found (the roaming window and both slow lesion fade-ins missed), 0.98% of frames kept,
4 false events (8.5 an hour, 2 of them on negative stretches). Floors a little below: at least 4 of 8,
at most 1% kept, at most 11 false events an hour. It guards what was measured; it does not bless it
(the goal, 0.95 at <= 1%, is far from met: events that change only a part of the frame were found 0
of 13 times over the set). The frozen CI pair (CI_SUBSET10) adds the 10-min negative control; it is
left out here to keep the suite's time (this one clip costs about 52 s of CPU, over the 40 s asked). Clips are cached in
``$LOUPE_TEST_CACHE`` when set.

Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of that clip, its FIRST 3
events (tests/evidence_floor.py ``first_events``: the clip's own schedule, negative stretches and draws,
so up to the third event the frames are the report clip's, then the construction's closing filler): 438
of 1,020 frames, 12.2 min. Measured there (session 17, the evidence backend of main at e4bbf3d,
``Settings()``): 2 of 3 found (the roaming window missed, as in the whole clip), 0.91% kept, 2 false
events (9.9 an hour). Floors: at least 2 of 3, at most 1% kept, at most 15 false events an hour (3 in
12.2 min)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows, first_events

CLIPS = ("cap_0.6fps_320_jpeg2000_mov",)
FIRST_EVENTS = 3
FOUND_FLOOR = 2             # measured 2 of 3 (session 17)
KEPT_CEILING = 0.01         # measured 0.91%
FALSE_PER_HOUR_CEILING = 15.0   # measured 2 in 12.2 min = 9.9 an hour


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen10 import UNSEEN10
    from benchmarks.evidence_appearances_unseen10 import plan_unseen10
    from benchmarks.evidence_blind_eval import run_for_floor

    short = first_events(UNSEEN10, plan_unseen10, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run_for_floor(short, a), "unseen10", CLIPS, tmp_path_factory,
                                 data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen10_floor_on_the_0_6fps_capsule_clip(rows):
    assert rows[0]["frames_total"] == 438
    assert_evidence_floor(rows, events_true=FIRST_EVENTS, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
