"""Catalog: whole shared data tree indexed and counted against SOURCES.md, incremental re-index,
search/filter, recent studies, CLI, and the bad-input cases (empty / unreadable folder)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import time

import pytest

from app.cli import main as cli_main
from app.data import catalog_probe
from app.data.catalog import Catalog
from app.data.types import ReadError

# Expected counts, derived from the SOURCES.md files of the shared data:
#   dicom/: GE EPI 150 + Philips oblique 27 + Philips enhanced 1 + Siemens XA10 4 + mosaic sagittal 2
#   + mosaic JPEG 2 + GE tilt CT 28 + Philips phantom CT 28 + head CT 140 + enhanced CT 1 = 383 files;
#   ultrasound/dicom_us 4 (incl. the 10-frame echo cine); xray_iqa/cxr 2 DICOM (JPEG CR, RG1);
#   iqa_compression_pairs 7 -> 396.
#   Series: 10 in dicom/ (one per folder), US: OBXXXX1A (+ its 2-frame copy), ALOKA, echo cine,
#   US1 pair = 4; CR: cxr JPEG, RG1, RG3 pair = 3; MR2 triple = 1 MR -> MR 7, CT 4, US 4, CR 3 = 18.
#   Images: 2010 PNG + 70 GIF + 30 TIFF + 11 JPEG = 2121; volumes: 7 ref NIfTI + 12 MHA = 19;
#   one MPEG-4 clip (20 frames, 10 fps, 1920x1080, 2.0 s); two BART pairs (ksp 8 coils, img).
EXPECTED_KINDS = {"dicom": 396, "image": 2121, "volume": 19, "video": 1, "kspace": 2}
EXPECTED_SERIES_BY_MODALITY = {"CT": 4, "MR": 7, "US": 4, "CR": 3}
EXPECTED_DICOM_SERIES = 18
EXPECTED_DICOM_STUDIES = 16  # the SOURCES repositories reuse Study UIDs (e.g. head CT + phantom, WG04 files)


def test_index_whole_shared_data(data_dir, tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    t0 = time.perf_counter()
    stats = cat.index_folder(data_dir)
    first = time.perf_counter() - t0
    print(f"\nindexed {stats.files_seen} files in {first:.2f} s")  # measured figure (see report)
    assert stats.by_kind == EXPECTED_KINDS
    assert stats.modalities == EXPECTED_SERIES_BY_MODALITY
    assert stats.errors == 0, cat.problems()
    assert stats.series == sum(EXPECTED_KINDS.values()) - EXPECTED_KINDS["dicom"] + EXPECTED_DICOM_SERIES  # one series per non-DICOM file
    dicom_studies = cat.studies(kind="dicom")
    assert len(dicom_studies) == EXPECTED_DICOM_STUDIES
    assert sum(s.n_series for s in dicom_studies) == EXPECTED_DICOM_SERIES
    (video,) = cat.videos()
    assert (video["codec"], video["width"], video["height"], video["fps"], video["frame_count"],
            video["duration_s"]) == ("mpeg4", 1920, 1080, 10.0, 20, 2.0)
    ks = {os.path.basename(k["path"]): k for k in cat.kspace_files()}
    assert ks["ksp.cfl"]["dims"] == [1, 180, 230, 8] and ks["ksp.cfl"]["n_coils"] == 8
    assert ks["img.cfl"]["dims"] == [1, 180, 230, 1, 2]
    head = cat.search("BRAIN 1MM", modality="CT")
    assert len(head) == 1 and head[0].n_files == 140 and (head[0].rows, head[0].cols) == (512, 512)

    t0 = time.perf_counter()
    again = cat.index_folder(data_dir)
    print(f"re-index (nothing changed) {time.perf_counter() - t0:.3f} s")
    assert again.unchanged == again.files_seen == stats.files_seen
    assert again.new == again.changed == again.removed == 0
    assert again.by_kind == EXPECTED_KINDS


@pytest.fixture
def small_tree(data_dir, tmp_path):
    """A few real files of every kind, copied so the test can change them."""
    root = tmp_path / "tree"
    epi = sorted((data_dir / "dicom" / "dcm_qa_nih_GE_axial_epi" / "dicom").glob("*.dcm"))[:3]
    (root / "mr").mkdir(parents=True)
    for f in epi:
        shutil.copy2(f, root / "mr" / f.name)
    shutil.copy2(data_dir / "dicom" / "dcm_qa_nih_GE_axial_epi" / "dicom" / "README-Series.txt", root / "mr")
    (root / "ct").mkdir()
    for f in sorted((data_dir / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[:2]:
        shutil.copy2(f, root / "ct" / f.name)  # extension-less DICOM
    (root / "img").mkdir()
    for f in sorted((data_dir / "retina" / "DRIVE" / "training" / "images").glob("*.tif"))[:2]:
        shutil.copy2(f, root / "img" / f.name)
    shutil.copy2(data_dir / "vessel3d" / "vmtk_aorta" / "aorta.mha", root / "img")
    shutil.copytree(data_dir / "kspace" / "bart_pics_brain", root / "raw")
    shutil.copy2(data_dir / "endoscopy" / "endovis2017_clip" / "short_source.mp4", root / "clip.mp4")
    return root


def test_incremental_reindex(small_tree, tmp_path, monkeypatch):
    cat = Catalog(tmp_path / "c.sqlite")
    s1 = cat.index_folder(small_tree)
    assert s1.by_kind == {"dicom": 5, "image": 2, "volume": 1, "video": 1, "kspace": 2}
    assert s1.skipped == 3  # README-Series.txt and the two BART .hdr files
    mr = cat.search(modality="MR")
    assert len(mr) == 1 and mr[0].n_files == 3

    calls = []
    monkeypatch.setitem(catalog_probe.PROBES, "image",
                        lambda rec, _orig=catalog_probe.PROBES["image"]: (calls.append(rec.path), _orig(rec)))
    tifs = sorted((small_tree / "img").glob("*.tif"))
    os.remove(sorted((small_tree / "mr").glob("*.dcm"))[0])  # a removed slice
    st = tifs[0].stat()
    os.utime(tifs[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # changed (mtime)
    shutil.copy2(tifs[1], small_tree / "img" / "copy.tif")  # a new file
    seen = []
    s2 = cat.index_folder(small_tree, progress=lambda done, total: seen.append((done, total)))
    assert (s2.new, s2.changed, s2.removed) == (1, 1, 1)
    assert seen[-1] == (2, 2)  # progress covers only the files that had to be read
    assert s2.unchanged == s1.files_seen - 2
    assert sorted(calls) == sorted([str(tifs[0]), str(small_tree / "img" / "copy.tif")])  # only those re-read
    assert cat.search(modality="MR")[0].n_files == 2
    assert s2.by_kind["image"] == 3

    shutil.rmtree(small_tree / "mr")
    s3 = cat.index_folder(small_tree)
    assert s3.removed == 3 and cat.search(modality="MR") == []
    assert all(s.modalities != ["MR"] for s in cat.studies())


def test_search_filters_and_series(small_tree, tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(small_tree)
    assert {s.kind for s in cat.search("")} == {"dicom", "image", "volume", "video", "kspace"}
    assert [s.modality for s in cat.search("axial epi")] == ["MR"]
    tif = sorted((small_tree / "img").glob("*.tif"))[0].name  # e.g. 21_training.tif: '_' is literal
    assert [os.path.basename(s.first_path) for s in cat.search(tif.upper())] == [tif]
    assert cat.search("2_%") == []
    assert cat.search("axial epi", modality="CT") == []
    assert [os.path.basename(s.first_path) for s in cat.search(kind="video")] == ["clip.mp4"]
    assert len(cat.search(kind=["kspace", "volume"])) == 3
    assert [s.modality for s in cat.search(date_from="2018-09-01", date_to="2018-09-30")] == ["MR"]
    assert {s.modality for s in cat.search(date_from="20150101", date_to="2015-12-31")} == {"CT"}
    with pytest.raises(ValueError, match="'2018-02-30' is not a date"):
        cat.search(date_from="2018-02-30")
    ct_study = cat.studies(modality="CT")[0]
    assert ct_study.kind == "dicom" and ct_study.date == "2015-02-06"
    by_uid = cat.series(ct_study.study_uid)
    assert by_uid == cat.series(ct_study.key) and len(by_uid) == 1
    assert len(cat.files(by_uid[0].key)) == 2
    folder_studies = [s for s in cat.studies() if s.kind == "folder"]
    assert {os.path.basename(s.folder) for s in folder_studies} == {"img", "raw", "tree"}
    assert "patient_name" not in repr(ct_study) and "patient_id" not in repr(ct_study)


def test_recent_studies(small_tree, tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(small_tree)
    cat.mark_opened(small_tree / "ct", when=100.0)
    cat.mark_opened(small_tree / "clip.mp4", when=200.0)
    cat.mark_opened(small_tree / "ct", when=300.0)
    recent = cat.recent()
    assert [os.path.basename(r.path) for r in recent] == ["ct", "clip.mp4"]
    assert recent[0].study.modalities == ["CT"] and recent[1].study.kinds == ["video"]
    # a second Catalog on the same file (e.g. another thread/process) sees the same state
    assert [r.path for r in Catalog(tmp_path / "c.sqlite").recent()] == [r.path for r in recent]
    assert sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_empty_folder_warns(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    stats = Catalog(tmp_path / "c.sqlite").index_folder(empty)
    assert stats.files_seen == 0
    assert stats.warnings == [f"{empty}: folder is empty: nothing to index"]


def test_unreadable_folder(small_tree, tmp_path, monkeypatch):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(small_tree)
    real_scandir = os.scandir
    blocked = str(small_tree / "ct")

    def scandir(path="."):
        if str(path) in (blocked, str(tmp_path / "locked")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    # chmod cannot lock root out, so the OS refusal is simulated at os.scandir
    monkeypatch.setattr(os, "scandir", scandir)
    stats = cat.index_folder(small_tree)
    assert stats.warnings == [f"{blocked}: cannot list folder (Permission denied); its files were left as "
                              "they were in the catalog"]
    assert stats.removed == 0 and len(cat.search(modality="CT")) == 1
    (tmp_path / "locked").mkdir()
    with pytest.raises(ReadError, match=r"locked: cannot list folder: Permission denied"):
        cat.index_folder(tmp_path / "locked")


def test_damaged_files_are_reported_not_fatal(tmp_path, data_dir):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "empty.png").write_bytes(b"")
    (root / "cut.mha").write_bytes(b"ObjectType = Image\nNDims = 3\n")
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    (root / "notes.txt").write_text("hello")
    real_ct = next((data_dir / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())
    (root / "cut.dcm").write_bytes(real_ct.read_bytes()[:300])  # preamble + DICM, header cut short
    stats = Catalog(tmp_path / "c.sqlite").index_folder(root)
    assert stats.errors == 4 and stats.skipped == 1 and stats.by_kind == {}
    msgs = "\n".join(stats.warnings)
    assert f"{root / 'empty.png'}: empty file (0 bytes), expected PNG" in msgs
    assert f"{root / 'cut.mha'}: unreadable volume" in msgs
    assert f"{root / 'broken.mp4'}: unreadable video" in msgs
    assert f"{root / 'cut.dcm'}: DICOM file whose header is unusable" in msgs


def test_cli_index_and_search(small_tree, tmp_path, capsys):
    db = tmp_path / "cli.sqlite"
    assert cli_main(["index", str(small_tree), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "14 files (14 new" in out and "5 dicom, 2 image, 2 kspace, 1 video, 1 volume" in out
    assert cli_main(["search", "axial", "--modality", "MR", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Axial EPI" in out and "1 series" in out
    names = {r[0] for r in sqlite3.connect(db).execute("SELECT patient_name FROM files WHERE patient_name != ''")}
    assert names and not any(n in out for n in names)  # patient names never printed
    assert cli_main(["search", "nothing-matches-this", "--db", str(db)]) == 1


def test_corrupt_database_file(tmp_path):
    db = tmp_path / "garbage.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ReadError, match=r"garbage\.sqlite: cannot open the catalog database: file is not a database"):
        Catalog(db)


def test_reads_while_another_thread_indexes(small_tree, tmp_path):
    import threading

    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(small_tree / "img")
    errors, counts = [], []

    def worker():
        try:
            cat.index_folder(small_tree)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    while t.is_alive():
        counts.append(len(cat.search("")))
    t.join()
    assert not errors
    assert all(c in (3, 8) for c in counts)  # a reader sees the state before or after a commit
    assert len(cat.search("")) == 8  # 2 DICOM series + 6 single-file series
