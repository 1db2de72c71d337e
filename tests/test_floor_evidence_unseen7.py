"""Floor of the evidence backend's session-10 REPORT figure on two of its clips: unseen7
(benchmarks/evidence_appearances_unseen7.py, seed 101, built blind by a sixth evaluator and frozen
before it was ever screened). Run once on the merged method: 25/33 events = 0.758, 0.76% of frames
kept, 23.6 false events per hour over 1.61 h. This test builds two of its quicker streams at the
product's settings: Microsoft Video 1 at 1.5 fps (capsule, 7/7, 14 false events in 25.4 min) and
ASUS V2 at 48 fps (surgical, 4/6, none false in 3.4 min); measured 11 of 13 and 29.2 false events an
hour over both. Floors: at least 10 of 13 found, at most 1% of each clip kept (both are above the
0.5-fps budget floor), at most 35 false events an hour. It guards what was measured; it does not
bless it (the goal, 0.95 at <= 1%, is not met). Clips are cached in ``$LOUPE_TEST_CACHE`` when set."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

CLIPS = ("cap_1.5fps_320x240_msvideo1_avi", "surg_48fps_320x240_asv2_avi")
FOUND_FLOOR = 10
KEPT_CEILING = 0.01
FALSE_PER_HOUR_CEILING = 35.0


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def rows(tmp_path_factory, data_dir, monkeypatch_module):
    from benchmarks.eval_evidence_unseen7 import run_unseen7

    monkeypatch_module.setenv("LOUPE_DATA", str(data_dir))
    env = os.environ.get("LOUPE_TEST_CACHE")
    cache = Path(env) / "unseen7" if env else tmp_path_factory.mktemp("unseen7")
    out = tmp_path_factory.mktemp("unseen7_rows") / "rows.json"
    a = SimpleNamespace(seeds=None, variations=list(CLIPS), cache=str(cache), build_only=False,
                        tolerance_s=1.0, json=str(out))
    assert run_unseen7(a) == 0
    return json.loads(out.read_text())["rows"]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_unseen7_floor_on_two_streams(rows):
    assert [r["variation"] for r in rows] == list(CLIPS) and not any(r.get("error") for r in rows), rows
    assert sum(r["events_true"] for r in rows) == 13
    found = sum(r["events_found"] for r in rows)
    assert found >= FOUND_FLOOR, [(r["variation"], r["events_found"], r["missed"]) for r in rows]
    for r in rows:
        assert r["kept_fraction"] <= KEPT_CEILING + 1e-9, (r["variation"], r["kept_fraction"])
    hours = sum(r["minutes"] for r in rows) / 60
    assert sum(r["false_events"] for r in rows) / hours <= FALSE_PER_HOUR_CEILING
