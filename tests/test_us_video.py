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
        win.close()   # a failed check must not leave the video's threads running at exit
