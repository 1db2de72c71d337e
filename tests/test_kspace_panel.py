"""K-space panel: opens the real BART brain k-space (coil view, mask), designs a Poisson mask on
a fully sampled real-image case, reconstructs through the job runner (worker process) and shows
reconstruction, zero-filled and difference; the result opens in the viewer with provenance."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject

pytestmark = pytest.mark.gui


class _Win(QObject):
    """The window surface the panel uses: a job runner, error display, and the model opener."""

    def __init__(self):
        super().__init__()
        from app.jobs.remote import make_runner
        self.runner = make_runner(max_workers=1)
        self.errors, self.model, self.shown = [], None, []

    def job_runner(self):
        return self.runner

    def show_error(self, msg, status=""):
        self.errors.append(msg)

    def _show_model(self, vol, cand, preview):
        class M:
            def __init__(self):
                self.layers = []

            def add_layer(self, layer):
                self.layers.append(layer)
        self.shown.append((vol, cand.label))
        self.model = M()


def test_brain_kspace_view_and_bad_file(qtbot, data_dir, tmp_path):
    from app.shell.kspace_panel import KSpacePanel
    p = KSpacePanel(None)
    qtbot.addWidget(p)
    assert p.load(str(data_dir / "kspace" / "bart_pics_brain" / "ksp.hdr"))
    assert "8 coils, 180 x 230" in p.info.text() and "12.7% sampled" in p.info.text()
    assert p.coil.maximum() == 7 and p.mask.shape == (180, 230)
    img = p.mask_view.pixmap().toImage()
    assert img.width() > 100
    (tmp_path / "x.npy").write_bytes(b"junk")
    assert not p.load(str(tmp_path / "x.npy"))
    assert "x.npy" in p.status.plain()   # (shown with break points inside the long path)


def test_mask_designer_reconstruct_compare(qtbot, data_dir, tmp_path):
    import pydicom
    from skimage.transform import resize

    from app.shell.kspace_panel import KSpacePanel
    from backends.mri.simulate import multicoil_kspace
    img = pydicom.dcmread(data_dir / "xray_iqa" / "iqa_compression_pairs" / "MR2_UNCR.dcm").pixel_array
    img = resize(img.astype(float), (80, 80), anti_aliasing=True)
    k, _, gt = multicoil_kspace(img, noise=0.01)
    np.savez(tmp_path / "full.npz", kspace=k, axes=np.array(["coil", "read", "phase1"]))
    win = _Win()
    try:
        p = KSpacePanel(win)
        qtbot.addWidget(p)
        p.resize(620, 760)
        assert p.load(str(tmp_path / "full.npz"))
        assert p.acquired.all()
        p.mask_kind.setCurrentText("poisson")
        p.accel.setValue(4.0)
        p.calib.setValue(16)
        p.apply_mask()
        assert 3.3 < 1 / p.mask.mean() < 4.7 and p.mask[32:48, 32:48].all()
        p.iterations.setValue(20)
        job = p.reconstruct()
        assert job is not None and p.cancel_button.isEnabled()
        job_input = p._input_dir
        assert job_input is not None and any(job_input.glob("*_masked.npz"))
        qtbot.waitUntil(lambda: p.result is not None or job.state.finished and job.result is None,
                        timeout=240_000)
        assert p.result is not None, job.error
        assert not job_input.exists()   # the masked k-space the job read is not left in the temp folder
        recon, zf = p.result
        e_rec = np.linalg.norm(recon - gt) / np.linalg.norm(gt)
        e_zf = np.linalg.norm(zf - gt) / np.linalg.norm(gt)
        assert e_rec < 0.7 * e_zf, (e_rec, e_zf)
        assert "cross-validation" in p.status.text()
        p.show()
        qtbot.waitExposed(p)
        assert p.grab().save(str(tmp_path / "kspace_panel.png"))
        p.open_in_viewer()
        vol, label = win.shown[-1]
        assert vol.array.shape == (1, 80, 80) and "MRI recon" in label
        layer = win.model.layers[0]
        prov = layer.provenance.to_dict()
        assert prov["kind"] == "backend" and prov["author"] == "mri-recon"
        assert prov["params"]["method"] == "cs-wavelet-tv" and prov["params"]["iterations"] == 20
    finally:
        win.runner.shutdown(cancel=True, timeout=5)


def test_window_opens_kspace_in_its_panel(qtbot, data_dir, tmp_path):
    from app.shell.kspace_panel import KSpacePanel
    from app.shell.main_window import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    try:
        w.open_path(str(data_dir / "kspace" / "bart_pics_brain" / "ksp"))
        panel = w.panel("kspace")
        assert isinstance(panel, KSpacePanel) and panel.problems is not None
        assert w.docks["kspace"].isVisible() and "ksp.cfl: 8 coils" in panel.info.text()
        assert w.grab().save(str(tmp_path / "window.png"))
    finally:
        w.close()


def test_recon_layers_stay_off_the_study_on_screen_and_kspace_is_recent(qtbot, data_dir, tmp_path):
    """Session-17 walk: with an ultrasound image on screen, a k-space reconstruction's 'recon' image
    and findings were added to that image (and filed for review under it). They belong to the
    K-space panel (and to the viewer only through Open in viewer). The k-space file is listed
    under Recent like any file opened."""
    from app.shell.main_window import MainWindow
    from backends.mri.simulate import multicoil_kspace

    rng = np.random.default_rng(0)
    k, _, _ = multicoil_kspace(rng.random((24, 24)), noise=0.01)
    np.savez(tmp_path / "small_ksp.npz", kspace=k[:4], axes=np.array(["coil", "read", "phase1"]))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    try:
        with qtbot.waitSignal(w.opened, timeout=30000):
            w.open_path(str(data_dir / "xray_iqa" / "cxr" / "tb0005.png"))
        on_screen = w.model
        before = [lay.name for lay in on_screen.layers]
        w.open_path(str(data_dir / "kspace" / "bart_pics_brain" / "ksp.cfl"))
        qtbot.waitUntil(lambda: w.browser.tree.topLevelItemCount() > 0, timeout=5000)
        recent = w.browser.tree.topLevelItem(0)
        assert recent.text(0) == "Recent"
        assert "ksp.cfl (k-space)" in recent.child(0).text(0).replace("\n", " ")
        panel = w.panel("kspace")
        assert panel.load(str(tmp_path / "small_ksp.npz"))
        panel.method.setCurrentText("zero-filled")
        job = panel.reconstruct()
        assert job is not None
        qtbot.waitUntil(lambda: panel.result is not None or job.state.finished and job.result is None,
                        timeout=60000)
        assert panel.result is not None, job.error
        qtbot.wait(200)   # the Backends dock's queued result handler has run
        assert w.model is on_screen and [lay.name for lay in on_screen.layers] == before
        panel.open_in_viewer()   # the way into the viewer: the recon becomes the image
        assert w.model is not on_screen and "MRI recon" in w.windowTitle()
    finally:
        w.close()
