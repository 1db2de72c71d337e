"""Image-sequence folders (capsule exports), DICOM cine and video DICOM as frame-exact sources,
and the path test the shell and the catalog use."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from test_video_testkit import _background, encode_video, read_code, synth_frame

from app.data.types import ReadError
from app.data.video import is_video_path, open_video


def write_sequence(folder, n, suffix=".png", start=1):
    folder.mkdir(parents=True, exist_ok=True)
    bg = _background(320, 240)
    for i in range(n):
        img = synth_frame(bg, i, 320, 240)
        cv2.imwrite(str(folder / f"frame_{i + start}{suffix}"), img[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix == ".jpg" else [])
    return folder


def test_image_sequence_natural_order_and_sidecar_fps(tmp_path):
    folder = write_sequence(tmp_path / "capsule", 25)
    (folder / "loupe_video.json").write_text(json.dumps({"fps": 2}))
    assert is_video_path(folder)
    with open_video(folder) as src:
        assert src.n_frames == 25 and src.size == (320, 240)
        for n in (0, 1, 9, 10, 24, 2):        # frame_10 comes after frame_9, not after frame_1
            assert read_code(src.get(n).image) == n
        assert src.time_of(10) == pytest.approx(5.0) and src.frame_at_time(7.9) == 15
        thumbs = list(src.thumbnails(count=5, height=30))
        assert [n for n, _ in thumbs] == [0, 6, 12, 18, 24] and thumbs[0][1].shape[0] <= 30


def test_image_sequence_timestamps_and_user_fps(tmp_path):
    folder = write_sequence(tmp_path / "vfr", 6, suffix=".jpg")
    (folder / "sequence.json").write_text(json.dumps({"times_ms": [0, 100, 150, 400, 410, 1000]}))
    with open_video(folder) as src:
        assert src.index.is_variable_rate and src.time_of(3) == pytest.approx(0.4)
        assert read_code(src.get(5).image) == 5
    plain = write_sequence(tmp_path / "plain", 4)
    with open_video(plain, fps=4) as src:
        assert src.time_of(2) == pytest.approx(0.5) and not src.warnings
    with open_video(plain) as src:
        _ = src.index  # building the index notices the missing frame rate
        assert any("frame rate" in w for w in src.warnings)


def test_image_sequence_damaged_file_shows_neighbour(tmp_path):
    folder = write_sequence(tmp_path / "damaged", 6)
    (folder / "frame_4.png").write_bytes(b"not a png")
    with open_video(folder, fps=10) as src:
        f = src.get(3)
        assert f.damaged and f.shown_index in (2, 4) and read_code(f.image) == f.shown_index
        assert read_code(src.get(4).image) == 4


def test_image_sequence_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert not is_video_path(tmp_path / "empty")
    with pytest.raises(ReadError, match="empty.*no image frames"):
        open_video(tmp_path / "empty")


def test_dicom_ultrasound_cine():
    path = get_testdata_file("examples_ybr_color.dcm")
    ds = pydicom.dcmread(path)
    ref = ds.pixel_array            # pydicom converts YBR to RGB
    assert is_video_path(path)
    assert not is_video_path(get_testdata_file("CT_small.dcm"))   # a still is not a video
    with open_video(path) as src:
        assert src.kind == "dicom_cine" and src.n_frames == 30
        assert src.time_of(3) == pytest.approx(3 * 0.033333, abs=1e-5)
        for n in (29, 0, 14):
            assert np.array_equal(src.frame(n), ref[n])


def _cine_dataset(frames: np.ndarray, frame_time_vector=None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = frames.shape[1:3]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if frame_time_vector is not None:
        ds.FrameTimeVector = list(frame_time_vector)
        ds.FrameIncrementPointer = 0x00181065
    ds.PixelData = frames.astype(np.uint16).tobytes()
    return ds


def test_dicom_cine_frame_time_vector_is_variable_rate(tmp_path):
    frames = np.zeros((5, 16, 16), np.uint16)
    for i in range(5):
        frames[i, :, : i + 1] = 4000
    ds = _cine_dataset(frames, frame_time_vector=[0, 40, 40, 100, 20])
    p = tmp_path / "cine.dcm"
    ds.save_as(p, enforce_file_format=True)
    assert is_video_path(p)
    with open_video(p) as src:
        assert np.allclose(src.index.times, [0, 0.04, 0.08, 0.18, 0.2])
        img = src.frame(3)
        assert img.shape == (16, 16, 3) and (img[0, :4, 0] == 255).all() and (img[0, 4:, 0] == 0).all()


def test_video_dicom_h264(tmp_path):
    es = encode_video(tmp_path / "stream.h264", 50, gop=25, bframes=2)   # Annex-B elementary stream
    data = es.read_bytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.1.1"   # VL Endoscopic Video
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.102"                 # MPEG-4 AVC/H.264 HP@4.1
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "ES"
    ds.NumberOfFrames, ds.FrameTime = 50, 40.0
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 240, 320, 3
    ds.PhotometricInterpretation = "YBR_PARTIAL_420"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    third = len(data) // 3
    ds.PixelData = encapsulate([data[:third], data[third:2 * third], data[2 * third:]], has_bot=False)
    ds["PixelData"].VR = "OB"
    p = tmp_path / "video.dcm"
    ds.save_as(p, enforce_file_format=True)
    assert is_video_path(p)
    with open_video(p) as src:
        assert src.kind == "dicom_video" and src.n_frames == 50 and src.label == "video.dcm"
        assert src.time_of(25) == pytest.approx(1.0)
        for n in (49, 0, 26, 25, 24, 3):
            assert read_code(src.get(n).image) == n


def test_is_video_path_by_kind(tmp_path):
    for name in ("a.mp4", "b.MKV", "c.avi", "d.mov"):
        assert is_video_path(tmp_path / name)
    (tmp_path / "x.nii.gz").write_bytes(b"")
    assert not is_video_path(tmp_path / "x.nii.gz") and not is_video_path(tmp_path / "notes.txt")


def test_palette_colour_cine_shows_its_colours(data_dir):
    """The echo cine is PALETTE COLOR: its frames showed the raw indices as a grey picture."""
    import pydicom
    from pydicom.pixels import apply_color_lut

    from app.data.video import open_video

    path = data_dir / "ultrasound" / "dicom_us" / "US-PAL-8-10x-echo.dcm"
    ds = pydicom.dcmread(path)
    with open_video(path) as src:
        for n in (0, 9):
            expected = (apply_color_lut(ds.pixel_array[n], ds) >> 8).astype(np.uint8)
            assert np.array_equal(src.get(n).image, expected)
