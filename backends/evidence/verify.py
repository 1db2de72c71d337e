"""Is a cut real? Registration of the frames on either side of a short shot's boundary.

The screening descriptor is small and global, so a camera jerk, a zoom or an exposure jump over
the same mucosa can look like a cut, and the stretch after it like a new short shot. Two frames of
one view are related by a similarity transform (shift, rotation, zoom) up to a change of gain; two
different scenes are not. So at full resolution, only for the boundaries of candidate shots: ORB
key points (binary intensity comparisons, so insensitive to exposure), matched and fitted with
RANSAC, then the share of the first frame's image area that lands inside the second, weighted by
the normalised cross-correlation of the overlap (so a chance fit on texture does not count).
Only *cuts* are judged this way: inside continuous video consecutive frames always overlap, which
is why per-frame novelty events are never "verified" like this.
"""
from __future__ import annotations

import numpy as np

SHORT_SIDE = 256     # frames are compared at about this size
DARK = 20            # pixels at or below this are the scope's border or unlit: left out
MIN_INLIERS = 10


def _gray(img: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    s = SHORT_SIDE / float(min(g.shape))
    if s < 1:
        g = cv2.resize(g, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(g)


class ViewMatcher:
    """Reusable ORB detector and matcher (creating them per call costs more than matching)."""

    def __init__(self, features: int = 600) -> None:
        import cv2

        self._orb = cv2.ORB_create(features, fastThreshold=10)
        self._bf = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self._cache: dict[int, tuple] = {}

    def _describe(self, key: int | None, img: np.ndarray):
        if key is not None and key in self._cache:
            return self._cache[key]
        g = _gray(img)
        mask = (g > DARK).astype(np.uint8)
        kp, des = self._orb.detectAndCompute(g, mask)
        out = (g, mask, kp, des)
        if key is not None:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = out
        return out

    def explained(self, a: np.ndarray, b: np.ndarray, *, key_a: int | None = None,
                  key_b: int | None = None) -> np.ndarray | None:
        """Pixels of view ``a`` (at the comparison size) that view ``b`` shows too, with the same
        picture there once aligned and re-exposed; None when the two do not register."""

        ga, ma, ka, da = self._describe(key_a, a)
        gb, mb, kb, db = self._describe(key_b, b)
        fit = self._fit(ka, da, kb, db, ga.shape, gb.shape)
        if fit is None:
            return None
        parts = self._explained_parts(ga, ma, gb, mb, fit)
        return None if parts is None else parts[0] & parts[1]

    def new_in_overlap(self, a: np.ndarray, b: np.ndarray, *, key_a: int | None = None,
                       key_b: int | None = None) -> float:
        """0..1: share of view ``a``'s lit pixels that view ``b`` covers once aligned but does not show
        (``explained``'s test: local structure and level after re-exposure); 0 when they do not register.
        A camera jerk or an exposure jump over one view leaves next to nothing new inside the overlap; a
        stain, a bleed or an inset appearing on a scene that goes on leaves its own area (session 18)."""
        ga, ma, ka, da = self._describe(key_a, a)
        gb, mb, kb, db = self._describe(key_b, b)
        fit = self._fit(ka, da, kb, db, ga.shape, gb.shape)
        parts = None if fit is None else self._explained_parts(ga, ma, gb, mb, fit)
        if parts is None:
            return 0.0
        both, agree = parts
        return float((both & ~agree).sum()) / max(1.0, float(both.sum()))

    @staticmethod
    def _explained_parts(ga: np.ndarray, ma: np.ndarray, gb: np.ndarray, mb: np.ndarray,
                         fit: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(pixels of a that b covers once aligned, pixels where b shows the same picture), or None."""
        import cv2

        h, w = ga.shape
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        gb_on_a = cv2.warpAffine(cv2.GaussianBlur(gb, (5, 5), 0), fit, (w, h), flags=flags).astype(np.float32)
        mb_on_a = cv2.warpAffine(mb, fit, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
        both = mb_on_a & (ma > 0)
        if both.sum() < 200:
            return None
        ga_s = cv2.GaussianBlur(ga, (5, 5), 0).astype(np.float32)
        gain = float(np.median(ga_s[both])) / max(1.0, float(np.median(gb_on_a[both])))
        gb_on_a *= gain
        # the same picture: local structure correlates (9x9 windows), or both are flat and equally bright
        box = (9, 9)
        ma_, mb_ = cv2.blur(ga_s, box), cv2.blur(gb_on_a, box)
        va = np.maximum(cv2.blur(ga_s * ga_s, box) - ma_ * ma_, 0.0)
        vb = np.maximum(cv2.blur(gb_on_a * gb_on_a, box) - mb_ * mb_, 0.0)
        cov = cv2.blur(ga_s * gb_on_a, box) - ma_ * mb_
        ncc = cov / np.sqrt(va * vb + 1e-6)
        flat = (va < 4.0) & (vb < 4.0)
        level = np.abs(ma_ - mb_) < 0.1 * (ma_ + 10.0)
        agree = np.where(flat, level, (ncc > 0.6) & level)
        return both, agree

    def _fit(self, ka, da, kb, db, shape_a, shape_b):
        import cv2

        if da is None or db is None or len(ka) < MIN_INLIERS or len(kb) < MIN_INLIERS or shape_a != shape_b:
            return None
        matches = self._bf.match(da, db)
        if len(matches) < MIN_INLIERS:
            return None
        pa = np.float32([ka[m.queryIdx].pt for m in matches])
        pb = np.float32([kb[m.trainIdx].pt for m in matches])
        fit, inliers = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if fit is None or int(inliers.sum()) < MIN_INLIERS:
            return None
        return fit

    def overlap(self, a: np.ndarray, b: np.ndarray, *, key_a: int | None = None, key_b: int | None = None) -> float:
        """0..1: how much of view ``a`` view ``b`` also shows (0: nothing in common, or no fit)."""
        import cv2

        ga, ma, ka, da = self._describe(key_a, a)
        gb, mb, kb, db = self._describe(key_b, b)
        fit = self._fit(ka, da, kb, db, ga.shape, gb.shape)
        if fit is None:
            return 0.0
        h, w = ga.shape
        moved = cv2.warpAffine(ma, fit, (w, h), flags=cv2.INTER_NEAREST)
        both = (moved > 0) & (mb > 0)
        if both.sum() < 200:
            return 0.0
        cover = float(both.sum()) / max(1.0, float(ma.sum()))
        warped = cv2.warpAffine(ga, fit, (w, h)).astype(np.float32)[both]
        ref = gb.astype(np.float32)[both]
        if warped.std() < 1e-3 or ref.std() < 1e-3:
            return 0.0
        ncc = float(np.corrcoef(warped, ref)[0, 1])
        return float(np.clip(cover * max(0.0, ncc), 0.0, 1.0))

    def valid_mask(self, img: np.ndarray, *, key: int | None = None) -> np.ndarray:
        """Lit pixels of ``img`` at the comparison size (the scope's border and unlit parts left out)."""
        return self._describe(key, img)[1] > 0


class CutJudge:
    """Judges boundaries in one video: is the change between frame ``inside`` and the nearest good
    frame on the other side a real cut (different views), or one view moved or re-exposed?"""

    def __init__(self, src, good: np.ndarray, *, max_gap: int, min_overlap: float = 0.5,
                 novel: np.ndarray | None = None) -> None:
        self.src, self.good, self.max_gap, self.min_overlap = src, good, max_gap, min_overlap
        self.novel = novel  # frames that are candidates themselves (the event may go on into them)
        self.matcher = ViewMatcher()
        self.edge_new_cpu = 0.0   # CPU seconds of edge_new_share's new-picture test (session 18)

    def _image(self, k: int):
        try:
            fr = self.src.get(int(k))
        except Exception:  # noqa: BLE001 - an unreadable frame cannot show that a cut is fake
            return None
        return None if fr.damaged else fr.image

    def neighbour(self, k: int, step: int) -> int | None:
        """The first good frame from k on in direction ``step``, within the gap bridged in events."""
        for j in range(k, k + step * (self.max_gap + 1), step):
            if 0 <= j < len(self.good) and self.good[j]:
                return j
        return None

    def is_cut(self, inside: int, outside: int | None) -> bool:
        if outside is None:
            return True  # the start or end of the video, or only bad frames next to it
        a, b = self._image(inside), self._image(outside)
        if a is None or b is None:
            return True
        return self.matcher.overlap(a, b, key_a=inside, key_b=outside) < self.min_overlap

    def edge_ok(self, inside: int, outside: int | None) -> bool:
        """An end is fine when it is a real cut, or when the view it continues into is novel itself
        (the same finding seen on through a dark or blurred stretch): only a view that goes on into
        the ordinary stream makes the end fake."""
        if outside is not None and self.novel is not None and self.novel[outside]:
            return True
        return self.is_cut(inside, outside)

    def edge_new_share(self, inside: int, outside: int | None) -> float | None:
        """None when the end is fine as ``edge_ok`` judges it (a real cut, or it opens onto novel frames);
        else the share of frame ``inside``'s registered picture that frame ``outside`` does not show
        (``ViewMatcher.new_in_overlap``). Each frame is decoded once, as ``edge_ok`` does; the CPU of the
        share is added to ``edge_new_cpu``."""
        import time

        if outside is None or (self.novel is not None and self.novel[outside]):
            return None
        a, b = self._image(inside), self._image(outside)
        if a is None or b is None:
            return None
        if self.matcher.overlap(a, b, key_a=inside, key_b=outside) < self.min_overlap:
            return None
        t0 = time.process_time()
        share = self.matcher.new_in_overlap(a, b, key_a=inside, key_b=outside)
        self.edge_new_cpu += time.process_time() - t0
        return share

    def edges_real(self, start: int, end: int) -> bool:
        """Both ends of frames start..end are real cuts (or open onto novel frames)."""
        return self.edge_ok(start, self.neighbour(start - 1, -1)) and self.edge_ok(end, self.neighbour(end + 1, 1))

    def new_fraction(self, key: int, start: int, end: int, *, reach: int, guard: int, samples: int = 8) -> float:
        """Share of frame ``key``'s picture (inside start..end) that none of a few good frames around
        the event shows, aligned and re-exposed, more than ``guard`` and at most ``reach`` frames
        away. A lesion is new pixels; a filler view re-seen after a jerk or an exposure jump is not."""
        n = len(self.good)
        around = np.r_[max(0, start - reach): max(0, start - guard), min(n, end + guard + 1): min(n, end + reach + 1)]
        around = around[self.good[around]] if len(around) else around
        img = self._image(key)
        if len(around) == 0 or img is None:
            return 1.0
        picks = around[np.linspace(0, len(around) - 1, min(samples, len(around))).round().astype(int)]
        valid = self.matcher.valid_mask(img, key=-1 - key)
        seen = np.zeros(valid.shape, bool)
        for k in np.unique(picks):
            other = self._image(int(k))
            if other is None:
                continue
            got = self.matcher.explained(img, other, key_a=-1 - key, key_b=int(k))
            if got is not None:
                seen |= got
        return float((valid & ~seen).sum()) / max(1.0, float(valid.sum()))


def abrupt_edges_real(judge: CutJudge, start: int, end: int, cut: np.ndarray, cut_z: float) -> bool:
    """For a per-frame novelty event: each of its ends where the descriptor jumps (cut z above
    ``cut_z``) must be a real cut. Gradual ends (a lesion sliding into view) are not judged: across
    them consecutive frames always overlap."""
    if start > 0 and cut[start] > cut_z and not judge.edge_ok(start, judge.neighbour(start - 1, -1)):
        return False
    if end + 1 < len(cut) and cut[end + 1] > cut_z and not judge.edge_ok(end, judge.neighbour(end + 1, 1)):
        return False
    return True


def abrupt_edges_new(judge: CutJudge, start: int, end: int, cut: np.ndarray, cut_z: float,
                     edge_new: float) -> tuple[bool, float | None]:
    """``abrupt_edges_real`` with one more way for an abrupt end to pass (session 18, ``Settings.edge_new``):
    the view goes on across it (no real cut) but at least ``edge_new`` of the event's frame there,
    inside the overlap, is a picture the frame across the end does not show: part of the view changed
    at once (a stain, a bleed, an inset dropped on the scene), which a camera jerk or an exposure jump
    does not do. Returns (keep, the smallest such share over the ends that needed it, or None when every
    abrupt end was a real cut or opened onto novel frames)."""
    need: float | None = None
    for inside, edge, step in ((start, start, -1), (end, end + 1, 1)):
        if not (0 < edge < len(cut)) or cut[edge] <= cut_z:
            continue
        share = judge.edge_new_share(inside, judge.neighbour(inside + step, step))
        if share is None:
            continue
        if share < edge_new:
            return False, share
        need = share if need is None else min(need, share)
    return True, need


def verify_shots(judge: CutJudge, shots: list, *, max_frames: int) -> list:
    """Keep the short shots whose two boundaries are real cuts. Neighbouring shots whose shared
    boundary is not a cut are one stretch (one event split by an exposure jump, say) and are joined;
    a shot that continues into the stream around it is dropped. When a joined stretch fails, its
    parts are judged one by one: a one-frame shot at an event's edge that half shows the stream
    before it must not take the rest of the event down with it (issue 20: with one-frame shots,
    a dev dark-window view was lost that way)."""
    from .shots import Shot

    groups: list[list[Shot]] = []
    for sh in sorted(shots, key=lambda s: s.start):
        last = groups[-1][-1] if groups else None
        if last is not None and sh.start - last.end - 1 <= judge.max_gap and not judge.is_cut(sh.start, last.end):
            groups[-1].append(sh)
        else:
            groups.append([sh])
    out = []
    for parts in groups:
        a, b = parts[0], parts[-1]
        whole = Shot(a.start, b.end, max(p.z for p in parts), sum(p.good_frames for p in parts))
        if whole.end - whole.start + 1 <= max_frames and judge.edges_real(whole.start, whole.end):
            out.append(whole)
        elif len(parts) > 1:
            out += [p for p in parts if judge.edges_real(p.start, p.end)]
    return out
