"""Floor of the evidence backend's REPORT figure on one clip of unseen12
(benchmarks/evidence_appearances_unseen12.py, seed 163, built blind by helper U12 and frozen in
"U12: unseen12 frozen" before it was ever screened). The whole set was run once on the shipped
method (evidence 0.3.0; figures in docs/figures/evidence_unseen12_report.json). This test builds the
cheapest clip with events at the product's settings: the ultrasound sweep through the PSFHS frames
(grayscale fan on black) in Sorenson Video 1 / MOV at 0.7 fps, 256x256, 18.8 min (788 frames, 8
events, 9 negative-control stretches of gain ramps, dropouts, freezes and depth steps; about 13 s
CPU to build, 2 s to screen). Measured there: 4 of 8 found (the modality switch, the slow regional
fade, one small bright lesion and the texture shift missed), 0.89% of frames kept, one false event
(3.2 an hour). Floors a little below: at least 3 of 8, at most 1% kept, at most 7 false events an
hour (two false events in these 18.8 min are 6.4). It guards what was measured; it does not bless it
(the goal, 0.95 at <= 1%, is far from met). Clips are cached in ``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows

CLIPS = ("cap_0.7fps_256_svq1_mov_us",)
FOUND_FLOOR = 3             # measured 4 of 8 (evidence 0.3.0, the one REPORT run)
KEPT_CEILING = 0.01         # measured 0.89%
FALSE_PER_HOUR_CEILING = 7.0    # measured 3.2 (one false event in 18.8 min)


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen12 import run_unseen12

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen12, "unseen12", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen12_floor_on_the_0p7fps_ultrasound_sweep_clip(rows):
    assert_evidence_floor(rows, events_true=8, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
