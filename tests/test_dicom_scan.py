"""Header scan: discovery across the real tree, silent-but-recorded skips, DICOMDIR, no pixels read."""
from __future__ import annotations

import shutil

import pydicom
import pytest

from app.data.dicom.scan import ScanResult, scan_headers
from app.data.open import examine, load


def test_scan_real_tree(dicom_dir):
    res = scan_headers(dicom_dir)
    assert isinstance(res, ScanResult)
    # every staged DICOM: 150 + 140 + 28 + 28 + 27 + 4 + 2 + 2 + 1 + 1 (SOURCES.md)
    assert len(res.records) == 383
    # README/notes/SOURCES/JSON/NIfTI references are skipped with a reason, not raised
    names = {s.path.name for s in res.skipped}
    assert {"notes.txt", "README-Series.txt", "SOURCES.md"} <= names
    assert all(s.reason.startswith("not DICOM") for s in res.skipped)
    # extension-less DICOMs are found by content
    assert sum(1 for r in res.records if r.path.suffix == "") >= 140 + 28
    series = res.by_series()
    assert len(series) == 10
    ct = next(r for r in res.records if r.path.parent.parent.name == "dcm_qa_ct_philips_head_140")
    assert (ct.modality, ct.rows, ct.columns, ct.series_number) == ("CT", 512, 512, 202)
    assert ct.series_description == "STD BRAIN 1MM, iDose"


def test_scan_reads_no_pixels(dicom_dir):
    folder = dicom_dir / "dcm_qa_ct_philips_head_140" / "dicom"
    rec = scan_headers(folder, workers=1).records[0]
    assert "PixelData" not in rec.header  # full pydicom header, stopped before the pixels
    lite = scan_headers(folder, workers=1, fast=True).records[0]
    elem = lite.header.get_item(0x7FE00010, keep_deferred=True)
    assert elem.value is None and elem.value_tell == 8136 and elem.length == 512 * 512 * 2  # offset only


def test_scan_parallel_equals_serial_and_reports_progress(dicom_dir):
    root = dicom_dir / "dcm_qa_nih_GE_axial_epi"
    seen = []
    a = scan_headers(root, workers=1)
    b = scan_headers(root, workers=4, progress=lambda d, t: seen.append((d, t)))
    assert [r.path for r in a.records] == [r.path for r in b.records]
    assert [r.sop_instance_uid for r in a.records] == [r.sop_instance_uid for r in b.records]
    total = len(a.records) + len(a.skipped)
    assert len(a.records) == 150 and seen[-1] == (total, total) and len(seen) == total


def test_scan_file_list(dicom_dir):
    files = sorted((dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[:3]
    res = scan_headers(files)
    assert [r.path for r in res.records] == files


def test_dicomdir(tmp_path, dicom_dir):
    """A DICOMDIR written by pydicom's FileSet over real files: opening it finds the series."""
    from pydicom.fileset import FileSet

    src = sorted((dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[:6]
    fs = FileSet()
    for f in src:
        fs.add(pydicom.dcmread(f))
    out = tmp_path / "media"
    fs.write(out)
    dicomdir = out / "DICOMDIR"
    assert dicomdir.is_file()
    res = scan_headers(dicomdir)
    assert len(res.records) == 6 and not res.skipped
    cands = examine(dicomdir)
    assert len(cands) == 1 and cands[0].series.n_slices == 6
    vol = load(cands[0])[0]
    assert vol.array.shape == (6, 512, 512)
    # walking the folder instead finds the same images and records the DICOMDIR as an index
    walked = scan_headers(out)
    assert len(walked.records) == 6
    assert [s.reason for s in walked.skipped] == ["DICOMDIR index: its referenced files are scanned instead"]


def test_single_file_opens_its_series(dicom_dir, tmp_path):
    src = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom"
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    cands = examine(tmp_path / "I100")
    assert len(cands) == 1 and cands[0].series.n_slices == 28


@pytest.mark.parametrize("dataset,n", [("dcm_qa_siemens_mosaic_sagittal", 1), ("dcm_qa_enh_philips_enhanced", 2),
                                       ("pydicom_data_enhanced_ct", 1)])
def test_examine_counts(dicom_dir, dataset, n):
    assert len(examine(dicom_dir / dataset)) == n


def test_scan_root_must_exist(tmp_path):
    res = scan_headers(tmp_path / "missing")
    assert res.records == [] and len(res.skipped) == 1 and res.skipped[0].reason.startswith("unreadable")
