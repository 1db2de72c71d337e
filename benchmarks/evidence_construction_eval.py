"""Running and tabulating a blind evidence construction (unseen4, unseen5) for
``eval_evidence_appearances.py``: every clip is built (cached), screened once with the product's
settings, and scored. Printed: per clip (stream) recall, frames kept, false events per hour; recall
per appearance by family, per stream, per frame rate, per event length class, and for events mixed
into the continuing scene against events cut in; all events' recall, the share of all frames kept,
and false events per hour over all video (negative controls have no true events). A clip the backend
fails on is reported as such, its events missed, and the run goes on: a construction is run once, and
one failure must not cost the others. Each construction module supplies its names through a
``Construction``."""
from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.build_evidence_videos import cached
from benchmarks.common import data_root
from benchmarks.eval_evidence import found_per_event, score


@dataclass(frozen=True)
class Construction:
    """What the runner needs from one construction module."""
    name: str
    seed: int
    families: Sequence[str]
    kinds: Sequence[str]
    length_classes: Sequence[str]
    mixed_kinds: Any
    variations: Sequence[Any]
    by_name: Mapping[str, Any]
    build_clip: Callable[..., Any]
    clip_path: Callable[..., Path]


_HOW = ("mixed into the continuing scene", "cut in")


def _cell(h: list[bool]) -> str:
    return f"{sum(h)}/{len(h)}" if h else "-"


def _rate(fps: float) -> str:
    return f"{fps:.4g} fps"


def tables(rows: list[dict], hits: list[dict], c: Construction) -> str:
    """The report's Markdown tables from per-clip rows and per-event hits (also used by tests)."""
    out = ["| clip (stream) | frames | minutes | true events (% of frames) | recall | kept "
           "| kept outside true events | false events | false events / hour | run s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("error"):
            out.append(f"| {r['variation']} ({r['label']}) | {r['frames_total']} | {r['minutes']:.1f} "
                       f"| {r['events_true']} | 0/{r['events_true']} | FAILED: {r['error']} | | | | |")
            continue
        outside = r["kept_fraction"] * (1 - r["frame_precision"])
        rec = f"{r['events_found']}/{r['events_true']}" if r["events_true"] else "-"
        out.append(f"| {r['variation']} ({r['label']}) | {r['frames_total']} | {r['minutes']:.1f} "
                   f"| {r['events_true']} ({100 * r['truth_fraction']:.2f}%) | {rec} | {100 * r['kept_fraction']:.2f}% "
                   f"| {100 * outside:.2f}% | {r['false_events']} | {r['false_per_hour']:.1f} | {r['run_s']:.0f} |")
    by = defaultdict(list)
    for h in hits:
        by[("kind", h["kind"], h["family"])].append(h["found"])
        by[("kind", h["kind"])].append(h["found"])
        by[("var", h["variation"])].append(h["found"])
        by[("rate", h["rate"])].append(h["found"])
        by[("len", h["length_class"], h["family"])].append(h["found"])
        by[("len", h["length_class"])].append(h["found"])
        by[("how", _HOW[0] if h["kind"] in c.mixed_kinds else _HOW[1])].append(h["found"])
    out += ["", "| appearance | " + " | ".join(c.families) + " | all |", "|---|" + "---:|" * (len(c.families) + 1)]
    for k in c.kinds:
        out.append(f"| {k} | " + " | ".join(_cell(by[("kind", k, f)]) for f in c.families)
                   + f" | {_cell(by[('kind', k)])} |")
    out += ["", "| stream | recall |", "|---|---:|"]
    for v in c.variations:
        if v.events and by[("var", v.name)]:
            out.append(f"| {v.name} ({v.label()}) | {_cell(by[('var', v.name)])} |")
    out += ["", "| frame rate | recall |", "|---|---:|"]
    for fps in sorted({v.fps for v in c.variations}):
        if by[("rate", _rate(fps))]:
            out.append(f"| {_rate(fps)} | {_cell(by[('rate', _rate(fps))])} |")
    out += ["", "| event length | " + " | ".join(c.families) + " | all |", "|---|" + "---:|" * (len(c.families) + 1)]
    for cls in c.length_classes:
        out.append(f"| {cls} | " + " | ".join(_cell(by[("len", cls, f)]) for f in c.families)
                   + f" | {_cell(by[('len', cls)])} |")
    out += ["", "| how the event enters | recall |", "|---|---:|"]
    for how in _HOW:
        out.append(f"| {how} | {_cell(by[('how', how)])} |")
    allh = [h["found"] for h in hits]
    ok = [r for r in rows if not r.get("error")]
    hours = sum(r["minutes"] for r in ok) / 60
    false = sum(r["false_events"] for r in ok)
    kept = sum(r["frames_kept"] for r in ok) / max(1, sum(r["frames_total"] for r in ok))
    out.append(f"\nall events: recall {sum(allh)}/{len(allh)} = {sum(allh) / max(1, len(allh)):.3f}; "
               f"kept {100 * kept:.2f}% of all frames; "
               f"false events {false} in {hours:.2f} h of video = {false / max(hours, 1e-9):.1f} / hour")
    failed = [r["variation"] for r in rows if r.get("error")]
    if failed:
        out.append(f"clips the backend failed on (their events count as missed): {', '.join(failed)}")
    for r in ok:
        if not r["events_true"]:
            out.append(f"negative control {r['variation']}: {r['false_events']} false events in {r['minutes']:.1f} min "
                       f"= {r['false_per_hour']:.1f} / hour, kept {100 * r['kept_fraction']:.2f}% of frames")
    return "\n".join(out)


def run(a, c: Construction) -> int:
    from backends.evidence.pipeline import Settings, find_evidence

    seed = (a.seeds or [c.seed])[0]
    chosen = [c.by_name[n] for n in a.variations] if a.variations else list(c.variations)
    rows, hits = [], []
    for v in chosen:
        path = c.clip_path(Path(a.cache), v, seed)
        t0 = time.perf_counter()
        truth = cached(path, c.build_clip, data_dir=data_root(), variation=v, seed=seed)
        t_build = time.perf_counter() - t0
        meta = json.loads(path.with_suffix(".meta.json").read_text())
        if a.build_only:
            print(f"built {path.name}: {truth.n_frames} frames, {len(truth.events)} events ({t_build:.0f} s)", flush=True)
            continue
        minutes = truth.n_frames / truth.fps / 60
        base = {"variation": v.name, "label": v.label(), "family": v.family, "seed": seed, "minutes": minutes,
                "frames_total": truth.n_frames, "events_true": len(truth.events), "build_s": round(t_build, 1)}
        t0 = time.perf_counter()
        try:
            res = find_evidence(path, Settings())
        except Exception as exc:  # noqa: BLE001 - a failure is a result: report it, go on
            row = {**base, "error": f"{type(exc).__name__}: {exc}"[:160], "run_s": round(time.perf_counter() - t0, 1)}
            found = [False] * len(truth.events)
        else:
            t_run = time.perf_counter() - t0
            doc = res.to_json()
            row = {**base, **score(truth, doc["events"], doc["frames_kept"], a.tolerance_s), "run_s": round(t_run, 1)}
            row["false_per_hour"] = row["false_events"] / max(minutes / 60, 1e-9)
            found = found_per_event(truth, doc["events"], a.tolerance_s)
        row["missed"] = [f"{t.kind}:{t.source}@{t.start_frame}" for t, f in zip(truth.events, found) if not f]
        for t, f, m in zip(truth.events, found, meta["events"]):
            hits.append({"kind": t.kind, "family": v.family, "variation": v.name, "rate": _rate(v.fps),
                         "length_class": m["length_class"], "found": bool(f)})
        rows.append(row)
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()}), flush=True)
    if a.build_only:
        return 0
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "hits": hits}, indent=1))
    print(f"\nCONSTRUCTED, {c.name} (seed {seed}); tolerance ±{a.tolerance_s:g} s; goal: recall >= 0.95 at <= 1% kept\n")
    print(tables(rows, hits, c))
    return 0
