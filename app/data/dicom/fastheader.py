"""A small, strict reader for the common case: one uncompressed little-endian image per file.

Why: pydicom builds a full Dataset with typed values for every element (~1 ms a file); a 140-slice
CT then spends more time parsing headers than reading its 75 MB of pixels. This reader walks the
elements of the first few kilobytes, converts only the ~60 tags the loader, the sidecar and the
catalog use, and records where Pixel Data starts. Anything it is not sure about (compressed or
big-endian transfer syntaxes, enhanced multi-frame, mosaics, DICOMDIR, odd encodings) raises
``NotSimple`` and the caller uses pydicom instead, so correctness never depends on this file.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
#: JPEG family, JPEG-LS, JPEG 2000, HTJ2K, RLE (not deflate 1.2.1.99, not big endian 1.2.2)
_ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")
_IMPLICIT_LE = "1.2.840.10008.1.2"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
PHILIPS_SCALE_SLOPE = 0x2005100E

# tag -> (keyword, kind); kinds: s = string, m = multi-string, f = number, F = numbers, i = integer,
# I = integers, b = binary per VR (US/UL/SS/SL/FL/FD)
_WANTED: dict[int, tuple[str, str]] = {
    0x00080008: ("ImageType", "m"), 0x00080016: ("SOPClassUID", "s"), 0x00080018: ("SOPInstanceUID", "s"),
    0x00080020: ("StudyDate", "s"), 0x00080021: ("SeriesDate", "s"), 0x00080022: ("AcquisitionDate", "s"),
    0x00080030: ("StudyTime", "s"), 0x00080031: ("SeriesTime", "s"), 0x00080032: ("AcquisitionTime", "s"),
    0x00080033: ("ContentTime", "s"), 0x00080050: ("AccessionNumber", "s"), 0x00080060: ("Modality", "s"),
    0x00080070: ("Manufacturer", "s"), 0x00080080: ("InstitutionName", "s"),
    0x00081030: ("StudyDescription", "s"), 0x0008103E: ("SeriesDescription", "s"),
    0x00081090: ("ManufacturerModelName", "s"), 0x00082111: ("DerivationDescription", "s"),
    0x00100010: ("PatientName", "s"), 0x00100020: ("PatientID", "s"), 0x00100030: ("PatientBirthDate", "s"),
    0x00100040: ("PatientSex", "s"), 0x00180015: ("BodyPartExamined", "s"),
    0x00180020: ("ScanningSequence", "m"), 0x00180021: ("SequenceVariant", "m"), 0x00180022: ("ScanOptions", "m"),
    0x00180023: ("MRAcquisitionType", "s"),
    0x00180050: ("SliceThickness", "f"), 0x00180060: ("KVP", "f"), 0x00180080: ("RepetitionTime", "f"),
    0x00180081: ("EchoTime", "f"), 0x00180086: ("EchoNumbers", "I"), 0x00180087: ("MagneticFieldStrength", "f"),
    0x00180088: ("SpacingBetweenSlices", "f"), 0x00181020: ("SoftwareVersions", "m"),
    0x00181030: ("ProtocolName", "s"), 0x00181120: ("GantryDetectorTilt", "f"), 0x00181150: ("ExposureTime", "f"),
    0x00181152: ("Exposure", "f"), 0x00181210: ("ConvolutionKernel", "m"), 0x00181314: ("FlipAngle", "f"),
    0x00185100: ("PatientPosition", "s"), 0x0020000D: ("StudyInstanceUID", "s"),
    0x0020000E: ("SeriesInstanceUID", "s"), 0x00200011: ("SeriesNumber", "i"), 0x00200012: ("AcquisitionNumber", "i"),
    0x00200013: ("InstanceNumber", "i"), 0x00200032: ("ImagePositionPatient", "F"),
    0x00200037: ("ImageOrientationPatient", "F"), 0x00200052: ("FrameOfReferenceUID", "s"),
    0x00200100: ("TemporalPositionIdentifier", "i"), 0x00201041: ("SliceLocation", "f"),
    0x00280002: ("SamplesPerPixel", "b"), 0x00280004: ("PhotometricInterpretation", "s"),
    0x00280008: ("NumberOfFrames", "i"), 0x00280010: ("Rows", "b"), 0x00280011: ("Columns", "b"),
    0x00280030: ("PixelSpacing", "F"), 0x00280100: ("BitsAllocated", "b"), 0x00280101: ("BitsStored", "b"),
    0x00280102: ("HighBit", "b"), 0x00280103: ("PixelRepresentation", "b"), 0x00281050: ("WindowCenter", "F"),
    0x00281051: ("WindowWidth", "F"), 0x00281052: ("RescaleIntercept", "f"), 0x00281053: ("RescaleSlope", "f"),
    0x00281054: ("RescaleType", "s"),
}
# VRs for the wanted binary tags when the file is implicit VR
_IMPLICIT_BINARY = {0x00280002: b"US", 0x00280010: b"US", 0x00280011: b"US", 0x00280100: b"US",
                    0x00280101: b"US", 0x00280102: b"US", 0x00280103: b"US", PHILIPS_SCALE_SLOPE: b"FL"}
# the presence of any of these means "not a simple image": let pydicom handle the file
_NOT_SIMPLE = {0x52009229, 0x52009230, 0x00041220, 0x00280006, 0x00281201, 0x00281101, 0x00291010}
_BINARY_FMT = {b"US": "<H", b"UL": "<I", b"SS": "<h", b"SL": "<i", b"FL": "<f", b"FD": "<d"}


class NotSimple(Exception):
    """This file needs the full pydicom reader."""


class _Elem:
    __slots__ = ("value", "value_tell", "length")

    def __init__(self, value, value_tell=None, length=0):
        self.value, self.value_tell, self.length = value, value_tell, length


class LiteHeader:
    """The subset of a pydicom Dataset's interface the loader uses: ``get``, ``in``, attribute
    access by keyword, ``file_meta`` and ``get_item(PixelData, keep_deferred=True)``."""

    def __init__(self, values: dict[str, object], tags: dict[int, object], file_meta: dict, pixel: _Elem | None,
                 file_size: int = 0):
        self._values, self._tags, self.file_meta, self._pixel = values, tags, file_meta, pixel
        self.file_size = file_size

    def _value(self, keyword, default=None):
        v = self._values.get(keyword, default)
        if type(v) is tuple:  # (kind, vr, bytes) as read; converted on first use
            v = self._values[keyword] = _converted(v)
        return v

    def get(self, key, default=None):
        if isinstance(key, str):
            return self._value(key, default)
        tag = key if isinstance(key, int) else (key[0] << 16 | key[1])
        if tag == PIXEL_DATA:
            return self._pixel if self._pixel is not None else default
        if tag in _WANTED:
            v = self._value(_WANTED[tag][0])
        else:
            v = self._tags.get(tag)
        return _Elem(v) if v is not None else default

    def get_item(self, key, keep_deferred: bool = False):
        tag = key if isinstance(key, int) else (key[0] << 16 | key[1])
        if tag == PIXEL_DATA:
            return self._pixel
        return self.get(tag)

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return key in self._values
        return self.get(key) is not None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._values:
            raise AttributeError(f"LiteHeader has no element {name!r}")
        return self._value(name)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


#: Converted values by (kind, vr, bytes): the files of a series repeat most of their values
#: (UIDs of study and series, vendor, spacing, orientation, window), so each is parsed once.
#: Bounded by clearing; entries are immutable or copied on use.
_MEMO: dict[tuple, object] = {}
_MEMO_MAX = 4096
_MISSING = object()


def _converted(item: tuple):
    v = _MEMO.get(item, _MISSING)
    if v is _MISSING:
        v = _convert(*item) if item[2] else ""
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[item] = v
    return list(v) if type(v) is list else v


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip(" \x00")


def _convert(kind: str, vr: bytes, raw: bytes):
    if kind == "b" or vr in _BINARY_FMT:
        fmt = _BINARY_FMT.get(vr)
        if fmt is None:
            raise NotSimple(f"unexpected VR {vr!r} for a binary element")
        size = struct.calcsize(fmt)
        vals = [struct.unpack_from(fmt, raw, o)[0] for o in range(0, len(raw) - size + 1, size)]
        return vals[0] if len(vals) == 1 else vals
    s = _text(raw)
    if kind == "s":
        return s
    parts = [p.strip(" \x00") for p in s.split("\\")]
    if kind == "m":
        return parts if len(parts) > 1 else parts[0]
    try:
        if kind == "f":
            return float(parts[0]) if parts[0] else None
        if kind == "F":
            return [float(p) for p in parts if p != ""]
        if kind == "i":
            return int(float(parts[0])) if parts[0] else None
        if kind == "I":
            vals = [int(float(p)) for p in parts if p != ""]
            return vals[0] if len(vals) == 1 else vals
    except ValueError as exc:
        raise NotSimple(f"malformed number {s!r}") from exc
    return s


class _Reader:
    def __init__(self, fh, buf: bytes):
        self.fh, self.buf = fh, buf

    def need(self, end: int) -> None:
        while end > len(self.buf):
            self.fh.seek(len(self.buf))  # _pixel_at_end may have read elsewhere in the file
            more = self.fh.read(max(len(self.buf), end - len(self.buf), 65536))
            if not more:
                raise NotSimple("file ends inside the header")
            self.buf += more


def _skip_undefined(r: _Reader, pos: int, explicit: bool) -> int:
    """Skip an undefined-length sequence starting at its first item; return position after it."""
    while True:
        r.need(pos + 8)
        tag = (struct.unpack_from("<H", r.buf, pos)[0] << 16) | struct.unpack_from("<H", r.buf, pos + 2)[0]
        length = struct.unpack_from("<I", r.buf, pos + 4)[0]
        pos += 8
        if tag == _SEQ_END:
            return pos
        if tag != _ITEM:
            raise NotSimple("malformed sequence")
        if length != 0xFFFFFFFF:
            pos += length
            continue
        pos = _walk(r, pos, explicit)


_EXPL = struct.Struct("<HH2sH").unpack_from
_IMPL = struct.Struct("<HHI").unpack_from
_U32 = struct.Struct("<I").unpack_from


class _Stopped(Exception):
    """Top-level walk passed ``stop_tag``: every wanted tag has been seen (tags are ascending)."""

    def __init__(self, pos: int):
        self.pos = pos


def _walk(r: _Reader, pos: int, explicit: bool) -> int:
    """Skip the elements of one nested item (undefined length); return the position after its
    item delimiter."""
    buf = r.buf
    size = len(buf)
    while True:
        if pos + 12 > size:
            r.need(pos + 12)
            buf, size = r.buf, len(r.buf)
        if explicit:
            group, elem, vr, length = _EXPL(buf, pos)
            if group == 0xFFFE:
                length = _U32(buf, pos + 4)[0]
                start = pos + 8
                vr = b""
            elif vr in _LONG_VRS:
                length = _U32(buf, pos + 8)[0]
                start = pos + 12
            else:
                if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
                    raise NotSimple("implicit element inside an explicit VR file")
                start = pos + 8
        else:
            group, elem, length = _IMPL(buf, pos)
            start = pos + 8
            vr = None
        if group == 0xFFFE:
            if elem == 0xE00D:
                return start
            raise NotSimple("unexpected delimiter")
        if length == 0xFFFFFFFF:
            pos = _skip_undefined(r, start, explicit and vr != b"UN")
            buf, size = r.buf, len(r.buf)
            continue
        pos = start + length


#: Top-level tags the walk acts on: wanted keyword/kind, the Philips private pair, pixel data and
#: the elements that send a file to the full reader. One dict lookup per element.
_TOP: dict[int, object] = dict(_WANTED)
_TOP.update({PHILIPS_SCALE_SLOPE: "philips", 0x20050010: "creator", PIXEL_DATA: "pixels"})
_TOP.update({t: "not simple" for t in _NOT_SIMPLE})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
                        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})


def _walk_top(r: _Reader, pos: int, explicit: bool, values: dict, tags: dict,
              stop_tag: int = 0xFFFFFFFF) -> int:
    """Walk top-level elements, keeping the wanted ones' bytes; return the position of the Pixel
    Data value. Raises _Stopped at the first tag beyond ``stop_tag`` (tags ascend). Written for
    speed (this loop is most of a header's cost): one struct call and one dict lookup per element,
    the buffer grown only near its end."""
    top = _TOP
    short = _SHORT_VRS
    buf = r.buf
    size = len(buf)
    while True:
        if pos + 12 > size:
            r.need(pos + 12)
            buf, size = r.buf, len(r.buf)
        if explicit:
            group, elem, vr, length = _EXPL(buf, pos)
            if group == 0xFFFE:
                raise NotSimple("unexpected delimiter")
            if vr in short:
                start = pos + 8
            elif vr in _LONG_VRS:
                length = _U32(buf, pos + 8)[0]
                start = pos + 12
            elif 65 <= vr[0] <= 90 and 65 <= vr[1] <= 90:
                start = pos + 8
            else:
                raise NotSimple("implicit element inside an explicit VR file")
        else:
            group, elem, length = _IMPL(buf, pos)
            if group == 0xFFFE:
                raise NotSimple("unexpected delimiter")
            start = pos + 8
            vr = None
        tag = group << 16 | elem
        if tag > stop_tag and tag != PIXEL_DATA:
            raise _Stopped(pos)
        action = top.get(tag)
        if action is not None:
            if action == "pixels":
                return start  # the caller reads the 4-byte length just before it
            if action == "not simple":
                raise NotSimple(f"element ({group:04X},{elem:04X}) needs the full reader")
        if length == 0xFFFFFFFF:
            # undefined length: a sequence (SQ, or UN holding implicit-VR items)
            pos = _skip_undefined(r, start, explicit and vr != b"UN")
            buf, size = r.buf, len(r.buf)
            continue
        end = start + length
        if action is not None:
            if end > size:
                r.need(end)
                buf, size = r.buf, len(r.buf)
            raw = buf[start:end]
            if vr is None:
                vr = _IMPLICIT_BINARY.get(tag, b"")
            if action == "creator":
                tags[tag] = _text(raw)
            elif action == "philips":
                tags[tag] = _convert("b", b"FL" if vr in (b"", b"UN") else vr, raw)
            else:
                keyword, kind = action
                values[keyword] = (kind, vr, raw)
        pos = end


def _holds(r: _Reader, start: int, stop: int, pattern: bytes) -> bool:
    """Whether ``pattern`` occurs in the file's bytes [start, stop)."""
    r.need(stop)
    return r.buf.find(pattern, start, stop) >= 0


def _pixel_at_end(r: _Reader, fh, values: dict, explicit: bool, size: int) -> tuple[int, int] | None:
    """(start, length) of the Pixel Data value if it is the file's last element, else None."""
    try:
        def binary(keyword):
            _, vr, raw = values[keyword]
            return _convert("b", vr or b"US", raw)

        rows, cols, bits = binary("Rows"), binary("Columns"), binary("BitsAllocated")
        spp = binary("SamplesPerPixel") if "SamplesPerPixel" in values else 1
    except (KeyError, struct.error, NotSimple):
        return None
    if not all(isinstance(x, int) for x in (rows, cols, bits, spp)) or bits % 8:
        return None
    nbytes = rows * cols * spp * bits // 8
    length = nbytes + (nbytes & 1)
    start = size - length
    head = start - (12 if explicit else 8)
    if head < 132:
        return None
    if start <= len(r.buf):
        blob = bytes(r.buf[head:start])
    else:
        fh.seek(head)
        blob = fh.read(start - head)
    if len(blob) != start - head or blob[:4] != b"\xe0\x7f\x10\x00":
        return None
    if struct.unpack_from("<I", blob, len(blob) - 4)[0] != length:
        return None
    if explicit and blob[4:6] not in (b"OW", b"OB"):
        return None
    return start, length


def read_lite_header(path: Path, chunk: int = 16384) -> LiteHeader:
    """Parse ``path`` if it is a simple uncompressed little-endian single image; else NotSimple."""
    with open(path, "rb") as fh:
        buf = fh.read(chunk)
        if len(buf) < 132 or buf[128:132] != b"DICM":
            raise NotSimple("no preamble")
        r = _Reader(fh, buf)
        pos = 132
        meta: dict = {}
        # file meta group: always explicit VR little endian
        while True:
            r.need(pos + 8)
            group, elem = struct.unpack_from("<HH", r.buf, pos)
            if group != 0x0002:
                break
            vr = bytes(r.buf[pos + 4:pos + 6])
            if vr in _LONG_VRS:
                r.need(pos + 12)
                length = struct.unpack_from("<I", r.buf, pos + 8)[0]
                start = pos + 12
            else:
                length = struct.unpack_from("<H", r.buf, pos + 6)[0]
                start = pos + 8
            r.need(start + length)
            if elem == 0x0010:
                meta["TransferSyntaxUID"] = _text(bytes(r.buf[start:start + length]))
            elif elem == 0x0002:
                meta["MediaStorageSOPClassUID"] = _text(bytes(r.buf[start:start + length]))
            pos = start + length
        ts = meta.get("TransferSyntaxUID", "")
        # compressed syntaxes encode the dataset as explicit VR little endian too; their pixels are
        # decoded by pydicom later, only the header is read here
        if ts not in (_EXPLICIT_LE, _IMPLICIT_LE) and not ts.startswith(_ENCAPSULATED_PREFIXES):
            raise NotSimple(f"transfer syntax {ts or '(none)'}")
        explicit = ts != _IMPLICIT_LE
        values: dict = {}
        tags: dict = {}
        pix_len = None
        size = os.fstat(fh.fileno()).st_size
        try:
            try:
                # every wanted tag is in groups <= 0x0028 (0x2005 for Philips' private scale slope),
                # and elements are stored in ascending order: stop there and find Pixel Data as the
                # last element of the file, verified by its tag and length, else walk on
                pix = _walk_top(r, pos, explicit, values, tags, stop_tag=0x0028FFFF)
            except _Stopped as st:
                pix = None
                end = _pixel_at_end(r, fh, values, explicit, size)
                if "PHILIPS" in str(_text(values["Manufacturer"][2]) if "Manufacturer" in values else "").upper():
                    # a top-level (2005,100E) needs its tag bytes between here and Pixel Data:
                    # where they are absent (Philips CT) the walk through private groups is skipped
                    head = end[0] - (12 if explicit else 8) if end is not None else None
                    if head is None or _holds(r, st.pos, head, b"\x05\x20\x0e\x10"):
                        try:
                            pix = _walk_top(r, st.pos, explicit, values, tags, stop_tag=PHILIPS_SCALE_SLOPE)
                        except _Stopped as st2:
                            st = st2
                if pix is None:
                    if end is None:
                        pix = _walk_top(r, st.pos, explicit, values, tags)
                    else:
                        pix, pix_len = end
        except struct.error as exc:
            raise NotSimple("header ends early") from exc
        # pix is the start of the Pixel Data value; its length sits just before it
        length = pix_len if pix_len is not None else struct.unpack_from("<I", r.buf, pix - 4)[0]
        if length == 0xFFFFFFFF:
            if ts in (_EXPLICIT_LE, _IMPLICIT_LE):
                raise NotSimple("encapsulated pixel data in an uncompressed transfer syntax")
            pixel = _Elem(None, None, 0)  # fragments: pydicom's decoders read them
        else:
            pixel = _Elem(None, pix, length)
            if pix + length > size:
                pixel.length = size - pix  # truncated: the loader reports it with the file name
    creator = str(tags.get(0x20050010, "")).upper()
    if PHILIPS_SCALE_SLOPE in tags and "PHILIPS" not in creator:
        del tags[PHILIPS_SCALE_SLOPE]  # same number, different private block owner
    hdr = LiteHeader(values, tags, meta, pixel, size)
    it = hdr.get("ImageType")
    if it and "MOSAIC" in ([x.upper() for x in it] if isinstance(it, list) else [str(it).upper()]):
        raise NotSimple("Siemens mosaic")
    if int(hdr.get("NumberOfFrames") or 1) != 1:
        raise NotSimple("multi-frame")
    return hdr
