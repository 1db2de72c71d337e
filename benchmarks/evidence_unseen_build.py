"""The clip writer and the set plumbing shared by the blind evidence report constructions unseen12,
unseen13 and unseen14 (``evidence_appearances_unseen{12,13,14}.py``), and the plan, schedule and
negative-stretch placement of unseen10-14. Each construction keeps what is its own (variations,
kinds, worlds, event pictures, filler, noise, encoders, negative stretches and their lengths, seed)
and passes it in (a :class:`Parts`, or arguments); what these functions build is byte for byte what
each module built before they were shared (every clip of each set at its real size, encoder, plan
and seed, and the CI-subset clip at full length, checked by hash before and after the move:
/work/notes/D16-close.md)."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.build_evidence_videos import EventTruth, VideoTruth


@dataclass(frozen=True)
class Parts:
    """What one construction passes in: its tag ("unseen14"), frozen variations, seed, version,
    plan and schedule, and its event source, filler, noise, writer and negative-stretch classes."""
    tag: str
    variations: Sequence[Any]
    seed: int
    version: int
    mixed_kinds: Sequence[str]
    plan: Callable[[int], dict[str, list[tuple[str, str]]]]
    schedule: Callable[..., list[tuple[str, str, int, int]]]
    negatives_in_gap: Callable[..., list[tuple[int, str, int]]]
    source: Callable[..., Any]
    filler: Callable[..., Any]
    noise: Callable[..., Any]
    writer: Callable[..., Any]
    negative: Callable[..., Any]


# ---------------------------------------------------------------- plan

_LENGTH_S = {"capsule": {"short": (2.5, 6.0), "normal": (5.0, 12.0), "long": (30.0, 50.0)},
             "surgical": {"short": (0.3, 0.9), "normal": (1.0, 2.5), "long": (5.0, 8.0)}}


def event_length(family: str, cls: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of an event: one frame, or seconds by class (at least 2, 4 or 8 frames)."""
    if cls == "one_frame":
        return 1
    lo, hi = _LENGTH_S[family][cls]
    n = int(round(rng.uniform(lo, hi) * fps))
    return max({"short": 2, "normal": 4, "long": 8}[cls], n)


def plan_events(variations: Sequence[Any], seed: int) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    rng = np.random.default_rng(seed)
    plan: dict[str, list[tuple[str, str]]] = {}
    for v in variations:
        order = rng.permutation(len(v.kinds)) if v.kinds else []
        plan[v.name] = [(v.kinds[int(i)], v.lengths[j]) for j, i in enumerate(order)]
    return plan


def margin(v: Any) -> int:
    """Filler frames kept clear of negative stretches either side of an event (2 s, at least 3)."""
    return max(3, int(round(2.0 * v.fps)))


def schedule(v: Any, variations: Sequence[Any], plan: list[tuple[str, str]], seed: int,
             gap_scale: float) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    vid = variations.index(v) if v in variations else 99
    rng = np.random.default_rng(seed * 1000 + vid + 5)
    out = []
    for kind, cls in plan:
        gap = max(3, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        n = event_length(v.family, cls, v.fps, rng)
        out.append((kind, cls, gap, n))
    return out


def negatives_in_gap(v: Any, gap: int, rng: np.random.Generator, negatives: Sequence[str],
                     neg_len: Callable[[Any, np.random.Generator], int]) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches placed in a filler gap: one in
    the middle of a gap with room for it and the margins (events clips), or one about every
    ``negatives_every_s`` (negative controls); ``neg_len`` draws a stretch's frames (the module's own),
    ``negatives`` the module's stretch kinds."""
    m = margin(v)
    out: list[tuple[int, str, int]] = []
    if v.negatives_every_s:
        step = max(4, int(v.negatives_every_s * v.fps))
        at = int(rng.integers(m, m + step))
        while True:
            n = neg_len(v, rng)
            if at + n > gap - m:
                break
            out.append((at, negatives[int(rng.integers(len(negatives)))], n))
            at += n + int(step * rng.uniform(0.6, 1.4))
        return out
    n = neg_len(v, rng)
    if gap >= n + 2 * m + 2:
        out.append(((gap - n) // 2, negatives[int(rng.integers(len(negatives)))], n))
    return out


# ---------------------------------------------------------------- the clips

def clip_path(p: Parts, cache: Path, v: Any, seed: int) -> Path:
    return Path(cache) / f"{p.tag}_{v.name}_s{seed}_u{p.version}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_clip(p: Parts, out: Path, data_dir: Path, *, variation: Any, seed: int,
               plan: list[tuple[str, str]] | None, gap_scale: float, events_off: bool, enc: Any) -> VideoTruth:
    """One clip of construction ``p``: events per its schedule (``plan`` overrides this clip's plan;
    ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same draws with no event drawn.
    ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = p.plan(seed)
    vid = p.variations.index(v) if v in p.variations else 99
    earlier: dict[str, int] = {}
    for other in p.variations[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = p.source(d, v.world, earlier)
    sched = p.schedule(v, seed, gap_scale, plan)
    filler = p.filler(v, d, np.random.default_rng(seed * 1000 + vid + 1))
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    noise = p.noise(v, np.random.default_rng(seed * 1000 + vid + 3))
    nrng = np.random.default_rng(seed * 1000 + vid + 4)
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = p.writer(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []
    negatives: list[dict] = []

    def emit(img: np.ndarray) -> None:
        wr.write(noise(img))

    def fill(n: int) -> None:
        stretches = p.negatives_in_gap(v, n, nrng)
        at = {o: (k, m) for o, k, m in stretches}
        i = 0
        while i < n:
            if i in at:
                kind, m = at[i]
                neg = p.negative(kind, m, v.wh, nrng)
                negatives.append({"kind": kind, "start_frame": wr.n, "end_frame": wr.n + m - 1})
                for j in range(m):
                    emit(neg(j, filler.next()))
                i += m
                continue
            emit(filler.next())
            i += 1

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in p.mixed_kinds:
            source, hook = src.mixed(kind, n, v, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                emit(img if events_off else hook(i, img))
        else:
            source, frames = src.cut_in(kind, n, v, erng)
            for f in frames:
                filler.next(in_event=True)          # the scene goes on behind the cut-in view
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in p.mixed_kinds, "gap_frames": gap})
    if sched:
        fill(max(3, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed {p.tag} clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "negatives": negatives,
        "sha256": file_sha256(out), "events_off": events_off}, indent=1))
    return vt


def set_hash(p: Parts, cache: Path, seed: int) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    h = hashlib.sha256()
    for v in p.variations:
        meta = json.loads(meta_path(clip_path(p, cache, v, seed)).read_text())
        h.update(f"{v.name}:{meta['sha256']}\n".encode())
    return h.hexdigest()


def build_set(p: Parts, build: Callable[..., VideoTruth], cache: Path, data_dir: Path, seed: int,
              names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache`` with ``build`` (the module's own clip
    builder); returns {name: VideoTruth}."""
    from benchmarks.build_evidence_videos import cached

    out = {}
    for v in p.variations:
        if names and v.name not in names:
            continue
        out[v.name] = cached(clip_path(p, cache, v, seed), build, data_dir=data_dir, variation=v, seed=seed)
    return out


def main(p: Parts, build_set_: Callable[..., dict], summary: Callable[[], str],
         set_hash_: Callable[[Path], str]) -> None:
    """The command line of a construction: build the set (cached by name) and print its hash."""
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description=f"build the {p.tag} set (cached by name) and print its hash")
    ap.add_argument("--set", default=f"/tmp/{p.tag}", help="folder of the built clips")
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=None)
    a = ap.parse_args()
    if a.plan_only:
        print(summary())
        raise SystemExit(0)
    Path(a.set).mkdir(parents=True, exist_ok=True)
    for var in p.variations:
        if a.variations and var.name not in a.variations:
            continue
        t0 = time.process_time()
        vt = build_set_(Path(a.set), data_root(), names=[var.name])[var.name]
        print(f"{var.name}: {vt.n_frames} frames, {len(vt.events)} events, {time.process_time() - t0:.1f} s CPU",
              flush=True)
    if not a.variations:
        print(f"set hash {set_hash_(Path(a.set))}")
