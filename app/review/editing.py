"""The label editing engine: pure numpy (no Qt), so every tool is testable and the slice viewer's
tools only translate mouse events into calls here.

- Sizes are in millimetres and honour anisotropic spacing: a 5 mm brush on 0.45 x 0.45 x 5 mm CT is
  an ellipse of ~11 x 11 voxels in-plane and one voxel through-plane.
- Locked labels are never overwritten or erased; visibility is display-only (``display_labels``).
- Undo/redo stores diffs, not copies: each stroke keeps its bounding box plus the old and new
  values inside it, zlib-compressed, so memory grows with what was drawn, not with the volume.
  The stack is capped (``max_undo_bytes``); the oldest steps are dropped first.
Index convention: arrays are (k, j, i); points are given as (k, j, i) floats, or as LPS mm through
the ``*_world`` helpers using the layer affine.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from app.data.types import LoupeError

from .interpolate import interpolate_label

Box = tuple[tuple[int, int], ...]  # ((k0, k1), (j0, j1), (i0, i1)) half-open


@dataclass(frozen=True)
class Diff:
    """One undo step: the region it touched and its old/new contents, compressed."""

    box: Box
    old: bytes
    new: bytes
    shape: tuple[int, ...]
    dtype: str
    name: str

    @property
    def nbytes(self) -> int:
        return len(self.old) + len(self.new) + 128

    def _region(self, blob: bytes) -> np.ndarray:
        return np.frombuffer(zlib.decompress(blob), dtype=self.dtype).reshape(self.shape)


def _slices(box: Box) -> tuple[slice, ...]:
    return tuple(slice(a, b) for a, b in box)


def _union(a: Box | None, b: Box) -> Box:
    if a is None:
        return b
    return tuple((min(x0, y0), max(x1, y1)) for (x0, x1), (y0, y1) in zip(a, b))


class LabelEditor:
    """Edits ``labels`` (a (k, j, i) integer array, changed in place) with undo/redo.

    ``spacing`` is (si, sj, sk) in mm (as ``Volume.spacing``); ``image`` is the intensity volume on
    the same grid, needed only for threshold-limited paint and fill. ``on_change(box)`` is called
    after every change with the touched region, so a view can redraw just that part."""

    def __init__(self, labels: np.ndarray, spacing: Sequence[float], *, image: np.ndarray | None = None,
                 affine: np.ndarray | None = None, max_undo_bytes: int = 64 * 2**20,
                 on_change: Callable[[Box], None] | None = None) -> None:
        if labels.ndim != 3 or not np.issubdtype(labels.dtype, np.integer):
            raise LoupeError(f"the label editor needs an integer (k, j, i) array, got {labels.dtype} {labels.shape}")
        if image is not None and image.shape != labels.shape:
            raise LoupeError(f"image {image.shape} and labels {labels.shape} are on different grids")
        self.labels = labels
        si, sj, sk = (float(s) for s in spacing)
        self.spacing_kji = np.array([sk, sj, si])
        self.image = image
        self.affine = None if affine is None else np.asarray(affine, float)
        self.max_undo_bytes = int(max_undo_bytes)
        self.on_change = on_change
        self.locked: set[int] = set()
        self.hidden: set[int] = set()
        self._undo: list[Diff] = []
        self._redo: list[Diff] = []
        self._stroke: list[tuple[Box, np.ndarray]] | None = None
        self._stroke_name = ""

    @classmethod
    def for_layer(cls, layer, image: np.ndarray | None = None, **kw) -> LabelEditor:
        spacing = np.linalg.norm(np.asarray(layer.affine)[:3, :3], axis=0)
        ed = cls(layer.labels, spacing, image=image, affine=layer.affine, **kw)
        if ed.on_change is None:
            ed.on_change = lambda _box: layer.notify_data_changed()
        return ed

    # ---- label state --------------------------------------------------------------------
    def lock(self, label: int, locked: bool = True) -> None:
        (self.locked.add if locked else self.locked.discard)(int(label))

    def set_visible(self, label: int, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(int(label))

    def is_visible(self, label: int) -> bool:
        return int(label) not in self.hidden

    def display_labels(self, region: tuple[slice, ...] | None = None) -> np.ndarray:
        """The labels as they should be drawn: hidden labels shown as 0 (data unchanged)."""
        view = self.labels if region is None else self.labels[region]
        if not self.hidden:
            return view
        return np.where(np.isin(view, list(self.hidden)), 0, view).astype(view.dtype)

    # ---- strokes and undo ---------------------------------------------------------------
    def begin_stroke(self, name: str = "stroke") -> None:
        """Group the following operations into one undo step (press ... release)."""
        if self._stroke is None:
            self._stroke, self._stroke_name = [], name

    def end_stroke(self) -> Diff | None:
        stroke, self._stroke = self._stroke, None
        if not stroke:
            return None
        box = None
        for b, _ in stroke:
            box = _union(box, b)
        region = self.labels[_slices(box)]
        new = region.copy()
        old = new.copy()
        for b, prev in reversed(stroke):  # roll the region back to before the stroke
            local = tuple(slice(x0 - u0, x1 - u0) for (x0, x1), (u0, _) in zip(b, box))
            old[local] = prev
        if np.array_equal(old, new):
            return None
        diff = Diff(box, zlib.compress(old.tobytes(), 6), zlib.compress(new.tobytes(), 6), new.shape,
                    new.dtype.str, self._stroke_name)
        self._undo.append(diff)
        self._redo.clear()
        self._trim()
        return diff

    def abort_stroke(self) -> None:
        """Drop the stroke in progress: restore what it changed, record no undo step."""
        stroke, self._stroke = self._stroke, None
        for b, prev in reversed(stroke or []):
            self.labels[_slices(b)] = prev
            self._changed(b)

    def _trim(self) -> None:
        while len(self._undo) > 1 and self.undo_bytes > self.max_undo_bytes:
            self._undo.pop(0)

    @property
    def undo_bytes(self) -> int:
        return sum(d.nbytes for d in self._undo) + sum(d.nbytes for d in self._redo)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if self._stroke is not None:
            self.end_stroke()
        if not self._undo:
            return False
        d = self._undo.pop()
        self.labels[_slices(d.box)] = d._region(d.old)
        self._redo.append(d)
        self._changed(d.box)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        d = self._redo.pop()
        self.labels[_slices(d.box)] = d._region(d.new)
        self._undo.append(d)
        self._changed(d.box)
        return True

    def _changed(self, box: Box) -> None:
        if self.on_change is not None:
            self.on_change(box)

    def _write(self, box: Box, mask: np.ndarray, value: int, *, only: int | None = None) -> int:
        """Set ``value`` where ``mask`` (shaped like the box) allows; honours locks. ``only``
        restricts the change to voxels currently holding that label (eraser of one label).
        Returns the number of voxels changed."""
        if any(b1 <= b0 for b0, b1 in box):
            return 0
        sl = _slices(box)
        region = self.labels[sl]
        allowed = mask & (region != value)
        if self.locked:
            allowed &= ~np.isin(region, list(self.locked))
        if only is not None:
            allowed &= region == only
        n = int(allowed.sum())
        if not n:
            return 0
        single = self._stroke is None
        if single:
            self.begin_stroke("edit")
        self._stroke.append((box, region.copy()))
        region[allowed] = value
        if single:
            self.end_stroke()
        self._changed(box)
        return n

    def _check_label(self, label: int) -> int:
        label = int(label)
        info = np.iinfo(self.labels.dtype)
        if not info.min <= label <= info.max:
            raise LoupeError(f"label {label} does not fit the label map's {self.labels.dtype}")
        if label in self.locked:
            raise LoupeError(f"label {label} is locked; unlock it to draw with it")
        return label

    # ---- brush / eraser -----------------------------------------------------------------
    def _brush_box_mask(self, center: Sequence[float], radius_mm: float, axis: int | None,
                        threshold: tuple[float, float] | None) -> tuple[Box, np.ndarray]:
        c = np.asarray(center, float)
        r_vox = radius_mm / self.spacing_kji
        if axis is not None:
            r_vox = r_vox.copy()
            r_vox[axis] = 0.0
        lo = np.maximum(np.floor(c - r_vox).astype(int), 0)
        hi = np.minimum(np.ceil(c + r_vox).astype(int) + 1, self.labels.shape)
        if axis is not None:
            k = int(round(c[axis]))
            lo[axis], hi[axis] = k, k + 1
        box: Box = tuple((int(a), int(b)) for a, b in zip(lo, hi))
        if any(b <= a for a, b in box):
            return box, np.zeros((0, 0, 0), bool)
        grids = np.ogrid[tuple(slice(a, b) for a, b in box)]
        d2 = np.zeros([b - a for a, b in box])
        for ax, g in enumerate(grids):
            if ax == axis:
                continue
            d2 = d2 + ((g - c[ax]) * self.spacing_kji[ax]) ** 2
        mask = d2 <= radius_mm ** 2 + 1e-9
        if threshold is not None:
            mask &= self._in_range(_slices(box), threshold)
        return box, mask

    def _in_range(self, sl: tuple[slice, ...], threshold: tuple[float, float]) -> np.ndarray:
        if self.image is None:
            raise LoupeError("threshold-limited painting needs the image; none was given to the editor")
        lo, hi = threshold
        img = self.image[sl]
        return (img >= lo) & (img <= hi)

    def paint(self, center: Sequence[float], radius_mm: float, label: int, *, axis: int | None = 0,
              threshold: tuple[float, float] | None = None) -> int:
        """Paint a disc (in the slice across ``axis``: 0 = axial k, 1 = coronal j, 2 = sagittal i)
        or, with ``axis=None``, a ball of ``radius_mm`` around the (k, j, i) ``center``."""
        label = self._check_label(label)
        box, mask = self._brush_box_mask(center, radius_mm, axis, threshold)
        return self._write(box, mask, label) if mask.size else 0

    def erase(self, center: Sequence[float], radius_mm: float, *, label: int | None = None,
              axis: int | None = 0) -> int:
        """Erase to background (only ``label`` when given); locked labels stay."""
        box, mask = self._brush_box_mask(center, radius_mm, axis, None)
        return self._write(box, mask, 0, only=label) if mask.size else 0

    def stroke_line(self, p0: Sequence[float], p1: Sequence[float], radius_mm: float, label: int, *,
                    erase: bool = False, axis: int | None = 0,
                    threshold: tuple[float, float] | None = None) -> int:
        """A mouse drag from p0 to p1: discs every half voxel along the way (no gaps when the
        mouse moves fast)."""
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        step_mm = max(min(self.spacing_kji) * 0.5, radius_mm * 0.25)
        length_mm = float(np.linalg.norm((p1 - p0) * self.spacing_kji))
        n = max(1, int(np.ceil(length_mm / step_mm)))
        single = self._stroke is None
        if single:
            self.begin_stroke("erase" if erase else "paint")
        total = 0
        for t in np.linspace(0.0, 1.0, n + 1):
            c = p0 + t * (p1 - p0)
            total += (self.erase(c, radius_mm, axis=axis) if erase
                      else self.paint(c, radius_mm, label, axis=axis, threshold=threshold))
        if single:
            self.end_stroke()
        return total

    # ---- polygon, fill ------------------------------------------------------------------
    def polygon_fill(self, vertices: Sequence[Sequence[float]], slice_index: int, label: int, *,
                     axis: int = 0, threshold: tuple[float, float] | None = None) -> int:
        """Fill a closed polygon drawn on one slice. Vertices are the two in-plane (k, j, i)
        coordinates in array order (for axis 0: (j, i) = (row, column))."""
        from skimage.draw import polygon as draw_polygon

        label = self._check_label(label)
        v = np.asarray(vertices, float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise LoupeError(f"a polygon needs at least 3 in-plane vertices, got {v.shape}")
        plane = [ax for ax in range(3) if ax != axis]
        shape2 = (self.labels.shape[plane[0]], self.labels.shape[plane[1]])
        rr, cc = draw_polygon(v[:, 0], v[:, 1], shape=shape2)
        if not len(rr):
            return 0
        lo = [int(rr.min()), int(cc.min())]
        hi = [int(rr.max()) + 1, int(cc.max()) + 1]
        m2 = np.zeros((hi[0] - lo[0], hi[1] - lo[1]), bool)
        m2[rr - lo[0], cc - lo[1]] = True
        box_l = [(0, 0)] * 3
        box_l[axis] = (int(slice_index), int(slice_index) + 1)
        box_l[plane[0]] = (lo[0], hi[0])
        box_l[plane[1]] = (lo[1], hi[1])
        box: Box = tuple(box_l)
        mask = np.expand_dims(m2, axis)
        if threshold is not None:
            mask = mask & self._in_range(_slices(box), threshold)
        return self._write(box, mask, label)

    def flood_fill(self, seed: Sequence[int], label: int, *, axis: int | None = 0,
                   threshold: tuple[float, float] | None = None) -> int:
        """Paint-bucket: fill the connected region of voxels sharing the seed's current label (in
        the seed's slice across ``axis``, or in 3D with ``axis=None``), optionally also limited to
        an intensity range."""
        label = self._check_label(label)
        seed = tuple(int(s) for s in seed)
        if not all(0 <= s < n for s, n in zip(seed, self.labels.shape)):
            raise LoupeError(f"fill seed {seed} lies outside the label map {self.labels.shape}")
        box_l = [(0, n) for n in self.labels.shape]
        if axis is not None:
            box_l[axis] = (seed[axis], seed[axis] + 1)
        box: Box = tuple(box_l)
        sl = _slices(box)
        same = self.labels[sl] == self.labels[seed]
        if threshold is not None:
            same &= self._in_range(sl, threshold)
        local = tuple(s - b0 for s, (b0, _) in zip(seed, box))
        if not same[local]:
            return 0
        comps, _ = ndimage.label(same)
        mask = comps == comps[local]
        idx = np.nonzero(mask)
        tight: Box = tuple((int(b0 + ix.min()), int(b0 + ix.max()) + 1) for (b0, _), ix in zip(box, idx))
        crop = tuple(slice(t0 - b0, t1 - b0) for (t0, t1), (b0, _) in zip(tight, box))
        return self._write(tight, mask[crop], label)

    # ---- interpolation between slices -------------------------------------------------------
    def interpolate(self, label: int, *, axis: int = 0) -> int:
        """Fill the slices between drawn slices of ``label`` by morphological contour
        interpolation (app/review/interpolate.py). Only background voxels are filled; other
        labels and locked labels are untouched. One undo step."""
        label = self._check_label(label)
        others = tuple(a for a in range(3) if a != axis)
        present = np.flatnonzero(np.any(self.labels == label, axis=others))
        if len(present) < 2:
            raise LoupeError(f"label {label}: draw it on at least two slices to interpolate between them")
        box_l = [(0, n) for n in self.labels.shape]
        box_l[axis] = (int(present[0]), int(present[-1]) + 1)
        sub = self.labels[_slices(tuple(box_l))] == label
        pad = 2  # room for shapes that move between the drawn slices
        for ax in others:
            nz = np.flatnonzero(np.any(sub, axis=tuple(a for a in range(3) if a != ax)))
            box_l[ax] = (max(int(nz[0]) - pad, 0), min(int(nz[-1]) + 1 + pad, self.labels.shape[ax]))
        box: Box = tuple(box_l)
        region = self.labels[_slices(box)]
        filled = interpolate_label(region == label, axis, self.spacing_kji)
        return self._write(box, filled & (region == 0), label)

    # ---- world coordinates ----------------------------------------------------------------
    def world_to_kji(self, xyz: Sequence[float]) -> np.ndarray:
        if self.affine is None:
            raise LoupeError("this editor has no affine; give points as (k, j, i)")
        inv = np.linalg.inv(self.affine)
        ijk = np.asarray(xyz, float) @ inv[:3, :3].T + inv[:3, 3]
        return ijk[..., ::-1]

    def stroke_world(self, xyz0, xyz1, radius_mm: float, label: int, **kw) -> int:
        return self.stroke_line(self.world_to_kji(xyz0), self.world_to_kji(xyz1), radius_mm, label, **kw)
