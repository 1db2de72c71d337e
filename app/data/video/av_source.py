"""Frame-exact reading of video files through PyAV (FFmpeg): mp4, mkv, avi, mov, webm with H.264,
HEVC, MPEG-4, MJPEG, VP9 and whatever else the FFmpeg build decodes.

How frame N is found: look up its pts and the keyframe at or before it in the frame table, seek the
demuxer to that keyframe, decode forward and keep the frame whose pts equals N's pts. Four things
keep this fast:
- the decoder is reused without seeking when N lies ahead in the same GOP (playback, forward steps);
- frames that are only passed through are not converted to RGB, and non-reference frames before N
  are not decoded at all (``skip_frame = NONREF``; nothing ever references them, so N is unchanged);
- when stepping backwards the frames between the keyframe and N are converted and kept in a
  byte-bounded cache once, so the next backward steps are cache hits instead of GOP re-decodes;
- H.264, HEVC, MPEG-4 and VP9 are decoded with frame threads (one per core, at most 8).

Damage the decoder can notice is never shown as a clean picture. It is found without FFmpeg's log
(which must stay out of Python for frame threads to be safe; ``decode_errors``): the decoder's
corrupt mark, pictures owed but never output, and H.264 frame_num gaps taint the frames that may
depend on them, and a frame is returned only once every picture decoded before it has come out of
the decoder (a B-frame is decoded after the later picture it references, whose mark comes later).

A packet's keyframe flag is a claim the container makes, not a fact: some AVI muxers mark every
H.261 packet key although only one picture in dozens is intra. Decoding from such a "keyframe"
gives a P picture on a blank reference, a wrong picture no error reports. So after every fresh
seek the claimed keyframe must come out of the decoder as an intra picture (``key_frame`` or
``pict_type`` I); if it does not, it is remembered as false, its pictures are withheld until a real
intra picture comes out, and if none does before N the search restarts further back (doubling the
distance), down to the first frame. Real intra pictures are remembered so later seeks go there.
Some decoders (CineForm, msvideo1, QuickTime RLE) mark no picture intra, so every claim proves false:
once the first DISTRUST_AFTER frames decoded from frame 0 showed no intra picture, seeks start at
frame 0 without testing claims, and the decoder goes on forward from where it is whenever a seek
could not start nearer (an ascending pass decodes the file about once, not once per frame asked).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from app.data.types import ReadError

from . import decode_errors
from .frame_index import CancelFn, FrameIndex, ProgressFn, build_index_from_container, cache_path_for, read_packets
from .source import DEFAULT_CACHE_BYTES, Frame, VideoSource, spread

log = logging.getLogger(__name__)

# Codecs decoded with frame threads. For each, damage studies found every signal the decoder gives
# without FFmpeg's log (decode_errors), and as many damaged frames flagged with frame threads as
# with slice threads (tests/test_video_damage_threads.py). Others keep slice threads.
FRAME_THREAD_CODECS = ("h264", "hevc", "mpeg4", "vp9")
MAX_FRAME_THREADS = 8
ONE_THREAD_CODECS = ("h264",)  # several slice contexts: H.264 would not flag concealed pictures
MAX_PULL_AHEAD = 24      # frames decoded past a target to learn the damage flags of its references
CONTINUE_SLACK = 8        # decode on instead of seeking when at most this many frames before N's keyframe
BACKWARD_REACH = 600      # a request this close behind the previous one counts as stepping backwards
MAX_SEEK_RETRIES = 3
DISTRUST_AFTER = 100      # frames decoded from 0 with no intra picture past it (and a claim false): untested
                          # claims are not tried (decoders that mark no picture intra)
FIRST_WALK_BACK = 16      # frames: first step back when a claimed keyframe proves false (then doubled)
THUMB_SEARCH = 300        # flagged packets tried for a thumbnail's real intra picture
OVERCLAIM_WARNING = "keyframe flags overclaim; seeking decodes from the nearest real intra picture"


def frame_thread_count() -> int:
    """Frame threads for the cores idle now, at most MAX_FRAME_THREADS (``LOUPE_DECODE_THREADS``
    overrides). A frame thread only pays when a core is free for it: each one adds a picture of
    pipeline, decoded past the target on every seek and dropped at the next. Measured on 1080p
    H.264: with a second core idle, two frame threads decode up to ~1.8x faster than one; with the
    machine's two cores busy (load 3-6), they made random seeks ~8% slower."""
    forced = os.environ.get("LOUPE_DECODE_THREADS", "")
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        idle = cores - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): assume the cores are free
        idle = cores
    return max(1, min(cores, MAX_FRAME_THREADS, int(idle + 0.5)))


def open_container(path: Path, label: str, **kw):
    """``av.open`` with user-facing errors for the usual ways a file is not a video."""
    if not path.exists():
        raise ReadError(f"{label}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise ReadError(f"{label}: the file is empty (0 bytes)")
    try:
        return av.open(str(path), **kw)
    except av.FFmpegError as exc:
        raise ReadError(f"{label}: not a readable video file ({exc.strerror or exc})") from exc


def is_intra(f: av.VideoFrame) -> bool:
    """The decoder says this picture needs no earlier one (checked on H.261, where both marks agree)."""
    return bool(f.key_frame) or int(f.pict_type) == int(av.video.frame.PictureType.I)


def video_stream(container, label: str):
    if not container.streams.video:
        container.close()
        raise ReadError(f"{label}: the file has no video stream")
    s = container.streams.video[0]
    if s.codec_context is None:
        name = (s.metadata or {}).get("codec_name") or getattr(s, "codec_tag", "") or "unknown to FFmpeg"
        container.close()
        raise ReadError(f"{label}: the video codec ({name}) is not supported by this FFmpeg build")
    return s


class _FalseStart(Exception):
    """The pictures on the way to the target were decoded from a keyframe that is not one."""


def flagged_packet_pictures(c, s, pts: int, *, not_before: bool,
                            ) -> Iterator[list[av.VideoFrame]]:
    """After a seek to ``pts``: each packet flagged as a keyframe, decoded on its own (the decoder
    drained and flushed after each): its pictures. Whether a flag is true shows in the
    pictures: a real keyframe decodes to an intra picture. ``not_before`` passes over packets
    before ``pts`` (the demuxer may land earlier)."""
    cc = s.codec_context
    c.seek(pts, stream=s, backward=True)
    cc.flush_buffers()
    for packet in c.demux(s):
        t = packet.pts if packet.pts is not None else packet.dts
        if not packet.size or not packet.is_keyframe or (not_before and (t is None or t < pts)):
            continue
        frames = list(cc.decode(packet)) + list(cc.decode(None))
        cc.flush_buffers()
        yield frames


def _marks_no_intra(c, s, pts0: int) -> bool:
    """The first flagged packet decodes to a picture the decoder does not mark intra: a decoder
    that marks none (QuickTime RLE, CineForm, Microsoft Video 1), since the first picture of a
    stream needs no earlier one. Leaves the decoder flushed."""
    try:
        for frames in flagged_packet_pictures(c, s, pts0, not_before=False):
            return bool(frames) and not is_intra(frames[0])
    except av.FFmpegError:
        return False
    return False


class AVSource(VideoSource):
    kind = "video"

    def __init__(self, path: str | Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 disk_cache: bool = True, label: str | None = None, open_options: dict | None = None) -> None:
        super().__init__(path, cache_bytes=cache_bytes)
        if label:
            self.label = label
        self._disk_cache = disk_cache
        self._open_options = dict(open_options or {})
        self._container = open_container(self.path, self.label, options=self._open_options)
        self._stream = video_stream(self._container, self.label)
        self._configure(self._stream)
        from .palette import PaletteKeeper

        # a pal8 stream's palette comes once, with its first packet; seeks would leave pictures black
        self._palette = PaletteKeeper.for_stream(self.path, self._stream.index, self._stream.codec_context.pix_fmt,
                                                 self._open_options)
        self._inspector = decode_errors.PacketInspector(self.codec, self._stream.codec_context.extradata)
        self._owed = decode_errors.OwedFrames()
        self._frames: Iterator | None = None   # live decoder output since the last seek
        self._start_key_max_pts: int | None = None  # after a seek: decoding starts at the first
        self._start_key_min_pts = 0                  # keyframe with pts in [min, max]
        self._overshot = False
        self._pos = -1                           # frame number of the last frame the decoder gave
        self._full_from_pts: int | None = None   # packets at/after this pts are decoded in full
        self._last_target: int | None = None
        self._tainted: np.ndarray | None = None  # frames a decode error may have reached
        self._by_decode: np.ndarray | None = None
        self._known_after: np.ndarray | None = None  # see _flags_known_after
        self._ahead: dict[int, av.VideoFrame] = {}   # frames pulled past the last target, not yet shown
        self._started = False                        # a frame came out since the last seek
        self._check_key: int | None = None   # after a seek: claimed keyframe not yet seen coming out
        self._stale = False                  # decoding from a false keyframe: no real intra seen yet
        self.false_keys: set[int] = set()    # claimed keyframes the decoder showed to be P pictures
        self.true_keys: set[int] = set()     # frames the decoder showed to be intra after an overclaim
        self._true_past_zero = False         # true_keys holds a frame past 0
        self._false_decoded_max = 0          # the latest claim shown false while decoding (claims_distrusted)
        self._no_intra_known = False         # shown before any seek: the decoder marks no picture intra
        self._rgb = VideoReformatter()  # one reused swscale context: ~40x cheaper than to_ndarray's
        self.damaged_packets = 0  # damage seen: decode errors, concealed pictures, lost pictures
        self.unindexed_frames = 0
        self.decoded_frames = 0  # pictures the decoder produced (a cost measure for tests)
        self.thumbnail_decodes = 0  # pictures decoded for frame thumbnails (_frame_thumbnails)

    def _to_rgb(self, f: av.VideoFrame) -> np.ndarray:
        if self._palette is not None:
            f = self._palette.fix(f)
        return self._rgb.reformat(f, format="rgb24").to_ndarray()

    @staticmethod
    def _configure(stream) -> None:
        """Frame threads (as many as cores are idle) for the codecs whose damage is seen without
        FFmpeg's log (decode_errors): most H.264 files have one slice per picture, so slice threads
        leave them single-threaded, and H.264 with several slice threads does not flag concealed
        pictures. Frame threads are safe only with PyAV's Python log callback off (its default);
        if someone turned it on, one thread."""
        cc = stream.codec_context
        if cc.name in FRAME_THREAD_CODECS and decode_errors.frame_threads_safe():
            stream.thread_type = "FRAME"
            cc.thread_count = frame_thread_count()
        else:
            stream.thread_type = "SLICE"
            if cc.name in ONE_THREAD_CODECS:
                cc.thread_count = 1

    @property
    def frame_threads(self) -> bool:
        """Decoding with more than one frame thread."""
        tt = str(self._stream.thread_type)
        return ("FRAME" in tt or "AUTO" in tt) and int(self._stream.codec_context.thread_count or 0) != 1

    # --- meta ---
    @property
    def size(self) -> tuple[int, int]:
        cc = self._stream.codec_context
        return int(cc.width), int(cc.height)

    @property
    def codec(self) -> str:
        return str(self._stream.codec_context.name)

    @property
    def pixel_aspect(self) -> float:
        sar = self._stream.sample_aspect_ratio or self._stream.codec_context.sample_aspect_ratio
        return float(sar) if sar and float(sar) > 0 else 1.0

    def _close_resources(self) -> None:
        self._frames = None
        self._ahead.clear()
        self._release_decoder()
        try:
            self._container.close()
        except Exception:  # closing twice or after a failed read must not raise
            pass

    def _release_decoder(self) -> None:
        """Park the frame threads before the codec context is dropped: ``flush_buffers`` waits for
        them without holding the GIL, so the later free (which holds it) finds them idle. (What
        makes frame threads safe is the log staying off; this only keeps close() cheap and tidy.)"""
        try:
            if self.frame_threads:
                self._stream.codec_context.flush_buffers()
        except Exception:  # a decoder that failed to open has nothing to park
            pass

    # --- index ---
    def _build_index(self, progress: ProgressFn | None, cancel: CancelFn | None) -> FrameIndex:
        cache_file = None
        if self._disk_cache:
            try:
                cache_file = cache_path_for(self.path)
            except OSError:
                cache_file = None
            if cache_file is not None and cache_file.exists():
                idx = FrameIndex.load(cache_file)
                if idx is not None:
                    if progress is not None:
                        progress(1.0)
                    return idx
        # A separate reader, so the index can be built in a worker thread while nothing else waits.
        with open_container(self.path, self.label, options=self._open_options) as c:
            idx = build_index_from_container(c, video_stream(c, self.label), label=self.label,
                                             progress=progress, cancel=cancel, warnings=self.warnings)
        if cache_file is not None:
            try:
                idx.save(cache_file)
            except OSError as exc:
                log.warning("could not cache the frame index of %s: %s", self.label, exc)
        return idx

    # --- decoding ---
    def _seek(self, k: int, n: int) -> None:
        """Seek the demuxer to keyframe k on the way to frame n. Some formats (MPEG-TS) land a
        few packets past the keyframe: packets are then dropped up to the next keyframe, and if
        that one is already past n the caller retries from an earlier keyframe."""
        idx = self.index
        self._container.seek(int(idx.pts[k]), stream=self._stream, backward=True, any_frame=False)
        self._stream.codec_context.flush_buffers()
        self._inspector.reset()
        self._owed.reset()
        self._ahead.clear()
        self._started = False
        self._start_key_max_pts = int(idx.pts[n])
        self._start_key_min_pts = int(idx.pts[k])
        self._overshot = False
        self._frames = self._frame_iter()
        self._pos = k - 1
        self._check_key = k if k > 0 else None  # frame 0 is where any decode must start anyway
        self._stale = False

    def _rewind(self, n: int, k: int | None = None) -> None:
        """Reopen the file and decode from its first byte, starting at keyframe k (default: the
        one at or before n; the packets before it are only demuxed)."""
        if k is None:
            k = self.index.keyframe_at_or_before(n)
        self._release_decoder()
        self._container.close()
        self._container = open_container(self.path, self.label, options=self._open_options)
        self._stream = video_stream(self._container, self.label)
        self._configure(self._stream)
        self._inspector.reset()
        self._owed.reset()
        self._ahead.clear()
        self._started = False
        self._frames = self._frame_iter()
        self._pos = -1
        self._start_key_max_pts = int(self.index.pts[n])
        self._start_key_min_pts = int(self.index.pts[k])
        self._overshot = False
        self._check_key = k if k > 0 else None
        self._stale = False

    def _frame_iter(self):
        """Decoded frames from the current demux position. Each packet sent adds the frame it owes
        (decode_errors.OwedFrames); packets the decoder rejects are counted and skipped."""
        cc = self._stream.codec_context
        idx = self.index
        for packet in read_packets(self._container, self._stream, self.label, None):
            if self._start_key_max_pts is not None and packet.size:
                if not packet.is_keyframe:
                    continue  # cannot decode before a keyframe: the seek landed past it
                t = packet.pts if packet.pts is not None else packet.dts
                if t is not None and t > self._start_key_max_pts:
                    self._overshot = True
                    return
                if t is not None and t < self._start_key_min_pts:
                    continue  # landed on an earlier keyframe: skip (demux only) to the one wanted
                self._start_key_max_pts = None
            if packet.size:
                full = packet.pts is None or self._full_from_pts is None or packet.pts >= self._full_from_pts
                cc.skip_frame = "DEFAULT" if full else "NONREF"
                payload = packet
                self._owe(packet, full, idx)
            else:
                cc.skip_frame = "DEFAULT"
                payload = None  # end of stream: drain the decoder
            try:
                frames = cc.decode(payload)
            except av.FFmpegError as exc:
                self.damaged_packets += 1
                log.debug("%s: skipping a damaged packet at pts %s: %s", self.label, packet.pts, exc)
                self._taint_near(packet.pts)
                continue
            self.decoded_frames += len(frames)
            yield from frames

    def _owe(self, packet, full: bool, idx: FrameIndex) -> None:
        """Note the frame this packet must give: every packet decoded in full, and under NONREF
        the reference pictures (and packets holding no decodable picture, i.e. damaged ones).
        A reference picture lost before this packet taints it and what follows in its GOP."""
        t = packet.pts if packet.pts is not None else packet.dts
        j = idx.frame_of_pts(t) if t is not None else -1
        kind, lost_before = self._inspector.inspect(packet)
        if lost_before and j >= 0:
            self.damaged_packets += 1
            self._taint(j)
        if j < 0 or kind == decode_errors.LEADING:
            return
        if full or kind in (decode_errors.REFERENCE, decode_errors.NONE):
            self._owed.owe(j)

    def _decode(self, n: int) -> Frame:
        try:
            return self._decode_exact(n)
        except av.FFmpegError as exc:
            self._frames = None
            raise ReadError(f"{self.label}: frame {n} could not be read ({exc.strerror or exc})") from exc

    def _decode_exact(self, n: int) -> Frame:
        idx = self.index
        kf = idx.keyframe_at_or_before(n)
        last = self._last_target
        backward = last is not None and n < last <= n + BACKWARD_REACH
        self._last_target = n
        distrust = self.claims_distrusted
        start = self._real_start(kf, distrust)
        lo = n
        if backward:  # convert and keep the frames before n too: the next steps back are cache hits
            frame_bytes = int(np.prod(self.size)) * 3
            reach = max(1, (self.cache.capacity_for(frame_bytes) * 3) // 4)
            lo = max(kf, n - reach + 1)  # (not from ``start``: where claims are distrusted that is
            # frame 0, and converting up to ``reach`` frames at each step back cost more than it saved)
        # Decode on instead of seeking when the seek could not start much nearer to n: every seek
        # starts at or before ``start`` (honest files: n's keyframe; others: see _real_start).
        can_continue = n in self._ahead or (self._frames is not None and not self._stale
                                            and start - 1 - CONTINUE_SLACK <= self._pos < n)
        if can_continue:
            try:
                frame = self._decode_forward(n, lo, fresh_seek=False)
            except _FalseStart:
                frame = None
            if frame is not None:
                return frame
        k = start
        overshoots, step = 0, FIRST_WALK_BACK
        while True:
            self._seek(k, n)
            try:
                frame = self._decode_forward(n, min(lo, n), fresh_seek=True)
            except _FalseStart:  # k is no real keyframe and no real one came before n: further back
                k = self._real_start(max(0, min(k - 1, n - step)), distrust)
                step *= 2
                continue
            if frame is not None:
                return frame
            if k == 0 or overshoots >= MAX_SEEK_RETRIES:
                break
            overshoots += 1
            k = self._start_at_or_before(max(0, k - 1))  # the demuxer overshot: start one GOP earlier
        for start in (k, 0):  # from the first byte: slow, but no demuxer seek can miss
            self._rewind(n, start)
            try:
                frame = self._decode_forward(n, min(lo, n), fresh_seek=True)
            except _FalseStart:
                continue
            if frame is not None:
                return frame
            break
        raise ReadError(f"{self.label}: frame {n} could not be decoded (the file may be damaged)")

    @property
    def claims_distrusted(self) -> bool:
        """The decoder has shown no intra picture past frame 0 in the first DISTRUST_AFTER frames
        while claims there proved false (decoders that mark no picture intra: CineForm, msvideo1,
        QuickTime RLE). Why that is known: a seek walks back until it meets a real intra picture or
        decodes from frame 0, and every picture decoded once a claim proved false is judged, so a
        claim at f proved false while decoding leaves either a real intra picture before f or a
        decode from 0 through f that met none."""
        return self._no_intra_known or (self._false_decoded_max >= DISTRUST_AFTER and not self._true_past_zero)

    def _real_start(self, m: int, distrust: bool) -> int:
        """Where a seek for a frame after m starts: the nearest claimed keyframe at or before m not
        known false; where claims are distrusted, one not yet shown intra would prove false too and
        the seek walk back to the only known real start, frame 0: start there at once."""
        k = self._start_at_or_before(m)
        if distrust and k > 0 and k not in self.true_keys:
            return 0
        return k

    def _start_at_or_before(self, m: int) -> int:
        """The nearest claimed keyframe at or before frame m that the decoder has not shown to be
        false (frame 0 if none)."""
        idx = self.index
        k = idx.keyframe_at_or_before(m)
        while k > 0 and k in self.false_keys:
            k = idx.keyframe_at_or_before(k - 1)
        return k

    def is_real_keyframe(self, k: int) -> bool:
        """Whether frame k is flagged key and the decoder makes an intra picture of it (so a clip
        copied from k decodes alone). Claims already learnt are reused; else one packet is decoded
        by a second reader."""
        idx = self.index
        if k in self.true_keys or k == 0:
            return bool(idx.keyframe[k])
        if k in self.false_keys or not idx.keyframe[k]:
            return False
        with open_container(self.path, self.label, options=self._open_options) as c:
            s = video_stream(c, self.label)
            s.thread_type = "SLICE"
            try:
                for frames in flagged_packet_pictures(c, s, int(idx.pts[k]), not_before=True):
                    ok = bool(frames) and is_intra(frames[0])
                    (self.true_keys if ok else self.false_keys).add(k)
                    self._true_past_zero |= ok
                    return ok
            except av.FFmpegError:
                return False
        return False

    def _check_start(self, i: int, f: av.VideoFrame) -> None:
        """Keyframe claims against the decoder: after a seek the claimed keyframe must come out as
        an intra picture, else everything up to the next real intra picture is suspect
        (``_stale``). Pictures that come out before the claimed keyframe (leading pictures of an
        open GOP) and decoders that withhold it until they have recovered are not judged."""
        if self._check_key is not None and i >= self._check_key:
            if i == self._check_key and not is_intra(f):
                self._stale = True
                if not self.false_keys:
                    log.info("%s: %s", self.label, OVERCLAIM_WARNING)
                    self.warnings.append(f"{self.label}: {OVERCLAIM_WARNING}")
            self._check_key = None
        if self.false_keys or self._stale:  # once a file is known to overclaim, learn every claim met
            if is_intra(f):
                self._stale = False
                self.true_keys.add(i)
                self._true_past_zero |= i > 0
            elif self.index.keyframe[i]:
                self.false_keys.add(i)
                self._false_decoded_max = max(self._false_decoded_max, i)

    def _decode_forward(self, n: int, lo: int, *, fresh_seek: bool) -> Frame | None:
        """Decode on to frame n, converting frames lo..n. None means the seek overshot n."""
        idx = self.index
        self._full_from_pts = int(idx.pts[lo])
        before: tuple[int, av.VideoFrame] | None = None
        first = True
        for i, f in self._output():
            if first and fresh_seek and i > n:
                return None
            first = False
            if self._stale:  # decoded from a false keyframe, before any real intra picture
                if i >= n:
                    raise _FalseStart
                continue
            if lo <= i <= n:
                img = self._to_rgb(f)
                self.cache.put(i, img)
                if i == n:
                    self._settle_flags(lo, n)
                    return Frame(n, idx.time_of(n), img, bool(idx.keyframe[n]), corrupt=self.is_tainted(n))
            elif i > n:  # n itself never came out of the decoder: show its nearest neighbour
                self._ahead[i] = f
                return self._damaged(n, before or (i, f))
            before = (i, f)
        if self._stale:
            raise _FalseStart
        if self._overshot:
            return None
        if before is not None:
            return self._damaged(n, before)
        return None

    def _output(self) -> Iterator[tuple[int, av.VideoFrame]]:
        """Frames in presentation order: first those pulled ahead earlier, then the decoder's."""
        while self._ahead:
            i = min(self._ahead)
            yield i, self._ahead.pop(i)
        while (item := self._pull()) is not None:
            yield item

    def _pull(self) -> tuple[int, av.VideoFrame] | None:
        """The decoder's next frame with its number; damage it reveals is recorded on the way:
        the decoder's own corrupt mark, and pictures owed before it that never came out."""
        if self._frames is None:
            return None
        f = next(self._frames, None)
        idx = self.index
        if f is None:
            self._frames = None  # end of stream (or the seek overshot)
            if not self._overshot:
                for j in self._owed.drain():
                    self.damaged_packets += 1
                    self._taint(j)
            return None
        i = idx.frame_of_pts(f.pts)
        if i < 0:
            i = self._pos + 1  # a decoder that drops pts: count on from the last frame
            self._note_unindexed(f.pts)
        else:
            lost = self._owed.settle(i)     # pictures owed before i that never came out
            if self._started:               # (before the first output after a seek the decoder
                for j in lost:              # withholds pictures by design: not yet recovered)
                    self.damaged_packets += 1
                    self._taint(j)
            self._started = True
            self._check_start(i, f)
        self._pos = i
        if f.is_corrupt:                    # concealed damage, flagged by the decoder itself
            self.damaged_packets += 1
            self._taint(i)
        return i, f

    def _settle_flags(self, lo: int, n: int) -> None:
        """Before frames lo..n are shown, every frame decoded before them must have come out, so
        that its damage (known only when it comes out) has been recorded. A B-frame is decoded
        after the later picture it references, which comes out after it: keep pulling frames
        (kept in ``_ahead`` for the next steps) until that one is out too."""
        need = int(self._flags_known_after()[lo:n + 1].max())
        limit = n + MAX_PULL_AHEAD
        while self._pos < need:
            if self._pos >= limit or self._pull_ahead() is None:
                if self._frames is not None or self._owed:  # gave up, not the end: cannot vouch for n
                    self._taint(n)
                return

    def _pull_ahead(self) -> tuple[int, av.VideoFrame] | None:
        item = self._pull()
        if item is not None:
            self._ahead[item[0]] = item[1]
        return item

    def _flags_known_after(self) -> np.ndarray:
        """Per frame j: the highest frame number among j and the frames decoded before it. Once
        that frame has come out of the decoder, every picture j can depend on has come out."""
        if self._known_after is None:
            idx = self.index
            if self._by_decode is None:
                self._by_decode = np.argsort(idx.decode_order, kind="stable")
            order = self._by_decode
            prefix = np.maximum.accumulate(order)            # highest frame number among the first d+1 decoded
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
            before = np.where(rank > 0, prefix[np.maximum(rank - 1, 0)], -1)
            self._known_after = np.maximum(before, np.arange(len(order)))
        return self._known_after

    def _note_unindexed(self, pts) -> None:
        """The decoder gave a frame whose pts is not in the table (e.g. field-coded streams whose
        fields the demuxer sent apart). Frame numbers near it are counted, not looked up: say so."""
        self.unindexed_frames += 1
        if self.unindexed_frames == 1:
            self.warnings.append(f"{self.label}: the decoder returned a frame (pts {pts}) that the frame "
                                 "table does not list; frame numbers near it may be approximate")

    def _taint(self, j: int) -> None:
        """Frame j failed to decode: every frame of its GOP decoded after it (decode order) may
        reference it, so all of those are marked as possibly wrong. Earlier ones cannot be."""
        if j < 0:
            return
        idx = self.index
        if self._tainted is None:
            self._tainted = np.zeros(idx.n_frames, bool)
        a, b = idx.gop_bounds(j)
        d = idx.decode_order[j]
        self._tainted[a:b + 1] |= idx.decode_order[a:b + 1] >= d

    def _taint_near(self, pts: int | None) -> None:
        """A decode error surfaced while feeding the packet with this pts. With frame threads the
        error may belong to one of the few packets sent before it, so the taint starts there."""
        idx = self.index
        j = idx.frame_of_pts(pts) if pts is not None else self._pos + 1
        if j < 0 or j >= idx.n_frames:
            j = min(max(self._pos, 0), idx.n_frames - 1)
        if self._by_decode is None:
            self._by_decode = np.argsort(idx.decode_order, kind="stable")
        cc = self._stream.codec_context
        lag = int(cc.thread_count or 1) + 1 if self.frame_threads else 0
        d = int(np.searchsorted(idx.decode_order[self._by_decode], idx.decode_order[j]))
        for k in {j, int(self._by_decode[max(0, d - lag)])}:
            self._taint(k)

    def is_tainted(self, n: int) -> bool:
        return bool(self._tainted is not None and self._tainted[n])

    def _damaged(self, n: int, near: tuple[int, av.VideoFrame]) -> Frame:
        self._taint(n)
        i, f = near
        self.warnings.append(f"frame {n} could not be decoded; showing frame {i}") if len(self.warnings) < 50 else None
        return Frame(n, self.index.time_of(n), self._to_rgb(f), bool(self.index.keyframe[n]),
                     damaged=True, shown_index=int(i))

    # --- thumbnails ---
    def thumbnails(self, count: int = 160, height: int = 72, cancel: CancelFn | None = None
                   ) -> Iterator[tuple[int, np.ndarray]]:
        """Keyframe-only thumbnails (``skip_frame = NONKEY``) from a second reader: one seek and one
        keyframe decode each, so an hour of video costs a few hundred decodes, not a full pass.
        Where the keyframe flags overclaim (AVI of H.261), a flagged packet that decodes to a P
        picture is passed over for the next real intra picture, shown under its own frame number.
        A decoder that marks no picture intra (QuickTime RLE, CineForm, Microsoft Video 1) gives
        no keyframe thumbnail at all: there, evenly spaced exact frames (_frame_thumbnails)."""
        idx = self.index
        chosen = spread(idx.keyframe_indices, count)
        shown = -1
        with open_container(self.path, self.label, options=self._open_options) as c:
            s = video_stream(c, self.label)
            cc = s.codec_context
            s.thread_type = "SLICE"
            if self.claims_distrusted or _marks_no_intra(c, s, int(idx.pts[0])):
                c.close()   # (closing again on leaving the block is harmless)
                yield from self._frame_thumbnails(count, height, cancel)
                return
            cc.skip_frame = "NONKEY"
            rgb = VideoReformatter()
            for k in chosen:
                if cancel is not None and cancel():
                    return
                if int(k) <= shown:
                    continue  # an earlier thumbnail already came from a real intra picture past k
                found = self._first_key_image(c, s, rgb, int(idx.pts[k]), height, self._palette)
                if found is None:
                    continue
                i = idx.frame_of_pts(found[0]) if found[0] is not None else -1
                i = int(k) if i < 0 else i
                if i > shown:  # the demuxer may land on an earlier real keyframe than k
                    shown = i
                    yield i, found[1]

    def _frame_thumbnails(self, count: int, height: int, cancel: CancelFn | None
                          ) -> Iterator[tuple[int, np.ndarray]]:
        """Thumbnails of evenly spaced frames for a decoder that marks no picture intra (QuickTime
        RLE, CineForm, Microsoft Video 1), where keyframe thumbnails find none: from the scrub
        proxy when there is one, else exact frames from a second reader of this class, asked in
        ascending order so it decodes the file once from the start (see claims_distrusted)
        instead of seeking per thumbnail. Each is shown under its own picture's number."""
        from .source import resize_to_height

        idx = self.index
        chosen = spread(np.arange(idx.n_frames), count)
        proxy = self.proxy
        if proxy is not None:
            for n in chosen:
                if cancel is not None and cancel():
                    return
                yield int(n), resize_to_height(proxy.image(int(n)), height)
            return
        reader = AVSource(self.path, cache_bytes=64 << 20, disk_cache=False, label=self.label,
                          open_options=self._open_options)
        reader._index = idx   # the same frame table: frame numbers agree with the viewer's
        reader._no_intra_known = True   # (_marks_no_intra): start at frame 0 and decode on, never walk back
        try:
            shown = -1
            for n in chosen:
                if cancel is not None and cancel():
                    return
                fr = reader.get(int(n))
                i = int(fr.shown_index) if fr.shown_index is not None else int(n)
                if i > shown:   # a damaged frame shows an earlier picture, under that picture's number
                    shown = i
                    yield i, resize_to_height(fr.image, height)
        finally:
            self.thumbnail_decodes = reader.decoded_frames
            reader.close()

    @staticmethod
    def _first_key_image(c, s, rgb: VideoReformatter, pts: int, height: int, palette=None,
                         ) -> tuple[int | None, np.ndarray] | None:
        """The first real intra picture at or after the keyframe at ``pts``: its pts and image.
        At most THUMB_SEARCH flagged packets are tried (flags that overclaim)."""
        try:
            tried = 0
            for frames in flagged_packet_pictures(c, s, pts, not_before=False):
                if not frames or not is_intra(frames[0]):  # (NONKEY: a P picture may give none)
                    tried += 1
                    if tried < THUMB_SEARCH:
                        continue
                    return None
                if frames:
                    f = frames[0] if palette is None else palette.fix(frames[0])
                    w = max(2, int(round(f.width * height / max(1, f.height))))
                    if f.height > height:
                        return f.pts, rgb.reformat(f, width=w, height=height, format="rgb24",
                                                   interpolation="AREA").to_ndarray()
                    return f.pts, rgb.reformat(f, format="rgb24").to_ndarray()
                return None
        except av.FFmpegError:
            return None
        return None
