"""The Backends dock's job table fits its dock at a 1600-px window (session 19, W19: it scrolled
sideways as soon as a job with a long input name or message was listed): columns share the width,
long text is elided and the full text is in each cell's tooltip."""
from __future__ import annotations

import pytest


@pytest.mark.gui
@pytest.mark.parametrize("width,height", [(1600, 1000), (1600, 640), (1280, 800)])
def test_job_table_fits_the_dock_at_1600_px_without_sideways_scrolling(qtbot, width, height):
    from app.jobs.job import Job, JobState
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(width, height)   # 640: the dock scrolls vertically, its scroll bar takes width
    win.show()
    qtbot.waitExposed(win)
    try:
        dock = win.panel("jobs")
        win.docks["jobs"].raise_()
        long_input = "dcm_qa_ct_philips_head_140_" + "_".join(["1.3.46.670589.33.1.27492712521914879309"] * 2)
        jobs = [Job("vessels3d", {}, input_name=long_input, where="http://reading-room-server.example:8765"),
                Job("quality", {}, input_name="01_test.tif"),
                Job("us-biometry", {}, input_name="US-PAL-8-10x-echo.dcm")]
        jobs[0].state, jobs[0].message = JobState.RUNNING, "screening frame 1200/4000 " + "x" * 120
        jobs[1].state, jobs[1].error = JobState.FAILED, "could not open " + "/very/long/path" * 12
        for j in jobs:
            dock.jobs.add_job(j)
        qtbot.wait(150)   # layout passes
        table = dock.jobs.table
        hdr = table.horizontalHeader()
        shown = [c for c in range(table.columnCount()) if not table.isColumnHidden(c)]
        assert sum(hdr.sectionSize(c) for c in shown) <= table.viewport().width(), \
            [hdr.sectionSize(c) for c in shown]
        assert table.horizontalScrollBar().maximum() == 0 and not table.horizontalScrollBar().isVisible()
        # every header label in full over the fixed-width columns (the walk saw "Progres")
        for c in shown:   # every shown header label in full (the walk saw "Progres", then "Messag")
            label = table.horizontalHeaderItem(c).text()
            assert hdr.fontMetrics().horizontalAdvance(label) + 6 <= hdr.sectionSize(c), (label, hdr.sectionSize(c))
        assert {0, 2, 3, 5} <= set(shown)   # backend, state, progress and message always shown
        area = win.docks["jobs"].widget()   # the dock's own scroll area does not scroll sideways either
        if hasattr(area, "horizontalScrollBar"):
            assert area.horizontalScrollBar().maximum() == 0
        # the full text is one hover away
        assert table.item(0, 1).toolTip() == long_input
        assert "reading-room-server" in table.item(0, 0).toolTip() and long_input in table.item(0, 0).toolTip()
        assert table.item(1, 5).toolTip().startswith("could not open /very/long/path")
    finally:
        win.close()
