"""DICOM cine (multi-frame ultrasound, XA/XRF, endoscopy stills) and video DICOM (MPEG-2, H.264,
HEVC pixel data) as video sources.

Cine frames are decoded one at a time with pydicom's decoder (never the whole multi-frame array),
timed from Frame Time Vector (0018,1065), Frame Time (0018,1063), Cine Rate (0018,0040) or
Recommended Display Frame Rate (0008,2144). Video DICOM pixel data is an encapsulated elementary
stream: its fragments are joined, given timestamps once (timestamps.py) and read through PyAV.
"""
from __future__ import annotations

import hashlib
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.data.types import ReadError

from .frame_index import CancelFn, FrameIndex, ProgressFn
from .source import DEFAULT_CACHE_BYTES, Frame, VideoSource

VIDEO_TRANSFER_SYNTAXES = {
    "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1", "1.2.840.10008.1.2.4.101",
    "1.2.840.10008.1.2.4.101.1", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1",
    "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1", "1.2.840.10008.1.2.4.104",
    "1.2.840.10008.1.2.4.104.1", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
    "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1", "1.2.840.10008.1.2.4.107",
    "1.2.840.10008.1.2.4.108",
}
# Storage classes whose multi-frame images are a time series (not a volume like enhanced CT/MR).
CINE_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.3.1",      # Ultrasound Multi-frame
    "1.2.840.10008.5.1.4.1.1.6.2",      # Enhanced US Volume is 3D; excluded below by frame time
    "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.12.1.1",  # XA, Enhanced XA
    "1.2.840.10008.5.1.4.1.1.12.2", "1.2.840.10008.5.1.4.1.1.12.2.1",  # XRF, Enhanced XRF
    "1.2.840.10008.5.1.4.1.1.77.1.1.1", "1.2.840.10008.5.1.4.1.1.77.1.2.1",  # VL endoscopic/microscopic video
    "1.2.840.10008.5.1.4.1.1.77.1.4.1",  # VL photographic video
    "1.2.840.10008.5.1.4.1.1.7.2", "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",  # MF SC
}


def _read_header(path: Path):
    import pydicom

    try:
        return pydicom.dcmread(str(path), stop_before_pixels=True)
    except Exception as exc:
        raise ReadError(f"{path.name}: not a readable DICOM file ({exc})") from exc


def is_dicom_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def is_dicom_video(path: Path) -> bool:
    """True for video DICOM and for multi-frame cine with timing; False for volumes and stills."""
    if not is_dicom_file(path):
        return False
    try:
        ds = _read_header(path)
    except ReadError:
        return False
    tsyn = str(getattr(ds.file_meta, "TransferSyntaxUID", ""))
    if tsyn in VIDEO_TRANSFER_SYNTAXES:
        return True
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    timed = any(k in ds for k in ("FrameTime", "FrameTimeVector", "CineRate", "RecommendedDisplayFrameRate"))
    return frames > 1 and timed and str(ds.get("SOPClassUID", "")) in CINE_SOP_CLASSES


def frame_times_ms(ds, n: int, label: str) -> tuple[np.ndarray, list[str]]:
    """Start time (ms) of every frame from the DICOM timing attributes."""
    warnings: list[str] = []
    vec = ds.get("FrameTimeVector")
    if vec is not None and len(vec) == n:
        steps = np.asarray([float(v) for v in vec], np.float64)
        steps[0] = 0.0  # first entry is the delay before frame 1, by definition 0
        if np.all(steps[1:] > 0):
            return np.cumsum(steps), warnings
        warnings.append(f"{label}: Frame Time Vector has non-positive intervals; using Frame Time")
    ft = ds.get("FrameTime")
    if ft is not None and float(ft) > 0:
        return np.arange(n) * float(ft), warnings
    for kw in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = ds.get(kw)
        if rate is not None and float(rate) > 0:
            return np.arange(n) * (1000.0 / float(rate)), warnings
    warnings.append(f"{label}: no frame timing in the header; assuming 25 frames/s")
    return np.arange(n) * 40.0, warnings


def to_display_rgb(arr: np.ndarray, ds) -> np.ndarray:
    """A decoded DICOM frame as 8-bit RGB for display: colour kept; PALETTE COLOR through its
    lookup tables (the indices alone would show a wrong grey picture); greyscale windowed by the
    file's VOI window when present, else by its range; MONOCHROME1 inverted."""
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR" and arr.ndim == 2:
        from pydicom.pixels import apply_color_lut
        arr = apply_color_lut(arr, ds)
        if arr.dtype == np.uint16:  # 16-bit LUT entries: the displayed 8 bits per channel
            return np.ascontiguousarray((arr >> 8).astype(np.uint8))
    if arr.ndim == 3 and arr.shape[-1] == 3:
        if arr.dtype != np.uint8:
            hi = float(2 ** int(ds.get("BitsStored", 8)) - 1)
            arr = np.clip(arr.astype(np.float32) * (255.0 / hi), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)
    a = arr.astype(np.float32)
    slope, inter = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    a = a * slope + inter
    wc, ww = ds.get("WindowCenter"), ds.get("WindowWidth")
    if wc is not None and ww is not None:
        c = float(wc[0] if hasattr(wc, "__len__") and not isinstance(wc, str) else wc)
        w = float(ww[0] if hasattr(ww, "__len__") and not isinstance(ww, str) else ww)
        lo, hi = c - w / 2, c + w / 2
    else:
        lo, hi = float(a.min()), float(a.max())
    g = np.clip((a - lo) / max(hi - lo, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        g = 255 - g
    return np.repeat(g[..., None], 3, axis=2)


class DicomCineSource(VideoSource):
    kind = "dicom_cine"

    def __init__(self, path: str | Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        import pydicom
        from pydicom.pixels import get_decoder

        super().__init__(path, cache_bytes=cache_bytes)
        try:
            self._ds = pydicom.dcmread(str(self.path))
        except Exception as exc:
            raise ReadError(f"{self.label}: not a readable DICOM file ({exc})") from exc
        if "PixelData" not in self._ds:
            raise ReadError(f"{self.label}: the DICOM file has no pixel data")
        self._n = int(self._ds.get("NumberOfFrames", 1) or 1)
        tsyn = self._ds.file_meta.TransferSyntaxUID
        try:
            self._decoder = get_decoder(tsyn)
        except Exception as exc:
            raise ReadError(f"{self.label}: transfer syntax {tsyn} ({tsyn.name}) is not supported") from exc
        if not self._decoder.is_available:
            raise ReadError(f"{self.label}: no installed decoder for {tsyn.name}")

    @property
    def size(self) -> tuple[int, int]:
        return int(self._ds.Columns), int(self._ds.Rows)

    @property
    def codec(self) -> str:
        return str(self._ds.file_meta.TransferSyntaxUID.name)

    @property
    def pixel_aspect(self) -> float:
        par = self._ds.get("PixelAspectRatio")  # (0028,0034): vertical \\ horizontal
        try:
            return float(par[1]) / float(par[0]) if par and float(par[0]) > 0 else 1.0
        except (TypeError, ValueError, IndexError):
            return 1.0

    def _build_index(self, progress: ProgressFn | None, cancel: CancelFn | None) -> FrameIndex:
        t_ms, warnings = frame_times_ms(self._ds, self._n, self.label)
        self.warnings.extend(warnings)
        pts = np.round(t_ms * 1000.0).astype(np.int64)  # microseconds
        if progress is not None:
            progress(1.0)
        return FrameIndex(pts, pts.copy(), np.ones(self._n, bool), np.arange(self._n, dtype=np.int64),
                          Fraction(1, 1_000_000))

    def _decode(self, n: int) -> Frame:
        try:
            arr, _ = self._decoder.as_array(self._ds, index=n)
        except Exception as exc:
            raise ReadError(f"{self.label}: frame {n} could not be decoded ({exc})") from exc
        img = to_display_rgb(arr, self._ds)
        self.cache.put(n, img)
        return Frame(n, self.index.time_of(n), img, True)

    def _close_resources(self) -> None:
        self._ds = None


def extract_video_stream(path: Path) -> tuple[Path, float]:
    """Join the encapsulated fragments of a video DICOM into an elementary-stream file (cached)."""
    import pydicom
    from pydicom.encaps import generate_fragments

    from app.paths import user_dir

    label = path.name
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:
        raise ReadError(f"{label}: not a readable DICOM file ({exc})") from exc
    if "PixelData" not in ds:
        raise ReadError(f"{label}: the DICOM file has no pixel data")
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    out = user_dir() / "cache" / "video_dicom" / f"{key}.es"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.part")
        with open(tmp, "wb") as fh:
            for frag in generate_fragments(ds.PixelData):
                fh.write(frag)
        os.replace(tmp, out)
    n = int(ds.get("NumberOfFrames", 0) or 0)
    t_ms, _ = frame_times_ms(ds, max(n, 2), label)
    fps = 1000.0 / float(np.median(np.diff(t_ms)))
    return out, fps


def open_dicom_video(path: Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> VideoSource:
    header = _read_header(path)
    tsyn = str(getattr(header.file_meta, "TransferSyntaxUID", ""))
    if tsyn not in VIDEO_TRANSFER_SYNTAXES:
        return DicomCineSource(path, cache_bytes=cache_bytes)
    from .av_source import AVSource
    from .timestamps import needs_timestamps, remux_with_timestamps

    es, fps = extract_video_stream(path)
    readable = remux_with_timestamps(es, path.name, fps) if needs_timestamps(es, path.name) else es
    src = AVSource(readable, cache_bytes=cache_bytes, label=path.name)
    src.kind = "dicom_video"
    return src
