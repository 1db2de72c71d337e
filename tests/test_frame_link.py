"""One frame per study, numbered from 1 for the reader (session 19, W19).

1. The video workspace's playhead / timeline, the ultrasound pane and a slice viewer's cine share
   one frame index (``app.scene.frames.FrameCursor``): moving any of them moves the others (the
   pane and the playhead moved independently before).
2. Every frame number a person reads or types is 1-based ("frame 1 / N"), internal indices stay
   0-based (the video views said "frame 0 / N-1" while the pane said "1/N")."""
from __future__ import annotations

import pytest

from app.scene.frames import FrameCursor, frame_text, frames_text, index_of_number

ECHO = "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm"            # 10-frame US DICOM cine: video workspace + pane
US_2FRAME = "ultrasound/dicom_us/OBXXXX1A_2frame.dcm"
ENDO = "endoscopy/endovis2017_clip/short_source.mp4"


def test_frame_cursor_clamps_and_tells_the_others_who_moved_it():
    c = FrameCursor(10)
    seen = []
    c.changed.connect(lambda n, src: seen.append((n, src)))
    assert c.set(4, "video") == 4 and c.set(4, "pane") == 4 and c.set(99, "pane") == 9 and c.set(-3) == 0
    assert seen == [(4, "video"), (9, "pane"), (0, None)]
    unknown = FrameCursor()            # a video still indexing: kept as asked
    assert unknown.set(1234) == 1234
    unknown.set_count(100)
    assert unknown.index == 99


def test_numbers_for_people_start_at_one():
    assert frame_text(0, 10) == "frame 1 / 10" and frame_text(9) == "frame 10"
    assert frames_text(4, 8) == "frames 5-9"
    assert index_of_number(1) == 0
    with pytest.raises(ValueError):
        index_of_number(0)


def test_typed_positions_count_frames_from_one():
    """What a person types in the go-to box (app.data.video.timefmt): frame numbers from 1; 0 and
    negative numbers get the same one line (a negative one said "frame numbers start at 0")."""
    from app.data.video.timefmt import parse_position

    assert parse_position("12") == ("frame", 12.0) and parse_position("#1") == ("frame", 1.0)
    assert parse_position("00:00:02.5") == ("time", 2.5)
    for text in ("0", "-1", "#0"):
        with pytest.raises(ValueError, match="frame numbers start at 1"):
            parse_position(text)


def test_scene_frame_is_the_cursor():
    import numpy as np

    from app.data.types import Volume
    from app.scene.model import Scene

    vol = Volume(np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((5, 1, 8, 8), np.uint8), np.eye(4),
                 meta={"modality": "US"}, time_axis=True)
    s = Scene(vol)
    repaints = []
    s.display_changed.connect(lambda: repaints.append(1))
    s.frames.set(3, "pane")          # the pane moved the shared frame: the scene shows it
    assert s.frame == 3 and repaints == [1] and int(s.array3d.max()) == 3
    s.set_frame(6)                   # cine wraps round
    assert s.frames.index == 1


def _open(qtbot, win, path):
    from shell_steps import open_video

    return open_video(qtbot, win, path)


@pytest.mark.gui
def test_playhead_timeline_and_ultrasound_pane_show_one_frame(qtbot, data_dir):
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        ws = _open(qtbot, win, data_dir / ECHO)
        pane = win.panel("ultrasound")
        assert pane.cine is not None and pane.frames is ws.frames
        # the video moves: the pane follows
        ws.seek(4)
        assert pane.t == 4 and pane.frame_label.text() == "5/10 (76 ms)" and pane.slider.value() == 4
        qtbot.waitUntil(lambda: ws.shown == 4, timeout=10000)
        # the same picture, not only the same number: the pane's frame is the decoded frame on screen
        import numpy as np

        shown = np.asarray(ws.last_frame.image, float)[..., :3]
        diffs = [np.abs(np.asarray(pane.cine.frame(k), float)[..., :3] - shown).mean() for k in range(10)]
        assert int(np.argmin(diffs)) == 4 == pane.t, np.round(diffs, 1)
        assert ws.position_label.text().startswith("frame 5 / 10") and win.st_voxel.text() == "frame 5 / 10"
        assert ws.view._caption.startswith("frame 5 / 10")
        # the pane moves: the playhead, the timeline and the picture follow
        pane.step(1)
        assert ws.current == 5 and ws.timeline.current == 5
        qtbot.waitUntil(lambda: ws.shown == 5, timeout=10000)
        pane.slider.setValue(2)
        assert ws.current == 2 and pane.t == 2
        # a click on the timeline (frameRequested) moves the pane too
        ws.timeline.frameRequested.emit(7)
        assert pane.t == 7 and ws.current == 7
        # typed frame numbers count from 1, as the caption
        ws.goto("3")
        assert ws.current == 2 and pane.t == 2
        # the pane's playback drives the video; the video's playback then takes over and stops the pane
        pane.play()
        qtbot.waitUntil(lambda: ws.current != 2, timeout=3000)
        assert pane.playing and ws.current == pane.t
        ws.play()   # the last one started plays; the other stops at once
        assert not pane.playing
        qtbot.wait(300)
        assert ws.clock.playing and not pane.playing
        ws.pause()
        # another video opens at its first frame, not at the previous one's, and the pane lets go
        ws.seek(6)
        ws.goto_edit.setText("7")
        with qtbot.waitSignal(win.video_opened, timeout=30000):
            win.open_path(str(data_dir / ENDO))
        qtbot.waitUntil(lambda: ws.shown is not None and ws.n_frames > 10, timeout=30000)
        assert ws.current == 0 and pane.cine is None and pane.frames is not ws.frames
        assert ws.goto_edit.text() == ""   # the previous video's go-to number does not stay
    finally:
        win.close()


@pytest.mark.gui
def test_slice_viewer_cine_and_pane_share_the_frame(qtbot, data_dir):
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(data_dir / US_2FRAME))
        qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
        pane = win.panel("ultrasound")
        if win.current_view.context.is_video:   # routed to the video workspace: the other test covers it
            pytest.skip("2-frame US opened as a video")
        model = win.model
        assert model.n_frames == 2 and pane.cine is not None and pane.frames is model.frames
        model.set_frame(1)
        assert pane.t == 1 and pane.frame_label.text().startswith("2/2")
        pane.step(-1)
        assert model.frame == 0
        # playback: the last one started plays, the other stops (the pane's Play stopped itself at
        # the slice viewer's next cine tick and the cine played on: the view never heard of it)
        view = win.area.views[0]
        view.toggle_cine(True)
        pane.play()
        qtbot.wait(400)
        assert pane.playing and not view.cine.isActive()
        view.toggle_cine(True)
        assert not pane.playing
        qtbot.wait(300)
        assert view.cine.isActive() and not pane.playing
        view.toggle_cine(False)
        # views rebuilt by a layout change (the model stays): the old ones are not called, the new one is
        win.area.set_layout(win.area.layout_name)
        qtbot.wait(50)
        view = win.area.views[0]
        view.toggle_cine(True)
        pane.play()
        assert pane.playing and not view.cine.isActive()
        pane.pause()
    finally:
        win.close()


def test_web_frame_slider_and_caption_count_from_one(tmp_path, data_dir):
    from types import SimpleNamespace

    from app.data.video import open_video
    from app.web.ui import frame_slider
    from app.web.video import frame_caption

    assert frame_slider(10) == {"minimum": 1, "maximum": 10, "value": 1, "interactive": True}
    assert frame_slider(1)["maximum"] == 2 and not frame_slider(1)["interactive"]
    with open_video(data_dir / ENDO) as src:
        cap = frame_caption(SimpleNamespace(video=src), 0)
        assert cap.startswith(f"frame 1 / {src.n_frames},"), cap


def test_cli_export_names_the_index_and_the_viewers_number(data_dir, tmp_path, capsys):
    from argparse import Namespace

    from app.commands import export_frame

    export_frame.run(Namespace(video=str(data_dir / ENDO), index=4, time=None, output=str(tmp_path / "f.png"),
                               fps=None, allow_damaged=False))
    out = capsys.readouterr().out
    assert out.startswith("wrote frame index 4 (the viewer's frame 5 / 20,"), out


@pytest.mark.gui
def test_pane_keeping_fewer_frames_than_the_video_says_where_the_video_is(qtbot):
    """A long B-mode video: the pane keeps its first frames (memory budget); past them it shows its
    last kept frame and says which frame the video is on, instead of a wrong number."""
    import numpy as np

    from app.data.types import Volume
    from app.ultrasound.cine import UsCine
    from viewers.ultrasound.pane import UltrasoundPane

    vol = Volume(np.zeros((3, 1, 16, 16), np.uint8), np.eye(4), meta={"modality": "US", "calibrated": False,
                                                                     "frame_ms": 50.0}, time_axis=True)
    pane = UltrasoundPane()
    qtbot.addWidget(pane)
    pane.set_cine(UsCine(vol, "long.mp4"))
    video = FrameCursor(200)          # the video workspace's frame of the same file
    pane.bind_frames(video)
    video.set(1, "video")
    assert pane.t == 1 and pane.frame_label.text() == "2/3 (50 ms)"
    video.set(120, "video")
    assert pane.t == 2 and pane.frame_label.text() == "3/3 (50 ms); video at 121"
    pane.step(-1)                     # the pane moves the video back into its frames
    assert video.index == 1


def test_session_holds_the_frame_of_an_image_or_a_video(tmp_path, data_dir):
    from pathlib import Path

    from app.session import Session

    s = Session(store=tmp_path / "ws", user="ana")
    s.open(data_dir / ENDO)
    assert s.scene is None and s.frames.index == 0
    s.frames.set_count(20)
    s.frames.set(7)
    s.open(data_dir / ENDO)                      # opened again: its first frame
    assert s.frames.index == 0
    s.open(data_dir / "dicom/dcm_qa_nih_GE_axial_epi")
    assert s.frames is s.scene.frames and s.frames.count == 10
    s.scene.set_frame(3)
    assert s.frames.index == 3
    assert Path(s.store_path).parent == tmp_path / "ws"
