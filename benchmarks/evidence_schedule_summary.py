"""Clip sizes and the printed plan of a blind evidence construction, from its schedule alone (no video
is built). A schedule is a list of (kind, source, gap frames, event frames) per clip; shared by the
constructions whose clips end with a tail of half a gap (at least 3 frames) after the last event."""
from __future__ import annotations

from collections.abc import Callable, Sequence


def clip_frames_from(s: list, v) -> tuple[int, int]:
    """(all frames, true-event frames) of clip ``v`` with schedule ``s``."""
    if not s:
        return int(round(v.duration_s * v.fps)), 0
    return sum(g + n for _, _, g, n in s) + max(3, int(v.gap_s * v.fps * 0.5)), sum(n for *_, n in s)


def plan_summary(variations: Sequence, schedule: Callable[[object], list], *, show_gaps: bool = True) -> str:
    """Frames, minutes, events and the true-event share per clip, with each event's length, gap (unless
    ``show_gaps`` is off) and kind."""
    lines, tot_f, tot_t, tot_e, secs = [], 0, 0, 0, 0.0
    for v in variations:
        s = schedule(v)
        frames, t = clip_frames_from(s, v)
        tot_f, tot_t, tot_e, secs = tot_f + frames, tot_t + t, tot_e + len(s), secs + frames / v.fps
        lines.append(f"{v.name}: {frames} frames, {frames / v.fps / 60:.1f} min, {len(s)} events, "
                     f"true {100 * t / frames:.2f}%, lengths s " + ",".join(f"{n / v.fps:.2f}" for *_, n in s)
                     + (" gaps f " + ",".join(str(g) for _, _, g, _ in s) if show_gaps else "")
                     + " kinds " + ",".join(k for k, *_ in s))
    lines.append(f"TOTAL {tot_f} frames, {secs / 3600:.2f} h, {tot_e} events, true {100 * tot_t / tot_f:.2f}%")
    return "\n".join(lines)
