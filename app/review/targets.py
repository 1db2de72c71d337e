"""How a decision's target reads to a person. Stored references keep what they were written with
(an event's or a finding's position from 0, an ultrasound correction's "frame N" as the frame's
index from 0), so old and new records still agree on what was decided; on screen they are
numbered from 1 like every other event and frame (the Audit dock said "event 0" beside the
report's "Event 1", and "shape frame 3" beside the layer "frame 4/10")."""
from __future__ import annotations

import re

from app.scene.frames import frame_number

_COUNTED = ("event", "finding")


def target_text(kind: str, ref: str) -> str:
    """'event 1' for ('event', '0'); 'shape on frame 4' for ('shape', 'frame 3'); else 'kind ref'."""
    ref = str(ref or "").strip()
    if kind in _COUNTED and ref.isdigit():
        return f"{kind} {int(ref) + 1}"
    on_frame = re.fullmatch(r"frame (\d+)", ref)
    if on_frame:
        return f"{kind} on frame {frame_number(int(on_frame[1]))}"
    return f"{kind} {ref}".strip()
