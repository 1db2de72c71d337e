"""Integration of the desktop shell (pytest-qt, offscreen): every feature reachable from the main
window - 3D cell linked to the slice views, label editing toolbar with undo/redo, lock/hide and
versioned saves, Export menu, Review/Audit/Trust/Vessels docks on the workspace store, graph
colour modes in 2D and 3D. Synthetic volumes keep it fast; PNGs go to tmp_path for a look."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from runner_made import runner_made

from app.data.types import Intensity, Volume
from app.layers import GraphLayer, LabelLayer, Provenance
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui


def ct_volume(shape=(20, 64, 64), spacing=(0.8, 0.8, 2.0)) -> Volume:
    """A CT-like block: a bright sphere in soft tissue, LPS axes, anisotropic spacing."""
    k, j, i = np.indices(shape)
    c = np.array(shape) / 2
    r = np.sqrt(((k - c[0]) * spacing[2]) ** 2 + ((j - c[1]) * spacing[1]) ** 2 + ((i - c[2]) * spacing[0]) ** 2)
    arr = np.where(r < 14, 900, 40).astype(np.int16)
    aff = np.diag([spacing[0], spacing[1], spacing[2], 1.0])
    aff[:3, 3] = (-20, -30, 10)
    return Volume(arr, aff, Intensity(units="HU"), {"modality": "CT"}, source="synthetic_ct")


def vessel_graph(vol: Volume, k: int | None = None) -> GraphLayer:
    """A Y on axial slice k: trunk (branch 0) and two limbs (1, 2) of different radii."""
    k = vol.spatial_shape[0] // 2 if k is None else k
    ijk = np.array([[32, 10, k], [32, 32, k], [12, 54, k], [52, 54, k]], float)
    pos = ijk @ vol.affine[:3, :3].T + vol.affine[:3, 3]
    return runner_made(GraphLayer(pos, [3.0, 2.5, 1.0, 2.0], [[0, 1], [1, 2], [1, 3]], "vessels",
                                  Provenance.backend("vessels2d", "1.0", {}), branch_ids=[0, 1, 2]))


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    w.settings.set("user", "dr_ana")   # the reviewer name was asked once before
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _view_drag(view, a, b, steps=6):
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for t in np.linspace(0, 1, steps)[1:]:
        QTest.mouseMove(view, a + (b - a) * float(t))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_3d_cell_is_linked_both_ways(qtbot, win):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    win.set_layout("2x2")
    cell = win.area.cells[3]
    assert type(cell).__name__ == "VolumeView" and cell._model is win.model
    target = vol.affine @ np.array([40, 20, 5, 1.0])
    cell.pointPicked.emit(list(target[:3]))      # a click on a surface in 3D
    assert np.allclose(win.model.cursor, target[:3])
    assert np.allclose(cell.scene.crosshair, target[:3])
    other = vol.affine @ np.array([10, 50, 12, 1.0])
    win.model.set_cursor(list(other[:3]))           # the 2D crosshair moves the 3D planes
    assert np.allclose(cell.scene.crosshair, other[:3])
    g = vessel_graph(vol)
    win.model.add_layer(g)
    assert g.id in cell.scene.layer_props           # slice-model layers are drawn in 3D
    from vtkmodules.util import numpy_support

    colours = lambda: numpy_support.vtk_to_numpy(  # noqa: E731
        cell.scene.layer_props[g.id].keep[0].GetPointData().GetArray("Colors")).copy()
    before = colours()
    win.model.display.select_branch(g, 1)           # Vessels panel row -> the tube turns white in 3D
    after = colours()
    assert (after == 255).all(axis=1).sum() > (before == 255).all(axis=1).sum()


def test_edit_toolbar_brush_undo_lock_hide_and_versioned_save(qtbot, win, tmp_path):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    win.set_layout("1x1")
    bar = win.edit_bar
    layer = bar.new_label_layer()
    assert isinstance(layer, LabelLayer) and layer.labels.shape == vol.spatial_shape
    assert bar.activate("brush")
    bar.size_spin.setValue(6.0)
    view = win.area.views[0]
    qtbot.waitExposed(view)
    k = int(round(vol.world_to_index(win.model.cursor)[2]))
    a = view.screen_of_world(vol.index_to_world([15, 32, k])).toPoint()
    b = view.screen_of_world(vol.index_to_world([48, 32, k])).toPoint()
    _view_drag(view, a, b)
    assert np.flatnonzero(layer.labels.any(axis=(1, 2))).tolist() == [k]
    assert layer.labels[k, 32, 18:46].all()
    painted = layer.labels.copy()
    win.grab().save(str(tmp_path / "window_brush.png"))
    bar.undo_action.trigger()                       # Ctrl+Z in the Edit menu / toolbar
    assert not layer.labels.any()
    bar.redo_action.trigger()                       # Ctrl+Shift+Z
    assert np.array_equal(layer.labels, painted)
    # label 2 with the polygon-free fill: lock label 1 so the fill cannot overwrite it
    bar.lock_box.setChecked(True)
    assert 1 in bar.session().editor.locked
    bar.label_spin.setValue(2)
    assert not bar.lock_box.isChecked()             # the boxes show the chosen label's state
    bar.activate("eraser")
    _view_drag(view, a, b)
    assert np.array_equal(layer.labels, painted)    # label 1 locked: the eraser left it
    # hide label 1: the overlay no longer shows it, data unchanged
    bar.label_spin.setValue(1)
    before = view.overlay_image()
    assert before is not None
    bar.hide_box.setChecked(True)
    hidden = view.overlay_image()
    alpha = np.frombuffer(hidden.constBits(), np.uint8).reshape(hidden.height(), -1)[:, 3::4] \
        if hidden is not None else np.zeros(1)
    assert hidden is None or alpha.max() == 0
    assert np.array_equal(layer.labels, painted)
    bar.hide_box.setChecked(False)
    # save: a new human version on top of the empty one the edit began from
    info = bar.save_edits()
    assert info is not None
    store = win.workflow.store
    versions = store.versions(layer.id)
    assert [v.source_kind for v in versions] == ["human", "human"]
    assert versions[1].parent_version == versions[0].version_id
    assert not store.load_layer(layer.id, versions[0].version_id).labels.any()
    assert np.array_equal(store.load_layer(layer.id).labels, painted)
    assert win.workflow.workspace() == win.workflow.store.path.parent


def test_editing_ai_output_keeps_the_ai_version(qtbot, win):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    ai = runner_made(LabelLayer((vol.array > 500).astype(np.uint8), vol.affine, "liver (AI)",
                                Provenance.backend("threshold", "1.0", {"level": 500})))
    win.model.add_layer(ai)
    win.on_result_layers([ai])                      # as the jobs dock does for a finished job
    win.workflow.wait_saved()                       # written on a background thread
    ai_version = win.workflow.store.head(ai.id)
    assert ai_version.source_kind == "backend"
    original = ai.labels.copy()
    win.layers_panel.select(ai)
    win.edit_bar.activate("eraser")
    s = win.edit_bar.session()
    k = vol.spatial_shape[0] // 2
    s.editor.begin_stroke()
    s.editor.stroke_line(np.array([k, 32, 32.0]), np.array([k, 32, 40.0]), 4.0, 1, erase=True, axis=0)
    s.editor.end_stroke()
    assert (ai.labels != original).any()
    win.edit_bar.save_edits()
    store = win.workflow.store
    vs = store.versions(ai.id)
    assert [v.source_kind for v in vs] == ["backend", "human"]
    assert vs[1].parent_version == ai_version.version_id
    assert np.array_equal(store.load_layer(ai.id, ai_version.version_id).labels, original)
    assert store.decisions(ai.id)[-1].decision == "edit"


def test_first_stroke_during_background_save_does_not_reach_the_ai_version(qtbot, win, monkeypatch):
    """The race of edit_bar._keep_original: the AI version is written on a thread while the
    reviewer already paints. The stored AI version must be the backend's mask, not the stroke."""
    import threading

    from app.review.store import ReviewStore

    slow_save = ReviewStore.save_layer
    stroked = threading.Event()

    def save_later(self, layer, **kw):  # the background write lands after the first stroke
        if threading.current_thread() is not threading.main_thread():
            stroked.wait(60)   # released by the test right after the stroke; only a hang guard
        return slow_save(self, layer, **kw)

    monkeypatch.setattr(ReviewStore, "save_layer", save_later)
    vol = ct_volume()
    win.open_volume(vol, "ct")
    ai = runner_made(LabelLayer((vol.array > 500).astype(np.uint8), vol.affine, "liver (AI)",
                                Provenance.backend("threshold", "1.0", {"level": 500})))
    original = ai.labels.copy()
    backend_array = ai.labels
    win.model.add_layer(ai)
    win.on_result_layers([ai])                      # the save starts on its thread
    win.layers_panel.select(ai)
    win.edit_bar.activate("eraser")
    s = win.edit_bar.session()
    k = vol.spatial_shape[0] // 2
    s.editor.begin_stroke()
    s.editor.stroke_line(np.array([k, 32, 24.0]), np.array([k, 32, 40.0]), 6.0, 1, erase=True, axis=0)
    s.editor.end_stroke()
    assert (ai.labels != original).any() and win.workflow.is_saving(ai.id), "the stroke came after the save"
    assert ai.provenance.kind == "human" and ai.provenance.author == "dr_ana", "drawn voxels credited to the backend"
    assert ai.labels is not backend_array and np.array_equal(backend_array, original), "AI array written in place"
    stroked.set()
    win.workflow.wait_saved()
    store = win.workflow.store
    first = store.versions(ai.id)[0]
    assert first.source_kind == "backend"
    assert np.array_equal(store.load_layer(ai.id, first.version_id).labels, original), \
        "a human stroke was stored as part of the backend's version"
    assert win.edit_bar.save_edits() is not None
    vs = store.versions(ai.id)
    assert [v.source_kind for v in vs] == ["backend", "human"] and vs[1].parent_version == first.version_id
    assert not np.array_equal(store.load_layer(ai.id).labels, original)


def test_export_menu_writes_nifti_and_shows_errors_in_window(qtbot, win, tmp_path):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    layer = win.edit_bar.new_label_layer()
    layer.labels[8:12, 20:40, 20:40] = 3
    out = win.export_menu.export_to("nifti", str(tmp_path / "mask.nii.gz"))
    assert out and (tmp_path / "mask.nii.gz").is_file()
    from app.export.nifti import read_nifti

    back = read_nifti(out, vol)
    labels = getattr(back, "labels", back)
    assert np.array_equal(np.asarray(labels), layer.labels)
    assert not win.message.isVisible()
    # DICOM SEG needs the source DICOM series: a synthetic volume has none -> message, no file
    assert win.export_menu.export_to("seg", str(tmp_path / "mask.dcm")) is None
    assert win.message.isVisible() and "DICOM SEG" in win.message.label.text()
    assert not (tmp_path / "mask.dcm").exists()
    # CSV segments need an events layer: named in the message
    assert win.export_menu.export_to("csv_segments", str(tmp_path / "s.csv")) is None
    assert "events" in win.message.label.text()
    assert set(win.export_menu.actions) == {"seg", "sr", "nifti", "coco", "csv_segments"}


def test_review_audit_trust_and_vessel_docks_share_the_workspace_store(qtbot, win, tmp_path):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    g = vessel_graph(vol)
    win.model.add_layer(g)
    win.on_result_layers([g])
    win.workflow.wait_saved()
    review = win.panel("review")
    audit = win.panel("audit")
    trust = win.panel("trust")
    vessels = win.panel("vessels")
    assert type(review).__name__ == "ReviewPanel" and review.user == "dr_ana"  # not asked again
    assert type(vessels).__name__ == "VesselPanel" and vessels.layer is g     # selected graph shown
    assert vessels.table.rowCount() == 3
    # the Review dock is up from the start: it refreshes when the store tells it the graph was saved
    qtbot.waitUntil(lambda: any("branch 1" in it.title for it in review.items), timeout=5000)
    # a branch judged in the Vessels panel lands in the store, the review list and the audit log
    vessels.table.selectRow(1)
    assert win.model.display.graph(g).selected_branch == vessels.selected_branch()
    vessels.reject_btn.click()
    ds = win.workflow.store.decisions(g.id)
    assert [(d.decision, d.target_kind, d.target_ref, d.user) for d in ds] == [("reject", "branch",
                                                                                str(ds[0].target_ref), "dr_ana")]
    review.refresh()
    row = next(r for r, it in enumerate(review.items) if it.target_kind == "branch"
               and it.target_ref == ds[0].target_ref)
    assert review.table.item(row, 2).text() == "reject"
    # accepting the whole layer from the Review panel updates Trust and Audit
    lrow = next(r for r, it in enumerate(review.items) if it.target_kind == "layer")
    review.table.setCurrentCell(lrow, 0)
    review.decide("accept")
    assert trust.table.rowCount() >= 1
    audit.set_layer(g.id)
    assert audit.table.rowCount() >= 3   # saved, reject branch, accept layer
    win.grab().save(str(tmp_path / "window_review_docks.png"))


def test_reviewer_name_asked_once_and_kept(qtbot, tmp_path):
    w = MainWindow()
    qtbot.addWidget(w)
    asked = []
    w.workflow._ask_user = lambda: asked.append(1) or "dr_ben"
    w.open_volume(ct_volume(), "ct")
    g = vessel_graph(w.model.volume)
    w.model.add_layer(g)
    w.workflow.decide(g, "accept")
    w.workflow.decide(g, "reject", "branch", "1")
    assert asked == [1] and w.settings.get("user") == "dr_ben"
    w.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.workflow.user == "dr_ben"
    w2.close()


def _colours_near(img, rgb, tol=40) -> int:
    a = np.asarray(img)[..., :3].astype(int)
    return int((np.abs(a - np.asarray(rgb)).max(axis=-1) <= tol).sum())


def _qimage_rgb(q):
    from PySide6.QtGui import QImage

    q = q.convertToFormat(QImage.Format_RGB888)
    return np.frombuffer(q.constBits(), np.uint8).reshape(q.height(), q.bytesPerLine())[:, :q.width() * 3] \
        .reshape(q.height(), q.width(), 3).copy()


def test_graph_colour_mode_and_selection_in_2d_and_3d(qtbot, win, tmp_path):
    from app.layers.display import edge_colors
    from viewers.volume import render_offscreen
    from viewers.volume.layers3d import graph_props, restyle_graph

    vol = ct_volume()
    win.open_volume(vol, "ct")
    win.set_layout("1x1")
    g = vessel_graph(vol, int(round(vol.world_to_index(win.model.cursor)[2])))
    g.color = (0.0, 1.0, 0.0)
    win.model.add_layer(g)
    view = win.area.views[0]
    qtbot.waitExposed(view)

    def shot(name):
        img = view.grab().toImage()
        img.save(str(tmp_path / f"graph_{name}.png"))
        return _qimage_rgb(img)

    uni = shot("uniform")
    assert _colours_near(uni, (0, 255, 0)) > 50
    shown = win.model.display                    # display state: the scene's, not the layer's data
    shown.set_color_by(g, "branch")              # style event -> the view redraws by branch
    qtbot.wait(10)
    br = shot("branch")
    cols = (np.asarray(edge_colors(g, shown.graph(g))) * 255).round().astype(int)
    for c in cols:
        assert _colours_near(br, c, tol=30) > 10, c
    shown.select_branch(g, 2)
    qtbot.wait(10)
    sel = shot("selected")
    assert _colours_near(sel, (255, 255, 255), tol=10) > _colours_near(br, (255, 255, 255), tol=10) + 20
    # 3D: the tubes carry the edge colours and follow style changes in place
    shown.select_branch(g, None)
    shown.set_color_by(g, "radius")
    props = graph_props(g, display=shown.graph(g))
    from vtkmodules.util import numpy_support

    arr = numpy_support.vtk_to_numpy(props.keep[0].GetPointData().GetArray("Colors"))
    assert len(np.unique(arr, axis=0)) >= 3          # thin blue ... wide red
    shown.set_color_by(g, "uniform")
    restyle_graph(props, shown.graph(g))
    arr = numpy_support.vtk_to_numpy(props.keep[0].GetPointData().GetArray("Colors"))
    assert (arr == [0, 255, 0]).all()
    shown.set_color_by(g, "branch")
    shown.select_branch(g, 1)
    rgb = render_offscreen(None, [g], preset="ct_bone", size=(160, 160), camera="S", displays=shown)
    from PIL import Image

    Image.fromarray(rgb).save(tmp_path / "graph_3d_selected.png")
    assert (rgb.min(axis=-1) > 200).sum() > 20            # the selected branch is white
    other = (np.asarray(edge_colors(g, shown.graph(g)))[0] * 255).astype(int)
    assert _colours_near(rgb, other, tol=80) > 20         # the trunk in its branch colour (shaded)


def test_jobs_dock_result_lands_in_layers_and_review_store(qtbot, win):
    vol = ct_volume()
    win.open_volume(vol, "ct")
    jobs = win.panel("jobs")
    n0 = len(win.model.layers)
    job = jobs.run("threshold", {})
    assert job is not None
    qtbot.waitUntil(lambda: len(win.model.layers) > n0, timeout=120000)
    new = [lay for lay in win.model.layers[n0:] if lay.kind == "labels"]
    assert new and new[0].provenance.kind == "backend"
    review = win.panel("review")
    qtbot.waitUntil(lambda: any(it.layer_id == new[0].id for it in review.items), timeout=10000)  # to review
    head = win.workflow.store.head(new[0].id)
    assert head is not None and head.source_kind == "backend" and head.backend == "threshold"
    assert jobs.jobs.table.rowCount() == 1                          # progress / cancel row


@pytest.mark.skipif(not __import__("app.shell.docks", fromlist=["x"]).quality_backend_present(),
                    reason="quality backend not installed")
def test_quality_dock_assess_restore_and_decide(qtbot, win, tmp_path):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:160, 0:160]
    clean = 40 + 900 * (((yy - 80) ** 2 + (xx - 80) ** 2) < 50 ** 2) + 300 * (((yy - 60) ** 2 + (xx - 95) ** 2) < 12 ** 2)
    noisy = (clean + rng.normal(0, 160, clean.shape)).astype(np.int16)[None]
    aff = np.diag([0.7, 0.7, 5.0, 1.0])
    win.open_volume(Volume(noisy, aff, Intensity(units="HU"), {"modality": "CT"}, source="noisy_ct"), "noisy")
    dock = win.panel("quality")
    assert type(dock).__name__ == "QualityDock"
    job = dock.assess()
    assert job is not None
    qtbot.waitUntil(lambda: job.state.finished and "assessed" in dock.state.text() or
                    job.state.value in ("failed", "cancelled"), timeout=120000)
    assert job.state.value == "done", job.error
    assert dock.panel.bar_widgets, "no quality bars shown"
    rjob = dock.restore()
    qtbot.waitUntil(lambda: rjob.state.finished and "restor" in dock.state.text() and "..." not in dock.state.text(),
                    timeout=120000)
    assert rjob.state.value == "done", rjob.error
    # the difference heatmap stays off the image until "Difference map" is ticked (issue 23)
    qtbot.waitUntil(lambda: bool(dock.diff_layers))
    assert dock.diff_layers and not any(lay.visible for lay in dock.diff_layers)
    assert not any(lay.visible for lay in win.model.layers if lay.kind == "heatmap")
    dock.panel.show_diff.setChecked(True)
    assert all(lay.visible for lay in dock.diff_layers)
    big = dock.panel.enlarge()
    assert big is not None and big.view.width() >= 800 and big.view.width() > 2 * dock.panel.diff_label.width()
    big.close()
    dock.panel.show_diff.setChecked(False)
    assert not any(lay.visible for lay in dock.diff_layers)
    win.grab().save(str(tmp_path / "window_quality.png"))
    # strong noise (sigma 160 HU on a 900 HU disc) must be found and restored: no skip
    assert dock.restored is not None, f"the restorer found nothing to restore: {dock.state.text()}"
    assert dock.panel.accept_button.isEnabled()
    dock.panel.accept_button.click()
    ds = win.workflow.store.decisions(dock.restored.id)
    assert [(d.decision, d.query_kind) for d in ds] == [("accept", "restoration")]
    assert win.workflow.store.head(dock.restored.id).backend == "restore"


def test_screenshot_3d_preset_spelling_and_auto_default(tmp_path, qapp):
    from PIL import Image

    from app.cli import main
    from app.paths import SAMPLE_STUDY

    outs = {}
    for name, extra in (("preset", ["--preset", "mip"]), ("volume_preset", ["--volume-preset", "mip"]),
                        ("auto", []), ("bone", ["--preset", "ct_bone"])):
        out = tmp_path / f"{name}.png"
        assert main(["screenshot", str(SAMPLE_STUDY), "--layout", "3d", "--size", "96", "--out", str(out),
                     *extra]) == 0
        outs[name] = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert np.abs(outs["preset"] - outs["volume_preset"]).mean() < 0.5   # --preset picks the 3D preset
    assert np.abs(outs["auto"] - outs["bone"]).mean() < 0.5              # auto = CT bone for a CT
    assert np.abs(outs["preset"] - outs["bone"]).mean() > 2.0            # and it is a different picture


def test_review_edit_opens_the_brush_and_saves_a_correction(qtbot, tmp_path):
    w = MainWindow()                                   # no reviewer yet: the Review panel asks
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    vol = ct_volume()
    w.open_volume(vol, "ct")
    ai = runner_made(LabelLayer((vol.array > 500).astype(np.uint8), vol.affine, "mask (AI)",
                                Provenance.backend("threshold", "1.0", {})))
    w.model.add_layer(ai)
    w.on_result_layers([ai])
    w.workflow.wait_saved()
    review = w.panel("review")
    assert review.user is None
    review.user_edit.setText("dr_cho")
    review.start_button.click()
    assert w.settings.get("user") == "dr_cho"          # kept for later sessions
    review.refresh()
    row = next(r for r, it in enumerate(review.items) if it.layer_id == ai.id)
    review.table.setCurrentCell(row, 0)
    review.decide("edit")                              # E: the brush opens on that layer
    assert w.edit_bar.kind == "brush" and w.edit_bar.target_layer() is ai
    s = w.edit_bar.session()
    k = vol.spatial_shape[0] // 2
    s.editor.begin_stroke()
    s.editor.stroke_line(np.array([k, 5, 5.0]), np.array([k, 5, 20.0]), 2.0, 1, axis=0)
    s.editor.end_stroke()
    assert w.edit_bar.save_edits() is not None
    vs = w.workflow.store.versions(ai.id)
    assert [v.source_kind for v in vs] == ["backend", "human"] and vs[1].author == "dr_cho"
    d = w.workflow.store.decisions(ai.id)[-1]
    assert (d.decision, d.user, d.version_id) == ("edit", "dr_cho", vs[0].version_id)
    assert review._editing is None
    w.close()


def test_exports_offered_only_where_they_apply_and_coco_names_the_true_source(qtbot, win, tmp_path, data_dir):
    """Issue 23: DICOM SEG was offered for a TIFF and failed only after the save dialog; the COCO
    file named the image 01_test.png for a source 01_test.tif."""
    import json

    from app.data.open import open_path

    src = data_dir / "retina" / "DRIVE" / "training" / "images" / "21_training.tif"
    vol = open_path(src)[0]
    win.open_volume(vol, src.name)
    layer = win.edit_bar.new_label_layer()
    layer.labels[0, 100:140, 100:160] = 1
    win.export_menu.refresh()
    seg = win.export_menu.actions["seg"]
    assert not seg.isEnabled() and "DICOM" in seg.toolTip()
    assert not win.export_menu.actions["csv_segments"].isEnabled()
    assert win.export_menu.actions["coco"].isEnabled() and win.export_menu.actions["nifti"].isEnabled()
    opened = []
    import PySide6.QtWidgets as qw
    orig = qw.QFileDialog.getSaveFileName
    qw.QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: opened.append(a) or ("", ""))
    try:
        win.export_menu.export_dialog("seg")          # refused before any dialog opens
    finally:
        qw.QFileDialog.getSaveFileName = orig
    assert opened == [] and "DICOM" in win.message.label.text()
    win.export_menu.identified_action.setChecked(True)
    out = win.export_menu.export_to("coco", str(tmp_path / "a.json"), layer=layer)
    assert json.loads(open(out).read())["images"][0]["file_name"] == "21_training.tif"
    win.export_menu.identified_action.setChecked(False)
    out = win.export_menu.export_to("coco", str(tmp_path / "b.json"), layer=layer)
    doc = json.loads(open(out).read())
    assert doc["images"][0]["file_name"].endswith(".tif") and "21_training" not in json.dumps(doc)
