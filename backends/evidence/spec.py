"""Declaration of the ``evidence`` backend (light import: no NumPy work, no PyAV)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from backends.base import BackendSpec
from backends.params import Help, Params, Range


@dataclass(frozen=True)
class EvidenceParams(Params):
    threshold: Annotated[float, Range(1.0, 50.0),
                         Help("event threshold: robust novelty z-score an event must reach")] = 4.0
    max_event_s: Annotated[float, Range(0.2, 120.0), Help("longest event looked for (seconds)")] = 12.0
    context_s: Annotated[float, Range(5.0, 1800.0), Help("background model window (seconds)")] = 60.0
    min_event_s: Annotated[float, Range(0.0, 10.0), Help("shortest event reported (seconds)")] = 0.1
    max_kept_fraction: Annotated[float, Range(0.0001, 1.0),
                                 Help("reader budget: at most this fraction of frames inside events")] = 0.01
    key_frames: Annotated[int, Range(1, 12), Help("key frames per event")] = 3
    fine: Annotated[bool, Help("re-check candidate windows at full resolution")] = True
    storyboard: Annotated[bool, Help("write storyboard.html/.pdf and events.csv")] = True


# The version is part of every cached result's key: bump it whenever what the pipeline returns for the
# same video can change (0.2.0: the session-9/10 rarity and budget changes and the session-11 reader fix
# for files whose keyframe flags overclaim, none of which bumped it; results cached under 0.1.0 are stale;
# 0.3.0: session 12, very strong one-frame views rank with the events that last in the reader budget;
# 0.3.1: session 15d, the video reader's pal8 fix (QuickTime RLE gray, ...: frames reached by a seek were black,
# so key frames, the cut verifier and the fine pass saw black on such files; the method is 0.3.0's)).
SPEC = BackendSpec(
    name="evidence", version="0.3.1", inputs=("video",), params=EvidenceParams,
    outputs=("events", "findings", "document", "file"),
    impl="backends.evidence.backend:EvidenceBackend", devices=("cpu",),
    requires_modules=("av", "cv2", "scipy"),
    description="Finds the few stretches of a long endoscopy/surgical video that differ from their "
                "surroundings (screening at decode speed, weaving into events, robust scoring with "
                "key frames); writes events.json and a storyboard")
