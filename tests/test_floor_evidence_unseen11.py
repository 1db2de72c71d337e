"""Floor of the evidence backend's REPORT figure on one clip of unseen11
(benchmarks/evidence_appearances_unseen11.py, seed 151, built blind by helper V14 and frozen in
"V14: unseen11 frozen" before it was ever screened). The whole set was run once on the shipped
method (evidence 0.3.0; figures in docs/figures/evidence_unseen11_report.json). This test builds the
cheapest clip with events at the product's settings: FFV-Huffyuv in AVI at 28 fps, 320x240, 3.0 min
(5,084 frames, 7 events, 8 negative-control stretches of zoom breathing, smoke haze and OSD text
scrolling; about 29 s CPU to build and 5 s to screen). Measured there: 3 of 7 found (the polygon
dropping in, the in-place texture patch, the solarised view and the scrolling ticker band missed),
0.94% of frames kept, no false event. Floors a little below: at least 2 of 7, at most 1% kept, at
most 20 false events an hour (one false event in these 3 min is 19.8). It guards what was measured;
it does not bless it (the goal, 0.95 at <= 1%, is far from met). Clips are cached in
``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows

CLIPS = ("surg_28fps_320x240_ffvhuff_avi",)
FOUND_FLOOR = 2             # measured 3 of 7 (evidence 0.3.0, the one REPORT run)
KEPT_CEILING = 0.01         # measured 0.94%
FALSE_PER_HOUR_CEILING = 20.0   # measured 0 in 3.0 min


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen11 import run_unseen11

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen11, "unseen11", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen11_floor_on_the_28fps_surgical_clip(rows):
    assert_evidence_floor(rows, events_true=7, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
