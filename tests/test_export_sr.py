"""SR TID 1500: distances and areas in mm with references to the source images, read back by
Loupe, highdicom and pydicom; shapes outside the series are refused."""
from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
from export_fixtures import phantom
from pydicom.sr.codedict import codes

from app.data.types import LoupeError
from app.export.sr import read_sr, records_to_layer, write_sr
from app.layers import Provenance, Shape, ShapesLayer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def ct(dicom_dir):
    return phantom(dicom_dir)


def _w(ct, i, j, k):
    return (np.array([i, j, k, 1.0]) @ ct.affine.T)[:3]


def test_sr_round_trip(ct, tmp_path):
    s = 0.451171875
    shapes = [Shape("polyline", [_w(ct, 100, 100, 5), _w(ct, 300, 100, 5)], "diameter"),
              Shape("polyline", [_w(ct, 10, 10, 3), _w(ct, 10, 10, 4)], "through-plane"),
              Shape("polygon", [_w(ct, 100, 100, 6), _w(ct, 200, 100, 6), _w(ct, 200, 150, 6)], "tri"),
              Shape("box", [_w(ct, 50, 50, 7), _w(ct, 70, 90, 7)], "rect")]
    layer = ShapesLayer(shapes, "measurements", Provenance.human("ana"))
    out = tmp_path / "sr.dcm"
    written = write_sr(layer, ct, out)
    expected = [200 * s, 5.0, 0.5 * 100 * 50 * s * s, 20 * 40 * s * s]  # anisotropic: 5 mm slices
    assert np.allclose([r.value for r in written], expected)

    back = read_sr(out, ct)
    assert [r.kind for r in back] == ["length", "length", "area", "area"]
    assert [r.unit for r in back] == ["mm", "mm", "mm2", "mm2"]
    assert np.allclose([r.value for r in back], expected, rtol=1e-6)
    assert [r.label for r in back] == ["diameter", "through-plane", "tri", "rect"]
    assert np.allclose(back[0].vertices, np.array(shapes[0].vertices), atol=1e-3)
    assert back[0].source_sop_uids == [ct.sop_instance_uids[5]]
    assert back[1].source_sop_uids == ct.sop_instance_uids[3:5]
    lay = records_to_layer(back, "m", Provenance.file(str(out)))
    assert [sh.kind for sh in lay.shapes] == ["polyline", "polyline", "polygon", "polygon"]

    # highdicom and pydicom read the same document
    sr = hd.sr.srread(out)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == 4
    m = groups[0].get_measurements(name=codes.SCT.Length)[0]
    assert m.unit == codes.UCUM.Millimeter and abs(m.value - 200 * s) < 1e-6
    ds = pydicom.dcmread(out)
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    ev = {str(i.ReferencedSOPInstanceUID) for e in ds.CurrentRequestedProcedureEvidenceSequence
          for se in e.ReferencedSeriesSequence for i in se.ReferencedSOPSequence}
    assert ct.sop_instance_uids[5] in ev
    assert str(ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].SeriesInstanceUID) == ct.series_uid


def test_sr_refuses_outside_and_wrong_series(ct, dicom_dir, tmp_path):
    out = tmp_path / "sr.dcm"
    far = ShapesLayer([Shape("polyline", [_w(ct, 10, 10, 3), _w(ct, 10, 10, 40)], "x")], "m",
                      Provenance.human("a"))
    with pytest.raises(LoupeError, match="outside series"):
        write_sr(far, ct, out)
    assert not out.exists()
    ok = ShapesLayer([Shape("polyline", [_w(ct, 10, 10, 3), _w(ct, 20, 10, 3)], "x")], "m",
                     Provenance.backend("calipers", "1.0"))
    write_sr(ok, ct, out)
    from app.export.reference import SourceSeries
    other = SourceSeries.from_folder(dicom_dir / "dcm_qa_ct_philips_head_140" / "dicom")
    with pytest.raises(LoupeError, match="refers to series"):
        read_sr(out, other)
    with pytest.raises(LoupeError, match="Comprehensive 3D SR"):
        read_sr(ct.datasets[0].filename)


def test_sr_on_projection_radiograph(data_dir, tmp_path):
    """On a CR without a frame of reference the outline is a 2D SCOORD on the image; the length is
    in mm at the detector (Imager Pixel Spacing), as a caliper would read it."""
    from app.export.reference import SourceSeries

    path = data_dir / "xray_iqa" / "cxr" / "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
    ref = SourceSeries.from_paths([path])
    dx = float(np.linalg.norm(ref.affine[:3, 0]))
    a, b = (np.array([100, 200, 0, 1.0]) @ ref.affine.T)[:3], (np.array([400, 200, 0, 1.0]) @ ref.affine.T)[:3]
    layer = ShapesLayer([Shape("polyline", [a, b], "cardiac width")], "m", Provenance.human("ana"))
    out = tmp_path / "cr_sr.dcm"
    write_sr(layer, ref, out)
    (rec,) = read_sr(out, ref)
    assert rec.value == pytest.approx(300 * dx) and rec.unit == "mm"
    assert np.allclose(rec.vertices, [a, b], atol=1e-3)
    sr = hd.sr.srread(out)
    roi = sr.content.get_planar_roi_measurement_groups()[0].roi
    assert np.allclose(roi.value, [[100.5, 200.5], [400.5, 200.5]])


def test_sr_refuses_pixel_lengths_as_mm(data_dir, tmp_path):
    """A radiograph whose file carries no pixel spacing: its lengths are pixels, and DICOM SR
    would state them as mm - refused with one line, nothing written (issue 23: honest units)."""
    from app.export.reference import SourceSeries

    path = data_dir / "xray_iqa" / "cxr" / "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
    ds = pydicom.dcmread(path)
    for kw in ("PixelSpacing", "ImagerPixelSpacing"):
        if kw in ds:
            delattr(ds, kw)
    bare = tmp_path / "cr_no_spacing.dcm"
    ds.save_as(bare)
    ref = SourceSeries.from_paths([bare])
    a, b = (np.array([100, 200, 0, 1.0]) @ ref.affine.T)[:3], (np.array([400, 200, 0, 1.0]) @ ref.affine.T)[:3]
    layer = ShapesLayer([Shape("polyline", [a, b], "width")], "m", Provenance.human("ana"))
    out = tmp_path / "sr.dcm"
    with pytest.raises(LoupeError, match="no pixel spacing.*pixels.*mm"):
        write_sr(layer, ref, out)
    assert not out.exists()
