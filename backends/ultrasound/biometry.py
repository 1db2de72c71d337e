"""Angle of progression (AoP) and head-symphysis distance (HSD) from PS/FH label masks.

Definitions:
- AoP, as the IUGC 2024 challenge evaluates it (Bai et al., "Beyond Benchmarks of IUGC",
  arXiv:2602.12922; evaluation code eval/cal_aop.py + eval/ellipse.py of the challenge repository,
  read for the definition, not copied): an ellipse is fitted (cv2.fitEllipse) to the 1-pixel polygon
  approximation of the longest outer contour of the pubic symphysis (PS) and of the fetal head (FH);
  the PS long axis is the PS ellipse's major axis through its two ends; the AoP is the angle at
  its inferior end between that axis and the line from the inferior end tangent to the head
  ellipse, on the leading (most descended) edge of the skull, i.e. of the two tangents the one at
  the larger angle from the axis. This implementation agrees with the challenge formula to 0.01
  deg on 314 PSFHS reference masks (the challenge code uses 0.01745 for pi/180). Clinical source:
  Barbera et al., Ultrasound Obstet Gynecol 2009;33:313-319; PSFHS: Bai et al., Sci Data 11:436, 2024.
- HSD: the distance from the PS inferior end to the fetal skull along the infrapubic line, the
  line through that end perpendicular to the PS long axis (Youssef et al., Ultrasound Obstet
  Gynecol 2013;41:419-424, "fetal head-symphysis distance"). The IUGC 2024 evaluation scores the
  AoP only; HSD follows Youssef and shares the AoP's PS axis.

Reading a *predicted* mask, the product fits the PS ellipse from the mask's second moments
(definition 'moments'): chosen on the dev cases, where it agreed better with the reference AoP than
refitting the challenge's contour ellipse (the network's rounded PS outline tilts a contour fit).

Image convention of PSFHS/IUGC frames: the probe (perineum) is at the top and the caudal direction
points to the right, so the PS end with the larger column is its inferior end.
Pixel units throughout; mm comes from the calibration (x and y scale may differ).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PS, FH = 1, 2


@dataclass
class AopLines:
    """The editable geometry behind one AoP/HSD reading, (x, y) = (column, row) pixels."""

    ps_superior: tuple[float, float]
    ps_inferior: tuple[float, float]
    fh_tangent: tuple[float, float]
    hsd_end: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {k: (None if v is None else [round(float(c), 2) for c in v]) for k, v in asdict(self).items()}

    @staticmethod
    def from_dict(d: dict) -> AopLines:
        def get(k: str) -> tuple[float, float] | None:
            return None if d.get(k) is None else (float(d[k][0]), float(d[k][1]))

        return AopLines(get("ps_superior"), get("ps_inferior"), get("fh_tangent"), get("hsd_end"))


@dataclass
class Biometry:
    aop_deg: float | None
    hsd_px: float | None
    hsd_mm: float | None
    lines: AopLines | None
    problems: list[str]


def largest_component(mask: np.ndarray) -> np.ndarray:
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    return lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def contour_xy(mask: np.ndarray) -> np.ndarray:
    """Outer contour of a binary mask, (N, 2) float (x, y) pixel centres."""
    import cv2

    cs, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not cs:
        return np.zeros((0, 2))
    return np.concatenate([c.reshape(-1, 2) for c in cs]).astype(np.float64)


def ps_ends(ps_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(superior, inferior) end of the symphysis: its long (first principal) axis through the
    centroid, ended where the mask ends along it. Chosen on the dev cases over the farthest pair of
    hull points, which a ragged predicted edge can tilt (dev AoP MAE 6.4 vs 8.4 degrees)."""
    ys, xs = np.nonzero(ps_mask)
    if len(xs) < 3:
        return None
    pts = np.c_[xs, ys].astype(np.float64)
    c = pts.mean(0)
    _, vecs = np.linalg.eigh(np.cov((pts - c).T))
    d = vecs[:, 1]
    t = (pts - c) @ d
    a, b = c + d * t.min(), c + d * t.max()
    return (a, b) if a[0] <= b[0] else (b, a)


def fit_ellipse(points: np.ndarray):
    """Least-squares ellipse through contour points: (centre, major unit vector, semi-major,
    semi-minor), or None when the points cannot carry one (fewer than 6, or degenerate)."""
    import cv2

    pts = np.asarray(points, np.float32).reshape(-1, 2)
    if len(pts) < 6:
        return None
    (cx, cy), (w, h), ang = cv2.fitEllipse(pts)
    if not (np.isfinite([cx, cy, w, h, ang]).all() and w > 0 and h > 0):
        return None
    t = np.radians(ang)
    ew = np.array([np.cos(t), np.sin(t)])       # cv2: the 'width' axis lies along the angle
    eh = np.array([-np.sin(t), np.cos(t)])
    if w >= h:
        return np.array([cx, cy]), ew, w / 2, h / 2
    return np.array([cx, cy]), eh, h / 2, w / 2


def moment_ellipse(mask: np.ndarray):
    """The ellipse with the mask's area centroid and second moments (a filled ellipse gives itself
    back): the whole region votes for the axis, not only its outline. Same tuple as fit_ellipse."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 6:
        return None
    pts = np.c_[xs, ys].astype(np.float64)
    c = pts.mean(0)
    vals, vecs = np.linalg.eigh(np.cov((pts - c).T, bias=True))
    if vals[0] <= 0:
        return None
    return c, vecs[:, 1], 2.0 * np.sqrt(vals[1]), 2.0 * np.sqrt(vals[0])


def challenge_contour(mask: np.ndarray) -> np.ndarray:
    """The points the IUGC 2024 evaluation fits its ellipse to: the longest external contour of the
    mask, simplified by a 1-pixel polygon approximation (cv2.approxPolyDP, epsilon 1)."""
    import cv2

    cs, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not cs:
        return np.zeros((0, 2))
    c = max(cs, key=len)
    return cv2.approxPolyDP(c, 1, True).reshape(-1, 2).astype(np.float64)


def ellipse_ps_ends(ell) -> tuple[np.ndarray, np.ndarray]:
    """(superior, inferior): the two ends of the PS ellipse's major axis, inferior = larger column."""
    c, e, a, _ = ell
    p, q = c - a * e, c + a * e
    return (p, q) if p[0] <= q[0] else (q, p)


def ellipse_tangent_points(ell, point) -> list[np.ndarray]:
    """Both points where a line from ``point`` (outside the ellipse) touches it; [] when inside.
    Done on the unit circle the ellipse maps to (tangency survives an affine map)."""
    c, e1, a, b = ell
    e2 = np.array([-e1[1], e1[0]])
    d = np.asarray(point, float) - c
    q = np.array([d @ e1 / a, d @ e2 / b])
    r = float(np.linalg.norm(q))
    if r <= 1.0 + 1e-9:
        return []
    phi, half = np.arctan2(q[1], q[0]), np.arccos(1.0 / r)
    return [c + a * np.cos(t) * e1 + b * np.sin(t) * e2 for t in (phi - half, phi + half)]


def lines_from_ellipses(ps_ell, fh_ell) -> AopLines | None:
    """AoP lines of the IUGC 2024 definition: the PS ellipse's major axis, and the line from its
    inferior end tangent to the head ellipse, on the leading edge (of the two tangents, the one at
    the larger angle from the axis). None when the PS end lies inside the head ellipse."""
    sup, inf = ellipse_ps_ends(ps_ell)
    u = sup - inf
    best, best_cos = None, 2.0
    for t in ellipse_tangent_points(fh_ell, inf):
        v = t - inf
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))
        if cos < best_cos:
            best, best_cos = t, cos
    return None if best is None else AopLines(tuple(sup), tuple(inf), tuple(best))


def aop_from_lines(lines: AopLines) -> float:
    """Angle at the PS inferior end between the PS axis (towards its superior end) and the tangent."""
    p = np.asarray(lines.ps_inferior, float)
    u = np.asarray(lines.ps_superior, float) - p
    v = np.asarray(lines.fh_tangent, float) - p
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise ValueError("AoP lines have zero length")
    return float(np.degrees(np.arccos(np.clip(u @ v / (nu * nv), -1.0, 1.0))))


def infrapubic_direction(superior, inferior, towards) -> np.ndarray:
    """Unit vector perpendicular to the PS axis at its inferior end, on the side of ``towards``."""
    p = np.asarray(inferior, float)
    u = p - np.asarray(superior, float)
    n = np.array([-u[1], u[0]]) / (np.linalg.norm(u) + 1e-12)
    return n if n @ (np.asarray(towards, float) - p) >= 0 else -n


def hsd_along(fh_mask: np.ndarray, superior, inferior, direction: np.ndarray, step: float = 0.25):
    """First fetal-head pixel met walking from the PS inferior end along the infrapubic line."""
    h, w = fh_mask.shape
    p = np.asarray(inferior, float)
    for t in np.arange(0.0, float(np.hypot(h, w)), step):
        x, y = p + t * direction
        c, r = round(float(x)), round(float(y))
        if not (0 <= c < w and 0 <= r < h):
            return None
        if fh_mask[r, c]:
            return float(t), (float(x), float(y))
    return None


def scaled_length(a, b, mm_per_px: tuple[float, float] | None) -> float | None:
    if mm_per_px is None or a is None or b is None:
        return None
    d = (np.asarray(b, float) - np.asarray(a, float)) * np.asarray(mm_per_px, float)
    return float(np.linalg.norm(d))


def biometry_from_lines(lines: AopLines, fh_mask: np.ndarray | None,
                        mm_per_px: tuple[float, float] | None = None) -> Biometry:
    """AoP and HSD from (possibly hand-edited) lines; HSD is re-traced on the head mask when given,
    else taken from ``lines.hsd_end``."""
    problems: list[str] = []
    aop = aop_from_lines(lines)
    hsd_end = lines.hsd_end
    if fh_mask is not None and fh_mask.any():
        d = infrapubic_direction(lines.ps_superior, lines.ps_inferior, lines.fh_tangent)
        hit = hsd_along(fh_mask, lines.ps_superior, lines.ps_inferior, d)
        hsd_end = None if hit is None else hit[1]
    if hsd_end is None:
        problems.append("the infrapubic line (perpendicular to the PS axis at its inferior end) "
                        "does not meet the fetal head: no HSD")
    out = AopLines(lines.ps_superior, lines.ps_inferior, lines.fh_tangent, hsd_end)
    hsd_px = None if hsd_end is None else float(np.linalg.norm(np.subtract(hsd_end, lines.ps_inferior)))
    return Biometry(aop, hsd_px, scaled_length(lines.ps_inferior, hsd_end, mm_per_px), out, problems)


def _old_lines(ps: np.ndarray, fh: np.ndarray) -> AopLines | None:
    """The first definition used here (kept for comparison tables): PCA axis ended at the mask
    extent, tangent point on the raw head contour at the largest angle from the axis."""
    ends = ps_ends(ps)
    if ends is None:
        return None
    sup, inf = ends
    fh_pts = contour_xy(fh)
    u = sup - inf
    v = fh_pts - inf
    nv = np.linalg.norm(v, axis=1)
    ok = nv > 1e-6
    cosang = (v[ok] @ u) / (nv[ok] * np.linalg.norm(u))
    return AopLines(tuple(sup), tuple(inf), tuple(fh_pts[ok][int(np.argmin(cosang))]))


DEFINITIONS = ("iugc", "moments", "old")
PREDICTED = "moments"   # how the product reads the network's masks (chosen on the dev cases)


def biometry_from_masks(labels: np.ndarray, mm_per_px: tuple[float, float] | None = None,
                        definition: str = "iugc") -> Biometry:
    """AoP and HSD of a label image (0 bg, 1 PS, 2 FH); None values with a reason when undefined.
    ``definition``: 'iugc' (the challenge's ellipse fits: the reference on manual masks),
    'moments' (the PS ellipse from the mask's second moments, the head as in 'iugc': how the
    product reads a *predicted* mask, chosen on the dev cases) or 'old' (comparison tables only)."""
    if definition not in DEFINITIONS:
        raise ValueError(f"unknown AoP definition {definition!r}; one of {', '.join(DEFINITIONS)}")
    ps = largest_component(labels == PS)
    fh = largest_component(labels == FH)
    problems = []
    if ps.sum() < 10:
        problems.append("no pubic symphysis found")
    if fh.sum() < 50:
        problems.append("no fetal head found")
    if problems:
        return Biometry(None, None, None, None, problems)
    if definition == "old":
        lines = _old_lines(ps, fh)
    elif definition == "moments":
        return biometry_from_ellipses(moment_ellipse(ps), fit_ellipse(challenge_contour(fh)), fh, mm_per_px)
    else:
        return biometry_from_ellipses(fit_ellipse(challenge_contour(ps)), fit_ellipse(challenge_contour(fh)),
                                      fh, mm_per_px)
    if lines is None:
        return Biometry(None, None, None, None, ["pubic symphysis too small for an axis"])
    return biometry_from_lines(lines, fh, mm_per_px)


def biometry_from_ellipses(ps_ell, fh_ell, fh_mask: np.ndarray,
                           mm_per_px: tuple[float, float] | None = None) -> Biometry:
    """AoP (IUGC 2024 construction) from the PS and head ellipses, HSD on the head mask."""
    if ps_ell is None:
        return Biometry(None, None, None, None, ["pubic symphysis too small for an axis"])
    if fh_ell is None:
        return Biometry(None, None, None, None, ["fetal head outline too small for an ellipse"])
    lines = lines_from_ellipses(ps_ell, fh_ell)
    if lines is None:
        return Biometry(None, None, None, None, ["the pubic symphysis end lies inside the fetal head "
                                                 "ellipse: no tangent, no angle"])
    return biometry_from_lines(lines, fh_mask, mm_per_px)
