"""Shell hook of the ultrasound pane: shows the opened ultrasound still or cine, runs us-biometry as
a job (whole cine, or the frame on screen) and saves AoP corrections in the workspace review store."""
from __future__ import annotations

import numpy as np

from app.data.types import LoupeError
from viewers.ultrasound.pane import UltrasoundPane


def is_ultrasound(model) -> bool:
    vol = model.volume
    return str(vol.meta.get("modality", "")).upper() == "US" and vol.spatial_shape[0] == 1


def _labels_of(result) -> np.ndarray | None:
    lab = next((lay for lay in result.layers if lay.kind == "labels"), None)
    return None if lab is None else np.asarray(lab.labels)[0]


def _video_key(path: str) -> str:
    """The review store's key of a video file (the Review dock lists a video on screen by it)."""
    from app.review.study_links import video_study_key

    try:
        return video_study_key(path)
    except OSError:   # gone since it was opened: its lines are kept, linked to no study
        return ""


def build(win) -> UltrasoundPane:
    from app.ultrasound.cine import UsCine
    from backends.base import BackendInput

    from ..job_bridge import submit

    pane = UltrasoundPane()
    pane.store = win.workflow.store
    pane.user_provider = win.workflow.require_user
    pane.keep_layer = win.workflow.ensure_stored   # a correction versions the run's stored lines layer

    def link_frames() -> None:
        """One frame for the study on screen: the pane shares the frame index of the slice viewer or
        the video workspace showing the same file, so the playhead, the timeline, the viewer's
        caption and the pane cannot show different frames (session 19)."""
        ctx = win.current_view.context
        if pane.cine is None:
            return
        if ctx.model is not None and ctx.model.volume is pane.cine.volume:
            pane.bind_frames(ctx.model.frames)
        elif ctx.is_video and ctx.video is not None and str(pane.cine.source_file or "") == str(ctx.path):
            pane.bind_frames(ctx.video.frames)

    def on_opened(model) -> None:
        if not is_ultrasound(model):
            return
        try:
            pane.set_cine(UsCine(model.volume, model.source_file), win.study_of(model))
        except LoupeError as exc:
            win.show_error(f"ultrasound pane: {exc}", "Ultrasound: see the message above")
            return
        link_frames()

    def on_video(path: str) -> None:
        """A non-DICOM video that looks like B-mode also goes to the pane (the video workspace
        keeps it too); it carries no calibration, so the pane marks it uncalibrated. A multi-frame
        US DICOM with timing (an echo cine) also opens in the video workspace: the pane gets it
        by its modality, with whatever calibration the file has."""
        from app.ultrasound.video import is_ultrasound_video, us_dicom_cine_volume, video_cine_volume

        if pane.cine is not None and str(pane.cine.source_file or "") == str(path):
            return   # already in the pane (follow() loaded it when the view changed)
        try:
            dicom_vol = us_dicom_cine_volume(path)
        except LoupeError as exc:
            win.show_error(f"ultrasound pane: {exc}", "Ultrasound: see the message above")
            return
        if dicom_vol is not None:
            pane.set_cine(UsCine(dicom_vol, path), _video_key(path))
            link_frames()
            return
        if not is_ultrasound_video(path):
            return
        try:
            vol = video_cine_volume(path)
            pane.set_cine(UsCine(vol, path), _video_key(path))
        except LoupeError as exc:
            win.show_error(f"ultrasound pane: {exc}", "Ultrasound: see the message above")
            return
        link_frames()
        kept, total = vol.meta["frames_kept"], vol.meta["video_frames"]
        if kept < total:
            win.statusBar().showMessage(f"Ultrasound pane: first {kept} of {total} frames of "
                                        f"{path.rsplit('/', 1)[-1]} (memory budget)", 8000)

    def run(volume, frame: int | None) -> None:
        inp = BackendInput.from_volume(volume, "ultrasound" if not volume.time_axis else "volume")
        inp.path = pane.cine.source_file or None

        cine = pane.cine

        def done(job) -> None:
            if pane.cine is not cine:   # another study came on screen meanwhile: not its reading
                return
            if job.result is None:
                win.show_error(f"us-biometry: {job.error}", "Ultrasound: see the message above")
                return
            lines = next((lay for lay in job.result.layers if getattr(lay, "kind", "") == "shapes"), None)
            pane.set_analysis(job.result.documents["biometry"], _labels_of(job.result), frame,
                              signature=job.result.record.get("document_signatures", {}).get("biometry", ""),
                              lines_layer=lines)
        submit(win, "us-biometry", inp, {}, done)

    pane.analyseRequested.connect(lambda: pane.cine is not None and run(pane.cine.volume, None))
    pane.measureFrameRequested.connect(
        lambda t: pane.cine is not None and run(pane.cine.volume.frame(t), t))
    # the store gained a version: the Review dock lists it now (it listened only to the workflow)
    pane.saved.connect(lambda _info: (win.workflow.changed.emit(), win.review_changed()))
    def follow(ctx) -> None:   # the pane shows the ultrasound on screen, or nothing
        if ctx.model is not None and is_ultrasound(ctx.model):
            if pane.cine is None or pane.cine.volume is not ctx.model.volume:
                on_opened(ctx.model)
            else:
                link_frames()
        elif ctx.is_video and pane.cine is not None and str(pane.cine.source_file or "") == str(ctx.path):
            link_frames()   # an ultrasound video back on screen: its cine stays (on_video loaded it)
        elif ctx.is_video and ctx.path:
            # a video on screen (the pane may be built only now, when its tab is first shown): an
            # ultrasound one (B-mode file, US DICOM cine) goes into the pane, anything else clears it
            pane.clear(f"no ultrasound image on screen ({ctx.describe()})")
            on_video(ctx.path)
        else:
            pane.clear(f"no ultrasound image on screen ({ctx.describe()})" if ctx.kind != "none" else "no image")

    win.current_view.changed.connect(follow)
    follow(win.current_view.context)
    if hasattr(win, "video_opened"):   # after the view change: a B-mode video also goes to the pane
        win.video_opened.connect(on_video)
    return pane
