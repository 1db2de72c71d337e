"""PHI stays home (issue 21): the catalog keeps patient names and IDs only when the user opts in
(a keyed hash otherwise, still found by an exact ID), and the result cache keeps no local paths."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pydicom
import pytest

from app.data.catalog import Catalog
from app.data.types import Volume
from app.jobs.local import LocalRunner
from backends.base import BackendInput
from backends.demo_threshold import SPEC as THRESHOLD
from backends.registry import Registry


@pytest.fixture()
def patient_folder(data_dir, tmp_path):
    """Three real CT slices filed under a patient-named folder, with a known name and ID."""
    folder = tmp_path / "Doe^Jane_4711"
    folder.mkdir()
    for i, src in enumerate(sorted((data_dir / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[:3]):
        ds = pydicom.dcmread(src)
        ds.PatientName, ds.PatientID = "Doe^Jane", "PID-4711"
        ds.save_as(folder / f"s{i}.dcm")
    return folder


def _cells(db) -> str:
    import sqlite3
    con = sqlite3.connect(db)
    text = []
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in con.execute(f"SELECT * FROM {table}"):
            text.append(" ".join(str(c) for c in row))
    return "\n".join(text)


def test_catalog_keeps_no_identifiers_unless_asked(patient_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("LOUPE_CATALOG_IDENTIFIERS", raising=False)
    cat = Catalog(tmp_path / "cat.sqlite")
    cat.index_folder(patient_folder)
    cells = _cells(tmp_path / "cat.sqlite")
    assert "PID-4711" not in cells and "Doe^Jane" not in cells.replace(str(patient_folder), "")
    assert len(cat.search("PID-4711")) == 1          # an exact ID still finds its series
    assert len(cat.search("pid-4711")) == 1
    assert cat.search("PID-47") == []                 # but no partial guessing
    assert cat.studies()[0].patient_id == ""          # nothing to show


def test_catalog_keeps_identifiers_when_opted_in(patient_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("LOUPE_CATALOG_IDENTIFIERS", "1")
    cat = Catalog(tmp_path / "cat.sqlite")
    cat.index_folder(patient_folder)
    assert "PID-4711" in _cells(tmp_path / "cat.sqlite")
    assert cat.studies()[0].patient_id == "PID-4711" and len(cat.search("PID-47")) == 1


def test_result_cache_holds_no_local_paths(tmp_path):
    a = np.zeros((3, 16, 16), np.int16)
    a[1, 4:12, 4:12] = 300
    src = tmp_path / "Doe^Jane_4711" / "ct.nii.gz"
    inp = BackendInput.from_volume(Volume(a, np.eye(4), source=str(src)))
    inp.path = str(src)
    cache_root = tmp_path / "cache"
    from app.jobs.cache import ResultCache
    runner = LocalRunner(Registry.from_specs([THRESHOLD]), cache=ResultCache(cache_root), max_workers=1)
    try:
        assert runner.run("threshold", inp) is not None
    finally:
        runner.shutdown()
    docs = list(cache_root.rglob("bundle.json"))
    assert docs, "the result was not cached"
    for d in docs:
        assert "Doe^Jane" not in d.read_text()
    shutil.rmtree(cache_root)


def test_cache_entry_paths_cut_to_names(tmp_path):
    """A backend document that names its input (video backends do) is cached without the folders."""
    from app.jobs.cache import ResultCache
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    src = tmp_path / "Doe^Jane_4711" / "clip.mp4"
    src.parent.mkdir()
    src.write_bytes(b"x")
    (bundle / "bundle.json").write_text(json.dumps({"documents": {"events": {"video": str(src)}},
                                                    "record": {"input": str(src), "note": "a/b is text"}}))
    entry = ResultCache(tmp_path / "cache").put("k" * 40, bundle)
    doc = json.loads((entry / "bundle.json").read_text())
    assert doc["documents"]["events"]["video"] == "clip.mp4" and doc["record"]["input"] == "clip.mp4"
    assert doc["record"]["note"] == "a/b is text"  # not a path on this machine: left as it is
