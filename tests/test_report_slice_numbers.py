"""Slice numbers in drafted reports are the ones the viewer's caption shows ("Slice n/N", 1-based,
counted from the patient's feet up along the plane's normal), not the file's 0-based k index: a
radiologist who reads "slice 70" scrolls to "Slice 70/140" (found walking the radiologist's task in
session 16: the CT ROI and 3D angiography drafters wrote k, one slice off, and far off for a volume
whose k runs toward the feet). The k index stays in the evidence ("slice") for navigation and the SR."""
from __future__ import annotations

import json
import re

import numpy as np

from app.data.types import Intensity, Volume
from app.report.draft.common import open_result_folder
from app.report.model import Report
from app.report.verify import verify_sentence
from app.scene import mpr

# k runs toward the feet: index k lies at z = 100 - 2.5 k (LPS), so the viewer counts it N - k
_AFF = np.array([[0.8, 0, 0, -6.0], [0, 0.8, 0, -6.0], [0, 0, -2.5, 100.0], [0, 0, 0, 1]])
_SHAPE = (40, 16, 16)


def _caption_number(affine, shape_kji, point) -> tuple[int, int]:
    """What the viewer's axial caption says on the axial plane through ``point``: (n, N)."""
    plane = mpr.plane_for(affine, shape_kji, "axial", point)
    idx, count = mpr.slice_position(affine, shape_kji, plane)
    return idx + 1, count


def test_ct_roi_names_the_axial_slices_the_viewer_shows():
    from app.report.draft import ct_roi

    vol = Volume(np.full(_SHAPE, 40, np.int16), _AFF, Intensity(units="HU"))
    roi = ct_roi.BoxRoi.parse("r=-2,-2,60,2,2,75")         # z 60..75 mm: k 10..16 (z 75..60)
    rep = Report("ct")
    ct_roi.draft(rep, vol, "ct", [roi])
    s = rep.sentences[0]
    loc = s.evidence[0].locator
    assert loc["slice"] == [10, 16]                      # the file's k range, kept for navigation
    first = _caption_number(_AFF, _SHAPE, vol.index_to_world([[7, 7, 16]])[0])   # lowest z: k = 16
    last = _caption_number(_AFF, _SHAPE, vol.index_to_world([[7, 7, 10]])[0])
    assert (first, last) == ((24, 40), (30, 40))
    assert f"axial slices {first[0]} to {last[0]} of 40" in s.text, s.text
    assert loc["slice_number"] == [24, 30] and loc["slice_count"] == 40
    assert verify_sentence(s).status == "supported", verify_sentence(s).problems
    # the k index written as if it were the viewer's number is caught (it sends the reader elsewhere)
    s.text = s.text.replace("axial slices 24 to 30 of 40", "axial slices 10 to 16 of 40")
    assert verify_sentence(s).status == "unsupported"
    one = Report("ct")
    ct_roi.draft(one, vol, "ct", [ct_roi.BoxRoi.parse("r=-2,-2,69,2,2,71")])   # z 70 only: k 12
    assert "axial slice 28 of 40," in one.sentences[0].text, one.sentences[0].text


def _angio_folder(tmp_path):
    """A vessels3d result on a lumen grid whose k runs toward the feet: a straight vessel along z
    that narrows at z = 60 mm (k = 16)."""
    import nibabel as nib

    d = tmp_path / "v3d"
    d.mkdir()
    nib.save(nib.Nifti1Image(np.zeros(_SHAPE[::-1], np.uint8), np.eye(4)), str(d / "lumen.nii.gz"))
    z = np.linspace(95.0, 5.0, 37)
    nodes = [{"pos": [0.4, 0.4, float(v)], "r": 1.0 + 0.02 * abs(v - 60.0)} for v in z]
    (d / "skeleton.json").write_text(json.dumps({"nodes": nodes, "edges": [[i, i + 1] for i in range(len(z) - 1)]}))
    (d / "vessels.json").write_text(json.dumps({"stats": {"unit": "mm", "branches": 1, "bifurcations": 0,
                                                          "endpoints": 2, "total_length": 90.0,
                                                          "radius": {"median": 1.4}}}))
    (d / "result.json").write_text(json.dumps({"backend": "vessels3d", "input": "cta",
                                               "layers": [{"name": "Vessel lumen", "file": "lumen.nii.gz",
                                                           "affine": _AFF.tolist()}]}))
    return d


def test_angio_narrowest_point_names_the_axial_slice_the_viewer_shows(tmp_path):
    from app.report.draft import angio

    rep = Report("cta")
    angio.draft(rep, open_result_folder(_angio_folder(tmp_path)))
    narrow = rep.sentences[-1]
    loc = narrow.evidence[0].locator
    assert loc["point_lps"] == [0.4, 0.4, 60.0] and loc["slice"] == 16   # k of z = 60 mm
    n, count = _caption_number(_AFF, _SHAPE, loc["point_lps"])
    assert (n, count) == (24, 40)          # 40 - 16: counted from the feet up, not k = 16 or k + 1 = 17
    assert f"on axial slice {n} of {count}" in narrow.text, narrow.text
    assert (loc["slice_number"], loc["slice_count"]) == (n, count)
    assert verify_sentence(narrow).status == "supported", verify_sentence(narrow).problems
    text = narrow.text
    for wrong in (16, 17):                 # the k index, or k + 1: not where the viewer shows it
        narrow.text = re.sub(r"axial slice \d+", f"axial slice {wrong}", text)
        assert verify_sentence(narrow).status == "unsupported", narrow.text
