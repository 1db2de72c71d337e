"""Report panel (pytest-qt, offscreen) on a report drafted from the real Philips head CT: clicking a
sentence moves the window's crosshair to its ROI in LPS mm, an edit that changes a number is
highlighted as unsupported while typing and blocks sign-off, signing stores a version with audit."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QTextCursor

from app.report.draft import draft_report
from app.report.draft.ct_roi import BoxRoi
from app.report.signoff import report_doc_id
from app.review.store import ReviewStore
from app.shell.main_window import MainWindow
from app.shell.report_panel import ReportPanel

pytestmark = pytest.mark.gui

ROIS = [BoxRoi.parse("left_box=20,90,760,40,110,770"), BoxRoi.parse("right_box=-40,150,780,-20,170,790")]


@pytest.fixture(scope="module")
def ct_report(dicom_dir):
    return lambda: draft_report(dicom_dir / "dcm_qa_ct_philips_head_140", [], ROIS)


def _type_at(panel, block: int, old: str, new: str) -> None:
    doc = panel.editor.document()
    b = doc.findBlockByNumber(block)
    i = b.text().index(old)
    cur = QTextCursor(b)
    cur.setPosition(b.position() + i)
    cur.setPosition(b.position() + i + len(old), QTextCursor.KeepAnchor)
    panel.editor.setTextCursor(cur)
    cur.insertText(new)


def test_edits_are_reverified_and_signoff_is_stored(qtbot, ct_report, tmp_path):
    store = ReviewStore(tmp_path / "store.sqlite")
    p = ReportPanel(store, "")
    qtbot.addWidget(p)
    p.resize(700, 500)
    p.show()
    rep = ct_report()
    p.set_report(rep)
    assert p.unsupported_spans() == [] and p.sign_button.isEnabled()
    mean = rep.sentences[0].text.split("has mean ")[1].split(" HU")[0]
    _type_at(p, 0, f"mean {mean} HU", "mean 12.0 HU")
    qtbot.waitUntil(lambda: p.unsupported_spans() == [(0, "12.0 HU")], timeout=10000)
    assert not p.sign_button.isEnabled() and "1 unsupported" in p.summary.text()
    p.grab().save(str(tmp_path / "report_panel.png"))
    p.reviewer.setText("dr ana")
    assert p.sign() is None and "unsupported claims in s1" in p.state.text()
    _type_at(p, 0, "mean 12.0 HU", f"mean {mean} HU")
    # a reviewer's own sentence: no evidence, so unverifiable (amber), not blocking
    cur = p.editor.textCursor()
    cur.movePosition(QTextCursor.End)
    p.editor.setTextCursor(cur)
    cur.insertText("\nClinical correlation is advised.")
    qtbot.waitUntil(lambda: "1 unverifiable" in p.summary.text(), timeout=10000)
    assert p.unsupported_spans() == [] and p.sign_button.isEnabled()
    vid = p.sign()
    assert vid and "Signed by dr ana" in p.state.text()
    doc = store.load_document(report_doc_id(rep), vid)
    assert [s["text"] for s in doc["sentences"]][-1] == "Clinical correlation is advised."
    assert doc["sentences"][0]["evidence"] and doc["sentences"][-1]["evidence"] == []
    assert [a.action for a in store.audit(report_doc_id(rep))] == ["sign_report"]
    store.close()


def test_clicking_a_sentence_moves_the_viewer_to_its_evidence(qtbot, ct_report, dicom_dir, tmp_path):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.opened, timeout=60000):
        w.open_path(str(dicom_dir / "dcm_qa_ct_philips_head_140"))
    panel = w.panel("report")
    assert isinstance(panel, ReportPanel)
    panel.set_report(ct_report())
    b = panel.editor.document().findBlockByNumber(1)
    panel.editor.setTextCursor(QTextCursor(b))
    assert np.allclose(w.model.cursor, [-30.0, 160.0, 785.0])
    b = panel.editor.document().findBlockByNumber(0)
    panel.editor.setTextCursor(QTextCursor(b))
    assert np.allclose(w.model.cursor, [30.0, 100.0, 765.0])
    w.grab().save(str(tmp_path / "window_report.png"))
    w.close()
