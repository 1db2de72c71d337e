"""DICOM Segmentation (highdicom) for label layers, referencing the source series with its exact
geometry, and its re-import.

Label values become segment numbers 1..N (DICOM wants them consecutive); the original value is kept
in each segment's TrackingID ("loupe-label-<value>") so a round trip restores it. The layer's
provenance goes into the segment's algorithm identification (name, version and JSON-encoded
parameters) for backend output, or MANUAL plus the content creator for human work."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import quote, unquote

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from app.data.types import LoupeError
from app.jobs.attest import checked_claim
from app.layers import LabelLayer, Provenance, params_digest

from .reference import SourceSeries, atomic_write_bytes, check_target

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
_TRACK = re.compile(r"^loupe-label-(\d+)$")
SOFTWARE = "Loupe 0.1"


def encode_parameters(params: dict) -> dict[str, str]:
    """Backend parameters for (0066,0032) Algorithm Parameters, which highdicom joins as k=v,k=v:
    values are JSON, percent-quoted so commas and '=' inside them survive; exact on re-import.
    Too long for the LT element (10240 chars) -> the parameter digest only, never a silent cut."""
    enc = {quote(str(k), safe=""): quote(json.dumps(v, sort_keys=True, default=str), safe="")
           for k, v in params.items()}
    if len(",".join(f"{k}={v}" for k, v in enc.items())) > 10240:
        enc = {"params_sha256_16": quote(json.dumps(params_digest(params)), safe="")}
    return enc


def _algorithm(prov: Provenance, based_on: Provenance | None = None
               ) -> tuple[str, hd.AlgorithmIdentificationSequence | None]:
    """AUTOMATIC for backend output; SEMIAUTOMATIC for a person's correction of backend output
    (``based_on``: the backend version it corrects, e.g. from ``ReviewStore.origin``); MANUAL."""
    made_by = prov.algorithm()
    src = made_by or (based_on.algorithm() if based_on is not None else None)
    if src is None:
        return "MANUAL", None
    algo = hd.AlgorithmIdentificationSequence(
        name=src.author, family=codes.cid7162.ArtificialIntelligence, version=src.version,
        parameters=encode_parameters(src.params) or None)
    return ("AUTOMATIC" if made_by is not None else "SEMIAUTOMATIC"), algo


def _projection_geometry(reference: SourceSeries) -> dict:
    """A radiograph without (0028,0030) Pixel Spacing gets an empty Pixel Measures item that
    highdicom cannot read back; state the spacing Loupe measures with (Imager Pixel Spacing or
    1 mm) explicitly."""
    if not reference.projection:
        return {}
    dx, dy = (float(v) for v in np.linalg.norm(reference.affine[:3, :2], axis=0))
    return {"pixel_measures": hd.PixelMeasuresSequence(pixel_spacing=(dy, dx), slice_thickness=1.0)}


def build_seg(layer: LabelLayer, reference: SourceSeries, based_on: Provenance | None = None
              ) -> hd.seg.Segmentation:
    """Validate and build the SEG object (not written). Raises LoupeError on any mismatch."""
    what = f"layer {layer.name!r}"
    if not isinstance(layer, LabelLayer):
        raise LoupeError(f"{what}: DICOM SEG needs a label layer, got {layer.kind}")
    labels = layer.labels
    reference.check_label_grid(labels, layer.affine, what)
    if labels.min() < 0:
        raise LoupeError(f"{what}: negative label values cannot be stored in a SEG")
    values = [int(v) for v in np.unique(labels) if v != 0]
    if not values:
        raise LoupeError(f"{what}: the label map is empty; nothing to export")
    if len(values) > 65535:
        raise LoupeError(f"{what}: {len(values)} labels exceed what a SEG can hold")
    algo_type, algo = _algorithm(layer.provenance, based_on)
    descriptions = []
    for n, v in enumerate(values, start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=n, segment_label=layer.label_names.get(v, f"label {v}")[:64],
            segmented_property_category=codes.SCT.Tissue, segmented_property_type=codes.SCT.Tissue,
            algorithm_type=algo_type, algorithm_identification=algo,
            tracking_uid=hd.UID(), tracking_id=f"loupe-label-{v}",
            display_color=hd.color.CIELabColor.from_rgb(*(round(255 * c) for c in layer.color_of(v)))))
    # relabel to consecutive segment numbers with one lookup table (fast for any label count)
    lut = np.zeros(int(labels.max()) + 1, dtype=np.uint16)
    lut[values] = np.arange(1, len(values) + 1)
    pixel = lut[labels]
    if len(values) < 256:
        pixel = pixel.astype(np.uint8)
    if reference.frame_numbers:  # enhanced source: highdicom pairs pixel_array[f] with frame f + 1
        by_frame = np.empty_like(pixel)
        by_frame[np.asarray(reference.frame_numbers) - 1] = pixel
        pixel = by_frame
    creator = layer.provenance.author if layer.provenance.kind == "human" else None
    try:
        return hd.seg.Segmentation(
            source_images=reference.datasets, pixel_array=pixel,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=900,
            sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Loupe",
            manufacturer_model_name="Loupe", software_versions=SOFTWARE, device_serial_number="0",
            content_description=layer.name[:64] or None, content_creator_name=creator,
            content_label="LOUPE_SEG", omit_empty_frames=True, **_projection_geometry(reference))
    except (ValueError, TypeError) as e:
        raise LoupeError(f"{what}: highdicom refused the segmentation: {e}") from e


def write_seg(layer: LabelLayer, reference: SourceSeries, out: str | Path, *,
              overwrite: bool = False, based_on: Provenance | None = None) -> Path:
    """Write ``layer`` as a DICOM SEG referencing ``reference``. Nothing is written unless every
    check passes; ``out`` is replaced only with ``overwrite=True``. ``based_on``: for a human
    correction, the backend output it corrects (recorded as SEMIAUTOMATIC with that algorithm)."""
    out = Path(out)
    check_target(out, overwrite)
    seg = build_seg(layer, reference, based_on)
    buf = io.BytesIO()
    seg.save_as(buf, enforce_file_format=True)
    atomic_write_bytes(out, buf.getvalue(), overwrite)
    return out


def _load(path: Path) -> hd.seg.Segmentation:
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # noqa: BLE001 - any parse failure is the user's file problem
        raise LoupeError(f"{path}: not a readable DICOM file ({e})") from e
    if str(ds.get("SOPClassUID", "")) != SEG_SOP_CLASS:
        raise LoupeError(f"{path}: (0008,0016) SOP Class UID is {ds.get('SOPClassUID', 'missing')}, "
                         f"expected Segmentation Storage {SEG_SOP_CLASS}")
    try:
        return hd.seg.Segmentation.from_dataset(ds, copy=False)
    except Exception as e:  # noqa: BLE001
        raise LoupeError(f"{path}: not a valid DICOM SEG ({e})") from e


def _provenance(seg: hd.seg.Segmentation, path: Path) -> Provenance:
    desc = seg.SegmentSequence[0]
    creator = str(seg.get("ContentCreatorName", "") or "")
    if str(desc.get("SegmentAlgorithmType", "")) == "SEMIAUTOMATIC" and creator:
        a = desc.SegmentationAlgorithmIdentificationSequence[0]
        return Provenance("human", creator, params={"corrects": f"{a.AlgorithmName} {a.AlgorithmVersion}"})
    if "SegmentationAlgorithmIdentificationSequence" in desc:
        a = desc.SegmentationAlgorithmIdentificationSequence[0]
        params = {}
        if "AlgorithmParameters" in a:
            for item in str(a.AlgorithmParameters).split(","):
                if "=" in item:
                    k, v = item.split("=", 1)
                    try:
                        params[unquote(k)] = json.loads(unquote(v))
                    except json.JSONDecodeError:
                        params[k] = v  # written by another tool: keep its text
        return Provenance.backend(str(a.AlgorithmName), str(a.AlgorithmVersion), params)
    return Provenance.human(creator) if creator else Provenance.file(str(path))


def seg_label_values(seg: hd.seg.Segmentation) -> dict[int, int]:
    """Segment number -> original Loupe label value (itself when no Loupe tracking id)."""
    out = {}
    for d in seg.SegmentSequence:
        m = _TRACK.match(str(d.get("TrackingID", "")))
        out[int(d.SegmentNumber)] = int(m.group(1)) if m else int(d.SegmentNumber)
    return out


def _slices_along_normal(px: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order slices along row x column (the DICOM slice normal), as SourceSeries does, so a SEG
    read with or without its series gives the same (k, j, i) layout."""
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    if px.shape[0] == 1 and float(np.dot(affine[:3, 2], normal)) < 0:  # one slice: only a direction
        affine = affine.copy()
        affine[:3, 2] = -affine[:3, 2]
    elif float(np.dot(affine[:3, 2], normal)) < 0:
        affine = affine.copy()
        affine[:3, 3] = affine[:3, 3] + (px.shape[0] - 1) * affine[:3, 2]
        affine[:3, 2] = -affine[:3, 2]
        px = px[::-1]
    return np.ascontiguousarray(px), affine


def read_seg(path: str | Path, reference: SourceSeries | None = None) -> LabelLayer:
    """Re-import a SEG as a label layer. With ``reference`` the SEG must refer to that series and
    frame of reference (else LoupeError) and the mask lands on its grid; without, the geometry comes
    from the SEG's own plane positions."""
    path = Path(path)
    seg = _load(path)
    ref_series = [str(s.SeriesInstanceUID) for s in seg.get("ReferencedSeriesSequence", [])]
    numbers = seg_label_values(seg)
    names = {numbers[int(d.SegmentNumber)]: str(d.SegmentLabel) for d in seg.SegmentSequence}
    colors = {}
    for d in seg.SegmentSequence:
        if "RecommendedDisplayCIELabValue" in d:
            rgb = hd.color.CIELabColor.from_dicom_value(list(d.RecommendedDisplayCIELabValue)).to_rgb()
            colors[numbers[int(d.SegmentNumber)]] = tuple(c / 255.0 for c in rgb)
    if reference is not None:
        if reference.series_uid not in ref_series:
            raise LoupeError(f"{path}: this SEG refers to series {', '.join(ref_series) or '(none)'}, "
                             f"not to the open series {reference.series_uid}; nothing was imported")
        if str(seg.get("FrameOfReferenceUID", "") or "") != reference.frame_of_reference_uid:
            raise LoupeError(f"{path}: frame of reference {seg.FrameOfReferenceUID} differs from the "
                             f"series' {reference.frame_of_reference_uid}; nothing was imported")
        # a SEG omits empty frames (PS3.3 C.8.20.2), so slices of the matched series that it does
        # not mention are background
        try:
            if reference.frame_numbers:
                px = seg.get_pixels_by_source_frame(reference.sop_instance_uids[0], reference.frame_numbers,
                                                    combine_segments=True, relabel=False, dtype=np.uint16,
                                                    assert_missing_frames_are_empty=True)
            else:
                px = seg.get_pixels_by_source_instance(reference.sop_instance_uids, combine_segments=True,
                                                       relabel=False, dtype=np.uint16,
                                                       assert_missing_frames_are_empty=True)
        except (ValueError, KeyError, RuntimeError) as e:
            raise LoupeError(f"{path}: frames do not map onto the series ({e})") from e
        affine = reference.affine.copy()
    elif "FrameOfReferenceUID" not in seg:
        raise LoupeError(f"{path}: a segmentation of a projection image has no geometry of its own; "
                         f"open it together with its source image")
    else:
        try:
            vol = seg.get_volume(combine_segments=True, relabel=False, dtype=np.uint16)
        except (ValueError, RuntimeError) as e:
            raise LoupeError(f"{path}: SEG frames do not form a regular volume ({e}); open it with its "
                             f"source series") from e
        px = vol.array
        affine = np.asarray(vol.affine, dtype=np.float64)[:, [2, 1, 0, 3]]  # (k,j,i) -> (i,j,k) columns
        px, affine = _slices_along_normal(px, affine)
    lut = np.zeros(int(max(numbers)) + 1, dtype=np.int64)
    for n, v in numbers.items():
        lut[n] = v
    top = max(numbers.values())
    dtype = np.uint8 if top < 256 else (np.uint16 if top < 65536 else np.int32)
    labels = lut[px].astype(dtype)
    layer = LabelLayer(labels, affine, str(seg.get("ContentDescription", "") or path.stem),
                       _provenance(seg, path), label_names=names, colors=colors)
    return checked_claim(layer, path.name)  # an algorithm named in a file is a claim, not a runner's output
