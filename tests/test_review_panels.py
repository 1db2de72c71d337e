"""Review, audit and trust panels (pytest-qt, offscreen): keyboard review writes per-user
decisions to the store, disagreements show, the audit lists versions and decisions, the trust panel
shows conflicts and the table. Each panel is rendered to a PNG for a look."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from runner_made import runner_made

from app.layers import LabelLayer, Provenance
from app.review.queue import QueueItem, ReviewQueue
from app.review.store import ReviewStore
from app.review.trust import ToolTrust, resolve
from app.shell.panels.audit_panel import AuditPanel
from app.shell.panels.review_panel import ReviewPanel
from app.shell.panels.trust_panel import TrustPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def store(tmp_path):
    s = ReviewStore(tmp_path / "ws.sqlite")
    for i, name in enumerate(["liver", "spleen", "kidney"]):
        lab = np.zeros((2, 8, 8), np.uint8)
        lab[:, i:i + 3, 2:6] = 1
        s.save_layer(runner_made(LabelLayer(lab, np.eye(4), name, Provenance.backend("organs", "1.4", {"t": 0.5}))))
    yield s
    s.close()


def test_review_panel_keyboard_flow(qtbot, store, tmp_path):
    panel = ReviewPanel(store)
    qtbot.addWidget(panel)
    panel.resize(640, 360)
    assert not panel.accept_button.isEnabled()
    qtbot.keyClicks(panel.user_edit, "ana")
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.user == "ana" and panel.table.rowCount() == 3
    ids = [it.layer_id for it in panel.items]

    with qtbot.waitSignal(panel.decided) as sig:
        qtbot.keyClick(panel.table, Qt.Key_A)
    assert sig.args[0].decision == "accept" and sig.args[0].user == "ana"
    assert panel.table.currentRow() == 1  # moved on
    qtbot.keyClick(panel.table, Qt.Key_C)
    qtbot.keyClicks(panel.comment, "misses the upper pole")
    qtbot.keyClick(panel.comment, Qt.Key_Return)
    qtbot.keyClick(panel.table, Qt.Key_R)
    with qtbot.waitSignal(panel.editRequested) as ed:
        qtbot.keyClick(panel.table, Qt.Key_E)
    assert ed.args == [ids[2], store.head(ids[2]).version_id]
    assert len(store.decisions(user="ana")) == 2  # nothing recorded until the correction is saved
    ai_version = store.head(ids[2]).version_id
    corrected = store.load_layer(ids[2])
    corrected.labels[:] = 0
    corrected.labels[0, 1:3, 1:3] = 1
    d = panel.save_edit(corrected)
    assert d.decision == "edit" and d.version_id == ai_version and d.result_version
    assert store.head(ids[2]).source_kind == "human" and store.head(ids[2]).parent_version == ai_version
    assert store.load_layer(ids[2], ai_version).labels.sum() > 4  # the AI version is still there
    decs = store.decisions(user="ana")
    assert [(d.layer_id, d.decision) for d in decs] == list(zip(ids, ["accept", "reject", "edit"]))
    assert decs[1].comment == "misses the upper pole"
    qtbot.keyClick(panel.table, Qt.Key_K)
    assert panel.table.currentRow() == 1
    panel.grab().save(str(tmp_path / "review_ana.png"))

    # a second reader disagrees on item 2: both panels make it visible
    assert panel.table.item(2, 2).text() == "edit"
    ben = ReviewPanel(store, "ben")
    qtbot.addWidget(ben)
    ben.table.setCurrentCell(1, 0)
    qtbot.keyClick(ben.table, Qt.Key_A)
    ben.table.setCurrentCell(1, 0)
    assert "Reviewers disagree" in ben.disagreement.text() and "ana: reject" in ben.disagreement.text()
    panel.refresh()
    panel.table.setCurrentCell(1, 0)
    assert "ben: accept" in panel.table.item(1, 3).text()
    assert store.disagreements()[0].by_user == {"ana": "reject", "ben": "accept"}
    # every decision names its query kind, so tool trust learns from this session
    post = ToolTrust.from_store(store).posterior("labels", "organs")
    assert (post.alpha, post.beta) == (1 + 2, 1 + 2)
    ben.resize(640, 360)
    ben.grab().save(str(tmp_path / "review_ben.png"))


def test_review_panel_with_queue(qtbot, store):
    ids = [l["layer_id"] for l in store.layers()]
    q = ReviewQueue([QueueItem(f"q{i}", [float(i)], probs, layer_id=lid, meta={"title": f"case {i}"})
                     for i, (lid, probs) in enumerate(zip(ids, [[0.99, 0.01], [0.5, 0.5], [0.7, 0.3]]))],
                    explore_every=0)
    panel = ReviewPanel(store, "ana", queue=q)
    qtbot.addWidget(panel)
    assert [it.title for it in panel.items] == ["case 1", "case 2", "case 0"]  # most uncertain first
    assert "uncertainty" in panel.items[0].reason
    qtbot.keyClick(panel.table, Qt.Key_R)
    assert q.decisions == {"q1": "reject"} and panel.items[-1].reason == "reviewed"


def test_audit_panel_lists_history(qtbot, store, tmp_path):
    lid = store.layer_ids()[0]
    edited = store.load_layer(lid)
    edited.labels[0, 0, 0] = 1
    v = store.save_edit(edited, "ana", comment="added a voxel")
    store.decide("ben", "accept", lid, comment="fine now")
    panel = AuditPanel(store, lid)
    qtbot.addWidget(panel)
    rows = [[panel.table.item(r, c).text() for c in range(5)] for r in range(panel.table.rowCount())]
    assert [r[2] for r in rows] == ["save version", "save version", "edit", "accept"]
    assert "backend: organs 1.4" in rows[0][4] and "t=0.5" in rows[0][4]
    assert rows[1][1] == "ana" and "edits" in rows[1][4] and rows[1][3] == v.version_id[:8]
    assert "fine now" in rows[3][4]
    assert panel.disagreements.text() == ""  # ben accepted ana's correction: no dispute
    store.decide("cy", "reject", lid, version_id=v.version_id, comment="over-segmented")
    panel.refresh()
    assert "ben accept" in panel.disagreements.text() and "cy reject" in panel.disagreements.text()
    panel.resize(720, 260)
    panel.grab().save(str(tmp_path / "audit.png"))
    # an event's decision and a dispute over it are numbered as the timeline and report number them
    store.decide("ana", "accept", lid, target_kind="event", target_ref="0")
    store.decide("ben", "reject", lid, target_kind="event", target_ref="0")
    panel.refresh()
    assert panel.table.item(panel.table.rowCount() - 1, 4).text() == "event 1"
    assert "event 1 - ana accept, ben reject" in panel.disagreements.text()


def test_decision_targets_read_from_one():
    from app.review.targets import target_text

    assert target_text("event", "0") == "event 1" and target_text("finding", "2") == "finding 3"
    assert target_text("shape", "frame 3") == "shape on frame 4"   # an AoP correction on index 3
    assert target_text("branch", "17") == "branch 17"              # an identifier, not a position
    assert target_text("layer", "") == "layer"


def test_trust_panel_conflict_and_table(qtbot, tmp_path):
    t = ToolTrust()
    for i in range(100):
        t.update("nodule class", "model_a", i % 10 != 0)
        t.update("nodule class", "model_b", i % 2 != 0)
    panel = TrustPanel(t)
    qtbot.addWidget(panel)
    assert panel.table.rowCount() == 2 and panel.table.item(0, 1).text() == "model_a"
    c = resolve(t, "nodule class", {"model_a": "benign", "model_b": "malignant"})
    panel.show_conflict(c)
    assert not panel.conflict_box.isHidden() and panel.banner.text().startswith("Recommended: model_a")
    button = panel.findChild(QPushButton, "trust_use_model_b")
    with qtbot.waitSignal(panel.chosen) as sig:
        button.click()
    assert sig.args == ["nodule class", "model_b"]
    panel.resize(560, 320)
    panel.grab().save(str(tmp_path / "trust.png"))
    fresh = ToolTrust()
    panel2 = TrustPanel(fresh)
    qtbot.addWidget(panel2)
    panel2.show_conflict(resolve(fresh, "nodule class", {"model_a": "benign", "model_b": "malignant"}))
    assert panel2.banner.text().startswith("Escalated")


def test_events_and_branches_are_reviewable_items(qtbot, tmp_path):
    from app.layers import EventsLayer, GraphLayer, TemporalEvent

    s = ReviewStore(tmp_path / "e.sqlite")
    ev = EventsLayer([TemporalEvent(10, 20, 0.9, "bleeding"), TemporalEvent(40, 45, 0.3, "bleeding")],
                     "evidence", Provenance.backend("evidence", "0.2"))
    g = GraphLayer([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [1, 1, 1], [[0, 1], [1, 2]], "vessels",
                   Provenance.backend("vessels", "0.3"), branch_ids=[1, 2])
    s.save_layer(runner_made(ev))
    s.save_layer(runner_made(g))
    panel = ReviewPanel(s, "ana")
    qtbot.addWidget(panel)
    kinds = [(it.target_kind, it.target_ref) for it in panel.items]
    assert kinds == [("layer", ""), ("event", "0"), ("event", "1"), ("layer", ""), ("branch", "1"), ("branch", "2")]
    panel.table.setCurrentCell(2, 0)
    qtbot.keyClick(panel.table, Qt.Key_R)
    panel.table.setCurrentCell(5, 0)
    qtbot.keyClick(panel.table, Qt.Key_A)
    got = [(d.target_kind, d.target_ref, d.decision) for d in s.decisions()]
    assert got == [("event", "1", "reject"), ("branch", "2", "accept")]
    s.close()
