"""Screenshot CLI: renders the viewer offscreen; content, overlay placement (radiological), slice
choice, window/level and errors checked on real series."""
from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

from app.commands import screenshot

pytestmark = pytest.mark.gui
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _args(path, out, **kw):
    p = argparse.ArgumentParser()
    screenshot.add_arguments(p)
    argv = [str(path), "--out", str(out)]
    for k, v in kw.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            argv.append(flag)
        elif isinstance(v, list):
            for x in v:
                argv += [flag, str(x)]
        else:
            argv += [flag, str(v)]
    return p.parse_args(argv)


def _rgb(qimg) -> np.ndarray:
    q = qimg.convertToFormat(qimg.Format.Format_RGB888)
    h, w = q.height(), q.width()
    a = np.frombuffer(q.constBits(), np.uint8, count=q.bytesPerLine() * h).reshape(h, q.bytesPerLine())
    return a[:, :w * 3].reshape(h, w, 3).copy()


@pytest.fixture(scope="module")
def marker_nifti(dicom_dir, tmp_path_factory):
    """Label map with a block in the patient's left-anterior-superior region, written as NIfTI."""
    import nibabel as nib

    from app.data.open import examine, load
    from app.data.types import lps_to_ras_affine

    vol = load(examine(dicom_dir / "dcm_qa_ct_philips_head_140")[0])[0]
    lab = np.zeros(vol.spatial_shape, np.uint8)
    c = vol.index_to_world((np.array(vol.spatial_shape[::-1]) - 1) // 2)
    ijk = np.rint(vol.world_to_index(c + np.array([40.0, -40.0, 20.0]))).astype(int)
    lab[ijk[2] - 40:ijk[2] + 40, ijk[1] - 12:ijk[1] + 13, ijk[0] - 12:ijk[0] + 13] = 1  # sky blue: no crosshair line is blue
    out = tmp_path_factory.mktemp("mask") / "marker.nii.gz"
    nib.save(nib.Nifti1Image(lab.transpose(2, 1, 0), lps_to_ras_affine(vol.affine)), str(out))
    return out, vol.index_to_world(ijk)


def test_mpr_screenshot_overlay_lands_radiologically(dicom_dir, marker_nifti, tmp_path):
    out = tmp_path / "mpr.png"
    mask, at = marker_nifti
    img = _rgb(screenshot.render(_args(dicom_dir / "dcm_qa_ct_philips_head_140", out, layout="mpr", size=300,
                                       preset="ct_bone", overlay=[mask], at=",".join(f"{v:.2f}" for v in at))))
    h, w = img.shape[:2]
    assert (h, w) == (300, 904)
    panels = [img[:, i * 302:i * 302 + 300] for i in range(3)]
    # the crosshair sits in the marker, which lies Left, Anterior and Superior of the volume centre:
    # Left -> screen right (axial, coronal); Anterior -> up (axial) / left (sagittal);
    # Superior -> up (coronal, sagittal)
    expect = [("right", "top"), ("right", "top"), ("left", "top")]
    for name, pan, (hz, vt) in zip(("axial", "coronal", "sagittal"), panels, expect):
        assert pan.std() > 20, name  # real content, not a blank panel
        p = pan.astype(int)
        g = (p[..., 2] > p[..., 0] + 40) & (p[..., 2] > p[..., 1] + 10)   # the label's sky blue
        ys, xs = np.nonzero(g)
        assert len(xs) > 50, name
        assert ("right" if xs.mean() > 150 else "left") == hz, name
        assert ("top" if ys.mean() < 150 else "bottom") == vt, name


def test_slice_window_and_errors(dicom_dir, tmp_path):
    src = dicom_dir / "dcm_qa_ct_philips_head_140"
    a = _rgb(screenshot.render(_args(src, tmp_path / "a.png", slice=20, window=2000, level=500, size=256)))
    b = _rgb(screenshot.render(_args(src, tmp_path / "b.png", slice=100, window=2000, level=500, size=256)))
    c = _rgb(screenshot.render(_args(src, tmp_path / "c.png", slice=100, window=80, level=40, size=256)))
    assert not np.array_equal(a, b)
    assert not np.array_equal(b, c)
    from app.data.types import LoupeError

    with pytest.raises(LoupeError, match="--slice 500 outside 0..139"):
        screenshot.render(_args(src, tmp_path / "x.png", slice=500))


def test_cli_writes_png_for_2d_and_sagittal_series(dicom_dir, data_dir, tmp_path):
    out = tmp_path / "sag.png"
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "screenshot",
                        str(dicom_dir / "dcm_qa_siemens_mosaic_sagittal"), "--out", str(out), "--size", "200"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    from PIL import Image

    im = np.asarray(Image.open(out).convert("RGB"))
    assert im.shape == (200, 200, 3) and im.std() > 20
    # a sagittal acquisition opens sagittal: the head is wider (A-P) than it is... at least present
    bad = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "screenshot", str(tmp_path / "none"),
                          "--out", str(tmp_path / "n.png")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 1 and "no such file" in bad.stderr
