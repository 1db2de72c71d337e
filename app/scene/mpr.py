"""Multi-planar reformatting: axial, coronal, sagittal and oblique planes through any Volume,
whatever its acquisition orientation, in radiological display convention.

A ``Plane`` is a pixel grid in world space (LPS mm): pixel (x, y) sits at
``origin + x * ex + y * ey``. Display conventions (DICOM / Slicer / OHIF):

* axial:    screen right = patient Left (+x), screen down = Posterior (+y)  -> patient left on screen right
* coronal:  screen right = patient Left (+x), screen down = Inferior (-z)
* sagittal: screen right = Posterior (+y),    screen down = Inferior (-z)   -> anterior on screen left

When the volume's axes line up with the plane (the common case) the slice is a numpy *view* of the
array (transpose / flip only, no interpolation, ~0 ms); anything else (oblique acquisitions, rotated
planes, sheared grids) is resampled with ``scipy.ndimage.map_coordinates``. Pure numpy/scipy; no Qt.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.types import AXIS_LETTERS_LPS

VIEWS = ("axial", "coronal", "sagittal")
VIEW_AXES = {
    "axial": (np.array([1.0, 0, 0]), np.array([0, 1.0, 0])),
    "coronal": (np.array([1.0, 0, 0]), np.array([0, 0, -1.0])),
    "sagittal": (np.array([0, 1.0, 0]), np.array([0, 0, -1.0])),
}
MAX_GRID = 1024  # resampled planes never exceed this many pixels per side
_TOL = 1e-4


@dataclass
class Plane:
    origin: np.ndarray       # world (LPS mm) of the centre of pixel (0, 0)
    ex: np.ndarray           # world step per column (screen right)
    ey: np.ndarray           # world step per row (screen down)
    shape: tuple[int, int]   # (rows, columns)

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(column width, row height) in mm."""
        return float(np.linalg.norm(self.ex)), float(np.linalg.norm(self.ey))

    def __post_init__(self) -> None:
        # derived once: views ask for these many times per paint
        self.right = self.ex / np.linalg.norm(self.ex)
        self.down = self.ey / np.linalg.norm(self.ey)
        n = np.cross(self.right, self.down)
        self.normal = n / np.linalg.norm(n)

    def pixel_to_world(self, xy) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        return self.origin + xy[..., 0:1] * self.ex + xy[..., 1:2] * self.ey

    def world_to_pixel(self, xyz) -> np.ndarray:
        """(x, y, distance-from-plane mm) for world points (..., 3)."""
        d = np.asarray(xyz, dtype=np.float64) - self.origin
        x = d @ self.ex / np.dot(self.ex, self.ex)
        y = d @ self.ey / np.dot(self.ey, self.ey)
        return np.stack([x, y, d @ self.normal], axis=-1)

    def key(self) -> tuple:
        """Hashable identity, for per-slice caches."""
        return (tuple(np.round(self.origin, 4)), tuple(np.round(self.ex, 6)), tuple(np.round(self.ey, 6)),
                self.shape)


# ------------------------------------------------------------------ orientation helpers

def direction_letters(vec, threshold: float = 0.25) -> str:
    """Letters of the LPS directions a unit vector points towards, strongest first (e.g. 'L',
    'LA' for an oblique); used for the letters on each view edge."""
    v = np.asarray(vec, dtype=np.float64)
    v = v / (np.linalg.norm(v) or 1.0)
    order = np.argsort(-np.abs(v))
    out = []
    for ax in order:
        if abs(v[ax]) >= threshold:
            out.append(AXIS_LETTERS_LPS[ax][1] if v[ax] > 0 else AXIS_LETTERS_LPS[ax][0])
    return "".join(out[:2]) or "?"


def edge_letters(plane: Plane) -> dict[str, str]:
    """Orientation letter for each screen edge of a plane: left, right, top, bottom."""
    return {"right": direction_letters(plane.right), "left": direction_letters(-plane.right),
            "bottom": direction_letters(plane.down), "top": direction_letters(-plane.down)}


def rotation_about(axis, angle_rad: float) -> np.ndarray:
    """3x3 rotation (Rodrigues) about a world axis, for oblique MPR."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1 - np.cos(angle_rad)) * (k @ k)


def view_axes(view: str, rotation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    if view not in VIEW_AXES:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
    r, d = VIEW_AXES[view]
    if rotation is not None:
        r, d = rotation @ r, rotation @ d
    return r, d


def _corners(affine: np.ndarray, shape_kji) -> np.ndarray:
    k, j, i = shape_kji
    c = np.array([[x, y, z] for x in (-0.5, i - 0.5) for y in (-0.5, j - 0.5) for z in (-0.5, k - 0.5)])
    return c @ affine[:3, :3].T + affine[:3, 3]


def _aligned_axis(direction: np.ndarray, vec: np.ndarray) -> tuple[int, int] | None:
    """Voxel axis (0=i, 1=j, 2=k) parallel to ``vec`` and its sign, or None."""
    dots = direction.T @ vec
    a = int(np.argmax(np.abs(dots)))
    if abs(abs(dots[a]) - 1.0) < _TOL:
        return a, (1 if dots[a] > 0 else -1)
    return None


def slice_step_mm(affine: np.ndarray, normal) -> float:
    """Distance along ``normal`` over which some voxel index changes by one (the natural scroll step)."""
    inv = np.linalg.inv(affine[:3, :3])
    g = np.abs(inv @ np.asarray(normal, dtype=np.float64))
    return float(1.0 / max(g.max(), 1e-9))


def plane_for(affine: np.ndarray, shape_kji, view: str, center, rotation: np.ndarray | None = None) -> Plane:
    """The plane of ``view`` through world point ``center`` covering the whole volume.

    Axis-aligned volumes get the native voxel grid (so reslicing is a numpy view) on the voxel
    slice nearest to ``center``; otherwise a square grid of the finest spacing is used."""
    affine = np.asarray(affine, dtype=np.float64)
    right, down = view_axes(view, rotation)
    center = np.asarray(center, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    direction = affine[:3, :3] / spacing
    n_ijk = np.array(shape_kji[::-1], dtype=int)
    orthogonal = np.allclose(direction.T @ direction, np.eye(3), atol=_TOL)
    ra = _aligned_axis(direction, right) if orthogonal else None
    da = _aligned_axis(direction, down) if orthogonal else None
    if ra and da and ra[0] != da[0]:
        (a, sa), (b, sb) = ra, da
        c = 3 - a - b
        ijk0 = np.zeros(3)
        ijk0[a] = 0 if sa > 0 else n_ijk[a] - 1
        ijk0[b] = 0 if sb > 0 else n_ijk[b] - 1
        ck = np.linalg.solve(affine[:3, :3], center - affine[:3, 3])[c]
        ijk0[c] = float(np.clip(np.rint(ck), 0, n_ijk[c] - 1))
        origin = ijk0 @ affine[:3, :3].T + affine[:3, 3]
        return Plane(origin, right * spacing[a], down * spacing[b], (int(n_ijk[b]), int(n_ijk[a])))
    corners = _corners(affine, shape_kji)
    u, v = corners @ right, corners @ down
    ext = max(u.max() - u.min(), v.max() - v.min())
    s = max(float(spacing.min()), ext / MAX_GRID)
    w = int(np.ceil((u.max() - u.min()) / s))
    h = int(np.ceil((v.max() - v.min()) / s))
    origin = (center + (u.min() + s / 2 - center @ right) * right + (v.min() + s / 2 - center @ down) * down)
    return Plane(origin, right * s, down * s, (max(h, 1), max(w, 1)))


def _view_slice(array: np.ndarray, o: np.ndarray, a: np.ndarray, b: np.ndarray, shape) -> np.ndarray | None:
    """Numpy view for a plane whose pixel steps are +-1 voxel along two voxel axes."""
    if np.any(np.abs(o - np.rint(o)) > 1e-3):
        return None
    pa, pb = np.argmax(np.abs(a)), np.argmax(np.abs(b))
    if pa == pb:
        return None
    ea, eb = np.zeros(3), np.zeros(3)
    ea[pa], eb[pb] = np.sign(a[pa]), np.sign(b[pb])
    if np.abs(a - ea).max() > _TOL or np.abs(b - eb).max() > _TOL:
        return None
    h, w = shape
    n_ijk = array.shape[:3][::-1]
    oi = np.rint(o).astype(int)
    pc = 3 - pa - pb
    if not 0 <= oi[pc] < n_ijk[pc]:
        return None
    idx: list = [None, None, None]
    for p, step, n in ((pa, int(ea[pa]), w), (pb, int(eb[pb]), h)):
        start, stop = oi[p], oi[p] + step * (n - 1)
        if min(start, stop) < 0 or max(start, stop) >= n_ijk[p]:
            return None
        end = stop + step
        idx[p] = slice(start, end if end >= 0 else None, step)
    idx[pc] = int(oi[pc])
    sub = array[idx[2], idx[1], idx[0]]  # array is (k, j, i)
    # remaining axes of sub, in array order, are the voxel axes among (pa, pb) sorted descending
    remaining = sorted((pa, pb), reverse=True)
    if remaining[0] == pa:  # first remaining dim is the column axis: transpose to (row, col)
        sub = np.swapaxes(sub, 0, 1)
    return sub


def reslice(array: np.ndarray, affine: np.ndarray, plane: Plane, order: int = 1, cval: float = 0.0) -> np.ndarray:
    """Sample a (k, j, i[, c]) array on ``plane``: a numpy view when aligned, else interpolation
    (``order`` 1 for images, 0 for label maps). Pixels outside the volume get ``cval``."""
    inv = np.linalg.inv(np.asarray(affine, dtype=np.float64))
    o = inv[:3, :3] @ plane.origin + inv[:3, 3]
    a = inv[:3, :3] @ plane.ex
    b = inv[:3, :3] @ plane.ey
    view = _view_slice(array, o, a, b, plane.shape)
    if view is not None:
        return view
    from scipy.ndimage import map_coordinates

    h, w = plane.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ijk = (o[:, None, None] + a[:, None, None] * xs + b[:, None, None] * ys).astype(np.float32)
    kji = ijk[::-1]
    if array.ndim == 4:  # colour
        return np.stack([map_coordinates(array[..., ch], kji, order=order, mode="constant", cval=cval,
                                         prefilter=False) for ch in range(array.shape[3])], axis=-1)
    out_dtype = array.dtype if order == 0 or array.dtype.kind == "f" else np.float32
    return map_coordinates(array, kji, order=order, mode="constant", cval=cval, prefilter=False,
                           output=out_dtype)


def slice_position(affine: np.ndarray, shape_kji, plane: Plane) -> tuple[int, int]:
    """(index, count) of ``plane`` among the parallel slices through the volume, 0-based."""
    return slice_position_at(affine, shape_kji, plane.normal, plane.origin)


def slice_position_at(affine: np.ndarray, shape_kji, normal, point) -> tuple[int, int]:
    """(index, count), 0-based, of the slice with unit ``normal`` through world ``point``: what a
    view's 'Slice n/N' caption counts, for a measurement that kept only its plane's normal."""
    normal = np.asarray(normal, np.float64)
    step = slice_step_mm(affine, normal)
    d = _corners(affine, shape_kji) @ normal
    lo = d.min() + step / 2
    count = max(1, int(round((d.max() - d.min()) / step)))
    idx = int(round((np.asarray(point, np.float64) @ normal - lo) / step))
    return int(np.clip(idx, 0, count - 1)), count


_PLANE_NAMES = ("sagittal", "coronal", "axial")   # the LPS axis a plane's normal runs along: x, y, z


def named_slice(affine: np.ndarray, shape_kji, point, normal) -> tuple[str, int, int]:
    """(plane name, 1-based slice number, slice count) of the slice with world ``normal`` through
    ``point``, as a view's 'Slice n/N' caption shows it: what a report or a status line names, so a
    reader who scrolls there lands on it ("oblique" when the normal is not along an LPS axis)."""
    n = np.asarray(normal if normal is not None else (0.0, 0.0, 1.0), np.float64)
    n = n / (np.linalg.norm(n) or 1.0)
    name = _PLANE_NAMES[int(np.argmax(np.abs(n)))] if float(np.abs(n).max()) > 0.99 else "oblique"
    idx, count = slice_position_at(np.asarray(affine, np.float64), tuple(shape_kji), n, point)
    return name, idx + 1, count


def value_at(array: np.ndarray, affine: np.ndarray, xyz) -> tuple[tuple[int, int, int] | None, object]:
    """Nearest voxel (i, j, k) and its value at a world point, or (None, None) outside."""
    ijk = np.linalg.solve(affine[:3, :3], np.asarray(xyz, dtype=np.float64) - affine[:3, 3])
    idx = np.rint(ijk).astype(int)
    k, j, i = array.shape[:3]
    if not (0 <= idx[0] < i and 0 <= idx[1] < j and 0 <= idx[2] < k):
        return None, None
    return (int(idx[0]), int(idx[1]), int(idx[2])), array[idx[2], idx[1], idx[0]]
