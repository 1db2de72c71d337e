"""The runner of the standalone blind evidence evaluations (unseen10 on): the evidence backend that THIS
checkout ships, through the product path (``find_evidence(path, Settings())``), on every clip of one
construction. Clips missing in the set folder are built there first (deterministic by seed; the set hash
over every clip's file is saved). A hit is as in every earlier set (``eval_evidence.found_per_event``): a
reported event touches the true span within +-1 s (at least one frame). Written to JSON: per clip rows
(recall, frames kept, false events and per hour, false events touching a negative-control stretch),
per-event rows, recall per kind / family / rate / length class / how the event enters, pooled recall,
pooled frames kept and false events per hour, the backend's version and the Markdown tables. A clip the
backend fails on is reported as such, its events missed, and the run goes on."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class Blind:
    """One construction as the runner needs it (its module's names, bound once)."""
    name: str
    seed: int
    variations: Sequence
    mixed_kinds: Sequence[str]
    build_clip: Callable
    clip_path: Callable
    meta_path: Callable
    set_hash: Callable
    enters: tuple[str, str]       # labels for (mixed-in, cut-in) events
    enters_title: str


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=False).stdout.strip()
    except OSError:
        return ""


def evaluate(c: Blind, set_dir: Path, names: list[str] | None = None, tolerance_s: float = 1.0) -> dict:
    """Builds what is missing, screens each clip once at the product's settings, scores it."""
    from backends.evidence.pipeline import Settings, find_evidence
    from benchmarks.build_evidence_videos import cached
    from benchmarks.common import data_root
    from benchmarks.eval_evidence import found_per_event, score

    rows, hits, backend = [], [], {}
    for v in c.variations:
        if names and v.name not in names:
            continue
        path = c.clip_path(set_dir, v, c.seed)
        t0 = time.process_time()
        truth = cached(path, c.build_clip, data_dir=data_root(), variation=v, seed=c.seed)
        t_build = time.process_time() - t0
        meta = json.loads(c.meta_path(path).read_text())
        minutes = truth.n_frames / truth.fps / 60
        base = {"variation": v.name, "label": v.label(), "family": v.family, "fps": v.fps, "seed": c.seed,
                "minutes": minutes, "frames_total": truth.n_frames, "events_true": len(truth.events),
                "sha256": meta["sha256"], "build_cpu_s": round(t_build, 1),
                "negative_stretches": len(meta["negatives"])}
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            res = find_evidence(path, Settings())
        except Exception as exc:  # noqa: BLE001 - a failure is a result: report it, go on
            row = {**base, "error": f"{type(exc).__name__}: {exc}"[:160], "run_s": round(time.perf_counter() - t0, 1),
                   "events_found": 0, "frames_kept": 0, "kept_fraction": 0.0, "false_events": 0,
                   "false_per_hour": 0.0, "false_on_negative_stretches": 0}
            found = [False] * len(truth.events)
            events: list[dict] = []
        else:
            doc = res.to_json()
            backend = {k: x for k, x in doc.items() if k not in ("events", "frames_kept") and
                       isinstance(x, (str, int, float)) and len(str(x)) < 80}
            events = doc["events"]
            row = {**base, **score(truth, events, doc["frames_kept"], tolerance_s),
                   "run_s": round(time.perf_counter() - t0, 1), "run_cpu_s": round(time.process_time() - c0, 1)}
            row["false_per_hour"] = row["false_events"] / max(minutes / 60, 1e-9)
            found = found_per_event(truth, events, tolerance_s)
            tol = max(1, int(round(tolerance_s * truth.fps)))
            near = [(t.start_frame - tol, t.end_frame + tol) for t in truth.events]
            false = [e for e in events if not any(e["start_frame"] <= b and e["end_frame"] >= a for a, b in near)]
            row["false_on_negative_stretches"] = sum(
                1 for e in false if any(e["start_frame"] <= n["end_frame"] + tol and e["end_frame"] >= n["start_frame"] - tol
                                        for n in meta["negatives"]))
        row["missed"] = [f"{t.kind}:{t.source}@{t.start_frame}" for t, f in zip(truth.events, found) if not f]
        for t, f, m in zip(truth.events, found, meta["events"]):
            hits.append({"variation": v.name, "family": v.family, "rate": f"{v.fps:.4g} fps", "kind": t.kind,
                         "length_class": m["length_class"], "mixed": t.kind in c.mixed_kinds,
                         "start_frame": t.start_frame, "end_frame": t.end_frame, "frames": m["frames"],
                         "seconds": m["seconds"], "source": t.source, "found": bool(f)})
        rows.append(row)
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()}), flush=True)
    return {"rows": rows, "hits": hits, "backend": backend}


def _recall(h: list[bool]) -> dict:
    return {"found": sum(h), "events": len(h), "recall": round(sum(h) / len(h), 4) if h else None}


def summarise(c: Blind, res: dict) -> dict:
    rows, hits = res["rows"], res["hits"]
    by: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for h in hits:
        for key in ("kind", "family", "rate", "length_class", "variation"):
            by[key][h[key]].append(h["found"])
        by["enters"][c.enters[0] if h["mixed"] else c.enters[1]].append(h["found"])
    ok = [r for r in rows if not r.get("error")]
    hours = sum(r["minutes"] for r in ok) / 60
    frames = sum(r["frames_total"] for r in ok)
    pooled = {"recall": _recall([h["found"] for h in hits]),
              "kept_fraction": sum(r["frames_kept"] for r in ok) / max(1, frames),
              "false_events": sum(r["false_events"] for r in ok), "hours": round(hours, 4),
              "false_per_hour": sum(r["false_events"] for r in ok) / max(hours, 1e-9),
              "false_on_negative_stretches": sum(r["false_on_negative_stretches"] for r in ok),
              "failed_clips": [r["variation"] for r in rows if r.get("error")]}
    return {"per": {k: {n: _recall(h) for n, h in d.items()} for k, d in by.items()}, "pooled": pooled}


def tables(c: Blind, res: dict, summary: dict) -> str:
    out = ["| clip | stream | minutes | events | recall | kept | false events | false / hour | on negative stretches |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        rec = f"{r['events_found']}/{r['events_true']}" if r["events_true"] else "-"
        err = f" FAILED: {r['error']}" if r.get("error") else ""
        out.append(f"| {r['variation']} | {r['label']} | {r['minutes']:.1f} | {r['events_true']} | {rec}{err} "
                   f"| {100 * r['kept_fraction']:.2f}% | {r['false_events']} | {r['false_per_hour']:.1f} "
                   f"| {r['false_on_negative_stretches']} |")
    for key, title in (("kind", "appearance"), ("rate", "frame rate"), ("length_class", "event length"),
                       ("family", "family"), ("enters", c.enters_title)):
        out += ["", f"| {title} | found | recall |", "|---|---:|---:|"]
        for n, c in summary["per"].get(key, {}).items():
            out.append(f"| {n} | {c['found']}/{c['events']} | {c['recall']:.3f} |")
    p = summary["pooled"]
    out.append(f"\nall events: recall {p['recall']['found']}/{p['recall']['events']} = {p['recall']['recall']}; "
               f"kept {100 * p['kept_fraction']:.2f}% of all frames; false events {p['false_events']} in "
               f"{p['hours']:.2f} h = {p['false_per_hour']:.1f} / hour ({p['false_on_negative_stretches']} on "
               f"negative-control stretches)")
    return "\n".join(out)


def run_for_floor(c: Blind, a) -> int:
    """The runner the floor tests call (``a``: variations, cache, tolerance_s, json, as for unseen9)."""
    res = evaluate(c, Path(a.cache), list(a.variations) if a.variations else None, a.tolerance_s)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": res["rows"], "hits": res["hits"]}, indent=1))
    return 0


def main(c: Blind) -> int:
    ap = argparse.ArgumentParser(description=f"score this checkout's evidence backend on {c.name}")
    ap.add_argument("--set", required=True, help="folder of the built clips (missing ones are built there)")
    ap.add_argument("--out", required=True, help="the report JSON")
    ap.add_argument("--variations", nargs="+", help="only these clips")
    ap.add_argument("--tolerance-s", type=float, default=1.0)
    a = ap.parse_args()
    from backends.evidence.spec import SPEC

    set_dir = Path(a.set)
    set_dir.mkdir(parents=True, exist_ok=True)
    res = evaluate(c, set_dir, a.variations, a.tolerance_s)
    summary = summarise(c, res)
    full = not a.variations or set(a.variations) >= {v.name for v in c.variations}
    report = {"construction": c.name, "seed": c.seed, "set_hash": c.set_hash(set_dir) if full else None,
              "checkout": _git_head(), "evidence_backend_version": SPEC.version, "tolerance_s": a.tolerance_s,
              "hit": "a reported event touches the true span within +-tolerance (at least one frame)",
              "goal": "recall >= 0.95 at <= 1% of frames kept", **summary, **res}
    report["tables"] = tables(c, res, summary)
    Path(a.out).write_text(json.dumps(report, indent=1))
    print(f"\nCONSTRUCTED, {c.name} (seed {c.seed}); set hash {report['set_hash']}; checkout {report['checkout']}\n")
    print(report["tables"])
    return 0
