"""Damage signals that need no FFmpeg log: how a reader knows a decoded picture may be wrong.

FFmpeg hides damage. H.264 and MPEG-4 conceal broken macroblocks with nearby pixels; a picture whose
slices are all broken is dropped, and the pictures that reference it are decoded against a stand-in
(H.264 copies the previous reference, HEVC makes a grey one). None of this returns an error code.
Loupe used to count the decoder's error messages routed into Python, but PyAV's log callback takes
the GIL from FFmpeg's worker threads: a frame-threaded codec context freed (GIL held, e.g. at exit)
while one of its workers logs never returns (PyAV #751/#909; reproduced with PyAV 18.1: the seek
loop of tests/test_video_damage_threads.py, 2000 random seeks in a damaged H.264 file with three
frame threads, hung at exit in 9 of 14 runs with the log routed to Python, 0 of 14 without). So
FFmpeg's log stays out of Python (PyAV's default), which is what makes frame threads safe, and
damage is read from what the decoder returns:

1. its mark on the frame: ``frame.is_corrupt`` (``decode_error_flags`` or ``AV_FRAME_FLAG_CORRUPT``),
   set when error concealment ran (H.264 with one slice context per picture: frame threads or one
   thread; with several slice threads H.264 does not set it; MPEG-4 part 2);
2. an error returned by the decoder (with frame threads it surfaces a few packets late);
3. a picture that should have come out and did not. Every packet decoded in full must give a frame,
   and so must every reference picture when non-reference ones are skipped (``skip_frame = NONREF``).
   :class:`PacketInspector` reads from a packet's NAL unit headers whether it holds a reference
   picture, with the test FFmpeg's NONREF skip applies (H.264 ``nal_ref_idc``, HEVC
   ``nal_unit_type``);
4. a reference picture lost before the decoder saw it (MPEG-TS packet loss, a destroyed header):
   H.264 ``frame_num`` skips a value (:class:`PacketInspector`). FFmpeg reports that only at debug
   level, so the error count missed it too.

Damage studies (packets overwritten mid-GOP, bit flips, truncations, headers, bursts; playback,
random seeks and backward steps; every returned frame compared with the clean decode): H.264 in
MP4 and MPEG-TS, 320x240 and 720p, no damaged frame shown unflagged except bit flips FFmpeg itself
decodes without noticing (the error count missed the same frames); MPEG-TS: 0 unflagged frames
against 42 with the error count. HEVC, MPEG-4 and VP9: the same frames flagged as with the error
count (VP9 more with frame threads); what neither notices is a Known limit (bit errors and zeroed
tails in HEVC and VP9 slice data).
"""
from __future__ import annotations

import heapq

from . import nal_units

NONE = 0          # no decodable coded picture in the packet (damaged, or not a picture)
DISPOSABLE = 1    # a picture nothing references: NONREF skips it
REFERENCE = 2     # a picture later ones may reference: always decoded
LEADING = 3       # HEVC RASL picture the decoder drops after starting at its CRA (never output)
UNKNOWN = -1      # codec without a parser here: only packets decoded in full are expected to give a frame

# codecs whose packets can be classified; others keep the weaker "decoded in full" expectation
PARSED_CODECS = ("h264", "hevc")


def frame_threads_safe() -> bool:
    """Frame-threaded decoding is safe only while PyAV's Python log callback is off (the default):
    with it on, FFmpeg's worker threads call into Python and a codec teardown can deadlock."""
    import av.logging

    return av.logging.get_level() is None


class PacketInspector:
    """Reads the NAL unit headers of each packet of one H.264 or HEVC stream, before decoding:
    ``inspect(packet) -> (kind, lost_before)``. ``kind`` says whether the decoder owes a frame for
    it under NONREF; ``lost_before`` that a reference picture between the previous packet and this
    one is missing (H.264 ``frame_num`` skipped a value), which is how a picture lost before the
    decoder shows: dropped by the demuxer (MPEG-TS), or its header destroyed. FFmpeg itself only
    notices that at debug level ("Frame num gap") and decodes on against a copied stand-in.
    ``reset()`` after every seek."""

    def __init__(self, codec: str, extradata: bytes | None) -> None:
        self.codec = codec if codec in PARSED_CODECS else ""
        ed = bytes(extradata or b"")
        self.length_size = nal_units.length_size_of(self.codec, ed)
        self._sps: dict[int, nal_units.H264Sps] = {}
        self._pps: dict[int, nal_units.H264Pps] = {}
        if self.codec == "h264":
            for unit in nal_units.parameter_sets(ed):
                self._parameter_set(unit)
        self.reset()

    @property
    def parsed(self) -> bool:
        return bool(self.codec)

    def reset(self) -> None:
        self._prev_ref_frame_num: int | None = None  # H.264 PrevRefFrameNum, unknown after a seek
        self._iraps = 0                               # HEVC random-access pictures since the reset
        self._bla = False                             # the last one was a BLA

    def inspect(self, data) -> tuple[int, bool]:
        if not self.codec:
            return UNKNOWN, False
        units = nal_units.split(bytes(data), self.length_size)
        return self._h264(units) if self.codec == "h264" else (self._hevc(units), False)

    # --- H.264 ---
    def _parameter_set(self, unit: bytes) -> None:
        t = unit[0] & 0x1F
        if t == 7 and (sps := nal_units.h264_sps(unit)) is not None:
            self._sps[sps[0]] = sps[1]
        elif t == 8 and (pps := nal_units.h264_pps(unit)) is not None:
            self._pps[pps[0]] = pps[1]

    def _h264(self, units: list[bytes]) -> tuple[int, bool]:
        kind, lost = NONE, False
        for unit in units:
            if not unit or unit[0] & 0x80:            # forbidden_zero_bit: FFmpeg skips the unit
                continue
            t, ref = unit[0] & 0x1F, unit[0] >> 5     # nal_unit_type, nal_ref_idc
            if t in (7, 8):
                self._parameter_set(unit)
            elif 1 <= t <= 5:                         # coded slice (non-IDR, partitions, IDR)
                kind = REFERENCE if ref else max(kind, DISPOSABLE)
                sl = nal_units.h264_slice(unit, self._pps, self._sps) if t in (1, 5) else None
                if sl is not None and sl.first_mb == 0:   # first slice of a picture
                    lost |= self._frame_num_gap(sl, t == 5, bool(ref))
        return kind, lost

    def _frame_num_gap(self, sl: nal_units.H264Slice, idr: bool, ref: bool) -> bool:
        """H.264 7.4.3: a picture's frame_num is PrevRefFrameNum or PrevRefFrameNum + 1 (mod
        MaxFrameNum); anything else means reference pictures are missing, unless the SPS allows
        gaps. After an IDR or a picture with memory_management_control_operation 5 the count
        restarts at 0."""
        prev, sps = self._prev_ref_frame_num, sl.sps
        gap = (not idr and prev is not None and not sps.gaps_allowed
               and sl.frame_num not in (prev, (prev + 1) % (1 << sps.log2_max_frame_num)))
        if ref:
            self._prev_ref_frame_num = 0 if idr or sl.mmco5 else sl.frame_num
        return gap

    # --- HEVC ---
    def _hevc(self, units: list[bytes]) -> int:
        kind = NONE
        for h in units:
            if len(h) < 2 or h[0] & 0x80:
                continue
            t = (h[0] >> 1) & 0x3F
            layer = ((h[0] & 1) << 5) | (h[1] >> 3)
            if layer or not (t <= 9 or 16 <= t <= 21):  # base layer, defined VCL types only
                continue
            if 16 <= t <= 21:                           # IRAP: BLA, IDR, CRA
                self._iraps += 1
                self._bla = t <= 18
                return REFERENCE
            if t in (8, 9) and (self._iraps <= 1 or self._bla):
                return LEADING                          # RASL of the CRA decoding began at, or of a BLA
            if t % 2:                                   # odd types are sub-layer reference pictures
                return REFERENCE
            kind = DISPOSABLE
        return kind


class OwedFrames:
    """Frame numbers the decoder owes: added when their packet is sent, settled when frames come
    out. The decoder returns pictures in presentation order, so when frame ``i`` comes out every
    owed frame before ``i`` that has not come out was lost."""

    def __init__(self) -> None:
        self._owed: list[int] = []

    def __len__(self) -> int:
        return len(self._owed)

    def reset(self) -> None:
        self._owed.clear()

    def owe(self, j: int) -> None:
        heapq.heappush(self._owed, int(j))

    def settle(self, i: int) -> list[int]:
        """Frame ``i`` came out: the owed frames before it that were lost."""
        lost = []
        while self._owed and self._owed[0] <= i:
            j = heapq.heappop(self._owed)
            if j < i:
                lost.append(j)
        return lost

    def drain(self) -> list[int]:
        """End of stream: whatever is still owed was lost."""
        lost = sorted(set(self._owed))
        self._owed.clear()
        return lost
