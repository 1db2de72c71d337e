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
15.3 s with the capsule clip alone (alone, niced).

Session 17 (S17e, suite time): the floor is on a FIXED shortened construction of that clip, its FIRST 3
events (tests/evidence_floor.py ``first_events``: the clip's own schedule and draws, so up to event 3 the
frames are the report clip's, then the construction's closing filler): 384 of 1,004 frames, 16.0 min.
Measured there (session 17, the evidence backend of main at e4bbf3d, ``Settings()``): 2 of 3 found (the
polyp at frame 337 missed, as in the whole clip), 1.04% kept (the 200-s floor: 4 frames), 1 false event
(3.8 an hour). Floors: at least 2 of 3, at most 1.25% kept, at most 9 false events an hour (2 in 16.0 min)."""
from __future__ import annotations

import pytest
from evidence_floor import assert_evidence_floor, construction_rows, first_events

CLIPS = ("cap_0.4fps_256_rpza_mov",)
FIRST_EVENTS = 3
FOUND_FLOOR = 2             # measured 2 of 3 (session 17)
KEPT_CEILING = 0.0125         # measured 1.04%
FALSE_PER_HOUR_CEILING = 9.0   # measured 1 in 16.0 min = 3.8 an hour


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir):
    from benchmarks.eval_evidence_unseen8 import UNSEEN8
    from benchmarks.evidence_appearances_unseen8 import plan_unseen8
    from benchmarks.evidence_construction_eval import run

    short = first_events(UNSEEN8, plan_unseen8, FIRST_EVENTS)
    with pytest.MonkeyPatch.context() as mp:
        return construction_rows(lambda a: run(a, short), "unseen8", CLIPS, tmp_path_factory, data_dir, mp)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_unseen8_floor_on_the_capsule_stream(rows):
    assert rows[0]["frames_total"] == 384
    assert_evidence_floor(rows, events_true=FIRST_EVENTS, found_floor=FOUND_FLOOR, kept_ceiling=KEPT_CEILING,
                          false_per_hour_ceiling=FALSE_PER_HOUR_CEILING)
