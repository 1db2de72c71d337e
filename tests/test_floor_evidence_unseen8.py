"""Floor of the evidence backend's session-11 REPORT figure on two of its clips: unseen8
(benchmarks/evidence_appearances_unseen8.py, seed 113, built blind by a seventh evaluator and frozen
before it was ever screened). Run once on the merged method: 19/30 events = 0.633, 0.99% of frames
kept pooled, 16.6 false events per hour over 1.21 h; run again after the reader's keyframe-claims fix
(the 0.4-fps Apple Video clip is one whose flags overclaim): identical. This test builds its CI pair at
the product's settings: Apple Video (RPZA) in MOV at 0.4 fps (capsule, 5/9, 6 false events in 41.8
min, 1.20% kept: the 200-s low-rate floor) and RealVideo 1 in RM at 40 fps (surgical, 2/6, none false,
0.99% kept); measured 7 of 15 and 8.3 false events an hour over both. Floors: at least 6 of 15 found,
at most 1.25% of the 0.4-fps clip (its 200-s floor) and 1% of the 40-fps clip kept, at most 15 false
events an hour. It guards what was measured; it does not bless it (the goal, 0.95 at <= 1%, is far
from met here). Session 12 (E20h, DEV since unseen8 was reported): a one-frame event with z >= 40 ranks
with the events that last (evidence 0.3.0), so the 0.4-fps clip shows the iris view of z 192 it used to
leave out: 6/9, 5 false events; measured 8 of 15 and 6.9 false events an hour over both (floor 6 -> 7).
Clips are cached in ``$LOUPE_TEST_CACHE`` when set.

Session 15 (suite time): the floor is on a FIXED subset of that pair, the capsule clip alone (the clip with
the events and the false alarms; the 40-fps RealVideo 1 surgical clip, 3,341 frames, cost about 57 % of the
file's CPU and is left out, so no CI floor screens an rv10 stream now; surgical streams stay covered by
unseen11's ffvhuff clip). Measured on it (evidence 0.3.0, on main at session 15): 6 of 9 found (the polyp
at frame 337, the block dissolve and the growing picture-in-picture missed), 1.20% kept (its 200-s floor),
5 false events in 41.8 min (7.2 an hour). Floors in S15's margins for unseen7/9: at least 5 of 9, at most
1.25% kept, at most 9 false events an hour (about 1.2x). The file cost 35.7 s of CPU with the pair and
15.3 s with the capsule clip alone (alone, niced)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows

CLIPS = ("cap_0.4fps_256_rpza_mov",)
FOUND_FLOOR = 5                 # measured 6 of 9 (the pair: 8 of 15 on 0.3.0, floor 7)
KEPT_CEILING = 0.0125           # measured 1.20%: the 0.4-fps clip's 200-s floor
FALSE_PER_HOUR_CEILING = 9.0    # measured 5 in 41.8 min = 7.2 an hour (the pair: 6.9, ceiling 15)


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen8 import run_unseen8

    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(run_unseen8, "unseen8", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen8_floor_on_the_capsule_stream(rows):
    assert_evidence_floor(rows, events_true=9, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
