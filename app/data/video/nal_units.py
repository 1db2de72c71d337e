"""Just enough H.264/HEVC bitstream reading to tell, per packet, which pictures it holds.

Splits a packet into NAL units (length-prefixed as in MP4/MKV, or Annex B start codes as in
MPEG-TS) and reads the few header fields a reader needs to notice damage without FFmpeg's log:
H.264 ``nal_ref_idc`` and ``frame_num`` (with the SPS/PPS fields that size it), HEVC
``nal_unit_type``. Pure functions over bytes; damaged input gives ``None``, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass

H264_HIGH_PROFILES = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)


def length_size_of(codec: str, extradata: bytes) -> int:
    """Bytes of the NAL length prefix, from avcC/hvcC extradata; 0 for Annex B streams."""
    ed = extradata
    if codec == "h264" and len(ed) >= 7 and ed[0] == 1:
        return (ed[4] & 3) + 1
    if codec == "hevc" and len(ed) >= 23 and (ed[0] or ed[1] or ed[2] > 1):
        return (ed[21] & 3) + 1
    return 0


def split(buf: bytes, length_size: int) -> list[bytes]:
    """The NAL units of a packet (header byte first). A length prefix that runs past the packet
    ends it; a packet that is not length-prefixed after all is read as Annex B (FFmpeg does too)."""
    if length_size:
        units, pos, end = [], 0, len(buf)
        while pos + length_size < end:
            n = int.from_bytes(buf[pos:pos + length_size], "big")
            pos += length_size
            if n <= 0 or pos + n > end:
                break
            units.append(buf[pos:pos + n])
            pos += n
        if units:
            return units
    return annex_b(buf)


def annex_b(buf: bytes) -> list[bytes]:
    starts, i = [], buf.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = buf.find(b"\x00\x00\x01", i + 3)
    ends = [a - 3 for a in starts[1:]] + [len(buf)]
    # a NAL unit never ends in a zero byte: trailing zeros belong to the next 4-byte start code
    return [buf[a:b].rstrip(b"\x00") for a, b in zip(starts, ends)]


def parameter_sets(extradata: bytes) -> list[bytes]:
    """The NAL units stored in H.264 extradata: avcC (SPS and PPS lists) or Annex B."""
    ed = extradata
    if not ed or ed[0] != 1:
        return annex_b(ed)
    out, pos = [], 6
    try:
        for count in (ed[5] & 0x1F, None):       # the SPS list, then the PPS list
            if count is None:
                count, pos = ed[pos], pos + 1
            for _ in range(count):
                size = int.from_bytes(ed[pos:pos + 2], "big")
                out.append(ed[pos + 2:pos + 2 + size])
                pos += 2 + size
    except IndexError:
        pass
    return [u for u in out if u]


def rbsp(unit: bytes, limit: int | None = None) -> bytes:
    """Payload without emulation-prevention bytes (00 00 03 -> 00 00), header byte(s) included."""
    data = unit if limit is None else unit[:limit]
    return data.replace(b"\x00\x00\x03", b"\x00\x00") if b"\x00\x00\x03" in data else data


class Bits:
    """Exp-Golomb bit reader; reading past the end raises IndexError."""

    def __init__(self, data: bytes, start_byte: int = 0) -> None:
        self.v = int.from_bytes(data, "big")
        self.n = len(data) * 8
        self.pos = start_byte * 8

    def u(self, k: int) -> int:
        if k == 0:
            return 0
        if self.pos + k > self.n:
            raise IndexError("bitstream ended")
        self.pos += k
        return (self.v >> (self.n - self.pos)) & ((1 << k) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise IndexError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


@dataclass(frozen=True)
class H264Sps:
    log2_max_frame_num: int
    gaps_allowed: bool
    separate_colour_plane: bool = False
    chroma_format_idc: int = 1
    frame_mbs_only: bool = True
    poc_type: int = 0
    log2_max_poc_lsb: int = 4
    delta_pic_order_always_zero: bool = False


@dataclass(frozen=True)
class H264Pps:
    sps_id: int
    bottom_field_pic_order: bool = False
    num_ref_idx_default: tuple[int, int] = (1, 1)
    weighted_pred: bool = False
    weighted_bipred_idc: int = 0
    redundant_pic_cnt_present: bool = False


@dataclass(frozen=True)
class H264Slice:
    first_mb: int
    frame_num: int
    sps: H264Sps
    mmco5: bool | None   # memory_management_control_operation 5 present; None when not read


def h264_sps(unit: bytes) -> tuple[int, H264Sps] | None:
    """(sps id, the fields a slice header's first part depends on) of an SPS NAL unit."""
    try:
        b = Bits(rbsp(unit), 1)
        profile = b.u(8)
        b.u(16)                                   # constraint flags, level
        sps_id = b.ue()
        chroma, separate = 1, False
        if profile in H264_HIGH_PROFILES:
            chroma = b.ue()
            if chroma == 3:
                separate = bool(b.u(1))
            b.ue(), b.ue(), b.u(1)                # bit depths, qpprime_y_zero_transform_bypass
            if b.u(1):                            # seq_scaling_matrix_present_flag
                for i in range(8 if chroma != 3 else 12):
                    if b.u(1):
                        last = nxt = 8
                        for _ in range(16 if i < 6 else 64):
                            if nxt:
                                nxt = (last + b.se() + 256) % 256
                            last = nxt or last
        log2_max_frame_num = b.ue() + 4
        poc_type = b.ue()
        log2_max_poc_lsb, always_zero = 4, False
        if poc_type == 0:
            log2_max_poc_lsb = b.ue() + 4
        elif poc_type == 1:
            always_zero = bool(b.u(1))
            b.se(), b.se()
            for _ in range(b.ue()):
                b.se()
        b.ue()                                    # max_num_ref_frames
        gaps = bool(b.u(1))
        b.ue(), b.ue()                            # picture size in macroblocks
        frame_mbs_only = bool(b.u(1))
        if sps_id > 31 or not 4 <= log2_max_frame_num <= 16 or poc_type > 2 or chroma > 3:
            return None
        return sps_id, H264Sps(log2_max_frame_num, gaps, separate, chroma, frame_mbs_only, poc_type,
                               log2_max_poc_lsb, always_zero)
    except IndexError:
        return None


def h264_pps(unit: bytes) -> tuple[int, H264Pps] | None:
    """(pps id, the fields a slice header depends on) of a PPS NAL unit."""
    try:
        b = Bits(rbsp(unit, 512), 1)
        pps_id, sps_id = b.ue(), b.ue()
        b.u(1)                                    # entropy_coding_mode_flag
        bottom = bool(b.u(1))
        groups = b.ue() + 1
        if groups > 1:
            map_type = b.ue()
            if map_type == 0:
                for _ in range(groups):
                    b.ue()
            elif map_type == 2:
                for _ in range(2 * (groups - 1)):
                    b.ue()
            elif map_type in (3, 4, 5):
                b.u(1), b.ue()
            elif map_type == 6:
                bits = (groups - 1).bit_length()
                for _ in range(b.ue() + 1):
                    b.u(bits)
        l0, l1 = b.ue() + 1, b.ue() + 1
        weighted, bipred = bool(b.u(1)), b.u(2)
        b.se(), b.se(), b.se()                    # pic_init_qp, pic_init_qs, chroma_qp_index_offset
        b.u(2)                                    # deblocking control, constrained intra
        redundant = bool(b.u(1))
        if pps_id > 255 or sps_id > 31:
            return None
        return pps_id, H264Pps(sps_id, bottom, (l0, l1), weighted, bipred, redundant)
    except IndexError:
        return None


def h264_slice(unit: bytes, pps: dict[int, H264Pps], sps: dict[int, H264Sps]) -> H264Slice | None:
    """The start of a slice header (7.3.3) up to dec_ref_pic_marking, read only to know
    frame_num and whether memory_management_control_operation 5 resets it. None when even
    frame_num cannot be read; ``mmco5`` None when the rest cannot."""
    nal_type, ref_idc = unit[0] & 0x1F, unit[0] >> 5
    try:
        b = Bits(rbsp(unit, 320), 1)
        first_mb = b.ue()
        slice_type = b.ue() % 5                   # 0 P, 1 B, 2 I, 3 SP, 4 SI
        p = pps.get(b.ue())
        s = sps.get(p.sps_id) if p is not None else None
        if s is None:
            return None
        if s.separate_colour_plane:
            b.u(2)
        frame_num = b.u(s.log2_max_frame_num)
    except IndexError:
        return None
    try:
        return H264Slice(first_mb, frame_num, s, _mmco5(b, s, p, nal_type, ref_idc, slice_type))
    except IndexError:
        return H264Slice(first_mb, frame_num, s, None)


def _mmco5(b: Bits, s: H264Sps, p: H264Pps, nal_type: int, ref_idc: int, slice_type: int) -> bool:
    field = False
    if not s.frame_mbs_only:
        field = bool(b.u(1))
        if field:
            b.u(1)
    if nal_type == 5:
        b.ue()                                    # idr_pic_id
    if s.poc_type == 0:
        b.u(s.log2_max_poc_lsb)
        if p.bottom_field_pic_order and not field:
            b.se()
    if s.poc_type == 1 and not s.delta_pic_order_always_zero:
        b.se()
        if p.bottom_field_pic_order and not field:
            b.se()
    if p.redundant_pic_cnt_present:
        b.ue()
    is_b, is_p = slice_type == 1, slice_type in (0, 3)
    if is_b:
        b.u(1)                                    # direct_spatial_mv_pred_flag
    l0, l1 = p.num_ref_idx_default
    if is_p or is_b:
        if b.u(1):                                # num_ref_idx_active_override_flag
            l0 = b.ue() + 1
            if is_b:
                l1 = b.ue() + 1
    for present in ((is_p or is_b), is_b):        # ref_pic_list_modification l0, l1
        if present and b.u(1):
            while (idc := b.ue()) != 3:
                if idc > 5:
                    raise IndexError("bad modification_of_pic_nums_idc")
                b.ue()
    if (p.weighted_pred and is_p) or (p.weighted_bipred_idc == 1 and is_b):
        chroma = 0 if s.separate_colour_plane else s.chroma_format_idc
        b.ue()
        if chroma:
            b.ue()
        for count in ((l0, l1) if is_b else (l0,)):
            for _ in range(count):
                if b.u(1):
                    b.se(), b.se()
                if chroma and b.u(1):
                    b.se(), b.se(), b.se(), b.se()
    if not ref_idc or nal_type == 5 or not b.u(1):  # adaptive_ref_pic_marking_mode_flag
        return False
    for _ in range(64):
        op = b.ue()
        if op == 0:
            return False
        if op == 5:
            return True
        if op > 6:
            raise IndexError("bad memory_management_control_operation")
        b.ue()
        if op == 3:
            b.ue()
    return False
