"""What the session-19 walk (W19: radiologist, surgeon, annotator, second study in one window)
found, each fixed and kept fixed here."""
from __future__ import annotations

import pytest
from shell_steps import open_video

VIDEO = "endoscopy/endovis2017_clip/short_source.mp4"


@pytest.mark.gui
def test_exporting_a_frame_says_which_frame_and_where_in_the_window(qtbot, data_dir, tmp_path):
    """The surgeon exported the frame on screen: the transport bar said "exported frame 1" (not
    where), and the window's status bar still said "Opened short_source.mp4 ..."."""
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=10)
        ws.seek(4)
        qtbot.waitUntil(lambda: ws.shown == 4, timeout=10000)
        with qtbot.waitSignal(ws.exportFinished, timeout=20000) as sig:
            ws.export_frame(tmp_path / "still.png")
        assert (tmp_path / "still.png").is_file()
        assert sig.args[0] == "exported frame 5 to still.png"          # numbered as the caption, file named
        assert win.statusBar().currentMessage() == "exported frame 5 to still.png"
    finally:
        win.close()
