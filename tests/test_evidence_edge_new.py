"""Session 18 (issue 20 part B): an abrupt end of a per-frame event that is no real cut but shows new picture
(``Settings.edge_new``, ``verify.abrupt_edges_new``). docs/figures/evidence_session18_rule.md."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from backends.evidence.pipeline import Settings
from backends.evidence.verify import CutJudge, ViewMatcher, abrupt_edges_new, abrupt_edges_real


def _kvasir(data_dir, k):
    paths = sorted((data_dir / "endoscopy" / "Kvasir-SEG" / "images").glob("*.jpg"))
    return cv2.cvtColor(cv2.imread(str(paths[k])), cv2.COLOR_BGR2RGB)


def _view(img, cx, cy, size, gain=1.0, out=256):
    m = cv2.getRotationMatrix2D((cx, cy), 0.0, out / size)
    m[:, 2] += (out / 2 - cx, out / 2 - cy)
    v = cv2.warpAffine(img, m, (out, out), borderMode=cv2.BORDER_REFLECT101)
    return cv2.convertScaleAbs(v, alpha=gain)


class _Frames:
    class _F:
        def __init__(self, image):
            self.image, self.damaged = image, False

    def __init__(self, images):
        self.images = images

    def get(self, n):
        return self._F(self.images[n])


@pytest.fixture(scope="module")
def scene(data_dir):
    """40 frames of one view panning; 10-17: the same view with another picture's patch on a sixth of it
    (a stain or inset dropped on the scene, on and off at once); 25-28: the view re-exposed (an exposure
    jump, what the cut verifier is for); 33-36: another picture (a real cut)."""
    filler, lesion, other = (_kvasir(data_dir, k) for k in (0, 2, 3))
    h, w = filler.shape[:2]
    frames = [_view(filler, w * 0.4 + 2 * n, h * 0.5, 300) for n in range(40)]
    patch = _view(lesion, lesion.shape[1] / 2, lesion.shape[0] / 2, 200, out=100)
    for n in range(10, 18):
        frames[n] = frames[n].copy()
        frames[n][140:240, 140:240] = patch
    for n in range(25, 29):
        frames[n] = _view(filler, w * 0.4 + 2 * n, h * 0.5, 300, gain=0.55)
    for n in range(33, 37):
        frames[n] = _view(other, other.shape[1] / 2 + 2 * n, other.shape[0] / 2, 300)
    cut = np.zeros(40, np.float32)
    cut[[10, 18, 25, 29, 33, 37]] = 20.0
    return frames, cut


def test_new_picture_inside_the_overlap_is_measured(scene):
    frames, _ = scene
    m = ViewMatcher()
    stained = m.new_in_overlap(frames[10], frames[9])
    reexposed = m.new_in_overlap(frames[25], frames[24])
    assert stained >= 0.1 > reexposed, (stained, reexposed)
    # the old test is the same function as before: the pixels it calls explained are what is not new
    both_new = m.explained(frames[10], frames[9])
    assert both_new is not None and both_new[140:240, 140:240].mean() < 0.3 < both_new[:100, :100].mean()


def test_an_abrupt_end_onto_the_same_view_keeps_the_event_only_when_part_of_it_is_new(scene):
    frames, cut = scene
    judge = CutJudge(_Frames(frames), np.ones(40, bool), max_gap=1)
    # 0.3.1: the stained stretch's ends are no real cuts, so the verifier refuses it
    assert not abrupt_edges_real(judge, 10, 17, cut, 6.0)
    keep, share = abrupt_edges_new(judge, 10, 17, cut, 6.0, 0.1)
    assert keep and share is not None and share >= 0.1
    assert not abrupt_edges_new(judge, 10, 17, cut, 6.0, 0.99)[0]     # the share is the bar it is held to
    # the exposure jump still goes (nothing new inside the overlap)
    keep, share = abrupt_edges_new(judge, 25, 28, cut, 6.0, 0.1)
    assert not keep and share is not None and share < 0.1
    # a real cut needs no rescue
    assert abrupt_edges_new(judge, 33, 36, cut, 6.0, 0.1) == (True, None)
    assert judge.edge_new_cpu > 0


def test_product_setting():
    """Session 18's rule decided the default (docs/figures/evidence_session18_rule.md)."""
    assert Settings().edge_new == 0.0
