"""A fast subset of the reader/CLI fuzz (benchmarks/fuzz_cli.py runs 1,000+ cases): damaged
copies of real files through info, convert, screenshot and export-frame must each end in exit 0
with the right picture (or a warning), or one error line naming the file: never a traceback, a
signal, a hang or a silently wrong picture."""
from __future__ import annotations

import collections

from app.fuzz import Harness, build_cases, real_sources, run_cases


def test_damaged_real_files_never_crash_hang_or_lie(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("LOUPE_HOME", str(tmp_path / "home"))
    sources = real_sources(data_dir)
    picks = [s for s in sources if s.suffix in (".nii", ".mha", ".mp4") or "jpg1" in s.name
             or s.name == "I10" or s.suffix == ".png"][:6]
    assert len(picks) >= 5, picks
    cases = build_cases(picks, tmp_path / "cases", per_source=5, seed=7)
    harness = Harness(time_limit_s=60)
    try:
        outcomes = run_cases(cases, tmp_path / "out", harness)
    finally:
        harness.close()
    verdicts = collections.Counter(o.verdict for o in outcomes)
    bad = [(o.verdict, o.case.mutation, o.command[0], o.case.path.rsplit("/", 1)[-1], o.stderr[-300:])
           for o in outcomes if o.verdict != "ok"]
    assert len(outcomes) >= 80 and not bad, (verdicts, bad[:5])
    assert {"fifo", "device", "symlink_loop", "non_utf8", "truncate", "header"} <= {c.mutation for c in cases}
