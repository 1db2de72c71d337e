"""Fuzz the readers and the CLI with 1,000+ damaged copies of real files from ../shared/data
(issue 21): truncation, byte flips, removed chunks, header fields at extremes, random bytes, wrong
extensions, FIFOs, a symlink loop, a device and a non-UTF-8 name, through info, convert,
screenshot, export-frame and infer. Prints a table of verdicts per mutation and exits 1 if any
case ends in a traceback, a crash, a hang, an unnamed error or a silent wrong output.

    python benchmarks/fuzz_cli.py [--per-source 60] [--seed 0] [--time-limit 60] [--out DIR]"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.fuzz import Harness, build_cases, real_sources, run_cases  # noqa: E402
from benchmarks.common import data_root  # noqa: E402

BAD = ("traceback", "crash", "hang", "unnamed", "silent")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-source", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None, help="keep the cases and a JSON report here")
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="loupe-fuzz-"))
    os.environ.setdefault("LOUPE_HOME", str(work / "home"))
    cases = build_cases(real_sources(data_root()), work / "cases", per_source=args.per_source, seed=args.seed)
    harness = Harness(time_limit_s=args.time_limit)
    t0 = time.monotonic()
    done = [0]

    def progress(o) -> None:
        done[0] += 1
        if o.verdict != "ok":
            print(f"  {o.verdict:9s} {o.case.mutation:12s} {' '.join(o.command[:1])} "
                  f"{os.path.basename(o.case.path)!r}: {(o.stderr.strip().splitlines() or [''])[-1][:160]}",
                  flush=True)

    try:
        outcomes = run_cases(cases, work / "out", harness, progress)
    finally:
        harness.close()
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        table[o.case.mutation][o.verdict] += 1
    print(f"\n{len(cases)} damaged inputs, {len(outcomes)} command runs, {time.monotonic() - t0:.0f} s")
    cols = ["ok", *BAD]
    print(f"| mutation | runs | {' | '.join(cols)} |\n|---|---:|{'---:|' * len(cols)}")
    for m in sorted(table):
        c = table[m]
        print(f"| {m} | {sum(c.values())} | {' | '.join(str(c[k]) for k in cols)} |")
    total = collections.Counter(o.verdict for o in outcomes)
    print(f"| all | {len(outcomes)} | {' | '.join(str(total[k]) for k in cols)} |")
    if args.out:
        (work / "report.json").write_text(json.dumps(
            [{"path": os.path.basename(o.case.path), "mutation": o.case.mutation, "command": o.command[0],
              "rc": o.rc, "verdict": o.verdict, "stderr": o.stderr[-500:]} for o in outcomes], indent=1))
    return 1 if any(total[k] for k in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
