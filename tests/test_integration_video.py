"""Video from the main window (pytest-qt, offscreen): a video file and a capsule-style image folder
open in the VideoWorkspace; the Evidence dock runs the ``evidence`` backend in a worker on the open
video and puts its EventsLayer on the timeline's evidence track; accept/reject per event lands in
the review store."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from runner_made import runner_made
from shell_steps import open_video
from test_video_testkit import encode_video

from app.layers import EventsLayer, Provenance, TemporalEvent
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    w.settings.set("user", "dr_ana")
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_capsule_image_folder_opens_in_video_workspace(qtbot, win, tmp_path):
    folder = tmp_path / "capsule"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in range(12):
        img = np.full((96, 128, 3), 60 + 10 * n, np.uint8) + rng.integers(0, 20, (96, 128, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"frame_{n:04d}.png"), img)
    ws = open_video(qtbot, win, folder)
    assert ws.n_frames == 12
    assert "evidence" in win.docks or not _evidence_present()


def _evidence_present() -> bool:
    from app.shell.evidence_dock import evidence_backend_present

    return evidence_backend_present()


@pytest.mark.skipif(not _evidence_present(), reason="evidence backend not installed")
def test_evidence_backend_from_window_and_event_decisions(qtbot, win, tmp_path):
    video = encode_video(tmp_path / "clip.mp4", 90, gop=30)
    ws = open_video(qtbot, win, video)
    dock = win.panels["evidence"]
    job = dock.run({"storyboard": False, "fine": False})
    assert job is not None
    qtbot.waitUntil(lambda: job.state.finished and dock.run_button.isEnabled(), timeout=90000)
    assert job.state.value == "done", job.error
    assert dock.layer is not None and dock.layer in ws.timeline.evidence     # on the evidence track
    assert win.workflow.store.head(dock.layer.id).source_kind == "backend"
    # decisions per event (a constructed layer: a synthetic clip may hold no event at all)
    layer = EventsLayer([TemporalEvent(10, 20, 0.9, "bleeding", key_frames=[15]),
                         TemporalEvent(50, 60, 0.4, "polyp")], "Evidence", Provenance.backend("evidence", "0.1.0"))
    runner_made(layer)
    dock.set_layer(layer)
    assert layer in ws.timeline.evidence and dock.table.rowCount() == 2
    dock.table.selectRow(0)
    dock.decide("accept")
    assert dock.table.currentRow() == 1 and ws.current == 50     # moved on to the next event
    dock.decide("reject")
    ds = win.workflow.store.decisions(layer.id)
    assert [(d.decision, d.target_kind, d.target_ref, d.user) for d in ds] == [
        ("accept", "event", "0", "dr_ana"), ("reject", "event", "1", "dr_ana")]
    win.grab().save(str(tmp_path / "window_video_evidence.png"))
