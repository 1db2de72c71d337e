"""Main window (pytest-qt, offscreen): opening real series on the worker thread, status bar
read-out, layouts, bad input shown in the window, label maps from NIfTI/PNG, measurements panel,
settings persisted per user, help."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from shell_steps import draw_distance

from app.shell.dock_layout import content
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _open(qtbot, win, path, timeout=30000):
    with qtbot.waitSignal(win.opened, timeout=timeout):
        win.open_path(str(path))
    return win.model


def test_open_series_hover_status_and_layouts(qtbot, win, dicom_dir):
    model = _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_head_140")
    assert model.volume.spatial_shape == (140, 512, 512)
    assert win.layers_panel.list.count() == 1
    win.set_layout("mpr")
    assert [v.view_name for v in win.area.views] == ["axial", "coronal", "sagittal"]
    win.set_layout("2x2")
    assert len(win.area.views) == 3 and len(win.area.cells) == 4
    win.set_layout("1x1")
    v = win.area.views[0]
    qtbot.waitExposed(v)
    qtbot.mouseMove(v, QPoint(v.width() // 2, v.height() // 2))
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    p = QPointF(v.width() / 2, v.height() / 2)
    v.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.NoButton, Qt.NoModifier))
    assert win.st_voxel.text().startswith("voxel (")
    assert win.st_value.text().endswith("HU")
    assert win.st_world.text().startswith("LPS ") and win.st_world.text().endswith("mm")
    i, j, k = [int(x) for x in win.st_voxel.text()[7:-1].split(",")]
    assert float(win.st_value.text().split()[0]) == model.volume.array[k, j, i]


def test_bad_file_shows_message_and_app_keeps_working(qtbot, win, tmp_path, dicom_dir):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage" * 10)
    with _Waiter(qtbot, lambda: win.message.isVisible()):
        win.open_path(bad)
    assert win.message.isVisible()
    assert "broken.dcm" in win.message.label.text()
    model = _open(qtbot, win, dicom_dir / "dcm_qa_ct_GE_gantry_tilt")
    assert model is not None and win.area is not None
    # the tilted, unevenly spaced series is shown resampled, and says so
    assert any(w.startswith("resampled") for w in model.volume.warnings)


class _Waiter:
    def __init__(self, qtbot, cond, timeout=15000):
        self.qtbot, self.cond, self.timeout = qtbot, cond, timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.qtbot.waitUntil(self.cond, timeout=self.timeout)
        return False


def test_missing_path_and_non_image_file(qtbot, win, tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("not an image")
    with _Waiter(qtbot, lambda: win.message.isVisible()):
        win.open_path(txt)
    assert "notes.txt" in win.message.label.text()
    win.message.hide()
    with _Waiter(qtbot, lambda: win.message.isVisible()):
        win.open_path(tmp_path / "nope")
    assert "no such file" in win.message.label.text()


def test_label_map_from_nifti_and_png(qtbot, win, dicom_dir, tmp_path):
    import nibabel as nib
    from PIL import Image

    from app.data.types import lps_to_ras_affine

    model = _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_head_140")
    mask = (model.volume.array > 300).astype(np.uint8)  # bone
    nii = tmp_path / "bone.nii.gz"
    nib.save(nib.Nifti1Image(mask.transpose(2, 1, 0), lps_to_ras_affine(model.volume.affine)), str(nii))
    layer = win.layers_panel.load_label_map(str(nii))
    assert layer is not None and layer in model.layers
    np.testing.assert_array_equal(layer.labels, mask)
    np.testing.assert_allclose(layer.affine, model.volume.affine, atol=1e-4)
    assert win.layers_panel.list.count() == 2
    # layer panel: hide, opacity, delete
    win.layers_panel.select(layer)
    win.layers_panel.list.item(0).setCheckState(Qt.Unchecked)
    assert layer.visible is False
    win.layers_panel.opacity.setValue(30)
    assert layer.opacity == pytest.approx(0.3)
    win.layers_panel.delete_current()
    assert layer not in model.layers
    # a PNG without geometry that does not match the image grid is refused, in the window
    png = tmp_path / "small.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(png)
    assert win.layers_panel.load_label_map(str(png)) is None
    assert win.message.isVisible() and "small.png" in win.message.label.text()


def test_png_label_map_on_2d_image(qtbot, win, data_dir):
    drive = data_dir / "retina" / "DRIVE" / "test"
    img = sorted((drive / "images").iterdir())[0]
    manual = sorted((drive / "1st_manual").iterdir())[0]
    model = _open(qtbot, win, img)
    layer = win.layers_panel.load_label_map(str(manual))
    if layer is None:
        pytest.fail(win.message.label.text())
    assert layer.labels.shape == model.volume.spatial_shape
    assert set(np.unique(layer.labels)) <= {0, 1}


def test_measurement_panel_copy_and_settings_persist(qtbot, win, dicom_dir):
    from PySide6.QtWidgets import QApplication

    _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_head_140")
    win.set_tool("distance")
    draw_distance(qtbot, win.area.views[0])
    assert win.measure_panel.table.rowCount() == 1
    text = win.measure_panel.copy_to_clipboard()
    assert QApplication.clipboard().text() == text and "distance" in text and "mm" in text
    win.set_layout("mpr")
    win.settings.sync()
    from app.shell.settings import Settings

    s2 = Settings()
    assert s2.get("layout") == "mpr" and s2.get("tool") == "distance"
    assert str(s2.path).startswith(str(__import__("app.paths", fromlist=["x"]).user_dir()))


def test_help_lists_shortcuts(qtbot):
    from app.shell.help import SHORTCUTS, HelpDialog

    d = HelpDialog()
    qtbot.addWidget(d)
    assert d.table.rowCount() == len(SHORTCUTS) + len(d.sections) and len(SHORTCUTS) >= 15
    keys = " ".join(k for k, _ in SHORTCUTS)
    for k in ("PgUp", "Right-drag", "Space", "Esc", "J", "Shift+E", "Ctrl+S"):
        assert k in keys
    assert len(d.sections) == 5   # anywhere, reading, editing, video, review


def test_study_browser_lists_catalog_and_opens(qtbot, win, dicom_dir):
    win.browser.index_folder(str(dicom_dir / "dcm_qa_siemens_mosaic_sagittal"), wait=True)
    qtbot.waitUntil(lambda: win.browser.tree.topLevelItemCount() > 0, timeout=10000)
    top = win.browser.tree.topLevelItem(0)
    series_item = top.child(0)
    assert series_item is not None
    qtbot.waitUntil(lambda: not series_item.icon(0).isNull(), timeout=20000)  # thumbnail arrives
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.browser._activated(series_item)
    assert win.model.volume.orientation_letters()[2] in "LR"
    win.browser.search.setText("zzzz-no-such-thing")
    win.browser.refresh()
    assert win.browser.tree.topLevelItemCount() == 0


def test_feature_docks_are_built_when_first_shown(qtbot, win):
    from PySide6.QtWidgets import QLabel

    qtbot.waitUntil(lambda: "jobs" in win.docks, timeout=5000)
    for key in ("jobs", "review"):
        d = win.docks[key]
        d.show()
        d.raise_()
        qtbot.waitUntil(lambda d=d: d.property("built") is True, timeout=10000)
        w = content(d)
        assert not (isinstance(w, QLabel) and "loading" in w.text())


def test_drop_a_folder_opens_it(qtbot, win, dicom_dir):
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dicom_dir / "dcm_qa_siemens_mosaic_sagittal"))])

    class Drop:
        def mimeData(self):
            return mime

    with qtbot.waitSignal(win.opened, timeout=30000):
        win.dropEvent(Drop())
    assert win.model.volume.n_frames == 2
    # a sagittal acquisition opens in the sagittal plane in 1x1
    win.set_layout("1x1")
    assert win.area.views[0].view_name == "sagittal"


def test_default_command_opens_the_bundled_sample(tmp_path):
    """`python run_app.py` (no argument) starts the window on the bundled sample study."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.paths import SAMPLE_STUDY

    assert SAMPLE_STUDY.exists(), f"bundled sample missing at {SAMPLE_STUDY}"
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LOUPE_HOME=str(tmp_path / "home"))
    r = subprocess.run([sys.executable, str(root / "run_app.py"), "--exit-when-opened", "--quit-after", "90"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "window up" in r.stderr
    assert "opened:" in r.stderr and "HU" in r.stderr, r.stderr


def test_first_slice_preview_is_shown_in_the_acquisition_plane(qtbot, win, dicom_dir):
    seen = []
    win.first_painted.connect(lambda s: seen.append((s, win.area.views[0].view_name,
                                                     win.model.volume.meta.get("preview"))))
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.open_path(dicom_dir / "dcm_qa_siemens_mosaic_sagittal")
    assert seen and seen[0][1] == "sagittal" and seen[0][2] is True
    assert win.model.volume.meta.get("preview") is None  # replaced by the full series


def test_while_a_series_loads_no_dock_shows_the_previous_study_and_a_layout_waits(qtbot, win, dicom_dir, tmp_path,
                                                                                    monkeypatch):
    """Walk of session 14: reopening the CT after a PNG, the first slice was on screen while the
    Layers, Review and Evidence docks still named the PNG (a Run would have gone to it), and MPR chosen
    during loading said "a 2D image has only one plane". Now nothing is actionable until the series is
    whole, and the asked layout is shown when it is."""
    from PIL import Image

    png = tmp_path / "photo.png"
    Image.fromarray(np.full((32, 48), 90, np.uint8)).save(png)
    _open(qtbot, win, png)
    assert win.current_view.context.is_image
    import threading

    import app.data.open as data_open

    during, go_on, real_load = [], threading.Event(), data_open.load

    def held_load(*a, **kw):   # the series stays "loading" until the checks below have run
        go_on.wait(60)   # released by click_mpr once the first slice is up; only a hang guard
        return real_load(*a, **kw)
    monkeypatch.setattr(data_open, "load", held_load)

    def click_mpr():   # as a person does: from the event loop, not from inside a paint
        if win.model.volume.meta.get("preview"):
            ctx = win.current_view.context
            during.append((ctx.kind, ctx.name, win.layers_panel.model, win.current_view.context.backend_input()))
            win.set_layout("mpr")
            during.append(win.message.isVisible() and "finished loading" in win.message.label.text())
        go_on.set()
    win.first_painted.connect(lambda _s: QTimer.singleShot(0, click_mpr))
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.open_path(dicom_dir / "dcm_qa_ct_philips_head_140")
    assert during, "the first slice was not shown before the series"
    kind, name, layers_model, run_input = during[0]
    assert kind == "none" and name.endswith("(still loading)") and "photo" not in name
    assert layers_model is None and run_input is None
    assert during[1] is True
    assert [v.view_name for v in win.area.views] == ["axial", "coronal", "sagittal"]
    assert not win.message.isVisible()
    assert win.current_view.context.kind == "volume" and win.layers_panel.model is win.model


def test_measurement_survives_reopening_the_study(qtbot, win, dicom_dir):
    """Issue 23: a measurement was gone after reopening the study. Measurements are saved with the
    study in the review store and restored on reopen, also after another study was opened."""
    win.settings.set("user", "dr_ana")
    _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_head_140")
    win.set_tool("distance")
    draw_distance(qtbot, win.area.views[0])
    assert win.measure_panel.table.rowCount() == 1
    value = win.model.measurement_rows()[0]["value"]
    _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom")   # another study
    assert win.measure_panel.table.rowCount() == 0
    _open(qtbot, win, dicom_dir / "dcm_qa_ct_philips_head_140")             # back again
    assert win.measure_panel.table.rowCount() == 1
    assert win.model.measurement_rows()[0]["value"] == pytest.approx(value)
    audit = [a.action for a in win.workflow.store.audit()]
    assert "save_measurements" in audit
