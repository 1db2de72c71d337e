"""Recent lists a series once: the same DICOM series opened from two folders (a local copy and the
PACS retrieve of it) is one row, the newest open, with the other folder in its tooltip; two
different files stay two rows, and a file without a series UID is keyed by its path."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_one_series_from_two_folders_is_one_recent_row(qtbot, tmp_path):
    from app.data.catalog import Catalog
    from app.shell import recent
    from app.shell.study_browser import StudyBrowser

    cat = Catalog(tmp_path / "c.sqlite")
    local, pacs, photo = tmp_path / "local_ct", tmp_path / "pacs" / "1.2.3_4.5.6", tmp_path / "photo.png"
    for p in (local, pacs):
        p.mkdir(parents=True)
    photo.write_bytes(b"")
    recent.record(str(local), "CT #201 STD BRAIN", "CT", series_uid="4.5.6")
    recent.record(str(photo), "photo.png", "")
    recent.record(str(pacs), "CT #201 STD BRAIN", "CT", series_uid="4.5.6")
    cat.mark_opened(local, when=100.0)
    cat.mark_opened(photo, when=150.0)
    cat.mark_opened(pacs, when=200.0)
    b = StudyBrowser(cat)
    qtbot.addWidget(b)
    b.refresh()
    top = b.tree.topLevelItem(0)
    assert top.text(0) == "Recent"
    rows = [top.child(i) for i in range(top.childCount())]
    assert len(rows) == 2, ([r.text(0) for r in rows], b.status.text(), cat.recent())
    first = rows[0]
    assert str(pacs) in first.toolTip(0).split("\n")[1]            # the newest open is the row
    assert f"also opened from {local}" in first.toolTip(0)        # the other folder is named
    assert "photo.png" in rows[1].text(0)
