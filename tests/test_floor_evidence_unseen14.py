"""Floor of the evidence backend's REPORT figure on one clip of unseen14
(benchmarks/evidence_appearances_unseen14.py, seed 191, built blind by helper U14 and frozen in
"U14: unseen14 frozen" before it was ever screened). The whole set was run once on the shipped
method (evidence 0.3.1; figures in docs/figures/evidence_unseen14_report.json). This test builds the
cheapest clip with events at the product's settings: an MR reading station (a 2x2 hanging layout of
four real MR series stepping through their slices, mostly dark) in Y41P (packed 4:1:1) / AVI at
0.9 fps, 256x256, 19.0 min (1,024 frames, 8 events, 9 negative-control stretches of colour casts,
scan lines, menu pop-ups and rolling bands; about 8 s CPU to build, 2 s to screen). Measured there:
4 of 8 found (the polyp, the dark mass, the one-frame parametric map and the vessel wash-in; both
blinking spots, the photon-starved fundus and the 34-s advancing needle missed), 0.98% of frames
kept, 4 false events (12.7 an hour, 2 of them on negative stretches). Floors at or a little below
the measured figures: at least 3 of 8, at most 1% kept, at most 15 false events an hour (five false
events in these 19.0 min are 15.8). It guards what was measured; it does not bless it (the goal,
0.95 at <= 1%, is far from met). Clips are cached in ``$LOUPE_TEST_CACHE`` when set.

Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of that clip, its FIRST 3
events (tests/evidence_floor.py ``first_events``: the clip's own schedule, negative stretches and draws,
so up to event 3 the frames are the report clip's, then the construction's closing filler): 380 of 1,024
frames, 7.04 min. Measured there (session 17, the evidence backend of main at e4bbf3d, ``Settings()``):
1 of 3 found (the polyp; the blinking spot at frame 98 and the photon-starved fundus missed, as in the
whole clip), 0.79% kept, 2 false events (17.1 an hour). Floors: at least 1 of 3, at most 1% kept, at most
26 false events an hour (3 in 7.04 min)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows, first_events

CLIPS = ("cap_0.9fps_256_y41p_avi_mrstation",)
FIRST_EVENTS = 3
FOUND_FLOOR = 1             # measured 1 of 3 (session 17)
KEPT_CEILING = 0.01         # measured 0.79%
FALSE_PER_HOUR_CEILING = 26.0    # measured 2 in 7.04 min = 17.1 an hour


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen14 import UNSEEN14
    from benchmarks.evidence_appearances_unseen14 import plan_unseen14
    from benchmarks.evidence_blind_eval import run_for_floor

    short = first_events(UNSEEN14, plan_unseen14, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run_for_floor(short, a), "unseen14", CLIPS, tmp_path_factory,
                                 data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen14_floor_on_the_0p9fps_mr_station_clip(rows):
    assert rows[0]["frames_total"] == 380
    assert_evidence_floor(rows, events_true=FIRST_EVENTS, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
