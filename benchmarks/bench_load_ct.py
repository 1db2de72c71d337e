"""Load the real 140-slice 512x512 head CT three ways in one run (warm cache): Loupe (folder ->
Volume, headers + pixels + HU), SimpleITK's ImageSeriesReader with GDCM file names, and a raw read
of the same files' bytes. Also the first paint (folder -> one rescaled slice) and where Loupe's
time goes: headers (examine), pixels (load), and the floor any loader pays for a new volume (a
fresh array of the volume's size, every page touched).

The methods run interleaved, one call each per round, so a noisy shared machine disturbs them
alike; the best (and median) of the rounds is printed.
Targets (issue 2): Loupe <= 0.5x SimpleITK and <= 2x the raw read; first paint < 150 ms.
Run: .venv/bin/python benchmarks/bench_load_ct.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from common import data_root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    folder = data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom"
    files = sorted(str(p) for p in folder.iterdir())

    import numpy as np
    import SimpleITK as sitk

    from app.data.open import examine, load, open_path

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

    cand = examine(folder)[0]

    def headers():
        return examine(folder)

    def pixels():
        return load(cand)

    def new_volume():
        a = np.empty((140, 512, 512), dtype=np.int16)
        a.reshape(-1)[::2048] = 0  # one write per 4 KiB page
        return a

    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    methods = {"raw": raw_read, "loupe": loupe, "sitk": simpleitk, "first": first_paint,
               "headers": headers, "pixels": pixels, "floor": new_volume}
    times: dict[str, list[float]] = {k: [] for k in methods}
    for fn in methods.values():  # warm the page cache and imports
        fn()
    for _ in range(args.repeat):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    mb = raw_read() / 1e6

    def row(label, key, extra=""):
        print(f"  {label:24s}{best[key] * 1000:8.1f} ms  (median {med[key] * 1000:6.1f}){extra}")

    print(f"140-slice head CT, {len(files)} files, {mb:.1f} MB, warm cache, best of {args.repeat} interleaved "
          f"rounds ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]})")
    row("raw read (bytes)", "raw")
    row("SimpleITK series reader", "sitk")
    row("Loupe open_path", "loupe", f"   {best['loupe'] / best['sitk']:.2f}x SimpleITK (target <= 0.5)   "
        f"{best['loupe'] / best['raw']:.2f}x raw (target <= 2)")
    row("  headers (examine)", "headers")
    row("  pixels + HU (load)", "pixels")
    row("  floor: new volume", "floor", "   (a fresh 73 MB array, every page touched)")
    row("Loupe first paint", "first", "   (folder -> one HU slice; target < 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
