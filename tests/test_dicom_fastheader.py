"""The fast header reader must agree with pydicom on every tag it reads, on every real file it
accepts, and hand everything else to pydicom (it is an optimisation, never a second truth)."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.data.dicom.fastheader import _WANTED, NotSimple, read_lite_header
from app.data.dicom.scan import collect_files, scan_headers
from app.data.dicom.series import build_series
from app.data.open import open_path


def _same(kind, a, b) -> bool:
    if kind == "F":
        return [float(x) for x in a] == [float(x) for x in (b if hasattr(b, "__iter__") else [b])]
    if kind in "fi":
        return float(a) == float(b)
    if kind in "mI":
        return (a if isinstance(a, list) else [a]) == (list(b) if hasattr(b, "__iter__") and not isinstance(b, str) else [b])
    if kind == "s":
        return a == str(b)
    return a == b


@pytest.mark.parametrize("where,n_accepted", [("dicom", 373), ("xray_iqa", 7), ("sample", 140)])
def test_lite_header_agrees_with_pydicom(data_dir, where, n_accepted):
    """Also covers compressed files (JPEG baseline, JPEG 2000, JPEG-LS sample study): their
    headers are read here, their pixels by pydicom's decoders."""
    from app.paths import SAMPLE_STUDY

    root = SAMPLE_STUDY if where == "sample" else data_dir / where
    accepted, refused = 0, {}
    for path in collect_files(root):
        try:
            lite = read_lite_header(path)
        except NotSimple as exc:
            refused[str(exc)] = refused.get(str(exc), 0) + 1
            continue
        accepted += 1
        ds = pydicom.dcmread(path, defer_size=1024)
        for _tag, (kw, kind) in _WANTED.items():
            assert (kw in ds) == (kw in lite), (path.name, kw)
            if kw in ds and ds[kw].value not in (None, ""):
                assert _same(kind, lite.get(kw), ds[kw].value), (path.name, kw, lite.get(kw), ds[kw].value)
        ss_l, ss_p = lite.get((0x2005, 0x100E)), ds.get((0x2005, 0x100E))
        assert (ss_l.value if ss_l else None) == (ss_p.value if ss_p else None)
        pl, pp = lite.get_item(0x7FE00010), ds.get_item(0x7FE00010, keep_deferred=True)
        if pp.length == 0xFFFFFFFF:
            assert pl.value_tell is None  # encapsulated: left to the decoders
        else:
            assert (pl.value_tell, pl.length) == (pp.value_tell, pp.length), path.name
    assert accepted == n_accepted
    if where == "dicom":  # mosaics, enhanced multi-frame, palette colour, non-DICOM: full reader
        assert refused == {"no preamble": 20, "element (5200,9229) needs the full reader": 5,
                           "element (0029,1010) needs the full reader": 2, "Siemens mosaic": 2,
                           "element (0028,1101) needs the full reader": 1}


def test_fast_and_full_scans_build_the_same_series(dicom_dir):
    root = dicom_dir / "dcm_qa_philips_oblique_epi"
    a = build_series(scan_headers(root, fast=True))
    b = build_series(scan_headers(root, fast=False))
    assert [s.shape for s in a] == [s.shape for s in b]
    va, vb = a[0].load(), b[0].load()
    assert np.array_equal(va.array, vb.array)
    np.testing.assert_allclose(va.affine, vb.affine, atol=1e-12)


@pytest.mark.parametrize("dataset", ["dcm_qa_ct_philips_phantom", "dcm_qa_nih_GE_axial_epi"])
def test_fast_open_path_equals_full_pydicom_load(dicom_dir, dataset):
    folder = dicom_dir / dataset
    fast = open_path(folder)[0]  # fast headers, offset reads, in-place HU
    plain = build_series(scan_headers(folder, fast=False))[0]
    plain._int16_plan = lambda: None  # general path: pydicom headers, no in-place conversion
    plain = plain.load()
    assert fast.array.dtype == plain.array.dtype and np.array_equal(fast.array, plain.array)
    np.testing.assert_allclose(fast.affine, plain.affine, atol=1e-12)
    assert fast.meta["scaling"] == plain.meta["scaling"]


@pytest.mark.parametrize("vendor", ["Philips", "Other Vendor"])
def test_header_longer_than_first_read_with_trailing_element(vendor, dicom_dir, tmp_path):
    """Pixel Data not last (trailing padding) and a header longer than the first read: the check
    for pixels at the end reads elsewhere in the file, and the walk that follows must still read
    the header from where it left off."""
    src = sorted((dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[0]
    ds = pydicom.dcmread(src)
    ds.Manufacturer = vendor  # Philips headers are searched for (2005,100E) first
    ds.add_new((0x0029, 0x0010), "LO", "LOUPE TEST")
    ds.add_new((0x0029, 0x1001), "OB", bytes(range(256)) * 160)  # 40 KB private blob after (0028,xxxx)
    ds.add_new((0xFFFC, 0xFFFC), "OB", b"\0" * 64)  # Data Set Trailing Padding after the pixels
    path = tmp_path / "long_header.dcm"
    ds.save_as(path)
    lite = read_lite_header(path)
    full = pydicom.dcmread(path, defer_size=1024)
    pl, pp = lite.get_item(0x7FE00010), full.get_item(0x7FE00010, keep_deferred=True)
    assert (pl.value_tell, pl.length) == (pp.value_tell, pp.length)
    assert lite.get("Rows") == full.Rows and lite.get("RescaleIntercept") == float(full.RescaleIntercept)
    vol = open_path(tmp_path)[0]
    assert np.array_equal(vol.array[0], full.pixel_array.astype(np.int32) * int(full.RescaleSlope)
                          + int(full.RescaleIntercept))
