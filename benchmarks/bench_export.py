"""DICOM SEG write/read speed on the 140-slice 512x512 head CT with a realistic mask, against NIfTI
(nibabel, gzip) of the same label map in the same process. highdicom SEG is known to be slow in
places (STYLE.md: issue #202, PR #227), so this is measured before anything relies on it.

    .venv/bin/python benchmarks/bench_export.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from common import best_of, data_root

from app.export.nifti import read_nifti, write_nifti  # noqa: E402
from app.export.reference import SourceSeries  # noqa: E402
from app.export.seg import read_seg, write_seg  # noqa: E402
from app.layers import LabelLayer, Provenance  # noqa: E402


def realistic_labels(ref: SourceSeries, n_segments: int) -> np.ndarray:
    """Bone (> 300 HU) and brain-like tissue (20..80 HU inside the head), the bone split into
    head-to-foot slabs when more segments are asked for."""
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ref.datasets])
    lab = np.zeros(hu.shape, np.uint8)
    lab[(hu >= 20) & (hu <= 80)] = 1
    bone = hu > 300
    if n_segments <= 2:
        lab[bone] = 2
    else:
        slab = np.minimum((np.arange(hu.shape[0]) * (n_segments - 1)) // hu.shape[0], n_segments - 2) + 2
        lab[bone] = np.broadcast_to(slab[:, None, None], hu.shape)[bone]
    return lab


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    ref = SourceSeries.from_folder(data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom")
    print(f"series: {ref.shape} read in {time.perf_counter() - t0:.2f} s")
    prov = Provenance.backend("bench", "1.0", {"hu": [20, 80, 300]})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n_seg in (2, 8, 50):
            lab = realistic_labels(ref, n_seg)
            layer = LabelLayer(lab, ref.affine, f"head {n_seg}", prov)
            present = len(np.unique(lab)) - 1
            frac = (lab > 0).mean()
            seg_path, nii_path = tmp / f"s{n_seg}.dcm", tmp / f"n{n_seg}.nii.gz"
            t_seg_w = best_of(lambda: write_seg(layer, ref, seg_path, overwrite=True), args.repeat)
            t_nii_w = best_of(lambda: write_nifti(layer, ref, nii_path, overwrite=True), args.repeat)
            t_seg_r = best_of(lambda: read_seg(seg_path, ref), args.repeat)
            t_nii_r = best_of(lambda: read_nifti(nii_path, ref), args.repeat)
            assert np.array_equal(read_seg(seg_path, ref).labels, lab)
            assert np.array_equal(read_nifti(nii_path, ref).labels, lab)
            rows.append((present, frac, t_seg_w, t_nii_w, t_seg_r, t_nii_r,
                         seg_path.stat().st_size / 2**20, nii_path.stat().st_size / 2**20))
        # the review store keeps every version: saving one is the cost of "save correction"
        from app.review.store import ReviewStore  # noqa: E402

        lab = realistic_labels(ref, 2)
        with ReviewStore(tmp / "bench.sqlite") as store:
            layer = LabelLayer(lab, ref.affine, "head", prov)
            t_save = best_of(lambda: store.save_layer(layer), args.repeat)
            t_load = best_of(lambda: store.load_layer(layer.id), args.repeat)
        t_nii = best_of(lambda: write_nifti(LabelLayer(lab, ref.affine, "h", prov), ref, tmp / "h.nii.gz",
                                            overwrite=True), args.repeat)
    print(f"review store: save version {t_save:.2f} s ({t_save / t_nii:.1f}x NIfTI.gz write), "
          f"load {t_load:.2f} s")
    print(f"{'segments':>8} {'fg %':>5} | {'SEG write':>9} {'NIfTI w':>8} {'ratio':>6} | "
          f"{'SEG read':>8} {'NIfTI r':>8} {'ratio':>6} | {'SEG MB':>6} {'nii MB':>6}")
    for present, frac, sw, nw, sr, nr, smb, nmb in rows:
        print(f"{present:>8} {100 * frac:>5.1f} | {sw:>8.2f}s {nw:>7.2f}s {sw / nw:>5.1f}x | "
              f"{sr:>7.2f}s {nr:>7.2f}s {sr / nr:>5.1f}x | {smb:>6.1f} {nmb:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
