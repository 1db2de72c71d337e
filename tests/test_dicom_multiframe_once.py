"""A classic multi-frame file (cine, or a damaged header claiming 100,000 frames) is described
frame by frame, but what every frame shares (size, pixel spacing and its source) is read from the
header once: the fuzz's NumberOfFrames=100000 case took ~2.8 s of CPU per command when it was
read per frame (session 17, S17o), ~1.3 s after."""
from __future__ import annotations

import numpy as np
import pydicom


def test_classic_multiframe_reads_the_shared_attributes_once(dicom_dir, tmp_path, monkeypatch):
    from app.data.dicom import frames as F
    from app.data.dicom.scan import HeaderRecord

    src = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom" / "I10"
    ds = pydicom.dcmread(src, force=True)
    ds.NumberOfFrames = "500"
    path = tmp_path / "cine.dcm"
    ds.save_as(path, enforce_file_format=False)
    rec = HeaderRecord.from_header(path, pydicom.dcmread(path, stop_before_pixels=True, force=True),
                                   path.stat().st_size)
    calls = {"spacing": 0, "source": 0, "rows_cols": 0}
    spacing, source, int_attr = F._spacing, F._spacing_source, F.int_attr

    def count(key, fn):
        def wrapped(*a, **k):
            if key != "rows_cols" or a[1] in ("Rows", "Columns"):
                calls[key] += 1
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(F, "_spacing", count("spacing", spacing))
    monkeypatch.setattr(F, "_spacing_source", count("source", source))
    monkeypatch.setattr(F, "int_attr", count("rows_cols", int_attr))
    frames = F.frames_of(rec)
    assert len(frames) == 500 and [f.frame_index for f in frames] == list(range(500))
    assert [f.temporal_index for f in frames] == list(range(500))   # a cine: time points at one plane
    ps = tuple(float(v) for v in ds.PixelSpacing)
    assert all((f.rows, f.cols) == (ds.Rows, ds.Columns) and np.allclose(f.pixel_spacing, ps) for f in frames)
    assert all(f.spacing_source == "PixelSpacing" and f.has_geometry for f in frames)
    # once for the file, not once per frame (frames_of also reads Rows/Columns once to set garbage aside)
    assert calls["spacing"] == 1 and calls["source"] == 1 and calls["rows_cols"] <= 4, calls
