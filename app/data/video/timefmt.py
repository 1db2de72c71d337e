"""Times as people type and read them: ``HH:MM:SS.mmm`` out; ``1:02:03.5``, ``75.2s`` or ``#1234``
/ ``1234`` (a frame number, counted from 1 as the viewer's caption counts them) in."""
from __future__ import annotations


def format_time(seconds: float) -> str:
    ms = int(round(max(0.0, float(seconds)) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def parse_position(text: str) -> tuple[str, float]:
    """('frame', N) or ('time', seconds). Plain integers are frame numbers as a person types them:
    from 1, as the caption "frame 1 / N" counts (the caller turns N into the 0-based index N - 1);
    anything with ':' or a trailing 's' (or a decimal point) is a time."""
    t = text.strip().lower()
    if not t:
        raise ValueError("empty position")
    if t.startswith("#") or t.startswith("f"):
        return "frame", float(_frame_number(int(t.lstrip("#f").strip())))
    if ":" in t:
        parts = [float(x) for x in t.split(":")]
        if len(parts) > 3 or any(x < 0 for x in parts):
            raise ValueError(f"not a time: {text!r}")
        secs = 0.0
        for x in parts:
            secs = secs * 60 + x
        return "time", secs
    if t.endswith("s"):
        return "time", float(t[:-1])
    if "." in t:
        return "time", float(t)
    return "frame", float(_frame_number(int(t)))


def _frame_number(n: int) -> int:
    if n < 1:   # the numbers a person types count from 1 (session 19): 0 is no frame
        raise ValueError(f"frame numbers start at 1 (got {n})")
    return n
