"""Catalog indexing speed on the whole shared data tree, against a naive serial header read.

The naive peer walks the tree and reads every file's header with the library a simple script
would use (pydicom stop_before_pixels, Pillow lazy open, nibabel/SimpleITK header, PyAV open),
one file after another, storing nothing. Loupe does the same reads (threaded) plus writing the
SQLite catalog; a re-index of an unchanged tree only stats files.

    .venv/bin/python benchmarks/bench_catalog.py
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import best_of, data_root


def naive_header_read(root: Path) -> int:
    import av
    import nibabel as nib
    import pydicom
    import SimpleITK as sitk
    from PIL import Image

    from app.data.readers.sniff import content_format

    n = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = os.path.join(dirpath, name)
            fmt = content_format(p)
            try:
                if fmt in ("png", "jpeg", "gif", "tiff", "bmp"):
                    with Image.open(p) as im:
                        _ = im.size, getattr(im, "n_frames", 1)
                elif fmt == "nifti":
                    nib.load(p).header.get_data_shape()
                elif fmt in ("nrrd", "metaimage"):
                    r = sitk.ImageFileReader()
                    r.SetFileName(p)
                    r.ReadImageInformation()
                elif fmt == "video":
                    with av.open(p) as c:
                        _ = c.streams.video[0].frames
                else:
                    pydicom.dcmread(p, stop_before_pixels=True)
                n += 1
            except Exception:
                pass
    return n


def main() -> None:
    from app.data.catalog import Catalog

    root = data_root()
    n_files = sum(len(f) for _, _, f in os.walk(root))
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1000))

        def full_index():
            Catalog(Path(tmp) / f"full{next(counter)}.sqlite").index_folder(root)

        warm = Catalog(Path(tmp) / "warm.sqlite")
        warm.index_folder(root)
        t_full = best_of(full_index, 3)
        t_re = best_of(lambda: warm.index_folder(root), 5)
        t_naive = best_of(lambda: naive_header_read(root), 3)
    print(f"{n_files} files under {root} (warm cache, best of runs)")
    print(f"  Loupe catalog, fresh index : {t_full:6.2f} s  ({t_full / t_naive:.2f}x the naive serial header read)")
    print(f"  Loupe catalog, re-index    : {t_re:6.3f} s  ({t_re / t_naive:.3f}x)")
    print(f"  naive serial header read   : {t_naive:6.2f} s  (stores nothing)")


if __name__ == "__main__":
    main()
