"""The ``evidence`` backend: runs the pipeline on a video or image sequence and returns the events
as an :class:`app.layers.EventsLayer` (the timeline's evidence track), one finding per event,
``events.json`` and the storyboard files."""
from __future__ import annotations

from pathlib import Path

from app.data.types import LoupeError
from app.layers import EventsLayer, EvidenceRef, Finding, TemporalEvent
from app.scene.frames import frames_text
from backends.base import Backend, BackendInput, BackendResult, RunContext

from .spec import EvidenceParams


def settings_from(params: EvidenceParams):
    from .pipeline import Settings

    return Settings(threshold=params.threshold, max_event_s=params.max_event_s, context_s=params.context_s,
                    min_event_s=params.min_event_s, max_kept_fraction=params.max_kept_fraction,
                    key_frames=params.key_frames, fine=params.fine)


class EvidenceBackend(Backend):
    def prepare(self, inp: BackendInput, params: EvidenceParams, ctx: RunContext):
        if not inp.path:
            raise LoupeError("the evidence backend needs a video file or image-sequence folder")
        p = Path(inp.path)
        if not p.exists():
            raise LoupeError(f"{p.name}: not found")
        return p

    def run(self, path: Path, params: EvidenceParams, ctx: RunContext):
        from .pipeline import find_evidence

        res = find_evidence(path, settings_from(params), progress=ctx.progress)
        files = {}
        if params.storyboard and ctx.out_dir is not None and res.events:
            from app.data.video import open_video

            from .storyboard import write_storyboard

            ctx.progress(0.96, "writing the storyboard")
            with open_video(path) as src:
                files = write_storyboard(src, res.to_json(), ctx.output_path("storyboard.html").parent)
        return res, files

    def to_layers(self, output, inp: BackendInput, params: EvidenceParams, ctx: RunContext) -> BackendResult:
        res, files = output
        doc = res.to_json()
        events = [TemporalEvent(e["start_frame"], e["end_frame"], e["score"], e["label"], e["reason"],
                                list(e["key_frames"])) for e in doc["events"]]
        layer = EventsLayer(events, "Evidence", ctx.provenance())
        findings = [Finding(f"{e.label}: {frames_text(e.start_frame, e.end_frame)} ({e.reason})", e.score,
                            evidence=[EvidenceRef(layer.id, frames=(e.start_frame, e.end_frame))])
                    for e in events]
        stats = dict(res.stats)
        return BackendResult(layers=[layer], findings=findings, documents={"events": doc, "evidence_stats": stats},
                             files={k: str(v) for k, v in files.items()})
