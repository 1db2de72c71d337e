"""Video evidence sentences from an evidence result: how many notable events, and each with its
times, frames, key frame and score. Frames are numbered from 1 and timed from the first frame, as
the video viewer's caption shows them ('frame n / N   hh:mm:ss.mmm'; session 19, was 0-based); the
locators keep the 0-based indices for navigation beside the numbers written; times come from the video's
own frame table when the case video is at hand, else from the frame numbers and the frame rate."""
from __future__ import annotations

import numpy as np

from app.report.model import Evidence, Report
from app.scene.frames import frame_number

from .common import ResultFolder, fmt, rounded

SECTION = "Video evidence"
CONCEPT = "notable event"


def frame_times(case) -> np.ndarray | None:
    """Start time of each frame, in s from the first, as the video viewer's caption shows it beside
    'frame n / N' (the frame index's times: exact for a variable frame rate or a stream whose
    first pts is not zero); None when the case does not open as a video."""
    from app.data.video import open_video

    try:
        with open_video(case) as src:
            return np.asarray(src.index.times, float).copy()
    except Exception:  # noqa: BLE001 - not a readable video: the times come from the frame rate
        return None


def draft(rep: Report, rf: ResultFolder, times: np.ndarray | None = None) -> None:
    """Frame numbers are written from 1, as the viewer's caption 'frame n / N' shows them; times
    are the viewer's ('times', per frame, from :func:`frame_times`) when given for this many
    frames, else frame / frame rate."""
    doc = rf.json("events.json")
    stats = rf.json("evidence_stats.json") if rf.file("evidence_stats.json").is_file() else {}
    fps = float(stats.get("fps") or 0.0)
    name, src = rf.input_name, rf.src("events.json")
    n_total = int(doc.get("frames_total", 0))
    if times is not None and len(times) != n_total:
        times = None   # another video than the one the result was computed on: keep to the frame rate
    events = doc.get("events") or []
    head = [Evidence("measurement", src, {"video": name}, n_total, "", "frames"),
            Evidence("finding", src, {"video": name}, bool(events), "", CONCEPT)]
    span = ""
    if fps > 0:
        dur, f = rounded(n_total / fps, 1), rounded(fps, 1)
        span = f", {fmt(dur, 1)} s at {fmt(f, 1)} fps"
        head += [Evidence("measurement", src, {"video": name}, dur, "s", "duration"),
                 Evidence("measurement", src, {"video": name}, f, "Hz", "frame rate")]
    if not events:
        rep.add(SECTION, f"No {CONCEPT}s were found in {name} ({n_total} frames{span}).", head)
        return
    head.append(Evidence("measurement", src, {"video": name}, len(events), "", "notable events"))
    rep.add(SECTION, f"The review of {name} ({n_total} frames{span}) found {len(events)} {CONCEPT}s.", head)
    for i, e in enumerate(events, 1):
        f0, f1 = int(e["start_frame"]), int(e["end_frame"])
        # "start_frame" / "frame": 0-based indices (navigation); "..._number": what the sentence writes
        loc = {"video": name, "event": i, "start_frame": f0, "end_frame": f1,
               "start_frame_number": frame_number(f0), "end_frame_number": frame_number(f1)}
        text = f"Event {i}, {e.get('label', 'event')}: frames {frame_number(f0)} to {frame_number(f1)}"
        kf = int((e.get("key_frames") or [f0])[0])
        kloc = {"video": name, "frame": kf, "frame_number": frame_number(kf)}
        if fps > 0 or times is not None:
            t_of = (lambda f: float(times[f])) if times is not None else (lambda f: f / fps)
            loc.update(start_s=rounded(t_of(f0), 1), end_s=rounded(t_of(f1), 1))
            kloc["time_s"] = rounded(t_of(kf), 1)
            text += f" ({fmt(loc['start_s'], 1)} s to {fmt(loc['end_s'], 1)} s)"
            text += f"; key frame {frame_number(kf)} at {fmt(kloc['time_s'], 1)} s"
        else:
            text += f"; key frame {frame_number(kf)}"
        score = rounded(e.get("score", 0.0), 2)
        rep.add(SECTION, text + f"; score {fmt(score, 2)}.",
                [Evidence("locator", src, loc, None, "", "event"), Evidence("locator", src, kloc, None, "", "key frame"),
                 Evidence("measurement", src, {"video": name, "event": i}, score, "", "score")])
