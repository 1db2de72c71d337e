"""Split scanned DICOM frames into image series and load them as ``Volume``s.

Splitting: SeriesInstanceUID first, then anything that makes frames unable to share one voxel grid
or one meaning: size, orientation, pixel spacing, echo, image type, stack, colour model. Within a
group, positions along the slice normal define k; frames repeating every position form a time
axis; uneven repetition is split by acquisition number.

Loading is lazy: ``DicomSeries`` knows its geometry from headers alone; ``read_slice`` reads one
file for the first paint; ``load`` reads everything (threads, progress, cancel).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.data.dicom import pixels
from app.data.dicom.frames import Frame, frames_of
from app.data.dicom.geometry import StackGeometry, cluster_positions, stack_geometry
from app.data.dicom.scan import HeaderRecord, ScanResult
from app.data.types import Intensity, LoupeError, ReadError, Volume, orientation_letters

Progress = Callable[[int, int], None]


class LoadCancelled(LoupeError):
    """The user cancelled a load; nothing was returned."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read DICOM pixel values. Passed in, never global.

    philips_scaling: "precise" gives Philips floating-point values FP = SV / ScaleSlope (what
    dcm2niix writes by default, comparable across scans); "display" gives the console values
    DV = SV * RescaleSlope + RescaleIntercept.
    """

    philips_scaling: str = "precise"
    workers: int | None = None
    equidistant: bool = False  # return the tilt-corrected / equidistant resampled volume as well
    # a viewer opens a series whose slices cannot all be read: each unreadable slice blank (the
    # series minimum), named in a warning and in meta['missing_slices']; never interpolated.
    # Off for conversion, which refuses the series naming the file.
    missing_slices: bool = False


def _blank_missing(vol: Volume, missing: dict[tuple[int, int], str], n_slices: int) -> None:
    """Unreadable slices set to the series minimum (shown blank, never interpolated) and named."""
    arr = vol.array
    keys = sorted(missing)
    view = arr if vol.time_axis else arr[None]
    ok = np.ones(view.shape[:2], bool)
    for t, k in keys:
        ok[t, k] = False
    fill = view[ok].min() if ok.any() else 0
    for t, k in keys:
        view[t, k] = fill
    ks = sorted({k for _, k in keys})
    vol.meta["missing_slices"] = ks
    first = missing[keys[0]]
    vol.warnings.append(f"{len(ks)} of {n_slices} slice(s) could not be read and are shown blank, not "
                        f"interpolated: slice(s) {', '.join(str(k + 1) for k in ks[:10])}"
                        f"{' ...' if len(ks) > 10 else ''} ({first})")


def _round_vec(v, ndigits=3):
    return tuple([round(float(x), ndigits) + 0.0 for x in (v.tolist() if hasattr(v, "tolist") else v)])


def _group_key(f: Frame) -> tuple:
    rec = f.record
    # images without patient geometry (radiographs, US) cannot be stacked: one candidate per file
    series = rec.series_uid or str(rec.path.parent)
    if not f.has_geometry:
        series = f"{series}/{rec.path}"
    return (series, f.rows, f.cols, f.samples,
            "MONO" if f.photometric.startswith("MONOCHROME") else f.photometric,
            _round_vec(f.row_dir), _round_vec(f.col_dir), _round_vec(f.pixel_spacing, 4),
            f.echo_number if f.echo_number is not None else -1,
            round(f.echo_time, 3) if f.echo_time is not None else -1.0,
            f.stack_id, f.tile is not None)


def _image_type(f: Frame) -> tuple[str, ...]:
    return tuple(x.upper() for x in f.image_type)


def _split_by_image_type(frames: list[Frame]) -> list[list[Frame]]:
    """Separate image types only when they share slice positions (magnitude + phase, water + fat):
    a type flag that changes part-way through one stack (GE CT 'ADD') is not a different volume."""
    types: dict[tuple, list[Frame]] = OrderedDict()
    for f in frames:
        types.setdefault(_image_type(f), []).append(f)
    if len(types) == 1:
        return [frames]
    n = frames[0].normal
    seen: dict[float, tuple] = {}
    for t, members in types.items():
        for f in members:
            key = round(float(np.dot(f.position, n)) / 0.01)
            if key in seen and seen[key] != t:
                return list(types.values())
            seen[key] = t
    return [frames]


def _scaling(f: Frame, options: ReadOptions) -> tuple[float, float]:
    """(slope, intercept) turning stored values into the values Loupe shows."""
    if f.philips_scale_slope and options.philips_scaling == "precise":
        # dcm2niix's PhilipsPrecise(), in float32 as it computes it: FP = (SV*RS + RI) / (RS*SS)
        rs, ri, ss = np.float32(f.slope), np.float32(f.intercept), np.float32(f.philips_scale_slope)
        if rs * ss != 0:
            l0 = np.float32((np.float32(0) * rs + ri) / (rs * ss))
            l1 = np.float32((np.float32(1) * rs + ri) / (rs * ss))
            if l0 != l1:
                return float(np.float32(l1 - l0)), float(l0)
    return f.slope, f.intercept


@dataclass
class DicomSeries:
    """One loadable image series: frames arranged as grid[t][k] plus geometry from headers."""

    grid: list[list[Frame]]
    geometry: StackGeometry
    warnings: list[str] = field(default_factory=list)
    options: ReadOptions = field(default_factory=ReadOptions)

    def __post_init__(self) -> None:
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # --- description from headers only ---
    @property
    def first(self) -> Frame:
        return self.grid[0][0]

    @property
    def header(self):
        return self.first.record.header

    @property
    def n_slices(self) -> int:
        return len(self.grid[0])

    @property
    def n_times(self) -> int:
        return len(self.grid)

    @property
    def colour(self) -> bool:
        return self.first.samples > 1 or self.first.photometric == "PALETTE COLOR"

    @property
    def shape(self) -> tuple[int, ...]:
        f = self.first
        s = (self.n_slices, f.rows, f.cols) + ((3,) if self.colour else ())
        return ((self.n_times,) + s) if self.n_times > 1 else s

    @property
    def files(self) -> list:
        seen, out = set(), []
        for row in self.grid:
            for f in row:
                if f.path not in seen:
                    seen.add(f.path)
                    out.append(f.path)
        return out

    @property
    def label(self) -> str:
        r = self.first.record
        desc = r.series_description or r.header.get("ProtocolName", "") or "(no description)"
        extra = []
        if self.first.echo_time is not None and self._multi_echo:
            extra.append(f"TE {self.first.echo_time:g}")
        if self._split_by_type:
            extra.append("\\".join(self.first.image_type[2:4]))
        num = f"#{r.series_number} " if r.series_number is not None else ""
        return f"{r.modality or '??'} {num}{desc}" + (f" [{', '.join(extra)}]" if extra else "")

    _multi_echo: bool = False
    _split_by_type: bool = False
    _key: tuple = ()

    def orientation_letters(self) -> str:
        return orientation_letters(self.geometry.affine[:3, :3] / np.linalg.norm(self.geometry.affine[:3, :3], axis=0))

    def scalings(self) -> list[tuple[float, float]]:
        return [_scaling(f, self.options) for row in self.grid for f in row]

    # --- pixels ---
    def _file_frames(self, f: Frame) -> np.ndarray:
        key = f.path
        with self._lock:
            arr = self._cache.get(key)
            if arr is not None:
                self._cache.move_to_end(key)
                return arr
        arr = pixels.read_file_frames(f.path, f.record.header)
        with self._lock:
            self._cache[key] = arr
            while len(self._cache) > 4:
                self._cache.popitem(last=False)
        return arr

    def _frame_pixels(self, f: Frame, file_arr: np.ndarray) -> np.ndarray:
        if f.tile is not None:
            g = f.tile_grid
            big = file_arr[0]
            r, c = divmod(f.tile, g)
            return big[r * f.rows:(r + 1) * f.rows, c * f.cols:(c + 1) * f.cols]
        if f.frame_index >= file_arr.shape[0]:
            raise ReadError(f"{f.path.name}: frame {f.frame_index + 1} requested but the pixel data holds "
                            f"{file_arr.shape[0]} frames")
        return file_arr[f.frame_index]

    def read_slice(self, k: int, t: int = 0) -> np.ndarray:
        """One slice, rescaled, reading only the file(s) it needs (first paint)."""
        f = self.grid[t][k]
        raw = self._frame_pixels(f, self._file_frames(f))
        slope, inter = _scaling(f, self.options)
        if slope == 1.0 and inter == 0.0:
            return raw.copy()
        if float(slope).is_integer() and float(inter).is_integer() and raw.dtype.kind in "iu":
            wide = raw.astype(np.int32) * int(slope) + int(inter)  # same values and type as load()
            if wide.size and -32768 <= int(wide.min()) and int(wide.max()) <= 32767:
                return wide.astype(np.int16)
            return wide
        return raw.astype(np.float32) * np.float32(slope) + np.float32(inter)

    def _stored_dtype(self) -> np.dtype:
        dts = set()
        for row in self.grid:
            for f in row[:1]:
                try:
                    dts.add(pixels.stored_dtype(f.record.header))
                except ReadError as exc:  # name the file: the attribute alone says too little
                    raise ReadError(f"{f.path.name}: {exc}") from None
        return np.result_type(*dts)

    def _int16_plan(self) -> int | None:
        """Integer intercept when every frame is stored 16-bit with slope 1 and one intercept, so
        the HU volume can be made in place, slice by slice, in the stored buffer (the common CT)."""
        scal = set(self.scalings())
        if len(scal) != 1:
            return None
        slope, inter = scal.pop()
        if slope != 1.0 or not float(inter).is_integer():
            return None
        if self._stored_dtype() not in (np.dtype("<u2"), np.dtype("<i2")):
            return None
        return int(inter)

    def load(self, progress: Progress | None = None, cancel: threading.Event | None = None) -> Volume:
        """Read every frame into one Volume (4D when the series repeats positions over time)."""
        missing: dict[tuple[int, int], str] = {}
        vol = self._load(progress, cancel, missing)
        if missing:
            _blank_missing(vol, missing, self.n_slices)
        return vol

    def _load(self, progress, cancel, missing: dict) -> Volume:
        first = self.first
        colour = self.colour
        T, K = self.n_times, self.n_slices
        by_file: dict = OrderedDict()
        for t, row in enumerate(self.grid):
            for k, f in enumerate(row):
                by_file.setdefault(f.path, []).append((t, k, f))
        total = len(by_file)
        raw: np.ndarray | None = None
        if not colour and all(len(v) == 1 and v[0][2].tile is None and int(v[0][2].record.number_of_frames) == 1
                              for v in by_file.values()):
            raw = np.empty((T, K, first.rows, first.cols), dtype=self._stored_dtype())
        inter = self._int16_plan() if raw is not None else None
        lock = threading.Lock()
        holder: dict = {}
        overflow = [False]

        def to_int16_inplace(sl: np.ndarray, header) -> None:
            # HU = stored + intercept; exact in int16 when the slice's range allows, with
            # wrap-around arithmetic in the stored type and a reinterpretation of the bits
            top = pixels.unsigned_max(header) if sl.dtype == np.uint16 else None
            if top is not None and top + inter <= 32767 and inter >= -32768:
                pass  # unsigned, high bits already cleared: no value can leave int16, no pass needed
            else:
                hi = int(sl.max())
                lo = 0 if sl.dtype == np.uint16 else int(sl.min())  # unsigned: the minimum cannot underflow
                if lo + inter < -32768 or hi + inter > 32767:
                    overflow[0] = True
                    return
            if inter:
                np.add(sl, np.array(inter).astype(sl.dtype), out=sl, casting="unsafe")

        def work(item):
            try:
                try:
                    _work(item)
                except LoupeError:
                    raise
                except Exception as exc:  # a codec or a malformed pixel attribute: name the file, no traceback
                    raise ReadError(f"{item[0].name}: pixel data cannot be read ({pixels.one_line(exc)})") from exc
            except LoupeError as exc:
                if not (self.options.missing_slices and len(by_file) > 1):
                    raise
                with lock:
                    for t, k, _ in item[1]:
                        missing[(t, k)] = str(exc)
                        if raw is not None:
                            raw[t, k] = 0

        def _work(item):
            path, entries = item
            if cancel is not None and cancel.is_set():
                return
            rec = entries[0][2].record
            direct = False
            if raw is not None and pixels.stored_dtype(rec.header) == raw.dtype:
                # straight from the file into the volume, then HU in place while the slice is
                # still in cache (measured faster than a scratch buffer plus a copy: the fresh
                # volume's page faults are paid once either way)
                t, k, _ = entries[0]
                direct = pixels.read_uncompressed_into(path, rec.header, raw[t, k:k + 1])
                if direct and inter is not None:
                    to_int16_inplace(raw[t, k], rec.header)
            if not direct:
                arr = pixels.read_file_frames(path, rec.header)
                for t, k, f in entries:
                    px = self._frame_pixels(f, arr)
                    if px.shape[:2] != (first.rows, first.cols):
                        raise ReadError(f"{path.name}: image is {px.shape[0]}x{px.shape[1]}, the series "
                                        f"is {first.rows}x{first.cols}")
                    if raw is not None:
                        raw[t, k] = px
                        if inter is not None:
                            to_int16_inplace(raw[t, k], rec.header)
                    else:
                        with lock:
                            holder[(t, k)] = px

        def work_chunk(chunk):
            for it in chunk:
                work(it)
            return len(chunk)

        workers = self.options.workers or (min(4, os.cpu_count() or 2) if total > 8 else 1)
        items = list(by_file.items())
        if workers > 1:
            # contiguous chunks: fewer hand-offs between threads (file reads and numpy release
            # the GIL) and each thread writes neighbouring slices; progress per chunk
            size = max(1, min(16, -(-len(items) // (workers * 4))))
            chunks = [items[i:i + size] for i in range(0, len(items), size)]
            done = 0
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for fut in [pool.submit(work_chunk, c) for c in chunks]:
                    done += fut.result()
                    if progress:
                        progress(done, total)
        else:
            for i, it in enumerate(items):
                work(it)
                if progress:
                    progress(i + 1, total)
        if cancel is not None and cancel.is_set():
            raise LoadCancelled(f"{first.path.parent}: loading cancelled")
        if len(missing) == sum(len(v) for v in by_file.values()):
            raise ReadError(missing[min(missing)])  # nothing readable: the first file's problem
        if inter is not None and not overflow[0]:
            return self._to_volume(raw.view(np.int16), colour, prescaled=(raw.dtype, inter))
        if inter is not None:  # some slice would overflow int16: start again the general way
            return dataclasses_replace_options(self).load(progress=None, cancel=cancel)
        if raw is None:
            sample = next(iter(holder.values()))
            raw = np.zeros((T, K) + sample.shape, dtype=np.result_type(*[a.dtype for a in holder.values()]))
            for (t, k), px in holder.items():
                raw[t, k] = px
        return self._to_volume(raw, colour)

    def _to_volume(self, raw: np.ndarray, colour: bool, prescaled: tuple | None = None) -> Volume:
        scal = self.scalings()
        uniform = len(set(scal)) == 1
        slope, inter = scal[0]
        if prescaled is not None:
            arr = raw
            meta_scaling = {"slope": 1.0, "intercept": float(prescaled[1]), "stored_dtype": str(prescaled[0])}
        elif colour:
            arr, meta_scaling = raw, None
        elif uniform and slope == 1.0 and inter == 0.0:
            arr, meta_scaling = raw, {"slope": 1.0, "intercept": 0.0, "stored_dtype": str(raw.dtype)}
        elif uniform and float(slope).is_integer() and float(inter).is_integer():
            wide = raw.astype(np.int32) * int(slope) + int(inter)
            lo, hi = (int(wide.min()), int(wide.max())) if wide.size else (0, 0)
            arr = wide.astype(np.int16) if -32768 <= lo and hi <= 32767 else wide
            meta_scaling = {"slope": slope, "intercept": inter, "stored_dtype": str(raw.dtype)}
        elif uniform:
            arr = raw.astype(np.float32) * np.float32(slope) + np.float32(inter)
            meta_scaling = {"slope": slope, "intercept": inter, "stored_dtype": str(raw.dtype)}
        else:
            T, K = raw.shape[:2]
            arr = np.empty(raw.shape, dtype=np.float32)
            for t in range(T):
                for k in range(K):
                    s, b = _scaling(self.grid[t][k], self.options)
                    arr[t, k] = raw[t, k].astype(np.float32) * np.float32(s) + np.float32(b)
            meta_scaling = None
        time_axis = self.n_times > 1
        if not time_axis:
            arr = arr[0]
        return Volume(array=arr, affine=self.geometry.affine.copy(), intensity=self._intensity(uniform),
                      meta=self.meta(meta_scaling), warnings=list(self.warnings),
                      source=str(self.first.path.parent), time_axis=time_axis, channel_axis=colour)

    def _intensity(self, uniform: bool) -> Intensity:
        ds = self.header
        units = ""
        modality = str(ds.get("Modality", ""))
        if modality == "CT":
            units = "HU"
        elif ds.get("RescaleType"):
            units = str(ds.RescaleType)
        window = None
        try:
            wc, ww = ds.get("WindowCenter"), ds.get("WindowWidth")
            if wc is not None and ww is not None:
                wc = float(wc[0] if hasattr(wc, "__len__") and not isinstance(wc, str) else wc)
                ww = float(ww[0] if hasattr(ww, "__len__") and not isinstance(ww, str) else ww)
                window = (wc, ww)
        except (TypeError, ValueError):
            window = None
        photometric = self.first.photometric
        if photometric in ("PALETTE COLOR", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"):
            photometric = "RGB"  # decoded to RGB
        return Intensity(units=units, photometric=photometric, window=window, rescale_applied=True)

    def meta(self, scaling: dict | None = None) -> dict:
        f, r = self.first, self.first.record
        ds = r.header
        flip_k = bool(f.mosaic_normal is not None and float(np.dot(f.mosaic_normal, f.normal)) < 0)
        return {
            "format": "DICOM",
            "modality": r.modality, "manufacturer": r.manufacturer,
            "series_description": r.series_description, "series_number": r.series_number,
            "series_uid": r.series_uid, "study_uid": r.study_uid,
            "sop_class_uid": r.sop_class_uid, "body_part": r.body_part, "study_date": r.study_date,
            "echo_time": f.echo_time, "echo_number": f.echo_number,
            "repetition_time": float(ds.RepetitionTime) if ds.get("RepetitionTime") not in (None, "") else None,
            "image_type": list(f.image_type), "slice_thickness": f.slice_thickness,
            "mr_acquisition_type": str(ds.get("MRAcquisitionType", "") or ""),
            "bits_stored": _opt_bits(ds.get("BitsStored")),
            "spacing_between_slices": f.spacing_between_slices,
            "slice_positions": self.geometry.positions.tolist(),
            "slice_distances": self.geometry.distances.tolist(),
            "uniform_spacing": self.geometry.uniform, "tilt_degrees": self.geometry.tilt_degrees,
            "gantry_tilt_tag": float(ds.GantryDetectorTilt) if ds.get("GantryDetectorTilt") not in (None, "") else None,
            "scaling": scaling, "philips_scale_slope": f.philips_scale_slope,
            "rescale_slope": f.slope, "rescale_intercept": f.intercept,
            "philips_scaling": self.options.philips_scaling if f.philips_scale_slope else None,
            "mosaic": f.tile is not None, "enhanced": int(r.number_of_frames) > 1,
            "nifti_flip_k": flip_k,
            "files": [str(p) for p in self.files],
            "header": ds,  # first frame's pydicom header (for sidecars); never shown as-is
        }


def _opt_bits(v) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _split_times(frames: list[Frame]) -> list[list[list[Frame]]]:
    """grid[t][k] candidates for one homogeneous group; more than one when repetition is uneven."""
    n = frames[0].normal
    d = np.array([float(np.dot(f.position, n)) for f in frames])
    groups = cluster_positions(d)
    counts = {len(g) for g in groups}
    if len(counts) == 1:
        T = counts.pop()
        cols = [sorted((frames[i] for i in g), key=Frame.time_key) for g in groups]
        return [[[col[t] for col in cols] for t in range(T)]]
    acq = {f.acquisition_number for f in frames}
    if len(acq) > 1:
        out = []
        for a in sorted(acq, key=lambda x: -1 if x is None else x):
            out.extend(_split_times([f for f in frames if f.acquisition_number == a]))
        return out
    # Uneven repetition with nothing to separate it: the t-th occurrence of each position.
    T = max(counts)
    cols = [sorted((frames[i] for i in g), key=Frame.time_key) for g in groups]
    return [[[col[t] for col in cols if len(col) > t]] for t in range(T)]


def dataclasses_replace_options(series: DicomSeries) -> DicomSeries:
    """A copy that skips the in-place int16 plan (used after an int16 overflow was detected)."""
    clone = DicomSeries(series.grid, series.geometry, list(series.warnings), series.options)
    clone._multi_echo, clone._split_by_type, clone._key = series._multi_echo, series._split_by_type, series._key
    clone._int16_plan = lambda: None  # type: ignore[method-assign]
    return clone


_UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
_LOSSLESS = {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
             "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.203"}


def _fidelity(rec: HeaderRecord) -> int:
    ts = rec.transfer_syntax
    return 0 if ts in _UNCOMPRESSED or not ts else 1 if ts in _LOSSLESS else 2


def _dedupe(records: list[HeaderRecord]) -> tuple[list[HeaderRecord], dict[str, list[str]]]:
    """Files sharing a SOP Instance UID are the same image stored twice (e.g. exported
    uncompressed and as JPEG): keep the most faithful copy (uncompressed, lossless, lossy) and
    say which were dropped, instead of stacking copies as slices or time points."""
    by_uid: dict[tuple, list[HeaderRecord]] = {}
    for r in records:
        if r.sop_instance_uid:  # same UID but other size or frame count is not the same image
            by_uid.setdefault((r.sop_instance_uid, r.rows, r.columns, r.number_of_frames), []).append(r)
    drop: set[int] = set()
    notes: dict[str, list[str]] = {}
    for uid, group in by_uid.items():
        if len(group) < 2:
            continue
        group = sorted(group, key=lambda r: (_fidelity(r), str(r.path)))
        keep = group[0]
        for r in group[1:]:
            drop.add(id(r))
        fidelity = ("uncompressed", "lossless", "lossy")[_fidelity(keep)]
        msg = (f"duplicate: {', '.join(r.path.name for r in group[1:])} hold the same image (SOP Instance UID) "
               f"as {keep.path.name}; using {keep.path.name} ({fidelity})")
        notes.setdefault(uid[0], []).append(msg)
        if keep.series_uid != uid[0]:
            notes.setdefault(keep.series_uid, []).append(msg)
    return [r for r in records if id(r) not in drop], notes


def _warn_odd_splits(series: list[DicomSeries]) -> None:
    """One SeriesInstanceUID that had to be split by size, orientation or pixel spacing is unusual
    (echoes and image types are expected splits): say so on every part."""
    by_uid: dict[str, list[DicomSeries]] = {}
    for s in series:
        by_uid.setdefault(s._key[0], []).append(s)
    for parts in by_uid.values():
        if len(parts) < 2:
            continue
        keys = [p._key for p in parts]
        reasons = []
        if len({(k[1], k[2]) for k in keys}) > 1:
            sizes = sorted({f"{k[1]}x{k[2]}" for k in keys})
            reasons.append(f"images of different size ({', '.join(sizes)})")
        if len({(k[5], k[6]) for k in keys}) > 1:
            reasons.append("images of different orientation")
        if len({k[7] for k in keys}) > 1:
            reasons.append("images of different pixel spacing")
        if not reasons:
            continue
        num = parts[0].first.record.series_number
        name = f"#{num}" if num is not None else parts[0].first.record.series_uid
        msg = f"split: series {name} holds {' and '.join(reasons)}; loaded as {len(parts)} separate volumes"
        for p in parts:
            p.warnings.append(msg)


def build_series(records: list[HeaderRecord] | ScanResult, options: ReadOptions | None = None,
                 problems: list[str] | None = None) -> list[DicomSeries]:
    """Split header records into loadable series (no pixels are read).

    Files whose geometry cannot be understood are left out and described in ``problems``.
    """
    options = options or ReadOptions()
    if isinstance(records, ScanResult):
        records = records.records
    problems = problems if problems is not None else []
    records, dup_notes = _dedupe(records)
    frames: list[Frame] = []
    for rec in records:
        if not rec.has_pixels:
            problems.append(f"{rec.path.name}: no image (SOP class {rec.sop_class_uid or 'unknown'})")
            continue
        try:
            frames.extend(frames_of(rec))
        except ReadError as exc:
            problems.append(str(exc))
        except Exception as exc:  # one odd file never blocks its folder: set it aside with the reason
            problems.append(f"{rec.path.name}: header cannot be understood ({pixels.one_line(exc)})")
    groups: dict[tuple, list[Frame]] = OrderedDict()
    for f in frames:
        groups.setdefault(_group_key(f), []).append(f)
    # which keys distinguish groups within the same series (for labels)
    parts: list[tuple[tuple, list[Frame]]] = []
    for key, members in groups.items():
        for sub in _split_by_image_type(members):
            parts.append((key + (_image_type(sub[0]),), sub))
    by_series: dict[str, list[tuple]] = {}
    for key, _ in parts:
        by_series.setdefault(key[0], []).append(key)
    out: list[DicomSeries] = []
    for key, members in parts:
        siblings = by_series[key[0]]
        multi_echo = len({(s[8], s[9]) for s in siblings}) > 1
        by_type = len({s[-1] for s in siblings}) > 1
        for grid in _split_times(members):
            K = len(grid[0])
            if any(len(row) != K for row in grid):
                # uneven fallback: each occurrence is its own stack
                rows = [[row] for row in grid]
            else:
                rows = [grid]
            for g in rows:
                f0 = g[0][0]
                positions = np.array([f.position for f in g[0]])
                try:
                    geom = stack_geometry(positions, f0.row_dir, f0.col_dir, f0.pixel_spacing,
                                          f0.spacing_between_slices or f0.slice_thickness)
                except ValueError as exc:
                    problems.append(f"{f0.path.parent}: {exc}")
                    continue
                warns = list(geom.warnings)
                if len(g) > 1 and len(grid) != len(g):
                    warns.append("uneven repetition of slice positions; volumes were split")
                s = DicomSeries(grid=g, geometry=geom, warnings=warns, options=options)
                s._multi_echo, s._split_by_type = multi_echo, by_type
                s._key = key
                out.append(s)
    _warn_odd_splits(out)
    for s in out:
        note = dup_notes.get(s.first.record.sop_instance_uid) or dup_notes.get(s.first.record.series_uid)
        if note:
            s.warnings.extend(note)
        notes = dict.fromkeys(n for row in s.grid for f in row for n in f.extra.get("notes", ()))
        s.warnings.extend(notes)
        if s.first.spacing_source == "none" and not s.first.has_geometry:
            s.warnings.append("no pixel spacing in the header: distances are in pixels, not mm")
    out.sort(key=lambda s: (s.first.record.series_number if s.first.record.series_number is not None else 1 << 30,
                            s.first.record.series_uid,
                            min((f.record.instance_number or 0, f.frame_index) for row in s.grid for f in row)))
    return out
