"""Sequential reduced-frame reading for screening, in batches, at decode speed.

For video files the decoder's own YUV planes are read through strided NumPy views (every s-th
row and column of luma, every s/2-th of the half-size chroma planes), so there is no colour
conversion and no resize: measured on 720p H.264, a plane view costs ~45 us a frame against
1-2 ms to decode it, while ``to_ndarray(width=, height=)`` or swscale to RGB cost more than the
decode (PLATFORM.md §5). Frames are numbered through the frame table (pts -> presentation-order
frame number), so a damaged packet never shifts the numbering of the frames after it.
Image folders and DICOM cine go through :class:`app.data.video.VideoSource` (RGB -> YUV).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

TARGET = 32   # short side of the reduced grid, in pixels (about): features cost ~0.1 ms a frame


def grid_stride(width: int, height: int, target: int = TARGET) -> int:
    """Even luma stride giving a reduced grid with a short side of at least ``target`` pixels (up to
    about 1.3x more): the quality gate measures structure in 16x16 blocks of this grid, which need two
    pixels a side. Rounding the stride *up* (240x240 -> 30x30, 640x480 -> 30x40) left one-pixel blocks
    with no variance, and every frame of such a video was set aside as dark (session 7: three of the
    unseen4 clips kept nothing)."""
    return max(2, 2 * int(min(width, height) // (2 * target)))


def thread_type(width: int, height: int) -> str:
    """Frame threads help at 720p and up (PLATFORM.md §5). They are safe while PyAV's Python log
    callback is off (``decode_errors.frame_threads_safe``): with it on, a worker thread's log call
    can wait for the GIL that a codec teardown holds. Damage is read from the frames themselves."""
    from app.data.video.decode_errors import frame_threads_safe

    if width * height >= 1280 * 720 and frame_threads_safe():
        return "AUTO"
    return "SLICE"


Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # frame numbers, y, u, v


def _plane(p, h: int, w: int) -> np.ndarray:
    """A plane as rows top to bottom. A decoder that writes pictures bottom-up (AMV) gives a
    negative line size: its buffer holds the rows from the bottom one up."""
    if p.line_size < 0:
        return np.frombuffer(p, np.uint8).reshape(-1, -p.line_size)[::-1][:h, :w]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h, :w]


def iter_av_batches(path: str | Path, index, *, batch: int = 64,
                    cancel: Callable[[], bool] | None = None,
                    progress: Callable[[int], None] | None = None) -> Iterator[Batch]:
    """Batches of reduced planes of every frame of a video file, decoded in order."""
    import av

    from app.data.video.av_source import open_container, video_stream

    label = Path(path).name
    with open_container(Path(path), label) as c:
        s = video_stream(c, label)
        cc = s.codec_context
        w, h = int(cc.width), int(cc.height)
        s.thread_type = thread_type(w, h)
        st = grid_stride(w, h)
        gh, gw = h // st, w // st
        ys = np.empty((batch, gh, gw), np.uint8)
        us = np.empty_like(ys)
        vs = np.empty_like(ys)
        pts = np.empty(batch, np.int64)
        table = None if index is None else np.asarray(index.pts, np.int64)
        half = st // 2
        ch, cw = (h + 1) // 2, (w + 1) // 2
        k = 0
        seq = 0
        convert = None  # decided on the first frame: the decoder's own planes when they are 4:2:0

        def numbers(p: np.ndarray, first_seq: int) -> np.ndarray:
            """Presentation-order frame numbers of a batch of pts (-1 when not in the table)."""
            if table is None:
                return np.arange(first_seq, first_seq + len(p))
            i = np.minimum(np.searchsorted(table, p), len(table) - 1)
            return np.where(table[i] == p, i, -1)

        for packet in c.demux(s):
            try:
                frames = cc.decode(packet if packet.size else None)
            except av.FFmpegError:
                continue  # a damaged packet: its frame stays missing (never a wrong number)
            for f in frames:
                if f.is_corrupt:
                    continue  # concealed damage: the frame stays missing, like a packet that failed
                if convert is None:
                    convert = f.format.name not in ("yuv420p", "yuvj420p")
                if convert:
                    f = f.reformat(format="yuv420p")
                if f.width != w or f.height != h:
                    continue  # a resolution change mid-stream: not part of this grid
                pl = f.planes
                ys[k] = _plane(pl[0], h, w)[: gh * st: st, : gw * st: st]
                us[k] = _plane(pl[1], ch, cw)[: gh * half: half, : gw * half: half]
                vs[k] = _plane(pl[2], ch, cw)[: gh * half: half, : gw * half: half]
                pts[k] = f.pts if f.pts is not None else -1
                k += 1
                if k == batch:
                    yield numbers(pts, seq), ys, us, vs
                    seq += k
                    # fresh buffers: the consumer may still be working on the last batch in a thread
                    ys, us, vs = np.empty_like(ys), np.empty_like(us), np.empty_like(vs)
                    k = 0
                    if progress is not None:
                        progress(seq)
                    if cancel is not None and cancel():
                        return
        if k:
            yield numbers(pts[:k], seq), ys[:k], us[:k], vs[:k]


def rgb_to_reduced_yuv(img: np.ndarray, st: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduced Y, U, V (BT.601, like the decoder's planes) of an RGB image."""
    import cv2

    h, w = img.shape[:2]
    gh, gw = h // st, w // st
    small = cv2.resize(np.ascontiguousarray(img[: gh * st, : gw * st]), (gw, gh), interpolation=cv2.INTER_AREA)
    yuv = cv2.cvtColor(small, cv2.COLOR_RGB2YUV)
    return yuv[..., 0], yuv[..., 1], yuv[..., 2]


def accumulate(batches: Iterator[Batch], acc) -> None:
    """Feed batches to ``acc.add`` as they come. (Computing features on a second thread while
    decoding was measured slower here: PyAV keeps the GIL while it decodes.)"""
    for b in batches:
        acc.add(*b)


def iter_source_batches(source, *, batch: int = 64, cancel: Callable[[], bool] | None = None,
                        progress: Callable[[int], None] | None = None) -> Iterator[Batch]:
    """Batches from any :class:`VideoSource` (image folders, DICOM cine), frame by frame."""
    w, h = source.size
    st = grid_stride(w, h)
    n = source.n_frames
    for b0 in range(0, n, batch):
        if cancel is not None and cancel():
            return
        nums, ys, us, vs = [], [], [], []
        for i in range(b0, min(n, b0 + batch)):
            fr = source.get(i)
            img = fr.image
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if fr.damaged or img.shape[0] // st != h // st or img.shape[1] // st != w // st:
                continue
            y, u, v = rgb_to_reduced_yuv(img[..., :3], st)
            nums.append(i), ys.append(y), us.append(u), vs.append(v)
        if nums:
            yield np.array(nums), np.stack(ys), np.stack(us), np.stack(vs)
        if progress is not None:
            progress(min(n, b0 + batch))
