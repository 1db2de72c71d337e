"""Load the real 140-slice 512x512 head CT three ways in one run (warm cache, best of N):
Loupe (folder -> Volume, headers + pixels + HU), SimpleITK's ImageSeriesReader with GDCM file
names, and a raw read of the same files' bytes. Also the first paint: folder -> one rescaled slice.

Targets (issue 2): Loupe <= 0.5x SimpleITK and <= 2x the raw read; first paint < 150 ms.
Run: .venv/bin/python benchmarks/bench_load_ct.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import sys

from common import best_of, data_root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    folder = data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom"
    files = sorted(str(p) for p in folder.iterdir())

    import SimpleITK as sitk

    from app.data.open import examine, open_path

    def raw_read():
        n = 0
        for f in files:
            with open(f, "rb") as fh:
                n += len(fh.read())
        return n

    def loupe():
        vol = open_path(folder)[0]
        assert vol.array.shape == (140, 512, 512)
        return vol

    def simpleitk():
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        return reader.Execute()

    def first_paint():
        series = examine(folder)[0].series
        return series.read_slice(series.n_slices // 2)

    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    for fn in (raw_read, loupe, simpleitk, first_paint):  # warm the page cache and imports
        fn()
    t_raw = best_of(raw_read, args.repeat)
    t_loupe = best_of(loupe, args.repeat)
    t_sitk = best_of(simpleitk, args.repeat)
    t_first = best_of(first_paint, args.repeat)
    mb = raw_read() / 1e6
    print(f"140-slice head CT, {len(files)} files, {mb:.1f} MB, warm cache, best of {args.repeat} "
          f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    print(f"  raw read (bytes)        {t_raw * 1000:8.1f} ms")
    print(f"  SimpleITK series reader {t_sitk * 1000:8.1f} ms")
    print(f"  Loupe open_path         {t_loupe * 1000:8.1f} ms   "
          f"{t_loupe / t_sitk:.2f}x SimpleITK (target <= 0.5)   {t_loupe / t_raw:.2f}x raw (target <= 2)")
    print(f"  Loupe first paint       {t_first * 1000:8.1f} ms   (folder -> one HU slice; target < 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
