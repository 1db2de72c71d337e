"""`run_app.py screenshot PATH --layout 3d` goes through viewers.volume.render_offscreen: the PNG
it writes is that function's image (skull in CT bone), and a bad preset is a clear error."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from volume_data import head_ct

from app.cli import main
from viewers.volume import render_offscreen

pytestmark = pytest.mark.gui


def test_screenshot_3d_writes_the_render_offscreen_image(dicom_dir, data_dir, tmp_path, qapp):
    out = tmp_path / "head3d.png"
    rc = main(["screenshot", str(dicom_dir / "dcm_qa_ct_philips_head_140"), "--layout", "3d",
               "--out", str(out), "--size", "192", "--volume-preset", "ct_bone"])
    assert rc == 0 and out.is_file()
    png = np.asarray(Image.open(out).convert("RGB"))
    assert png.shape == (192, 192, 3)
    direct = render_offscreen(head_ct(data_dir), preset="ct_bone", size=(192, 192))
    assert np.abs(png.astype(float) - direct).mean() < 1.0
    bright = png.mean(axis=2) > 150
    assert bright[48:144, 48:144].mean() > 0.1  # bone in the middle of the frame


def test_screenshot_3d_unknown_preset_is_a_clear_error(dicom_dir, tmp_path, qapp, capsys):
    rc = main(["screenshot", str(dicom_dir / "dcm_qa_ct_philips_head_140"), "--layout", "3d",
               "--out", str(tmp_path / "x.png"), "--size", "64", "--volume-preset", "nope"])
    assert rc == 1
    assert "unknown volume preset 'nope'" in capsys.readouterr().err
