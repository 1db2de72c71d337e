"""Floor on unseen7's 12-fps H.261 clip (benchmarks/evidence_appearances_unseen7.py, seed 101;
development material since its one report run), issue 20 session 11. The AVI flags every H.261
packet as a keyframe while the encoder made an intra picture every 36 frames, so a seek decoded a P
picture on a blank reference and the cut verifier, shown those wrong pictures, dropped 3 true
events: 3 of 7 found, 11 false events in 14.2 min (E20g). AVSource now checks each claimed keyframe
against the decoder and decodes from the nearest real intra picture (app/data/video/av_source.py):
measured 6 of 7, 9 false events (38.0 an hour), 102 frames kept (1.00%), the figure E20g measured
with its evidence-side intra walk. Test and floors taken over unchanged from E20g (98da544): at
least 5 of 7, at most 1% kept, at most 45 false events an hour. Clips are cached in
``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows

CLIPS = ("cap_12fps_352x288_h261_avi",)
FOUND_FLOOR = 5
KEPT_CEILING = 0.01
FALSE_PER_HOUR_CEILING = 45.0


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen7 import run_unseen7

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen7, "unseen7", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_h261_clip_found_with_seeks_from_real_intra_pictures(rows):
    assert_evidence_floor(rows, events_true=7, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
