"""A decoder that writes pictures bottom-up (AMV: negative line sizes) crashed the evidence
screening ("can only specify one unknown dimension"; found by the blind unseen13 construction).
Peer: PyAV's own conversion of the same frames."""
from __future__ import annotations

import av
import numpy as np

from backends.evidence.reader import grid_stride, iter_av_batches


def test_amv_planes_are_read_top_to_bottom(tmp_path):
    path = tmp_path / "clip.avi"
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as c:
        s = c.add_stream("amv", rate=25)
        s.width, s.height, s.pix_fmt = 160, 128, "yuvj420p"
        for n in range(12):
            img = rng.integers(0, 256, (128, 160, 3), np.uint8)
            img[:64] = 20 * n                     # the top half says which frame it is
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuvj420p")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    assert frames[0].planes[0].line_size < 0          # the case under test
    st = grid_stride(160, 128)
    got = np.concatenate([y for _, y, _, _ in iter_av_batches(path, None, batch=4)])
    assert len(got) == len(frames) == 12
    for y, f in zip(got, frames):
        ref = f.to_ndarray()[:128]
        assert np.array_equal(y, ref[: (128 // st) * st: st, : (160 // st) * st: st])
