"""Development study (PSFHS *dev* cases only): which way of reading the AoP off the network output
agrees best with the AoP of the reference masks. The test cases are refused here on purpose: the
choice made from this table is then reported once on test by validate_us_biometry.py.

The reference AoP is always the IUGC 2024 definition on the reference masks (ellipses fitted to the
PS and the head; backends/ultrasound/biometry.py). Estimators compared on the predicted output:
- old:       the previous helper's reading (PCA axis ended at the mask extent; tangent on the raw head contour)
- iugc_hard: the IUGC definition on the arg-max mask (largest piece per class)
- hard_full: ellipses fitted to the full pixel contour instead of the 1-px polygon
- soft:      ellipses fitted to the sub-pixel 0.5 iso-contour of each class probability (marching squares),
             the longest contour per class
- moments:   the PS ellipse from the arg-max PS mask's second moments, the head ellipse as iugc_hard
- minrect / farthest: PS ends from the minimum-area rectangle's long axis / the farthest contour pair,
             tangent to the head ellipse
- *_tta_K:   the same on probabilities averaged over input shifts, rotations or scalings (mapped back exactly)
Usage: python benchmarks/study_us_aop_dev.py [--weights PT] [--tta shift rot scale]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from common import data_root

TTA = {  # (degrees, scale, dx, dy) of the input, each mapped back exactly on the probabilities
    "none": ((0, 1.0, 0, 0),),
    "shift": ((0, 1.0, 0, 0), (0, 1.0, 1, 0), (0, 1.0, 0, 1), (0, 1.0, 1, 1)),  # half a 128-px network pixel
    "rot": ((0, 1.0, 0, 0), (-8, 1.0, 0, 0), (8, 1.0, 0, 0)),
    "scale": ((0, 1.0, 0, 0), (0, 0.9, 0, 0), (0, 1.1, 0, 0)),
}
# Horizontal flips are left out: the network never saw mirrored anatomy (the inferior PS end is
# always to the right), so a flipped frame is outside what it learned even if the flip is undone.


def affine_probs(images, weights, transforms):
    import cv2

    from backends.ultrasound.segment import segment_probs

    acc = None
    for ang, sc, dx, dy in transforms:
        h, w = images[0].shape[:2]
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), ang, sc)
        m[:, 2] += (dx, dy)
        inv = cv2.invertAffineTransform(m)
        moved = [cv2.warpAffine(im, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                 for im in images]
        probs = [np.stack([cv2.warpAffine(c, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                          borderValue=1.0 if k == 0 else 0.0) for k, c in enumerate(p)])
                 for p in segment_probs(moved, weights=weights)]
        acc = probs if acc is None else [a + p for a, p in zip(acc, probs)]
    return [a / len(transforms) for a in acc]


def soft_contour(prob_c: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Longest 0.5 iso-contour of one class probability inside ``keep`` (the largest piece, dilated)."""
    from skimage.measure import find_contours

    p = np.where(keep, prob_c, 0.0)
    cs = find_contours(np.pad(p, 1), 0.5)
    if not cs:
        return np.zeros((0, 2))
    c = max(cs, key=len)
    return c[:, ::-1] - 1.0          # (row, col) -> (x, y), undo the pad


def ps_ends_minrect(mask):
    import cv2

    from backends.ultrasound.biometry import contour_xy
    (cx, cy), (w, h), ang = cv2.minAreaRect(contour_xy(mask).astype(np.float32))
    t = np.radians(ang)
    e = np.array([np.cos(t), np.sin(t)]) if w >= h else np.array([-np.sin(t), np.cos(t)])
    a = max(w, h) / 2
    p, q = np.array([cx, cy]) - a * e, np.array([cx, cy]) + a * e
    return (p, q) if p[0] <= q[0] else (q, p)


def ps_ends_farthest(mask):
    import cv2

    from backends.ultrasound.biometry import contour_xy
    hull = cv2.convexHull(contour_xy(mask).astype(np.float32)).reshape(-1, 2).astype(float)
    d = np.linalg.norm(hull[:, None] - hull[None], axis=2)
    i, j = np.unravel_index(np.argmax(d), d.shape)
    p, q = hull[i], hull[j]
    return (p, q) if p[0] <= q[0] else (q, p)


def aop_with_ends(ends, fh_ell):
    from backends.ultrasound.biometry import AopLines, aop_from_lines, ellipse_tangent_points
    sup, inf = ends
    u = sup - inf
    ts = ellipse_tangent_points(fh_ell, inf)
    if not ts:
        return None
    t = min(ts, key=lambda t: u @ (t - inf) / (np.linalg.norm(u) * np.linalg.norm(t - inf)))
    return aop_from_lines(AopLines(tuple(sup), tuple(inf), tuple(t)))


def estimates(prob, labels) -> dict:
    import cv2

    from backends.ultrasound.biometry import (
        FH,
        PS,
        aop_from_lines,
        biometry_from_masks,
        challenge_contour,
        contour_xy,
        fit_ellipse,
        lines_from_ellipses,
        ps_ends,
    )

    def from_pts(ps_pts, fh_pts):
        pe, fe = fit_ellipse(ps_pts), fit_ellipse(fh_pts)
        if pe is None or fe is None:
            return None
        lines = lines_from_ellipses(pe, fe)
        return None if lines is None else aop_from_lines(lines)

    ps, fh = labels == PS, labels == FH
    out = {"old": None, "iugc_hard": None, "hard_full": None, "soft": None, "moments": None, "minrect": None,
           "farthest": None, "pca_extent_fhell": None}
    if ps.sum() < 10 or fh.sum() < 50:
        return out
    out["old"] = biometry_from_masks(labels, definition="old").aop_deg
    out["iugc_hard"] = from_pts(challenge_contour(ps), challenge_contour(fh))
    out["moments"] = biometry_from_masks(labels, definition="moments").aop_deg
    out["hard_full"] = from_pts(contour_xy(ps), contour_xy(fh))
    k = np.ones((5, 5), np.uint8)
    out["soft"] = from_pts(soft_contour(prob[PS], cv2.dilate(ps.astype(np.uint8), k) > 0),
                           soft_contour(prob[FH], cv2.dilate(fh.astype(np.uint8), k) > 0))
    fe = fit_ellipse(challenge_contour(fh))
    if fe is not None:
        out["minrect"] = aop_with_ends(ps_ends_minrect(ps), fe)
        out["farthest"] = aop_with_ends(ps_ends_farthest(ps), fe)
        out["pca_extent_fhell"] = aop_with_ends(ps_ends(ps), fe)
    return out


def main() -> None:
    from backends.ultrasound.biometry import biometry_from_masks
    from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir
    from backends.ultrasound.segment import labels_from_probs

    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--tta", nargs="*", default=[], choices=[k for k in TTA if k != "none"])
    args = ap.parse_args()
    root = psfhs_dir(data_root())
    ids = load_split()["dev"]
    pairs = [load_pair(root, i) for i in ids]
    images, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    ref_new = [biometry_from_masks(r).aop_deg for r in refs]
    ref_old = [biometry_from_masks(r, definition="old").aop_deg for r in refs]
    runs = {"": TTA["none"]} | {f"_tta_{k}": TTA[k] for k in args.tta}
    errs: dict[str, list] = {}
    for tag, shifts in runs.items():
        t0 = time.perf_counter()
        probs = affine_probs(images, args.weights, shifts)
        print(f"probabilities{tag}: {len(probs)} frames, {time.perf_counter() - t0:.1f} s", flush=True)
        for prob, a_new, a_old in zip(probs, ref_new, ref_old):
            est = estimates(prob, labels_from_probs(prob))
            for k, v in est.items():
                ref = a_old if k == "old" else a_new
                errs.setdefault(k + tag, []).append(90.0 if v is None or ref is None else abs(v - ref))
    print(f"\nPSFHS dev split, {len(ids)} frames; reference = IUGC 2024 definition on the reference masks "
          "(row 'old': the old definition on both sides); a missing angle counts as 90 deg")
    print("| estimator | AoP MAE deg | median | p90 | missing |\n|---|---:|---:|---:|---:|")
    for k, e in errs.items():
        e = np.array(e)
        print(f"| {k} | {e.mean():.2f} | {np.median(e):.2f} | {np.percentile(e, 90):.2f} | {(e == 90).sum()} |")


if __name__ == "__main__":
    main()
