"""Defaults that show the image first (issue 23): overlay colours far from the picture under them and
apart for colour-blind readers (checked on real fundus vessels and CT greys), skeleton radius circles
off until asked, the most useful backend preselected for what is on screen."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from app.layers import palette
from app.layers.types import DEFAULT_LABEL_COLORS

OLD_RED_MASK = (0.95, 0.25, 0.2)   # the vessel mask colour before: hard to tell from red vessels

# Vienot, Brettel & Mollon 1999 dichromat simulation in linear RGB (protanope, deuteranope)
CVD = {
    "protan": np.array([[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]]),
    "deutan": np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]]),
}


def _lin(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def _seen(c, vision: str | None):
    return c if vision is None else _srgb(_lin(c) @ CVD[vision].T)


def _de(a, b, vision=None) -> float:
    la = rgb2lab(np.asarray(_seen(a, vision), float).reshape(1, 1, 3))
    lb = rgb2lab(np.asarray(_seen(b, vision), float).reshape(1, 1, 3))
    return float(deltaE_ciede2000(la, lb)[0, 0])


@pytest.fixture(scope="module")
def vessel_colour(data_dir):
    """Mean colour of the manually labelled vessels of DRIVE test images 01-05."""
    cols = []
    for i in range(1, 6):
        img = np.asarray(Image.open(data_dir / "retina/DRIVE/test/images" / f"{i:02d}_test.tif").convert("RGB"))
        lab = np.asarray(Image.open(data_dir / "retina/DRIVE/test/1st_manual" / f"{i:02d}_manual1.gif")) > 0
        cols.append(img[lab].mean(0) / 255.0)
    return np.mean(cols, 0)


@pytest.mark.parametrize("vision", [None, "protan", "deutan"])
def test_mask_and_centreline_stand_out_from_real_vessels(vessel_colour, vision):
    assert _de(palette.MASK, vessel_colour, vision) > 30
    assert _de(palette.CENTERLINE, vessel_colour, vision) > 30
    assert _de(palette.MASK, palette.CENTERLINE, vision) > 20


def test_the_old_red_mask_fails_the_same_floor(vessel_colour):
    """The floor above can say no: the red used before sits within it for a deutan reader."""
    assert _de(OLD_RED_MASK, vessel_colour, "deutan") < 30 or _de(OLD_RED_MASK, vessel_colour, "protan") < 30


@pytest.mark.parametrize("vision", [None, "protan", "deutan"])
def test_first_labels_are_told_apart_and_off_grey(vision):
    first = [DEFAULT_LABEL_COLORS[i] for i in range(1, 5)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert _de(first[i], first[j], vision) > 10, (i + 1, j + 1, vision)
    for c in first:   # off every grey of CT / MR / X-ray: chroma, not only brightness
        lab = rgb2lab(np.asarray(_seen(c, vision), float).reshape(1, 1, 3))[0, 0]
        assert np.hypot(lab[1], lab[2]) > 25, (c, vision)


def test_backends_use_the_palette():
    import inspect

    from backends.ultrasound import backend as us
    from backends.vessels import backend as vs

    assert "0.95, 0.25, 0.2" not in inspect.getsource(vs) and "MASK" in inspect.getsource(vs)
    assert "0.95, 0.3, 0.25" not in inspect.getsource(us)


def _rgb(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format_RGB888)
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return buf[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_radius_circles_are_off_until_asked(qtbot):
    from app.data.types import Volume
    from app.layers import GraphLayer, Provenance
    from viewers.slice.model import ViewerModel
    from viewers.slice.view import SliceView

    vol = Volume(np.zeros((5, 64, 64), np.int16), np.eye(4))
    model = ViewerModel(vol)
    pos = np.array([[10.0, 32.0, 2.0], [54.0, 32.0, 2.0]])
    g = GraphLayer(pos, [6.0, 6.0], [[0, 1]], "skeleton", Provenance.backend("vessels2d", "1"),
                   color=palette.CENTERLINE)
    model.add_layer(g)
    view = SliceView(model, "axial")
    view.show_annotations = False
    view.show_crosshair = False
    qtbot.addWidget(view)
    view.resize(256, 256)
    view.show()
    qtbot.waitExposed(view)

    def coloured() -> int:
        view.repaint()
        img = _rgb(view).astype(int)
        return int(((img[..., 0] > 150) & (img[..., 1] > 150) & (img[..., 2] < 120)).sum())   # yellow

    off = coloured()
    assert model.display.graph(g).show_radii is False
    model.display.set_show_radii(g, True)
    on = coloured()
    assert on > off + 40   # the circles add many pixels once asked for


@pytest.mark.parametrize("kind,modality,colour,expected", [
    ("video", None, False, "evidence"),
    ("image2d", "OP", True, "vessels2d"),
    ("ultrasound", "US", False, "us-biometry"),
    ("volume", "CT", False, "quality"),
    ("image2d", "DX", False, "quality"),
])
def test_backends_dock_opens_on_the_useful_backend(kind, modality, colour, expected):
    from app.shell.backend_choice import pick

    enabled = ["degrade", "evidence", "mri-recon", "quality", "restore", "threshold", "us-biometry", "vessels2d",
               "vessels3d"]
    assert pick(enabled, kind, modality, colour) == expected
    assert pick(["degrade", "threshold", "restore"], kind, modality, colour) in ("restore",)
