"""Slice step latency: event -> painted image, 512x512 CT slice with two overlay layers (a label
map and a heatmap), in the real SliceView (offscreen Qt, software raster).

Measured: ``model.step()`` (what a wheel/arrow event does) + ``repaint()`` (the synchronous paint
the event loop would do next). Pass 1 scrolls through all 140 slices with a cold overlay cache and
no idle time (so no prefetch: the worst case); pass 2 scrolls back (warm). A naive peer (float
windowing + numpy compositing of both overlays every step + QImage copy + one scaled drawImage) is
timed interleaved with ours, step for step, so machine load hits both alike. Prints p50/p95 and
the peer/ours ratio."""
from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import data_root  # noqa: E402


def main() -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    from app.data.open import examine, load
    from app.layers import HeatmapLayer, LabelLayer, Provenance
    from viewers.slice.model import ViewerModel
    from viewers.slice.view import SliceView

    _app = QApplication.instance() or QApplication([])
    vol = load(examine(data_root() / "dicom" / "dcm_qa_ct_philips_head_140")[0])[0]
    labels = (vol.array > 300).astype(np.uint8) + (vol.array > 1000)
    heat = np.clip((vol.array.astype(np.float32) + 100) / 200, 0, 1)
    model = ViewerModel(vol)
    model.add_layer(LabelLayer(labels, vol.affine, "bone", Provenance.human("bench")))
    model.add_layer(HeatmapLayer(heat, vol.affine, "heat", Provenance.human("bench"), vmin=0.2, vmax=1.0))
    view = SliceView(model, "axial")
    view.resize(512, 512)
    view.show()

    class Naive(QWidget):
        k = 0

        def paintEvent(self, _e):
            a = vol.array[self.k].astype(np.float32)
            g = np.clip((a - 0.0) * (255 / 80), 0, 255)
            rgb = np.repeat(g[..., None], 3, 2)
            lab = labels[self.k]
            col = np.array([[0, 0, 0], [230, 50, 50], [50, 190, 60]], np.float32)[lab]
            al = (lab > 0)[..., None] * 0.5
            rgb = rgb * (1 - al) + col * al
            h = heat[self.k][..., None]
            rgb = rgb * (1 - 0.5 * h) + np.array([255, 200, 0], np.float32) * 0.5 * h
            img = np.ascontiguousarray(rgb.astype(np.uint8))
            q = QImage(img.data, 512, 512, 1536, QImage.Format_RGB888).copy()
            p = QPainter(self)
            p.drawImage(self.rect(), q)
            p.end()

    naive = Naive()
    naive.resize(512, 512)
    naive.show()
    QEventLoop().processEvents()
    view.repaint()
    model.step("axial", -10 ** 6)
    n = vol.spatial_shape[0] - 1

    def one_pass(direction: int, ks) -> tuple[list[float], list[float]]:
        ours, peer = [], []
        for k in ks:
            t0, c0 = time.perf_counter(), time.thread_time()
            model.step("axial", direction)
            view.repaint()
            ours.append(time.perf_counter() - t0)
            cpu_ours.append(time.thread_time() - c0)
            t0, c0 = time.perf_counter(), time.thread_time()
            naive.k = k
            naive.repaint()
            peer.append(time.perf_counter() - t0)
            cpu_peer.append(time.thread_time() - c0)
        return ours, peer

    cpu_ours: list[float] = []
    cpu_peer: list[float] = []

    cold, peer1 = one_pass(+1, range(1, n + 1))
    warm, peer2 = one_pass(-1, range(n - 1, -1, -1))
    peer = peer1 + peer2

    def p(v, q):
        return 1000 * float(np.percentile(v, q))

    print(f"slice step 512x512 + 2 overlays (ms): cold p50 {p(cold, 50):.2f} p95 {p(cold, 95):.2f} | "
          f"warm p50 {p(warm, 50):.2f} p95 {p(warm, 95):.2f} | target p95 < 4 ms")
    print(f"naive peer (float window + numpy compositing): p50 {p(peer, 50):.2f} p95 {p(peer, 95):.2f} ms; "
          f"peer/ours p95: cold {p(peer, 95) / p(cold, 95):.1f}x, warm {p(peer, 95) / p(warm, 95):.1f}x")
    n1 = len(cold)
    print(f"CPU time of the GUI thread per step (less sensitive to a loaded machine): cold p95 "
          f"{p(cpu_ours[:n1], 95):.2f} ms, warm p95 {p(cpu_ours[n1:], 95):.2f} ms; peer p95 {p(cpu_peer, 95):.2f} ms")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
