"""Ultrasound video files (not DICOM) reach the ultrasound pane: a B-mode mp4 made from consecutive
PSFHS frames of one acquisition opens in the video workspace *and* the pane (uncalibrated, its own
frame rate, measurable); a colour endoscopy video stays out of the pane."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FPS = 20


def _psfhs_mp4(data_dir: Path, out: Path, n: int = 8) -> tuple[Path, list[np.ndarray]]:
    import av
    from PIL import Image

    from backends.ultrasound.psfhs import load_split

    ids = load_split()["test"][:n]
    frames = [np.asarray(Image.open(data_dir / "ultrasound/PSFHS_png/images" / f"{i}.png").convert("L")) for i in ids]
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 256, 256, "yuv420p"
        s.codec_context.options = {"preset": "ultrafast", "crf": "12"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.repeat(f[..., None], 3, -1), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return out, frames


def test_bmode_video_is_recognised_and_read_as_an_uncalibrated_cine(data_dir, tmp_path):
    from app.ultrasound.cine import UsCine
    from app.ultrasound.video import is_ultrasound_video, video_cine_volume
    from backends.ultrasound.analyze import analyse_frames, best_frame

    path, frames = _psfhs_mp4(data_dir, tmp_path / "tpu.mp4")
    assert is_ultrasound_video(path)
    assert not is_ultrasound_video(data_dir / "endoscopy/endovis2017_clip/short_source.mp4")
    assert not is_ultrasound_video(data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm")  # DICOM: by modality
    cine = UsCine(video_cine_volume(path), path)
    assert len(cine) == len(frames) and cine.frame_ms == pytest.approx(1000 / FPS)
    assert not cine.calibrated and "UNCALIBRATED" in cine.calibration_text()
    # decoded frames are the encoded pictures (lossy codec: close, not equal)
    assert np.abs(cine.frame(3).astype(float) - frames[3]).mean() < 3.0
    res = analyse_frames(cine.frames())
    assert best_frame(res) is not None and all(r.bio.aop_deg is not None for r in res if r.plane.usable)
    # a memory budget keeps the first frames and says how many the file has
    short = video_cine_volume(path, max_bytes=3 * 256 * 256)
    assert short.array.shape[0] == 3 and short.meta["video_frames"] == len(frames)


@pytest.mark.gui
def test_shell_routes_an_ultrasound_video_to_the_pane_but_not_an_endoscopy_video(qtbot, data_dir, tmp_path):
    from app.shell.main_window import MainWindow

    path, frames = _psfhs_mp4(data_dir, tmp_path / "tpu.mp4")
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    pane = win.panel("ultrasound")
    with qtbot.waitSignal(win.video_opened, timeout=30000):
        win.open_path(endo := data_dir / "endoscopy/endovis2017_clip/short_source.mp4")
    assert str(endo) and getattr(pane, "cine", None) is None
    with qtbot.waitSignal(win.video_opened, timeout=30000):
        win.open_path(path)
    assert pane.cine is not None and len(pane.cine) == len(frames)
    assert "UNCALIBRATED" in pane.calib_label.text() and pane.canvas.uncalibrated
    assert pane.frame_label.text() == f"1/{len(frames)} (50 ms)"
    win.close()


@pytest.mark.gui
def test_review_dock_lists_the_ai_output_and_correction_of_an_ultrasound_video(qtbot, data_dir, tmp_path,
                                                                              monkeypatch):
    """Session-17 walk (u09): after Save correction of the AoP on a B-mode mp4 the Review dock read
    "0 of 0 item(s) in tpu.mp4" though the human version was in the store: the pane's lines and
    us-biometry's masks of a video were linked to no study (the dock lists the study on screen).
    W17b's walk: then it listed two "AoP / HSD lines" rows for one output, the run's layer and the
    pane's copy of it that the correction was a version of. A correction of the frame the run stored
    lines for is a version of the run's layer; another frame's lines are a layer named by its frame."""
    from types import SimpleNamespace

    from app.jobs.attest import attest_layer, document_signature
    from app.layers import LabelLayer, Provenance, ShapesLayer
    from app.shell.current_view import remember_context
    from app.shell.main_window import MainWindow
    from backends.ultrasound.backend import lines_shape
    from backends.ultrasound.biometry import AopLines

    submitted = []   # the pane's Analyse cine goes to the runner through the hook's submit: kept here
    monkeypatch.setattr("app.shell.job_bridge.submit", lambda *a, **_k: submitted.append(a))
    path, _frames = _psfhs_mp4(data_dir, tmp_path / "tpu.mp4", n=3)
    win = MainWindow()
    qtbot.addWidget(win)
    win.settings.set("user", "dr_t")
    win.show()
    try:
        with qtbot.waitSignal(win.video_opened, timeout=30000):
            win.open_path(path)
        pane, review = win.panel("ultrasound"), win.panel("review")
        assert pane.cine is not None and review.study.startswith("video:")
        assert review.items == [] and "0 of 0 item(s) in tpu.mp4" in review.status.text()
        pane.analyse_button.click()
        (_win, backend, _inp, _params, done), = submitted
        assert backend == "us-biometry"
        # the run on the video (readings of frames 1 and 2, best 1, signed as the runner signs them):
        # its PS / fetal head masks and AoP lines of frame 1 reach no view, but are AI output of it
        reading = {"aop_deg": 120.0, "plane_score": 0.9,
                   "lines": {"ps_superior": [60.0, 100.0], "ps_inferior": [100.0, 130.0],
                             "fh_tangent": [200.0, 90.0], "hsd_end": None}}
        doc = {"model_version": "t", "best_frame": 1, "frame": 1,
               "frames": [{**reading, "frame": 1}, {**reading, "frame": 2}]}
        run = Provenance.backend("us-biometry", "t")
        masks = attest_layer(LabelLayer(np.zeros((1, 256, 256), np.uint8), np.eye(4), "PS / fetal head", run))
        lines = attest_layer(ShapesLayer(lines_shape(AopLines.from_dict(reading["lines"]), np.eye(4), 1),
                                         "AoP / HSD lines", run))
        job = type("Job", (), {"backend": "us-biometry", "result": SimpleNamespace(   # weak-referenceable
            layers=[masks, lines], findings_layer=lambda _b: None, documents={"biometry": doc},
            record={"document_signatures": {"biometry": document_signature("biometry", doc)}})})()
        remember_context(job, win.current_view.context)
        win.panel("jobs")._result(job)   # the Backends dock stores them (in the background)
        done(job)                        # the pane shows the reading
        win.workflow.wait_saved()
        qtbot.waitUntil(lambda: {it.layer_id for it in review.items} == {masks.id, lines.id}, timeout=5000)
        # frame 1 (the run's lines): a handle moved, Save correction -> a version of the run's layer
        assert pane.t == 1 and pane.edit is not None
        x, y = pane.edit.lines.fh_tangent
        pane._on_handle_moved("fh_tangent", x + 6, y + 3)
        info = pane.save_correction()
        assert info is not None and info.author == "dr_t" and info.layer_id == lines.id
        rows = {it.layer_id: it for it in review.items}
        assert set(rows) == {masks.id, lines.id}, [it.title for it in review.items]   # one lines row, not two
        assert rows[lines.id].reason == "2 version(s), edited by dr_t"
        assert "of 2 item(s) in tpu.mp4" in review.status.text()
        # frame 2 (no layer of the run): its own layer, named by its frame, linked to the video
        pane.step(1)
        assert pane.t == 2
        pane._on_handle_moved("fh_tangent", x + 6, y + 3)
        info2 = pane.save_correction()
        assert info2 is not None and info2.layer_id not in (masks.id, lines.id)
        rows = {it.layer_id: it for it in review.items}
        assert set(rows) == {masks.id, lines.id, info2.layer_id}
        assert rows[info2.layer_id].reason == "2 version(s), edited by dr_t"
        assert rows[info2.layer_id].title.startswith("AoP / HSD lines, frame 3/3 (")
        assert rows[lines.id].title.startswith("AoP / HSD lines (")
    finally:
        win.close()


@pytest.mark.gui
def test_shell_gives_a_us_dicom_echo_cine_to_the_pane_too(qtbot, data_dir):
    """The real 10-frame echo cine (multi-frame US DICOM with Frame Time) opens in the video
    workspace, and the Ultrasound pane plays it as the README says (session-17 walk: the pane said
    "no ultrasound image on screen (video US-PAL-8-10x-echo.dcm)", also because the pane, built when its
    tab is first shown, cleared itself for any video on screen); a non-US DICOM stays out."""
    from app.shell.main_window import MainWindow
    from app.ultrasound.video import us_dicom_cine_volume

    echo = data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm"
    assert us_dicom_cine_volume(data_dir / "xray_iqa/cxr/RG1_J2KI.dcm") is None   # DICOM, not US
    assert us_dicom_cine_volume(data_dir / "xray_iqa/cxr/tb0005.png") is None     # not DICOM
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.video_opened, timeout=30000):
            win.open_path(echo)
        assert "ultrasound" not in win.panels   # its tab not shown yet: the pane is built only now
        assert win.windowTitle() == "Loupe - US-PAL-8-10x-echo.dcm"   # the walk saw the previous CT's title
        pane = win.panel("ultrasound")
        assert pane.cine is not None and len(pane.cine) == 10
        assert "UNCALIBRATED" in pane.calib_label.text() and pane.frame_label.text() == "1/10 (76 ms)"
        pane.step(1)
        assert pane.t == 1
    finally:
        win.close()   # stops the video's threads (tests/test_video_task_lifetime.py)
