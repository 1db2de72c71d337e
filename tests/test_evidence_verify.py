"""Cut verification by registration (backends/evidence/verify.py) on real endoscopy frames: two
views of one picture (moved, zoomed, re-exposed) overlap; views of different pictures do not; and
short shots are joined across a fake cut and dropped when they continue into the stream."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from backends.evidence.shots import Shot
from backends.evidence.verify import CutJudge, ViewMatcher, abrupt_edges_real, verify_shots


def _kvasir(data_dir, k):
    paths = sorted((data_dir / "endoscopy" / "Kvasir-SEG" / "images").glob("*.jpg"))
    return cv2.cvtColor(cv2.imread(str(paths[k])), cv2.COLOR_BGR2RGB)


def _view(img, cx, cy, size, angle=0.0, gain=1.0, out=256):
    m = cv2.getRotationMatrix2D((cx, cy), angle, out / size)
    m[:, 2] += (out / 2 - cx, out / 2 - cy)
    v = cv2.warpAffine(img, m, (out, out), borderMode=cv2.BORDER_REFLECT101)
    return cv2.convertScaleAbs(v, alpha=gain)


@pytest.fixture(scope="module")
def pictures(data_dir):
    return [_kvasir(data_dir, k) for k in (0, 2, 3)]


def test_same_view_moved_zoomed_and_reexposed_overlaps(pictures):
    img = pictures[0]
    h, w = img.shape[:2]
    a = _view(img, w * 0.5, h * 0.5, 300)
    b = _view(img, w * 0.5 + 25, h * 0.5 - 15, 330, angle=6, gain=0.6)   # camera moved, exposure dropped
    assert ViewMatcher().overlap(a, b) > 0.6


def test_different_pictures_do_not_overlap(pictures):
    m = ViewMatcher()
    views = [_view(p, p.shape[1] / 2, p.shape[0] / 2, 300) for p in pictures]
    for i in range(len(views)):
        for j in range(len(views)):
            if i != j:
                assert m.overlap(views[i], views[j]) < 0.3, (i, j)


class _Frames:
    """A VideoSource stand-in: frame n is images[n]."""

    class _F:
        def __init__(self, image):
            self.image, self.damaged = image, False

    def __init__(self, images):
        self.images = images

    def get(self, n):
        return self._F(self.images[n])


def test_shots_are_joined_across_a_fake_cut_and_dropped_when_they_continue(pictures):
    filler, lesion = pictures[0], pictures[1]
    h, w = filler.shape[:2]
    lh, lw = lesion.shape[:2]
    frames = [_view(filler, w * 0.4 + 2 * n, h * 0.5, 300) for n in range(40)]
    # frames 10-17: another picture, with an exposure jump at 14 (a fake cut inside the event)
    for n in range(10, 18):
        frames[n] = _view(lesion, lw * 0.5 + 3 * n, lh * 0.5, 280, gain=1.0 if n < 14 else 0.6)
    # frames 25-28: the filler view again after an exposure jump (a fake short shot)
    for n in range(25, 29):
        frames[n] = _view(filler, w * 0.4 + 2 * n, h * 0.5, 300, gain=0.55)
    good = np.ones(40, bool)
    shots = [Shot(10, 13, 9.0, 4), Shot(14, 17, 7.0, 4), Shot(25, 28, 8.0, 4)]
    judge = CutJudge(_Frames(frames), good, max_gap=1)
    kept = verify_shots(judge, shots, max_frames=20)
    assert [(s.start, s.end) for s in kept] == [(10, 17)]
    assert kept[0].z == 9.0
    # a per-frame event with an abrupt end is judged at that end only
    cut = np.zeros(40, np.float32)
    cut[[10, 18, 25, 29]] = 20.0
    assert abrupt_edges_real(judge, 10, 17, cut, 6.0)
    assert not abrupt_edges_real(judge, 25, 28, cut, 6.0)
    cut_soft = np.zeros(40, np.float32)
    assert abrupt_edges_real(judge, 25, 28, cut_soft, 6.0)   # gradual ends are not judged


def test_new_fraction_sees_a_pasted_lesion_but_not_a_reexposed_view(pictures):
    """A filler view met again a few seconds later (moved, darker) holds nothing new; the same view
    with another picture's patch on a sixth of it holds new pixels there."""
    filler, lesion = pictures[0], pictures[1]
    h, w = filler.shape[:2]
    frames = [_view(filler, w * 0.35 + 3 * n, h * 0.5, 300) for n in range(60)]
    again = _view(filler, w * 0.35 + 3 * 30, h * 0.5, 300, gain=0.7)
    patched = frames[30].copy()
    patched[150:250, 150:250] = _view(lesion, lesion.shape[1] / 2, lesion.shape[0] / 2, 200, out=100)
    good = np.ones(60, bool)
    for img, lo, hi in ((again, 0.0, 0.05), (patched, 0.12, 1.0)):
        frames[30] = img
        judge = CutJudge(_Frames(frames), good, max_gap=1)
        new = judge.new_fraction(30, 30, 30, reach=20, guard=3)
        assert lo <= new <= hi, new


class _Judge:
    """A stand-in for CutJudge: which boundaries are cuts and which stretches have real edges."""

    max_gap = 1

    def __init__(self, not_cuts: set, real: set) -> None:
        self.not_cuts, self.real = not_cuts, real

    def is_cut(self, inside: int, outside: int) -> bool:
        return (inside, outside) not in self.not_cuts

    def edges_real(self, start: int, end: int) -> bool:
        return (start, end) in self.real


def test_a_failed_join_falls_back_to_its_parts():
    """Issue 20: one-frame shots exist now; an event's first frame that half shows the stream before
    it became a one-frame shot joined to the rest, and the joined stretch's fake left edge dropped
    the whole event. The parts are judged one by one when the whole fails."""
    from backends.evidence.shots import Shot
    from backends.evidence.verify import verify_shots

    first, rest = Shot(100, 100, 34.7, 1), Shot(101, 104, 29.6, 4)
    judge = _Judge(not_cuts={(101, 100)}, real={(101, 104)})
    assert [(s.start, s.end) for s in verify_shots(judge, [first, rest], max_frames=36)] == [(101, 104)]
    # a joined stretch with real edges stays one event
    judge = _Judge(not_cuts={(101, 100)}, real={(100, 104)})
    assert [(s.start, s.end, s.z) for s in verify_shots(judge, [first, rest], max_frames=36)] == [(100, 104, 34.7)]
