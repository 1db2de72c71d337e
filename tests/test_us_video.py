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
def test_review_dock_lists_the_ai_output_and_correction_of_an_ultrasound_video(qtbot, data_dir, tmp_path):
    """Session-17 walk (u09): after Save correction of the AoP on a B-mode mp4 the Review dock read
    "0 of 0 item(s) in tpu.mp4" though the human version was in the store: the pane's lines and
    us-biometry's masks of a video were linked to no study (the dock lists the study on screen)."""
    from types import SimpleNamespace

    from app.jobs.attest import attest_layer, document_signature
    from app.layers import LabelLayer, Provenance
    from app.shell.current_view import remember_context
    from app.shell.main_window import MainWindow

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
        # a us-biometry run on the video: its PS / fetal head masks reach no view, but are AI output of it
        masks = attest_layer(LabelLayer(np.zeros((1, 256, 256), np.uint8), np.eye(4), "PS / fetal head",
                                        Provenance.backend("us-biometry", "t")))
        job = type("Job", (), {"backend": "us-biometry", "result": SimpleNamespace(   # weak-referenceable
            layers=[masks], findings_layer=lambda _b: None)})()
        remember_context(job, win.current_view.context)
        win.panel("jobs")._result(job)
        win.workflow.wait_saved()
        qtbot.waitUntil(lambda: any(it.layer_id == masks.id for it in review.items), timeout=5000)
        # the reading of frame 1, signed as the runner signs it; a handle moved; Save correction
        doc = {"model_version": "t", "best_frame": 1, "frames": [
            {"frame": 1, "aop_deg": 120.0, "plane_score": 0.9,
             "lines": {"ps_superior": [60.0, 100.0], "ps_inferior": [100.0, 130.0], "fh_tangent": [200.0, 90.0],
                       "hsd_end": None}}]}
        pane.set_analysis(doc, None, signature=document_signature("biometry", doc))
        assert pane.t == 1 and pane.edit is not None
        x, y = pane.edit.lines.fh_tangent
        pane._on_handle_moved("fh_tangent", x + 6, y + 3)
        info = pane.save_correction()
        assert info is not None and info.author == "dr_t"
        rows = {it.layer_id: it for it in review.items}
        assert set(rows) == {masks.id, info.layer_id}, [it.title for it in review.items]
        assert rows[info.layer_id].reason == "2 version(s), edited by dr_t"
        assert "of 2 item(s) in tpu.mp4" in review.status.text()
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
