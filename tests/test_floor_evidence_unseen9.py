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
0 of 3 times, and the 100-fps clip 2 of 6). Clips are cached in ``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows

CLIPS = ("cap_0.75fps_256_jpegls_avi", "surg_100fps_320x240_cineform_mov")
FOUND_FLOOR = 9            # measured 10 of 15 (evidence 0.3.0, the one REPORT run)
KEPT_CEILING = {"cap_0.75fps_256_jpegls_avi": 0.01, "surg_100fps_320x240_cineform_mov": 0.018}
FALSE_PER_HOUR_CEILING = 15.0


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen9 import run_unseen9

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen9, "unseen9", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen9_floor_on_two_streams(rows):
    assert_evidence_floor(rows, events_true=15, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
