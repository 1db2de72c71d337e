"""Shared helpers for the export tests: real series loaded with pydicom (app/data/open.py is
another helper's work), and a threshold label map that is realistic rather than a toy cube."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.export.reference import SourceSeries


def phantom(dicom_dir: Path) -> SourceSeries:
    ref = SourceSeries.from_folder(dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom")
    # input fingerprint first (STYLE.md): a changed file must fail loudly, not pass by accident
    assert ref.shape == (28, 512, 512)
    assert np.allclose(np.linalg.norm(ref.affine[:3, :3], axis=0), [0.451171875, 0.451171875, 5.0])
    return ref


def hounsfield(ref: SourceSeries) -> np.ndarray:
    return np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
                     for d in ref.datasets]).astype(np.float32)


def threshold_labels(ref: SourceSeries) -> np.ndarray:
    """1 = soft tissue-like (0..100 HU), 2 = dense (> 300 HU): two real, irregular segments."""
    hu = hounsfield(ref)
    lab = np.zeros(hu.shape, np.uint8)
    lab[(hu > 0) & (hu <= 100)] = 1
    lab[hu > 300] = 2
    return lab
