"""The frame of a 4D or multi-frame study in the web viewer (a time series, a mosaic fMRI run, a
cine): a Frame slider numbered from 1, as the picture's corner ("Frame 2/3") and the desktop's cine
count, moving the scene's one ``FrameCursor`` (``Scene.frames``: the tab's own study, so another
study opened in the tab starts at its first frame). A typed number past either end is clamped, as
the desktop's cursor clamps; what is not a number is one line."""
from __future__ import annotations

from typing import Any

from app.data.types import LoupeError


def frame_slider(scene: Any) -> dict[str, Any]:
    """The Frame slider's settings for ``scene``: 1..N at the frame shown, shown only for a study
    with more than one frame (Gradio refuses a slider whose maximum equals its minimum)."""
    n = int(scene.n_frames) if scene is not None else 1
    return {"minimum": 1, "maximum": max(n, 2), "value": (scene.frame + 1) if scene is not None else 1,
            "interactive": n > 1, "visible": n > 1}


def show_frame(scene: Any, number: Any) -> int:
    """Show frame ``number`` (from 1; clamped to 1..N) of ``scene``; returns the number shown."""
    from app.web.measure import finite

    if scene is None:
        raise LoupeError("open a study first")
    n = int(round(finite(number, "frame")))
    n = min(max(n, 1), max(int(scene.n_frames), 1))
    scene.frames.set(n - 1)
    return scene.frame + 1
