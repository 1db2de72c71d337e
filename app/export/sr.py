"""DICOM SR measurement reports (TID 1500, Comprehensive 3D SR via highdicom) for distances and
areas drawn on a series.

Each shape becomes one planar ROI measurement group: its outline as a 3D SCOORD in the series'
frame of reference (exact LPS mm), one measurement (Length in mm for a polyline, Area in mm2 for a
polygon or box) computed in millimetres from world coordinates (so anisotropic spacing is
honoured), and a reference to the source image(s) the shape lies on."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from app.data.types import LoupeError
from app.layers import Provenance, Shape, ShapesLayer

from .reference import SourceSeries, atomic_write_bytes, check_target

COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
PLANE_TOL_MM = 0.5


@dataclass
class MeasurementRecord:
    """One measurement read back from (or written to) an SR."""

    kind: str                      # "length" | "area"
    value: float
    unit: str                      # UCUM code: "mm" | "mm2"
    vertices: np.ndarray           # (n, 3) LPS mm
    label: str = ""
    source_sop_uids: list[str] = field(default_factory=list)


def polyline_length(vertices: np.ndarray) -> float:
    v = np.asarray(vertices, float)
    return float(np.linalg.norm(np.diff(v, axis=0), axis=1).sum())


def polygon_area(vertices: np.ndarray) -> float:
    """Area of a planar polygon in 3D (Newell's method); raises if it is not planar."""
    v = np.asarray(vertices, float)
    if len(v) > 1 and np.allclose(v[0], v[-1]):
        v = v[:-1]
    n = np.zeros(3)
    for a, b in zip(v, np.roll(v, -1, axis=0)):
        n += np.cross(a, b)
    area = 0.5 * float(np.linalg.norm(n))
    if area > 0:
        unit = n / np.linalg.norm(n)
        off = np.abs((v - v[0]) @ unit)
        if off.max() > PLANE_TOL_MM:
            raise LoupeError(f"polygon is not planar (a vertex is {off.max():.2f} mm off its plane); "
                             f"its area is undefined")
    return area


def _box_polygon(shape: Shape, ref: SourceSeries) -> np.ndarray:
    """A box's two corners -> its four corners in the series' row/column plane."""
    a, b = shape.vertices[0], shape.vertices[1]
    r = ref.affine[:3, 0] / np.linalg.norm(ref.affine[:3, 0])
    c = ref.affine[:3, 1] / np.linalg.norm(ref.affine[:3, 1])
    d = b - a
    dr, dc = float(d @ r), float(d @ c)
    return np.array([a, a + dr * r, a + dr * r + dc * c, a + dc * c])


def _measure(shape: Shape, ref: SourceSeries) -> tuple[str, float, str, np.ndarray]:
    if shape.kind == "polyline":
        return "length", polyline_length(shape.vertices), "POLYLINE", shape.vertices
    outline = _box_polygon(shape, ref) if shape.kind == "box" else shape.vertices
    closed = np.vstack([outline, outline[:1]])
    return "area", polygon_area(outline), "POLYGON", closed


def _source_images(vertices: np.ndarray, ref: SourceSeries, what: str) -> list[tuple[pydicom.Dataset, int | None]]:
    """The (image, frame number) pairs of the slices a shape spans."""
    inv = np.linalg.inv(ref.affine)
    ijk = vertices @ inv[:3, :3].T + inv[:3, 3]
    n_k, rows, cols = ref.shape
    tol = 0.5 + 1e-6
    if (ijk[:, 0] < -tol).any() or (ijk[:, 0] > cols - 1 + tol).any() or (ijk[:, 1] < -tol).any() \
            or (ijk[:, 1] > rows - 1 + tol).any() or (ijk[:, 2] < -tol).any() or (ijk[:, 2] > n_k - 1 + tol).any():
        raise LoupeError(f"{what}: lies outside series {ref.source or ref.series_uid}; nothing was written")
    ks = sorted({int(k) for k in np.round(ijk[:, 2]).astype(int)})
    return [ref.slice_source(k) for k in range(ks[0], ks[-1] + 1)]


def _region(gtype: str, outline: np.ndarray, ref: SourceSeries, source: pydicom.Dataset):
    """3D SCOORD in the frame of reference; for a projection image (no frame of reference) a 2D
    SCOORD on the image itself, in DICOM pixel coordinates (pixel centre = index + 0.5)."""
    if not ref.projection:
        return hd.sr.ImageRegion3D(graphic_type=gtype, graphic_data=outline,
                                   frame_of_reference_uid=ref.frame_of_reference_uid)
    inv = np.linalg.inv(ref.affine)
    xy = (outline @ inv[:3, :3].T + inv[:3, 3])[:, :2] + 0.5
    return hd.sr.ImageRegion(graphic_type=gtype, graphic_data=xy,
                             source_image=hd.sr.SourceImageForRegion(str(source.SOPClassUID),
                                                                      str(source.SOPInstanceUID)))


def _observer(prov: Provenance) -> hd.sr.ObservationContext:
    prov = prov.algorithm() or prov
    if prov.kind == "backend":
        return hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device,
            observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                uid=hd.UID(), name=prov.author, model_name=prov.version or None)))
    return hd.sr.ObservationContext(observer_person_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=(prov.author or "unknown") + "^")))


def build_sr(layer: ShapesLayer, reference: SourceSeries) -> tuple[hd.sr.Comprehensive3DSR, list[MeasurementRecord]]:
    if not isinstance(layer, ShapesLayer):
        raise LoupeError(f"layer {getattr(layer, 'name', '?')!r}: SR measurements need a shapes layer, "
                         f"got {layer.kind}")
    if not layer.shapes:
        raise LoupeError(f"layer {layer.name!r}: no measurements to export")
    if reference.projection and not any(reference.datasets[0].get(k) for k in ("PixelSpacing", "ImagerPixelSpacing")):
        raise LoupeError(f"{reference.source or 'the reference image'}: no pixel spacing in the file, so its "
                         "lengths are pixels; DICOM SR measurements are in mm - nothing was written "
                         "(export the shapes as COCO JSON, which is in pixels)")
    groups, records, evidence = [], [], {}
    algo = None
    made_by = layer.provenance.algorithm()
    if made_by is not None:
        algo = hd.sr.AlgorithmIdentification(name=made_by.author, version=made_by.version or "unknown")
    for n, shape in enumerate(layer.shapes, start=1):
        what = f"layer {layer.name!r} shape {n} ({shape.kind} {shape.label!r})"
        kind, value, gtype, outline = _measure(shape, reference)
        slices = _source_images(outline, reference, what)
        sources = list({str(d.SOPInstanceUID): d for d, _ in slices}.values())
        frames = {str(d.SOPInstanceUID): [] for d in sources}
        for d, f in slices:
            if f is not None:
                frames[str(d.SOPInstanceUID)].append(f)
        for d in sources:
            evidence[str(d.SOPInstanceUID)] = d
        name, unit = (codes.SCT.Length, codes.UCUM.Millimeter) if kind == "length" else \
            (codes.SCT.Area, codes.UCUM.SquareMillimeter)
        meas = hd.sr.Measurement(
            name=name, value=float(value), unit=unit, algorithm_id=algo,
            referenced_images=[hd.sr.SourceImageForMeasurement(str(d.SOPClassUID), str(d.SOPInstanceUID),
                                                               frames[str(d.SOPInstanceUID)] or None)
                               for d in sources])
        region = _region(gtype, np.asarray(outline, float), reference, sources[0])
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=shape.label or f"shape {n}"),
            referenced_region=region, measurements=[meas]))
        records.append(MeasurementRecord(kind, float(value), unit.value, np.asarray(outline, float),
                                         shape.label, [str(d.SOPInstanceUID) for d in sources]))
    report = hd.sr.MeasurementReport(observation_context=_observer(layer.provenance),
                                     procedure_reported=codes.LN.CTUnspecifiedBodyRegion
                                     if str(reference.datasets[0].Modality) == "CT" else codes.SCT.ImagingProcedure,
                                     imaging_measurements=groups)
    try:
        sr = hd.sr.Comprehensive3DSR(
            evidence=list(evidence.values()), content=report, series_instance_uid=hd.UID(),
            series_number=901, sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Loupe",
            is_complete=True)
    except (ValueError, TypeError) as e:
        raise LoupeError(f"layer {layer.name!r}: highdicom refused the SR: {e}") from e
    return sr, records


def write_sr(layer: ShapesLayer, reference: SourceSeries, out: str | Path, *,
             overwrite: bool = False) -> list[MeasurementRecord]:
    """Write a TID 1500 measurement report; returns what was written."""
    out = Path(out)
    check_target(out, overwrite)
    sr, records = build_sr(layer, reference)
    buf = io.BytesIO()
    sr.save_as(buf, enforce_file_format=True)
    atomic_write_bytes(out, buf.getvalue(), overwrite)
    return records


def read_sr(path: str | Path, reference: SourceSeries | None = None) -> list[MeasurementRecord]:
    """Read the planar ROI measurements back (value, unit, outline in LPS, source image UIDs)."""
    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # noqa: BLE001
        raise LoupeError(f"{path}: not a readable DICOM file ({e})") from e
    if str(ds.get("SOPClassUID", "")) != COMPREHENSIVE_3D_SR:
        raise LoupeError(f"{path}: (0008,0016) SOP Class UID is {ds.get('SOPClassUID', 'missing')}, "
                         f"expected Comprehensive 3D SR {COMPREHENSIVE_3D_SR}")
    if reference is not None:
        series = {str(s.SeriesInstanceUID) for e in ds.get("CurrentRequestedProcedureEvidenceSequence", [])
                  for s in e.get("ReferencedSeriesSequence", [])}
        if reference.series_uid not in series:
            raise LoupeError(f"{path}: this SR refers to series {', '.join(sorted(series)) or '(none)'}, "
                             f"not to the open series {reference.series_uid}")
    try:
        sr = hd.sr.Comprehensive3DSR.from_dataset(ds, copy=False)
        groups = sr.content.get_planar_roi_measurement_groups()
    except Exception as e:  # noqa: BLE001
        raise LoupeError(f"{path}: not a TID 1500 measurement report ({e})") from e
    out = []
    for g in groups:
        roi = g.roi
        verts = np.asarray(roi.value, float)
        if verts.ndim == 2 and verts.shape[1] == 2:  # 2D SCOORD on a projection image
            ij = np.column_stack([verts - 0.5, np.zeros(len(verts))])
            aff = reference.affine if reference is not None else np.eye(4)
            verts = ij @ aff[:3, :3].T + aff[:3, 3]
        verts = verts.reshape(-1, 3)
        label = str(g.tracking_identifier or "")
        for m in g.get_measurements():
            unit = m.unit.value
            kind = "length" if m.name == codes.SCT.Length else ("area" if m.name == codes.SCT.Area else m.name.meaning)
            uids = [str(r.referenced_sop_instance_uid) for r in (m.referenced_images or [])]
            out.append(MeasurementRecord(kind, float(m.value), unit, verts, label, uids))
    return out


def records_to_layer(records: list[MeasurementRecord], name: str, provenance: Provenance) -> ShapesLayer:
    """Measurements as a shapes layer (polylines / closed polygons) for display."""
    shapes = [Shape("polyline" if r.kind == "length" else "polygon",
                    r.vertices if r.kind == "length" else r.vertices[:-1], r.label,
                    attrs={"value": r.value, "unit": r.unit}) for r in records]
    return ShapesLayer(shapes, name, provenance)
