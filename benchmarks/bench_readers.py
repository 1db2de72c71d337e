"""Volume file readers against their peers, same process, warm cache.

The real 140-slice head CT is written once (SimpleITK) as .nii, .nii.gz, .nrrd and .mha in a
temp folder; each file is then read by Loupe (array + LPS affine), by SimpleITK (ReadImage +
GetArrayFromImage) and, for NIfTI, by nibabel (np.asanyarray(img.dataobj)).

    .venv/bin/python benchmarks/bench_readers.py
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from common import best_of, data_root


def main() -> None:
    import nibabel as nib
    import SimpleITK as sitk

    from app.data.readers import read_file

    series = data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom"
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(series))
    reader.SetFileNames(files)
    img = reader.Execute()
    print(f"head CT {img.GetSize()} {img.GetPixelIDTypeAsString()}, warm cache, best of 5")
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("nii", "nii.gz", "nrrd", "mha"):
            path = Path(tmp) / f"head.{ext}"
            sitk.WriteImage(img, str(path), useCompression=False)
            loupe = best_of(lambda: read_file(path), 5)
            peer = best_of(lambda: sitk.GetArrayFromImage(sitk.ReadImage(str(path))), 5)
            line = f"  {ext:<7} Loupe {loupe * 1000:7.1f} ms | SimpleITK {peer * 1000:7.1f} ms ({loupe / peer:.2f}x)"
            if ext.startswith("nii"):
                nb = best_of(lambda: np.asanyarray(nib.load(str(path), mmap=False).dataobj), 5)
                line += f" | nibabel {nb * 1000:7.1f} ms ({loupe / nb:.2f}x)"
            print(line)


if __name__ == "__main__":
    main()
