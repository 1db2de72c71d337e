"""Floor of the evidence backend's REPORT figure on one clip of unseen13
(benchmarks/evidence_appearances_unseen13.py, seed 173, built blind by helper U13 and frozen in
"U13: unseen13 frozen" before it was ever screened). The whole set was run once on the shipped
method (evidence 0.3.0; figures in docs/figures/evidence_unseen13_report.json). This test builds the
cheapest clip with events at the product's settings: a reader paging through chest radiographs at a
light box (grayscale, panning, zooming, the window drifting) in SGI (RLE) / MOV at 1.2 fps, 256x256,
19.9 min (1,436 frames, 8 events, 9 negative-control stretches of compression bursts, display
inversions, iris closes and shake blurs; about 10 s CPU to build, 2.5 s to screen). Measured there: 3
of 8 found (a scope disc, both glint clusters, the blocky JPEG inset and the dye stain missed), 0.70%
of frames kept, one false event (3.0 an hour). Floors a little below: at least 2 of 8, at most 1%
kept, at most 7 false events an hour (two false events in these 19.9 min are 6.0). It guards what was
measured; it does not bless it (the goal, 0.95 at <= 1%, is far from met). Clips are cached in
``$LOUPE_TEST_CACHE`` when set.

Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of that clip, its FIRST 3
events (tests/evidence_floor.py ``first_events``: the clip's own schedule, negative stretches and draws,
so up to event 3 the frames are the report clip's, then the construction's closing filler): 616 of 1,436
frames, 8.56 min. Measured there (session 17, the evidence backend of main at e4bbf3d, ``Settings()``):
2 of 3 found (the scope disc at frame 343 missed, as in the whole clip), 0.49% kept, 1 false event (7.0
an hour). Floors: at least 2 of 3, at most 1% kept, at most 15 false events an hour (2 in 8.56 min)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows, first_events

CLIPS = ("cap_1.2fps_256_sgi_mov_cxr",)
FIRST_EVENTS = 3
FOUND_FLOOR = 2             # measured 2 of 3 (session 17)
KEPT_CEILING = 0.01         # measured 0.49%
FALSE_PER_HOUR_CEILING = 15.0   # measured 1 in 8.56 min = 7.0 an hour


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen13 import UNSEEN13
    from benchmarks.evidence_appearances_unseen13 import plan_unseen13
    from benchmarks.evidence_blind_eval import run_for_floor

    short = first_events(UNSEEN13, plan_unseen13, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run_for_floor(short, a), "unseen13", CLIPS, tmp_path_factory,
                                 data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen13_floor_on_the_1p2fps_chest_radiograph_clip(rows):
    assert rows[0]["frames_total"] == 616
    assert_evidence_floor(rows, events_true=FIRST_EVENTS, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
