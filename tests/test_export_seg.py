"""DICOM SEG round trips on real series: identical mask and geometry read back by Loupe, by
highdicom and by plain pydicom; provenance in AlgorithmIdentification; bad input refused."""
from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from export_fixtures import phantom, threshold_labels
from runner_made import runner_made

from app.data.types import LoupeError
from app.export.reference import SourceSeries
from app.export.seg import read_seg, write_seg
from app.layers import LabelLayer, Provenance

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def ct(dicom_dir):
    return phantom(dicom_dir)


@pytest.fixture(scope="module")
def labels(ct):
    return threshold_labels(ct)


def test_reference_affine_matches_simpleitk(ct, dicom_dir):
    """The grid every export is checked against agrees with a trusted peer (ITK's series reader)."""
    folder = str(dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom")
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder)
    img = sitk.ReadImage(files)
    d = np.asarray(img.GetDirection()).reshape(3, 3)
    aff = np.eye(4)
    aff[:3, :3] = d * np.asarray(img.GetSpacing())
    aff[:3, 3] = img.GetOrigin()
    assert np.allclose(aff, ct.affine, atol=1e-4)


def test_seg_round_trip_identical_mask_geometry_and_provenance(ct, labels, tmp_path):
    prov = Provenance.backend("ct-threshold", "2.1.0", {"soft": [0, 100], "dense": 300, "note": "a,b=c"})
    layer = LabelLayer(labels, ct.affine, "phantom threshold", prov, label_names={1: "soft", 2: "dense"})
    out = write_seg(layer, ct, tmp_path / "seg.dcm")

    # Loupe re-import, with and without the source series
    back = read_seg(out, ct)
    assert back.labels.shape == labels.shape and np.array_equal(back.labels, labels)
    assert np.array_equal(back.affine, ct.affine)
    # the algorithm a file names is a claim this installation's runner did not sign: an import
    assert back.provenance.kind == "file" and back.provenance.author == "seg.dcm"
    claim = back.provenance.algorithm()
    assert claim is not None and claim.author == "ct-threshold"
    assert claim.version == "2.1.0" and claim.params == prov.params
    assert back.label_names == {1: "soft", 2: "dense"}
    for v in (1, 2):  # display colours survive (CIELab in the SEG, 8-bit rounding)
        assert np.allclose(back.color_of(v), layer.color_of(v), atol=1 / 255 + 1e-9)
    alone = read_seg(out)
    assert np.array_equal(alone.labels, labels) and np.allclose(alone.affine, ct.affine, atol=1e-6)

    # highdicom, independently
    seg = hd.seg.segread(out)
    assert seg.number_of_segments == 2
    px = seg.get_pixels_by_source_instance(ct.sop_instance_uids, combine_segments=True)
    assert np.array_equal(px, labels)
    algo = seg.get_segment_description(1).algorithm_identification
    assert algo[0].AlgorithmName == "ct-threshold" and algo[0].AlgorithmVersion == "2.1.0"
    assert "dense=300" in algo[0].AlgorithmParameters
    assert str(seg.ReferencedSeriesSequence[0].SeriesInstanceUID) == ct.series_uid
    assert str(seg.FrameOfReferenceUID) == ct.frame_of_reference_uid

    # plain pydicom: every frame's position and source image agree with the series slice it came from
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert np.allclose([float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing], [0.451171875] * 2)
    assert np.allclose([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
                       [float(v) for v in ct.datasets[0].ImageOrientationPatient])
    frames = pydicom.pixels.pixel_array(ds)
    by_uid = {u: k for k, u in enumerate(ct.sop_instance_uids)}
    for f, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
        uid = fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        k = by_uid[uid]
        seg_no = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        assert np.allclose([float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient],
                           [float(v) for v in ct.datasets[k].ImagePositionPatient])
        assert np.array_equal(frames[f].astype(bool), labels[k] == seg_no)


def test_human_seg_is_manual_with_creator(ct, labels, tmp_path):
    layer = LabelLayer((labels == 2).astype(np.uint8) * 5, ct.affine, "bone", Provenance.human("ana"))
    out = write_seg(layer, ct, tmp_path / "seg.dcm")
    seg = hd.seg.segread(out)
    assert seg.get_segment_description(1).algorithm_type.value == "MANUAL"
    back = read_seg(out, ct)
    assert back.provenance.kind == "human" and back.provenance.author.startswith("ana")
    assert back.present_labels() == [5] and np.array_equal(back.labels == 5, labels == 2)


def test_oblique_series_round_trip(dicom_dir, tmp_path):
    folder = dicom_dir / "dcm_qa_philips_oblique_epi" / "dicom"
    with pytest.raises(LoupeError, match="repeat a slice position"):  # 3 time points in one series
        SourceSeries.from_folder(folder)
    ref = SourceSeries.from_paths(sorted((folder / "fmri").glob("*_0001_*.dcm")))  # first time point
    assert ref.shape[1:] == (64, 64) and abs(ref.affine[2, 0]) > 0.01  # really oblique
    lab = np.zeros(ref.shape, np.uint8)
    arr = np.stack([d.pixel_array for d in ref.datasets])
    lab[arr > np.percentile(arr, 70)] = 1
    layer = LabelLayer(lab, ref.affine, "brain", Provenance.human("ana"))
    out = write_seg(layer, ref, tmp_path / "seg.dcm")
    assert np.array_equal(read_seg(out, ref).labels, lab)
    alone = read_seg(out)
    # without the series, the SEG's own plane positions rebuild the same oblique grid
    k0 = int(np.flatnonzero(lab.any(axis=(1, 2)))[0])
    assert np.allclose(alone.affine[:3, :3], ref.affine[:3, :3], atol=1e-4)
    assert np.allclose(alone.affine[:3, 3], ref.affine[:3, 3] + k0 * ref.affine[:3, 2], atol=1e-3)


def test_seg_for_another_series_is_refused(ct, labels, dicom_dir, tmp_path):
    out = write_seg(LabelLayer(labels, ct.affine, "t", Provenance.human("ana")), ct, tmp_path / "seg.dcm")
    other = SourceSeries.from_folder(dicom_dir / "dcm_qa_ct_philips_head_140" / "dicom")
    with pytest.raises(LoupeError, match="refers to series") as ei:
        read_seg(out, other)
    assert str(out) in str(ei.value)


def test_wrong_grid_and_existing_file_write_nothing(ct, labels, tmp_path):
    out = tmp_path / "seg.dcm"
    with pytest.raises(LoupeError, match="does not match"):
        write_seg(LabelLayer(labels[:-1], ct.affine, "t", Provenance.human("a")), ct, out)
    shifted = ct.affine.copy()
    shifted[0, 3] += 0.5
    with pytest.raises(LoupeError, match="geometry differs"):
        write_seg(LabelLayer(labels, shifted, "t", Provenance.human("a")), ct, out)
    with pytest.raises(LoupeError, match="empty"):
        write_seg(LabelLayer(np.zeros_like(labels), ct.affine, "t", Provenance.human("a")), ct, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    out.write_bytes(b"precious")
    with pytest.raises(LoupeError, match="already exists"):
        write_seg(LabelLayer(labels, ct.affine, "t", Provenance.human("a")), ct, out)
    assert out.read_bytes() == b"precious"


def test_non_seg_file_is_refused(ct, tmp_path):
    with pytest.raises(LoupeError, match="Segmentation Storage"):
        read_seg(ct.datasets[0].filename)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 50)
    with pytest.raises(LoupeError, match="junk.dcm"):
        read_seg(junk)


def test_uneven_series_is_refused_as_reference(dicom_dir):
    with pytest.raises(LoupeError, match="uneven|orientations"):
        SourceSeries.from_folder(dicom_dir / "dcm_qa_ct_GE_gantry_tilt" / "dicom")


def test_label_drawn_on_loaded_volume_exports_against_its_series(dicom_dir, tmp_path):
    """The app's DICOM loader and the export reference agree on the grid, so a mask drawn on the
    opened volume is filed against exactly the slices it was drawn on."""
    from app.data.open import open_path

    vol = open_path(dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom")[0]
    ref = SourceSeries.from_volume(vol)
    assert np.array_equal(ref.affine, vol.affine)
    lab = (vol.array > 300).astype(np.uint8)
    out = write_seg(LabelLayer(lab, vol.affine, "bone", Provenance.human("ana")), ref, tmp_path / "s.dcm")
    assert np.array_equal(read_seg(out, ref).labels, lab)
    tilt = open_path(dicom_dir / "dcm_qa_ct_GE_gantry_tilt" / "dicom")[0]
    with pytest.raises(LoupeError):
        SourceSeries.from_volume(tilt)


def test_projection_radiograph_seg(data_dir, tmp_path):
    """A chest CR has no frame of reference: the SEG refers to the image by UID and the pixel grid."""
    path = data_dir / "xray_iqa" / "cxr" / "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
    ref = SourceSeries.from_paths([path])
    assert ref.projection and ref.shape == (1, 1024, 1024) and ref.frame_of_reference_uid == ""
    lab = np.zeros(ref.shape, np.uint8)
    lab[0, 200:700, 150:480] = 1
    lab[0, 200:700, 560:880] = 2
    layer = LabelLayer(lab, ref.affine, "lungs", Provenance.backend("lungs", "0.1"), label_names={1: "right", 2: "left"})
    out = write_seg(layer, ref, tmp_path / "cxr_seg.dcm")
    back = read_seg(out, ref)
    assert np.array_equal(back.labels, lab) and back.label_names == {1: "right", 2: "left"}
    seg = hd.seg.segread(out)
    assert "FrameOfReferenceUID" not in seg
    assert seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == ref.sop_instance_uids[0]
    with pytest.raises(LoupeError, match="projection image"):
        read_seg(out)


def test_enhanced_multiframe_ct_round_trip(dicom_dir, tmp_path):
    """An enhanced CT (frames stored in the opposite order to the slice normal) as the source:
    frames are matched by number, and the loader's volume grid is the same grid."""
    from app.data.open import open_path

    path = dicom_dir / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"
    ref = SourceSeries.from_paths([path])
    assert ref.shape == (2, 512, 512) and ref.frame_numbers == [2, 1]
    vol = open_path(path)[0]
    assert np.array_equal(SourceSeries.from_volume(vol).affine, vol.affine)
    lab = (vol.array > 200).astype(np.uint8)
    lab[:, :20, :30] = 2  # both slices labelled, so the SEG alone spans the whole grid
    out = write_seg(LabelLayer(lab, vol.affine, "x", Provenance.human("ana")), ref, tmp_path / "e.dcm")
    assert np.array_equal(read_seg(out, ref).labels, lab)
    alone = read_seg(out)
    assert np.array_equal(alone.labels, lab) and np.allclose(alone.affine, ref.affine, atol=1e-5)
    seg = hd.seg.segread(out)
    fr = seg.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0]
    assert int(fr.ReferencedFrameNumber[0] if isinstance(fr.ReferencedFrameNumber, list) else fr.ReferencedFrameNumber) in (1, 2)


def test_multiecho_enhanced_is_refused_clearly(dicom_dir):
    with pytest.raises(LoupeError, match="repeat a slice position"):
        SourceSeries.from_paths([dicom_dir / "dcm_qa_enh_philips_enhanced" / "dicom" / "IM_0027_fMAP.dcm"])


def test_sparse_mask_omits_empty_frames_and_reads_back(ct, tmp_path):
    lab = np.zeros(ct.shape, np.uint8)
    lab[3, 100:120, 200:260] = 1
    lab[20, 300:310, 10:20] = 4
    out = write_seg(LabelLayer(lab, ct.affine, "sparse", Provenance.human("ana")), ct, tmp_path / "s.dcm")
    assert int(pydicom.dcmread(out).NumberOfFrames) == 2
    assert np.array_equal(read_seg(out, ct).labels, lab)


def test_corrected_ai_mask_is_semiautomatic_with_its_algorithm(ct, labels, tmp_path):
    """AI mask -> stored -> corrected by a person -> SEG says SEMIAUTOMATIC, who corrected it and
    which algorithm version it started from (the lineage comes from the review store)."""
    from app.review.store import ReviewStore

    store = ReviewStore(tmp_path / "ws.sqlite")
    ai = runner_made(LabelLayer(labels, ct.affine, "ai", Provenance.backend("ct-seg", "3.0", {"fold": 2})))
    store.save_layer(ai)
    fixed = store.load_layer(ai.id)
    fixed.labels[fixed.labels == 1] = 0
    v = store.save_edit(fixed, "ana", comment="soft tissue was wrong")
    assert [x.source_kind for x in store.lineage(v.version_id)] == ["human", "backend"]
    origin = store.origin(v.version_id)
    out = write_seg(store.load_layer(ai.id), ct, tmp_path / "s.dcm", based_on=origin)
    seg = hd.seg.segread(out)
    desc = seg.get_segment_description(1)
    assert desc.algorithm_type.value == "SEMIAUTOMATIC"
    assert desc.algorithm_identification[0].AlgorithmName == "ct-seg"
    assert str(seg.ContentCreatorName).startswith("ana")
    back = read_seg(out, ct)
    assert back.provenance.kind == "human" and back.provenance.params == {"corrects": "ct-seg 3.0"}
    assert np.array_equal(back.labels, fixed.labels)
    store.close()
