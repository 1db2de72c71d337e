"""End to end on a real CT: an AI mask is stored, a reviewer opens it from the review panel with
the keyboard, corrects it slice by slice with the brush, eraser and undo, saves; the audit shows
who did what; trust learns from the decisions; the correction leaves as a DICOM SEG that reads back
identically, and the AI original is still in the store."""
from __future__ import annotations

import numpy as np
import pytest
from export_fixtures import hounsfield, phantom
from PySide6.QtCore import Qt
from runner_made import runner_made

from app.export.seg import read_seg, write_seg
from app.layers import LabelLayer, Provenance
from app.review.editing import LabelEditor
from app.review.store import ReviewStore
from app.review.trust import ToolTrust
from app.shell.panels.audit_panel import AuditPanel
from app.shell.panels.review_panel import ReviewPanel
from viewers.slice.edit_tools import BrushTool, EraserTool

pytestmark = [pytest.mark.gui, pytest.mark.filterwarnings("ignore::UserWarning")]


def test_correct_ai_mask_and_export(qtbot, dicom_dir, tmp_path):
    ct = phantom(dicom_dir)
    hu = hounsfield(ct)
    store = ReviewStore.for_workspace(tmp_path / "ws")
    ai = runner_made(LabelLayer((hu > 300).astype(np.uint8), ct.affine, "dense (AI)",
                                Provenance.backend("dense-seg", "0.9", {"hu": 300})))
    ai_v = store.save_layer(ai).version_id
    other = runner_made(LabelLayer((hu > 600).astype(np.uint8), ct.affine, "dense (AI 2)",
                                   Provenance.backend("dense-seg", "0.9")))
    store.save_layer(other)

    panel = ReviewPanel(store, "ana")
    qtbot.addWidget(panel)
    opened = []
    panel.editRequested.connect(lambda lid, vid: opened.append((lid, vid)))
    panel.table.setCurrentCell(0, 0)
    qtbot.keyClick(panel.table, Qt.Key_E)
    assert opened == [(ai.id, ai_v)]

    # the shell opens the head version in the slice viewer; the reviewer edits slice by slice
    layer = store.load_layer(ai.id)
    editor = LabelEditor.for_layer(layer, image=hu)
    before = layer.labels.copy()

    def world(i, j, k):
        return (np.array([i, j, k, 1.0]) @ ct.affine.T)[:3]

    for k in (10, 11, 12):  # erase part of the AI mask where it really is on these slices
        j, i = np.argwhere(before[k])[len(np.argwhere(before[k])) // 2]
        er = EraserTool(editor, radius_mm=10.0)
        er.press(world(i, j, k))
        er.move(world(i + 20, j, k))
        er.release()
    br = BrushTool(editor, label=1, radius_mm=4.0, threshold=(-50, 50))  # only soft-tissue voxels
    br.press(world(250, 200, 14))
    br.move(world(270, 200, 14))
    br.release()
    mistaken = BrushTool(editor, label=1, radius_mm=15.0)
    mistaken.press(world(100, 100, 20))
    mistaken.release()
    assert editor.undo()  # the last stroke is taken back
    assert np.array_equal(layer.labels[20], before[20])
    assert len(editor._undo) == 4
    corrected = layer.labels.copy()
    assert not np.array_equal(corrected, before)

    qtbot.keyClicks(panel.comment, "rim over-segmented on 10-12")
    d = panel.save_edit(layer)
    assert d.decision == "edit" and d.comment == "rim over-segmented on 10-12"
    qtbot.keyClick(panel.table, Qt.Key_R)  # the second AI layer is rejected outright

    head = store.head(ai.id)
    assert head.source_kind == "human" and head.author == "ana" and head.parent_version == ai_v
    assert np.array_equal(store.load_layer(ai.id, ai_v).labels, before)  # AI output untouched
    audit = AuditPanel(store, ai.id)
    qtbot.addWidget(audit)
    assert [audit.table.item(r, 2).text() for r in range(audit.table.rowCount())] == \
        ["save version", "save version", "edit"]

    trust = ToolTrust()
    for dec in store.decisions():
        v = store.version(dec.version_id)
        trust.record_decision("dense structures", v.backend, dec.decision)
    assert trust.posterior("dense structures", "dense-seg").beta == 1 + 2

    out = write_seg(store.load_layer(ai.id), ct, tmp_path / "corrected_seg.dcm",
                    based_on=store.origin(head.version_id))
    back = read_seg(out, ct)
    assert np.array_equal(back.labels, corrected) and np.array_equal(back.affine, ct.affine)
    assert back.provenance.params == {"corrects": "dense-seg 0.9"}
    store.close()
