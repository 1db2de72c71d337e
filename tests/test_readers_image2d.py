"""2D image reader on real PNG/JPEG/TIFF/GIF files (pixels checked against OpenCV), frames,
palettes and 16-bit depth, plus the bad-input cases (empty file, wrong extension)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from app.data.readers import read_file
from app.data.readers.image2d import read_image2d
from app.data.readers.nifti import read_nifti
from app.data.types import ReadError


def cv_rgb(path):
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB) if arr.ndim == 3 else arr


def test_real_rgb_tiff_and_jpeg_match_opencv(data_dir):
    tif = data_dir / "retina" / "DRIVE" / "training" / "images" / "21_training.tif"
    jpg = sorted((data_dir / "endoscopy" / "Kvasir-SEG" / "images").glob("*.jpg"))[0]
    for f in (tif, jpg):
        vol = read_image2d(f)
        assert vol.channel_axis and not vol.time_axis
        assert vol.array.shape[0] == 1 and vol.array.shape[-1] == 3
        assert vol.meta["calibrated"] is False
        np.testing.assert_allclose(vol.spacing, [1, 1, 1])
        ref = cv_rgb(f)
        diff = np.abs(vol.array[0].astype(int) - ref.astype(int))
        assert diff.max() <= 1, f.name  # libjpeg builds may round the last bit differently


def test_grey_png_gif_mask_and_labels(data_dir):
    xray = read_image2d(data_dir / "xray_iqa" / "cxr" / "00000001_000.png")
    assert xray.array.shape == (1, 512, 512) and xray.intensity.photometric == "MONOCHROME2"
    np.testing.assert_array_equal(xray.array[0], cv_rgb(data_dir / "xray_iqa" / "cxr" / "00000001_000.png"))
    mask = read_image2d(data_dir / "retina" / "DRIVE" / "training" / "1st_manual" / "21_manual1.gif")
    assert mask.array.shape == (1, 584, 565) and set(np.unique(mask.array)) == {0, 255}
    label = sorted((data_dir / "ultrasound" / "PSFHS_png" / "labels").glob("*.png"))[0]
    assert set(np.unique(read_image2d(label).array)) <= {0, 1, 2}


def test_sixteen_bit_rgba_and_palette(tmp_path):
    grey16 = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 17 % 65536).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    vol = read_image2d(tmp_path / "g16.png")
    assert vol.array.dtype == np.uint16
    np.testing.assert_array_equal(vol.array[0], grey16)
    np.testing.assert_array_equal(vol.array[0], cv2.imread(str(tmp_path / "g16.png"), cv2.IMREAD_UNCHANGED))
    rgba = np.random.default_rng(2).integers(0, 255, (20, 30, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    vol = read_image2d(tmp_path / "a.png")
    assert vol.array.shape == (1, 20, 30, 4) and vol.intensity.photometric == "RGBA"
    pal = Image.fromarray(rgba[..., :3], "RGB").quantize(16)
    pal.save(tmp_path / "p.png")
    vol = read_image2d(tmp_path / "p.png")
    assert vol.intensity.photometric == "RGB"
    np.testing.assert_array_equal(vol.array[0], np.asarray(pal.convert("RGB")))


def test_multipage_tiff_and_animated_gif_are_frames(tmp_path):
    pages = [Image.fromarray(np.full((10, 12), v, dtype=np.uint8)) for v in (10, 20, 30)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "m.gif", save_all=True, append_images=pages[1:], duration=100, loop=0)
    for name in ("m.tif", "m.gif"):
        vol = read_image2d(tmp_path / name)
        assert vol.time_axis and vol.array.shape == (3, 1, 10, 12), name
        assert [int(vol.array[t].max()) for t in range(3)] == [10, 20, 30]
    assert read_image2d(tmp_path / "m.gif").meta["frame_interval_s"] == pytest.approx(0.1)


def test_zero_byte_image(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.png: empty file \(0 bytes\)"):
        read_file(empty)


def test_wrong_extension_is_read_by_content_with_warning(data_dir, tmp_path):
    fake = tmp_path / "actually_png.jpg"
    fake.write_bytes((data_dir / "xray_iqa" / "cxr" / "00000001_000.png").read_bytes())
    vol = read_file(fake)
    assert vol.array.shape == (1, 512, 512)
    assert vol.warnings == ["actually_png.jpg: the extension says JPEG but the content is PNG; read as PNG"]
    with pytest.raises(ReadError, match=r"actually_png\.jpg: corrupt NIfTI header: sizeof_hdr is"):
        read_nifti(fake)


def test_damaged_image(tmp_path, data_dir):
    src = (data_dir / "xray_iqa" / "cxr" / "00000001_000.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(src[: len(src) // 3])
    with pytest.raises(ReadError, match=r"cut\.png: damaged or truncated image"):
        read_image2d(cut)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(ReadError, match=r"notes\.png: (unknown file format|not a readable image)"):
        read_file(text)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((10, 20, 3), dtype=np.uint8)
    arr[:, :5] = 255  # bright band on the left of the stored pixels
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    vol = read_image2d(tmp_path / "rot.jpg")
    assert vol.array.shape == (1, 20, 10, 3) and vol.meta["exif_orientation_applied"]
    assert vol.array[0, :5, :, 0].mean() > 200  # the band is now at the top, as a viewer shows it
